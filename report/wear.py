"""Wear time of the free-living recordings, per recording and per day, for the report.

``dosewatch analyze`` keeps what each free-living input held in
``recordings/<input>.json`` (:func:`dosewatch.freeliving.write_record`): its length, worn,
non-wear and no-data minutes, the non-wear and no-data periods, and the sessions found.
Wear-time validity is the first thing an accelerometer study reports (review 2026-11-25c,
item 5), so the report shows, per recording, those totals and the number of *valid days*,
and per calendar day the hours worn, not worn and without data.

A day is **valid** when at least :data:`VALID_DAY_WORN_H` hours of it were worn (the
usual criterion of accelerometer studies; ``dosewatch report --valid-day-hours H`` sets
another). Days are calendar days in the study's time zone (``[adherence] timezone``),
else in UTC; a recording without a start time is cut into 24-hour days from its start.
Its first and last days are partial and count as valid only when they reach the
threshold too.

Everything here is read from the recordings' files: per day, the hours are the minutes
of the non-wear and no-data periods that fall on that day, and the rest of the day the
recording covers is worn time (as the recording's own ``worn_minutes`` counts it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

VALID_DAY_WORN_H = 10.0
"""Hours a day must be worn to count as a valid day (``--valid-day-hours`` of the report)."""

RECORDINGS_DIR = "recordings"
"""Where the analysis writes one file per free-living input (see dosewatch.freeliving)."""


@dataclass(frozen=True)
class Day:
    """One calendar day of a recording (minutes the recording covers on that day)."""

    day: str
    """``YYYY-MM-DD`` (local), or ``day N`` for a recording without a start time."""
    covered_min: int
    worn_min: int
    nonwear_min: int
    no_data_min: int
    sessions: int

    def valid(self, worn_h: float) -> bool:
        """Whether the day was worn at least ``worn_h`` hours."""
        return self.worn_min >= worn_h * 60


@dataclass
class Wear:
    """One free-living recording's wear, as its ``recordings/<input>.json`` says."""

    file: str
    """The recording's file, relative to the analysis folder."""
    summary: dict
    """The recording's entry of that file."""
    days: list[Day] | None
    """Per calendar day; None when the file does not say where the no-data minutes are
    (written by an earlier dosewatch) and some minutes had no data."""
    note: str = ""

    @property
    def name(self) -> str:
        return str(self.summary.get("recording", ""))

    @property
    def start_time(self) -> datetime | None:
        """The recording's start (UTC when the file gives no zone), if known."""
        return _start(self.summary)

    def valid_days(self, worn_h: float) -> int | None:
        return None if self.days is None else sum(d.valid(worn_h) for d in self.days)


@dataclass
class WearData:
    """The free-living recordings of an analysis folder, and problems reading them."""

    recordings: list[Wear] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_wear(out_dir: Path, timezone: str = "") -> WearData:
    """The wear of every recording in ``out_dir/recordings/*.json`` (files in name order;
    a file that cannot be read is a note, not an error)."""
    out = WearData()
    folder = Path(out_dir) / RECORDINGS_DIR
    if not folder.is_dir():
        return out
    zone: tzinfo = ZoneInfo(timezone) if timezone else UTC
    for path in sorted(folder.glob("*.json")):
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            entries = loaded["recordings"]
            if not isinstance(entries, list):
                raise TypeError("recordings is not a list")
            for entry in entries:
                days = per_day(entry, zone)
                note = "" if days is not None else (
                    "hours per day not known: this file does not say when the minutes "
                    "without data were (analyse the input again with --force)")
                out.recordings.append(Wear(f"{RECORDINGS_DIR}/{path.name}", entry, days, note))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            out.notes.append(f"{path}: not readable ({type(exc).__name__}); its wear time "
                             "is not shown")
    return out


def _minute_mask(periods: list[dict], n: int) -> np.ndarray:
    """Per minute of the recording, whether it lies in one of ``periods`` (start_s/end_s)."""
    mask = np.zeros(n, bool)
    for p in periods:  # one per period, not per minute
        a = max(0, int(float(p["start_s"]) // 60))
        b = min(n, int(np.ceil(float(p["end_s"]) / 60)))
        mask[a:b] = True
    return mask


def per_day(entry: dict, zone: tzinfo = UTC) -> list[Day] | None:
    """The recording ``entry`` (of a ``recordings/<input>.json``) per calendar day in
    ``zone``; None when its no-data minutes cannot be placed (see :class:`Wear`)."""
    n = int(np.ceil(float(entry["duration_s"]) / 60))
    if "no_data" not in entry and int(entry.get("no_data_minutes") or 0) > 0:
        return None
    nonwear = _minute_mask(entry.get("nonwear") or [], n)
    no_data = _minute_mask(entry.get("no_data") or [], n) & ~nonwear
    worn = ~nonwear & ~no_data
    start_dt = _start(entry)
    # Day boundaries as minutes from the start (local midnights; 24 h steps without a start)
    if start_dt is None:
        cuts = list(range(0, n, 1440))
        labels = [f"day {k + 1}" for k in range(len(cuts))]
    else:
        first = start_dt.astimezone(zone).date()
        last = (start_dt + timedelta(minutes=max(n - 1, 0))).astimezone(zone).date()
        days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
        cuts = [0] + [max(0, int((_midnight(d, zone) - start_dt).total_seconds() // 60))
                      for d in days[1:]]
        labels = [d.isoformat() for d in days]
    bounds = np.array(cuts + [n])
    found = _session_minutes(entry.get("sessions") or [])

    def sums(mask: np.ndarray) -> np.ndarray:
        total = np.concatenate(([0], np.cumsum(mask)))
        return total[bounds[1:]] - total[bounds[:-1]]

    covered = bounds[1:] - bounds[:-1]
    w, nw, nd = sums(worn), sums(nonwear), sums(no_data)
    per_session = np.searchsorted(bounds, found, side="right") - 1
    return [Day(labels[k], int(covered[k]), int(w[k]), int(nw[k]), int(nd[k]),
                int(np.sum(per_session == k)))
            for k in range(len(labels))]


def _start(entry: dict) -> datetime | None:
    start = entry.get("start_time")
    if not start:
        return None
    start_dt = datetime.fromisoformat(str(start))
    return start_dt if start_dt.tzinfo is not None else start_dt.replace(tzinfo=UTC)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def _session_minutes(sessions: list[dict]) -> np.ndarray:
    """The minute of the recording at which each session found begins its exercise."""
    starts = [float((s.get("exercise") or s).get("start_s", 0.0)) for s in sessions]
    return (np.array(starts, float) // 60).astype(int)
