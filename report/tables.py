"""The report's tables and lists: sessions (one row per row of ``sessions.csv``), the
adherence tables (one row per row of ``participants.csv`` and ``adherence.csv``), the
session classes, the inputs that failed and the files skipped.

Every cell carries its column (``data-col``) and the table's own value (``data-value``),
which is what the page sorts by and what the tests compare with the CSVs.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from pathlib import Path

from ..adherence import PARTICIPANT_COLUMNS, WEEKLY_COLUMNS, Adherence, format_cell
from ..rows import SessionRow
from .data import StudyData, session_folder
from .markup import CLASSES, cell_value, class_badge, fmt_number, relative_href, td, th

_SESSION_HEADINGS = (
    ("participant", "Participant", False, None),
    ("session", "Session", False, "links to the session picture"),
    ("start_time", "Start", False, "start time as recorded"),
    ("week", "ISO week", False, None),
    ("duration_s", "Duration (min)", True, None),
    ("session_class", "Class", False, None),
    ("dose_met", "Dose met", False, None),
    ("dose_met_at_s", "Dose met at (min)", True, "minutes from the start"),
    ("certainty", "Certainty", False, "how sure the verdict is (summary.json says why)"),
    ("longest_bout_qualifying_minutes", "Longest bout (qualifying min)", True, None),
    ("minutes_at_or_above_intermediate", "Min ≥ intermediate", True,
     "minutes at intermediate or vigorous intensity"),
    ("n_bouts", "Bouts", True, None),
    ("intensity_source", "Intensity from", False, None),
    ("n_warnings", "Warnings", True, "hover for the warnings"),
)

_WEEKLY_HEADINGS = (
    ("participant", "Participant", False), ("week", "ISO week", False),
    ("week_start", "Monday", False), ("sessions", "Sessions", True),
    ("dose_sessions", "Dose sessions", True), ("dose_days", "Dose days", True),
    ("minutes_at_or_above_intermediate", "Min ≥ intermediate", True),
    ("week_met", "Week met", False),
)


# ---------------------------------------------------------------------------------------
# Sessions


def _session_name(row: SessionRow, folder: Path, report_dir: Path) -> str:
    """The session's name, linked to its picture when there is one."""
    name = escape(row.session)
    picture = folder / "session.png"
    if picture.is_file():
        name = f'<a href="{relative_href(picture, report_dir)}">{name}</a>'
    if row.duplicate_of is not None:  # see dosewatch.duplicates: counted once, as that one
        name += (f' <small class="copy">(copy of {escape(row.duplicate_of)}, not counted '
                 'again)</small>')
    return name


def _session_cells(row: SessionRow, name: str, week: str, warnings: list) -> list[str]:
    """The cells of one session row, in the order of ``_SESSION_HEADINGS``."""
    start = "" if row.start_time is None else row.start_time.isoformat()
    dose = row.dose_met
    return [
        td(escape(row.participant or ""), col="participant"),
        td(name, row.session, col="session"),
        td(escape(start[:16].replace("T", " ")) if start else "<i>undated</i>",
           start, col="start_time"),
        td(escape(week), week, col="week"),
        td(fmt_number(row.duration_s, 60), cell_value(row.duration_s), "duration_s"),
        td(class_badge(row.session_class), row.session_class, "session_class"),
        td("yes" if dose else "no", int(dose), "dose_met", "ok" if dose else "no"),
        td(fmt_number(row.dose_met_at_s, 60), cell_value(row.dose_met_at_s),
           "dose_met_at_s"),
        td(escape(row.certainty or ""), row.certainty or "", "certainty"),
        td(fmt_number(row.longest_bout_qualifying_minutes),
           cell_value(row.longest_bout_qualifying_minutes), "longest_bout_qualifying_minutes"),
        td(fmt_number(row.minutes_at_or_above_intermediate),
           cell_value(row.minutes_at_or_above_intermediate),
           "minutes_at_or_above_intermediate"),
        td(str(row.n_bouts), row.n_bouts, "n_bouts"),
        td(escape(row.intensity_source.replace("_", " ")), row.intensity_source,
           "intensity_source"),
        td(str(row.n_warnings), row.n_warnings, "n_warnings",
           title="\n".join(str(w) for w in warnings) or None),
    ]


def sessions_table(data: StudyData, report_dir: Path) -> str:
    """One row per session row, in the order of ``sessions.csv``; sortable."""
    head = "".join(th(k, label, num, tip) for k, label, num, tip in _SESSION_HEADINGS)
    body = []
    for i, row in enumerate(data.rows):
        summary = data.summaries[i] or {}
        folder = session_folder(data.out_dir, row)
        week = data.adherence.session_weeks[i] or ""
        cells = _session_cells(row, _session_name(row, folder, report_dir), week,
                               summary.get("warnings") or [])
        body.append(f'<tr data-output="{escape(folder.name)}">{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table id="sessions" class="sortable data"><caption>'
            f"{len(data.rows)} sessions, one row per row of sessions.csv</caption>"
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


# ---------------------------------------------------------------------------------------
# Adherence


def _participant_headings(target_weeks: int) -> tuple[tuple[str, str, bool], ...]:
    return (("participant", "Participant", False), ("sessions", "Sessions", True),
            ("dated_sessions", "Dated", True), ("undated_sessions", "Undated", True),
            ("dose_sessions", "Dose sessions", True), ("first_week", "First week", False),
            ("last_week", "Last week", False), ("weeks", "Weeks", True),
            ("weeks_met", "Weeks met", True),
            ("longest_streak_weeks", "Longest run (weeks)", True),
            ("target_met", f"{target_weeks}-week target met", False))


def participants_table(adherence: Adherence) -> str:
    """One row per row of ``participants.csv``; undated sessions named in the tooltip."""
    headings = _participant_headings(adherence.rules.target_weeks)
    head = "".join(th(k, label, num, PARTICIPANT_COLUMNS[k]) for k, label, num in headings)
    body = []
    for p in adherence.participants:
        cells = []
        for key, _, _ in headings:
            value = getattr(p, key)
            if isinstance(value, bool):
                text = "yes" if value else "no"
                cells.append(td(text, format_cell(value), key, "ok" if value else "no"))
            else:
                cells.append(td(escape(format_cell(value)), format_cell(value), key))
        title = ("undated: " + ", ".join(p.undated)) if p.undated else None
        body.append(f'<tr data-participant="{escape(p.participant)}"'
                    + (f' title="{escape(title)}"' if title else "")
                    + f'>{"".join(cells)}</tr>')
    return (f'<table id="participants" class="sortable data"><caption>One row per participant '
            f"(participants.csv)</caption><thead><tr>{head}</tr></thead>"
            f'<tbody>{"".join(body)}</tbody></table>')


def weekly_table(adherence: Adherence) -> str:
    """One row per row of ``adherence.csv`` (a participant's ISO week)."""
    head = "".join(th(k, label, num, WEEKLY_COLUMNS[k]) for k, label, num in _WEEKLY_HEADINGS)
    body = []
    for w in adherence.weeks:
        cells = [td(escape(format_cell(getattr(w, key))), format_cell(getattr(w, key)), key)
                 for key, _, _ in _WEEKLY_HEADINGS[:-1]]
        cells.append(td("yes" if w.week_met else "no", format_cell(w.week_met), "week_met",
                        "ok" if w.week_met else "no"))
        body.append(f'<tr>{"".join(cells)}</tr>')
    return (f'<table id="weekly" class="sortable data"><caption>One row per participant and '
            f"ISO week (adherence.csv)</caption><thead><tr>{head}</tr></thead>"
            f'<tbody>{"".join(body)}</tbody></table>')


# ---------------------------------------------------------------------------------------
# Classes and failures


def class_rows(counts: Counter[str]) -> str:
    """The rows of the class-counts table: the known classes in order, then any other."""
    rows = "".join(f"<tr><th scope=\"row\">{class_badge(c)}</th>"
                   f'<td data-col="count" data-value="{counts.get(c, 0)}">'
                   f"{counts.get(c, 0)}</td></tr>" for c in CLASSES)
    other = sorted(set(counts) - set(CLASSES))
    rows += "".join(f'<tr><th scope="row">{escape(c)}</th><td>{counts[c]}</td></tr>'
                    for c in other)
    return rows


def _entry(f: dict) -> str:
    """One entry of ``failures.json``: input, error (if any), reason, shortened hint."""
    hint = str(f.get("hint") or "")
    if len(hint) > 400:
        hint = hint[:400] + " …"
    error = f.get("error")
    return (f"<li><code>{escape(str(f.get('input', '')))}</code> — "
            + (f"<strong>{escape(str(error))}</strong>: " if error else "")
            + escape(str(f.get("reason", "")))
            + (f'<br><span class="hint">{escape(hint)}</span>' if hint else "")
            + "</li>")


def failures_list(failures: list[dict]) -> str:
    """The inputs that failed, with their error, reason and what to do."""
    if not failures:
        return '<p id="failures-list">No input failed.</p>'
    return f'<ul id="failures-list">{"".join(_entry(f) for f in failures)}</ul>'


def skipped_list(skipped: list[dict]) -> str:
    """The files skipped as not session inputs, with the reason and what to do."""
    if not skipped:
        return '<p id="skipped-list">No file was skipped.</p>'
    return f'<ul id="skipped-list">{"".join(_entry(f) for f in skipped)}</ul>'
