"""Simulated studies: participants with several sessions, on several days.

:func:`simulate_participant` gives one person's sessions in memory, each on a day of its
own (HR_rest within +-3 bpm of theirs, a drift from none to heat's; see
:func:`~dosewatch.simulate.options.random_day`): what a per-participant calibration
learns from (their sessions with heart rate) and is applied to (their sessions without).
A study plan is a list of :class:`PlannedSession`;
:func:`dosewatch.simulate.folders.simulate_study` writes one to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import numpy as np

from ..config import Config
from .options import Options, random_day
from .people import Person
from .sessions import SimulatedSession, simulate

STUDY_START = date(2026, 9, 7)
"""The Monday the demo study starts (ISO week 2026-W37)."""
DOSE_PROTOCOLS = ("bout_30plus", "steady_intermediate", "steady_then_ramp")
"""Protocols whose simulated sessions always hold a bout that meets the dose."""
SHORT_PROTOCOLS = ("bout_just_short", "steady_light", "walk_then_run", "rest_only")
"""Protocols whose simulated sessions never meet the dose."""


@dataclass(frozen=True)
class PlannedSession:
    """One session of a simulated study.

    Attributes:
        participant: the participant (also the name of the folder holding the session).
        start: when it starts (UTC); None writes a session without a start time.
        protocol: a key of :data:`dosewatch.simulate.ALL_PROTOCOLS`.
        modality: the streams of this session; None: the study's.
    """

    participant: str
    start: datetime | None
    protocol: str
    modality: str | None = None


def _at(day: date, hour: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def demo_study_plan(first_monday: date = STUDY_START) -> list[PlannedSession]:
    """Four participants over six weeks, each showing one pattern of adherence:

    - P01 meets the dose on 3 days every week (one week 4): six weeks in a row, target met;
    - P02 starts with three good weeks, then fades to one dose a week;
    - P03 is away in week 3 (no session at all), which breaks the run;
    - P04 exercises often but mostly falls short of 30 minutes; in week 3 two doses fall on
      one day (3 dose sessions, 2 dose days: the week is met when sessions are counted, as
      by default, and not with ``count_same_day_once``); one recording has no start time
      (undated).
    """
    plan: list[PlannedSession] = []

    def add(participant: str, week: int, weekday: int, hour: float, protocol: str) -> None:
        day = first_monday + timedelta(weeks=week, days=weekday)
        plan.append(PlannedSession(participant, _at(day, hour), protocol))

    dose = DOSE_PROTOCOLS
    for week in range(6):
        for k, weekday in enumerate((0, 2, 4) if week != 2 else (0, 2, 4, 5)):
            add("P01", week, weekday, 7.5, dose[(week + k) % 3])
        if week in (1, 4):
            add("P01", week, 6, 10.0, "steady_light")
        doses_p02 = (3, 3, 3, 2, 1, 1)[week]
        for k in range(doses_p02):
            add("P02", week, (1, 3, 5)[k], 18.0, dose[(week + k + 1) % 3])
        if week == 4:
            add("P02", week, 6, 11.0, "steady_light")
        if week != 2:
            for k, weekday in enumerate((0, 3, 5)):
                add("P03", week, weekday, 12.25, dose[(week + k + 2) % 3])
        doses_p04 = (1, 2, 0, 1, 2, 1)[week]
        for k in range(doses_p04):
            add("P04", week, (1, 4)[k], 17.5, dose[(week + k) % 3])
        add("P04", week, 3, 17.5, SHORT_PROTOCOLS[week % 4])
    # Week 3 for P04: two doses on Wednesday (morning and evening) and one on Friday.
    add("P04", 2, 2, 7.0, "bout_30plus")
    add("P04", 2, 2, 19.0, "steady_intermediate")
    add("P04", 2, 4, 19.0, "steady_then_ramp")
    plan.append(PlannedSession("P04", None, "bout_30plus"))
    return plan


def random_study_plan(
    participants: int, weeks: int, sessions: int, *, seed: int = 0,
    first_monday: date = STUDY_START,
) -> list[PlannedSession]:
    """``sessions`` sessions spread over ``participants`` participants (as evenly as
    possible) on random days of ``weeks`` weeks, at most one a day per participant; each
    participant meets the dose in a random share (30–100 %) of their sessions."""
    rng = np.random.default_rng(seed)
    per = [sessions // participants + (j < sessions % participants) for j in range(participants)]
    if max(per) > 7 * weeks:
        raise ValueError(f"{max(per)} sessions do not fit into {weeks} weeks at one a day")
    plan = []
    for j, n in enumerate(per):
        keen = rng.uniform(0.3, 1.0)
        days = np.sort(rng.choice(7 * weeks, size=n, replace=False))
        for d in days.tolist():
            hour = 6 + round(float(rng.uniform(0, 14)) * 12) / 12
            pool = DOSE_PROTOCOLS if rng.random() < keen else SHORT_PROTOCOLS
            protocol = pool[int(rng.integers(len(pool)))]
            plan.append(PlannedSession(f"P{j + 1:02d}", _at(first_monday + timedelta(days=d),
                                                            hour), protocol))
    return plan


def session_seed(seed: int, k: int) -> int:
    """The seed of a participant's ``k``-th session, from theirs (independent streams)."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def day_options(base: Options | None, seed: int, k: int) -> Options:
    """``base`` on the ``k``-th day: :func:`random_day`'s HR_rest shift, and its drift
    unless ``base`` sets one."""
    base = base or Options()
    day = random_day(np.random.default_rng([seed, k, 7]))
    drift = day.drift_bpm_per_min if base.drift_bpm_per_min is None else base.drift_bpm_per_min
    return replace(base, hr_rest_shift_bpm=day.hr_rest_shift_bpm, drift_bpm_per_min=drift)


def simulate_participant(
    person: Person,
    sessions: Sequence[tuple[str, str]],
    *,
    seed: int = 0,
    placement: str = "wrist",
    acc_fs: float = 25.0,
    profile: str = "full",
    options: Options | None = None,
    day_variation: bool = True,
    config: Config | None = None,
) -> list[SimulatedSession]:
    """One person's sessions, ``(protocol, modality)`` each, named
    ``{person.id}-{k:02d}-{protocol}-{modality}``. With ``day_variation`` every session
    is on a day of its own (:func:`day_options`); the person (HR_max, fitness, gait, the
    profile's HR_rest) is the same in all of them."""
    out = []
    for k, (protocol, modality) in enumerate(sessions):
        day = day_options(options, seed, k) if day_variation else options
        name = f"{person.id}-{k:02d}-{protocol}-{modality}".replace("+", "plus")
        out.append(simulate(protocol, person, placement=placement, acc_fs=acc_fs,
                            modality=modality, profile=profile, seed=session_seed(seed, k),
                            config=config, name=name, options=day))
    return out
