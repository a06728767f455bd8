"""What a simulated session can be asked for: placements, modalities, profiles and rates;
the :class:`Options` that widen a session beyond a protocol's defaults; and the checks
that refuse anything else with the allowed values named.

Every option's default leaves a session exactly as the protocol makes it, and each
option draws from a random stream of its own, so a seed keeps its meaning when an option
is added or removed (only what the option changes, changes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLACEMENTS = ("wrist", "chest")
MODALITIES = ("hr+acc", "hr", "acc", "hr+speed", "speed")
"""The streams a session holds. ``hr+acc``, ``hr`` and ``acc``: heart rate and/or
acceleration, plus the workload channels (speed; power and cadence on a bike; altitude
outdoors) whenever the protocol moves. ``hr+speed``: heart rate and the workload channels
for the whole session, no acceleration (a watch export). ``speed``: the workload channels
alone."""
PROFILES = ("full", "age", "none")
ACC_FS_RANGE = (25.0, 200.0)
PACINGS = ("effort", "speed")
HEAT_TIME_CONSTANT_MIN = 180.0
"""Time constant of a drift asked for by rate: nearly linear over a session, as in heat."""


def check_allowed(kind: str, value: object, allowed: tuple[str, ...]) -> None:
    """Refuse ``value`` unless it is one of ``allowed``, naming them."""
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; expected one of: {', '.join(allowed)}")


def check_placement(placement: str) -> None:
    """Refuse a placement other than ``wrist`` or ``chest``."""
    check_allowed("placement", placement, PLACEMENTS)


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be from {lo:g} to {hi:g}, got {value!r}")


@dataclass(frozen=True)
class Outdoor:
    """Taking a treadmill protocol's walks and runs outdoors (see
    :mod:`~dosewatch.simulate.outdoor`).

    Attributes:
        hills: steepest grade of the rolling hills, a fraction (0.04 = 4 %; 0: flat).
        hill_length_m: the range of the hills' half-wavelengths, valley to top (m).
        pacing: ``effort`` (the effort the protocol asks for is held; speed falls uphill
            and rises downhill) or ``speed`` (the protocol's flat-ground speed is held;
            the effort, and so the true intensity, rises uphill).
        max_effort_swing: with ``speed`` pacing, hills are flattened so that the true
            intensity moves at most this much (%HRR) from the protocol's; None: as steep
            as ``hills`` says.
        stops_per_hour: stops at crossings per hour of walking or running (10-60 s each,
            standing); 0: none.
    """

    hills: float = 0.04
    hill_length_m: tuple[float, float] = (150.0, 600.0)
    pacing: str = "effort"
    max_effort_swing: float | None = None
    stops_per_hour: float = 0.0

    def __post_init__(self) -> None:
        _check_range("hills", self.hills, 0.0, 0.15)
        lo, hi = self.hill_length_m
        if not 20.0 <= lo <= hi:
            raise ValueError(f"hill_length_m must be (lo, hi) with 20 <= lo <= hi, got "
                             f"{self.hill_length_m!r}")
        check_allowed("pacing", self.pacing, PACINGS)
        if self.max_effort_swing is not None:
            _check_range("max_effort_swing", self.max_effort_swing, 0.0, 50.0)
        _check_range("stops_per_hour", self.stops_per_hour, 0.0, 60.0)


@dataclass(frozen=True)
class Options:
    """What a session adds to its protocol. The defaults change nothing.

    Attributes:
        drift_bpm_per_min: cardiac drift at a steady 60 %HRR, bpm per minute, from 0 to 2.
            None: the person's own (0.1-0.3, levelling off with a 45-min time constant:
            2-10 bpm over 40 min), or the conditions' for a protocol that sets them
            (``outdoor_run``). A number: that rate, held nearly linearly (3-h time
            constant) as in heat or dehydration; 1 bpm/min at a constant workload reads as
            about 0.8 %HRR/min, above the accelerating threshold.
        hr_rest_shift_bpm: the day's HR_rest minus the person's (+-15): heart rate sits
            this much higher at rest (less at high intensity); the profile keeps the
            person's own value, as a profile would.
        outdoor: take the protocol's walks and runs outdoors (hills, pacing, stops);
            None: on the treadmill. Not for protocols that are outdoors or on a bike.
        gps: the speed channel as a GPS watch reports it (noise, spikes, dropouts).
            None: when the session is outdoors; False: the exact speed even outdoors.
        incline: on a treadmill, a ``grade`` stream of its incline as an FTMS treadmill
            reports it (0.1 % steps); by default a treadmill session has speed alone, as
            a footpod gives. Outdoors the session has ``altitude`` (the grade follows
            from it); on a bike neither.
        workload_channels: False leaves out speed, power, cadence, altitude and grade (a
            chest strap or band alone: no footpod, GPS or power meter).
    """

    drift_bpm_per_min: float | None = None
    hr_rest_shift_bpm: float = 0.0
    outdoor: Outdoor | None = None
    gps: bool | None = None
    incline: bool = False
    workload_channels: bool = True

    def __post_init__(self) -> None:
        if self.drift_bpm_per_min is not None:
            _check_range("drift_bpm_per_min", self.drift_bpm_per_min, 0.0, 2.0)
        _check_range("hr_rest_shift_bpm", self.hr_rest_shift_bpm, -15.0, 15.0)
        if self.outdoor is not None and not isinstance(self.outdoor, Outdoor):
            raise ValueError(f"outdoor must be an Outdoor or None, got {self.outdoor!r}")


def random_day(rng: np.random.Generator, *, heat_chance: float = 0.3) -> Options:
    """The conditions of one day for a participant who is simulated on several: HR_rest
    within +-3 bpm of their own, and a cardiac drift of 0-0.3 bpm/min, or in heat or
    dehydration (``heat_chance`` of days) 0.3-1.0 bpm/min."""
    shift = round(float(rng.uniform(-3.0, 3.0)), 2)
    hot = rng.random() < heat_chance
    drift = float(rng.uniform(0.3, 1.0) if hot else rng.uniform(0.0, 0.3))
    return Options(drift_bpm_per_min=round(drift, 3), hr_rest_shift_bpm=shift)
