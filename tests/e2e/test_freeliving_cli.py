"""``dosewatch analyze`` on free-living recordings, as a user would run it, then
``dosewatch report`` for the adherence tables (issue 12's acceptance: a multi-day file
yields exactly its exercise sessions, each within 2 minutes at each end, and correct
weekly adherence), and a rerun that resumes.

Inputs: three simulated days of one participant (``support/freeliving.py``: five exercise
sessions over two ISO weeks, non-wear, sleep, errands) and a stretch of another's with no
exercise at all (seven hours), both as Parquet session folders."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.freeliving import START, recording, write_recording

from dosewatch.freeliving import slice_session
from dosewatch.session import Profile

pytestmark = pytest.mark.e2e
EXE = Path(sys.executable).with_name("dosewatch")
COMMAND = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "dosewatch"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=600,
                          check=False)


def _table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_free_living_week_gives_its_sessions_and_weekly_adherence(tmp_path: Path) -> None:
    rec = recording()
    week = rec.session()
    write_recording(tmp_path / "study" / "P01" / "week", week)
    quiet = replace(slice_session(week, 12 * 3600, 19 * 3600, "quiet", ()),
                    profile=Profile(id="P02", placement="wrist"))
    write_recording(tmp_path / "study" / "P02" / "quiet", quiet)
    out = tmp_path / "out"

    done = _run("analyze", str(tmp_path / "study"), "--out", str(out), "--no-pictures", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 sessions analysed" in done.stdout
    assert "2 free-living recordings: 5 exercise sessions found" in done.stdout
    assert "quiet: no exercise session found" in done.stdout
    # P01's five sessions calibrated P01, and the console says who a participant is.
    assert (out / "calibration" / "P01.toml").is_file()
    assert "calibrated per participant: P01 (" in done.stdout
    assert "--no-calibration" in done.stdout

    rows = _table(out / "sessions.csv")
    truth = rec.truth.sessions
    assert len(rows) == len(truth)
    rows.sort(key=lambda r: r["start_time"])
    record = json.loads((out / "recordings" / "week.json").read_text())
    found = record["recordings"][0]["sessions"]
    assert [r["session"] for r in rows] == [s["session"] for s in found] == record["outputs"]
    for row, session, t in zip(rows, found, truth, strict=True):
        assert row["participant"] == "P01"
        assert abs(session["exercise"]["start_s"] - t.start_s) <= 120
        assert abs(session["exercise"]["end_s"] - t.end_s) <= 120
        start = datetime.fromisoformat(row["start_time"])
        assert START + timedelta(seconds=t.start_s - 7 * 60) <= start <= \
            START + timedelta(seconds=t.start_s)
        assert (row["dose_met"] == "True") == t.dose_met
    assert len(record["recordings"][0]["nonwear"]) == 2
    assert json.loads((out / "recordings" / "quiet.json").read_text())["outputs"] == []

    assert record["recordings"][0]["no_data"] == []  # where minutes without data are
    report = _run("report", str(out), "--valid-day-hours", "8")
    assert report.returncode == 0, report.stderr
    # Wear time per recording and per day (review 2026-11-25c, item 5): the page's days
    # add up to the recording's worn and non-wear minutes.
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="wear"' in html and "Valid days (≥ 8 h worn)" in html
    week = html.split('<tr data-recording="week">')[1].split("</tr>")[0]
    assert f'data-col="worn_minutes" data-value="{record["recordings"][0]["worn_minutes"]}"' \
        in week and 'data-col="sessions_found" data-value="5"' in week
    days = html.split('id="wear-days"')[1].split("</table>")[0]
    worn = [int(v) for v in re.findall(r'data-col="worn_minutes" data-value="(\d+)"', days)]
    nonwear = [int(v) for v in re.findall(r'data-col="nonwear_minutes" data-value="(\d+)"',
                                           days)]
    assert len(worn) >= 3 + 1  # P01's days (three and a part) and P02's one
    assert sum(worn) == sum(r["worn_minutes"] for r in (
        record["recordings"][0], json.loads((out / "recordings" / "quiet.json").read_text()
                                            )["recordings"][0]))
    assert sum(nonwear) == record["recordings"][0]["nonwear_minutes"] + json.loads(
        (out / "recordings" / "quiet.json").read_text())["recordings"][0]["nonwear_minutes"]
    weeks = [(w["participant"], w["week"], w["sessions"], w["dose_sessions"])
             for w in _table(out / "adherence.csv")]
    assert weeks == [("P01", "2026-W10", "3", "2"), ("P01", "2026-W11", "2", "1")]

    # In Python: read_all gives the same sessions; free_living=False the recording whole.
    import dosewatch

    sessions = dosewatch.read_all(tmp_path / "study" / "P01" / "week")
    assert [s.name for s in sessions] == record["outputs"]
    whole = dosewatch.read_all(tmp_path / "study" / "P01" / "week", free_living=False)
    assert len(whole) == 1 and whole[0].duration_s > 2.9 * 86_400

    again = _run("analyze", str(tmp_path / "study"), "--out", str(out), "--no-pictures",
                 "-q")
    assert again.returncode == 0
    assert (f"{len(rows)} sessions in the table (2 inputs unchanged since the last run, "
            "not analysed again)") in again.stdout
    assert "2 free-living recordings: 5 exercise sessions found" in again.stdout
    assert sorted(_table(out / "sessions.csv"), key=lambda r: r["start_time"]) == rows


def test_acceleration_alone_is_read_once_and_learns_no_empty_calibration(tmp_path: Path
                                                                          ) -> None:
    """Sessions without heart rate teach a calibration nothing: the batch does not write an
    empty one, and so does not read and analyse the week a second time for it."""
    from dosewatch.api import analyze_batch

    write_recording(tmp_path / "P01" / "week", recording().session(hr=False))
    results = []
    report = analyze_batch(tmp_path / "P01", tmp_path / "out", pictures=False,
                           on_result=lambda status, payload: results.append(status))
    assert results == ["ok"] and len(report.rows) == len(recording().truth.sessions)
    assert not list((tmp_path / "out" / "calibration").glob("*.toml"))  # evidence only
    assert report.recordings[0]["recording"] == "week" and report.recordings[0]["placement"] \
        == "wrist"
