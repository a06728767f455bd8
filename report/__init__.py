"""The study report: one self-contained HTML page per analysis folder.

``dosewatch report DIR`` (or :func:`write_report`) reads what ``dosewatch analyze`` wrote
into ``DIR`` — ``sessions.csv``, ``failures.json`` and each session's ``summary.json`` —
computes the adherence tables with :mod:`dosewatch.adherence` and writes them beside
``sessions.csv``, then writes ``DIR/report.html``:

- key figures (sessions, participants, doses, failures);
- adherence per participant as small multiples (dose sessions, or dose days with
  ``count_same_day_once``, per ISO week against the recommended number, and the longest run of weeks against the target), the participants
  table and the weekly table;
- the distribution of session classes;
- the sessions table (sortable: click a column heading, or open the page with
  ``#sort=sessions.duration_s``, ``#sort=-sessions.duration_s`` for descending);
- the inputs that failed, with their reasons;
- the configuration (TOML) and the dosewatch version.

Every number on the page is a cell of ``sessions.csv``, ``adherence.csv`` or
``participants.csv`` (or a count of their rows); nothing about a session is recomputed.
The page needs no network: styles, script and figures (inline SVG) are in the file, and
the only links are relative ones to the session pictures and tables in ``DIR``.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from .. import __version__
from ..adherence import (
    PARTICIPANT_COLUMNS,
    WEEKLY_COLUMNS,
    Adherence,
    AdherenceRules,
    ParticipantRow,
    WeekRow,
    compute_adherence,
    format_cell,
    write_adherence,
)
from ..config import Config
from ..errors import InputError
from ..outputs import atomic_write_text
from ..rows import SessionRow, read_rows

CLASSES = ("accelerating", "intermediate", "constant", "none")
# Okabe–Ito colours, as in the session picture (dosewatch.plot); repeated here so that the
# report does not import matplotlib.
CLASS_FILL = {"constant": "url(#hatch-constant)", "intermediate": "url(#hatch-intermediate)",
              "accelerating": "url(#hatch-accelerating)", "none": "#EEEEEE"}
MET_COLOUR, STREAK_COLOUR = "#0072B2", "#007A5A"  # a week not met: url(#hatch-notmet)


@dataclass
class StudyData:
    """What the report shows, read from an analysis folder.

    Attributes:
        out_dir: the analysis folder.
        rows: the typed session rows (``sessions.parquet`` / ``sessions.csv``).
        summaries: each row's ``summary.json`` (None where it could not be read).
        failures: the entries of ``failures.json``.
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


def _session_folder(out_dir: Path, row: SessionRow) -> Path:
    return out_dir / Path(row.output or row.session).name


def load_study(out_dir: Path, config: Config | str | Path | None = None,
               rules: AdherenceRules | None = None) -> StudyData:
    """Read an analysis folder and compute (and write) its adherence tables.

    Args:
        out_dir: the ``--out`` folder of ``dosewatch analyze``.
        config: the configuration the analysis used (a Config or a TOML path); default
            ``out_dir/config.toml`` when there is one, else the defaults (the page says so).
        rules: adherence thresholds; default from the configuration.

    Raises:
        InputError: ``out_dir`` has no readable ``sessions.csv``.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError("no such folder", source=out_dir,
                         hint="pass the --out folder of `dosewatch analyze`")
    notes: list[str] = []
    rows = read_rows(out_dir)

    summaries: list[dict | None] = []
    for row in rows:
        path = _session_folder(out_dir, row) / "summary.json"
        try:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            summaries.append(None)
            notes.append(f"{path}: not readable ({type(exc).__name__}); the session's row "
                         "in sessions.csv is shown without its details")

    failures: list[dict] = []
    failures_path = out_dir / "failures.json"
    if failures_path.is_file():
        try:
            loaded = json.loads(failures_path.read_text(encoding="utf-8"))
            failures = [f for f in loaded if isinstance(f, dict)]
        except ValueError as exc:
            notes.append(f"{failures_path}: not valid JSON ({exc}); failures not shown")
    else:
        notes.append(f"{failures_path}: missing; failures not shown")

    if isinstance(config, str | Path):
        config_path = Path(config)
        config = Config.load(config_path)
        config_note = f"from {config_path} (given to the report)"
    elif config is not None:
        config_note = "as given to the report"
    elif (out_dir / "config.toml").is_file():
        config = Config.load(out_dir / "config.toml")
        config_note = f"recorded by the analysis in {out_dir / 'config.toml'}"
    else:
        config = Config()
        config_note = ("not recorded in this folder (no config.toml): these are the defaults "
                       f"of dosewatch {__version__}, which the analysis used unless it was "
                       "given --config")
    rules = rules or AdherenceRules.from_config(config)
    adherence = compute_adherence(rows, rules)
    write_adherence(adherence, out_dir)
    return StudyData(out_dir=out_dir, rows=rows, summaries=summaries, failures=failures,
                     adherence=adherence, config_text=config.to_toml(),
                     config_note=config_note, notes=notes)


# ---------------------------------------------------------------------------------------
# Formatting


def _float(text: object) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _fmt_number(text: object, scale: float = 1.0, digits: int = 0) -> str:
    value = _float(text)
    return "" if value is None else f"{value / scale:.{digits}f}"


def _cell(value: float | None) -> str:
    """A number as the data-value the page sorts by (as sessions.csv writes it)."""
    return "" if value is None else f"{value:.6g}"


def _td(text: str, value: object | None = None, col: str | None = None,
        cls: str | None = None, title: str | None = None) -> str:
    attrs = ""
    if col is not None:
        attrs += f' data-col="{escape(col)}"'
    if value is not None:
        attrs += f' data-value="{escape(str(value))}"'
    if cls:
        attrs += f' class="{cls}"'
    if title:
        attrs += f' title="{escape(title)}"'
    return f"<td{attrs}>{text}</td>"


def _th(key: str, label: str, numeric: bool, title: str | None = None) -> str:
    kind = "number" if numeric else "text"
    tip = f' title="{escape(title)}"' if title else ""
    return (f'<th scope="col" data-key="{key}" data-type="{kind}" aria-sort="none"{tip}>'
            f'<button type="button">{escape(label)}</button></th>')


def _class_badge(session_class: str) -> str:
    name = session_class if session_class in CLASSES else "none"
    return (f'<span class="swatch sw-{name}" aria-hidden="true"></span>'
            f"{escape(session_class)}")


def _week_short(week: str) -> str:
    return week.split("-")[-1] if week else ""


# ---------------------------------------------------------------------------------------
# Figures (inline SVG)


_PATTERNS = """<svg width="0" height="0" style="position:absolute" aria-hidden="true"
 focusable="false"><defs>
<pattern id="hatch-constant" width="8" height="8" patternUnits="userSpaceOnUse">
<rect width="8" height="8" fill="#0072B2"/><path d="M0 4H8" stroke="#fff" stroke-width="1"/>
</pattern>
<pattern id="hatch-intermediate" width="8" height="8" patternUnits="userSpaceOnUse">
<rect width="8" height="8" fill="#E69F00"/><circle cx="4" cy="4" r="1.1" fill="#5A3E00"/>
</pattern>
<pattern id="hatch-accelerating" width="8" height="8" patternUnits="userSpaceOnUse">
<rect width="8" height="8" fill="#5A1B00"/>
<path d="M-1 9L9 -1M-1 1L1 -1M7 9L9 7" stroke="#fff" stroke-width="1"/></pattern>
<pattern id="hatch-notmet" width="6" height="6" patternUnits="userSpaceOnUse">
<rect width="6" height="6" fill="#F2C46D"/><path d="M0 6L6 0" stroke="#8A5A00"
 stroke-width="0.8"/></pattern>
</defs></svg>"""


def _participant_figure(person: ParticipantRow, weeks: list[WeekRow],
                        rules: AdherenceRules) -> str:
    """One small multiple: dose days per week against the recommended number, the
    longest run of weeks underneath."""
    count_name = "dose days" if rules.count_same_day_once else "dose sessions"
    need = rules.dose_sessions_per_week
    streak = (f"longest run {person.longest_streak_weeks} of {person.target_weeks} weeks"
              + (" — target met" if person.target_met else ""))
    summary = (f"{person.participant}: {count_name} per ISO week, {person.weeks_met} of "
               f"{person.weeks} weeks with at least {need}; {streak}")
    if not weeks:
        return (f'<figure class="multiple"><div class="empty" role="img" '
                f'aria-label="{escape(summary)}">no dated sessions</div>'
                f"<figcaption><strong>{escape(person.participant)}</strong> — no dated "
                f"sessions ({person.undated_sessions} undated)</figcaption></figure>")
    width, height = 320, 150
    left, right, top, bottom = 24, 50, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    counts = [w.dose_days if rules.count_same_day_once else w.dose_sessions for w in weeks]
    y_max = max(need + 1, max(counts) + 1)
    slot = plot_w / len(weeks)
    bar_w = max(1.0, slot * 0.72)

    def y(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    parts = [f'<svg viewBox="0 0 {width} {height}" class="multiple" '
             f'role="img" aria-label="{escape(summary)}"><title>{escape(summary)}</title>']
    for tick in range(0, y_max + 1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#E4E4E4"/>')
        if tick % max(1, y_max // 4) == 0:
            parts.append(f'<text x="{left - 4}" y="{y(tick) + 3:.1f}" text-anchor="end" '
                         f'class="tick">{tick}</text>')
    label_every = max(1, math.ceil(len(weeks) / 8))
    for i, (week, count) in enumerate(zip(weeks, counts, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        fill = MET_COLOUR if week.week_met else "url(#hatch-notmet)"
        minutes = ("unknown" if week.minutes_at_or_above_intermediate is None
                   else f"{week.minutes_at_or_above_intermediate:.0f}")
        tip = (f"{week.week}: {week.sessions} sessions, {week.dose_sessions} with the dose, "
               f"{week.dose_days} dose days, {minutes} min at intermediate or above — "
               + ("met" if week.week_met else "not met"))
        parts.append(f'<g><title>{escape(tip)}</title>')
        if count:
            parts.append(f'<rect x="{x:.1f}" y="{y(count):.1f}" width="{bar_w:.1f}" '
                         f'height="{y(0) - y(count):.1f}" fill="{fill}" stroke="#333" '
                         f'stroke-width="0.5"/>')
        else:
            parts.append(f'<rect x="{x:.1f}" y="{y(0) - 1:.1f}" width="{bar_w:.1f}" '
                         f'height="1" fill="#999"/>')
        if slot >= 12:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y(count) - 3:.1f}" '
                         f'text-anchor="middle" class="val">{count}</text>')
        parts.append("</g>")
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y(0) + 12:.1f}" '
                         f'text-anchor="middle" class="tick">{_week_short(week.week)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(need):.1f}" '
                 f'y2="{y(need):.1f}" stroke="#000" stroke-width="1.2" '
                 f'stroke-dasharray="5 3"/>')
    parts.append(f'<text x="{width - right + 4}" y="{y(need) + 3:.1f}" '
                 f'class="tick">{need}/week</text>')
    if person.longest_streak_weeks:
        first = next(i for i, w in enumerate(weeks) if w.week == person.longest_streak_from)
        x0 = left + first * slot + 1
        x1 = left + (first + person.longest_streak_weeks) * slot - 1
        y_s = height - 16
        parts.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y_s}" y2="{y_s}" '
                     f'stroke="{STREAK_COLOUR}" stroke-width="5"/>')
        run = person.longest_streak_weeks
        text = f"{run} week{'s' if run != 1 else ''} in a row"
        half = len(text) * 3.1  # about half the text's width at 10 px
        centre = min(max((x0 + x1) / 2, half + 2), width - half - 2)
        parts.append(f'<text x="{centre:.1f}" y="{height - 3}" text-anchor="middle" '
                     f'class="streak">{text}</text>')
    parts.append("</svg>")
    verdict = ('<span class="ok">target met</span>' if person.target_met
               else '<span class="no">target not met</span>')
    caption = (f"<strong>{escape(person.participant)}</strong> — {person.weeks_met}/"
               f"{person.weeks} weeks met · longest run "
               f'<meter min="0" max="{person.target_weeks}" '
               f'value="{min(person.longest_streak_weeks, person.target_weeks)}" '
               f'title="{person.longest_streak_weeks} of {person.target_weeks} weeks">'
               f"</meter> {person.longest_streak_weeks}/{person.target_weeks} · {verdict}")
    if person.undated_sessions:
        caption += f" · {person.undated_sessions} undated"
    return f'<figure class="multiple">{"".join(parts)}<figcaption>{caption}</figcaption></figure>'


def _class_figure(counts: Counter[str], total: int) -> str:
    width, bar_h, gap, left, right = 560, 22, 8, 110, 110
    height = len(CLASSES) * (bar_h + gap) + gap
    peak = max(counts.values(), default=0) or 1
    label = "session classes: " + ", ".join(f"{c} {counts.get(c, 0)}" for c in CLASSES)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>']
    for i, name in enumerate(CLASSES):
        n = counts.get(name, 0)
        y = gap + i * (bar_h + gap)
        w = (width - left - right) * n / peak
        share = f"{100 * n / total:.0f} %" if total else "–"
        parts.append(f'<text x="{left - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" '
                     f'class="lab">{name}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{CLASS_FILL[name]}" stroke="#333" stroke-width="0.5"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}" '
                     f'class="lab">{n} ({share})</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------
# Tables


_SESSION_HEADINGS = (
    ("participant", "Participant", False, None),
    ("session", "Session", False, "links to the session picture"),
    ("start_time", "Start", False, "start time as recorded"),
    ("week", "ISO week", False, None),
    ("duration_s", "Duration (min)", True, None),
    ("session_class", "Class", False, None),
    ("dose_met", "Dose met", False, None),
    ("dose_met_at_s", "Dose met at (min)", True, "minutes from the start"),
    ("longest_bout_qualifying_minutes", "Longest bout (qualifying min)", True, None),
    ("minutes_at_or_above_intermediate", "Min ≥ intermediate", True,
     "minutes at intermediate or vigorous intensity"),
    ("n_bouts", "Bouts", True, None),
    ("intensity_source", "Intensity from", False, None),
    ("n_warnings", "Warnings", True, "hover for the warnings"),
)


def _sessions_table(data: StudyData, report_dir: Path) -> str:
    head = "".join(_th(k, label, num, tip) for k, label, num, tip in _SESSION_HEADINGS)
    body = []
    for i, row in enumerate(data.rows):
        summary = data.summaries[i] or {}
        folder = _session_folder(data.out_dir, row)
        picture = folder / "session.png"
        name = escape(row.session)
        if picture.is_file():
            href = escape(Path(os.path.relpath(picture, report_dir)).as_posix())
            name = f'<a href="{href}">{name}</a>'
        start = "" if row.start_time is None else row.start_time.isoformat()
        week = data.adherence.session_weeks[i] or ""
        dose = row.dose_met
        warnings = summary.get("warnings") or []
        cells = [
            _td(escape(row.participant or ""), col="participant"),
            _td(name, row.session, col="session"),
            _td(escape(start[:16].replace("T", " ")) if start else "<i>undated</i>",
                start, col="start_time"),
            _td(escape(week), week, col="week"),
            _td(_fmt_number(row.duration_s, 60), _cell(row.duration_s), "duration_s"),
            _td(_class_badge(row.session_class), row.session_class, "session_class"),
            _td("yes" if dose else "no", int(dose), "dose_met", "ok" if dose else "no"),
            _td(_fmt_number(row.dose_met_at_s, 60), _cell(row.dose_met_at_s),
                "dose_met_at_s"),
            _td(_fmt_number(row.longest_bout_qualifying_minutes),
                _cell(row.longest_bout_qualifying_minutes), "longest_bout_qualifying_minutes"),
            _td(_fmt_number(row.minutes_at_or_above_intermediate),
                _cell(row.minutes_at_or_above_intermediate),
                "minutes_at_or_above_intermediate"),
            _td(str(row.n_bouts), row.n_bouts, "n_bouts"),
            _td(escape(row.intensity_source.replace("_", " ")), row.intensity_source,
                "intensity_source"),
            _td(str(row.n_warnings), row.n_warnings, "n_warnings",
                title="\n".join(str(w) for w in warnings) or None),
        ]
        body.append(f'<tr data-output="{escape(folder.name)}">{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table id="sessions" class="sortable data"><caption>'
            f"{len(data.rows)} sessions, one row per row of sessions.csv</caption>"
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _participants_table(adherence: Adherence) -> str:
    headings = (("participant", "Participant", False), ("sessions", "Sessions", True),
                ("dated_sessions", "Dated", True), ("undated_sessions", "Undated", True),
                ("dose_sessions", "Dose sessions", True), ("first_week", "First week", False),
                ("last_week", "Last week", False), ("weeks", "Weeks", True),
                ("weeks_met", "Weeks met", True),
                ("longest_streak_weeks", "Longest run (weeks)", True),
                ("target_met", f"{adherence.rules.target_weeks}-week target met", False))
    head = "".join(_th(k, label, num, PARTICIPANT_COLUMNS[k]) for k, label, num in headings)
    body = []
    for p in adherence.participants:
        cells = []
        for key, _, _ in headings:
            value = getattr(p, key)
            if isinstance(value, bool):
                text = "yes" if value else "no"
                cells.append(_td(text, format_cell(value), key, "ok" if value else "no"))
            else:
                cells.append(_td(escape(format_cell(value)), format_cell(value), key))
        title = ("undated: " + ", ".join(p.undated)) if p.undated else None
        body.append(f'<tr data-participant="{escape(p.participant)}"'
                    + (f' title="{escape(title)}"' if title else "")
                    + f'>{"".join(cells)}</tr>')
    return (f'<table id="participants" class="sortable data"><caption>One row per participant '
            f"(participants.csv)</caption><thead><tr>{head}</tr></thead>"
            f'<tbody>{"".join(body)}</tbody></table>')


def _weekly_table(adherence: Adherence) -> str:
    headings = (("participant", "Participant", False), ("week", "ISO week", False),
                ("week_start", "Monday", False), ("sessions", "Sessions", True),
                ("dose_sessions", "Dose sessions", True), ("dose_days", "Dose days", True),
                ("minutes_at_or_above_intermediate", "Min ≥ intermediate", True),
                ("week_met", "Week met", False))
    head = "".join(_th(k, label, num, WEEKLY_COLUMNS[k]) for k, label, num in headings)
    body = []
    for w in adherence.weeks:
        cells = [_td(escape(format_cell(getattr(w, key))), format_cell(getattr(w, key)), key)
                 for key, _, _ in headings[:-1]]
        cells.append(_td("yes" if w.week_met else "no", format_cell(w.week_met), "week_met",
                         "ok" if w.week_met else "no"))
        body.append(f'<tr>{"".join(cells)}</tr>')
    return (f'<table id="weekly" class="sortable data"><caption>One row per participant and '
            f"ISO week (adherence.csv)</caption><thead><tr>{head}</tr></thead>"
            f'<tbody>{"".join(body)}</tbody></table>')


def _failures(failures: list[dict]) -> str:
    if not failures:
        return '<p id="failures-list">No input failed.</p>'
    items = []
    for f in failures:
        hint = f.get("hint") or ""
        if len(hint) > 400:
            hint = hint[:400] + " …"
        items.append(
            f"<li><code>{escape(str(f.get('input', '')))}</code> — "
            f"<strong>{escape(str(f.get('error', '')))}</strong>: "
            f"{escape(str(f.get('reason', '')))}"
            + (f'<br><span class="hint">{escape(hint)}</span>' if hint else "")
            + "</li>")
    return f'<ul id="failures-list">{"".join(items)}</ul>'


# ---------------------------------------------------------------------------------------
# The page


_CSS = """
:root{--ink:#1b1b1b;--muted:#555;--line:#d6d6d6;--ok:#0a5c8a;--no:#8a4b00}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);margin:0 auto;max-width:1240px;padding:1.2rem 1.5rem 3rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin:2rem 0 .6rem;
border-bottom:2px solid var(--ink);padding-bottom:.2rem}
p.meta,caption,.hint,figcaption{color:var(--muted)}
nav a{margin-right:1rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.5rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.5rem}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(310px,1fr));gap:.8rem}
figure.multiple{margin:0;border:1px solid var(--line);border-radius:6px;padding:.4rem}
figure.multiple figcaption{font-size:.85rem;color:var(--ink)}
.empty{height:150px;display:flex;align-items:center;justify-content:center;color:var(--muted)}
svg text{font:10px system-ui,"DejaVu Sans",sans-serif;fill:#333}
svg text.val{font-size:9px}svg text.streak{fill:#004d38;font-weight:600}
svg text.lab{font-size:12px}
meter{width:4.5rem;vertical-align:middle}
.legend{font-size:.85rem;color:var(--muted)}
.legend span.key{display:inline-block;width:1.4em;height:.9em;vertical-align:middle;
border:1px solid #333;margin:0 .3em 0 .8em}
.key-met{background:#0072B2}.key-streak{background:#007A5A;height:.35em!important}
.key-notmet{background:repeating-linear-gradient(135deg,#F2C46D 0 3px,#8A5A00 3px 4px)}
table.data{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
table.data caption{text-align:left;padding:.2rem 0}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:.25rem .4rem;
text-align:left;vertical-align:top}
table#sessions{font-size:.8rem}
table.data td{white-space:nowrap}
.scroll{overflow-x:auto}
svg.multiple{width:100%;height:auto;display:block}
table.data td[data-value]{font-variant-numeric:tabular-nums}
table.data thead th{position:sticky;top:0;background:#f3f3f3}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;
text-align:left;color:inherit}
th[aria-sort=ascending] button::after{content:" ▲"}
th[aria-sort=descending] button::after{content:" ▼"}
th button:focus-visible{outline:2px solid #0072B2}
tbody tr:nth-child(even){background:#fafafa}
td.ok{color:var(--ok);font-weight:600}td.no{color:var(--no)}
span.ok{color:var(--ok);font-weight:600}span.no{color:var(--no)}
.swatch{display:inline-block;width:1.1em;height:.8em;margin-right:.35em;
border:1px solid #333;vertical-align:baseline}
.sw-constant{background:repeating-linear-gradient(0deg,#0072B2 0 4px,#fff 4px 5px)}
.sw-intermediate{background:radial-gradient(#5A3E00 30%,transparent 35%) 0 0/5px 5px,#E69F00}
.sw-accelerating{background:repeating-linear-gradient(135deg,#5A1B00 0 4px,#fff 4px 5px)}
.sw-none{background:#EEEEEE}
pre{background:#f6f6f6;border:1px solid var(--line);padding:.7rem;overflow:auto;
font-size:.8rem;max-height:28rem}
details>summary{cursor:pointer;font-weight:600;margin:.6rem 0}
.notes{border-left:4px solid #E69F00;padding:.2rem .8rem;background:#fff8ec}
@media print{th button::after{content:""}nav{display:none}}
"""

_JS = """
(function(){
  function cellValue(row, index, numeric){
    var cell = row.cells[index];
    var v = cell.hasAttribute('data-value') ? cell.getAttribute('data-value')
                                             : cell.textContent.trim();
    if (numeric) { var x = parseFloat(v); return isNaN(x) ? -Infinity : x; }
    return v.toLowerCase();
  }
  function sortBy(th, direction){
    var table = th.closest('table');
    var headings = Array.prototype.slice.call(th.parentNode.children);
    var index = headings.indexOf(th);
    var numeric = th.getAttribute('data-type') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === 'descending' ? -1 : 1;
    rows.sort(function(a, b){
      var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function(r){ body.appendChild(r); });
    headings.forEach(function(h){ h.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', direction);
    table.setAttribute('data-sorted-by', th.getAttribute('data-key') + ':' + direction);
  }
  document.querySelectorAll('table.sortable th[data-key] button').forEach(function(b){
    b.addEventListener('click', function(){
      var th = b.parentNode;
      sortBy(th, th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending');
    });
  });
  function fromHash(){
    var m = /sort=(-?)([A-Za-z0-9_-]+)\\.([A-Za-z0-9_-]+)/.exec(location.hash);
    if (!m) return;
    var th = document.querySelector('table#' + m[2] + ' th[data-key="' + m[3] + '"]');
    if (th) sortBy(th, m[1] ? 'descending' : 'ascending');
  }
  fromHash();
  window.addEventListener('hashchange', fromHash);
  document.documentElement.setAttribute('data-script', 'ran');
})();
"""


def render_report(data: StudyData, report_path: Path, title: str | None = None) -> str:
    """The report page as HTML text (see the module text)."""
    report_dir = Path(report_path).resolve().parent
    a = data.adherence
    rules = a.rules
    title = title or f"Study report: {data.out_dir.resolve().name}"
    n = len(data.rows)
    dose_rows = sum(r.dose_met for r in data.rows)
    dated = [r.start_time for r in data.rows if r.start_time is not None]
    span = (f", {min(dated).date().isoformat()} to {max(dated).date().isoformat()}"
            if dated else "")
    undated = sum(p.undated_sessions for p in a.participants)
    on_target = sum(p.target_met for p in a.participants)
    versions = sorted({str(s.get("dosewatch_version")) for s in data.summaries
                       if s and s.get("dosewatch_version")})
    counts = Counter(r.session_class for r in data.rows)
    count_name = "dose days" if rules.count_same_day_once else "dose sessions"
    count_desc = ("dose days (days with at least one session that met the dose: two doses on "
                  "one day count once)" if rules.count_same_day_once
                  else "sessions that met the dose")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def link(name: str) -> str:
        path = data.out_dir / name
        if not path.exists():
            return ""
        href = escape(Path(os.path.relpath(path, report_dir)).as_posix())
        return f'<a href="{href}">{escape(name)}</a>'

    files = " · ".join(x for x in (link("sessions.csv"), link("adherence.csv"),
                                   link("adherence.parquet"), link("participants.csv"),
                                   link("participants.parquet"), link("failures.json")) if x)
    cards = [
        ("sessions", f"{n}", f"{n - undated} dated, {undated} undated"),
        ("participants", f"{len(a.participants)}", f"{on_target} reached the "
                                                     f"{rules.target_weeks}-week target"),
        ("dose met", f"{dose_rows}", "sessions with a bout of at least the dose"),
        ("failed inputs", f"{len(data.failures)}", "listed below"),
    ]
    cards_html = "".join(f'<div class="card" id="card-{key.replace(" ", "-")}">{escape(key)}'
                         f"<b>{value}</b><small>{escape(note)}</small></div>"
                         for key, value, note in cards)
    multiples = "".join(_participant_figure(p, a.weeks_of(p.participant), rules)
                        for p in a.participants)
    notes = ""
    if data.notes:
        notes = ('<div class="notes"><p>Problems met while reading the folder:</p><ul>'
                 + "".join(f"<li>{escape(x)}</li>" for x in data.notes) + "</ul></div>")
    class_rows = "".join(f"<tr><th scope=\"row\">{_class_badge(c)}</th>"
                         f'<td data-col="count" data-value="{counts.get(c, 0)}">'
                         f"{counts.get(c, 0)}</td></tr>" for c in CLASSES)
    other = sorted(set(counts) - set(CLASSES))
    if other:
        class_rows += "".join(f'<tr><th scope="row">{escape(c)}</th><td>{counts[c]}</td></tr>'
                              for c in other)
    versions_text = ", ".join(versions) if versions else "unknown (no summary.json read)"
    classifiers = sorted({str(s.get("classifier")) for s in data.summaries
                          if s and s.get("classifier")})
    classifiers_text = ", ".join(classifiers) if classifiers else "unknown"

    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dosewatch {escape(__version__)}">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
{_PATTERNS}
<header>
<h1>{escape(title)}</h1>
<p class="meta">{n} sessions from {len(a.participants)} participants{escape(span)};
{len(data.failures)} failed inputs. Folder <code>{escape(str(data.out_dir))}</code>.
Report written {now} by dosewatch {escape(__version__)}.</p>
<nav aria-label="sections"><a href="#adherence">Adherence</a><a href="#classes">Classes</a>
<a href="#sessions-section">Sessions</a><a href="#failures">Failures</a>
<a href="#configuration">Configuration</a></nav>
</header>
<main>
<div class="cards">{cards_html}</div>
{notes}
<section id="adherence" aria-labelledby="h-adherence">
<h2 id="h-adherence">Adherence per participant</h2>
<p>The reviews behind the dose recommend 3–4 sessions a week of 30–60 minutes for at
least 6 weeks; this study counts {rules.dose_sessions_per_week} a week over
{rules.target_weeks} weeks. Each bar is one ISO week
(Monday–Sunday) of a participant, from their first to their last dated session; its height
is the number of {count_desc}. A week
<em>meets</em> the recommendation with at least {rules.dose_sessions_per_week}
(dashed line). The green line under the bars is the longest run of weeks in a row that met
it, against the {rules.target_weeks}-week target. Weeks without a session are weeks not
met; sessions without a start time cannot be placed in a week and are counted as undated.</p>
<p class="legend" aria-hidden="true"><span class="key key-met"></span>week met
<span class="key key-notmet"></span>week not met <span class="key key-streak"></span>longest
run</p>
<div class="multiples">{multiples}</div>
<h3>Participants</h3>
{_participants_table(a)}
<details open><summary>Weekly table ({len(a.weeks)} participant-weeks)</summary>
{_weekly_table(a)}
</details>
</section>
<section id="classes" aria-labelledby="h-classes">
<h2 id="h-classes">Session classes</h2>
<p>The most frequent non-rest label of each session (see docs/definitions.md in dosewatch); <em>none</em> when the
session was all rest.</p>
{_class_figure(counts, n)}
<table class="data" id="class-counts" style="max-width:22rem"><caption>Sessions per class
</caption><thead><tr><th scope="col">Class</th><th scope="col">Sessions</th></tr></thead>
<tbody>{class_rows}</tbody></table>
</section>
<section id="sessions-section" aria-labelledby="h-sessions">
<h2 id="h-sessions">Sessions</h2>
<p>Click a column heading to sort. A session's name opens its picture.</p>
{_sessions_table(data, report_dir)}
</section>
<section id="failures" aria-labelledby="h-failures">
<h2 id="h-failures">Failed inputs</h2>
{_failures(data.failures)}
</section>
<section id="configuration" aria-labelledby="h-configuration">
<h2 id="h-configuration">Configuration and version</h2>
<p>Sessions analysed with dosewatch {escape(versions_text)}, classifier
{escape(classifiers_text)}; this report written with dosewatch {escape(__version__)}.
Adherence rules: {rules.dose_sessions_per_week} {count_name} a week, target
{rules.target_weeks} weeks in a row.</p>
<p>Configuration {escape(data.config_note)}:</p>
<pre id="config">{escape(data.config_text)}</pre>
<p>Tables: {files}</p>
</section>
</main>
<script>{_JS}</script>
</body>
</html>
"""


def write_report(
    out_dir: Path,
    out: Path | None = None,
    *,
    config: Config | str | Path | None = None,
    rules: AdherenceRules | None = None,
    title: str | None = None,
) -> Path:
    """Write the study report of an analysis folder; see the module text.

    Args:
        out_dir: the ``--out`` folder of ``dosewatch analyze``.
        out: the HTML file to write (default ``out_dir/report.html``).
        config: the configuration the analysis used (Config or TOML path); default
            ``out_dir/config.toml`` if present, else the defaults (the page says which).
        rules: adherence thresholds (default: from the configuration).
        title: the page title (default from the folder's name).

    Returns:
        The path of the report.

    Raises:
        InputError: ``out_dir`` holds no readable ``sessions.csv``.
    """
    out_dir = Path(out_dir)
    data = load_study(out_dir, config, rules)
    path = Path(out) if out is not None else out_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_report(data, path, title))
    return path


__all__ = ["StudyData", "load_study", "render_report", "write_report"]
