"""The study report: one self-contained HTML page per analysis folder.

``dosewatch report DIR`` (or :func:`write_report`) reads what ``dosewatch analyze`` wrote
into ``DIR`` — ``sessions.csv``, ``failures.json`` and each session's ``summary.json`` —
computes the adherence tables with :mod:`dosewatch.adherence` and writes them beside
``sessions.csv``, then writes ``DIR/report.html``:

- key figures (sessions, participants, doses, failed inputs, skipped files);
- adherence per participant as small multiples (dose sessions, or dose days with
  ``count_same_day_once``, per ISO week against the recommended number, and the longest
  run of weeks against the target), the participants table and the weekly table;
- the distribution of session classes;
- the sessions table (sortable: click a column heading, or open the page with
  ``#sort=sessions.duration_s``, ``#sort=-sessions.duration_s`` for descending);
- the inputs that failed and the files skipped as not session inputs, with their reasons;
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

from pathlib import Path

from ..adherence import AdherenceRules, write_adherence
from ..config import Config
from ..outputs import atomic_write_text
from .data import StudyData, load_study
from .html import render_report


def write_report(
    out_dir: Path,
    out: Path | None = None,
    *,
    config: Config | str | Path | None = None,
    rules: AdherenceRules | None = None,
    title: str | None = None,
    left_out: list[str] | None = None,
) -> Path:
    """Write the adherence tables and the study report of an analysis folder.

    Three steps: load the folder (:func:`load_study`), write the adherence tables beside
    ``sessions.csv`` (``adherence.csv``/``.parquet``, ``participants.csv``/``.parquet``),
    then the page — in that order, so that the page links the tables it shows.

    Args:
        out_dir: the ``--out`` folder of ``dosewatch analyze``.
        out: the HTML file to write (default ``out_dir/report.html``).
        config: the configuration the analysis used (Config or TOML path); default
            ``out_dir/config.toml`` if present, else the defaults (the page says which).
        rules: adherence thresholds (default: from the configuration).
        title: the page title (default from the folder's name).
        left_out: when given, filled with what the report leaves out or counts once, and
            why (:mod:`.notes`; the page says the same), for the console.

    Returns:
        The path of the report.

    Raises:
        InputError: ``out_dir`` holds no readable ``sessions.csv``.
    """
    out_dir = Path(out_dir)
    data = load_study(out_dir, config, rules)
    if left_out is not None:
        left_out.extend(data.left_out)
    write_adherence(data.adherence, out_dir)
    path = Path(out) if out is not None else out_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_report(data, path, title))
    return path


__all__ = ["StudyData", "load_study", "render_report", "write_report"]
