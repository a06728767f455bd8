"""Simulated exercise sessions with exact ground truth (step 1: the split)."""

from .acceleration import synth_acceleration
from .heart import synth_heart_rate
from .options import MODALITIES, PLACEMENTS, PROFILES
from .people import Person, random_person
from .protocols import PROTOCOLS
from .sessions import SimulatedSession, simulate
from .signals import Artefact
from .truth import Truth, epoch_means
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
    "Segment",
    "SimulatedSession",
    "Truth",
    "Workload",
    "build_workload",
    "cadence_spm",
    "epoch_means",
    "random_person",
    "simulate",
    "synth_acceleration",
    "synth_heart_rate",
    "workload_intensity",
]
