"""What the study report shows, read from an analysis folder.

:func:`load_study` reads the typed session rows (:func:`dosewatch.rows.read_rows`), each
session's ``summary.json``, ``failures.json`` (the inputs that failed and the files
skipped as not session inputs) and the configuration, and computes the adherence tables
from the rows. It only reads: writing the adherence tables beside
``sessions.csv`` is a step of its own in :func:`dosewatch.report.write_report`, so that
loading a folder (in a notebook, say) never changes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .. import __version__
from ..adherence import APART_DAYS, Adherence, AdherenceRules, compute_adherence
from ..config import Config
from ..duplicates import Copies, mark_duplicates
from ..errors import InputError
from ..rows import SessionRow, read_rows
from ..session import damage, truncation
from .notes import left_out_lines
from .wear import VALID_DAY_WORN_H, WearData, read_wear


@dataclass
class StudyData:
    """What the report shows, read from an analysis folder.

    Attributes:
        out_dir: the analysis folder.
        rows: the typed session rows (``sessions.parquet`` / ``sessions.csv``).
        summaries: each row's ``summary.json`` (None where it could not be read).
        failures: the inputs that failed (entries of ``failures.json`` with ``status``
            ``failed``, or none, as older folders wrote them).
        adherence: the adherence tables computed from ``rows``.
        config_text: the configuration as TOML.
        config_note: where the configuration came from.
        notes: problems met while reading (shown on the page).
    """

    out_dir: Path
    rows: list[SessionRow]
    summaries: list[dict | None]
    failures: list[dict]
    adherence: Adherence
    config_text: str
    config_note: str
    notes: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    """The files skipped as not session inputs (``status: skipped`` in failures.json)."""
    parts: list[dict] = field(default_factory=list)
    """The files read as parts of another input (a Polar Sensor Logger recording's other
    streams: ``status: part`` in failures.json)."""
    stored: list[dict] = field(default_factory=list)
    """Session folders of earlier runs that no table holds (``status: stored`` in
    failures.json, written by the analysis): left out of the report."""
    copies: Copies = field(default_factory=Copies)
    """The rows that are copies of others (counted once), those that start together
    with different samples, by :func:`dosewatch.duplicates.mark_duplicates`, and those
    the analysis marked as copies of earlier runs' sessions (``earlier``)."""
    wear: WearData = field(default_factory=WearData)
    """The free-living recordings' wear time (``recordings/*.json``), per day."""
    valid_day_h: float = VALID_DAY_WORN_H
    """Hours of wear that make a day of a free-living recording valid."""

    @cached_property
    def to_check(self) -> list[dict[str, str]]:
        """The inputs analysed although truncated, or with damaged parts left out as gaps:
        ``input``, ``kind`` (``truncated`` or ``damaged``), ``reason`` (the repair note),
        ``sessions`` (their names), once per input and kind, in table order.

        Read from each session's repairs in ``summary.json`` with the rules the analysis
        uses for its console lines (:func:`dosewatch.session.truncation` and
        :func:`~dosewatch.session.damage`), so a rerun that did not read an unchanged
        input again still names it."""
        found: dict[tuple[str, str], dict[str, str]] = {}
        for row, summary in zip(self.rows, self.summaries, strict=True):
            repairs = [str(r) for r in (summary or {}).get("repairs") or []]
            for kind, note in (("truncated", truncation(repairs)),
                               ("damaged", damage(repairs))):
                if note is None:
                    continue
                source = str((summary or {}).get("source") or row.source)
                entry = found.setdefault((kind, source), {
                    "input": source, "kind": kind, "reason": note, "sessions": ""})
                entry["sessions"] = ", ".join(filter(None, (entry["sessions"], row.session)))
        return list(found.values())

    @property
    def left_out(self) -> list[str]:
        """What the report leaves out or counts once, and why (console and page)."""
        return (left_out_lines(self.stored, self.copies, self.out_dir)
                + apart_lines(self.adherence))


def apart_lines(adherence: Adherence) -> list[str]:
    """One line per participant with sessions set apart from the weeks (more than a year
    from the participant's others, see :mod:`dosewatch.adherence`)."""
    return [f"{p.participant}: {_count_sessions(len(p.apart))} set apart from the weekly "
            f"table, more than {APART_DAYS} days from the participant's other sessions "
            f"(most often a device clock that was not set; check the start time): "
            f"{', '.join(p.apart)}" for p in adherence.participants if p.apart]


def _count_sessions(n: int) -> str:
    return f"{n} session" if n == 1 else f"{n} sessions"


def session_folder(out_dir: Path, row: SessionRow) -> Path:
    """The output folder of a session row (where its summary and picture are)."""
    return out_dir / Path(row.output or row.session).name


def load_study(out_dir: Path, config: Config | str | Path | None = None,
               rules: AdherenceRules | None = None,
               valid_day_h: float = VALID_DAY_WORN_H) -> StudyData:
    """Read an analysis folder and compute its adherence tables (without writing them).

    Args:
        out_dir: the ``--out`` folder of ``dosewatch analyze``.
        config: the configuration the analysis used (a Config or a TOML path); default
            ``out_dir/config.toml`` when there is one, else the defaults (the page says so).
        rules: adherence thresholds; default from the configuration.
        valid_day_h: hours of wear that make a day of a free-living recording valid.

    Raises:
        InputError: ``out_dir`` has no readable ``sessions.csv``.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError("no such folder", source=out_dir,
                         hint="pass the --out folder of `dosewatch analyze`")
    notes: list[str] = []
    rows = read_rows(out_dir)
    summaries = _read_summaries(out_dir, rows, notes)
    entries = _read_failures(out_dir / "failures.json", notes)
    config, config_note = _resolve_config(out_dir, config)
    rules = rules or AdherenceRules.from_config(config)
    adherence = compute_adherence(rows, rules)
    wear = read_wear(out_dir, rules.timezone)
    notes += wear.notes
    return StudyData(out_dir=out_dir, rows=rows, summaries=summaries,
                     failures=[e for e in entries if e.get("status", "failed") == "failed"],
                     adherence=adherence, config_text=config.to_toml(),
                     config_note=config_note, notes=notes,
                     skipped=[e for e in entries if e.get("status") == "skipped"],
                     stored=[e for e in entries if e.get("status") == "stored"],
                     parts=[e for e in entries if e.get("status") == "part"],
                     copies=mark_duplicates(rows, _earlier_marks(rows))[1],
                     wear=wear, valid_day_h=valid_day_h)


def _earlier_marks(rows: list[SessionRow]) -> dict[str, str]:
    """The rows' marks as copies of sessions earlier runs analysed, as the analysis wrote
    them: a ``duplicate_of`` that names no session of the table (see
    :func:`dosewatch.duplicates.copies_of_earlier`)."""
    names = {row.session for row in rows}
    return {row.session: row.duplicate_of for row in rows
            if row.duplicate_of is not None and row.duplicate_of not in names}


def _read_summaries(out_dir: Path, rows: list[SessionRow], notes: list[str]
                    ) -> list[dict | None]:
    """Each row's ``summary.json``; None (and a note) where it cannot be read."""
    summaries: list[dict | None] = []
    for row in rows:
        path = session_folder(out_dir, row) / "summary.json"
        try:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            summaries.append(None)
            notes.append(f"{path}: not readable ({type(exc).__name__}); the session's row "
                         "in sessions.csv is shown without its details")
    return summaries


def _read_failures(path: Path, notes: list[str]) -> list[dict]:
    """The entries of ``failures.json``; none (and a note) when it is missing or broken."""
    if not path.is_file():
        notes.append(f"{path}: missing; failures not shown")
        return []
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        notes.append(f"{path}: not valid JSON ({exc}); failures not shown")
        return []
    if not isinstance(loaded, list):
        notes.append(f"{path}: not a list of entries; failures not shown")
        return []
    return [f for f in loaded if isinstance(f, dict)]


def _resolve_config(out_dir: Path, config: Config | str | Path | None) -> tuple[Config, str]:
    """The configuration to show and use, and a note saying where it came from."""
    if isinstance(config, str | Path):
        config_path = Path(config)
        return Config.load(config_path), f"from {config_path} (given to the report)"
    if config is not None:
        return config, "as given to the report"
    if (out_dir / "config.toml").is_file():
        return (Config.load(out_dir / "config.toml"),
                f"recorded by the analysis in {out_dir / 'config.toml'}")
    return Config(), ("not recorded in this folder (no config.toml): these are the defaults "
                      f"of dosewatch {__version__}, which the analysis used unless it was "
                      "given --config")
