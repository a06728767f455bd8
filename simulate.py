"""Simulated exercise sessions with exact ground truth.

The simulator drives the demo, the tests, the evaluation and model training. Every
session is made in three steps, each from its own random stream (so one seed gives the
same truth whatever placement or modality is asked for):

1. **Protocol -> workload.** A protocol (``PROTOCOLS``) writes the true relative
   intensity ``I(t)`` in %HRR, one value per second, as a few segments (rest, steady
   levels, ramps, staircases) with random durations and levels inside the protocol's
   meaning. ``I(t)`` is the *truth*: the steady-state %HRR the workload demands, without
   lag, drift or noise. Speed and treadmill grade follow from the person (below).
2. **Workload -> heart rate** (:func:`synth_heart_rate`).
3. **Workload -> acceleration** (:func:`synth_acceleration`).

The reference labels, session class and bouts are those of ``dosewatch.models`` applied to
the epoch means of ``I(t)``, so truth and product read the SPEC through the same code.

Workload and intensity
----------------------
%HRR is taken equal to %VO2 reserve (Swain & Leutholtz 1997): the oxygen cost of a second
is ``VO2 = 3.5 + I/100 * (VO2max - 3.5)`` ml/kg/min. Speed and grade come from the ACSM
metabolic equations (S in m/min, G grade fraction):

* walking ``VO2 = 3.5 + 0.1 S + 1.8 S G``: the speed that gives the VO2 at 0 % grade, up to
  the person's fastest comfortable walk (``walk_max_mps``, 1.7-2.0 m/s); above that the
  treadmill grade rises instead;
* running ``VO2 = 3.5 + 0.2 S + 0.9 S G`` at 0 % grade, when the protocol asks to run and
  the speed is at least 2.0 m/s; a person too unfit to jog at the asked intensity walks
  uphill instead (gait says so).

So the same intensity means different speeds, cadences and accelerations for different
people: acceleration-derived intensity is person-dependent, as in reality. Grade is
invisible to the accelerometer, which is also real.

Heart rate
----------
Steady state ``HR_rest + I/100 (HR_max - HR_rest)`` plus cardiac drift, followed by a
first-order lag with the person's ``tau_on_s`` when the target is above the heart rate and
``tau_off_s`` when below (exact piecewise solution, one linear filter per change of
direction). Drift is a slow first-order state whose target grows with intensity above
20 %HRR (``drift_bpm_per_min`` is its initial slope at 60 %HRR; time constant 45 min
rising, 8 min decaying at lower intensity): 2-10 bpm over a 40-min run, well under the
0.75 %HRR/min of the accelerating rule. HR variability: respiratory sinus arrhythmia
(0.2-0.3 Hz, 1-3.5 bpm at rest falling with age, shrinking with intensity), a fast
component (1.5 bpm, 4 s) and a slow wander (1.5 bpm, 90 s), both smaller at higher
intensity. The HR is capped 2 bpm below ``hr_max``.

*Chest strap*: beats are placed by integrating HR (a beat every time the phase passes an
integer), each RR gets beat-to-beat jitter, and the strap reports once a second the
integer HR of its last three RR intervals and the RR (ms, 1/1024-s resolution) of the last
beat of that second (NaN when no beat ended in it: only one RR per notification is kept).
Rare artefacts: a falsely detected extra beat (an RR split in two, a one-to-three-second
HR spike), a missed beat (two RR merged), short contact losses (rows missing, 2-8 s).

*Wrist optical*: a 5-s causal average of HR plus tracking noise, integer bpm, no RR
(``rr_ms`` is None). Artefacts: cadence lock while running (30-120 s in which the reading
equals the step cadence in spm, about one per 10 min of running, at least one when there
are three or more minutes of running), dropouts (rows missing, 5-60 s, about one per
20 min, at least one), and spikes (1-3 s, +-15-40 bpm).

Acceleration
------------
Body-frame specific force in g (antero-posterior, medio-lateral, vertical) = gravity
(1 g up) + gait + fidgeting, rotated into the sensor frame. Gait has a step phase
integrated from the cadence (walking ``78 + 26 v`` spm, 100-125 at usual speeds; running
``140 + 9 v`` spm, 158-185; both shifted by the person's ``cadence_offset_spm``, taller
people stepping slower) with a small smooth phase jitter (the mean cadence per second is
exact). Vertical: step frequency and two harmonics (in phase when running: a peaked
push-off); antero-posterior: step frequency and one harmonic; medio-lateral: stride
frequency (half the step frequency) and its third harmonic. The trunk's vertical
fundamental is ``0.09 + 0.10 v`` g walking (peaks 0.2-0.5 g) and ``0.78 + 0.12 v`` g running
(peaks 1.5-2.7 g), scaled by the person's ``trunk_bounce`` (0.85-1.2) and a slow +-6 %
stride-to-stride wander. The wrist takes 80 % of the trunk motion plus a pendulum arm
swing at stride frequency (tangential acceleration ``0.15 + 0.20 v`` g walking,
``0.45 + 0.18 v`` g running, along the antero-posterior axis; centripetal towards the
shoulder; swing angle from the acceleration and an arm radius that shortens when the elbow
bends for running), scaled by the person's ``arm_swing`` (0.7-1.5); the forearm's pitch
follows the swing and its posture (hanging when walking, forward when running), so gravity
moves between the axes. At rest: occasional fidgets (1-5 s of low-pass noise, wrist about
1.2 a minute at 0.03-0.12 g, chest 0.3 a minute at 0.01-0.04 g) and, at the wrist, a new
posture after each fidget. The sensor sits in a random fixed orientation (wrist: any;
chest: a strap's orientation tilted by about 15 degrees), with per-axis gain errors of
0.2 % and offsets of 0.002 g (as after calibration), white noise 0.008 g, 1/512-g
resolution, +-8 g range, a clock off by a few ppm and up to 5 % of a sample period of
jitter. Resulting ENMO: rest below 0.01 g;
walking 0.05-0.11 g at the chest, 0.05-0.23 g at the wrist; running 0.27-1.0 g.

Protocols
---------
Levels are drawn inside bands kept 3 %HRR inside each level and 2 %HRR clear of the
20/40/60 boundaries (light 23-35, intermediate 43-57, vigorous 63-80), so the truth is
unambiguous. Most start with 3-6 min of quiet rest (0-8 %HRR) and end with a slow walk
below 16 %HRR (when the person's 0.9-1.2-m/s walk is that easy; half the time) and
2-5 min of rest. ``steady_intermediate`` and ``steady_vigorous`` have a 3-8-min warm-up walk
half the time. ``rest_only`` is 20-40 min of sitting and standing (< 15 %HRR, with slow
walks around the room for people to whom they are that easy). ``ramp`` rises from 22-30 to
78-85 %HRR at 1.0-2.5 %HRR/min; ``step_test`` climbs a staircase of 1-3-min steps at
1.3-2.5 %HRR/min on average; ``steady_then_ramp`` holds 15-25 min (light or 43-52 %HRR)
and then ramps for at least 12 min longer than it held, so that the ramp is the majority;
``walk_then_run`` walks 10-15 min, light, then runs 15-25 min at an intermediate or
vigorous level the person can run; ``bout_30plus`` and ``bout_just_short`` hold 32-45 and
26-29 whole qualifying minutes (>= 43 %HRR) in pieces of at least 5 min split by up to two
(one) breaks of 1-2 min, with every change on a whole minute, so the qualifying minutes are
exact.

Limits
------
* Intensity is exactly proportional to oxygen cost (no slow component, no heat, no
  fatigue beyond the drift term); the ACSM running equation overstates the cost of slow
  jogging, so unfit people walk uphill where they might jog.
* Rest is sitting or standing still (0-10 %HRR); there is no sleep, cycling, lifting or
  daily living other than slow walks in ``rest_only``.
* Cadence lock is simulated only while running (cadence >= 140 spm), at the cadence itself
  (not half or double); optical HR has no motion-dependent bias beyond its noise.
* A cadence lock can read above ``hr_max`` for up to 2 min, as real ones do.
* Gait is a sum of sinusoids, not a biomechanical model; no transients at heel strike
  beyond the harmonics, no running on uneven ground, no treadmill handrail holding.
* The HR stream always starts at the steady state of the first second; long recordings
  simulated chunk by chunk restart the lags and drift at each chunk.
* One RR per second at most, so at HR above 60 some RR intervals are not reported.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal
from scipy.spatial.transform import Rotation

from .config import Config
from .features.epochs import epoch_count
from .spec.bouts import Bout, find_bouts
from .spec.labels import label_epochs, label_names, session_class
from .session import Profile, Session, build_session

__all__ = [
    "MODALITIES",
    "PLACEMENTS",
    "PROFILES",
    "PROTOCOLS",
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

PLACEMENTS = ("wrist", "chest")
MODALITIES = ("hr+acc", "hr", "acc")
PROFILES = ("full", "age", "none")
ACC_FS_RANGE = (25.0, 200.0)

REST, WALK, RUN = 0, 1, 2
_MODES = {"rest": REST, "walk": WALK, "run": RUN}

VO2_REST = 3.5
"""ml/kg/min, one MET."""
RUN_MIN_MPS = 2.0
"""Slowest running speed; below it a person walks (uphill if need be)."""
GRAVITY_MPS2 = 9.80665

# Steady levels keep 3 %HRR inside the band and 2 %HRR away from every boundary.
LIGHT = (23.0, 35.0)
INTERMEDIATE = (43.0, 57.0)
VIGOROUS = (63.0, 80.0)

# Gait amplitudes (g): trunk vertical fundamental when running, ``RUN_V0 + RUN_V1 * v``;
# wrist arm swing (tangential) when walking and running.
RUN_V0, RUN_V1 = 0.78, 0.12
ARM_WALK0, ARM_WALK1, ARM_RUN0, ARM_RUN1 = 0.15, 0.20, 0.45, 0.18
_DRIFT_TAU_UP_S = 45 * 60.0
_DRIFT_TAU_DOWN_S = 8 * 60.0


# ---------------------------------------------------------------------------------------
# The person


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


# ---------------------------------------------------------------------------------------
# Workload: intensity, gait, speed, grade


@dataclass(frozen=True)
class Segment:
    """A piece of a protocol: ``duration_s`` seconds from ``start`` to ``end`` %HRR (a
    linear ramp; ``end=None`` holds ``start``) in a mode: ``rest``, ``walk`` or ``run``
    (``run`` walks uphill when the person cannot run that slowly)."""

    duration_s: int
    start: float
    end: float | None = None
    mode: str = "rest"


@dataclass(frozen=True, eq=False)
class Workload:
    """One value per second: true intensity (%HRR), gait (0 rest, 1 walk, 2 run),
    treadmill speed (m/s) and grade (fraction)."""

    intensity: NDArray[np.float64]
    gait: NDArray[np.int8]
    speed_mps: NDArray[np.float64]
    grade: NDArray[np.float64]

    @property
    def duration_s(self) -> int:
        return int(self.intensity.size)


def _vo2(intensity: NDArray[np.float64], person: Person) -> NDArray[np.float64]:
    return VO2_REST + np.asarray(intensity, dtype=np.float64) / 100.0 * (person.vo2max - VO2_REST)


def build_workload(segments: list[Segment], person: Person) -> Workload:
    """Concatenate segments into a per-second :class:`Workload` for ``person``."""
    if not segments:
        raise ValueError("a workload needs at least one segment")
    parts, modes = [], []
    for seg in segments:
        if seg.mode not in _MODES:
            raise ValueError(f"segment mode {seg.mode!r} is not one of {', '.join(_MODES)}")
        d = int(seg.duration_s)
        end = seg.start if seg.end is None else seg.end
        parts.append(seg.start + (end - seg.start) * np.arange(d) / max(d, 1))
        modes.append(np.full(d, _MODES[seg.mode], dtype=np.int8))
    intensity = np.concatenate(parts)
    mode = np.concatenate(modes)
    vo2 = _vo2(intensity, person)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_run = (vo2 - VO2_REST) / 12.0
        run = (mode == RUN) & (v_run >= RUN_MIN_MPS)
        walk = (mode == WALK) | ((mode == RUN) & ~run)
        v_walk = np.minimum((vo2 - VO2_REST) / 6.0, person.walk_max_mps)
        grade_walk = np.clip((vo2 - VO2_REST - 6.0 * v_walk) / (108.0 * v_walk), 0.0, None)
    gait = np.where(run, RUN, np.where(walk, WALK, REST)).astype(np.int8)
    speed = np.where(run, v_run, np.where(walk, v_walk, 0.0))
    grade = np.where(walk, grade_walk, 0.0)
    return Workload(intensity=intensity, gait=gait, speed_mps=speed, grade=grade)


def workload_intensity(
    gait: ArrayLike, speed_mps: ArrayLike, grade: ArrayLike, person: Person
) -> NDArray[np.float64]:
    """%HRR of walking or running at a speed and grade (ACSM equations, %VO2R = %HRR);
    NaN at rest, where the workload does not say."""
    gait = np.asarray(gait)
    v = np.asarray(speed_mps, dtype=np.float64)
    g = np.asarray(grade, dtype=np.float64)
    vo2 = np.where(gait == RUN, VO2_REST + 12.0 * v + 54.0 * v * g,
                   VO2_REST + 6.0 * v + 108.0 * v * g)
    pct = 100.0 * (vo2 - VO2_REST) / (person.vo2max - VO2_REST)
    return np.where(gait == REST, np.nan, pct)


def cadence_spm(gait: ArrayLike, speed_mps: ArrayLike, person: Person) -> NDArray[np.float64]:
    """Step cadence (steps/min) of each second: 0 at rest, ``78 + 26 v`` walking,
    ``140 + 9 v`` running, plus the person's offset."""
    gait = np.asarray(gait)
    v = np.asarray(speed_mps, dtype=np.float64)
    walk = np.clip(78.0 + 26.0 * v + person.cadence_offset_spm, 85.0, 135.0)
    run = np.clip(140.0 + 9.0 * v + person.cadence_offset_spm, 145.0, 200.0)
    return np.where(gait == WALK, walk, np.where(gait == RUN, run, 0.0))


# ---------------------------------------------------------------------------------------
# Protocols


def _u(rng: np.random.Generator, band: tuple[float, float]) -> float:
    return float(rng.uniform(*band))


def _secs(rng: np.random.Generator, lo_min: float, hi_min: float, whole: bool = False) -> int:
    if whole:
        return 60 * int(rng.integers(int(lo_min), int(hi_min) + 1))
    return round(rng.uniform(lo_min, hi_min) * 60.0)


def _rest(rng: np.random.Generator, lo_min: float = 3, hi_min: float = 6,
          whole: bool = False) -> Segment:
    return Segment(_secs(rng, lo_min, hi_min, whole), _u(rng, (0.0, 8.0)))


def _walk_at(person: Person, speed_mps: float) -> float:
    return float(workload_intensity(WALK, speed_mps, 0.0, person))


def _cooldown(person: Person, rng: np.random.Generator, whole: bool = False) -> list[Segment]:
    """A slow walk (when it stays below 16 %HRR for this person; half the time) then rest."""
    segments = []
    i_walk = _walk_at(person, float(rng.uniform(0.9, 1.2)))
    if rng.random() < 0.5 and i_walk < 16.0:
        segments.append(Segment(_secs(rng, 2, 4, whole), i_walk, mode="walk"))
    segments.append(_rest(rng, 2, 5, whole))
    return segments


def _start(rng: np.random.Generator, whole: bool = False) -> list[Segment]:
    """Quiet rest, then half the time a 3-8-min warm-up walk. With a warm-up the rest ends
    on a whole minute, so that no epoch mixes rest and warm-up: such an epoch, between
    rest and light, would make rest -> warm-up -> effort read as a staircase."""
    if rng.random() < 0.5:
        warmup = Segment(_secs(rng, 3, 8, whole), _u(rng, (23.0, 33.0)), mode="walk")
        return [_rest(rng, whole=True), warmup]
    return [_rest(rng, whole=whole)]


def _protocol_rest_only(person: Person, rng: np.random.Generator) -> Workload:
    total = _secs(rng, 20, 40)
    segments: list[Segment] = []
    used = 0
    sitting = rng.random() < 0.5
    while used < total:
        d = min(_secs(rng, 3, 10), total - used)
        segments.append(Segment(d, _u(rng, (0.0, 4.0) if sitting else (4.0, 10.0))))
        used += d
        sitting = not sitting
        i_walk = _walk_at(person, float(rng.uniform(0.8, 1.0)))
        if used < total - 120 and i_walk < 14.0 and rng.random() < 0.3:
            d = min(_secs(rng, 1, 3), total - used)
            segments.append(Segment(d, i_walk, mode="walk"))
            used += d
    return build_workload(segments, person)


def _protocol_steady_light(person: Person, rng: np.random.Generator) -> Workload:
    segments = [_rest(rng), Segment(_secs(rng, 25, 45), _u(rng, LIGHT), mode="walk")]
    return build_workload(segments + _cooldown(person, rng), person)


def _protocol_steady_intermediate(person: Person, rng: np.random.Generator) -> Workload:
    mode = "run" if rng.random() < 0.5 else "walk"
    segments = [*_start(rng),
                Segment(_secs(rng, 30, 45), _u(rng, INTERMEDIATE), mode=mode)]
    return build_workload(segments + _cooldown(person, rng), person)


def _protocol_steady_vigorous(person: Person, rng: np.random.Generator) -> Workload:
    segments = [*_start(rng),
                Segment(_secs(rng, 25, 40), _u(rng, VIGOROUS), mode="run")]
    return build_workload(segments + _cooldown(person, rng), person)


def _ramp(start: float, end: float, rate_per_min: float, mode: str = "run") -> Segment:
    return Segment(round((end - start) / rate_per_min * 60.0), start, end, mode)


def _protocol_ramp(person: Person, rng: np.random.Generator) -> Workload:
    ramp = _ramp(_u(rng, (22.0, 30.0)), _u(rng, (78.0, 85.0)), _u(rng, (1.0, 2.5)))
    return build_workload([_rest(rng), ramp, *_cooldown(person, rng)], person)


def _protocol_step_test(person: Person, rng: np.random.Generator) -> Workload:
    step_s = int(rng.choice([60, 90, 120, 150, 180]))
    height = _u(rng, (1.3, 2.5)) * step_s / 60.0
    start, top = _u(rng, (25.0, 35.0)), _u(rng, (78.0, 85.0))
    n_steps = int(np.floor((top - start) / height)) + 1
    steps = [Segment(step_s, start + k * height, mode="run") for k in range(n_steps)]
    return build_workload([_rest(rng), *steps, *_cooldown(person, rng)], person)


def _protocol_steady_then_ramp(person: Person, rng: np.random.Generator) -> Workload:
    # The ramp lasts at least 12 min longer than the steady part, so that its accelerating
    # epochs (all but about 2 at its start and 4 at its end) are the majority.
    level, mode = (_u(rng, LIGHT), "walk") if rng.random() < 0.5 else (_u(rng, (43.0, 52.0)),
                                                                         "run")
    end = _u(rng, (80.0, 85.0))
    steady_s = _secs(rng, 15, min(25.0, (end - level) - 12.0))
    rate = _u(rng, (1.0, min(2.5, (end - level) / (steady_s / 60.0 + 12.0))))
    segments = [_rest(rng), Segment(steady_s, level, mode=mode), _ramp(level, end, rate)]
    return build_workload(segments + _cooldown(person, rng), person)


def _running_level(person: Person, rng: np.random.Generator) -> float:
    """A steady running level, intermediate or vigorous, that the person can run."""
    i_min = float(workload_intensity(RUN, RUN_MIN_MPS, 0.0, person))
    bands = [b for b in (INTERMEDIATE, VIGOROUS) if i_min <= b[1] - 2.0]
    if not bands:
        return _u(rng, VIGOROUS)  # too unfit to jog: a brisk uphill walk
    lo, hi = bands[int(rng.integers(len(bands)))]
    return float(rng.uniform(max(lo, i_min), hi))


def _protocol_walk_then_run(person: Person, rng: np.random.Generator) -> Workload:
    segments = [
        _rest(rng),
        Segment(_secs(rng, 10, 15), _u(rng, LIGHT), mode="walk"),
        Segment(_secs(rng, 15, 25), _running_level(person, rng), mode="run"),
    ]
    return build_workload(segments + _cooldown(person, rng), person)


def _bout(person: Person, rng: np.random.Generator, qualifying_min: int,
          max_breaks: int) -> Workload:
    """Rest, optional warm-up, ``qualifying_min`` whole minutes at >= 43 %HRR in up to
    ``max_breaks + 1`` pieces split by 1-2-min breaks, cool-down; all on whole minutes so
    that every epoch of a minute is either qualifying or not."""
    n_breaks = int(rng.integers(0, max_breaks + 1))
    n_pieces = n_breaks + 1
    pieces = 5 + rng.multinomial(qualifying_min - 5 * n_pieces, np.ones(n_pieces) / n_pieces)
    edges = np.concatenate([[0], np.cumsum(pieces)]).astype(int).tolist()
    segments = _start(rng, whole=True)
    for k in range(n_pieces):
        level = _u(rng, INTERMEDIATE if rng.random() < 0.6 else (63.0, 78.0))
        segments.append(Segment(60 * (edges[k + 1] - edges[k]), level, mode="run"))
        if k < n_breaks:
            if rng.random() < 0.5:
                segments.append(Segment(60 * int(rng.integers(1, 3)), _u(rng, LIGHT),
                                        mode="walk"))
            else:
                segments.append(Segment(60 * int(rng.integers(1, 3)), _u(rng, (3.0, 8.0))))
    return build_workload(segments + _cooldown(person, rng, whole=True), person)


def _protocol_bout_30plus(person: Person, rng: np.random.Generator) -> Workload:
    return _bout(person, rng, int(rng.integers(32, 46)), max_breaks=2)


def _protocol_bout_just_short(person: Person, rng: np.random.Generator) -> Workload:
    return _bout(person, rng, int(rng.integers(26, 30)), max_breaks=1)


PROTOCOLS: dict[str, Callable[[Person, np.random.Generator], Workload]] = {
    "rest_only": _protocol_rest_only,
    "steady_light": _protocol_steady_light,
    "steady_intermediate": _protocol_steady_intermediate,
    "steady_vigorous": _protocol_steady_vigorous,
    "ramp": _protocol_ramp,
    "step_test": _protocol_step_test,
    "steady_then_ramp": _protocol_steady_then_ramp,
    "walk_then_run": _protocol_walk_then_run,
    "bout_30plus": _protocol_bout_30plus,
    "bout_just_short": _protocol_bout_just_short,
}
"""Protocol name -> ``f(person, rng) -> Workload``. See the module docstring and README."""


# ---------------------------------------------------------------------------------------
# Small signal tools


def _ar1(rng: np.random.Generator, n: int, tau: float, sd: float) -> NDArray[np.float64]:
    """Stationary AR(1) noise with time constant ``tau`` samples and standard deviation ``sd``."""
    if n == 0:
        return np.zeros(0)
    a = float(np.exp(-1.0 / tau))
    white = rng.standard_normal(n)
    zi = [a * rng.standard_normal()]  # a stationary start
    out, _ = signal.lfilter([np.sqrt(1.0 - a * a)], [1.0, -a], white, zi=zi)
    return sd * out


def _asymmetric_lag(u: NDArray[np.float64], x0: float, tau_up: float, tau_down: float,
                    deadband: float = 0.0) -> NDArray[np.float64]:
    """First-order lag of ``u`` (1 sample per second) with time constant ``tau_up`` while
    the target is above the output and ``tau_down`` while below.

    Exact: one linear filter runs until the first sample where the direction changes
    (beyond ``deadband``), then the next starts from there. The loop is over changes of
    direction (a few per protocol segment), each filter over a chunk that doubles while
    no change occurs.
    """
    n = u.size
    out = np.empty(n)
    a_up, a_down = float(np.exp(-1.0 / tau_up)), float(np.exp(-1.0 / tau_down))
    s, x = 0, float(x0)
    rising = bool(n and u[0] >= x)
    chunk = 256
    while s < n:
        e = min(n, s + chunk)
        a = a_up if rising else a_down
        y, _ = signal.lfilter([1.0 - a], [1.0, -a], u[s:e], zi=[a * x])
        prev = np.concatenate(([x], y[:-1]))
        diff = u[s:e] - prev
        wrong = diff < -deadband if rising else diff > deadband
        k = int(np.argmax(wrong)) if wrong.any() else e - s
        if k == 0:
            rising = not rising
            continue
        out[s:s + k] = y[:k]
        x = float(y[k - 1])
        if s + k < e:
            rising = not rising
            chunk = 256
        else:
            chunk = min(chunk * 2, 1 << 16)
        s += k
    return out


def _events(rng: np.random.Generator, allowed: NDArray[np.bool_], rate_per_s: float,
            dur_range: tuple[float, float], at_least: int = 0) -> list[tuple[int, int]]:
    """Random ``[start, end)`` second spans starting inside ``allowed`` seconds, Poisson
    count, durations uniform in ``dur_range`` and clipped to the allowed stretch."""
    where = np.flatnonzero(allowed)
    if where.size == 0:
        return []
    count = max(at_least, int(rng.poisson(rate_per_s * where.size)))
    if count == 0:
        return []
    starts = np.sort(rng.choice(where, size=min(count, where.size), replace=False))
    durations = np.round(rng.uniform(*dur_range, size=starts.size)).astype(int)
    # End of the allowed stretch that holds each start.
    padded = np.concatenate([allowed, [False]])
    stretch_end = np.flatnonzero(padded[1:] < padded[:-1]) + 1  # exclusive ends
    ends = np.minimum(starts + durations, stretch_end[np.searchsorted(stretch_end, starts,
                                                                      side="right")])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b > a]


@dataclass(frozen=True)
class Artefact:
    """A sensor artefact the simulator put in: ``kind`` over ``[start_s, end_s)``."""

    kind: str
    start_s: float
    end_s: float

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "start_s": self.start_s, "end_s": self.end_s}


# ---------------------------------------------------------------------------------------
# Heart rate


@dataclass(frozen=True, eq=False)
class _HeartRateSim:
    t: NDArray[np.float64]
    bpm: NDArray[np.float64]
    rr_ms: NDArray[np.float64] | None
    true_bpm: NDArray[np.float64]
    artefacts: tuple[Artefact, ...]


def _true_heart_rate(intensity: NDArray[np.float64], person: Person,
                     rng: np.random.Generator) -> NDArray[np.float64]:
    """Physiological HR per second: kinetics, drift and variability, no sensor."""
    n = intensity.size
    i_clip = np.clip(intensity, 0.0, 100.0)
    reserve = person.hr_max - person.hr_rest
    drift_target = person.drift_bpm_per_min * np.clip((intensity - 20.0) / 40.0, 0.0, 1.3) * (
        _DRIFT_TAU_UP_S / 60.0)
    drift = _asymmetric_lag(drift_target, 0.0, _DRIFT_TAU_UP_S, _DRIFT_TAU_DOWN_S, 0.01)
    target = np.minimum(person.hr_rest + intensity / 100.0 * reserve + drift, person.hr_max - 2.0)
    hr = _asymmetric_lag(target, float(target[0]), person.tau_on_s, person.tau_off_s, 0.3)
    # Variability, all shrinking with intensity.
    damp = 1.0 - i_clip / 100.0
    rsa_amp = float(np.clip(3.5 - 0.04 * (person.age - 20.0), 1.0, 4.0))
    f_resp = np.clip(0.25 + _ar1(rng, n, 60.0, 0.03), 0.15, 0.35)
    rsa = rsa_amp * damp**2 * np.sin(2.0 * np.pi * np.cumsum(f_resp) + rng.uniform(0, 2 * np.pi))
    lf = _ar1(rng, n, 4.0, 1.5) * damp
    vlf = _ar1(rng, n, 90.0, 1.5) * (0.4 + 0.6 * damp)
    return np.clip(hr + rsa + lf + vlf, 30.0, person.hr_max - 1.0)


def _drop(keep: NDArray[np.bool_], spans: list[tuple[int, int]]) -> None:
    for a, b in spans:
        keep[a:b] = False


def _chest_strap(true_bpm: NDArray[np.float64], rng: np.random.Generator
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[Artefact]]:
    n = true_bpm.size
    duration_min = n / 60.0
    # Beats where the integrated HR passes an integer; beat-to-beat jitter on each RR.
    phase = np.concatenate([[0.0], np.cumsum(true_bpm / 60.0)])
    levels = np.arange(rng.uniform(0.0, 1.0), phase[-1], 1.0)
    beat_t = np.interp(levels, phase, np.arange(n + 1, dtype=np.float64))
    if beat_t.size < 5:  # a few seconds: no beat process to speak of
        return np.round(true_bpm), np.full(n, np.nan), []
    rr = np.diff(beat_t)
    rr = np.clip(rr + rng.standard_normal(rr.size) * (0.004 + 0.010 * rr**2), 0.25, 2.5)
    start = float(beat_t[0])
    artefacts: list[Artefact] = []
    # A falsely detected extra beat splits one RR in two; a missed beat merges two RR.
    n_extra = int(rng.poisson(duration_min / 30.0))
    n_missed = int(rng.poisson(duration_min / 60.0))
    if rr.size > 20 and n_extra + n_missed:
        beat_end = start + np.cumsum(rr)
        candidates = np.arange(0, rr.size - 1, 2)  # even beats: no two events touch
        n_extra = min(n_extra, candidates.size // 2)
        n_missed = min(n_missed, candidates.size // 2)
        chosen = rng.choice(candidates, size=n_extra + n_missed, replace=False)
        extra, missed = np.sort(chosen[:n_extra]), np.sort(chosen[n_extra:])
        first = rr[extra] * rng.uniform(0.35, 0.65, extra.size)
        merged = rr.copy()
        merged[extra] -= first
        merged[missed + 1] += merged[missed]
        keep_rr = np.ones(rr.size, dtype=bool)
        keep_rr[missed] = False
        keys = np.concatenate([np.flatnonzero(keep_rr).astype(np.float64), extra - 0.5])
        values = np.concatenate([merged[keep_rr], first])
        rr = values[np.argsort(keys, kind="stable")]
        artefacts += [Artefact("extra_beat", float(beat_end[k] - first[i] - 1.0),
                               float(beat_end[k] + 3.0)) for i, k in enumerate(extra)]
        artefacts += [Artefact("missed_beat", float(beat_end[k] - 1.0),
                               float(beat_end[k + 1] + 3.0)) for k in missed]
    beat_t = start + np.concatenate([[0.0], np.cumsum(rr)])
    rr_end = np.concatenate([[np.nan], rr])  # RR that ends at each beat, seconds
    # Once a second: HR from the last three RR, the last beat's RR if it ended in that second.
    s = np.arange(n, dtype=np.float64)
    j = np.searchsorted(beat_t, s, side="right") - 1
    csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(rr_end))])
    ok = j >= 3
    jj = np.where(ok, j, 3)
    mean3 = (csum[jj + 1] - csum[jj - 2]) / 3.0
    bpm = np.where(ok, 60.0 / mean3, true_bpm)
    fresh = ok & (beat_t[np.maximum(j, 0)] > s - 1.0)
    rr_ms = np.where(fresh, np.round(rr_end[jj] * 1024.0) * 1000.0 / 1024.0, np.nan)
    return np.round(bpm), rr_ms, artefacts


def _synth_heart_rate(intensity: ArrayLike, cadence: ArrayLike, person: Person, placement: str,
                      rng: np.random.Generator) -> _HeartRateSim:
    _check_placement(placement)
    intensity = np.asarray(intensity, dtype=np.float64)
    cadence = np.asarray(cadence, dtype=np.float64)
    if intensity.ndim != 1 or cadence.shape != intensity.shape or intensity.size == 0:
        raise ValueError("intensity and cadence must be 1-D arrays of the same, non-zero length")
    n = intensity.size
    duration_min = n / 60.0
    true_bpm = _true_heart_rate(intensity, person, rng)
    keep = np.ones(n, dtype=bool)
    artefacts: list[Artefact] = []
    if placement == "chest":
        bpm, rr_ms, artefacts = _chest_strap(true_bpm, rng)
        dropouts = _events(rng, np.ones(n, bool), 1.0 / 2700.0, (2.0, 8.0))
    else:
        rr_ms = None
        # Optical: a 5-s causal average, tracking noise larger in motion.
        padded = np.concatenate([np.full(4, true_bpm[0]), true_bpm])
        smooth = np.convolve(padded, np.ones(5) / 5.0, mode="valid")
        moving = cadence > 0
        bpm = smooth + _ar1(rng, n, 5.0, 1.0) * np.where(moving, 2.0, 1.0)
        running = cadence >= 140.0
        locks = _events(rng, running, 1.0 / 600.0, (30.0, 120.0),
                        at_least=1 if running.sum() >= 180 else 0)
        for a, b in locks:
            bpm[a:b] = cadence[a:b] + rng.normal(0.0, 0.5, b - a)
            artefacts.append(Artefact("cadence_lock", float(a), float(b)))
        for a, b in _events(rng, np.ones(n, bool), 1.0 / 900.0, (1.0, 3.0)):
            bpm[a:b] += rng.choice([-1.0, 1.0]) * rng.uniform(15.0, 40.0)
            artefacts.append(Artefact("spike", float(a), float(b)))
        dropouts = _events(rng, np.ones(n, bool), 1.0 / 1200.0, (5.0, 60.0),
                           at_least=1 if duration_min >= 10 else 0)
        bpm = np.round(np.clip(bpm, 30.0, 230.0))
    _drop(keep, dropouts)
    artefacts += [Artefact("dropout", float(a), float(b)) for a, b in dropouts]
    artefacts.sort(key=lambda x: x.start_s)
    t = np.arange(n, dtype=np.float64)[keep]
    return _HeartRateSim(t=t, bpm=bpm[keep], rr_ms=None if rr_ms is None else rr_ms[keep],
                         true_bpm=true_bpm, artefacts=tuple(artefacts))


def synth_heart_rate(
    intensity_1hz: ArrayLike,
    cadence_spm_1hz: ArrayLike,
    person: Person,
    placement: str,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    """Heart rate as a device reports it, once a second.

    Args:
        intensity_1hz: true intensity, %HRR, one value per second from t = 0.
        cadence_spm_1hz: step cadence per second (0 at rest); running is cadence >= 140,
            where a wrist sensor may lock onto it.
        person, placement (``wrist`` or ``chest``), rng.

    Returns:
        ``(t, bpm, rr_ms)``: times in seconds (rows missing in dropouts), integer bpm, and
        for the chest one RR interval per row in ms (NaN when no beat ended in that
        second); ``rr_ms`` is None at the wrist (optical sensors give no RR).
    """
    sim = _synth_heart_rate(intensity_1hz, cadence_spm_1hz, person, placement, rng)
    return sim.t, sim.bpm, sim.rr_ms


# ---------------------------------------------------------------------------------------
# Acceleration


def _rot_pitch(f: NDArray[np.float64], angle: NDArray[np.float64]) -> None:
    """Rotate rows (ap, ml, v) about the medio-lateral axis, in place."""
    c, s = np.cos(angle), np.sin(angle)
    x, z = f[:, 0].copy(), f[:, 2]
    f[:, 0] = c * x - s * z
    f[:, 2] = s * x + c * z


def _rot_roll(f: NDArray[np.float64], angle: NDArray[np.float64]) -> None:
    """Rotate rows (ap, ml, v) about the antero-posterior axis, in place."""
    c, s = np.cos(angle), np.sin(angle)
    y, z = f[:, 1].copy(), f[:, 2]
    f[:, 1] = c * y - s * z
    f[:, 2] = s * y + c * z


def _piecewise_posture(n: int, changes: list[tuple[int, int]], rng: np.random.Generator,
                       lo: float, hi: float) -> NDArray[np.float64]:
    """An angle per second that jumps to a new random value at the end of each change."""
    values = rng.uniform(lo, hi, len(changes) + 1)
    if not changes:
        return np.full(n, values[0])
    ends = np.array([b for _, b in changes])
    return values[np.searchsorted(ends, np.arange(n), side="right")]


def _smooth_seconds(x: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    padded = np.concatenate([np.full(width // 2, x[0]), x, np.full(width - 1 - width // 2, x[-1])])
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def _synth_acceleration(gait: ArrayLike, speed: ArrayLike, person: Person, placement: str,
                        acc_fs: float, rng: np.random.Generator, chunk: int = 1 << 16
                        ) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Everything slow (amplitudes, postures, events) is set per second; the samples are
    then made ``chunk`` at a time, carrying the step phase and filter states across, so
    memory stays bounded for day-long inputs."""
    _check_placement(placement)
    _check_fs(acc_fs)
    gait = np.asarray(gait)
    v = np.asarray(speed, dtype=np.float64)
    if gait.ndim != 1 or v.shape != gait.shape or gait.size == 0:
        raise ValueError("gait and speed must be 1-D arrays of the same, non-zero length")
    n_s = gait.size
    fs = float(acc_fs)
    n = round(n_s * fs)
    wrist = placement == "wrist"
    walk, run, rest = gait == WALK, gait == RUN, gait == REST

    # --- per second -------------------------------------------------------------------
    f_step = cadence_spm(gait, v, person) / 60.0
    jitter_phase = _ar1(rng, n_s, 2.0, 0.12)  # smooth; leaves the mean cadence exact
    p = rng.uniform(0.0, 2.0 * np.pi, 8)
    wander = 1.0 + _ar1(rng, n_s, 20.0, 0.06)  # slow stride-to-stride wander
    trunk = 0.8 if wrist else 1.0
    a_v = trunk * person.trunk_bounce * wander * np.where(
        walk, 0.09 + 0.10 * v, np.where(run, RUN_V0 + RUN_V1 * v, 0.0))
    # Running: vertical harmonics in phase, a peaked push-off; walking: stance's double hump.
    columns = {
        "f_step": f_step,
        "jitter": jitter_phase,
        "v1": a_v,
        "v2": np.where(run, 0.45, 0.35) * a_v,
        "v3": np.where(run, 0.15, 0.10) * a_v,
        "ph2": np.where(run, 0.0, p[4]),
        "ph3": np.where(run, 0.0, p[5]),
        "ap1": np.where(run, 0.45, 0.70) * a_v,
        "ap2": np.where(run, 0.45 * 0.35, 0.70 * 0.30) * a_v,
        "ml1": np.where(run, 0.30, 0.35) * a_v,
        "ml3": np.where(run, 0.30, 0.35) * 0.25 * a_v,
    }
    # Rest: fidgets (low-pass noise bursts) and, at the wrist, a new posture after each.
    fidgets = _events(rng, rest, (1.2 if wrist else 0.3) / 60.0, (1.0, 5.0))
    env = np.zeros(n_s)
    for a, b in fidgets:
        env[a:b] = rng.uniform(0.03, 0.12) if wrist else rng.uniform(0.01, 0.04)
    columns["fidget"] = env
    if wrist:
        posture_pitch = _piecewise_posture(n_s, fidgets, rng, -1.0, 1.6)
        posture_roll = _piecewise_posture(n_s, fidgets, rng, -1.5, 1.5)
        walk_roll, run_roll = rng.uniform(-0.4, 0.4, 2)
        pitch = np.where(walk, rng.uniform(-0.15, 0.15), np.where(run, rng.uniform(1.1, 1.5),
                                                                  posture_pitch))
        roll = np.where(walk, walk_roll, np.where(run, run_roll, posture_roll))
        # Arm swing: a pendulum at stride frequency; radius shorter with the elbow bent.
        a_arm = person.arm_swing * (1.0 + _ar1(rng, n_s, 20.0, 0.08)) * np.where(
            walk, ARM_WALK0 + ARM_WALK1 * v, np.where(run, ARM_RUN0 + ARM_RUN1 * v, 0.0))
        radius = np.where(run, 0.20, 0.37) * person.height_m
        omega = np.pi * np.maximum(f_step, 0.1)  # stride angular frequency, rad/s
        columns["arm"] = a_arm
        columns["theta"] = np.minimum(a_arm * GRAVITY_MPS2 / (radius * omega**2), 0.9)
        columns["pitch"] = _smooth_seconds(pitch, 3)
        columns["roll"] = _smooth_seconds(roll, 3)
        mount = Rotation.random(random_state=rng).as_matrix()
    else:
        lean = np.where(walk, 0.05, np.where(run, 0.14, _piecewise_posture(
            n_s, fidgets, rng, -0.05, 0.3)))
        columns["pitch"] = _smooth_seconds(lean, 3)
        # A strap: sensor x medio-lateral, y vertical, z antero-posterior, tilted ~15 degrees.
        canonical = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        mount = canonical @ Rotation.from_rotvec(rng.normal(0.0, 0.17, 3)).as_matrix()
    mount = mount * rng.normal(1.0, 0.002, 3)  # per-axis gain error
    offset = rng.normal(0.0, 0.002, 3)
    clock = 1.0 + rng.normal(0.0, 20e-6)
    names = list(columns)
    per_second = np.column_stack([columns[k] for k in names])
    col = {k: i for i, k in enumerate(names)}
    knots = np.arange(n_s) + 0.5
    # Fidget noise: 3-Hz low-pass white noise scaled to unit standard deviation.
    bl, al = signal.butter(2, min(3.0 / (fs / 2.0), 0.9))
    impulse = signal.lfilter(bl, al, np.r_[1.0, np.zeros(int(10 * fs))])
    bl = bl / np.sqrt(np.sum(impulse**2))
    zi = np.zeros((max(len(al), len(bl)) - 1, 3))

    # --- per sample, a chunk at a time ---------------------------------------------------
    t_out = np.empty(n)
    xyz_out = np.empty((n, 3), dtype=np.float32)
    phase0 = 0.0
    for start in range(0, n, chunk):
        t = np.arange(start, min(n, start + chunk)) / fs
        m = t.size

        def up(name: str, t: NDArray[np.float64] = t) -> NDArray[np.float64]:
            return np.interp(t, knots, per_second[:, col[name]])

        step = 2.0 * np.pi * np.cumsum(up("f_step")) / fs + phase0
        phase0 = float(step[-1])
        phi = step + up("jitter")
        f = np.empty((m, 3))
        f[:, 0] = up("ap1") * np.cos(phi + p[0]) + up("ap2") * np.cos(2 * phi + p[1])
        f[:, 1] = up("ml1") * np.cos(phi / 2 + p[2]) + up("ml3") * np.cos(1.5 * phi + p[3])
        f[:, 2] = 1.0 + (up("v1") * np.cos(phi) + up("v2") * np.cos(2 * phi + up("ph2"))
                         + up("v3") * np.cos(3 * phi + up("ph3")))
        if fidgets:
            noise, zi = signal.lfilter(bl, al, rng.standard_normal((m, 3)), axis=0, zi=zi)
            f += noise * up("fidget")[:, None]
        pitch = up("pitch")
        if wrist:
            swing = phi / 2 + p[6]
            arm, theta = up("arm"), up("theta")
            f[:, 0] -= arm * np.sin(swing)  # tangential
            f[:, 2] += arm * theta * np.cos(swing) ** 2  # centripetal, towards the shoulder
            _rot_pitch(f, pitch + theta * np.sin(swing))
            _rot_roll(f, up("roll"))
        else:
            _rot_pitch(f, pitch)
        xyz = f @ mount + offset + rng.normal(0.0, 0.008, (m, 3))
        xyz_out[start:start + m] = np.clip(np.round(xyz * 512.0) / 512.0, -8.0, 8.0)
        # The sensor's clock: a few ppm off, a little jitter (first sample at exactly 0).
        t_out[start:start + m] = t * clock + rng.uniform(0.0, 0.05 / fs, m)
    t_out[0] = 0.0
    return t_out, xyz_out


def synth_acceleration(
    gait_1hz: ArrayLike,
    speed_1hz: ArrayLike,
    person: Person,
    placement: str,
    acc_fs: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Triaxial acceleration as a device records it.

    Args:
        gait_1hz: 0 rest, 1 walk, 2 run, one value per second from t = 0.
        speed_1hz: m/s per second (sets cadence and amplitude).
        person, placement (``wrist`` or ``chest``), acc_fs (25-200 Hz), rng.

    Returns:
        ``(t, xyz)``: times in seconds (``acc_fs`` per second, a few ppm clock error and a
        little jitter) and float32 acceleration of shape ``(n, 3)`` in g.
    """
    return _synth_acceleration(gait_1hz, speed_1hz, person, placement, acc_fs, rng)


# ---------------------------------------------------------------------------------------
# Sessions and truth


def epoch_means(intensity: ArrayLike, epoch_s: float) -> NDArray[np.float64]:
    """Mean of a 1-Hz series over epochs starting at t = 0; the last partial epoch is kept
    only when it is at least half full."""
    x = np.asarray(intensity, dtype=np.float64)
    if epoch_s < 1.0:
        raise ValueError(f"epoch_s must be at least 1 s for a 1-Hz series, got {epoch_s}")
    index = np.floor(np.arange(x.size) / epoch_s + 1e-9).astype(np.intp)
    means = np.bincount(index, weights=x) / np.bincount(index)
    # Which epochs count is the product's own rule, so truth and analysis share the grid.
    return means[: epoch_count(x.size, epoch_s)]


@dataclass(frozen=True, eq=False)
class Truth:
    """What the simulator knows about a session.

    Attributes:
        protocol, person, placement, modality: what was simulated.
        t_s: seconds 0, 1, 2, ...
        intensity: true %HRR per second (steady-state demand: no lag, drift or noise).
        speed_mps, gait, grade, cadence_spm: the workload per second (gait 0 rest, 1 walk,
            2 run; grade a fraction; cadence 0 at rest).
        epoch_s: epoch length used.
        epoch_intensity: mean intensity per epoch (last partial epoch if at least half full).
        labels: reference epoch labels (``dosewatch.spec.labels.label_epochs``).
        session_class: ``constant``, ``accelerating``, ``intermediate`` or ``none``.
        bouts: reference bouts; ``dose_met`` whether any meets the dose.
        hr_bpm: the physiological heart rate per second, before the sensor.
        artefacts: sensor artefacts put into the streams the session holds.
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
    bouts: list[Bout]
    dose_met: bool
    grade: NDArray[np.float64]
    cadence_spm: NDArray[np.float64]
    hr_bpm: NDArray[np.float64]
    epoch_s: float
    artefacts: tuple[Artefact, ...] = ()

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
            "labels": label_names(self.labels).tolist(),
            "epoch_intensity": [round(float(x), 2) for x in self.epoch_intensity],
            "artefacts": [a.as_dict() for a in self.artefacts],
        }


@dataclass(frozen=True, eq=False)
class SimulatedSession:
    session: Session
    truth: Truth


def _allowed(kind: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; expected one of: {', '.join(allowed)}")


def _check_placement(placement: str) -> None:
    _allowed("placement", placement, PLACEMENTS)


def _check_fs(acc_fs: float) -> None:
    lo, hi = ACC_FS_RANGE
    if isinstance(acc_fs, bool) or not isinstance(acc_fs, numbers.Real) or not lo <= acc_fs <= hi:
        raise ValueError(f"acc_fs must be a number from {lo:g} to {hi:g} Hz, got {acc_fs!r}")


def simulate(
    protocol: str,
    person: Person,
    *,
    placement: str = "wrist",
    acc_fs: float = 50.0,
    modality: str = "hr+acc",
    profile: str = "full",
    seed: int = 0,
    config: Config | None = None,
    name: str | None = None,
) -> SimulatedSession:
    """Simulate one session of ``protocol`` for ``person`` with its ground truth.

    Args:
        protocol: a key of :data:`PROTOCOLS`.
        person: the participant (see :func:`random_person`).
        placement: ``wrist`` (optical HR, no RR) or ``chest`` (strap: HR and RR).
        acc_fs: accelerometer rate, 25-200 Hz.
        modality: the streams the session holds: ``hr+acc``, ``hr`` or ``acc`` (a speed
            stream is added whenever the protocol walks or runs).
        profile: what the session's profile tells: ``full`` (id, age, sex, hr_rest, hr_max,
            placement), ``age`` (id, age, placement) or ``none`` (placement).
        seed: the same seed gives the same session; the truth depends only on protocol,
            person and seed, not on placement, modality or rate.
        config: epoch length and label rules for the truth (default ``Config()``).
        name: session name; default ``{protocol}-{placement}-{modality}-s{seed}``.

    Raises:
        ValueError: an unknown protocol, placement, modality or profile, or a bad rate/seed.
    """
    _allowed("protocol", protocol, tuple(PROTOCOLS))
    _check_placement(placement)
    _allowed("modality", modality, MODALITIES)
    _allowed("profile", profile, PROFILES)
    _check_fs(acc_fs)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    config = config or Config()
    rng_protocol, rng_hr, rng_acc = (np.random.default_rng(s)
                                     for s in np.random.SeedSequence(int(seed)).spawn(3))

    work = PROTOCOLS[protocol](person, rng_protocol)
    cadence = cadence_spm(work.gait, work.speed_mps, person)
    hr_sim = _synth_heart_rate(work.intensity, cadence, person, placement, rng_hr)
    with_hr, with_acc = modality in ("hr+acc", "hr"), modality in ("hr+acc", "acc")
    acc = (_synth_acceleration(work.gait, work.speed_mps, person, placement, acc_fs, rng_acc)
           if with_acc else None)
    t_s = np.arange(work.duration_s, dtype=np.float64)
    speed = (t_s, np.round(work.speed_mps, 3)) if work.gait.any() else None

    if profile == "full":
        prof = Profile(id=person.id, age=person.age, hr_rest=person.hr_rest,
                       hr_max=person.hr_max, placement=placement, sex=person.sex)
    elif profile == "age":
        prof = Profile(id=person.id, age=person.age, placement=placement)
    else:
        prof = Profile(placement=placement)
    name = name or f"{protocol}-{placement}-{modality}-s{seed}".replace("+", "plus")
    hr = (hr_sim.t, hr_sim.bpm) if hr_sim.rr_ms is None else (hr_sim.t, hr_sim.bpm, hr_sim.rr_ms)
    session = build_session(
        name,
        hr=hr if with_hr else None,
        acc=acc,
        speed=speed,
        profile=prof,
        source=f"simulated:{protocol}:seed{seed}",
        format="simulated",
    )

    epoch_intensity = epoch_means(work.intensity, config.epochs.epoch_s)
    labels = label_epochs(epoch_intensity, config)
    bouts = find_bouts(epoch_intensity, labels, config)
    truth = Truth(
        protocol=protocol,
        person=person,
        placement=placement,
        modality=modality,
        t_s=t_s,
        intensity=work.intensity,
        speed_mps=work.speed_mps,
        gait=work.gait,
        epoch_intensity=epoch_intensity,
        labels=labels,
        session_class=session_class(labels),
        bouts=bouts,
        dose_met=any(b.dose_met for b in bouts),
        grade=work.grade,
        cadence_spm=cadence,
        hr_bpm=hr_sim.true_bpm,
        epoch_s=float(config.epochs.epoch_s),
        artefacts=hr_sim.artefacts if with_hr else (),
    )
    return SimulatedSession(session=session, truth=truth)
