"""The page, section by section: text from the folder is shown escaped in every section,
the styles and script are inlined from the package's assets, and nothing points outside
the page or the analysis folder."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from dosewatch.config import Config
from dosewatch.report import html as page
from dosewatch.report import load_study, render_report, write_report
from dosewatch.report.figures import PATTERNS

# The folder's name goes into the title, the header and the notes: no '/' allowed in it.
FOLDER = """res <b onclick=alert(1)>&"'"""


class Parsed(HTMLParser):
    """Every start tag with its attributes, and all text (entities decoded)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def shows(self, text: str) -> bool:
        """``text`` is on the page as text or in an attribute, once decoded."""
        return (text in "".join(self.text)
                or any(text in (v or "") for _, a in self.tags for v in a.values()))


@pytest.fixture
def hostile_study(study_folder, make_row, hostile):
    """A folder whose every free text is ``hostile``: participant, session name and class,
    warnings, versions, failures (and, with FOLDER, the folder's name)."""
    start = datetime(2026, 9, 7, 7, tzinfo=UTC)
    rows = [make_row(0, hostile, start, session=hostile, session_class=hostile),
            make_row(1, hostile, None, dose=False),
            make_row(2, hostile + "2", None)]  # only undated: the figure without weeks
    failures = [{"status": "failed", "input": hostile, "error": hostile, "reason": hostile,
                 "hint": hostile}]
    out = study_folder(rows, failures=failures, name=FOLDER)
    summary = {"warnings": [hostile], "dosewatch_version": hostile, "classifier": hostile,
               "certainty": {"level": "low", "reasons": [hostile]}, "source": hostile,
               "repairs": [f"{hostile}: the file was cut short"]}
    (out / "out-0" / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (out / "recordings").mkdir()
    recording = {"recording": hostile, "start_time": start.isoformat(), "duration_s": 7200.0,
                 "worn_minutes": 60, "nonwear_minutes": 60, "no_data_minutes": 0,
                 "nonwear": [{"start_s": 0.0, "end_s": 3600.0, "minutes": 60.0}],
                 "no_data": [], "sessions": [{"session": hostile, "start_s": 3600.0}]}
    (out / "recordings" / "r.json").write_text(json.dumps({"recordings": [recording]}),
                                               encoding="utf-8")
    (out / "out-1" / "summary.json").unlink()  # a note naming the (hostile) folder
    (out / "config.toml").write_text(Config().to_toml(), encoding="utf-8")  # named too
    return load_study(out)


SECTIONS = {
    "header": lambda d, r: page._header(d, FOLDER),
    "notes": lambda d, r: page._notes(d),
    "adherence": lambda d, r: page._adherence_section(d),
    "classes": lambda d, r: page._classes_section(d),
    "sessions": page._sessions_section,
    "why": lambda d, r: page._why_section(d),
    "wear": lambda d, r: page._wear_section(d),
    "failures": lambda d, r: page._failures_section(d),
    "configuration": page._configuration_section,
}


@pytest.mark.parametrize("name", SECTIONS)
def test_every_section_shows_the_folders_text_escaped(name, hostile_study, hostile):
    html = SECTIONS[name](hostile_study, hostile_study.out_dir)
    parsed = Parsed(html)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "img", "b"}, name
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a), name
    shown = {"header": [FOLDER], "notes": [FOLDER, hostile],
             "configuration": [FOLDER, hostile],
             "adherence": [hostile, hostile + "2"]}.get(name, [hostile])
    assert all(parsed.shows(text) for text in shown), name  # shown, not dropped


def test_the_whole_page_has_one_script_and_no_injected_markup(hostile_study):
    html = render_report(hostile_study, hostile_study.out_dir / "report.html")
    parsed = Parsed(html)
    assert [tag for tag, _ in parsed.tags].count("script") == 1
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a)
    assert parsed.tags[0][0] == "html" and html.endswith("</html>\n")


def test_the_assets_are_inlined_whole(study_folder, make_row):
    out = study_folder([make_row(0)], failures=[])
    html = write_report(out).read_text(encoding="utf-8")
    css, js = page.asset("report.css"), page.asset("report.js")
    assert f"<style>\n{css}</style>" in html and f"<script>\n{js}</script>" in html
    assert ":root{" in css and "function sortBy" in js  # the real files, not empty ones
    assert PATTERNS in html
    # Inlined text cannot end its element early or load anything.
    for name in page.ASSETS:
        text = page.asset(name)
        assert "</" not in text and "@import" not in text and "url(" not in text, name


def test_nothing_points_outside_the_page_or_the_folder(study_folder, make_row):
    classes = ("constant", "intermediate", "accelerating", "none")
    # Three sessions in one week (met), one the next week (not met): every fill is used.
    rows = [make_row(i, "P01", datetime(2026, 9, 7 + i + 5 * (i == 3), tzinfo=UTC),
                     session_class=classes[i]) for i in range(4)]
    out = study_folder(rows, failures=[])
    (out / "out-1" / "session.png").write_bytes(b"\x89PNG")
    report = out / "pages" / "report.html"  # elsewhere: links are relative to the page
    html = write_report(out, report).read_text(encoding="utf-8")
    assert not re.search(r"https?:|//", re.sub(r"<script>.*?</script>", "", html, flags=re.DOTALL))
    parsed = Parsed(html)
    ids = {a["id"] for _, a in parsed.tags if a.get("id")}
    links = [a["href"] for tag, a in parsed.tags if tag == "a"]
    sources = [v for _, a in parsed.tags for k, v in a.items()
               if k in ("src", "srcset", "action", "poster", "data", "xlink:href")]
    assert not sources and "<link" not in html
    assert "../out-1/session.png" in links and "../sessions.csv" in links
    for href in links:
        if href.startswith("#"):
            assert href[1:] in ids, href  # the navigation reaches its sections
        else:
            assert (report.parent / href).resolve().is_file(), href
    fills = set(re.findall(r'fill="url\(#([\w-]+)\)"', html))
    assert len(fills) == 4 and fills <= ids  # every hatch the figures use is on the page


def test_the_cards_count_rows_of_the_tables(study_folder, make_row):
    rows = [make_row(0, "P01", datetime(2026, 9, 7, tzinfo=UTC)),
            make_row(1, "P01", None, dose=False), make_row(2, "P02", None)]
    failures = [{"input": "x", "reason": "y"}, {"status": "skipped", "input": "a.txt",
                                                  "reason": "not an input"}]
    out = study_folder(rows, failures=failures)
    cards = Parsed(page._cards(load_study(out)))
    # Sessions, participants, doses met, failed inputs, skipped files.
    assert [t for t in cards.text if t.isdigit()] == ["3", "2", "2", "1", "1"]
    assert cards.shows("1 dated, 2 undated")


def test_failed_inputs_and_skipped_files_are_listed_apart(study_folder, make_row):
    failures = [{"status": "failed", "input": "bad.fit", "error": "InputError",
                 "reason": "truncated", "hint": "h" * 500},
                {"status": "skipped", "input": "notes.txt", "reason": "not an input",
                 "hint": "convert it"}]
    data = load_study(study_folder([make_row(0)], failures=failures))
    html = page._failures_section(data)
    failed, skipped = html.split('id="skipped-list"')
    assert "bad.fit" in failed and "notes.txt" not in failed
    # The reason and what to do, not the exception's class (review 2026-11-25c, item 5):
    # the class stays in an attribute only.
    assert '<li data-error="InputError"><code>bad.fit</code> — truncated<br>' in failed
    assert ">InputError<" not in failed and ": InputError" not in failed
    assert "What to do: " + "h" * 400 + " …" in failed
    assert "<code>notes.txt</code> — not an input<br>" in skipped and "<strong>" not in skipped
    assert "1 failed inputs, 1 files skipped" in page._header(data, "t")
    empty = page._failures_section(load_study(study_folder([make_row(0)], [], name="none")))
    assert "No input failed." in empty and "No file was skipped." in empty


def test_certainty_reasons_and_warnings_are_on_the_page_as_text(study_folder, make_row):
    """Review 2026-11-25c, item 5: the reasons for a certainty and the warnings' text are
    printed in a table (a tooltip does not print), and the session's cells link there."""
    rows = [make_row(0), make_row(1), make_row(2, session="quiet")]
    out = study_folder(rows)
    reasons = ["intensity comes from acceleration with population cut-points",
               "HR_max 135 bpm is well below what their age predicts"]
    summary = {"warnings": ["heart rate: 4 s removed as artefact (spike)"],
               "certainty": {"level": "medium", "reasons": reasons}}
    (out / "out-1" / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (out / "out-2" / "summary.json").write_text("{}", encoding="utf-8")
    data = load_study(out)
    why = page._why_section(data)
    assert why.count("<tr id=") == 1 and 'id="why-out-1"' in why  # s0 has no warnings
    assert all(f"<li>{r}</li>" in why for r in reasons)
    assert "<li>heart rate: 4 s removed as artefact (spike)</li>" in why
    assert "(2 others without either)" in why
    table = page._sessions_section(data, out)
    cell = re.search(r'<td data-col="certainty"[^>]*>[^<]*<a href="#why-out-1">', table)
    assert cell and 'title="' + "\n".join(reasons) + '"' in cell.group(0)
    assert '<a href="#why-out-1">1</a>' in table  # the warnings count links there too
    assert '<td data-col="certainty" data-value="low">low</td>' in table  # nothing to link
    empty = page._why_section(load_study(study_folder([make_row(0)], name="plain")))
    assert 'id="why-none"' in empty


def test_inputs_analysed_truncated_or_damaged_are_listed_to_check(study_folder, make_row):
    """Review 2026-11-25c, item 5: read from the sessions' repairs, once per input, with
    the rule the console uses (dosewatch.session.truncation and damage)."""
    rows = [make_row(0, session="a"), make_row(1, session="b"), make_row(2, session="c")]
    out = study_folder(rows)
    cut = "the header announces 222048 pages, the file holds 17: the file was cut short"
    bad = "dropped 6 of 145 data blocks with a checksum that does not match (damaged)"
    for i, (source, repairs) in enumerate([("in/cut.bin", ["calibrated", cut]),
                                           ("in/cut.bin", [cut]),
                                           ("in/ax3.cwa", [bad, "rate 100 Hz"])]):
        summary = {"source": source, "repairs": repairs}
        (out / f"out-{i}" / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    data = load_study(out)
    assert data.to_check == [
        {"input": "in/cut.bin", "kind": "truncated", "reason": cut, "sessions": "a, b"},
        {"input": "in/ax3.cwa", "kind": "damaged", "reason": bad, "sessions": "c"}]
    notes = page._notes(data)
    assert 'id="to-check"' in notes
    assert f"<code>in/cut.bin</code> — truncated: {cut} (sessions a, b)" in notes
    assert f"<code>in/ax3.cwa</code> — damaged parts left out: {bad} (session c)" in notes
    lines: list[str] = []
    write_report(out, checks=lines)
    assert lines == [f"in/cut.bin: {cut}", f"in/ax3.cwa: {bad}"]


def test_the_start_column_names_its_zone_and_shows_the_time_in_it(study_folder, make_row):
    """Review 2026-11-25c, item 2: a Monday 01:00 in New York is 06:00 UTC."""
    from dosewatch.adherence import AdherenceRules
    from dosewatch.report.tables import sessions_table

    out = study_folder([make_row(0, "P08", datetime(2026, 11, 9, 6, 0, tzinfo=UTC))])
    utc = Parsed(sessions_table(load_study(out), out / "report.html"))
    assert utc.shows("Start (UTC)") and utc.shows("2026-11-09 06:00")
    zoned = load_study(out, rules=AdherenceRules(timezone="America/New_York"))
    local = sessions_table(zoned, out / "report.html")
    assert Parsed(local).shows("Start (America/New_York)")
    assert Parsed(local).shows("2026-11-09 01:00") and "2026-W46" in local
    assert 'data-value="2026-11-09T06:00:00+00:00"' in local  # the value of sessions.csv


def test_a_long_weekly_table_is_collapsed_with_its_row_count(study_folder, make_row):
    """Review 2026-11-25c, item 3: 1,400 open rows buried the failed inputs."""
    monday = datetime(2026, 1, 5, 8, tzinfo=UTC)
    long_rows = [make_row(i, "P01", monday + i * timedelta(weeks=35)) for i in range(3)]
    long = page._adherence_section(load_study(study_folder(long_rows, name="long")))
    assert "<details><summary>Weekly table (71 participant-weeks — click to show)" in long
    short_rows = [make_row(i, "P01", monday + timedelta(weeks=w))
                  for i, w in enumerate((0, 30, 59))]
    short = page._adherence_section(load_study(study_folder(short_rows, name="short")))
    assert "<details open><summary>Weekly table (60 participant-weeks)</summary>" in short


def test_a_session_years_from_the_others_is_set_apart_and_named(study_folder, make_row):
    rows = [make_row(0, "P05", datetime(2000, 1, 3, 9, tzinfo=UTC), session="old"),
            make_row(1, "P05", datetime(2026, 11, 2, 9, tzinfo=UTC)),
            make_row(2, "P05", datetime(2026, 11, 4, 9, tzinfo=UTC))]
    data = load_study(study_folder(rows))
    (person,) = data.adherence.participants
    assert person.weeks == 1 and person.apart == ("old",)
    (line,) = [x for x in data.left_out if "set apart" in x]
    assert line.startswith("P05: 1 session set apart") and line.endswith(": old")
    assert "set apart from the weekly table" in page._notes(data)
