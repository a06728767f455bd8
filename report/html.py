"""The report page: one self-contained HTML file, assembled section by section.

The styles and the sorting script are real files beside this module
(``assets/report.css``, ``assets/report.js``), read when a page is rendered and inlined,
so the page needs no network and no other file to look right and to sort; the only links
are relative ones to the session pictures and tables in the analysis folder.

Each section is one function of the loaded :class:`~dosewatch.report.data.StudyData`.
A number a section shows is a cell of the tables or of ``summary.json``, or a count of
their rows; nothing about a session is computed again here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from importlib.resources import files
from pathlib import Path

from .. import __version__
from ..adherence import Adherence
from ..duplicates import counted
from .data import StudyData
from .figures import PATTERNS, class_figure, participant_figure
from .markup import relative_href
from .tables import (
    class_rows,
    days_table,
    failures_list,
    nonwear_list,
    participants_table,
    parts_list,
    sessions_table,
    skipped_list,
    wear_table,
    weekly_table,
    why_table,
)

DAYS_OPEN = 62
"""The per-day wear table is open (and prints) up to this many rows; folded above it (the
per-recording table keeps the valid days)."""

ASSETS = ("report.css", "report.js")
"""The files in ``assets/`` every page inlines."""

_TABLE_FILES = ("sessions.csv", "adherence.csv", "adherence.parquet", "participants.csv",
                "participants.parquet", "failures.json")


def asset(name: str) -> str:
    """The text of ``assets/NAME``, read now (so an edited asset shows on the next page)."""
    return (files(__package__) / "assets" / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------
# Sections, top to bottom


def _head(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dosewatch {escape(__version__)}">
<title>{escape(title)}</title>
<style>
{asset("report.css")}</style>
</head>"""


def _header(data: StudyData, title: str) -> str:
    """The title, what the folder holds, when the page was written, and the sections."""
    dated = [r.start_time for r in data.rows if r.start_time is not None]
    span = (f", {min(dated).date().isoformat()} to {max(dated).date().isoformat()}"
            if dated else "")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    n, people = len(counted(data.rows)), len(data.adherence.participants)
    earlier = len(data.copies.earlier)
    copies = len(data.rows) - n - earlier
    also = "; ".join(([f"{copies} copies of them, counted once"] if copies else [])
                     + ([f"{earlier} {'copy' if earlier == 1 else 'copies'} of sessions "
                         "analysed in another run or folder, not counted"] if earlier else []))
    also = f" (and {also})" if also else ""
    wear_link = '<a href="#wear-section">Wear time</a>' if data.wear.recordings else ""
    return f"""<header>
<h1>{escape(title)}</h1>
<p class="meta">{_count(n, "session")}{also} from {_count(people, "participant")}{escape(span)};
{len(data.failures)} failed inputs, {len(data.skipped)} files skipped.
Folder <code>{escape(str(data.out_dir))}</code>.
Report written {now} by dosewatch {escape(__version__)}.</p>
<nav aria-label="sections"><a href="#adherence">Adherence</a>{wear_link}
<a href="#classes">Classes</a><a href="#sessions-section">Sessions</a>
<a href="#why-section">Certainty and warnings</a><a href="#failures">Failures</a>
<a href="#configuration">Configuration</a></nav>
</header>"""


def _cards(data: StudyData) -> str:
    """Key figures: sessions, participants, doses met, failed inputs, skipped files."""
    a = data.adherence
    rows = counted(data.rows)  # a copy of another session is the same activity
    n = len(rows)
    undated = sum(p.undated_sessions for p in a.participants)
    on_target = sum(p.target_met for p in a.participants)
    earlier = len(data.copies.earlier)
    copies = len(data.rows) - n - earlier
    cards = [
        ("sessions", f"{n}", f"{n - undated} dated, {undated} undated"
         + (f"; {copies} copies of these not counted" if copies else "")
         + (f"; {earlier} {'copy' if earlier == 1 else 'copies'} of other runs' sessions "
            "not counted" if earlier else "")),
        ("participants", f"{len(a.participants)}",
         f"{on_target} reached the {a.rules.target_weeks}-week target"),
        ("dose met", f"{sum(r.dose_met for r in rows)}",
         "sessions with a bout of at least the dose"),
        ("failed inputs", f"{len(data.failures)}", "listed below"),
        ("skipped files", f"{len(data.skipped)}", "not session inputs; listed below"),
    ]
    known = [w for w in data.wear.recordings if w.days is not None]
    if known:  # wear-time validity, the first figure of an accelerometer study
        valid = sum(w.valid_days(data.valid_day_h) or 0 for w in known)
        days = sum(len(w.days or []) for w in known)
        cards.append(("valid days", f"{valid}", f"of {days}, worn ≥ {data.valid_day_h:g} h"))
    html = "".join(f'<div class="card" id="card-{key.replace(" ", "-")}">{escape(key)}'
                   f"<b>{value}</b><small>{escape(note)}</small></div>"
                   for key, value, note in cards)
    return f'<div class="cards">{html}</div>'


def _notes(data: StudyData) -> str:
    """Problems met while reading the folder, then what the report leaves out or counts
    once and why (empty when neither)."""
    html = ""
    if data.notes:
        html += ('<div class="notes"><p>Problems met while reading the folder:</p><ul>'
                 + "".join(f"<li>{escape(x)}</li>" for x in data.notes) + "</ul></div>")
    to_check = data.to_check
    if to_check:
        html += ('<div class="notes" id="to-check"><p>To check: analysed although truncated, '
                 "or with damaged parts left out as missing minutes (certainty lowered; the "
                 "verdict covers what the file holds):</p><ul>"
                 + "".join(_check_item(c) for c in to_check) + "</ul></div>")
    left_out = data.left_out
    if left_out:
        html += ('<div class="notes" id="left-out"><p>Left out of this report, or counted '
                 'once:</p><ul>' + "".join(f"<li>{escape(x)}</li>" for x in left_out)
                 + "</ul></div>")
    return html


def _check_item(entry: dict[str, str]) -> str:
    """One input analysed although truncated or damaged: what, why, which sessions."""
    what = "truncated" if entry["kind"] == "truncated" else "damaged parts left out"
    return (f'<li data-kind="{escape(entry["kind"])}"><code>{escape(entry["input"])}</code> — '
            f"{what}: {escape(entry['reason'])} (session{'s' if ',' in entry['sessions'] else ''}"
            f" {escape(entry['sessions'])})</li>")


OPEN_WEEKS_MAX = 60
"""The weekly table is shown open up to this many rows; a longer one is collapsed, so that
what follows it (the classes, the failed inputs) is not buried (review 2026-11-25c,
item 3)."""


def _weekly_details(a: Adherence) -> str:
    """The weekly table in a ``<details>``, open when it is short; its summary line says
    how many rows it holds."""
    n = len(a.weeks)
    shown = " open" if n <= OPEN_WEEKS_MAX else ""
    more = "" if shown else " — click to show"
    return (f"<details{shown}><summary>Weekly table ({n} participant-weeks{more})</summary>\n"
            f"{weekly_table(a)}\n</details>")


def _adherence_section(data: StudyData) -> str:
    """What the small multiples show, the multiples, and the two adherence tables."""
    a = data.adherence
    rules = a.rules
    count_desc = ("dose days (days with at least one session that met the dose: two doses on "
                  "one day count once)" if rules.count_same_day_once
                  else "sessions that met the dose")
    multiples = "".join(participant_figure(p, a.weeks_of(p.participant), rules)
                        for p in a.participants)
    return f"""<section id="adherence" aria-labelledby="h-adherence">
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
{participants_table(a)}
{_weekly_details(a)}
</section>"""


def _wear_section(data: StudyData) -> str:
    """Wear time of the free-living recordings (empty when the folder has none)."""
    wear = data.wear.recordings
    if not wear:
        return ""
    zone = data.adherence.rules.timezone or "UTC"
    n_days = sum(len(w.days or []) for w in wear)
    unknown = [w for w in wear if w.days is None]
    return f"""<section id="wear-section" aria-labelledby="h-wear">
<h2 id="h-wear">Wear time of the free-living recordings</h2>
<p>A band worn for days is split into its exercise sessions (see README, free-living
recordings). <em>Worn</em> time is the time with data that is not non-wear; <em>non-wear</em>
is time the band lay still (taken off); <em>no data</em> is time with neither acceleration
nor heart rate (a gap in the file). A day is <strong>valid</strong> when at least
{data.valid_day_h:g} hours of it were worn (<code>dosewatch report --valid-day-hours</code>
sets another threshold); days are calendar days in {escape(zone)}, and a recording's first
and last days, partly recorded, count only when they reach it too.</p>
{wear_table(data)}
{"".join(f'<p class="hint">{escape(w.name)}: {escape(w.note)}</p>' for w in unknown)}
<details{" open" if n_days <= DAYS_OPEN else ""}><summary>Per day ({n_days} days)</summary>
{days_table(data, zone)}
</details>
<h3>Non-wear periods</h3>
{nonwear_list(data, zone)}
</section>"""


def _why_section(data: StudyData) -> str:
    """Per session, why its certainty is what it is, and its warnings, as text."""
    return f"""<section id="why-section" aria-labelledby="h-why">
<h2 id="h-why">Certainty and warnings</h2>
<p>Why each verdict is as certain as it is, and what to keep in mind, as each session's
summary.json says (the Certainty and Warnings cells above link here).</p>
{why_table(data)}
</section>"""


def _classes_section(data: StudyData) -> str:
    """Sessions per class, as a figure and as a table."""
    counts = Counter(r.session_class for r in counted(data.rows))
    return f"""<section id="classes" aria-labelledby="h-classes">
<h2 id="h-classes">Session classes</h2>
<p>The most frequent non-rest label of each session (see docs/definitions.md in dosewatch);
<em>none</em> when the session was all rest. A copy of another session counts once.</p>
{class_figure(counts, sum(counts.values()))}
<table class="data" id="class-counts" style="max-width:22rem"><caption>Sessions per class
</caption><thead><tr><th scope="col">Class</th><th scope="col">Sessions</th></tr></thead>
<tbody>{class_rows(counts)}</tbody></table>
</section>"""


def _sessions_section(data: StudyData, report_dir: Path) -> str:
    return f"""<section id="sessions-section" aria-labelledby="h-sessions">
<h2 id="h-sessions">Sessions</h2>
<p>Click a column heading to sort. A session's name opens its picture.</p>
{sessions_table(data, report_dir)}
</section>"""


def _failures_section(data: StudyData) -> str:
    """The inputs that failed, then the files that are not session inputs: every file
    of the input folders is a session above, a failure, a skipped file or a part of
    another input here."""
    return f"""<section id="failures" aria-labelledby="h-failures">
<h2 id="h-failures">Failed inputs</h2>
{failures_list(data.failures)}
<h3 id="h-skipped">Skipped files</h3>
<p>Files met in the input folders that are not a kind of input dosewatch reads.</p>
{skipped_list(data.skipped)}
{parts_list(data.parts)}
</section>"""


def _table_links(data: StudyData, report_dir: Path,
                 tables: Mapping[str, Path] | None = None) -> str:
    """Links to the tables that exist, relative to the page: the folder's, but the
    adherence tables the report wrote where ``tables`` says (by name)."""
    paths = [(tables or {}).get(name, data.out_dir / name) for name in _TABLE_FILES]
    links = [f'<a href="{relative_href(path, report_dir)}">{escape(path.name)}</a>'
             for path in paths if path.exists()]
    return " · ".join(links)


def _configuration_section(data: StudyData, report_dir: Path,
                           tables: Mapping[str, Path] | None = None) -> str:
    """Versions and classifier of the analysis, the adherence rules, the configuration."""
    rules = data.adherence.rules
    count_name = "dose days" if rules.count_same_day_once else "dose sessions"
    versions = sorted({str(s.get("dosewatch_version")) for s in data.summaries
                       if s and s.get("dosewatch_version")})
    versions_text = ", ".join(versions) if versions else "unknown (no summary.json read)"
    classifiers = sorted({str(s.get("classifier")) for s in data.summaries
                          if s and s.get("classifier")})
    classifiers_text = ", ".join(classifiers) if classifiers else "unknown"
    return f"""<section id="configuration" aria-labelledby="h-configuration">
<h2 id="h-configuration">Configuration and version</h2>
<p>Sessions analysed with dosewatch {escape(versions_text)}, classifier
{escape(classifiers_text)}; this report written with dosewatch {escape(__version__)}.
Adherence rules: {rules.dose_sessions_per_week} {count_name} a week, target
{rules.target_weeks} weeks in a row.</p>
<p>Configuration {escape(data.config_note)}:</p>
<pre id="config">{escape(data.config_text)}</pre>
<p>Tables: {_table_links(data, report_dir, tables)}</p>
</section>"""


# ---------------------------------------------------------------------------------------
# The page


def render_report(data: StudyData, report_path: Path, title: str | None = None,
                  tables: Mapping[str, Path] | None = None) -> str:
    """The report page as HTML text (see :mod:`dosewatch.report`).

    Args:
        data: the loaded analysis folder.
        report_path: where the page will be written (links are made relative to it).
        title: the page title (default from the folder's name).
        tables: where the adherence tables were written, by name (default: in the
            folder).
    """
    report_dir = Path(report_path).resolve().parent
    title = title or f"Study report: {data.out_dir.resolve().name}"
    sections = [
        _head(title),
        "<body>",
        PATTERNS,
        _header(data, title),
        "<main>",
        _cards(data),
        _notes(data),
        _adherence_section(data),
        _wear_section(data),
        _classes_section(data),
        _sessions_section(data, report_dir),
        _why_section(data),
        _failures_section(data),
        _configuration_section(data, report_dir, tables),
        "</main>",
        f"<script>\n{asset('report.js')}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(sections) + "\n"


def _count(n: int, what: str) -> str:
    """``1 session``, ``2 sessions``."""
    return f"{n} {what}{'' if n == 1 else 's'}"
