"""The simulated participant: a :class:`Person` and how one is drawn at random.

Two populations: ``typical`` (the default; age 18-70, VO2max 28-60, the people every
existing seed means) and ``wide`` (age 18-75, VO2max 25-75: from people who walk
everything to fast runners, HR_rest 40-90, wider heart-rate kinetics, drift and gait).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        cycling_cost: oxygen cost of cycling power relative to the ACSM equation (about
            0.9-1.1: lower is more efficient).
        pedal_rpm: preferred pedalling cadence at 150 W (75-95 rpm).
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
    cycling_cost: float = 1.0
    pedal_rpm: float = 85.0

    def __post_init__(self) -> None:
        if not 0 < self.hr_rest < self.hr_max:
            raise ValueError(f"person {self.id}: need 0 < hr_rest < hr_max, "
                             f"got {self.hr_rest:g} and {self.hr_max:g}")
        if self.vo2max <= VO2_REST:
            raise ValueError(f"person {self.id}: vo2max must exceed {VO2_REST} ml/kg/min")
        for name in ("tau_on_s", "tau_off_s", "height_m", "weight_kg", "walk_max_mps",
                     "trunk_bounce", "arm_swing", "cycling_cost", "pedal_rpm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"person {self.id}: {name} must be positive")
        if self.drift_bpm_per_min < 0:
            raise ValueError(f"person {self.id}: drift_bpm_per_min must not be negative")


@dataclass(frozen=True)
class _Ranges:
    """How one population's people are drawn (see :func:`random_person`): a value ``lo,
    hi`` is uniform between them, a ``sd`` is a normal spread, a ``clip`` the bounds;
    VO2max falls with age from ``vo2_male``/``vo2_female`` (at 25, per year), HR_rest and
    the on-time constant fall with fitness above ``vo2_clip[0]``."""

    age: tuple[float, float]
    hr_max_sd: float
    hr_max_clip: float
    vo2_male: tuple[float, float]
    vo2_female: tuple[float, float]
    height_sd: tuple[float, float]  # male, female
    vo2_sd: float
    vo2_clip: tuple[float, float]
    hr_rest: tuple[float, float, float]  # at the lowest VO2max, per ml/kg/min, sd
    hr_rest_clip: tuple[float, float]
    tau_on: tuple[float, float, float]
    tau_on_clip: tuple[float, float]
    tau_off_gap: tuple[float, float]
    tau_off_clip: tuple[float, float]
    drift: tuple[float, float]
    bmi: tuple[float, float]
    cadence_sd: float
    walk_max: tuple[float, float]
    trunk: tuple[float, float, float]  # lognormal sd, clip
    arm: tuple[float, float, float]


_POPULATION_RANGES = {
    "typical": _Ranges(
        age=(18.0, 70.0), hr_max_sd=7.0, hr_max_clip=14.0, vo2_male=(47.0, 0.33),
        vo2_female=(38.0, 0.27), height_sd=(0.07, 0.065), vo2_sd=6.0, vo2_clip=(28.0, 60.0),
        hr_rest=(80.0, 0.8, 5.0), hr_rest_clip=(45.0, 80.0), tau_on=(45.0, 0.5, 4.0),
        tau_on_clip=(20.0, 45.0), tau_off_gap=(15.0, 35.0), tau_off_clip=(40.0, 80.0),
        drift=(0.1, 0.3), bmi=(19.0, 30.0), cadence_sd=3.0, walk_max=(1.7, 2.0),
        trunk=(0.1, 0.85, 1.2), arm=(0.2, 0.7, 1.5)),
    "wide": _Ranges(
        age=(18.0, 75.0), hr_max_sd=8.0, hr_max_clip=16.0, vo2_male=(51.0, 0.35),
        vo2_female=(43.0, 0.30), height_sd=(0.075, 0.07), vo2_sd=11.0, vo2_clip=(25.0, 75.0),
        hr_rest=(84.0, 0.7, 6.0), hr_rest_clip=(40.0, 90.0), tau_on=(50.0, 0.5, 5.0),
        tau_on_clip=(15.0, 55.0), tau_off_gap=(15.0, 45.0), tau_off_clip=(35.0, 100.0),
        drift=(0.0, 0.4), bmi=(18.5, 35.0), cadence_sd=4.0, walk_max=(1.5, 2.1),
        trunk=(0.12, 0.75, 1.3), arm=(0.25, 0.6, 1.6)),
}
POPULATIONS = tuple(_POPULATION_RANGES)


def random_person(rng: np.random.Generator, id: str = "p0", *,
                  population: str = "typical") -> Person:
    """A plausible adult from a population (see the module docstring).

    ``typical``: age 18-70, HR_max from Tanaka +- 7 bpm, VO2max from age and sex (28-60),
    HR_rest 45-80 (lower when fitter), faster HR kinetics when fitter. ``wide``: fitness
    from VO2max 25 (walks everything) to 75 (runs 4.5-5 m/s at vigorous intensity), and
    wider physiology and gait throughout. Both draw from ``rng`` in the same order, and
    ``typical`` exactly as it always has, so a seed means the same person it always meant;
    its cycling traits, added later, come from a generator seeded by the person's other
    values (``wide``'s from ``rng``).
    """
    if population not in _POPULATION_RANGES:
        raise ValueError(f"unknown population {population!r}; expected one of: "
                         f"{', '.join(POPULATIONS)}")
    r = _POPULATION_RANGES[population]
    age = float(rng.uniform(*r.age))
    sex = "male" if rng.random() < 0.5 else "female"
    hr_max = 208.0 - 0.7 * age + float(np.clip(rng.normal(0.0, r.hr_max_sd), -r.hr_max_clip,
                                               r.hr_max_clip))
    (at_25, per_year), mean_height, height_sd = (
        (r.vo2_male, 1.77, r.height_sd[0]) if sex == "male"
        else (r.vo2_female, 1.64, r.height_sd[1]))
    vo2_mean, height = at_25 - per_year * (age - 25.0), rng.normal(mean_height, height_sd)
    vo2max = float(np.clip(vo2_mean + rng.normal(0.0, r.vo2_sd), *r.vo2_clip))
    fitter = vo2max - r.vo2_clip[0]
    hr_rest = float(np.clip(r.hr_rest[0] - r.hr_rest[1] * fitter + rng.normal(0.0, r.hr_rest[2]),
                            *r.hr_rest_clip))
    tau_on = float(np.clip(r.tau_on[0] - r.tau_on[1] * fitter + rng.normal(0.0, r.tau_on[2]),
                           *r.tau_on_clip))
    tau_off = float(np.clip(tau_on + rng.uniform(*r.tau_off_gap), *r.tau_off_clip))
    height = float(np.clip(height, 1.45, 2.05))
    traits: dict[str, Any] = {
        "id": id,
        "age": round(age, 1),
        "sex": sex,
        "hr_rest": round(hr_rest, 1),
        "hr_max": round(hr_max, 1),
        "vo2max": round(vo2max, 1),
        "tau_on_s": round(tau_on, 1),
        "tau_off_s": round(tau_off, 1),
        "drift_bpm_per_min": round(float(rng.uniform(*r.drift)), 3),
        "height_m": round(height, 3),
        "weight_kg": round(float(rng.uniform(*r.bmi)) * height**2, 1),
        "cadence_offset_spm": round(-60.0 * (height - 1.70)
                                    + float(rng.normal(0.0, r.cadence_sd)), 1),
        "walk_max_mps": round(float(rng.uniform(*r.walk_max)), 2),
        "trunk_bounce": round(float(np.clip(rng.lognormal(0.0, r.trunk[0]), *r.trunk[1:])), 3),
        "arm_swing": round(float(np.clip(rng.lognormal(0.0, r.arm[0]), *r.arm[1:])), 3),
    }
    if population != "typical":
        return Person(**traits, **_cycling_traits(rng))
    # Traits added later come from a stream of their own, seeded by the person.
    later = np.random.default_rng([round(10 * traits[k]) for k in
                                   ("age", "hr_rest", "hr_max", "vo2max", "weight_kg")])
    return Person(**traits, **_cycling_traits(later))


def _cycling_traits(rng: np.random.Generator) -> dict[str, float]:
    return {"cycling_cost": round(float(np.clip(rng.normal(1.0, 0.05), 0.9, 1.1)), 3),
            "pedal_rpm": round(float(rng.uniform(75.0, 95.0)), 1)}
