"""The simulated participant: a :class:`Person` and how one is drawn at random."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .workload import VO2_REST


@dataclass(frozen=True)
class Person:
    """A simulated participant.

    Attributes:
        id: identifier.
        age: years.
        sex: ``female`` or ``male``.
        hr_rest, hr_max: bpm.
        vo2max: ml/kg/min.
        tau_on_s, tau_off_s: time constants of the heart rate's rise and fall after a change
            of workload (on about 20-45 s, off about 40-80 s).
        drift_bpm_per_min: initial rate of cardiac drift on a steady effort at 60 %HRR.
        height_m, weight_kg: body size (height sets the arm radius and cadence).
        cadence_offset_spm: the person's step cadence minus the population's at a speed.
        walk_max_mps: fastest comfortable walking speed; treadmill grade does the rest.
        trunk_bounce: multiplies the trunk's gait accelerations (about 0.75-1.3).
        arm_swing: multiplies the arm swing at the wrist (about 0.6-1.6).
    """

    id: str
    age: float
    sex: str
    hr_rest: float
    hr_max: float
    vo2max: float
    tau_on_s: float
    tau_off_s: float
    drift_bpm_per_min: float
    height_m: float = 1.72
    weight_kg: float = 70.0
    cadence_offset_spm: float = 0.0
    walk_max_mps: float = 1.85
    trunk_bounce: float = 1.0
    arm_swing: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.hr_rest < self.hr_max:
            raise ValueError(f"person {self.id}: need 0 < hr_rest < hr_max, "
                             f"got {self.hr_rest:g} and {self.hr_max:g}")
        if self.vo2max <= VO2_REST:
            raise ValueError(f"person {self.id}: vo2max must exceed {VO2_REST} ml/kg/min")
        for name in ("tau_on_s", "tau_off_s", "height_m", "weight_kg", "walk_max_mps",
                     "trunk_bounce", "arm_swing"):
            if not getattr(self, name) > 0:
                raise ValueError(f"person {self.id}: {name} must be positive")
        if self.drift_bpm_per_min < 0:
            raise ValueError(f"person {self.id}: drift_bpm_per_min must not be negative")


def random_person(rng: np.random.Generator, id: str = "p0") -> Person:
    """A plausible adult: age 18-70, HR_max from Tanaka +- 7 bpm, VO2max from age and sex
    (28-60), HR_rest 45-80 (lower when fitter), faster HR kinetics when fitter."""
    age = float(rng.uniform(18.0, 70.0))
    sex = "male" if rng.random() < 0.5 else "female"
    hr_max = 208.0 - 0.7 * age + float(np.clip(rng.normal(0.0, 7.0), -14.0, 14.0))
    if sex == "male":
        vo2_mean, height = 47.0 - 0.33 * (age - 25.0), rng.normal(1.77, 0.07)
    else:
        vo2_mean, height = 38.0 - 0.27 * (age - 25.0), rng.normal(1.64, 0.065)
    vo2max = float(np.clip(vo2_mean + rng.normal(0.0, 6.0), 28.0, 60.0))
    hr_rest = float(np.clip(80.0 - 0.8 * (vo2max - 28.0) + rng.normal(0.0, 5.0), 45.0, 80.0))
    tau_on = float(np.clip(45.0 - 0.5 * (vo2max - 28.0) + rng.normal(0.0, 4.0), 20.0, 45.0))
    tau_off = float(np.clip(tau_on + rng.uniform(15.0, 35.0), 40.0, 80.0))
    height = float(np.clip(height, 1.45, 2.05))
    return Person(
        id=id,
        age=round(age, 1),
        sex=sex,
        hr_rest=round(hr_rest, 1),
        hr_max=round(hr_max, 1),
        vo2max=round(vo2max, 1),
        tau_on_s=round(tau_on, 1),
        tau_off_s=round(tau_off, 1),
        drift_bpm_per_min=round(float(rng.uniform(0.1, 0.3)), 3),
        height_m=round(height, 3),
        weight_kg=round(float(rng.uniform(19.0, 30.0)) * height**2, 1),
        cadence_offset_spm=round(-60.0 * (height - 1.70) + float(rng.normal(0.0, 3.0)), 1),
        walk_max_mps=round(float(rng.uniform(1.7, 2.0)), 2),
        trunk_bounce=round(float(np.clip(rng.lognormal(0.0, 0.1), 0.85, 1.2)), 3),
        arm_swing=round(float(np.clip(rng.lognormal(0.0, 0.2), 0.7, 1.5)), 3),
    )
