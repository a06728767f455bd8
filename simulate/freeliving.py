"""A free-living recording: days of sleep, sitting, errands and exercise as a wrist band
records them, with the band taken off now and then, and the truth of what happened.

Each day is made from its own plan of :class:`Event` s: sleep until waking, then sitting
(45-120 minutes at a time) with short errands on foot (2-8 minutes at 28 %HRR: walking to
the shop is not an exercise session), and at set times

- ``run``: 5 minutes standing (5 %HRR), a run at 50 %HRR (intermediate), a 10-minute
  walk home at 25 %HRR (light); the exercise session is the run and the walk home;
- ``walk``: a brisk walk at 32 %HRR (light exercise, a session that cannot meet the dose);
- ``off``: the band taken off (charging, a shower, or the whole night): the acceleration
  of a band lying still (gravity in a fixed orientation, the sensor's noise and
  resolution) and no heart rate.

The streams are made a day at a time (:func:`simulate_days` yields them, so a week at
100 Hz never has to sit in memory whole); :class:`FreeLivingTruth` holds what a reader of
the recording should find: each exercise session's span, and whether its true intensity
meets the dose (by the independent :mod:`~dosewatch.simulate.oracle`), and the non-wear.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from . import oracle
from .acceleration import synth_acceleration
from .heart import synth_heart_rate
from .people import Person, random_person
from .workload import Segment, build_workload, cadence_spm

DAY_S = 86_400
SENSOR_NOISE_G = 0.008  # the simulator's accelerometer noise (see .acceleration)
RESOLUTION_G = 1.0 / 512.0


@dataclass(frozen=True)
class Event:
    """Something planned at a clock time: ``kind`` (``run``, ``walk`` or ``off``) at
    ``hour`` (0-24, local to the recording's clock) for ``minutes``."""

    kind: str
    hour: float
    minutes: float


WEEK_PLAN: dict[int, tuple[Event, ...]] = {
    0: (Event("run", 7.5, 40), Event("off", 20.0, 100)),
    1: (Event("walk", 12.5, 25), Event("off", 19.0, 15)),
    2: (Event("off", 0.0, 7 * 60), Event("run", 18.0, 35)),
    3: (),
    4: (Event("run", 7.25, 45), Event("off", 21.0, 90)),
    5: (Event("run", 10.0, 33),),
    6: (Event("run", 17.5, 24),),
}
"""A week: four runs that meet the dose (40, 35, 45 and 33 minutes), one that falls short
(24), a brisk walk, two evenings on the charger, a shower, and one night without the band."""


@dataclass(frozen=True)
class TrueSession:
    """An exercise session the recording holds: ``[start_s, end_s)`` from the start of the
    recording, its kind, and whether its true intensity meets the dose."""

    kind: str
    start_s: float
    end_s: float
    dose_met: bool


@dataclass(frozen=True, eq=False)
class FreeLivingTruth:
    """What happened during a simulated free-living recording.

    Attributes:
        person: who wore the band.
        start: the recording's start (UTC).
        days: its length in days.
        sessions: the exercise sessions, in order.
        nonwear: ``(start_s, end_s)`` of each time the band was off.
        intensity: the true %HRR of each second.
    """

    person: Person
    start: datetime
    days: int
    sessions: tuple[TrueSession, ...]
    nonwear: tuple[tuple[float, float], ...]
    intensity: NDArray[np.float64] = field(repr=False)


@dataclass(frozen=True, eq=False)
class Day:
    """One day's streams (times in Unix seconds): heart rate ``(t, bpm)`` and
    acceleration ``(t, xyz)`` in g."""

    index: int
    hr: tuple[NDArray[np.float64], NDArray[np.float64]]
    acc: tuple[NDArray[np.float64], NDArray[np.float32]]


def _day_segments(events: Sequence[Event], rng: np.random.Generator
                  ) -> tuple[list[Segment], list[tuple[str, int, int]]]:
    """A day's segments, and the ``(kind, start_s, end_s)`` of its runs, walks and
    non-wear within the day."""
    segs: list[Segment] = []
    marks: list[tuple[str, int, int]] = []
    now = 0

    def add(seconds: int, intensity: float, mode: str) -> None:
        nonlocal now
        if seconds > 0:
            segs.append(Segment(seconds, intensity, mode=mode))
            now += seconds

    def fill_until(until: int) -> None:
        """Sitting with errands, ending on at least 10 minutes of sitting."""
        while until - now > 0:
            sit = int(rng.integers(45, 121)) * 60
            errand = int(rng.integers(2, 9)) * 60
            if until - now < sit + errand + 10 * 60:
                add(until - now, 6.0, "rest")
                return
            add(sit, 6.0, "rest")
            add(errand, 28.0, "walk")

    wake = int(rng.uniform(6.4, 6.9) * 3600)
    plan = sorted(events, key=lambda e: e.hour)
    night_off = next((e for e in plan if e.kind == "off" and e.hour == 0.0), None)
    if night_off is None:
        add(wake, 2.0, "rest")  # asleep
    for event in plan:
        at, length = int(event.hour * 3600), int(event.minutes * 60)
        if event is night_off:
            marks.append(("off", 0, length))
            add(length, 2.0, "rest")  # asleep, the band on its charger
            continue
        if event.kind == "run":
            fill_until(at - 5 * 60)
            add(5 * 60, 5.0, "rest")
            start = now
            add(length, 50.0, "run")
            add(10 * 60, 25.0, "walk")
            marks.append(("run", start, now))
        elif event.kind == "walk":
            fill_until(at)
            start = now
            add(length, 32.0, "walk")
            marks.append(("walk", start, now))
        elif event.kind == "off":
            fill_until(at)
            marks.append(("off", now, now + length))
            add(length, 5.0, "rest")
        else:
            raise ValueError(f"unknown event kind {event.kind!r}")
    bedtime = int(rng.uniform(22.5, 23.2) * 3600)
    fill_until(max(bedtime, now))
    add(DAY_S - now, 2.0, "rest")
    if now != DAY_S:
        raise ValueError("a day's events do not fit into the day")
    return segs, marks


def _band_off(t: NDArray[np.float64], xyz: NDArray[np.float32], spans: list[tuple[int, int]],
              rng: np.random.Generator) -> None:
    """The acceleration of a band lying still in ``spans`` (seconds of the day): gravity
    in a random orientation, the sensor's noise and resolution. In place."""
    for a, b in spans:
        i, j = np.searchsorted(t, [a, b])
        up = rng.normal(size=3)
        up /= np.linalg.norm(up)
        lying = up + rng.normal(0.0, SENSOR_NOISE_G, (j - i, 3))
        xyz[i:j] = np.round(lying / RESOLUTION_G) * RESOLUTION_G


def simulate_days(plan: Mapping[int, Sequence[Event]], days: int, seed: int,
                  start: datetime, acc_fs: float = 100.0, person: Person | None = None
                  ) -> tuple[FreeLivingTruth, Iterator[Day]]:
    """The truth of a free-living recording, and an iterator over its days' streams.

    Args:
        plan: events per day index (days without an entry hold none).
        days: how many days.
        seed: the random seed (person, days, sensors).
        start: the recording's start (a midnight, UTC).
        acc_fs: the accelerometer's rate.
        person: who wears the band (default: a random person of ``seed``).

    The truth is complete before the first day is made (the plan decides it); the
    iterator makes each day's samples when asked.
    """
    rng = np.random.default_rng(seed)
    person = person or random_person(rng, id="freeliving")
    t0 = start.timestamp()
    day_plans = []
    sessions: list[TrueSession] = []
    nonwear: list[tuple[float, float]] = []
    intensity = []
    for day in range(days):
        segs, marks = _day_segments(plan.get(day, ()), rng)
        work = build_workload(segs, person)
        day_plans.append((work, [(a, b) for kind, a, b in marks if kind == "off"]))
        intensity.append(work.intensity)
        base = day * DAY_S
        for kind, a, b in marks:
            if kind == "off":
                nonwear.append((float(base + a), float(base + b)))
            else:
                dose = oracle.reference(work.intensity[a:b]).dose_met
                sessions.append(TrueSession(kind, float(base + a), float(base + b), dose))
    truth = FreeLivingTruth(person=person, start=start, days=days, sessions=tuple(sessions),
                            nonwear=tuple(nonwear), intensity=np.concatenate(intensity))

    def make() -> Iterator[Day]:
        acc_clock = 0.0
        for day, (work, off) in enumerate(day_plans):
            day_rng = np.random.default_rng([seed, day])
            cadence = cadence_spm(work.gait, work.speed_mps, person)
            t_hr, bpm, _ = synth_heart_rate(work.intensity, cadence, person, "wrist", day_rng)
            t_acc, xyz = synth_acceleration(work.gait, work.speed_mps, person, "wrist",
                                            acc_fs, day_rng)
            _band_off(t_acc, xyz, off, day_rng)
            worn = np.ones(t_hr.size, dtype=bool)
            for a, b in off:
                worn &= (t_hr < a) | (t_hr >= b)
            # The band's clock runs on from where the last day ended (a few ppm off);
            # heart rate keeps the day's own seconds.
            yield Day(day, hr=(t_hr[worn] + day * DAY_S + t0, bpm[worn]),
                      acc=(t_acc + acc_clock + t0, xyz))
            acc_clock += float(t_acc[-1]) + (t_acc[-1] - t_acc[0]) / (t_acc.size - 1)

    return truth, make()

