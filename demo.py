"""``dosewatch simulate`` and ``dosewatch demo``: simulated sessions with known truth,
written in the interchange layout and analysed like any researcher's folder."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from .outputs import atomic_write_text, to_json

STUDY_START = date(2026, 9, 7)
"""The Monday the demo study starts (ISO week 2026-W37)."""
DOSE_PROTOCOLS = ("bout_30plus", "steady_intermediate", "steady_then_ramp")
"""Protocols whose simulated sessions always hold a bout that meets the dose."""
SHORT_PROTOCOLS = ("bout_just_short", "steady_light", "walk_then_run", "rest_only")
"""Protocols whose simulated sessions never meet the dose."""


def simulate_to_folders(
    out: Path,
    *,
    protocols: Sequence[str] | None = None,
    placements: Sequence[str] | None = None,
    modality: str = "hr+acc",
    profile: str = "full",
    acc_fs: float = 50.0,
    seed: int = 0,
    count: int = 1,
    fmt: str = "csv",
    first_id: int = 0,
) -> list[Path]:
    """Simulate ``count`` sessions per protocol and placement, each from a different
    simulated person (``p<first_id>``, ``p<first_id + 1>``, ...), into session folders
    with their ``truth.json``."""
    from .ingest import write_session_folder
    from .simulate import PROTOCOLS, random_person, simulate

    protocols = list(protocols or PROTOCOLS)
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        from .errors import ConfigError

        raise ConfigError(f"unknown protocol {unknown[0]!r}",
                          hint="choose from: " + ", ".join(PROTOCOLS))
    placements = list(placements or ["wrist"])
    rng = np.random.default_rng(seed)
    out = Path(out)
    written = []
    k = 0
    for protocol in protocols:
        for placement in placements:
            for _ in range(count):
                person = random_person(rng, id=f"p{first_id + k:03d}")
                sim = simulate(
                    protocol, person, placement=placement, acc_fs=acc_fs, modality=modality,
                    profile=profile, seed=int(rng.integers(2**31)),
                )
                folder = write_session_folder(sim.session, out / sim.session.name, format=fmt,
                                              overwrite=True)
                atomic_write_text(folder / "truth.json", to_json(sim.truth.as_dict()))
                written.append(folder)
                k += 1
    return written


def run_demo(out: Path, seed: int = 2026, workers: int = 1) -> int:
    """Simulate one session per protocol (wrist and chest alternating), analyse them
    and print truth against findings; then simulate and analyse a small study
    (:func:`run_study_demo`) and write its report, whose path is printed last."""
    from .batch import run_batch
    from .simulate import PROTOCOLS

    out = Path(out)
    sessions_dir, results_dir = out / "sessions", out / "results"
    print(f"Simulating one session per protocol into {sessions_dir} ...")
    folders = []
    for i, protocol in enumerate(PROTOCOLS):
        placement = "wrist" if i % 2 == 0 else "chest"
        folders += simulate_to_folders(sessions_dir, protocols=[protocol], placements=[placement],
                                       seed=seed + i, fmt="csv.gz", first_id=i + 1)
    print(f"Analysing {len(folders)} sessions into {results_dir} ...")
    report = run_batch(folders, results_dir, workers=workers)
    by_output = {Path(r.output).name: r for r in report.rows}

    header = ("session", "placement", "true class", "found class", "true dose", "found dose",
              "bout min (true/found)")
    rows = []
    agree_class = agree_dose = 0
    for folder in folders:
        truth = json.loads((folder / "truth.json").read_text())
        found = by_output.get(folder.name)
        true_bout = max((b["qualifying_minutes"] for b in truth["bouts"]), default=0)
        if found is None:
            rows.append((folder.name, truth["placement"], truth["session_class"], "FAILED",
                         _yes(truth["dose_met"]), "-", f"{true_bout:.0f}/-"))
            continue
        agree_class += found.session_class == truth["session_class"]
        agree_dose += found.dose_met == bool(truth["dose_met"])
        rows.append((
            truth["protocol"], truth["placement"], truth["session_class"],
            found.session_class, _yes(truth["dose_met"]), _yes(found.dose_met),
            f"{true_bout:.0f}/{found.longest_bout_qualifying_minutes:.0f}",
        ))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*r))
    n = len(folders)
    print(f"\nclass agrees {agree_class}/{n}, dose flag agrees {agree_dose}/{n}")
    print(f"pictures: {results_dir}/<session>/session.png   table: {results_dir / 'sessions.csv'}")
    if report.failures:
        print(f"{len(report.failures)} sessions failed: see {results_dir / 'failures.json'}")
    _, study_failures = run_study_demo(out, seed=seed, workers=workers)
    return 1 if report.failures or study_failures else 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# ---------------------------------------------------------------------------------------
# A simulated study: participants, dated sessions over several weeks


@dataclass(frozen=True)
class PlannedSession:
    """One session of a simulated study.

    Attributes:
        participant: the participant (also the name of the folder holding the session).
        start: when it starts (UTC); None writes a session without a start time.
        protocol: a key of :data:`dosewatch.simulate.PROTOCOLS`.
    """

    participant: str
    start: datetime | None
    protocol: str


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


def simulate_study(
    out: Path,
    plan: Sequence[PlannedSession],
    *,
    seed: int = 0,
    placement: str = "chest",
    modality: str = "hr+acc",
    acc_fs: float = 25.0,
    fmt: str = "parquet",
) -> list[Path]:
    """Write the sessions of ``plan`` as ``out/<participant>/<start>/`` session folders
    (``undated-<n>`` without a start time), each with its ``truth.json``. Every
    participant is one simulated person (the same heart-rate reserve and gait in all
    their sessions); times are written as Unix-epoch seconds so that the start time
    travels with the data."""
    from .ingest import write_session_folder
    from .simulate import random_person, simulate

    out = Path(out)
    names = sorted({s.participant for s in plan})
    people = {name: random_person(np.random.default_rng([seed, i]), id=name)
              for i, name in enumerate(names)}
    written = []
    for k, planned in enumerate(plan):
        if planned.start is not None:
            folder_name = planned.start.strftime("%Y-%m-%dT%H%M")
        else:
            folder_name = f"undated-{k}"
        sim = simulate(planned.protocol, people[planned.participant], placement=placement,
                       acc_fs=acc_fs, modality=modality, seed=seed * 100_003 + k,
                       name=folder_name)
        session = sim.session
        if planned.start is not None:
            session = replace(session,
                              provenance=replace(session.provenance, start_time=planned.start))
        folder = write_session_folder(session, out / planned.participant / folder_name,
                                      format=fmt, overwrite=True)
        atomic_write_text(folder / "truth.json", to_json(sim.truth.as_dict()))
        written.append(folder)
    return written


def run_study_demo(
    out: Path, seed: int = 2026, workers: int = 1, classifier: str | None = None
) -> tuple[Path, int]:
    """Simulate the demo study (:func:`demo_study_plan`), analyse it (with the default
    classifier unless ``classifier`` is given), print each participant's adherence and
    write the study report. Returns the report's path and the number of failed inputs."""
    from .batch import run_batch
    from .report import write_report

    out = Path(out)
    inputs, results = out / "study", out / "study-results"
    plan = demo_study_plan()
    weeks = len({s.start.isocalendar()[:2] for s in plan if s.start is not None})
    people = sorted({s.participant for s in plan})
    print(f"\nSimulating a study: {len(people)} participants over {weeks} weeks, "
          f"{len(plan)} sessions, into {inputs} ...")
    folders = simulate_study(inputs, plan, seed=seed)
    print(f"Analysing them into {results} ...")
    options = {} if classifier is None else {"classifier": classifier}
    batch = run_batch(folders, results, workers=workers, **options)
    report = write_report(results, title="dosewatch demo: a simulated study")
    with (results / "participants.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))  # the numbers the report shows, as written
    header = ("participant", "sessions", "undated", "dose sessions", "weeks met",
              "longest run", "target")
    table = [(r["participant"], r["sessions"], r["undated_sessions"], r["dose_sessions"],
              f"{r['weeks_met']}/{r['weeks']}", f"{r['longest_streak_weeks']} weeks",
              f"{r['target_weeks']} weeks: " + ("met" if r["target_met"] == "True" else "not met"))
             for r in rows]
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for r in table:
        print(line.format(*r))
    print(f"\nadherence: {results / 'adherence.csv'}   participants: "
          f"{results / 'participants.csv'}")
    if batch.failures:
        print(f"{len(batch.failures)} sessions failed: see {results / 'failures.json'}")
    print(f"Study report: {report}")
    return report, len(batch.failures)
