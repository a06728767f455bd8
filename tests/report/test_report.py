"""The study report, end to end: simulated dated sessions of two participants (across the
2026/2027 year turn, with two doses on one day, an undated session and a broken input)
go through the real `dosewatch analyze` and `dosewatch report` commands, and the page is
rendered in a real headless Chromium; what the browser shows is compared with the CSVs."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dosewatch.report import write_report
from dosewatch.simulate import PlannedSession, simulate_study

CHROMIUM = Path("/usr/bin/chromium")


def at(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# P01: three dose days in 2026-W53 (Mon 28 Dec .. Fri 1 Jan) then one in 2027-W01.
# P02: two doses on Monday 28 Dec (one dose day), one session undated.
PLAN = [
    PlannedSession("P01", at("2026-12-28", 7), "bout_30plus"),
    PlannedSession("P01", at("2026-12-30", 7), "steady_intermediate"),
    PlannedSession("P01", at("2027-01-01", 10), "bout_30plus"),
    PlannedSession("P01", at("2027-01-05", 7), "bout_30plus"),
    PlannedSession("P01", at("2027-01-07", 7), "steady_light"),
    PlannedSession("P02", at("2026-12-28", 7), "bout_30plus"),
    PlannedSession("P02", at("2026-12-28", 19), "steady_intermediate"),
    PlannedSession("P02", None, "bout_just_short"),
]


def dosewatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dosewatch", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    inputs, results = root / "inputs", root / "results"
    simulate_study(inputs, PLAN, seed=3, modality="hr", fmt="csv")
    broken = inputs / "P02" / "broken"
    broken.mkdir()
    (broken / "hr.csv").write_text("time,value\n0,70\n1,71\n")
    (inputs / "P01" / "notes.txt").write_text("not a session\n")  # skipped, and listed
    run = dosewatch("analyze", str(inputs), "--out", str(results), "--classifier", "rules")
    assert run.returncode == 1, run.stderr  # the broken input is reported, the rest analysed
    run = dosewatch("report", str(results))
    assert run.returncode == 0, run.stderr
    report = results / "report.html"
    assert f"report: {report}" in run.stdout
    return results


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class Tables(HTMLParser):
    """Rows of every ``<table id=...>``: per row, the attributes of the ``<tr>`` and, per
    cell with a ``data-col``, its text and ``data-value``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.attrs: dict[str, dict[str, str | None]] = {}
        self._table: str | None = None
        self._row: dict | None = None
        self._cell: tuple[str, str | None] | None = None
        self._text: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
            if a.get(name):
                self.sources.append(a[name])
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
            self.attrs[self._table] = a
        elif tag == "html":
            self.attrs["html"] = a
        elif tag == "tr" and self._table:
            self._row = {"attrs": a, "cells": {}}
        elif tag == "td" and self._row is not None and a.get("data-col"):
            self._cell = (a["data-col"], a.get("data-value"))
            self._text = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            col, value = self._cell
            self._row["cells"][col] = ("".join(self._text).strip(), value)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row["cells"]:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)


def rendered_dom(page: Path, fragment: str, tmp_path: Path) -> str:
    """The DOM after the page's scripts ran, from a real headless Chromium."""
    assert CHROMIUM.is_file(), "Chromium is missing: `make test` installs it"
    run = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom",
         page.resolve().as_uri() + fragment],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.e2e
def test_the_browser_shows_one_row_per_session_and_the_csvs_numbers(study, tmp_path):
    dom = rendered_dom(study / "report.html", "#sort=-sessions.duration_s", tmp_path)
    page = Tables()
    page.feed(dom)
    assert page.attrs["html"].get("data-script") == "ran"

    sessions = read_csv(study / "sessions.csv")
    assert len(sessions) == len(PLAN)
    shown = page.tables["sessions"]
    assert len(shown) == len(sessions)
    assert sorted(r["attrs"]["data-output"] for r in shown) == sorted(
        Path(s["output"]).name for s in sessions)
    # Sorted on load by the URL fragment, longest first.
    durations = [float(r["cells"]["duration_s"][1]) for r in shown]
    assert durations == sorted(durations, reverse=True)
    assert page.attrs["sessions"].get("data-sorted-by") == "duration_s:descending"
    by_output = {Path(s["output"]).name: s for s in sessions}
    for r in shown:
        row = by_output[r["attrs"]["data-output"]]
        for col in ("duration_s", "dose_met_at_s", "longest_bout_qualifying_minutes",
                    "minutes_at_or_above_intermediate", "n_bouts", "session_class"):
            assert r["cells"][col][1] == row[col], col
        assert r["cells"]["dose_met"][0] == ("yes" if row["dose_met"] == "True" else "no")

    weekly = read_csv(study / "adherence.csv")
    shown = page.tables["weekly"]
    assert len(shown) == len(weekly) == 3  # P01: 2026-W53 and 2027-W01; P02: 2026-W53
    for r, want in zip(shown, weekly, strict=True):
        for col in ("participant", "week", "week_start", "sessions", "dose_sessions",
                    "dose_days", "minutes_at_or_above_intermediate", "week_met"):
            assert r["cells"][col][1] == want[col], col
    assert [(w["participant"], w["week"]) for w in weekly] == [
        ("P01", "2026-W53"), ("P01", "2027-W01"), ("P02", "2026-W53")]

    people = read_csv(study / "participants.csv")
    shown = page.tables["participants"]
    assert [r["attrs"]["data-participant"] for r in shown] == [p["participant"] for p in people]
    for r, want in zip(shown, people, strict=True):
        for col in ("sessions", "dated_sessions", "undated_sessions", "dose_sessions",
                    "weeks", "weeks_met", "longest_streak_weeks", "target_met"):
            assert r["cells"][col][1] == want[col], col
    p02 = people[1]
    assert (p02["undated_sessions"], p02["dated_sessions"]) == ("1", "2")

    # The failure is listed with its reason, the skipped file apart; the class counts add
    # up to the sessions.
    failed, skipped = dom.split('id="skipped-list"')
    assert "broken" in failed and "column" in failed and "notes.txt" not in failed
    assert "notes.txt" in skipped and "broken" not in skipped
    counts = [int(r["cells"]["count"][1]) for r in page.tables["class-counts"]]
    assert sum(counts) == len(sessions)


@pytest.mark.e2e
def test_the_browser_shows_why_each_verdict_is_as_certain_as_it_is(study, tmp_path):
    """Each session's certainty reasons and warnings, as its summary.json gives them, in
    the printed table (review 2026-11-25c, item 5); failures without exception classes."""
    import json

    dom = rendered_dom(study / "report.html", "", tmp_path)
    page = Tables()
    page.feed(dom)
    shown = {r["attrs"]["data-output"]: r for r in page.tables["why"]}
    sessions = read_csv(study / "sessions.csv")
    for row in sessions:
        output = Path(row["output"]).name
        summary = json.loads((study / output / "summary.json").read_text(encoding="utf-8"))
        reasons, warnings = summary["certainty"]["reasons"], summary["warnings"]
        if not reasons and not warnings:
            assert output not in shown
            continue
        cells = shown[output]["cells"]
        assert cells["certainty"][1] == row["certainty"] == summary["certainty"]["level"]
        assert (cells["reasons"][1], cells["warnings"][1]) == (str(len(reasons)),
                                                               str(len(warnings)))
        assert all(text in cells["reasons"][0] for text in reasons)
        assert all(text in cells["warnings"][0] for text in warnings)
    assert shown  # the simulated sessions have warnings (artefacts) or reasons
    failed = dom.split('id="failures-list"')[1].split("</ul>")[0]
    assert "What to do:" in failed and "Error</" not in failed and "Error:" not in failed


def test_two_doses_on_one_day_are_one_dose_day_in_the_written_table(study):
    weekly = {(w["participant"], w["week"]): w for w in read_csv(study / "adherence.csv")}
    p02 = weekly[("P02", "2026-W53")]
    found = [s for s in read_csv(study / "sessions.csv")
             if s["participant"] == "P02" and s["start_time"].startswith("2026-12-28")]
    assert p02["dose_sessions"] == str(sum(s["dose_met"] == "True" for s in found))
    assert p02["dose_days"] == ("1" if p02["dose_sessions"] != "0" else "0")
    assert p02["week_met"] == "False"


def test_the_page_needs_no_network(study):
    html = (study / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", html)
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    page = Tables()
    page.feed(html)
    assert page.sources  # the pictures and tables are linked ...
    for source in page.sources:  # ... relatively, to files that exist, or within the page
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", source), source
        if not source.startswith("#"):
            assert (study / source).is_file(), source
    assert 'role="img"' in html and "aria-label=" in html and "<th scope=\"col\"" in html


def test_numbers_are_read_from_the_tables_not_recomputed(study, tmp_path):
    """Edit sessions.csv by hand: the report (and its adherence tables) follow the CSV."""
    copy = tmp_path / "results"
    copy.mkdir()
    rows = read_csv(study / "sessions.csv")
    for row in rows:
        row["dose_met"] = "True"
        row["minutes_at_or_above_intermediate"] = "50"
    with (copy / "sessions.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    path = write_report(copy, copy / "other.html", title="edited")
    # A page other than report.html has its tables beside it, named after it.
    assert not (copy / "adherence.csv").exists()
    weekly = {(w["participant"], w["week"]): w
              for w in read_csv(copy / "other.adherence.csv")}
    assert weekly[("P01", "2027-W01")]["dose_sessions"] == "2"
    assert weekly[("P01", "2027-W01")]["minutes_at_or_above_intermediate"] == "100"
    html = path.read_text(encoding="utf-8")
    assert "<title>edited</title>" in html and "not readable" in html  # no summary.json here
    assert 'data-col="minutes_at_or_above_intermediate" data-value="100"' in html


def test_a_folder_without_results_is_a_clear_error(tmp_path):
    run = dosewatch("report", str(tmp_path))
    assert run.returncode == 3
    assert "sessions.csv: no sessions table here" in run.stderr
    assert "dosewatch analyze" in run.stderr


def test_a_page_written_elsewhere_leaves_the_folders_tables_as_they_were(study, tmp_path):
    """``report --config tz.toml --out elsewhere.html`` wrote the folder's adherence.csv
    with the other time zone (review 2026-11-25c, item 14): its tables go beside the page."""
    before = {name: (study / name).read_bytes() for name in (
        "adherence.csv", "adherence.parquet", "participants.csv", "participants.parquet")}
    tz = tmp_path / "tz.toml"
    tz.write_text('[adherence]\ntimezone = "Pacific/Pago_Pago"\n', encoding="utf-8")
    page = tmp_path / "pages" / "res-tz.html"
    run = dosewatch("report", str(study), "--config", str(tz), "--out", str(page))
    assert run.returncode == 0, run.stderr
    assert {name: (study / name).read_bytes() for name in before} == before
    assert f"adherence tables: {page.with_name('res-tz.adherence.csv')}" in run.stdout
    assert f"those in {study} are left as they were" in run.stdout
    # UTC-11: Monday 2026-12-28 07:00 UTC is Sunday evening there, in 2026-W52.
    weeks = {(w["participant"], w["week"]) for w in read_csv(
        page.with_name("res-tz.adherence.csv"))}
    assert ("P01", "2026-W52") in weeks
    assert ("P01", "2026-W52") not in {(w["participant"], w["week"])
                                       for w in read_csv(study / "adherence.csv")}
    for name in ("res-tz.adherence.parquet", "res-tz.participants.csv",
                 "res-tz.participants.parquet"):
        assert (page.parent / name).is_file(), name
    assert not [p.name for p in page.parent.iterdir() if p.name.startswith(".")]
    html = page.read_text(encoding="utf-8")
    assert 'href="res-tz.participants.csv"' in html and 'href="res-tz.adherence.csv"' in html
