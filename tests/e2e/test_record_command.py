"""``dosewatch scan`` and ``dosewatch record``, driven through the real entry point.

The slow tests run ``python -m dosewatch record --virtual ...`` as a user would: a
simulated chest strap played over the in-process virtual radio, recorded through Bleak.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dosewatch.cli import main
from dosewatch.device.view import LiveView, format_clock, format_plain
from dosewatch.models.registry import DEFAULT_CLASSIFIER
from dosewatch.recording import open_recording, read_recording, read_recording_tables

SAVED = re.compile(r"saved hr=(\d+) acc=(\d+) speed=(\d+)")
PLAIN = re.compile(r"^\[[\d:]+\] hr=\S+ pct_hrr=\S+ label=\w+ bout=[\d.]+/30 dose=(no|met@\d+s)")


def record_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dosewatch", "record", "--virtual", "--plain",
            "--out", str(out), *extra]


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


def read_until(proc: subprocess.Popen[str], predicate, timeout: float = 60.0) -> list[str]:
    """Lines of the process's output up to and including the first matching one."""
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if predicate(lines):
            return lines
    proc.kill()
    proc.communicate(timeout=10)
    raise AssertionError("expected output did not come:\n" + "\n".join(lines))


def test_commands_are_registered_without_importing_bluetooth(tmp_path: Path) -> None:
    code = ("import sys, dosewatch.cli as c; c.build_parser(); "
            "print(sorted(m for m in ('bleak', 'bumble', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"  # building the parser loads no radio stack
    with pytest.raises(SystemExit) as stop:
        main(["record", "--help"])
    assert stop.value.code == 0


def test_record_rejects_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.dwrec"
    assert main(["record", "--virtual", "AA:BB:CC:DD:EE:FF", "--out", str(out)]) == 2
    assert main(["record", "--virtual", "--protocol", "marathon", "--classifier", "rules",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "either DEVICE" in err and "unknown protocol 'marathon'" in err
    assert not out.exists()


def test_scan_virtual(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--virtual", "--timeout", "0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ADDRESS", "NAME", "RSSI", "SERVICES"]
    strap = next(line for line in lines if "Polar H10" in line)
    assert strap.endswith("heart_rate, acc, rsc, battery")
    sense = next(line for line in lines if "Polar Sense" in line)
    assert sense.endswith("acc, battery")


def test_view_plain_and_terminal(tmp_path: Path) -> None:
    from dosewatch.device.live import LiveStatus

    class Result:
        pass

    status = LiveStatus(
        update=3, now=0.0, start_unix_s=-754.0, elapsed_s=754.0, hr_bpm=142.0, pct_hrr=61.4,
        label="intermediate", level="vigorous", bout_minutes=12.0, longest_bout_minutes=12.0,
        label_epoch_s=720.0, bout_start_s=60.0,
        dose_minutes=30.0, dose_met=False, dose_met_at_s=None, dose_announced=False,
        session_class="intermediate", minutes={}, intensity_source="heart_rate",
        compute_s=0.01, final=False, result=Result(),  # type: ignore[arg-type]
    )
    line = format_plain(status, {"hr": 5, "acc": 900, "speed": 4})
    assert line == ("[12:34] hr=142 pct_hrr=61 label=intermediate bout=12.0/30 dose=no "
                    "saved hr=5 acc=900 speed=4")
    assert PLAIN.match(line) and SAVED.search(line)
    assert format_clock(3 * 3600 + 5) == "3:00:05" and format_clock(None) == "--:--"

    plain = io.StringIO()
    view = LiveView(plain, plain=True)
    view.status(status)
    view.status(status)
    assert plain.getvalue().count("\n") == 2
    tty = io.StringIO()
    view = LiveView(tty, plain=False)
    view.status(status)
    view.status(status)
    view.message("hello")
    view.close()
    text = tty.getvalue()
    assert text.count("\r\x1b[K") >= 3 and text.endswith("hello\n")
    assert "bout 12.0/30" in text and "142" in text and "intermediate @12:00" in text


@pytest.mark.e2e
def test_record_virtual_then_analyze(tmp_path: Path) -> None:
    """The demo, as a user runs it, then `dosewatch analyze` on the recording: the live
    dose moment equals the batch one within an epoch, and the end-of-session summary
    gives the batch class and dose exactly (with the default classifier)."""
    out = tmp_path / "run.dwrec"
    proc = subprocess.run(
        record_command(out, "--protocol", "bout_30plus", "--speed", "200", "--minutes", "44",
                       "--acc-hz", "25"),
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    updates = [line for line in lines if PLAIN.match(line)]
    assert len(updates) >= 30  # about one per 10 s of session; fewer on a loaded machine
    announced = [line for line in lines if "Dose met:" in line]
    assert len(announced) == 1
    live_dose = {int(m.group(1)) for line in updates
                 if (m := re.search(r"dose=met@(\d+)s", line))}
    assert len(live_dose) == 1  # announced once, then kept
    summary = dict(re.findall(r"^  (class|dose|classifier):\s+(.*)$", proc.stdout, re.M))
    assert summary["classifier"] == DEFAULT_CLASSIFIER

    analyzed = subprocess.run([sys.executable, "-m", "dosewatch", "analyze", str(out),
                               "--out", str(tmp_path / "out"), "-q", "--no-pictures"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert analyzed.returncode == 0, analyzed.stderr
    batch = json.loads((tmp_path / "out" / "run" / "summary.json").read_text())
    assert batch["dose_met"] is True
    assert summary["class"] == batch["session_class"]
    assert summary["dose"].endswith(f"({batch['dose_met_at_s']:.0f} s)")
    assert abs(live_dose.pop() - batch["dose_met_at_s"]) <= batch["epoch_s"]
    assert batch["format"] == "dwrec" and batch["intensity_source"] == "heart_rate"


@pytest.mark.e2e
def test_sigkill_keeps_every_committed_sample(tmp_path: Path) -> None:
    out = tmp_path / "killed.dwrec"
    proc = start(record_command(out, "--protocol", "steady_intermediate", "--speed", "60",
                                "--classifier", "rules"), tmp_path)
    try:
        lines = read_until(proc, lambda ls: sum(
            1 for line in ls if (m := SAVED.search(line)) and int(m.group(2)) > 0) >= 3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)  # waits, and closes the pipe
    assert proc.returncode == -signal.SIGKILL
    hr, acc, speed = (int(v) for v in SAVED.findall("\n".join(lines))[-1])
    assert Path(f"{out}-wal").exists()  # killed: never checkpointed or closed

    tables = read_recording_tables(out, notifications=False)
    assert "closed_unix_s" not in tables["meta"]
    counts = tables["counts"]
    assert counts["hr"] >= hr > 0 and counts["acc"] >= acc > 0 and counts["speed"] >= speed
    conn = open_recording(out)
    try:
        t = np.array(conn.execute("SELECT t FROM acc ORDER BY id").fetchall()).ravel()
        n_frames = conn.execute("SELECT count(*) FROM notifications WHERE char_uuid LIKE "
                                "'fb005c82%'").fetchone()[0]
    finally:
        conn.close()
    assert np.all(np.diff(t) > 0) and n_frames * 39 >= t.size  # whole frames, in order
    session = read_recording(out)
    assert session.hr is not None and session.acc is not None
    assert any("not closed cleanly" in r for r in session.provenance.repairs)


@pytest.mark.e2e
def test_ctrl_c_ends_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "stopped.dwrec"
    proc = start(record_command(out, "--protocol", "steady_intermediate", "--speed", "60",
                                "--classifier", "rules"), tmp_path)
    read_until(proc, lambda ls: sum(1 for line in ls if PLAIN.match(line)) >= 2)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "Session summary" in rest and "disconnect: requested by the recorder" in rest
    assert re.search(r"certainty: +(high|medium|low)", rest)
    assert not Path(f"{out}-wal").exists()  # closed: one self-contained file
    tables = read_recording_tables(out, notifications=False)
    assert tables["meta"]["closed_unix_s"]
    assert [e["kind"] for e in tables["events"]][-1] == "disconnect"
    assert tables["counts"]["acc"] > 0
