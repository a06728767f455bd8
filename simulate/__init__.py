"""Simulated exercise sessions with exact ground truth (step 1: the split)."""

from .acceleration import synth_acceleration
from .folders import simulate_study, simulate_to_folders, write_simulated
from .heart import synth_heart_rate
from .options import MODALITIES, PLACEMENTS, PROFILES
from .oracle import epoch_means
from .people import Person, random_person
from .protocols import PROTOCOLS
from .sessions import SimulatedSession, simulate
from .signals import Artefact
from .study import PlannedSession, demo_study_plan, random_study_plan
from .truth import Truth
from .workload import (
    REST,
    RUN,
    WALK,
    Segment,
    Workload,
    build_workload,
    cadence_spm,
    workload_intensity,
)

__all__ = [
    "MODALITIES",
    "PLACEMENTS",
    "PROFILES",
    "PROTOCOLS",
    "REST",
    "RUN",
    "WALK",
    "Artefact",
    "Person",
    "PlannedSession",
    "Segment",
    "SimulatedSession",
    "Truth",
    "Workload",
    "build_workload",
    "cadence_spm",
    "demo_study_plan",
    "epoch_means",
    "random_person",
    "random_study_plan",
    "simulate",
    "simulate_study",
    "simulate_to_folders",
    "synth_acceleration",
    "synth_heart_rate",
    "workload_intensity",
    "write_simulated",
]
