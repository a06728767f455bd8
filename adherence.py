"""Weekly adherence: how close each participant comes to the exercise-for-mood dose.

Reviews of exercise against low mood recommend 3–4 sessions a week of 30–60 minutes for at
least 6 weeks. dosewatch counts, per participant and ISO week, the sessions in which the
30-minute dose was met, and whether the week reached the recommended number; then, per
participant, the longest run of consecutive weeks that did, against the 6-week target.

Everything here is read from the typed session rows (:class:`~dosewatch.rows.SessionRow`,
the rows of ``sessions.csv``): each session's participant, start time, ``dose_met`` and
``minutes_at_or_above_intermediate`` are taken as the analysis wrote them, never
recomputed.

The rules, and where they need a choice:

- A session belongs to the ISO week (Monday to Sunday) of its start time, read in the
  study's time zone (``[adherence] timezone``, e.g. ``"Europe/Berlin"``) or, when none is
  set, in the zone the start time carries: UTC for most watch exports and recordings, so
  a late-evening session west of Greenwich lands on the next day unless the zone is set.
- A session that is a copy of another (``duplicate_of`` in ``sessions.csv``: the same
  participant, start and samples, e.g. a ``.tcx`` and its ``.tcx.gz``; see
  :mod:`dosewatch.duplicates`) is not counted again: the activity counts once, in every
  column; so is a copy of a session an earlier run analysed (its ``duplicate_of`` names
  that session's folder), which counts in that run's tables. ``participants.csv`` says
  how many copies were left out (``copies``).
- Sessions without a start time cannot be placed in a week: they are left out of the
  weekly table and counted and named per participant (``undated_sessions``, ``undated``).
- A participant's weeks run from the week of their first dated session to the week of
  their last; a week in between without any session is a week that did not meet the
  recommendation (it appears in the table with zeros).
- A dated session more than :data:`APART_DAYS` (a year) from all the participant's other
  sessions is a wrong clock far more often than a study that long (review 2026-11-25c,
  item 3: one file dated 2000 stretched a participant over 940 weeks). Such a session is
  *set apart*: counted and named per participant (``apart_sessions``, ``apart``) and in
  the report, in no week. Groups of sessions (a baseline and a follow-up a year later) are
  kept; when every session of a participant is alone, the latest one is kept.
- A week meets the recommendation when its sessions with the dose met reach
  ``dose_sessions_per_week`` (the issue's and the guidelines' wording: sessions). The
  weekly table also gives ``dose_days``: a study that wants two doses on one calendar day
  to count once sets ``count_same_day_once = true`` in ``[adherence]``.
- A streak is a run of consecutive ISO weeks that each met the recommendation (the year
  turn is no break: 2026-W53 is followed by 2027-W01). The longest streak is compared with
  ``target_weeks``.

Outputs (next to ``sessions.csv``): ``adherence.csv`` / ``adherence.parquet`` (one row per
participant and week) and ``participants.csv`` / ``participants.parquet`` (one row per
participant). Column meanings are in :data:`WEEKLY_COLUMNS` and :data:`PARTICIPANT_COLUMNS`.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from .config import AdherenceConfig, Config
from .outputs import atomic_write_text
from .rows import SessionRow, read_rows, spreadsheet_safe

_DEFAULTS = AdherenceConfig()  # the defaults live in one place: config.py
UNASSIGNED = "unassigned"
"""The participant name of sessions whose participant is unknown."""

WEEKLY_COLUMNS: dict[str, str] = {
    "participant": "participant identifier",
    "week": "ISO week, e.g. 2026-W37",
    "iso_year": "ISO year of the week (differs from the calendar year around New Year)",
    "iso_week": "ISO week number, 1–53",
    "week_start": "the week's Monday (ISO date)",
    "sessions": "dated sessions that started in the week",
    "dose_sessions": "of those, sessions in which the dose was met",
    "dose_days": "distinct days with a session that met the dose",
    "minutes_at_or_above_intermediate": "minutes at intermediate or vigorous intensity, "
                                        "summed over the week's sessions (empty if unknown)",
    "week_met": "the week reached the recommended dose sessions (see the module text)",
}
"""Columns of ``adherence.csv`` and their meaning."""

PARTICIPANT_COLUMNS: dict[str, str] = {
    "participant": "participant identifier",
    "sessions": "all analysed sessions of the participant, copies of another left out",
    "copies": "sessions that are copies of another (duplicate_of): not counted",
    "dated_sessions": "sessions with a start time (in the weekly table)",
    "undated_sessions": "sessions without a start time (not in the weekly table)",
    "apart_sessions": "dated sessions more than a year from the participant's others (a "
                      "wrong clock, most often): not in the weekly table",
    "dose_sessions": "dated sessions in which the dose was met",
    "first_week": "ISO week of the first dated session",
    "last_week": "ISO week of the last dated session",
    "weeks": "weeks from first_week to last_week, inclusive",
    "weeks_met": "weeks that reached the recommended dose sessions",
    "longest_streak_weeks": "longest run of consecutive weeks that each met it",
    "longest_streak_from": "first week of that run (the earliest, on a tie)",
    "longest_streak_to": "last week of that run",
    "target_weeks": "the run the recommendation asks for",
    "target_met": "longest_streak_weeks >= target_weeks",
    "undated": "names of the undated sessions, separated by ';' (a list in Parquet)",
    "apart": "names of the sessions set apart, separated by ';' (a list in Parquet)",
}
"""Columns of ``participants.csv`` and their meaning."""


@dataclass(frozen=True)
class AdherenceRules:
    """The thresholds of the adherence tables.

    Attributes:
        dose_sessions_per_week: dose days (or sessions) a week that meet the recommendation.
        target_weeks: consecutive weeks meeting it that the recommendation asks for.
        count_same_day_once: count dose *days* (True) or dose sessions (False).
        timezone: IANA zone in which days and weeks are read ("" = as recorded).
        naive_timezone: IANA zone the readers took times recorded without one in (read
            when the sessions were read; kept here so the rules are the configuration's).
    """

    dose_sessions_per_week: int = _DEFAULTS.dose_sessions_per_week
    target_weeks: int = _DEFAULTS.target_weeks
    count_same_day_once: bool = _DEFAULTS.count_same_day_once
    timezone: str = _DEFAULTS.timezone
    naive_timezone: str = _DEFAULTS.naive_timezone

    def __post_init__(self) -> None:
        if self.dose_sessions_per_week < 1 or self.target_weeks < 1:
            raise ValueError("dose_sessions_per_week and target_weeks must be at least 1")

    def local(self, start: datetime) -> datetime:
        """``start`` in the study's time zone (naive times are taken as UTC)."""
        if not self.timezone:
            return start
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start.astimezone(ZoneInfo(self.timezone))

    @classmethod
    def from_config(cls, config: Config | None) -> AdherenceRules:
        """The rules of a configuration's ``[adherence]`` section (defaults without one)."""
        return cls(**asdict((config or Config()).adherence))


@dataclass(frozen=True)
class WeekRow:
    """One participant's week (see :data:`WEEKLY_COLUMNS`)."""

    participant: str
    iso_year: int
    iso_week: int
    week_start: date
    sessions: int
    dose_sessions: int
    dose_days: int
    minutes_at_or_above_intermediate: float | None
    week_met: bool

    @property
    def week(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"


@dataclass(frozen=True)
class ParticipantRow:
    """One participant (see :data:`PARTICIPANT_COLUMNS`)."""

    participant: str
    sessions: int
    copies: int
    dated_sessions: int
    undated_sessions: int
    dose_sessions: int
    first_week: str | None
    last_week: str | None
    weeks: int
    weeks_met: int
    longest_streak_weeks: int
    longest_streak_from: str | None
    longest_streak_to: str | None
    target_weeks: int
    target_met: bool
    undated: tuple[str, ...]
    apart_sessions: int = 0
    apart: tuple[str, ...] = ()


@dataclass(frozen=True)
class Adherence:
    """The adherence tables of a set of sessions.

    Attributes:
        weeks: one row per participant and week, participants in order, weeks in order.
        participants: one row per participant, sorted by participant.
        rules: the thresholds used.
        session_weeks: the ISO week (``2026-W37``) of each input row, in the order the rows
            were given; None for an undated session.
    """

    weeks: tuple[WeekRow, ...]
    participants: tuple[ParticipantRow, ...]
    rules: AdherenceRules
    session_weeks: tuple[str | None, ...] = field(default=())

    def weeks_of(self, participant: str) -> list[WeekRow]:
        return [w for w in self.weeks if w.participant == participant]

    def weekly_columns(self) -> dict[str, list[object]]:
        """The weekly table as columns (the content of ``adherence.csv``)."""
        return {
            "participant": [w.participant for w in self.weeks],
            "week": [w.week for w in self.weeks],
            "iso_year": [w.iso_year for w in self.weeks],
            "iso_week": [w.iso_week for w in self.weeks],
            "week_start": [w.week_start for w in self.weeks],
            "sessions": [w.sessions for w in self.weeks],
            "dose_sessions": [w.dose_sessions for w in self.weeks],
            "dose_days": [w.dose_days for w in self.weeks],
            "minutes_at_or_above_intermediate": [
                w.minutes_at_or_above_intermediate for w in self.weeks
            ],
            "week_met": [w.week_met for w in self.weeks],
        }

    def participant_columns(self) -> dict[str, list[object]]:
        """The participants table as columns (the content of ``participants.csv``)."""
        return {name: [getattr(p, name) for p in self.participants]
                for name in PARTICIPANT_COLUMNS}


def _participant(row: SessionRow) -> str:
    return (row.participant or "").strip() or UNASSIGNED


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _longest_streak(weeks: Sequence[WeekRow]) -> tuple[int, str | None, str | None]:
    best, best_from, best_to = 0, None, None
    run = 0
    for i, week in enumerate(weeks):
        run = run + 1 if week.week_met else 0
        if run > best:
            best, best_from, best_to = run, weeks[i - run + 1].week, week.week
    return best, best_from, best_to


def _week_row(participant: str, monday: date, in_week: list[tuple[SessionRow, date]],
              rules: AdherenceRules) -> WeekRow:
    """One participant's week from its sessions (each with its local day)."""
    doses = [day for s, day in in_week if s.dose_met]
    dose_days = len(set(doses))
    minutes = [s.minutes_at_or_above_intermediate for s, _ in in_week]
    known = [m for m in minutes if m is not None]
    count = dose_days if rules.count_same_day_once else len(doses)
    year, number, _ = monday.isocalendar()
    return WeekRow(
        participant=participant,
        iso_year=year,
        iso_week=number,
        week_start=monday,
        sessions=len(in_week),
        dose_sessions=len(doses),
        dose_days=dose_days,
        minutes_at_or_above_intermediate=(
            float(sum(known)) if len(known) == len(minutes) else None
        ),
        week_met=count >= rules.dose_sessions_per_week,
    )


def _weeks(participant: str, dated: list[tuple[SessionRow, date]],
           rules: AdherenceRules) -> list[WeekRow]:
    """Every week from the participant's first dated session to the last, in order (a
    week without sessions too)."""
    if not dated:
        return []
    by_week: dict[date, list[tuple[SessionRow, date]]] = {}
    for s, day in dated:
        by_week.setdefault(_monday(day), []).append((s, day))
    weeks: list[WeekRow] = []
    monday, last = min(by_week), max(by_week)
    while monday <= last:
        weeks.append(_week_row(participant, monday, by_week.get(monday, []), rules))
        monday += timedelta(days=7)
    return weeks


APART_DAYS = 365
"""Days between a participant's dated sessions beyond which the smaller group is set
apart (see the module text)."""


def _set_apart(dated: list[tuple[SessionRow, date]]
               ) -> tuple[list[tuple[SessionRow, date]], list[tuple[SessionRow, date]]]:
    """``dated`` as (kept, set apart), each in the given order: split in groups where two
    sessions in a row (by day) lie more than :data:`APART_DAYS` apart, a session alone in
    its group is set apart, unless no group has two sessions: then the latest is kept (an
    unset clock shows an early date)."""
    if len(dated) < 2:
        return dated, []
    order = sorted(range(len(dated)), key=lambda i: dated[i][1])
    groups: list[list[int]] = [[order[0]]]
    for previous, i in zip(order, order[1:], strict=False):
        if (dated[i][1] - dated[previous][1]).days > APART_DAYS:
            groups.append([])
        groups[-1].append(i)
    if len(groups) == 1:
        return dated, []
    together = [i for group in groups if len(group) > 1 for i in group]
    keep = set(together or groups[-1])
    return ([d for i, d in enumerate(dated) if i in keep],
            [d for i, d in enumerate(dated) if i not in keep])


def _participant_row(participant: str, mine: list[SessionRow],
                     dated: list[tuple[SessionRow, date]], undated: tuple[str, ...],
                     weeks: list[WeekRow], rules: AdherenceRules, copies: int = 0,
                     apart: tuple[str, ...] = ()) -> ParticipantRow:
    """One participant's totals and longest streak of weeks that met the recommendation."""
    streak, streak_from, streak_to = _longest_streak(weeks)
    return ParticipantRow(
        participant=participant,
        sessions=len(mine),
        copies=copies,
        dated_sessions=len(dated),
        undated_sessions=len(undated),
        dose_sessions=sum(s.dose_met for s, _ in dated),
        first_week=weeks[0].week if weeks else None,
        last_week=weeks[-1].week if weeks else None,
        weeks=len(weeks),
        weeks_met=sum(w.week_met for w in weeks),
        longest_streak_weeks=streak,
        longest_streak_from=streak_from,
        longest_streak_to=streak_to,
        target_weeks=rules.target_weeks,
        target_met=streak >= rules.target_weeks,
        undated=undated,
        apart_sessions=len(apart),
        apart=apart,
    )


def compute_adherence(
    rows: Iterable[SessionRow],
    rules: AdherenceRules | None = None,
) -> Adherence:
    """The weekly and per-participant adherence tables of a set of analysed sessions.

    Args:
        rows: the sessions' rows (as ``run_batch`` returns them, or
            :func:`~dosewatch.rows.read_rows` reads them from an analysis folder). Rows
            that are copies of another (``duplicate_of``) are not counted.
        rules: thresholds (default :class:`AdherenceRules`).
    """
    rules = rules or AdherenceRules()
    sessions = list(rows)
    by_participant: dict[str, list[SessionRow]] = {}
    copies: Counter[str] = Counter()
    for s in sessions:
        by_participant.setdefault(_participant(s), [])
        if s.duplicate_of is None:
            by_participant[_participant(s)].append(s)
        else:
            copies[_participant(s)] += 1

    weeks_out: list[WeekRow] = []
    participants_out: list[ParticipantRow] = []
    for participant in sorted(by_participant):
        mine = by_participant[participant]
        dated = [(s, rules.local(s.start_time).date()) for s in mine
                 if s.start_time is not None]
        undated = tuple(s.session for s in mine if s.start_time is None)
        dated, far = _set_apart(dated)
        weeks = _weeks(participant, dated, rules)
        participants_out.append(_participant_row(participant, mine, dated, undated, weeks,
                                                 rules, copies[participant],
                                                 tuple(s.session for s, _ in far)))
        weeks_out.extend(weeks)
    session_weeks = tuple(
        None if s.start_time is None else _week_label(_monday(rules.local(s.start_time).date()))
        for s in sessions
    )
    return Adherence(tuple(weeks_out), tuple(participants_out), rules, session_weeks)


# ---------------------------------------------------------------------------------------
# Files


def format_cell(value: object) -> str:
    """How a value is written in the adherence CSVs (and shown in the report)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return ";".join(str(v) for v in value)
    return str(value)


def _csv_cell(value: object) -> str:
    """A cell of the adherence CSVs: text (participant ids and session names come from
    input files) is made safe for spreadsheets, see :func:`~dosewatch.rows.spreadsheet_safe`."""
    cell = format_cell(value)
    return spreadsheet_safe(cell) if isinstance(value, str | tuple | list) else cell


def _csv_text(columns: Mapping[str, Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    n = len(next(iter(columns.values()), []))
    for i in range(n):
        writer.writerow([_csv_cell(column[i]) for column in columns.values()])
    return buffer.getvalue()


_WEEKLY_TYPES = {
    "participant": pa.string(), "week": pa.string(), "iso_year": pa.int32(),
    "iso_week": pa.int32(), "week_start": pa.date32(), "sessions": pa.int32(),
    "dose_sessions": pa.int32(), "dose_days": pa.int32(),
    "minutes_at_or_above_intermediate": pa.float64(), "week_met": pa.bool_(),
}
_PARTICIPANT_TYPES = {
    "participant": pa.string(), "sessions": pa.int32(), "copies": pa.int32(),
    "dated_sessions": pa.int32(),
    "undated_sessions": pa.int32(), "dose_sessions": pa.int32(), "first_week": pa.string(),
    "last_week": pa.string(), "weeks": pa.int32(), "weeks_met": pa.int32(),
    "longest_streak_weeks": pa.int32(), "longest_streak_from": pa.string(),
    "longest_streak_to": pa.string(), "target_weeks": pa.int32(), "target_met": pa.bool_(),
    "undated": pa.list_(pa.string()), "apart_sessions": pa.int32(),
    "apart": pa.list_(pa.string()),
}


def _write_parquet(columns: Mapping[str, Sequence[object]], types: Mapping[str, pa.DataType],
                   path: Path) -> None:
    table = pa.table({name: pa.array([list(v) if isinstance(v, tuple) else v for v in values],
                                     type=types[name])
                      for name, values in columns.items()})
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_adherence(adherence: Adherence, out_dir: Path) -> dict[str, Path]:
    """Write ``adherence.csv``/``.parquet`` and ``participants.csv``/``.parquet`` into
    ``out_dir``, each atomically. Returns the paths by file name."""
    out_dir = Path(out_dir)
    weekly, people = adherence.weekly_columns(), adherence.participant_columns()
    paths = {name: out_dir / name for name in ("adherence.csv", "adherence.parquet",
                                               "participants.csv", "participants.parquet")}
    atomic_write_text(paths["adherence.csv"], _csv_text(weekly))
    _write_parquet(weekly, _WEEKLY_TYPES, paths["adherence.parquet"])
    atomic_write_text(paths["participants.csv"], _csv_text(people))
    _write_parquet(people, _PARTICIPANT_TYPES, paths["participants.parquet"])
    return paths


def adherence_for(out_dir: Path, rules: AdherenceRules | None = None) -> Adherence:
    """Read ``out_dir/sessions.csv``, compute the adherence tables and write them beside
    it. Returns what was written."""
    out_dir = Path(out_dir)
    adherence = compute_adherence(read_rows(out_dir), rules)
    write_adherence(adherence, out_dir)
    return adherence
