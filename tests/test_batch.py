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
from support.hostile import (
    TRIGGER_EPOCHS,
    AllocatesOnTrigger,
    BlocksOnTrigger,
    DiesOnTrigger,
    SleepsOnTrigger,
    hr_session,
)

from dosewatch import batch
from dosewatch.batch import RUN_FILE, check_workers, run_batch, with_participant
from dosewatch.config import BatchConfig, Config
from dosewatch.errors import ConfigError
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
    names = sorted(p.name for p in a.iterdir() if p.is_dir() and p.name != "calibration"
                   and not p.name.startswith("."))
    assert names == sorted(p.name for p in b.iterdir() if p.is_dir() and
                           p.name != "calibration" and not p.name.startswith("."))
    calibrations = sorted(p.name for p in (a / "calibration").glob("*.toml"))
    assert calibrations == sorted(p.name for p in (b / "calibration").glob("*.toml"))
    for name in calibrations:
        assert (a / "calibration" / name).read_text() == (b / "calibration" / name).read_text()
    for name in names:
        for file in ("summary.json", "epochs.csv"):
            assert (a / name / file).read_bytes() == (b / name / file).read_bytes(), (name, file)


def test_loaded_code_is_frozen_during_the_batch_and_given_back(inputs: list[Path],
                                                               tmp_path: Path) -> None:
    """After the first input the process's objects are out of the collector's sight
    (gc.freeze); when the batch ends they are given back, and a program's own freeze is
    left alone."""
    import gc

    assert gc.get_freeze_count() == 0
    seen: list[int] = []
    run_batch(inputs, tmp_path / "a", pictures=False, progress=False, calibrate=False,
              on_result=lambda status, payload: seen.append(gc.get_freeze_count()))
    assert len(seen) == len(inputs)
    assert seen[0] == 0 and all(count > 0 for count in seen[1:])
    assert gc.get_freeze_count() == 0

    gc.freeze()  # the program froze its own objects: the batch neither adds nor unfreezes
    try:
        theirs = gc.get_freeze_count()
        seen.clear()
        run_batch(inputs, tmp_path / "b", pictures=False, progress=False, calibrate=False,
                  on_result=lambda status, payload: seen.append(gc.get_freeze_count()))
        # Frozen objects can still be freed (by reference counting), never added or
        # unfrozen by the batch.
        assert len(seen) == len(inputs)
        assert all(theirs - 1000 < count <= theirs for count in seen)
        assert theirs - 1000 < gc.get_freeze_count() <= theirs
    finally:
        gc.unfreeze()


def test_rerun_skips_unchanged_sessions(inputs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_batch(inputs, out, pictures=False, progress=False)
    assert first.skipped == 0 and len(first.rows) == len(inputs)
    table = (out / "sessions.csv").read_text()
    again = run_batch(inputs, out, pictures=False, progress=False)
    assert again.skipped == len(inputs)
    assert (out / "sessions.csv").read_text() == table

    # A changed input is analysed again; the others are not. Its participant's
    # calibration, learned again from the same evidence (now in another order: the
    # skipped inputs come first), is the same, so their other input is not redone.
    calibration = (out / "calibration" / "P0.toml").read_text()
    hr = inputs[0] / "hr.csv"
    hr.write_text(hr.read_text().replace("\n", "\n", 1))
    os.utime(hr, ns=(time.time_ns(), time.time_ns() + 10**9))
    third = run_batch(inputs, out, pictures=False, progress=False)
    assert third.skipped == len(inputs) - 1
    assert (out / "calibration" / "P0.toml").read_text() == calibration

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
    # The inputs finished before the kill are not analysed again in the first round, but
    # they were analysed without the calibration the killed run never learned: the
    # calibration round analyses them again, so none is 'not analysed again'.
    assert f"{len(inputs)} sessions analysed, 0 inputs failed" in rerun.stdout
    assert "not analysed again" not in rerun.stdout
    _same_outputs(clean, killed)
    # No leftovers: only dosewatch's own folder (marker, lock), its work folder empty.
    assert [p.name for p in killed.iterdir() if p.name.startswith(".")] == [".dosewatch"]
    assert not list((killed / ".dosewatch" / "tmp").iterdir())


@pytest.mark.e2e
def test_dask_cluster_equals_serial_run(inputs: list[Path], tmp_path: Path) -> None:
    from distributed import LocalCluster

    serial = tmp_path / "serial"
    run_batch(inputs, serial, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        report = run_batch(inputs, tmp_path / "dask", progress=False,
                           scheduler=cluster.scheduler_address)
    assert len(report.rows) == len(inputs) and not report.failures
    _same_outputs(serial, tmp_path / "dask")


@pytest.mark.e2e
def test_dask_workers_elsewhere_find_inputs_and_outputs_given_relative(
        inputs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers run in folders of their own (on a cluster, on other machines): inputs and
    the output folder given relative to the user's folder still work there, and the
    tables name the inputs as the user gave them."""
    import os

    from distributed import Client, LocalCluster

    monkeypatch.chdir(inputs[0].parent.parent)
    relative = [Path(os.path.relpath(p)) for p in inputs]
    bad = tmp_path / "bad.csv"
    bad.write_text("hr,bar\n1,2\n", encoding="utf-8")  # heart rate without a time
    relative.append(Path(os.path.relpath(bad)))
    out = Path(os.path.relpath(tmp_path / "dask"))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        client.run(os.chdir, "/")  # the worker's own folder
        report = run_batch(relative, out, progress=False, pictures=False,
                           scheduler=cluster.scheduler_address)
    assert len(report.rows) == len(inputs)
    # The sessions' sources and folders as a local run names them, not the worker's paths.
    assert sorted(r.source for r in report.rows) == sorted(str(p) for p in relative[:-1])
    assert {Path(r.output).parent for r in report.rows} == {out}
    summary = json.loads((out / inputs[0].name / "summary.json").read_text())
    assert summary["source"] == str(relative[0])
    assert [f["input"] for f in report.failures] == [str(relative[-1])]  # as given
    assert "column" in report.failures[0]["reason"]  # read, and refused for its columns
    assert sorted(p.name for p in (tmp_path / "dask").iterdir() if p.is_dir()
                  and not p.name.startswith(".")) == sorted(
        ["calibration", *(p.name for p in inputs)])


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


# --------------------------------------------------------------------------- budgets


@pytest.fixture(scope="module")
def trigger_batch(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two ordinary sessions and one of TRIGGER_EPOCHS minutes, on which the misbehaving
    classifiers of support.hostile misbehave."""
    root = tmp_path_factory.mktemp("budget")
    return [hr_session(root / "a", minutes=12), hr_session(root / "trigger",
                                                           minutes=TRIGGER_EPOCHS),
            hr_session(root / "z", minutes=12)]


def _one_failure(report: batch.BatchReport, trigger: Path) -> dict[str, str]:
    assert sorted(r.session for r in report.rows) == ["a", "z"]
    (failure,) = report.failures
    assert failure["input"] == str(trigger)
    return failure


def test_an_input_over_its_time_budget_fails_alone(trigger_batch, tmp_path):
    config = Config(batch=BatchConfig(input_time_s=2.0))
    report = run_batch(trigger_batch, tmp_path / "out", config=config, pictures=False,
                       progress=False, classifier=SleepsOnTrigger())
    failure = _one_failure(report, trigger_batch[1])
    assert failure["error"] == "TimeoutError"
    assert failure["reason"] == "took longer than its budget of 2 s"
    assert "input_time_s" in failure["hint"]


def test_an_input_over_its_memory_budget_fails_alone(trigger_batch, tmp_path):
    config = Config(batch=BatchConfig(input_memory_mb=512.0))
    report = run_batch(trigger_batch, tmp_path / "out", config=config, pictures=False,
                       progress=False, classifier=AllocatesOnTrigger())
    failure = _one_failure(report, trigger_batch[1])
    assert failure["error"] == "MemoryError"
    assert failure["reason"] == "needs more memory than its budget of 512 MB"


@pytest.mark.e2e
def test_a_worker_that_dies_fails_only_its_input(trigger_batch, tmp_path):
    report = run_batch(trigger_batch, tmp_path / "out", workers=2, pictures=False,
                       progress=False, classifier=DiesOnTrigger())
    failure = _one_failure(report, trigger_batch[1])
    assert failure["error"] == "WorkerDied"
    assert failure["reason"] == "the process analysing it was killed by signal 9"


@pytest.mark.e2e
def test_workers_keep_the_budgets(trigger_batch, tmp_path, monkeypatch):
    # A worker interrupted by its own timer...
    config = Config(batch=BatchConfig(input_time_s=2.0))
    report = run_batch(trigger_batch, tmp_path / "timer", config=config, workers=2,
                       pictures=False, progress=False, classifier=SleepsOnTrigger())
    assert _one_failure(report, trigger_batch[1])["reason"] == \
        "took longer than its budget of 2 s"
    # ...and one deaf to it (stuck in C code), killed by the batch after a grace period.
    monkeypatch.setattr(batch, "KILL_GRACE_S", 1.0)
    start = time.monotonic()
    report = run_batch(trigger_batch, tmp_path / "killed", config=config, workers=2,
                       pictures=False, progress=False, classifier=BlocksOnTrigger())
    assert _one_failure(report, trigger_batch[1])["reason"] == \
        "took longer than its budget of 2 s"
    assert time.monotonic() - start < 30


@pytest.mark.e2e
def test_a_dask_worker_that_dies_fails_only_its_input(trigger_batch, tmp_path):
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=":0") as cluster:
        report = run_batch(trigger_batch, tmp_path / "out", progress=False, pictures=False,
                           scheduler=cluster.scheduler_address, classifier=DiesOnTrigger())
    failure = _one_failure(report, trigger_batch[1])
    assert failure["error"] == "WorkerDied"
    assert failure["reason"].startswith("the Dask worker analysing it died")


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_workers_must_be_a_whole_number_of_at_least_one(workers):
    with pytest.raises(ConfigError, match="--workers must be a whole number of at least 1"):
        check_workers(workers)


def test_more_workers_than_cores_are_capped(caplog):
    cores = batch.usable_cpus()
    assert check_workers(cores) == cores
    assert check_workers(32 * cores) == cores
    assert f"using {cores}" in caplog.text


def test_an_input_without_a_minute_of_usable_data_fails_and_is_no_session(tmp_path):
    """Heart rate a person can have (245 bpm) but that the analysis removes as out of range
    in every minute: the input fails with the reason, it is no 'none' session (issue 12
    review: such sessions counted in adherence)."""
    good, empty = tmp_path / "good.csv", tmp_path / "empty.csv"
    rows = "\n".join(f"{1_700_000_000 + s},{120 + s % 7}" for s in range(1800))
    good.write_text("time,hr\n" + rows + "\n")
    empty.write_text("time,hr\n" + "\n".join(f"{1_700_000_000 + s},245" for s in range(1800))
                     + "\n")
    report = run_batch([good, empty], tmp_path / "out", pictures=False, calibrate=False)
    assert [r.session for r in report.rows] == ["good"]
    [failure] = report.failures
    assert failure["input"] == str(empty)
    assert "no minute has heart rate or acceleration" in failure["reason"]
    assert "out of range" in failure["reason"] and "--columns" in failure["hint"]


def test_a_failure_inside_a_session_folder_names_the_file(tmp_path):
    """An empty hr.csv in a session folder: the failure, listed under the folder, says
    which file of it is empty (issue 12 review)."""
    folder = tmp_path / "s1"
    folder.mkdir()
    (folder / "hr.csv").write_bytes(b"")
    (folder / "profile.toml").write_text("age = 30\n")
    report = run_batch([folder], tmp_path / "out", pictures=False, calibrate=False)
    [failure] = report.failures
    assert failure["input"] == str(folder)
    assert failure["reason"].startswith("hr.csv: the file is empty")


def test_an_input_shorter_than_a_minute_fails_as_too_short(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("time,hr\n1700000000,120\n")
    report = run_batch([path], tmp_path / "out", pictures=False, calibrate=False)
    assert not report.rows
    assert report.failures[0]["reason"] == "the session lasts 1 s: no minute to analyse"
