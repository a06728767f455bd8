"""Protocols: each writes the true intensity ``I(t)`` of one kind of session, second by
second, as a few segments with random durations and levels inside the protocol's meaning.

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

:data:`WIDE_PROTOCOLS` are the sessions a real study meets beyond those (every change on a
whole minute where it matters for the truth):

* ``intervals``: a 5-8-min warm-up walk, then 4-10 repeats of 1-4 min of hard running
  (65-85 %HRR) and 1-3 min of recovery (a light walk, or standing), and a cool-down. The
  workload goes up and down; it does not keep rising: never accelerating.
* ``ramp_to_exhaustion``: a treadmill test: a 3-5-min warm-up walk, then a continuous ramp
  or a staircase of 1- or 2-min steps from 30-40 to 95-100 %HRR at 2-4 %HRR/min (a
  staircase's last step falls short of the top by less than a step), then a
  slow walk (or standing, when even a slow walk is not easy for the person) and seated
  rest. Heart rate stays high for minutes after exhaustion (see
  :mod:`~dosewatch.simulate.heart`); the workload has dropped, so the recovery minutes
  are rest or light in truth and never qualify.
* ``outdoor_run``: standing, half the time a warm-up walk, 30-60 min of steady running at
  46-54 or 66-75 %HRR (a brisk walk for people who cannot run that slowly), a walk and
  rest; outdoors on rolling hills (steepest grade 2-6 %), paced by effort or (half the
  time) by speed with the hills flattened to move the effort by at most 5 %HRR, 0-8 stops
  an hour at crossings, and a heat-like cardiac drift of 0-1 bpm/min.
* ``steady_ride``: a bike on an indoor trainer: seated rest, a 5-10-min warm-up spin at
  25-33 %HRR, 30-50 min at 45-55 or 63-75 %HRR, a 3-5-min easy spin, rest; power and
  cadence per :mod:`~dosewatch.simulate.workload`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .options import Outdoor
from .outdoor import take_outdoors
from .people import Person
from .workload import RUN, RUN_MIN_MPS, WALK, Segment, Workload, build_workload, workload_intensity

# Steady levels keep 3 %HRR inside the band and 2 %HRR away from every boundary.
LIGHT = (23.0, 35.0)
INTERMEDIATE = (43.0, 57.0)
VIGOROUS = (63.0, 80.0)




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
# Sessions a real study meets


def _protocol_intervals(person: Person, rng: np.random.Generator) -> Workload:
    warmup = Segment(_secs(rng, 5, 8, whole=True), _u(rng, (23.0, 33.0)), mode="walk")
    segments = [_rest(rng, whole=True), warmup]
    work_s, recovery_s = 60 * int(rng.integers(1, 5)), 60 * int(rng.integers(1, 4))
    hard = _u(rng, (65.0, 85.0))
    walk_recovery = rng.random() < 0.5
    for _ in range(int(rng.integers(4, 11))):
        segments.append(Segment(work_s, hard, mode="run"))
        if walk_recovery:
            segments.append(Segment(recovery_s, _u(rng, (23.0, 33.0)), mode="walk"))
        else:
            segments.append(Segment(recovery_s, _u(rng, (3.0, 8.0))))
    return build_workload(segments + _cooldown(person, rng, whole=True), person)


def _protocol_ramp_to_exhaustion(person: Person, rng: np.random.Generator) -> Workload:
    warmup = Segment(_secs(rng, 3, 5, whole=True), _u(rng, (23.0, 30.0)), mode="walk")
    start, top, rate = _u(rng, (30.0, 40.0)), _u(rng, (95.0, 100.0)), _u(rng, (2.0, 4.0))
    step_min = int(rng.choice([0, 1, 2]))  # 0: a continuous ramp
    if step_min == 0:
        test = [_ramp(start, top, rate)]
    else:
        n_steps = int(np.floor((top - start) / (rate * step_min))) + 1
        test = [Segment(60 * step_min, start + k * rate * step_min, mode="run")
                for k in range(n_steps)]
    i_walk = _walk_at(person, float(rng.uniform(0.9, 1.2)))
    after = (Segment(_secs(rng, 3, 6, whole=True), i_walk, mode="walk") if i_walk < 30.0
             else Segment(_secs(rng, 3, 6, whole=True), _u(rng, (5.0, 10.0))))
    segments = [_rest(rng, whole=True), warmup, *test, after, _rest(rng, 3, 6, whole=True)]
    return build_workload(segments, person)


def _outdoor_level(person: Person, rng: np.random.Generator) -> tuple[float, str]:
    """A steady level and gait for a run outdoors: the middle of the intermediate or
    vigorous band, as the person can run it, else the briskest walk they can keep."""
    i_min = float(workload_intensity(RUN, RUN_MIN_MPS, 0.0, person))
    bands = [b for b in ((46.0, 54.0), (66.0, 75.0)) if i_min <= b[1] - 1.0]
    if bands:
        lo, hi = bands[int(rng.integers(len(bands)))]
        return float(rng.uniform(max(lo, i_min), hi)), "run"
    brisk = _walk_at(person, person.walk_max_mps)
    band = (46.0, min(54.0, brisk)) if brisk >= 47.0 else (23.0, min(35.0, brisk))
    return float(rng.uniform(*band)), "walk"


def _protocol_outdoor_run(person: Person, rng: np.random.Generator) -> Workload:
    level, mode = _outdoor_level(person, rng)
    segments = [Segment(_secs(rng, 2, 4), _u(rng, (4.0, 9.0)))]
    if rng.random() < 0.5:
        segments.append(Segment(_secs(rng, 3, 6), _u(rng, (23.0, 30.0)), mode="walk"))
    segments.append(Segment(_secs(rng, 30, 60), level, mode=mode))
    pacing = "speed" if rng.random() < 0.5 else "effort"
    outdoor = Outdoor(hills=_u(rng, (0.02, 0.06)), pacing=pacing, max_effort_swing=5.0,
                      stops_per_hour=_u(rng, (0.0, 8.0)))
    drift = round(_u(rng, (0.0, 1.0)), 3)
    rng_terrain, rng_stops = rng.spawn(2)
    work = build_workload(segments + _cooldown(person, rng), person)
    work = take_outdoors(work, person, outdoor, rng_terrain, rng_stops)
    return replace(work, heat_drift_bpm_per_min=drift)


def _protocol_steady_ride(person: Person, rng: np.random.Generator) -> Workload:
    level = _u(rng, (45.0, 55.0)) if rng.random() < 0.5 else _u(rng, (63.0, 75.0))
    segments = [
        _rest(rng, whole=True),
        Segment(_secs(rng, 5, 10, whole=True), _u(rng, (25.0, 33.0)), mode="ride"),
        Segment(_secs(rng, 30, 50, whole=True), level, mode="ride"),
        Segment(_secs(rng, 3, 5, whole=True), _u(rng, (23.0, 30.0)), mode="ride"),
        _rest(rng, 2, 4, whole=True),
    ]
    return build_workload(segments, person)


WIDE_PROTOCOLS: dict[str, Callable[[Person, np.random.Generator], Workload]] = {
    "intervals": _protocol_intervals,
    "ramp_to_exhaustion": _protocol_ramp_to_exhaustion,
    "outdoor_run": _protocol_outdoor_run,
    "steady_ride": _protocol_steady_ride,
}
"""The protocols added to widen the simulator (see the module docstring). They are kept
out of :data:`PROTOCOLS`, which training, evaluation and the demo iterate over, so that
those keep making the sessions they always made; :data:`ALL_PROTOCOLS` holds both."""

ALL_PROTOCOLS = {**PROTOCOLS, **WIDE_PROTOCOLS}
"""Every protocol :func:`~dosewatch.simulate.simulate` knows."""
OUTDOOR_PROTOCOLS = frozenset({"outdoor_run"})
"""Protocols that are outdoors already (they draw their own hills and stops)."""
RIDE_PROTOCOLS = frozenset({"steady_ride"})
"""Protocols on a bike."""
