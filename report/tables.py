"""The report's tables and lists: sessions (one row per row of ``sessions.csv``), the
adherence tables (one row per row of ``participants.csv`` and ``adherence.csv``), the
session classes, the inputs that failed and the files skipped.

Every cell carries its column (``data-col``) and the table's own value (``data-value``),
which is what the page sorts by and what the tests compare with the CSVs.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from ..adherence import PARTICIPANT_COLUMNS, WEEKLY_COLUMNS, Adherence, format_cell
from ..rows import SessionRow
from .data import StudyData, session_folder
from .markup import CLASSES, cell_value, class_badge, fmt_number, relative_href, td, th
from .wear import Wear

_SESSION_HEADINGS = (
    ("participant", "Participant", False, None),
    ("session", "Session", False, "links to the session picture"),
    ("start_time", "Start", False, "start time as recorded"),
    ("week", "ISO week", False, None),
    ("duration_s", "Duration (min)", True, None),
    ("session_class", "Class", False, None),
    ("dose_met", "Dose met", False, None),
    ("dose_met_at_s", "Dose met at (min)", True, "minutes from the start"),
    ("certainty", "Certainty", False,
     "how sure the verdict is; why: hover, or see 'Certainty and warnings' below"),
    ("longest_bout_qualifying_minutes", "Longest bout (qualifying min)", True, None),
    ("minutes_at_or_above_intermediate", "Min ≥ intermediate", True,
     "minutes at intermediate or vigorous intensity"),
    ("n_bouts", "Bouts", True, None),
    ("intensity_source", "Intensity from", False, None),
    ("n_warnings", "Warnings", True,
     "how many; their text: hover, or see 'Certainty and warnings' below"),
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


def why_id(output: str) -> str:
    """The id of a session's entry in the certainty-and-warnings table (its output
    folder's name is unique in the analysis folder)."""
    return "why-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in output)


def certainty_reasons(summary: dict) -> list[str]:
    """The reasons ``summary.json`` gives for the verdict's certainty (none when the
    summary has none, as older ones)."""
    certainty = summary.get("certainty")
    reasons = certainty.get("reasons") if isinstance(certainty, dict) else None
    return [str(r) for r in reasons] if isinstance(reasons, list) else []


def _linked(text: str, anchor: str | None) -> str:
    return f'<a href="#{anchor}">{text}</a>' if anchor else text


def start_zone(adherence: Adherence) -> str:
    """The zone the report shows start times in: the study's ``[adherence] timezone``,
    else UTC (review 2026-11-25c, item 2: the Start column names it)."""
    return adherence.rules.timezone or "UTC"


def _shown_start(start: datetime, adherence: Adherence) -> str:
    """``start`` as the report shows it: in :func:`start_zone`, to the minute."""
    if adherence.rules.timezone:
        start = adherence.rules.local(start)
    elif start.tzinfo is not None:
        start = start.astimezone(UTC)
    return f"{start:%Y-%m-%d %H:%M}"


def _session_cells(row: SessionRow, name: str, week: str, summary: dict,
                   anchor: str | None, adherence: Adherence) -> list[str]:
    """The cells of one session row, in the order of ``_SESSION_HEADINGS``. The
    certainty and warnings cells carry their text as a tooltip and link (``anchor``) to
    the session's entry in the certainty-and-warnings table, which prints. The start is
    shown in the study's zone; its value is the one of ``sessions.csv``."""
    start = "" if row.start_time is None else row.start_time.isoformat()
    dose = row.dose_met
    warnings = [str(w) for w in summary.get("warnings") or []]
    reasons = certainty_reasons(summary)
    return [
        td(escape(row.participant or ""), col="participant"),
        td(name, row.session, col="session"),
        td(escape(_shown_start(row.start_time, adherence)) if row.start_time is not None
           else "<i>undated</i>", start, col="start_time"),
        td(escape(week), week, col="week"),
        td(fmt_number(row.duration_s, 60), cell_value(row.duration_s), "duration_s"),
        td(class_badge(row.session_class), row.session_class, "session_class"),
        td("yes" if dose else "no", int(dose), "dose_met", "ok" if dose else "no"),
        td(fmt_number(row.dose_met_at_s, 60), cell_value(row.dose_met_at_s),
           "dose_met_at_s"),
        td(_linked(escape(row.certainty or ""), anchor if reasons else None),
           row.certainty or "", "certainty", title="\n".join(reasons) or None),
        td(fmt_number(row.longest_bout_qualifying_minutes),
           cell_value(row.longest_bout_qualifying_minutes), "longest_bout_qualifying_minutes"),
        td(fmt_number(row.minutes_at_or_above_intermediate),
           cell_value(row.minutes_at_or_above_intermediate),
           "minutes_at_or_above_intermediate"),
        td(str(row.n_bouts), row.n_bouts, "n_bouts"),
        td(escape(row.intensity_source.replace("_", " ")), row.intensity_source,
           "intensity_source"),
        td(_linked(str(row.n_warnings), anchor if warnings else None), row.n_warnings,
           "n_warnings", title="\n".join(warnings) or None),
    ]


def sessions_table(data: StudyData, report_dir: Path) -> str:
    """One row per session row, in the order of ``sessions.csv``; sortable."""
    zone = start_zone(data.adherence)
    head = "".join(th(k, f"{label} ({zone})" if k == "start_time" else label, num,
                      f"start time in {zone} (sessions.csv gives it with its UTC offset)"
                      if k == "start_time" else tip)
                   for k, label, num, tip in _SESSION_HEADINGS)
    body = []
    for i, row in enumerate(data.rows):
        summary = data.summaries[i] or {}
        folder = session_folder(data.out_dir, row)
        week = data.adherence.session_weeks[i] or ""
        anchor = why_id(folder.name) if _has_why(summary) else None
        cells = _session_cells(row, _session_name(row, folder, report_dir), week, summary,
                               anchor, data.adherence)
        body.append(f'<tr data-output="{escape(folder.name)}">{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table id="sessions" class="sortable data"><caption>'
            f"{len(data.rows)} sessions, one row per row of sessions.csv</caption>"
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _has_why(summary: dict) -> bool:
    return bool(certainty_reasons(summary) or summary.get("warnings"))


def _bullets(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in items) + "</ul>" if items else ""


def why_table(data: StudyData) -> str:
    """Per session with reasons or warnings in its ``summary.json``: its certainty and
    the reasons for it, and its warnings, as text (the page is printed, and a tooltip
    does not print). Sessions without either are left out; so says the caption."""
    body = []
    for row, summary in zip(data.rows, data.summaries, strict=True):
        summary = summary or {}
        if not _has_why(summary):
            continue
        output = session_folder(data.out_dir, row).name
        reasons = certainty_reasons(summary)
        warnings = [str(w) for w in summary.get("warnings") or []]
        body.append(
            f'<tr id="{why_id(output)}" data-output="{escape(output)}">'
            + td(escape(row.participant or ""), row.participant or "", "participant")
            + td(escape(row.session), row.session, "session")
            + td(escape(row.certainty or ""), row.certainty or "", "certainty")
            + td(_bullets(reasons) or ("<i>nothing lowered it</i>" if row.certainty == "high"
                                        else "<i>none given</i>"), len(reasons), "reasons")
            + td(_bullets(warnings) or "none", len(warnings), "warnings") + "</tr>")
    n = len(data.rows) - len(body)
    if not body:
        return ('<p id="why-none">No session has a certainty reason or a warning in its '
                "summary.json.</p>")
    others = f" ({n} other{'' if n == 1 else 's'} without either)" if n else ""
    return (f'<table id="why" class="data why"><caption>Sessions whose summary.json gives '
            f"reasons for the certainty or warnings{others}</caption><thead><tr>"
            '<th scope="col">Participant</th><th scope="col">Session</th>'
            '<th scope="col">Certainty</th>'
            '<th scope="col">Why this certainty</th><th scope="col">Warnings</th></tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table>')


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


def _entry(f: dict, hint_label: str = "What to do: ") -> str:
    """One entry of ``failures.json``: the input, the reason and what to do (the hint,
    shortened). The error's class (``InputError``) means nothing to a reader: it is kept
    in ``data-error`` only (review 2026-11-25c, item 5)."""
    hint = str(f.get("hint") or "")
    if len(hint) > 400:
        hint = hint[:400] + " …"
    error = f.get("error")
    attr = f' data-error="{escape(str(error))}"' if error else ""
    return (f"<li{attr}><code>{escape(str(f.get('input', '')))}</code> — "
            + escape(str(f.get("reason", "")))
            + (f'<br><span class="hint">{hint_label}{escape(hint)}</span>' if hint else "")
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
    return f'<ul id="skipped-list">{"".join(_entry(f, "") for f in skipped)}</ul>'


def parts_list(parts: list[dict]) -> str:
    """The files read as parts of another input (nothing when there are none)."""
    if not parts:
        return ""
    items = "".join(_entry(f, "") for f in parts)
    return (f'<h3 id="h-parts">Files read as parts of recordings</h3>\n<p>Files of a '
            f'recording read with its main file (its other streams), not inputs of their '
            f'own.</p>\n<ul id="parts-list">{items}</ul>')


# ---------------------------------------------------------------------------------------
# Free-living recordings: wear time


def _hours(minutes: float) -> str:
    return f"{minutes / 60:.1f}"


def _period(p: dict, start: datetime | None, zone: str) -> str:
    """A non-wear period as ``2026-03-04 20:00–21:39 UTC (99 min)`` (in the study's time
    zone, ``zone``), or in hours from the start when the recording has no start time."""
    a_s, b_s = float(p.get("start_s", 0)), float(p.get("end_s", 0))
    if start is not None:
        tz = ZoneInfo(zone) if zone != "UTC" else UTC
        a = (start + timedelta(seconds=a_s)).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        b = (start + timedelta(seconds=b_s)).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        b = b[11:] if a[:10] == b[:10] else b
        when = f"{a}–{b} {zone}"
    else:
        when = f"{a_s / 3600:.1f}–{b_s / 3600:.1f} h from the start"
    return f"{when} ({float(p.get('minutes', (b_s - a_s) / 60)):g} min)"


def _participants_of(data: StudyData, wear: Wear) -> str:
    """The participants of the sessions found in a recording (from sessions.csv)."""
    names = {str(s.get("session")) for s in wear.summary.get("sessions") or []}
    people = sorted({r.participant or "" for r in data.rows if r.session in names} - {""})
    return ", ".join(people)


def wear_table(data: StudyData) -> str:
    """One row per free-living recording: its days, hours worn, not worn (and in how
    many periods) and without data, its valid days, and the sessions found in it."""
    h = data.valid_day_h
    body = []
    for w in data.wear.recordings:
        r = w.summary
        valid = w.valid_days(h)
        n_days = None if w.days is None else len(w.days)
        nonwear = r.get("nonwear") or []
        start = str(r.get("start_time") or "")
        cells = [
            td(escape(w.name), w.name, "recording"),
            td(escape(_participants_of(data, w)), None, "participant"),
            td(escape(start[:16].replace("T", " ")) if start else "<i>unknown</i>", start,
               "start_time"),
            td(f"{float(r.get('duration_s') or 0) / 86400:.1f}", r.get("duration_s"),
               "days"),
            td(_hours(int(r.get("worn_minutes") or 0)), r.get("worn_minutes"),
               "worn_minutes"),
            td(_hours(int(r.get("nonwear_minutes") or 0)) + f" ({len(nonwear)})",
               r.get("nonwear_minutes"), "nonwear_minutes"),
            td(_hours(int(r.get("no_data_minutes") or 0)), r.get("no_data_minutes"),
               "no_data_minutes"),
            td("?" if valid is None else f"{valid} of {n_days}",
               "" if valid is None else valid, "valid_days",
               title=w.note or None),
            td(str(len(r.get("sessions") or [])), len(r.get("sessions") or []),
               "sessions_found"),
        ]
        body.append(f'<tr data-recording="{escape(w.name)}">{"".join(cells)}</tr>')
    head = "".join(f'<th scope="col">{x}</th>' for x in (
        "Recording", "Participant", "Start (UTC)", "Days", "Worn (h)",
        "Non-wear (h, periods)", "No data (h)", f"Valid days (≥ {h:g} h worn)",
        "Sessions found"))
    return (f'<div class="scroll"><table id="wear" class="data"><caption>One row per '
            f"free-living recording (recordings/*.json)</caption><thead><tr>{head}</tr>"
            f'</thead><tbody>{"".join(body)}</tbody></table></div>')


def days_table(data: StudyData, zone: str) -> str:
    """One row per calendar day of each free-living recording (days in ``zone``)."""
    h = data.valid_day_h
    body = []
    for w in data.wear.recordings:
        for d in w.days or []:
            valid = d.valid(h)
            cells = [
                td(escape(w.name), w.name, "recording"),
                td(escape(d.day), d.day, "day"),
                td(_hours(d.covered_min), d.covered_min, "covered_minutes"),
                td(_hours(d.worn_min), d.worn_min, "worn_minutes"),
                td(_hours(d.nonwear_min), d.nonwear_min, "nonwear_minutes"),
                td(_hours(d.no_data_min), d.no_data_min, "no_data_minutes"),
                td("yes" if valid else "no", int(valid), "valid", "ok" if valid else "no"),
                td(str(d.sessions), d.sessions, "sessions_found"),
            ]
            body.append(f'<tr>{"".join(cells)}</tr>')
    head = "".join(f'<th scope="col">{x}</th>' for x in (
        "Recording", f"Day ({escape(zone)})", "Recorded (h)", "Worn (h)", "Non-wear (h)",
        "No data (h)", f"Valid (≥ {h:g} h)", "Sessions found"))
    return (f'<div class="scroll"><table id="wear-days" class="data"><caption>One row per '
            f"day of each recording</caption><thead><tr>{head}</tr></thead>"
            f'<tbody>{"".join(body)}</tbody></table></div>')


def nonwear_list(data: StudyData, zone: str, limit: int = 20) -> str:
    """The non-wear periods of each recording (the first ``limit``; the file has all),
    in the time zone ``zone`` (an IANA name, or ``UTC``)."""
    items = []
    for w in data.wear.recordings:
        start = w.start_time
        periods = w.summary.get("nonwear") or []
        if not periods:
            items.append(f"<li>{escape(w.name)}: no non-wear period</li>")
            continue
        shown = "; ".join(escape(_period(p, start, zone)) for p in periods[:limit])
        more = (f"; and {len(periods) - limit} more (all in {escape(w.file)})"
                if len(periods) > limit else "")
        items.append(f"<li>{escape(w.name)}: {shown}{more}</li>")
    return f'<ul id="nonwear-periods">{"".join(items)}</ul>'
