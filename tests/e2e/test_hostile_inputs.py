"""Issue 14, recipe by recipe: what a hostile or unlucky user did to the batch, and what
must happen instead. Each test is one recipe of the issue (its title says which); each
failed on the main branch before the fix (see the commit message for how).

The promises: inputs are read-only and nothing outside the output folder is written;
a bad input is one failure with a reason, never a traceback, a hang, gigabytes of memory
or a stopped batch; data that is not there is never made up; an error message names the
problem and never quotes a file beyond a short, sanitised header.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from support.hostile import (
    TRIGGER_EPOCHS,
    dosewatch,
    hr_session,
    make_deep,
    remove_deep,
    tree_state,
    write_hr_csv,
)
from support.paths import REAL

from dosewatch.batch import run_batch
from dosewatch.config import Config
from dosewatch.ingest.discover import discover
from dosewatch.recording import RecordingWriter

REAL_FIT = REAL / "GoldenCheetah__GoldenCheetah/Move_2020_01_15_19_27_16_Running.fit"
T0 = 1_700_000_000.0


def _failures(out: Path) -> list[dict[str, str]]:
    return json.loads((out / "failures.json").read_text())


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "sessions.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _summary(out: Path, name: str) -> dict:
    return json.loads((out / name / "summary.json").read_text())


def _no_traceback(run) -> None:  # noqa: ANN001 - support.hostile.Run
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr


# --------------------------------------------------------------------------- data destroyed


@pytest.mark.parametrize("where", ["X", "X/sub"])
def test_out_pointing_at_the_input_folder_is_refused_and_deletes_nothing(tmp_path, where):
    study = tmp_path / "study"
    hr_session(study / "run1")
    before = tree_state(tmp_path)
    out = study if where == "X" else study / "sub"
    run = dosewatch("analyze", study, "--out", out, "-q")
    assert run.returncode == 5, run.stderr
    _no_traceback(run)
    assert "dosewatch never writes into its inputs" in run.stderr
    assert tree_state(tmp_path) == before  # the input is byte-identical, nothing added
    # ...and an output folder that would hold the input is refused too.
    run = dosewatch("analyze", study / "run1", "--out", study, "-q")
    assert run.returncode == 5 and "outputs and inputs must not mix" in run.stderr
    assert tree_state(tmp_path) == before


def test_users_own_old_and_partial_folders_are_never_deleted(tmp_path):
    hr_session(tmp_path / "in" / "run1", minutes=5)
    # An existing folder of the user's: refused whole, not written into.
    mine = tmp_path / "mine"
    (mine / ".keep.old").mkdir(parents=True)
    (mine / ".keep.old" / "notes.txt").write_text("mine")
    (mine / ".draft.1234abcd.partial").mkdir()
    before = tree_state(mine)
    run = dosewatch("analyze", tmp_path / "in", "--out", mine, "-q")
    assert run.returncode == 5 and "files dosewatch did not write" in run.stderr
    assert tree_state(mine) == before
    # In dosewatch's own output folder, a user's folders survive a rerun too.
    out = tmp_path / "out"
    assert dosewatch("analyze", tmp_path / "in", "--out", out, "-q").returncode == 0
    (out / ".x.old").mkdir()
    (out / ".y.0badcafe.partial").mkdir()
    assert dosewatch("analyze", tmp_path / "in", "--out", out, "-q", "--force").returncode == 0
    assert (out / ".x.old").is_dir() and (out / ".y.0badcafe.partial").is_dir()


# --------------------------------------------------------------------------- batch stopped


def test_a_symlink_loop_in_an_input_folder_is_skipped_with_its_reason(tmp_path):
    study = tmp_path / "study"
    hr_session(study / "run1", minutes=5)
    os.symlink("..", study / "run1" / "up")  # a folder loop
    os.symlink("self.fit", study / "self.fit")  # a link to itself
    os.symlink("b.gpx", study / "a.gpx")
    os.symlink("a.gpx", study / "b.gpx")
    inventory = discover([study])
    assert inventory.inputs == [study / "run1"]
    reasons = {Path(s.path).name: s.reason for s in inventory.skipped}
    assert reasons["self.fit"].startswith("a link loop")
    assert reasons["a.gpx"].startswith("a link loop") and reasons["b.gpx"].startswith("a link")
    report = run_batch(inventory, tmp_path / "out", pictures=False, progress=False)
    assert len(report.rows) == 1 and not report.failures


def test_an_input_named_like_the_batch_files_cannot_take_their_place(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    (study / "sessions.csv.fit").write_bytes(REAL_FIT.read_bytes())
    hr_session(study / "failures.json", minutes=5)  # a session folder with that name
    hr_session(study / "CONFIG.TOML", minutes=5)
    out = tmp_path / "out"
    report = run_batch(discover([study]), out, pictures=False, progress=False)
    assert not report.failures and len(report.rows) == 3
    # The batch's own files are the batch's, and every session has a folder of its own.
    assert (out / "sessions.csv").is_file() and (out / "failures.json").is_file()
    assert (out / "config.toml").is_file()
    names = {Path(r.output).name for r in report.rows}
    assert len(names) == 3
    assert all(n.split("-")[0] in ("sessions.csv", "failures.json", "CONFIG.TOML")
               and n.lower() not in ("sessions.csv", "failures.json", "config.toml")
               for n in names)
    assert len(_rows(out)) == 3


def test_a_folder_1100_levels_deep_is_searched_to_a_limit_and_said(tmp_path):
    study = tmp_path / "study"
    hr_session(study / "run1", minutes=5)
    make_deep(study, 1100)
    try:
        inventory = discover([study])
        assert inventory.inputs == [study / "run1"]
        deep_entries = [s for s in inventory.skipped if "folders deep" in s.reason]
        assert len(deep_entries) == 1 and "nested more than 32 folders deep" in \
            deep_entries[0].reason
        report = run_batch(inventory, tmp_path / "out", pictures=False, progress=False)
        assert len(report.rows) == 1 and not report.failures
    finally:
        remove_deep(study)  # pytest's clean-up of old temporary folders recurses


def test_out_naming_an_existing_file_is_a_clear_error(tmp_path):
    hr_session(tmp_path / "in" / "run1", minutes=5)
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    run = dosewatch("analyze", tmp_path / "in", "--out", target, "-q")
    assert run.returncode == 5 and "exists and is not a folder" in run.stderr
    _no_traceback(run)
    assert target.read_text() == "keep me"


# --------------------------------------------------------------------------- hangs, memory


def test_fifos_named_like_inputs_never_hang_the_batch(tmp_path):
    study = tmp_path / "study"
    hr_session(study / "run1", minutes=5)
    os.mkfifo(study / "x.gpx")
    os.mkfifo(study / "x.dwrec")
    os.mkfifo(study / "run1" / "acc.csv")  # inside a session folder
    os.mkfifo(tmp_path / "given.gpx")  # on the command line
    run = dosewatch("analyze", study, tmp_path / "given.gpx", "--out", tmp_path / "out", "-q",
                    timeout=60)
    _no_traceback(run)
    assert run.returncode == 1
    failures = {Path(f["input"]).name: f for f in _failures(tmp_path / "out")}
    assert failures["given.gpx"]["reason"] == "not a regular file: a FIFO (named pipe)"
    assert failures["x.gpx"]["status"] == "skipped"
    assert failures["x.dwrec"]["reason"].startswith("not a regular file: a FIFO")
    assert "acc.csv is not a regular file" in failures["run1"]["reason"]


@pytest.mark.parametrize("stray", [3e8, 2.5e11, 1.7e9 + 3e7], ids=["from-start",
                                                                    "beyond-2100", "a-year"])
def test_one_stray_time_cannot_allocate_gigabytes(tmp_path, stray):
    t = (T0 if stray > 1e9 else 0.0) + np.arange(1801.0)
    t[900] = stray
    write_hr_csv(tmp_path / "in" / "s1" / "hr.csv", t, 120.0)
    run = dosewatch("analyze", tmp_path / "in", "--out", tmp_path / "out", "-q",
                    "--no-pictures", memory_mb=1500)
    assert run.returncode == 0, run.stderr
    summary = _summary(tmp_path / "out", "s1")
    assert summary["duration_s"] < 1810
    assert any("cut off 1 samples" in r for r in summary["repairs"])


def test_a_gzip_bomb_is_refused_before_it_fills_memory(tmp_path):
    folder = tmp_path / "in" / "s1"
    folder.mkdir(parents=True)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [squeeze.compress(b"time,hr\n")]
    block = b"1,60\n" * (1 << 20)
    parts += [squeeze.compress(block) for _ in range(300)]  # 1.5 GB of text in 2 MB
    parts.append(squeeze.flush())
    (folder / "hr.csv.gz").write_bytes(b"".join(parts))
    run = dosewatch("analyze", tmp_path / "in", "--out", tmp_path / "out", "-q",
                    "--no-pictures", memory_mb=1500)
    assert run.returncode == 1, run.stderr
    (failure,) = _failures(tmp_path / "out")
    assert "decompresses to more than" in failure["reason"]
    assert "decompression bomb" in failure["reason"]


def _recording(path: Path, times: np.ndarray, bpm: float = 120.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with RecordingWriter(path) as writer:
        strap = writer.add_device("AA:BB:CC:DD:EE:FF", "strap", ["180d"], "hr")
        for t in times.tolist():
            writer.add_hr(strap, None, t, bpm)
    return path


def test_a_recording_with_one_zero_time_is_read_without_the_stray(tmp_path):
    times = T0 + np.arange(1801.0)
    times[900] = 0.0
    _recording(tmp_path / "in" / "zero.dwrec", times)
    run = dosewatch("analyze", tmp_path / "in", "--out", tmp_path / "out", "-q",
                    "--no-pictures", memory_mb=1500)
    assert run.returncode == 0, run.stderr
    summary = _summary(tmp_path / "out", "zero")
    assert summary["start_time"].startswith("2023-11-14T22:13:20")
    assert any("cut off 1 samples" in r for r in summary["repairs"])


# --------------------------------------------------------------------------- silently wrong


def test_two_readings_a_day_apart_are_no_dose_and_say_so(tmp_path):
    write_hr_csv(tmp_path / "in" / "s1" / "hr.csv", [T0, T0 + 86_400], 150.0)
    # A day long, it is a free-living recording: no exercise session in it, and it says so.
    report = run_batch([tmp_path / "in" / "s1"], tmp_path / "out", pictures=False,
                       progress=False)
    assert report.rows == [] and not report.failures
    (recording,) = report.recordings
    assert recording["sessions"] == [] and recording["active_minutes"] == 0
    # Analysed whole, as one session: no minute holds enough of it to analyse, so it is
    # refused with the reason, not a 'none' session counted in adherence (issue 12 review).
    whole = Config.from_dict({"free_living": {"enabled": False}})
    report = run_batch([tmp_path / "in" / "s1"], tmp_path / "out", pictures=False,
                       progress=False, config=whole)
    assert report.rows == []
    (failure,) = report.failures
    assert failure["reason"].startswith("no minute has heart rate or acceleration")
    # Three readings a minute apart among them are a little data, said in the summary.
    write_hr_csv(tmp_path / "in" / "s2" / "hr.csv",
                 [T0, *(T0 + 43_200 + np.arange(0.0, 180.0, 1.0)), T0 + 86_400], 150.0)
    report = run_batch([tmp_path / "in" / "s2"], tmp_path / "out2", pictures=False,
                       progress=False, config=whole)
    (row,) = report.rows
    assert not row.dose_met and row.longest_bout_qualifying_minutes <= 3
    summary = _summary(tmp_path / "out2", "s2")
    assert summary["data_coverage"] < 0.01
    assert any(w.startswith("data covers 0 %") for w in summary["warnings"])


@pytest.mark.parametrize(("scale", "unit", "divide"), [
    (1e3, "milliseconds", "1000"), (1e9, "nanoseconds", "1e9")])
def test_relative_times_in_ms_or_ns_are_refused(tmp_path, scale, unit, divide):
    write_hr_csv(tmp_path / "in" / "s1" / "hr.csv", np.arange(2400.0) * scale, 120.0)
    report = run_batch([tmp_path / "in" / "s1"], tmp_path / "out", pictures=False,
                       progress=False)
    (failure,) = report.failures
    assert f"look like {unit}" in failure["reason"] + failure["hint"]
    assert f"divide them by {divide}" in failure["hint"]


def test_a_session_folder_that_is_a_link_is_never_skipped_silently(tmp_path):
    elsewhere = hr_session(tmp_path / "elsewhere" / "real", minutes=5)
    study = tmp_path / "study"
    hr_session(study / "P01" / "run1", minutes=5)
    os.symlink(elsewhere, study / "P01" / "outside")
    os.symlink(study / "P01" / "run1", study / "P01" / "inside")
    hr_session(tmp_path / "hidden-away" / "s", minutes=5)
    (study / "P02").mkdir()
    os.symlink(study / "P01" / "run1", study / "P02" / "again")
    inventory = discover([study])
    assert inventory.inputs == [study / "P01" / "run1"]
    skipped = {Path(s.path).name: s.reason for s in inventory.skipped}
    assert skipped["outside"].startswith(f"a link to {elsewhere}, outside the folders given")
    assert skipped["inside"].startswith("the same folder as")
    assert skipped["again"].startswith("the same folder as")
    # A link inside the study to something found nowhere else is followed, and said.
    real = hr_session(study / ".archive" / "run2", minutes=5)
    os.symlink(real, study / "P02" / "run2")
    inventory = discover([study])
    assert study / "P02" / "run2" in inventory.inputs
    (followed,) = inventory.followed
    assert followed.path == str(study / "P02" / "run2") and "followed" in followed.reason
    out = tmp_path / "out"
    report = run_batch(inventory, out, pictures=False, progress=False)
    participants = {r.session: r.participant for r in report.rows}
    assert participants == {"run1": "P01", "run2": "P02"}  # where the link is
    assert any(f["status"] == "followed" for f in _failures(out))


def test_a_link_to_etc_passwd_never_reaches_failures_json(tmp_path):
    study = tmp_path / "study"
    hr_session(study / "run1", minutes=5)
    (study / "run2").mkdir()
    os.symlink("/etc/passwd", study / "run2" / "hr.csv")
    os.symlink("/etc/passwd", study / "passwd.gpx")
    secret = Path("/etc/passwd").read_text().splitlines()[0]
    run = dosewatch("analyze", study, "--out", tmp_path / "out", "-q")
    assert run.returncode == 1
    text = (tmp_path / "out" / "failures.json").read_text()
    assert secret not in text and secret not in run.stderr and "root:" not in text
    failures = {Path(f["input"]).name: f for f in _failures(tmp_path / "out")}
    assert "hr.csv is a link to /etc/passwd, outside the folders given" in \
        failures["run2"]["reason"]
    assert failures["passwd.gpx"]["status"] == "skipped"


# --------------------------------------------------------------------------- two runs


def test_a_second_run_into_the_same_output_is_refused_and_deletes_nothing(tmp_path):
    hr_session(tmp_path / "in" / "run1", minutes=5)
    out = tmp_path / "out"
    assert dosewatch("analyze", tmp_path / "in", "--out", out, "-q").returncode == 0
    from dosewatch.outputs import OutputRoot

    # A run in progress: it holds the lock and is assembling a session folder.
    root = OutputRoot.claim(out)
    with root.locked():
        partial = root.work / ".dosewatch-0123456789ab.partial"
        partial.mkdir()
        (partial / "session.png").write_bytes(b"\x89PNG being written")
        before = tree_state(out)
        run = dosewatch("analyze", tmp_path / "in", "--out", out, "-q", "--force")
        assert run.returncode == 5, run.stderr
        assert "another dosewatch run is writing into this folder" in run.stderr
        assert f"process {os.getpid()}" in run.stderr
        assert tree_state(out) == before  # the first run's work is untouched


def test_two_concurrent_runs_never_spoil_each_other(tmp_path):
    for i in range(6):
        hr_session(tmp_path / "in" / f"run{i}", minutes=60)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "dosewatch", "analyze", str(tmp_path / "in"), "--out",
               str(out), "-q"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 60
    while not (out / ".dosewatch" / "lock").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert second.returncode == 5 and "another dosewatch run" in second.stderr
    assert len(_rows(out)) == 6 and _failures(out) == []


# --------------------------------------------------------------------------- internal errors


def test_an_xml_declaration_with_an_unknown_encoding_is_an_input_error(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bogus.gpx").write_text(
        '<?xml version="1.0" encoding="bogus"?><gpx></gpx>')
    report = run_batch([tmp_path / "in" / "bogus.gpx"], tmp_path / "out", progress=False)
    (failure,) = report.failures
    assert failure["error"] == "InputError"
    assert failure["reason"] == ("the XML declares a text encoding that cannot be read "
                                 "(unknown encoding)")


@pytest.mark.parametrize(("sql", "expected"), [
    ("UPDATE hr SET bpm = 'abc' WHERE id = 5",
     "the hr table holds text or bytes where numbers belong (1 rows, column bpm)"),
    ("UPDATE hr SET t = x'00ff' WHERE id = 7",
     "the hr table holds text or bytes where numbers belong (1 rows, column t)"),
])
def test_a_recording_with_text_where_numbers_belong_is_an_input_error(tmp_path, sql, expected):
    path = _recording(tmp_path / "in" / "bad.dwrec", T0 + np.arange(600.0))
    with sqlite3.connect(path) as db:
        db.execute(sql)
    db.close()
    report = run_batch([path], tmp_path / "out", pictures=False, progress=False)
    (failure,) = report.failures
    assert failure["error"] == "InputError" and failure["reason"] == expected


def test_a_recording_with_bytes_where_text_belongs_is_read_with_a_note(tmp_path):
    path = _recording(tmp_path / "in" / "blob.dwrec", T0 + np.arange(600.0))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE devices SET name = x'00ff1b5b'")
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('sport', x'01')")
        db.execute("UPDATE meta SET value = x'02' WHERE key = 'profile'")
    db.close()
    report = run_batch([path], tmp_path / "out", pictures=False, progress=False)
    assert not report.failures
    summary = _summary(tmp_path / "out", "blob")
    assert summary["sport"] is None
    assert "meta 'sport' is not text: ignored" in summary["repairs"]


def test_a_disk_filling_up_while_the_tables_are_written_is_a_clear_error(tmp_path):
    for i in range(40):
        hr_session(tmp_path / "in" / f"s{i:02d}", minutes=2)
    # Files may be at most 3 kB: each session's files fit (1.4 kB at most), the tables
    # (sessions.csv of 40 rows: 5.8 kB) do not.
    run = dosewatch("analyze", tmp_path / "in", "--out", tmp_path / "out", "-q",
                    "--no-pictures", file_size=3_000)
    _no_traceback(run)
    assert run.returncode == 5, run.stderr
    assert "cannot write the batch's tables (the file system refused a file that large)" \
        in run.stderr
    assert "run the same command again" in run.stderr
    assert len([p for p in (tmp_path / "out").iterdir() if (p / "summary.json").is_file()]) \
        == 40  # every session folder is complete


def test_a_missing_path_and_an_empty_folder_are_two_more_failures(tmp_path):
    hr_session(tmp_path / "good", minutes=5)
    (tmp_path / "empty").mkdir()
    run = dosewatch("analyze", tmp_path / "missing", tmp_path / "empty", tmp_path / "good",
                    "--out", tmp_path / "out", "-q")
    assert run.returncode == 1, run.stderr
    assert [r["session"] for r in _rows(tmp_path / "out")] == ["good"]
    reasons = {Path(f["input"]).name: f["reason"] for f in _failures(tmp_path / "out")}
    assert reasons == {"missing": "no such file or folder",
                       "empty": "folder holds no session (empty)"}


def test_a_240_character_file_name_gets_a_short_output_folder(tmp_path):
    name = "x" * 240
    hr_session(tmp_path / "in" / name, minutes=5)
    report = run_batch(discover([tmp_path / "in"]), tmp_path / "out", progress=False)
    assert not report.failures
    (row,) = report.rows
    assert row.session.startswith("x" * 80) and len(row.session) <= 100
    assert (tmp_path / "out" / row.session / "summary.json").is_file()


@pytest.mark.parametrize(("section", "line", "message"), [
    ("heart_rate", "lag_s = nan", "[heart_rate] lag_s = nan is not a finite number"),
    ("bouts", "dose_min = inf", "[bouts] dose_min = inf is not a finite number"),
    ("trend", "window_min = 1e9", "[trend] window_min = 1000000000.0 is outside 1–240"),
])
def test_impossible_configuration_numbers_are_refused_up_front(tmp_path, section, line,
                                                               message):
    hr_session(tmp_path / "in" / "s1", minutes=5)
    config = tmp_path / "study.toml"
    config.write_text(f"[{section}]\n{line}\n")
    run = dosewatch("analyze", tmp_path / "in", "--config", config, "--out",
                    tmp_path / "out", "-q", memory_mb=2000)
    assert run.returncode == 2, run.stderr
    _no_traceback(run)
    assert message in run.stderr
    assert not (tmp_path / "out").exists()


def test_simulate_with_an_acceleration_rate_it_cannot_make_is_a_usage_error(tmp_path):
    run = dosewatch("simulate", "--acc-fs", "10", "--out", tmp_path / "sim",
                    "--protocol", "steady_light")
    assert run.returncode == 2
    _no_traceback(run)
    assert "acc_fs must be a number from 25 to 200 Hz, got 10.0" in run.stderr
    assert not list(tmp_path.rglob("*.csv"))  # nothing simulated


def test_reasons_are_plain_words_not_library_jargon(tmp_path):
    folder = tmp_path / "in" / "s1"
    folder.mkdir(parents=True)
    # A "line" longer than two of the CSV reader's blocks: no line break for 9 MB.
    (folder / "hr.csv").write_bytes(b"time,hr\n0,60\n1," + b"6" * (9 << 20) + b"\n")
    report = run_batch([folder], tmp_path / "out", progress=False)
    (failure,) = report.failures
    assert "straddl" not in failure["reason"] and "block size" not in failure["reason"]
    assert "a line is longer than the reader's block" in failure["reason"]


# --------------------------------------------------------------------------- smaller


def test_a_participant_id_that_is_a_formula_is_neutralised_in_every_csv(tmp_path):
    from dosewatch.adherence import adherence_for
    from dosewatch.rows import read_rows

    formula = '=HYPERLINK("http://example.invalid","x")'
    folder = hr_session(tmp_path / "in" / "run", minutes=40, bpm=150.0)
    (folder / "profile.toml").write_text(f"id = '{formula}'\nage = 30\n")
    out = tmp_path / "out"
    run_batch([folder], out, pictures=False, progress=False)
    adherence_for(out)
    for table in ("sessions.csv", "adherence.csv", "participants.csv"):
        with (out / table).open(newline="") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        assert "'" + formula in cells, table
        assert not [c for c in cells if c.startswith(("=", "+", "@"))], table
    (out / "sessions.parquet").unlink()  # read back from the CSV: the id as it was
    assert read_rows(out)[0].participant == formula


def test_implausible_values_are_gaps_and_an_impossible_date_is_unknown(tmp_path):
    from dosewatch.ingest.registry import read_all

    folder = tmp_path / "odd"
    t = 4_665_600_000.0 + np.arange(600.0)  # 2117-11-06
    write_hr_csv(folder / "hr.csv", t, 120.0)
    speed = np.full(600, 3.0)
    speed[100:110] = 9e7
    (folder / "speed.csv").write_text("time,speed_mps\n" + "".join(
        f"{a!r},{b!r}\n" for a, b in zip(t.tolist(), speed.tolist(), strict=True)))
    acc_t = t[0] + np.arange(600 * 25) / 25.0
    x = np.zeros(acc_t.size)
    x[5000] = 6.7e9
    (folder / "acc.csv").write_text("time,x,y,z\n" + "".join(
        f"{a!r},{b!r},0,1\n" for a, b in zip(acc_t.tolist(), x.tolist(), strict=True)))
    (session,) = read_all(folder)
    assert np.isfinite(session.speed.mps).all() and session.speed.mps.max() == 3.0
    assert session.acc.t.size == 600 * 25 - 1 and np.abs(session.acc.xyz).max() == 1.0
    assert session.provenance.start_time is None
    repairs = " | ".join(session.provenance.repairs)
    assert "speed: 10 values outside 0–50 m/s are not measurements" in repairs
    assert "acc: 1 values outside -100–100 g are not measurements" in repairs
    assert "the start time 2117-11-06 is not plausible" in repairs


def test_a_damaged_wal_says_how_much_was_lost(tmp_path):
    path = tmp_path / "in" / "rec.dwrec"
    path.parent.mkdir()
    child = (
        "import os, sys\nfrom dosewatch.recording import RecordingWriter\n"
        "w = RecordingWriter(sys.argv[1], commit_interval_s=1e-9)\n"
        "d = w.add_device('AA:BB', 'strap', ['180d'], 'hr')\n"
        "for i in range(1390):\n"
        "    w.add_hr(d, None, 1.7e9 + i, 120.0)\n"
        "    w.maybe_commit()\n"
        "os._exit(0)\n")  # killed: never closed, everything in the -wal
    subprocess.run([sys.executable, "-c", child, str(path)], check=True)
    wal = Path(f"{path}-wal")
    data = bytearray(wal.read_bytes())
    frame = 24 + 4096
    # The frames of the -wal's current generation (its salts): the file is reused after
    # each checkpoint, so later frames may be an older generation's, never replayed.
    salts = data[16:24]
    current = [k for k in range((len(data) - 32) // frame)
               if data[32 + k * frame + 8: 32 + k * frame + 16] == salts]
    data[32 + current[len(current) // 2] * frame + 24 + 200] ^= 0xFF  # a page in the middle
    wal.write_bytes(bytes(data))
    before = tree_state(path.parent)
    report = run_batch([path], tmp_path / "out", pictures=False, progress=False)
    assert tree_state(path.parent) == before  # reading wrote no -shm next to the input
    (row,) = report.rows
    assert row.duration_s < 1390
    summary = _summary(tmp_path / "out", "rec")
    (note,) = [r for r in summary["repairs"] if "-wal file is damaged" in r]
    assert "commits" in note and "pages" in note and "cannot be read" in note


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def test_sigkill_of_the_batch_leaves_no_worker_forkserver_or_tracker(tmp_path):
    for i in range(4):
        hr_session(tmp_path / "in" / f"s{i}", minutes=30)
    hr_session(tmp_path / "in" / "trigger", minutes=TRIGGER_EPOCHS)  # the worker sleeps
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "dosewatch", "analyze", str(tmp_path / "in"), "--out",
         str(tmp_path / "out"), "--workers", "2", "-q", "--no-pictures", "--model",
         "support.hostile:SleepsOnTrigger"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        # The batch's processes: a resource tracker, the fork server and two workers.
        while time.monotonic() < deadline and len(seen) < 4:
            seen |= _descendants(proc.pid)
            time.sleep(0.05)
        assert len(seen) >= 4, seen
        time.sleep(1.0)  # let the workers get busy (one sleeps on the trigger)
        seen |= _descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in seen):
            time.sleep(0.1)
        alive = [p for p in seen if os.path.exists(f"/proc/{p}")]
        assert not alive, [Path(f"/proc/{p}/cmdline").read_bytes()[:80] for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in seen:  # whatever this test started and outlived the batch: ended here
            try:
                if b"python" in Path(f"/proc/{pid}/cmdline").read_bytes():  # still ours
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass


@pytest.mark.parametrize("workers", ["0", "-3", "two"])
def test_zero_negative_or_no_number_of_workers_is_refused(tmp_path, workers):
    hr_session(tmp_path / "in" / "s1", minutes=5)
    run = dosewatch("analyze", tmp_path / "in", "--out", tmp_path / "out", "--workers",
                    workers, "-q")
    assert run.returncode == 2
    _no_traceback(run)
    assert "--workers" in run.stderr


def test_more_workers_than_cores_are_capped_with_a_warning(tmp_path):
    for i in range(3):
        hr_session(tmp_path / "in" / f"s{i}", minutes=5)
    run = dosewatch("analyze", tmp_path / "in", "--out", tmp_path / "out", "--workers",
                    "32", "-q", "--no-pictures")
    assert run.returncode == 0, run.stderr
    cores = len(os.sched_getaffinity(0))
    assert f"--workers 32: this computer has {cores} usable cores; using {cores}" in run.stderr
    assert len(_rows(tmp_path / "out")) == 3


def test_gzip_text_that_is_fine_still_reads(tmp_path):
    """The decompression limit does not touch a normal compressed session."""
    folder = hr_session(tmp_path / "in" / "s1", minutes=20)
    hr = folder / "hr.csv"
    (folder / "hr.csv.gz").write_bytes(gzip.compress(hr.read_bytes()))
    hr.unlink()
    report = run_batch([folder], tmp_path / "out", pictures=False, progress=False)
    assert not report.failures and report.rows[0].duration_s == pytest.approx(1200, abs=2)
