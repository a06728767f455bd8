"""Simulated exercise sessions with exact ground truth.

The simulator drives the demo, the tests, the evaluation and model training. A session is
made in steps, each from its own random stream (:data:`~dosewatch.simulate.sessions.STREAMS`),
so one seed gives the same truth whatever placement, modality or rate is asked for:

1. **Protocol -> workload** (:mod:`.protocols`, :mod:`.workload`, :mod:`.outdoor`): the
   true relative intensity ``I(t)`` in %HRR, one value per second, and the gait, speed,
   grade (and power on a bike) that demand it for this person (:mod:`.people`).
2. **Workload -> heart rate** (:mod:`.heart`): kinetics, drift, variability; a chest strap
   or a wrist sensor with their artefacts.
3. **Workload -> acceleration** (:mod:`.acceleration`) and the **workload channels** a
   treadmill, footpod, GPS watch or power meter records (:mod:`.sessions`,
   :mod:`.outdoor`).
4. **Truth** (:mod:`.truth`): the reference labels, session class and bouts of the epoch
   means of ``I(t)``, from :mod:`.oracle`, a reading of SPEC.md written apart from the
   product's ``dosewatch.spec`` (``tests/simulate/test_oracle.py`` shows where the two
   agree and where they part).

:mod:`.study` and :mod:`.folders` make participants with several sessions and write
sessions to disk with their ``truth.json``. The README's "The simulator" lists the
physiology, the options and the limits.

What stays as it was: :data:`PROTOCOLS` (the ten protocols training, evaluation and the
demo iterate over) with default :class:`Options` and the ``typical`` population give the
sessions they always gave for a seed (``tests/simulate/test_defaults.py``). The wider
world is asked for: :data:`WIDE_PROTOCOLS` (intervals, ramp to exhaustion, outdoor run,
steady ride; :data:`ALL_PROTOCOLS` holds both), ``population="wide"`` (VO2max 25-75),
:class:`Options` (drift up to heat's, the day's HR_rest, outdoors with hills, pacing and
stops, GPS speed, a treadmill's incline, no workload channels) and the modalities
``hr+speed`` and ``speed``.

How to simulate a study for evaluation
--------------------------------------
People never used in training, each with several sessions on different days, some with
heart rate and some without, every session with its truth::

    import numpy as np
    from dosewatch.simulate import ALL_PROTOCOLS, random_person, simulate_participant

    HELD_OUT = 90210                      # a seed never used while developing or training
    rng = np.random.default_rng(HELD_OUT)
    names = list(ALL_PROTOCOLS)
    study = []
    for i in range(40):
        person = random_person(rng, id=f"E{i:02d}", population="wide")
        plan = [(names[int(rng.integers(len(names)))], modality)
                for modality in ("hr+acc", "hr", "hr+speed", "acc", "acc")]
        study += simulate_participant(person, plan, seed=HELD_OUT + i,
                                      placement="wrist" if i % 2 else "chest")

    for sim in study:
        session, truth = sim.session, sim.truth   # a dosewatch Session; its ground truth
        # analyse `session`; compare with truth.labels (epoch codes of spec.labels.Label),
        # truth.session_class, truth.dose_met, truth.bouts. truth.person.id groups a
        # participant's sessions, so a calibration learnt from their heart-rate sessions
        # can be applied to their acceleration-only ones.

For one session: ``simulate(protocol, person, placement=..., modality=..., seed=...,
options=Options(...))``. ``simulate_study`` / ``simulate_to_folders`` write to disk
(``truth.json`` beside the interchange files; power, cadence, altitude and grade have no
file in that layout yet and stay in memory).
"""

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
