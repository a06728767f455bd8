"""Batches: resumable reruns, a killed batch rerun, and a real Dask cluster equal to a
serial run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dosewatch.batch import RUN_FILE, run_batch, with_participant
from dosewatch.ingest import read_session, write_session_folder

PROTOCOLS = ("ramp", "rest_only", "steady_intermediate", "step_test")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, simulated) -> list[Path]:
    root = tmp_path_factory.mktemp("inputs")
    folders = []
    for i, protocol in enumerate(PROTOCOLS):
        sim = simulated(protocol, person_seed=8 + i, person_id=f"P{i % 2}", placement="wrist",
                        acc_fs=25, seed=i)
        folders.append(write_session_folder(sim.session, root / f"P{i % 2}" / protocol))
    return folders


def _table(out: Path) -> list[dict[str, str]]:
    """sessions.csv without the output path (which names the output folder)."""
    with open(out / "sessions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["output"] = Path(row["output"]).name
    return rows


def _same_outputs(a: Path, b: Path) -> None:
    assert _table(a) == _table(b)
    assert json.loads((a / "failures.json").read_text()) == \
        json.loads((b / "failures.json").read_text())
    names = sorted(p.name for p in a.iterdir() if p.is_dir() and p.name != "calibration")
    assert names == sorted(p.name for p in b.iterdir() if p.is_dir() and
                           p.name != "calibration")
    calibrations = sorted(p.name for p in (a / "calibration").glob("*.toml"))
    assert calibrations == sorted(p.name for p in (b / "calibration").glob("*.toml"))
    for name in calibrations:
        assert (a / "calibration" / name).read_text() == (b / "calibration" / name).read_text()
    for name in names:
        for file in ("summary.json", "epochs.csv"):
            assert (a / name / file).read_bytes() == (b / name / file).read_bytes(), (name, file)


def test_rerun_skips_unchanged_sessions(inputs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_batch(inputs, out, pictures=False, progress=False)
    assert first.skipped == 0 and len(first.rows) == len(inputs)
    table = (out / "sessions.csv").read_text()
    again = run_batch(inputs, out, pictures=False, progress=False)
    assert again.skipped == len(inputs)
    assert (out / "sessions.csv").read_text() == table

    # A changed input is analysed again; the others are not.
    hr = inputs[0] / "hr.csv"
    hr.write_text(hr.read_text().replace("\n", "\n", 1))
    os.utime(hr, ns=(time.time_ns(), time.time_ns() + 10**9))
    third = run_batch(inputs, out, pictures=False, progress=False)
    assert third.skipped == len(inputs) - 1

    # Other settings are other outputs: nothing is skipped.
    fourth = run_batch(inputs, out, pictures=False, progress=False, classifier="rules")
    assert fourth.skipped == 0
    forced = run_batch(inputs, out, pictures=False, progress=False, classifier="rules",
                       force=True)
    assert forced.skipped == 0
    stored = json.loads((out / inputs[1].name / RUN_FILE).read_text())
    assert stored["fingerprint"]["model"].startswith("rules(")


def test_damaged_output_folder_is_redone(inputs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(inputs, out, pictures=False, progress=False)
    (out / inputs[2].name / "summary.json").unlink()
    again = run_batch(inputs, out, pictures=False, progress=False)
    assert again.skipped == len(inputs) - 1
    assert (out / inputs[2].name / "summary.json").is_file()


@pytest.mark.e2e
def test_killed_batch_rerun_equals_one_clean_run(inputs: list[Path], tmp_path: Path) -> None:
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    command = [sys.executable, "-m", "dosewatch", "analyze", *map(str, inputs), "-q"]
    subprocess.run([*command, "--out", str(clean)], check=True, capture_output=True)

    proc = subprocess.Popen([*command, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(killed.glob(f"*/{RUN_FILE}"))) >= 1:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(killed.glob(f"*/{RUN_FILE}")))
    assert 1 <= done < len(inputs), "the batch should be killed half-way"
    assert not (killed / "sessions.csv").exists()

    rerun = subprocess.run([*command, "--out", str(killed)], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({done} unchanged since the last run)" in rerun.stdout
    _same_outputs(clean, killed)
    assert not [p for p in killed.iterdir() if p.name.startswith(".")]


@pytest.mark.e2e
def test_dask_cluster_equals_serial_run(inputs: list[Path], tmp_path: Path) -> None:
    from distributed import LocalCluster

    serial = tmp_path / "serial"
    run_batch(inputs, serial, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        report = run_batch(inputs, tmp_path / "dask", progress=False,
                           scheduler=cluster.scheduler_address)
    assert len(report.rows) == len(inputs) and not report.failures
    _same_outputs(serial, tmp_path / "dask")


def test_unreachable_scheduler_is_a_clear_error(
    inputs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dosewatch import batch
    from dosewatch.errors import ConfigError

    monkeypatch.setattr(batch, "SCHEDULER_TIMEOUT_S", 2.0)
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        run_batch(inputs[:1], tmp_path / "o", progress=False,
                  scheduler="tcp://127.0.0.1:9")


def test_participant_is_the_profile_id_or_the_parent_folder(inputs: list[Path]) -> None:
    session = read_session(inputs[0])
    assert session.profile.id == "P0"  # the simulator's profile names the person
    from dataclasses import replace

    anonymous = replace(session, profile=replace(session.profile, id=None))
    assert with_participant(anonymous, inputs[1]).profile.id == inputs[1].parent.name
    assert with_participant(session, inputs[1]).profile.id == "P0"
