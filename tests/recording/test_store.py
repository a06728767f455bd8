"""The recording file: writer, reader, crash safety (a real kill -9) and errors."""

from __future__ import annotations

import hashlib
import json
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support.paths import REPO

from dosewatch.analysis import analyze_session
from dosewatch.errors import InputError, OutputError, ProfileError
from dosewatch.ingest import read_session
from dosewatch.models.rules import RuleClassifier
from dosewatch.recording import (
    APPLICATION_ID,
    FORMAT_VERSION,
    RecordingWriter,
    open_recording,
    read_recording,
    read_recording_tables,
)
from dosewatch.session import Profile

T0 = 1_700_000_000.0
CHILD = REPO / "tests" / "support" / "recording_writer_child.py"
ROOT = REPO / "tests"


def _write_example(path: Path, **kwargs) -> dict:
    """A small recording of every stream; returns what was written."""
    rng = np.random.default_rng(7)
    hr_t = T0 + np.arange(30.0)
    bpm = 60.0 + np.arange(30.0)
    rr = [[] if i % 4 == 0 else [1000.0 + i, 990.0 - i][: 1 + i % 2] for i in range(30)]
    acc_t = T0 + 0.5 + np.arange(1500) / 50.0
    xyz = rng.normal(0.0, 0.3, (1500, 3))
    speed_t = T0 + np.arange(0.0, 30.0, 2.0)
    mps = 2.0 + speed_t * 0.0
    cadence = np.where(np.arange(speed_t.size) % 5 == 0, np.nan, 160.0)
    with RecordingWriter(path, profile=Profile(age=35.0, hr_rest=55.0, placement="wrist"),
                         meta={"sport": "running", "note": "example"}, **kwargs) as w:
        strap = w.add_device("AA:BB:CC:DD:EE:01", "strap", ["0000180d-0000-1000-8000-00805f9b34fb"],
                             "hr")
        pod = w.add_device("AA:BB:CC:DD:EE:02", None, ["00001814-0000-1000-8000-00805f9b34fb"],
                           "speed")
        w.set_device_clock(strap, 946_684_800.5, "first frame")
        w.add_event(T0, "connect", "strap", strap)
        for i in range(30):
            nid = w.add_notification(strap, "2a37", hr_t[i], bytes([0x10, int(bpm[i])]))
            w.add_hr(strap, nid, hr_t[i], bpm[i], rr[i])
        for k in range(0, 1500, 50):
            nid = w.add_notification(strap, "pmd", acc_t[k], b"\x02")
            w.add_acc(strap, nid, acc_t[k : k + 50], xyz[k : k + 50])
        bad = w.add_notification(pod, "2a53", T0 + 1, b"\x04\x34", status="rsc/truncated")
        for j, t in enumerate(speed_t):
            w.add_speed(pod, None, t, mps[j], cadence[j])
        w.add_event(T0 + 29, "disconnect", "", strap)
    return dict(hr_t=hr_t, bpm=bpm, rr=rr, acc_t=acc_t, xyz=xyz, speed_t=speed_t, mps=mps,
                cadence=cadence, bad_notification=bad)


def test_round_trip_writer_to_session(tmp_path):
    path = tmp_path / "run 1.dwrec"
    w = _write_example(path)
    session = read_recording(path, profile=Profile(hr_max=185.0, placement="chest"))
    assert session.name == "run 1"
    assert session.provenance.format == "dwrec" and session.provenance.source == str(path)
    assert session.provenance.sport == "running"
    assert session.provenance.start_time.timestamp() == pytest.approx(T0)
    # The stored profile, with the caller's fields overriding it.
    assert session.profile == Profile(age=35.0, hr_rest=55.0, hr_max=185.0, placement="chest")
    np.testing.assert_array_equal(session.hr.t, w["hr_t"] - T0)
    np.testing.assert_array_equal(session.hr.bpm, w["bpm"])
    last_rr = [r[-1] if r else np.nan for r in w["rr"]]
    np.testing.assert_array_equal(session.hr.rr_ms, last_rr)
    np.testing.assert_allclose(session.acc.t, w["acc_t"] - T0, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(session.acc.xyz, w["xyz"].astype(np.float32))
    assert session.acc.fs == pytest.approx(50.0, rel=1e-4)
    np.testing.assert_array_equal(session.speed.mps, w["mps"])
    keep = np.isfinite(w["cadence"])
    np.testing.assert_array_equal(session.cadence.values, w["cadence"][keep])
    np.testing.assert_array_equal(session.cadence.t, w["speed_t"][keep] - T0)
    assert any("rsc/truncated: 1" in r for r in session.provenance.repairs)
    assert not any("not closed cleanly" in r for r in session.provenance.repairs)


def test_every_rr_interval_and_raw_payload_is_kept(tmp_path):
    path = tmp_path / "a.dwrec"
    w = _write_example(path)
    tables = read_recording_tables(path)
    assert tables["format_version"] == FORMAT_VERSION
    assert tables["counts"] == {
        "devices": 2, "notifications": 30 + 30 + 1,
        "hr": sum(max(1, len(r)) for r in w["rr"]), "acc": 1500, "speed": 15, "events": 2,
    }
    assert tables["malformed"] == {"rsc/truncated": 1}
    assert tables["meta"]["note"] == "example" and "closed_unix_s" in tables["meta"]
    strap = tables["devices"][0]
    assert strap["services"] == ["0000180d-0000-1000-8000-00805f9b34fb"]
    assert strap["clock_offset_s"] == 946_684_800.5 and strap["clock_info"] == "first frame"
    assert [e["kind"] for e in tables["events"]] == ["connect", "disconnect"]
    bad = tables["notifications"][w["bad_notification"] - 1]
    assert bad["payload"] == b"\x04\x34" and bad["status"] == "rsc/truncated"
    # RR intervals: every one, in order, grouped under its heart-rate value.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT notification_id, bpm, rr_ms, seq FROM hr ORDER BY id").fetchall()
    finally:
        conn.close()
    rr = [r for _, _, r, _ in rows if r is not None]
    assert rr == [x for group in w["rr"] for x in group]
    assert [b for _, b, _, s in rows if s == 0] == list(w["bpm"])


def test_commits_only_every_interval_and_readers_see_only_commits(tmp_path):
    path = tmp_path / "live.dwrec"
    w = RecordingWriter(path, commit_interval_s=3600.0)
    try:
        device = w.add_device("x", "y", [], "acc")
        w.add_acc(device, None, T0 + np.arange(10) / 10, np.zeros((10, 3)))
        assert w.maybe_commit() is False
        assert w.counts["acc"] == 0 and w.pending == 11
        assert read_recording_tables(path)["counts"]["acc"] == 0
        w.commit()
        assert w.counts["acc"] == 10 and w.pending == 0
        w.add_acc(device, None, T0 + 1 + np.arange(5) / 10, np.ones((5, 3)))
        # A concurrent reader sees the committed state, with the writer still open.
        session = read_recording(path)
        assert session.acc.t.size == 10
        assert any("not closed cleanly" in r for r in session.provenance.repairs)
    finally:
        w.close()
    assert read_recording(path).acc.t.size == 15


def test_a_failed_commit_keeps_the_rows_for_the_next(tmp_path):
    path = tmp_path / "locked.dwrec"
    with RecordingWriter(path, commit_interval_s=1e-9) as w:
        w._conn.execute("PRAGMA busy_timeout = 0")  # fail at once instead of waiting 2 s
        device = w.add_device("x", None, [], "hr")
        w.add_hr(device, None, T0, 80.0, [750.0, 760.0])
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            with pytest.raises(OutputError, match="cannot write") as info:
                w.maybe_commit()
            assert "kept in memory" in info.value.hint
            assert w.counts["hr"] == 0 and w.pending == 3
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert w.maybe_commit() is True
        assert w.counts["hr"] == 2 and w.pending == 0
        assert w.maybe_commit() is False  # nothing left to write
    assert read_recording(path).hr.rr_ms.tolist() == [760.0]


def test_close_leaves_one_self_contained_file(tmp_path):
    path = tmp_path / "closed.dwrec"
    _write_example(path)
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        conn.close()


def test_writer_refuses_to_overwrite(tmp_path):
    path = tmp_path / "a.dwrec"
    _write_example(path)
    with pytest.raises(OutputError, match="already exists") as info:
        RecordingWriter(path)
    assert "overwrite=True" in str(info.value)
    with RecordingWriter(path, overwrite=True) as w:
        w.add_event(T0, "start")
    assert read_recording_tables(path)["counts"]["hr"] == 0
    with pytest.raises(OutputError, match="folder does not exist"):
        RecordingWriter(tmp_path / "missing" / "a.dwrec")


def test_writer_rejects_bad_values(tmp_path):
    with RecordingWriter(tmp_path / "a.dwrec") as w:
        d = w.add_device("x", None, [], "acc")
        with pytest.raises(ValueError):
            w.add_acc(d, None, [T0, T0 + 1], np.zeros((3, 3)))
        with pytest.raises(ValueError):
            w.add_acc(d, None, [T0, np.nan], np.zeros((2, 3)))
        with pytest.raises(ValueError):
            w.add_hr(d, None, float("inf"), 60.0, [])
        with pytest.raises(ValueError):
            w.set_meta("format_version", "9")
    with pytest.raises(ValueError):
        w.add_event(T0, "late")  # closed


def test_two_heart_rate_devices_use_the_one_with_more_samples(tmp_path):
    path = tmp_path / "two.dwrec"
    with RecordingWriter(path) as w:
        watch = w.add_device("01", "watch", [], "hr")
        strap = w.add_device("02", "strap", [], "hr")
        for i in range(5):
            w.add_hr(watch, None, T0 + i, 100.0, [])
        for i in range(8):
            w.add_hr(strap, None, T0 + i + 0.5, 120.0, [500.0])
    session = read_recording(path)
    assert session.hr.bpm.tolist() == [120.0] * 8
    assert any("used strap (02)" in r and "ignored watch (01)" in r
               for r in session.provenance.repairs)


def test_missing_values_become_gaps(tmp_path):
    path = tmp_path / "gaps.dwrec"
    xyz = np.ones((4, 3))
    xyz[2, 1] = np.nan
    with RecordingWriter(path) as w:
        d = w.add_device("x", None, [], "acc")
        w.add_acc(d, None, T0 + np.arange(4) / 10, xyz)
    session = read_recording(path)
    np.testing.assert_allclose(session.acc.t, [0.0, 0.1, 0.3], atol=1e-6)
    assert any("missing value" in r for r in session.provenance.repairs)


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_line(proc: subprocess.Popen, deadline: float) -> str:
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            return line
    err = proc.stderr.read() if proc.poll() is not None else ""
    raise AssertionError(f"the writer child printed nothing in time; stderr: {err}")


@pytest.mark.e2e
def test_kill_9_keeps_every_committed_sample(tmp_path):
    path = tmp_path / "killed.dwrec"
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(path)], cwd=ROOT.parent, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30.0
        printed = [json.loads(_read_line(proc, deadline)) for _ in range(3)]
        # Read concurrently while the child is still writing.
        live = read_recording(path)
        assert live.acc.t.size >= printed[-1]["acc"]
        printed += [json.loads(_read_line(proc, deadline)) for _ in range(5)]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    last = printed[-1]
    assert last["acc"] > printed[0]["acc"] > 0
    assert Path(f"{path}-wal").exists()  # never closed: the data is in the WAL

    before = _hash(path), _hash(Path(f"{path}-wal"))
    session = read_session(path)
    assert (_hash(path), _hash(Path(f"{path}-wal"))) == before  # reading changed nothing

    n_acc = session.acc.t.size
    assert n_acc >= last["acc"] and n_acc % 10 == 0
    # In order, nothing missing, nothing duplicated: sample k has x = k at T0 + k / 100.
    np.testing.assert_array_equal(session.acc.xyz[:, 0],
                                  (np.arange(n_acc) / 2.0**20).astype(np.float32))
    np.testing.assert_allclose(session.acc.t, np.arange(n_acc) / 100.0, atol=1e-5)
    n_hr = session.hr.t.size
    assert n_hr == n_acc // 10 and n_hr >= last["notifications"] // 2
    np.testing.assert_array_equal(session.hr.bpm, 40 + np.arange(n_hr) % 150)
    np.testing.assert_allclose(session.hr.t, np.arange(n_hr) / 10.0, atol=1e-6)
    assert session.profile == Profile(age=40.0, placement="chest")
    assert any("not closed cleanly" in r for r in session.provenance.repairs)
    tables = read_recording_tables(path, notifications=False)
    assert tables["counts"]["notifications"] == 2 * n_hr
    assert tables["counts"]["hr"] >= last["hr"]

    # Copied without its -wal, the file holds only the schema: say where the data is,
    # and leave no -wal or -shm behind.
    alone = tmp_path / "copy" / "killed.dwrec"
    alone.parent.mkdir()
    alone.write_bytes(path.read_bytes())
    with pytest.raises(InputError) as info:
        read_recording(alone)
    assert "killed.dwrec-wal" in info.value.hint
    assert sorted(p.name for p in alone.parent.iterdir()) == ["killed.dwrec"]


def test_read_session_dispatch_and_analysis(tmp_path):
    path = tmp_path / "workout.dwrec"
    minutes = 12
    t = T0 + np.arange(60.0 * minutes)
    bpm = np.round(np.interp(np.arange(t.size), [0, 120, 600, 720], [70, 70, 150, 150]))
    acc_t = T0 + np.arange(25 * 60 * minutes) / 25.0
    rng = np.random.default_rng(3)
    xyz = np.column_stack([rng.normal(0, 0.2, acc_t.size), rng.normal(0, 0.2, acc_t.size),
                           1.0 + rng.normal(0, 0.3, acc_t.size)])
    with RecordingWriter(path, profile=Profile(age=30.0, hr_rest=60.0, placement="chest")) as w:
        d = w.add_device("x", "strap", [], "hr+acc")
        for i in range(t.size):
            w.add_hr(d, None, t[i], bpm[i], [60000.0 / bpm[i]])
        for k in range(0, acc_t.size, 250):
            w.add_acc(d, None, acc_t[k : k + 250], xyz[k : k + 250])
    session = read_session(path)
    assert session.provenance.format == "dwrec" and session.hr.t.size == t.size
    result = analyze_session(session, classifier=RuleClassifier())
    assert result.duration_s == pytest.approx(60.0 * minutes, abs=1.0)
    assert len(result.prediction.labels) == minutes
    assert result.session_class in ("constant", "accelerating", "intermediate")
    # Renamed to .db, it is still found by its SQLite header.
    renamed = path.rename(tmp_path / "workout.db")
    assert read_session(renamed).hr.t.size == t.size


def _sqlite_file(path: Path, script: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.close()
    return path


def test_reader_errors(tmp_path):
    empty = tmp_path / "empty.dwrec"
    empty.write_bytes(b"")
    text = tmp_path / "text.dwrec"
    text.write_text("time,hr\n0,60\n")
    other = _sqlite_file(tmp_path / "other.dwrec", "CREATE TABLE songs (title TEXT);")
    cases = {empty: "empty", text: "not an SQLite", other: "tables: songs",
             tmp_path / "none.dwrec": "no such file"}
    for path, message in cases.items():
        with pytest.raises(InputError, match=message) as info:
            read_recording(path)
        assert info.value.source == str(path) and info.value.hint

    newer = tmp_path / "newer.dwrec"
    _write_example(newer)
    _sqlite_file(newer, f"PRAGMA user_version = {FORMAT_VERSION + 1};")
    with pytest.raises(InputError, match="newer") as info:
        read_recording(newer)
    assert "upgrade" in info.value.hint

    nothing = tmp_path / "nothing.dwrec"
    with RecordingWriter(nothing) as w:
        w.add_event(T0, "connect", "", w.add_device("x", None, [], "hr"))
    with pytest.raises(InputError, match="no heart-rate, acceleration or speed samples"):
        read_recording(nothing)

    bad_profile = tmp_path / "bad_profile.dwrec"
    _write_example(bad_profile)
    _sqlite_file(bad_profile, "UPDATE meta SET value = 'age = 400' WHERE key = 'profile';")
    with pytest.raises(ProfileError):
        read_recording(bad_profile)


def test_truncated_file_is_an_input_error(tmp_path):
    path = tmp_path / "cut.dwrec"
    _write_example(path)
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="damaged or truncated"):
        read_recording(path)


def test_heart_rate_device_is_chosen_by_values_not_rr_rows(tmp_path: Path) -> None:
    # A strap sends 30 values with 2 RR intervals each (60 rows); a watch 40 values with
    # none (40 rows). The watch has more heart-rate values: it is the one read, as the
    # live analysis chooses it.
    path = tmp_path / "two.dwrec"
    with RecordingWriter(path) as writer:
        strap = writer.add_device("AA:00", "strap", [], "heart_rate")
        watch = writer.add_device("BB:00", "watch", [], "heart_rate")
        for i in range(30):
            n = writer.add_notification(strap, "2a37", 1000.0 + i, b"\x10\x50")
            writer.add_hr(strap, n, 1000.0 + i, 80.0, [750.0, 760.0])
        for i in range(40):
            n = writer.add_notification(watch, "2a37", 1000.0 + i, b"\x00\x5a")
            writer.add_hr(watch, n, 1000.0 + i, 90.0, [])
    session = read_recording(path)
    assert session.hr.bpm.size == 40 and np.all(session.hr.bpm == 90.0)


def test_contact_energy_and_notes_are_decoded_columns(tmp_path: Path) -> None:
    """Format 2: a notification without a reading is stored with bpm NULL (never 0), its
    contact flag and energy as columns, and what the decoder tolerated as the note."""
    path = tmp_path / "v2.dwrec"
    with RecordingWriter(path) as writer:
        d = writer.add_device("AA", "strap", [], "heart_rate")
        for i in range(10):
            contact = i not in (4, 5)
            nid = writer.add_notification(d, "hr", T0 + i, b"\x1e\x55",
                                          note=None if i else "hr/reserved-flags: 0x20 ignored")
            writer.add_hr(d, nid, T0 + i, 120.0 + i if contact else None, [500.0, 510.0],
                          contact=contact, energy_kj=40 + i)
    conn = open_recording(path)
    try:
        rows = conn.execute("SELECT bpm, contact, energy_kj, seq FROM hr ORDER BY id").fetchall()
        notes = [r[0] for r in conn.execute("SELECT note FROM notifications ORDER BY id")]
    finally:
        conn.close()
    assert rows[8:12] == [(None, 0, 44, 0), (None, 0, 44, 1), (None, 0, 45, 0), (None, 0, 45, 1)]
    assert rows[0] == (120.0, 1, 40, 0)
    assert notes == ["hr/reserved-flags: 0x20 ignored"] + [None] * 9
    session = read_recording(path)
    assert session.hr is not None and session.hr.t.size == 8
    assert 0.0 not in session.hr.bpm.tolist()
    assert any("2 notifications carried no heart rate" in r for r in session.provenance.repairs)


def test_format_1_recordings_still_read(tmp_path: Path) -> None:
    """A recording written by the format-1 writer (tests/data/dwrec/make_v1.py run on the
    code before format 2) reads; its contact-lost 0 bpm values are no heart rate."""
    source = Path(__file__).parents[1] / "data" / "dwrec" / "v1-small.dwrec"
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes())
    tables = read_recording_tables(path)
    assert tables["format_version"] == 1
    assert tables["counts"]["hr"] == 120 and tables["counts"]["acc"] == 1200
    session = read_recording(path)
    assert session.hr is not None and session.hr.t.size == 115
    assert session.hr.bpm.min() >= 100.0
    assert session.acc is not None and session.acc.t.size == 1200
    assert session.speed is not None and session.profile.hr_rest == 55
    assert any("format 1 recording: 5 heart-rate values of 0 bpm" in r
               for r in session.provenance.repairs)


# --------------------------------------------------------------------------- issue 14


def test_wal_damage_counts_what_sqlite_cannot_replay(tmp_path):
    from dosewatch.recording.reader import wal_damage

    path = tmp_path / "r.dwrec"
    child = (
        "import os, sys\nfrom dosewatch.recording import RecordingWriter\n"
        "w = RecordingWriter(sys.argv[1], commit_interval_s=1e-9)\n"
        "d = w.add_device('AA:BB', 'strap', ['180d'], 'hr')\n"
        "for i in range(200):\n"
        "    w.add_hr(d, None, 1.7e9 + i, 120.0)\n"
        "    w.maybe_commit()\n"
        "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", child, str(path)], check=True)
    wal = Path(f"{path}-wal")
    assert wal_damage(wal) is None  # intact: every frame's checksum chains
    data = bytearray(wal.read_bytes())
    frames = (len(data) - 32) // (24 + 4096)
    data[32 + (frames - 10) * (24 + 4096) + 24 + 7] ^= 0x01  # ten frames from the end
    wal.write_bytes(bytes(data))
    commits, pages = wal_damage(wal)
    assert pages == 10 and 1 <= commits <= 10
    wal.write_bytes(b"garbage" * 10)
    assert wal_damage(wal) is None  # not a -wal SQLite would read: nothing to say


def test_a_treadmill_recorded_without_a_strap_is_its_workload(tmp_path):
    # FTMS speed and incline, no heart-rate sensor worn: the recording is read as the
    # workload alone (as a watch export without heart rate is), not refused.
    path = tmp_path / "treadmill.dwrec"
    with RecordingWriter(path, meta={"sport": "running"}) as w:
        belt = w.add_device("AA:BB:CC:DD:EE:03", "treadmill",
                            ["00001826-0000-1000-8000-00805f9b34fb"], "speed")
        for t in T0 + np.arange(0.0, 40 * 60, 2.0):  # a notification every 2 s
            w.add_speed(belt, None, t, 2.8, float("nan"))
    session = read_recording(path)
    assert session.hr is None and session.acc is None and session.speed is not None
    result = analyze_session(session)
    assert result.intensity_source == "workload" and result.certainty.level == "low"
    assert result.dose_met
