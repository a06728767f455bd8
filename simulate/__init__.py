"""Simulated exercise sessions with exact ground truth (placeholder docstring)."""

from . import oracle
from .acceleration import synth_acceleration
from .folders import simulate_study, simulate_to_folders, write_simulated
from .heart import synth_heart_rate
from .options import MODALITIES, PLACEMENTS, PROFILES, Options, Outdoor, random_day
from .oracle import epoch_means
from .people import POPULATIONS, Person, random_person
from .protocols import ALL_PROTOCOLS, PROTOCOLS, WIDE_PROTOCOLS
from .sessions import SimulatedSession, simulate
from .signals import Artefact
from .study import PlannedSession, demo_study_plan, random_study_plan, simulate_participant
from .truth import Truth
from .workload import (
    CYCLE,
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
    "ALL_PROTOCOLS",
    "CYCLE",
    "MODALITIES",
    "PLACEMENTS",
    "POPULATIONS",
    "PROFILES",
    "PROTOCOLS",
    "REST",
    "RUN",
    "WALK",
    "WIDE_PROTOCOLS",
    "Artefact",
    "Options",
    "Outdoor",
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
    "oracle",
    "random_day",
    "random_person",
    "random_study_plan",
    "simulate",
    "simulate_participant",
    "simulate_study",
    "simulate_to_folders",
    "synth_acceleration",
    "synth_heart_rate",
    "workload_intensity",
    "write_simulated",
]
