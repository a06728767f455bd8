"""Simulated exercise sessions with exact ground truth (placeholder docstring)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "acceleration": ("synth_acceleration",),
    "folders": ("simulate_study", "simulate_to_folders", "write_simulated"),
    "heart": ("synth_heart_rate",),
    "options": ("MODALITIES", "PLACEMENTS", "PROFILES", "Options", "Outdoor", "random_day"),
    "oracle": ("epoch_means",),
    "people": ("POPULATIONS", "Person", "random_person"),
    "protocols": ("ALL_PROTOCOLS", "PROTOCOLS", "WIDE_PROTOCOLS"),
    "sessions": ("SimulatedSession", "simulate"),
    "signals": ("Artefact",),
    "study": ("PlannedSession", "demo_study_plan", "random_study_plan", "simulate_participant"),
    "truth": ("Truth",),
    "workload": ("CYCLE", "REST", "RUN", "WALK", "Segment", "Workload", "build_workload",
                 "cadence_spm", "workload_intensity"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    """Load the module that holds ``name`` on first use: importing the package stays
    cheap (the command line builds its parser from it; SciPy loads with the physiology)."""
    if name in _EXPORTS:  # a submodule, e.g. ``oracle``
        return import_module(f".{name}", __name__)
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
