"""The study report: one self-contained HTML page per analysis folder.

``dosewatch report DIR`` (or :func:`write_report`) reads what ``dosewatch analyze`` wrote
into ``DIR`` — ``sessions.csv``, ``failures.json`` and each session's ``summary.json`` —
computes the adherence tables with :mod:`dosewatch.adherence` and writes them beside
``sessions.csv``, then writes ``DIR/report.html`` (a page written elsewhere, ``--out
PAGE``, gets its tables beside it, named after it: the folder's stay as they were):

- key figures (sessions, participants, doses, failed inputs, skipped files);
- adherence per participant as small multiples (dose sessions, or dose days with
  ``count_same_day_once``, per ISO week against the recommended number, and the longest
  run of weeks against the target), the participants table and the weekly table;
- the distribution of session classes;
- the sessions table (sortable: click a column heading, or open the page with
  ``#sort=sessions.duration_s``, ``#sort=-sessions.duration_s`` for descending);
- why each verdict is as certain as it is, and its warnings, as text;
- the free-living recordings' wear time, per recording and per day, with the valid days;
- the inputs that failed and the files skipped as not session inputs, with their reasons
  and what to do; the inputs analysed although truncated or damaged, in the notes;
- the configuration (TOML) and the dosewatch version.

Every number on the page is a cell of ``sessions.csv``, ``adherence.csv`` or
``participants.csv`` (or a count of their rows); nothing about a session is recomputed.
The page needs no network: styles, script and figures (inline SVG) are in the file, and
the only links are relative ones to the session pictures and tables in ``DIR``.

The parts, one responsibility each:

- :mod:`.data` — :func:`load_study` reads the folder into :class:`StudyData` (it only
  reads);
- :mod:`.html` — :func:`render_report` assembles the page, section by section, inlining
  ``assets/report.css`` and ``assets/report.js``;
- :mod:`.tables`, :mod:`.figures`, :mod:`.markup` — the tables, the inline SVG figures,
  and the small HTML pieces they share;
- :mod:`.command` — the ``dosewatch report`` command.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..adherence import AdherenceRules, write_adherence
from ..config import Config
from ..outputs import atomic_write_text
from .data import StudyData, load_study
from .html import render_report
from .wear import VALID_DAY_WORN_H

TABLES = ("adherence.csv", "adherence.parquet", "participants.csv", "participants.parquet")
"""The adherence tables the report writes."""


def tables_for(out_dir: Path, page: Path) -> dict[str, Path]:
    """Where the adherence tables of a page go, by name: beside ``sessions.csv`` for the
    default page ``out_dir/report.html``; for any other page, beside it with its stem
    (``tz.html`` -> ``tz.adherence.csv``, ``tz.participants.csv``, ...), so that a page
    made with other rules (``--config``) never overwrites the tables of the folder
    (review 2026-11-25c, item 14)."""
    if Path(page).resolve() == (Path(out_dir) / "report.html").resolve():
        return {name: Path(out_dir) / name for name in TABLES}
    page = Path(page)
    return {name: page.with_name(f"{page.stem}.{name}") for name in TABLES}


def _write_tables(data: StudyData, tables: dict[str, Path]) -> None:
    """Write the adherence tables where :func:`tables_for` says, each file atomically."""
    folder = next(iter(tables.values())).parent
    if all(path == folder / name for name, path in tables.items()):
        write_adherence(data.adherence, folder)
        return
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".dosewatch-tables-", dir=folder))
    try:
        for name, written in write_adherence(data.adherence, scratch).items():
            os.replace(written, tables[name])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_report(
    out_dir: Path,
    out: Path | None = None,
    *,
    config: Config | str | Path | None = None,
    rules: AdherenceRules | None = None,
    title: str | None = None,
    left_out: list[str] | None = None,
    valid_day_h: float = VALID_DAY_WORN_H,
    tables: list[Path] | None = None,
    checks: list[str] | None = None,
) -> Path:
    """Write the adherence tables and the study report of an analysis folder.

    Three steps: load the folder (:func:`load_study`), write the adherence tables
    (``adherence.csv``/``.parquet``, ``participants.csv``/``.parquet``: beside
    ``sessions.csv`` for the default page, else beside the page, named after it; see
    :func:`tables_for`), then the page — in that order, so that the page links the
    tables it shows.

    Args:
        out_dir: the ``--out`` folder of ``dosewatch analyze``.
        out: the HTML file to write (default ``out_dir/report.html``).
        config: the configuration the analysis used (Config or TOML path); default
            ``out_dir/config.toml`` if present, else the defaults (the page says which).
        rules: adherence thresholds (default: from the configuration).
        title: the page title (default from the folder's name).
        left_out: when given, filled with what the report leaves out or counts once, and
            why (:mod:`.notes`; the page says the same), for the console.
        valid_day_h: hours of wear that make a day of a free-living recording valid.
        tables: when given, filled with the paths of the adherence tables written.
        checks: when given, filled with the inputs analysed although truncated or with
            damaged parts left out (``INPUT: REASON``; the page's notes list them too).

    Returns:
        The path of the report.

    Raises:
        InputError: ``out_dir`` holds no readable ``sessions.csv``.
    """
    out_dir = Path(out_dir)
    data = load_study(out_dir, config, rules, valid_day_h)
    if left_out is not None:
        left_out.extend(data.left_out)
    if checks is not None:
        checks.extend(f"{c['input']}: {c['reason']}" for c in data.to_check)
    path = Path(out) if out is not None else out_dir / "report.html"
    where = tables_for(out_dir, path)
    _write_tables(data, where)
    if tables is not None:
        tables.extend(where.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_report(data, path, title, where))
    return path


__all__ = ["StudyData", "load_study", "render_report", "tables_for", "write_report"]
