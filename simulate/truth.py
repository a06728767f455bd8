"""What the simulator knows about a session: the true intensity per second and the
reference labels, session class and bouts of its epoch means, from the independent
:mod:`~dosewatch.simulate.oracle` (never from the product's ``dosewatch.spec``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from . import oracle
from .options import Options
from .oracle import ReferenceBout, epoch_means
from .people import Person
from .signals import Artefact
from .workload import Workload


@dataclass(frozen=True, eq=False)
class Truth:
    """What the simulator knows about a session.

    Attributes:
        protocol, person, placement, modality: what was simulated.
        t_s: seconds 0, 1, 2, ...
        intensity: true %HRR per second (steady-state demand: no lag, drift or noise).
        speed_mps, gait, grade, cadence_spm: the workload per second (gait 0 rest, 1 walk,
            2 run, 3 cycle; grade a fraction; cadence 0 at rest, in steps per minute, or
            pedal revolutions per minute on the bike).
        epoch_s: epoch length used.
        epoch_intensity: mean intensity per epoch (last partial epoch if at least half full).
        labels: reference epoch labels (codes of ``dosewatch.spec.labels.Label``), from
            :func:`dosewatch.simulate.oracle.label`.
        session_class: ``constant``, ``accelerating``, ``intermediate`` or ``none``.
        bouts: reference bouts; ``dose_met`` whether any meets the dose.
        hr_bpm: the physiological heart rate per second, before the sensor.
        artefacts: sensor artefacts put into the streams the session holds.
        setting: ``treadmill``, ``outdoor`` or ``trainer``.
        power_w: cycling power per second (W), None without a ride.
        altitude_m: altitude above the start per second (m), outdoors; else None.
        drift_bpm_per_min: the cardiac drift rate used (at 60 %HRR); None: the person's.
        drift_time_constant_min: the drift's rising time constant.
        hr_rest_day: the HR_rest the heart followed that day (the person's plus
            ``options.hr_rest_shift_bpm``).
        options: the options the session was simulated with.
    """

    protocol: str
    person: Person
    placement: str
    modality: str
    t_s: NDArray[np.float64]
    intensity: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    gait: NDArray[np.int8]
    epoch_intensity: NDArray[np.float64]
    labels: NDArray[np.int8]
    session_class: str
    bouts: list[ReferenceBout]
    dose_met: bool
    grade: NDArray[np.float64]
    cadence_spm: NDArray[np.float64]
    hr_bpm: NDArray[np.float64]
    epoch_s: float
    artefacts: tuple[Artefact, ...] = ()
    setting: str = "treadmill"
    power_w: NDArray[np.float64] | None = None
    altitude_m: NDArray[np.float64] | None = None
    drift_bpm_per_min: float | None = None
    drift_time_constant_min: float = 45.0
    hr_rest_day: float | None = None
    options: Options = field(default_factory=Options)

    @property
    def qualifying_minutes(self) -> float:
        """Qualifying minutes of the longest bout (0 without bouts)."""
        return max((b.qualifying_minutes for b in self.bouts), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (``truth.json``)."""
        return {
            "protocol": self.protocol,
            "person": asdict(self.person),
            "placement": self.placement,
            "modality": self.modality,
            "duration_s": int(self.t_s.size),
            "epoch_s": float(self.epoch_s),
            "session_class": self.session_class,
            "dose_met": bool(self.dose_met),
            "bouts": [b.as_dict() for b in self.bouts],
            "labels": [oracle.LABEL_NAMES[int(c)] for c in self.labels],
            "epoch_intensity": [round(float(x), 2) for x in self.epoch_intensity],
            "artefacts": [a.as_dict() for a in self.artefacts],
            "setting": self.setting,
            "drift_bpm_per_min": self.drift_bpm_per_min,
            "drift_time_constant_min": self.drift_time_constant_min,
            "hr_rest_day": self.hr_rest_day,
            "options": asdict(self.options),
        }


def make_truth(protocol: str, person: Person, placement: str, modality: str, work: Workload,
               cadence: NDArray[np.float64], hr_bpm: NDArray[np.float64],
               artefacts: tuple[Artefact, ...], config: Config, *,
               options: Options | None = None,
               drift: tuple[float | None, float] = (None, 45 * 60.0),
               hr_rest_day: float | None = None) -> Truth:
    """The truth of a simulated session: the oracle's labels, class and bouts of ``work``.
    ``drift`` is the rate used (None: the person's) and its time constant in seconds."""
    definitions = oracle.Definitions.from_config(config)
    ref = oracle.reference_for_epochs(epoch_means(work.intensity, definitions.epoch_s),
                                      definitions)
    return Truth(
        protocol=protocol,
        person=person,
        placement=placement,
        modality=modality,
        t_s=np.arange(work.duration_s, dtype=np.float64),
        intensity=work.intensity,
        speed_mps=work.speed_mps,
        gait=work.gait,
        epoch_intensity=ref.epoch_intensity,
        labels=ref.labels,
        session_class=ref.session_class,
        bouts=ref.bouts,
        dose_met=ref.dose_met,
        grade=work.grade,
        cadence_spm=cadence,
        hr_bpm=hr_bpm,
        epoch_s=float(config.epochs.epoch_s),
        artefacts=artefacts,
        setting=work.setting,
        power_w=work.power_w,
        altitude_m=work.altitude_m,
        drift_bpm_per_min=drift[0],
        drift_time_constant_min=drift[1] / 60.0,
        hr_rest_day=person.hr_rest if hr_rest_day is None else hr_rest_day,
        options=options or Options(),
    )
