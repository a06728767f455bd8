"""Outdoors: terrain and grade, pacing over hills, stops at crossings, and the speed,
altitude and grade channels as a watch records them.

**Terrain.** A route's altitude is a sum of three sinusoids in distance (half-wavelengths
drawn from ``hill_length_m``), scaled so that the steepest grade along the route is
``hills``. The hills are fixed in space: a faster runner meets them sooner.

**Pacing.** With ``effort`` pacing the person holds the effort the protocol asks for and
the speed follows from the grade (the ACSM equations solved for speed, downhill grades
counting half, speed at most 35 % above the flat-ground speed; a runner never slows
below 2 m/s, a walker never walks faster than they can); the true intensity is the
protocol's except where a limit binds. With ``speed`` pacing the person holds the
flat-ground speed and the true intensity follows the grade. Distance and grade depend on
each other under effort pacing; twelve fixed-point passes settle them (the effort is
then held to within 0.01 %HRR). The truth is always the demand of the workload that
was actually done: :func:`~dosewatch.simulate.workload.workload_intensity` of the gait,
speed and grade per second.

**Stops** at crossings: Poisson, ``stops_per_hour`` of walking or running, 10-60 s each,
standing (4-9 %HRR): the true intensity drops for the stop (a 30-s stop takes a minute's
mean from 50 to about 28 %HRR), and the heart rate, which lags, does not.

**Channels.** *GPS speed* (as watch exports have it): a 4-s average of the speed plus
Doppler noise (AR(1), 3 s, a fix quality of 0.05-0.2 m/s per session), never negative,
1 mm/s resolution; spikes (2-6 s, +1-4 m/s, about one per 15 min: multipath) and
dropouts (10-60 s of missing rows, about one per 25 min: trees, tunnels, buildings).
*Barometric altitude*: the route's altitude above a starting height of 20-400 m, a slow
pressure wander (AR(1), 10 min, 1 m), 0.1-m noise, 0.2-m resolution; the grade follows
from it (:func:`grade_from_altitude`: the rise over the distance covered in a centred
20-s window), as it does for a watch export, which records altitude and no grade.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from .options import Outdoor
from .people import Person
from .signals import Artefact, ar1, events
from .workload import (
    REST,
    RUN,
    RUN_MIN_MPS,
    VO2_REST,
    WALK,
    Workload,
    effective_grade,
    vo2,
    workload_intensity,
)

_PASSES = 12
_MAX_SPEEDUP = 1.35
_WALK_MIN_MPS = 0.5


@dataclass(frozen=True)
class Terrain:
    """Altitude ``sum a_k sin(2 pi d / lambda_k + phi_k)`` over distance ``d`` (m), from 0
    at the start."""

    wavelengths_m: NDArray[np.float64]
    amplitudes_m: NDArray[np.float64]
    phases: NDArray[np.float64]

    def altitude(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        """Metres above the start at distance ``d``."""
        k = 2.0 * np.pi / self.wavelengths_m
        shape = np.sin(np.multiply.outer(d, k) + self.phases) - np.sin(self.phases)
        return shape @ self.amplitudes_m

    def grade(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        """The slope of :meth:`altitude` at distance ``d``."""
        k = 2.0 * np.pi / self.wavelengths_m
        return np.cos(np.multiply.outer(d, k) + self.phases) @ (self.amplitudes_m * k)


def random_terrain(rng: np.random.Generator, hills: float, hill_length_m: tuple[float, float],
                   route_m: float) -> Terrain:
    """Rolling hills whose steepest grade over the first ``route_m`` metres is ``hills``."""
    wavelengths = 2.0 * rng.uniform(*hill_length_m, 3)
    raw = rng.uniform(0.5, 1.0, 3) * wavelengths
    phases = rng.uniform(0.0, 2.0 * np.pi, 3)
    unit = Terrain(wavelengths, raw, phases)
    steepest = float(np.abs(unit.grade(np.arange(0.0, route_m + 2.0, 2.0))).max())
    scale = hills / steepest if steepest > 0 else 0.0
    return Terrain(wavelengths, raw * scale, phases)


def add_stops(work: Workload, per_hour: float, rng: np.random.Generator
              ) -> tuple[Workload, list[tuple[int, int]]]:
    """Stops at crossings (10-60 s standing) while walking or running; their spans."""
    moving = (work.gait == WALK) | (work.gait == RUN)
    spans = events(rng, moving, per_hour / 3600.0, (10.0, 60.0)) if per_hour > 0 else []
    if not spans:
        return work, []
    intensity, gait, speed = work.intensity.copy(), work.gait.copy(), work.speed_mps.copy()
    for a, b in spans:
        intensity[a:b] = rng.uniform(4.0, 9.0)
        gait[a:b], speed[a:b] = REST, 0.0
    return replace(work, intensity=intensity, gait=gait, speed_mps=speed,
                   grade=np.where(gait == REST, 0.0, work.grade)), spans


def _speed_for_effort(work: Workload, grade: NDArray[np.float64], person: Person
                      ) -> NDArray[np.float64]:
    """Speed that holds the protocol's effort on ``grade`` (limits in the docstring)."""
    above = vo2(work.intensity, person) - VO2_REST
    g = effective_grade(grade)
    flat = work.speed_mps
    with np.errstate(divide="ignore", invalid="ignore"):
        v_run = np.clip(above / (12.0 + 54.0 * g), RUN_MIN_MPS, _MAX_SPEEDUP * flat)
        v_walk = np.clip(above / (6.0 + 108.0 * g), _WALK_MIN_MPS,
                         np.minimum(_MAX_SPEEDUP * flat, person.walk_max_mps))
    return np.where(work.gait == RUN, v_run, np.where(work.gait == WALK, v_walk, 0.0))


def _flatten_for_swing(terrain: Terrain, work: Workload, person: Person, swing: float
                       ) -> Terrain:
    """Scale the hills down so that at the protocol's speeds a grade moves the intensity
    by at most ``swing`` %HRR (``speed`` pacing)."""
    per_grade = np.where(work.gait == RUN, 54.0, np.where(work.gait == WALK, 108.0, 0.0))
    worst = float(np.max(per_grade * work.speed_mps, initial=0.0)) * 100.0 / (
        person.vo2max - VO2_REST)
    steepest = float(np.abs(terrain.amplitudes_m * 2.0 * np.pi / terrain.wavelengths_m).sum())
    if worst * steepest <= swing or steepest == 0.0:
        return terrain
    return replace(terrain, amplitudes_m=terrain.amplitudes_m * swing / (worst * steepest))


def take_outdoors(work: Workload, person: Person, outdoor: Outdoor,
                  rng_terrain: np.random.Generator, rng_stops: np.random.Generator
                  ) -> Workload:
    """The protocol's walks and runs on a hilly route, with stops (module docstring)."""
    work, _ = add_stops(work, outdoor.stops_per_hour, rng_stops)
    route_m = _MAX_SPEEDUP * float(work.speed_mps.sum()) + 100.0
    terrain = random_terrain(rng_terrain, outdoor.hills, outdoor.hill_length_m, route_m)
    moving = (work.gait == WALK) | (work.gait == RUN)
    if outdoor.pacing == "speed":
        if outdoor.max_effort_swing is not None:
            terrain = _flatten_for_swing(terrain, work, person, outdoor.max_effort_swing)
        speed = work.speed_mps
        distance = np.cumsum(speed) - 0.5 * speed  # at the middle of each second
    else:
        speed = work.speed_mps
        for _ in range(_PASSES):
            distance = np.cumsum(speed) - 0.5 * speed
            speed = _speed_for_effort(work, terrain.grade(distance), person)
        distance = np.cumsum(speed) - 0.5 * speed
    grade = terrain.grade(distance)
    intensity = np.where(moving, workload_intensity(work.gait, speed, grade, person),
                         work.intensity)
    return replace(work, intensity=intensity, speed_mps=speed, grade=grade,
                   altitude_m=terrain.altitude(distance), setting="outdoor")


# ---------------------------------------------------------------------------------------
# The channels a watch records


def gps_speed(speed: NDArray[np.float64], rng: np.random.Generator
              ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[Artefact]]:
    """Speed once a second as a GPS watch reports it: ``(t, m/s, artefacts)``, rows
    missing in dropouts."""
    n = speed.size
    quality = float(rng.uniform(0.05, 0.2))
    padded = np.concatenate([np.full(3, speed[0]), speed])
    smooth = np.convolve(padded, np.ones(4) / 4.0, mode="valid")
    noisy = np.maximum(smooth + ar1(rng, n, 3.0, quality), 0.0)
    artefacts = []
    for a, b in events(rng, np.ones(n, bool), 1.0 / 900.0, (2.0, 6.0)):
        noisy[a:b] += rng.uniform(1.0, 4.0)
        artefacts.append(Artefact("gps_spike", float(a), float(b)))
    keep = np.ones(n, dtype=bool)
    for a, b in events(rng, np.ones(n, bool), 1.0 / 1500.0, (10.0, 60.0)):
        keep[a:b] = False
        artefacts.append(Artefact("gps_dropout", float(a), float(b)))
    t = np.arange(n, dtype=np.float64)
    return t[keep], np.round(noisy, 3)[keep], artefacts


def barometric_altitude(altitude_m: NDArray[np.float64], rng: np.random.Generator
                        ) -> NDArray[np.float64]:
    """The route's altitude as a barometric altimeter records it, once a second."""
    n = altitude_m.size
    start = float(rng.uniform(20.0, 400.0))
    reading = start + altitude_m + ar1(rng, n, 600.0, 1.0) + rng.normal(0.0, 0.1, n)
    return np.round(reading / 0.2) * 0.2


def grade_from_altitude(altitude_m: NDArray[np.float64], distance_m: NDArray[np.float64],
                        half_window_s: int = 10, min_distance_m: float = 10.0
                        ) -> NDArray[np.float64]:
    """Grade per second from 1-Hz altitude and distance: the rise over the distance of a
    centred window of ``2 * half_window_s`` seconds; NaN where less than
    ``min_distance_m`` was covered (standing, or the session's ends)."""
    n = altitude_m.size
    h = half_window_s
    out = np.full(n, np.nan)
    if n <= 2 * h:
        return out
    rise = altitude_m[2 * h:] - altitude_m[: n - 2 * h]
    run = distance_m[2 * h:] - distance_m[: n - 2 * h]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[h: n - h] = np.where(run >= min_distance_m, rise / run, np.nan)
    return out
