"""The report says what it leaves out and why, with the numbers `dosewatch analyze` gave:
sessions an earlier run left in the folder (in no table), and copies counted once."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest
from support.activity_files import T0, points, tcx_text, write

from dosewatch.cli import main
from dosewatch.report import write_report

STORED = [
    {"status": "stored", "input": "/in/w1/P01/a.tcx", "output": "/out/a", "counted": True,
     "replaced": False, "reason": "..."},
    {"status": "stored", "input": "/in/w1/P01/b.tcx", "output": "/out/b", "counted": False,
     "replaced": False, "reason": "..."},
    {"status": "stored", "input": "/in/w1/P01/run.tcx", "output": "/out/run",
     "counted": True, "replaced": True, "reason": "..."},
    {"status": "failed", "input": "/in/bad.fit", "reason": "broken", "hint": ""},
]


def test_the_page_and_the_console_lines_say_what_is_left_out(study_folder, make_row):
    copy = replace(make_row(2, session="s2-copy"), duplicate_of="s1", content_digest="d")
    rows = [replace(make_row(1), content_digest="d"), make_row(3), copy]
    out = study_folder(rows, failures=STORED)
    said: list[str] = []
    page = write_report(out, left_out=said).read_text(encoding="utf-8")
    text = " | ".join(said)
    assert "holds 2 sessions from 2 inputs not given in its last analysis" in text
    assert "/out/run held the session of /in/w1/P01/run.tcx" in text
    assert "2 earlier sessions of the same participants count in their calibration" in text
    assert "1 session is a copy of another" in text and "counted once" in text
    assert "s2-copy = s1" in text
    notes = re.search(r'<div class="notes" id="left-out">(.*?)</div>', page, re.S)
    assert notes is not None
    participants = len({r.participant for r in rows})
    assert f" from {participants} participant{'' if participants == 1 else 's'}" in page
    for line in said:  # the page says the same, line by line
        assert html.escape(line) in notes.group(1)


def test_nothing_left_out_says_nothing(study_folder, make_row):
    said: list[str] = []
    page = write_report(study_folder([make_row(1)], failures=[]), left_out=said)
    assert said == [] and 'id="left-out"' not in page.read_text(encoding="utf-8")


def _week(folder: Path, week: int, copy: bool = False) -> Path:
    (folder / "P01").mkdir(parents=True)
    for day, hr in enumerate((165.0, 150.0)):
        start = T0 + 86_400.0 * (7 * (week - 1) + day)
        write(folder / "P01" / f"w{week}d{day}.tcx",
              tcx_text([points(900, hr=hr, start=start)]))
    if copy:
        write(folder / "P01" / f"w{week}d0-copy.tcx.gz",
              (folder / "P01" / f"w{week}d0.tcx").read_text(encoding="utf-8"))
    return folder


def _numbers(text: str) -> list[tuple[str, ...]]:
    """The counts of the left-out notes: sessions/inputs held, earlier sessions counted
    in the calibration, copies."""
    return [
        *re.findall(r"also holds (\d+) sessions? from (\d+) inputs?", text),
        *re.findall(r"(\d+) earlier sessions? of the same participants count", text),
        *re.findall(r"(\d+) sessions? (?:is a copy of another|are copies of others)", text),
    ]


@pytest.mark.e2e
def test_report_says_what_analyze_said_it_left_out(tmp_path, capsys):
    w1, w2 = _week(tmp_path / "w1", 1), _week(tmp_path / "w2", 2, copy=True)
    out = tmp_path / "out"
    assert main(["analyze", str(w1), "--out", str(out), "-q", "--no-pictures"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(w2), "--out", str(out), "-q", "--no-pictures"]) == 0
    analyzed = capsys.readouterr()
    assert main(["report", str(out)]) == 0
    reported = capsys.readouterr()
    said = _numbers(analyzed.out + analyzed.err)
    assert said == [("2", "2"), "2", "1"]  # 2 from week 1 (both counted), 1 copy
    assert _numbers(reported.out + reported.err) == said
    assert _numbers((out / "report.html").read_text(encoding="utf-8")) == said


def test_the_report_command_says_its_notes_before_its_path(study_folder, make_row,
                                                           monkeypatch, capsys):
    """Review 2026-11-25b, item 11: the notes (stderr) used to follow the path (stdout),
    so a user read the path and missed them; the path is the last line, as `dosewatch
    analyze` ends with its table."""
    import sys

    out = study_folder([make_row(1)], failures=STORED)
    monkeypatch.setattr(sys, "stderr", sys.stdout)  # one stream: the order as printed
    assert main(["report", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("note: ") and len(lines) > 2
    assert lines[-1] == f"report: {out / 'report.html'}"


def test_a_path_under_the_working_folder_is_shown_relative(tmp_path, monkeypatch):
    """Review 2026-11-25b, item 11: an earlier run records its sessions by absolute
    paths; the console shows them relative to the working folder, as the paths a user
    types, and leaves a path elsewhere as it is."""
    import os

    from dosewatch.report.notes import shown_path

    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "out" / "calA" / "run") == os.path.join("out", "calA", "run")
    assert shown_path(str(tmp_path)) == "."
    assert shown_path("out/x") == "out/x"
    outside = tmp_path.parent / "elsewhere"
    assert shown_path(outside) == str(outside)
