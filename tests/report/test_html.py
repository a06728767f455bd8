"""The page, section by section: text from the folder is shown escaped in every section,
the styles and script are inlined from the package's assets, and nothing points outside
the page or the analysis folder."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
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
    summary = {"warnings": [hostile], "dosewatch_version": hostile, "classifier": hostile}
    (out / "out-0" / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (out / "out-1" / "summary.json").unlink()  # a note naming the (hostile) folder
    (out / "config.toml").write_text(Config().to_toml(), encoding="utf-8")  # named too
    return load_study(out)


SECTIONS = {
    "header": lambda d, r: page._header(d, FOLDER),
    "notes": lambda d, r: page._notes(d),
    "adherence": lambda d, r: page._adherence_section(d),
    "classes": lambda d, r: page._classes_section(d),
    "sessions": page._sessions_section,
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
    shown = {"header": [FOLDER], "notes": [FOLDER], "configuration": [FOLDER, hostile],
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
