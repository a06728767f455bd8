"""The workload: true intensity per second, and the gait, speed and grade that demand it.

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

Downhill (outdoors, :mod:`~dosewatch.simulate.outdoor`) the grade term counts half: the
ACSM equations hold uphill; running downhill saves less than climbing costs.

Cycling (``ride`` segments, gait 3) follows the ACSM leg-cycling equation
``VO2 = 7 + 10.8 W / kg * cycling_cost`` (3.5 at rest, 3.5 for unloaded pedalling; the
person's ``cycling_cost``, 0.9-1.1, is their efficiency relative to the equation's), so
the power that an intensity demands is ``(VO2 - 7) kg / (10.8 cycling_cost)`` watts:
about 140 W at 60 %HRR for a 70-kg person with a VO2max of 45. Cadence is the person's
preferred 75-95 rpm, rising 4 rpm per 100 W, within 70-100 rpm. The speed is that of a
flat road for the power (``P = Crr m g v + 0.5 rho CdA v^3``, a road bike on a trainer's
virtual road).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from .people import Person

REST, WALK, RUN, CYCLE = 0, 1, 2, 3
MODES = {"rest": REST, "walk": WALK, "run": RUN, "ride": CYCLE}
"""Segment mode -> gait code."""

VO2_REST = 3.5
"""ml/kg/min, one MET."""
RUN_MIN_MPS = 2.0
"""Slowest running speed; below it a person walks (uphill if need be)."""
VO2_PEDALLING = 7.0
"""ml/kg/min of pedalling without load (ACSM)."""
CYCLING_ML_PER_W_KG = 10.8
"""ml/kg/min of oxygen per W/kg of cycling power (ACSM)."""
BIKE_KG, CDA_M2, CRR, AIR_KG_M3 = 9.0, 0.30, 0.004, 1.2
"""A road bike's mass, drag area, rolling resistance and the air's density."""


@dataclass(frozen=True)
class Segment:
    """A piece of a protocol: ``duration_s`` seconds from ``start`` to ``end`` %HRR (a
    linear ramp; ``end=None`` holds ``start``) in a mode: ``rest``, ``walk``, ``run``
    (``run`` walks uphill when the person cannot run that slowly) or ``ride``."""

    duration_s: int
    start: float
    end: float | None = None
    mode: str = "rest"


@dataclass(frozen=True, eq=False)
class Workload:
    """One value per second: true intensity (%HRR), gait (0 rest, 1 walk, 2 run,
    3 cycle), speed (m/s) and grade (fraction), and for some sessions more.

    Attributes:
        power_w: cycling power (W; 0 off the bike), None when the session has no ride.
        altitude_m: altitude above the start's (m), outdoors; None on a treadmill.
        setting: ``treadmill``, ``outdoor`` or ``trainer`` (a bike on an indoor trainer).
        heat_drift_bpm_per_min: a cardiac drift the conditions impose (heat), or None
            for the person's own; see :mod:`~dosewatch.simulate.heart`.
    """

    intensity: NDArray[np.float64]
    gait: NDArray[np.int8]
    speed_mps: NDArray[np.float64]
    grade: NDArray[np.float64]
    power_w: NDArray[np.float64] | None = None
    altitude_m: NDArray[np.float64] | None = None
    setting: str = "treadmill"
    heat_drift_bpm_per_min: float | None = None

    @property
    def duration_s(self) -> int:
        return int(self.intensity.size)


def vo2(intensity: ArrayLike, person: Person) -> NDArray[np.float64]:
    """Oxygen cost (ml/kg/min) of an intensity (%HRR = %VO2 reserve) for ``person``."""
    return VO2_REST + np.asarray(intensity, dtype=np.float64) / 100.0 * (person.vo2max - VO2_REST)


def _segment_arrays(segments: list[Segment]) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Per-second intensity and mode code of a list of segments."""
    parts, modes = [], []
    for seg in segments:
        if seg.mode not in MODES:
            raise ValueError(f"segment mode {seg.mode!r} is not one of {', '.join(MODES)}")
        d = int(seg.duration_s)
        end = seg.start if seg.end is None else seg.end
        parts.append(seg.start + (end - seg.start) * np.arange(d) / max(d, 1))
        modes.append(np.full(d, MODES[seg.mode], dtype=np.int8))
    return np.concatenate(parts), np.concatenate(modes)


def build_workload(segments: list[Segment], person: Person) -> Workload:
    """Concatenate segments into a per-second :class:`Workload` for ``person``."""
    if not segments:
        raise ValueError("a workload needs at least one segment")
    intensity, mode = _segment_arrays(segments)
    cost = vo2(intensity, person)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_run = (cost - VO2_REST) / 12.0
        run = (mode == RUN) & (v_run >= RUN_MIN_MPS)
        walk = (mode == WALK) | ((mode == RUN) & ~run)
        v_walk = np.minimum((cost - VO2_REST) / 6.0, person.walk_max_mps)
        grade_walk = np.clip((cost - VO2_REST - 6.0 * v_walk) / (108.0 * v_walk), 0.0, None)
    gait = np.where(run, RUN, np.where(walk, WALK, REST)).astype(np.int8)
    speed = np.where(run, v_run, np.where(walk, v_walk, 0.0))
    grade = np.where(walk, grade_walk, 0.0)
    ride = mode == CYCLE
    if not ride.any():
        return Workload(intensity=intensity, gait=gait, speed_mps=speed, grade=grade)
    power = np.where(ride, cycling_power(intensity, person), 0.0)
    gait[ride] = CYCLE
    speed = np.where(ride, bike_speed(power, person), speed)
    return Workload(intensity=intensity, gait=gait, speed_mps=speed, grade=grade,
                    power_w=power, setting="trainer")


def cycling_power(intensity: ArrayLike, person: Person) -> NDArray[np.float64]:
    """Power (W) that demands ``intensity`` (%HRR) on a bike; 0 below unloaded pedalling."""
    above = np.maximum(vo2(intensity, person) - VO2_PEDALLING, 0.0)
    return above * person.weight_kg / (CYCLING_ML_PER_W_KG * person.cycling_cost)


def cycling_intensity(power_w: ArrayLike, person: Person) -> NDArray[np.float64]:
    """%HRR that cycling at ``power_w`` demands (the inverse of :func:`cycling_power`)."""
    cost = VO2_PEDALLING + CYCLING_ML_PER_W_KG * person.cycling_cost * np.asarray(
        power_w, dtype=np.float64) / person.weight_kg
    return 100.0 * (cost - VO2_REST) / (person.vo2max - VO2_REST)


def bike_speed(power_w: ArrayLike, person: Person) -> NDArray[np.float64]:
    """Speed (m/s) on a flat road at ``power_w``: ``Crr m g v + 0.5 rho CdA v^3 = P``,
    solved by Newton's method (the left side rises monotonically in v)."""
    p = np.asarray(power_w, dtype=np.float64)
    roll = CRR * (person.weight_kg + BIKE_KG) * 9.80665
    drag = 0.5 * AIR_KG_M3 * CDA_M2
    v = np.cbrt(p / drag)  # an upper bound: the drag alone
    for _ in range(30):
        v = v - (roll * v + drag * v**3 - p) / (roll + 3.0 * drag * v**2)
    return np.maximum(v, 0.0)


def effective_grade(grade: ArrayLike) -> NDArray[np.float64]:
    """The grade the oxygen cost sees: as it is uphill, half of it downhill."""
    g = np.asarray(grade, dtype=np.float64)
    return np.where(g >= 0.0, g, 0.5 * g)


def workload_intensity(
    gait: ArrayLike, speed_mps: ArrayLike, grade: ArrayLike, person: Person,
    power_w: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """%HRR of walking or running at a speed and grade (ACSM equations, %VO2R = %HRR; a
    downhill grade counts half), or of cycling at ``power_w``; NaN at rest, where the
    workload does not say (and on the bike without a power)."""
    gait = np.asarray(gait)
    v = np.asarray(speed_mps, dtype=np.float64)
    g = effective_grade(grade)
    cost = np.where(gait == RUN, VO2_REST + 12.0 * v + 54.0 * v * g,
                    VO2_REST + 6.0 * v + 108.0 * v * g)
    pct = 100.0 * (cost - VO2_REST) / (person.vo2max - VO2_REST)
    pct = np.where(gait == REST, np.nan, pct)
    if np.any(gait == CYCLE):
        ride = np.nan if power_w is None else cycling_intensity(power_w, person)
        pct = np.where(gait == CYCLE, ride, pct)
    return pct


def cadence_spm(gait: ArrayLike, speed_mps: ArrayLike, person: Person,
                power_w: ArrayLike | None = None) -> NDArray[np.float64]:
    """Step cadence (steps/min) of each second: 0 at rest, ``78 + 26 v`` walking,
    ``140 + 9 v`` running, plus the person's offset; on the bike the pedalling cadence in
    revolutions per minute (the person's, rising 4 rpm per 100 W of ``power_w``)."""
    gait = np.asarray(gait)
    v = np.asarray(speed_mps, dtype=np.float64)
    walk = np.clip(78.0 + 26.0 * v + person.cadence_offset_spm, 85.0, 135.0)
    run = np.clip(140.0 + 9.0 * v + person.cadence_offset_spm, 145.0, 200.0)
    out = np.where(gait == WALK, walk, np.where(gait == RUN, run, 0.0))
    if np.any(gait == CYCLE):
        watts = 150.0 if power_w is None else np.asarray(power_w, dtype=np.float64)
        rpm = np.clip(person.pedal_rpm + 0.04 * (watts - 150.0), 70.0, 100.0)
        out = np.where(gait == CYCLE, rpm, out)
    return out
