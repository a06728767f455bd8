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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from .people import Person

REST, WALK, RUN = 0, 1, 2
MODES = {"rest": REST, "walk": WALK, "run": RUN}
"""Segment mode -> gait code."""

VO2_REST = 3.5
"""ml/kg/min, one MET."""
RUN_MIN_MPS = 2.0
"""Slowest running speed; below it a person walks (uphill if need be)."""


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
    return Workload(intensity=intensity, gait=gait, speed_mps=speed, grade=grade)


def workload_intensity(
    gait: ArrayLike, speed_mps: ArrayLike, grade: ArrayLike, person: Person
) -> NDArray[np.float64]:
    """%HRR of walking or running at a speed and grade (ACSM equations, %VO2R = %HRR);
    NaN at rest, where the workload does not say."""
    gait = np.asarray(gait)
    v = np.asarray(speed_mps, dtype=np.float64)
    g = np.asarray(grade, dtype=np.float64)
    cost = np.where(gait == RUN, VO2_REST + 12.0 * v + 54.0 * v * g,
                    VO2_REST + 6.0 * v + 108.0 * v * g)
    pct = 100.0 * (cost - VO2_REST) / (person.vo2max - VO2_REST)
    return np.where(gait == REST, np.nan, pct)


def cadence_spm(gait: ArrayLike, speed_mps: ArrayLike, person: Person) -> NDArray[np.float64]:
    """Step cadence (steps/min) of each second: 0 at rest, ``78 + 26 v`` walking,
    ``140 + 9 v`` running, plus the person's offset."""
    gait = np.asarray(gait)
    v = np.asarray(speed_mps, dtype=np.float64)
    walk = np.clip(78.0 + 26.0 * v + person.cadence_offset_spm, 85.0, 135.0)
    run = np.clip(140.0 + 9.0 * v + person.cadence_offset_spm, 145.0, 200.0)
    return np.where(gait == WALK, walk, np.where(gait == RUN, run, 0.0))
