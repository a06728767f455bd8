"""The command line, run as a user would: the installed ``dosewatch`` on real files."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REAL

from dosewatch.config import Config

pytestmark = pytest.mark.e2e

EXE = Path(sys.executable).with_name("dosewatch")
FENIX = REAL / "dtcooper__python-fitparse" / "activity-small-fenix2-run.fit"


def dosewatch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    command = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "dosewatch"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600, check=False)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A strap and a band on a treadmill, with its speed and incline: a walker's ramp
    goes on by incline once the speed stops rising, and the incline (the speed file's
    grade column) keeps it a ramp."""
    out = tmp_path_factory.mktemp("sim")
    done = dosewatch("simulate", "--out", out, "--protocol", "steady_intermediate",
                     "--protocol", "ramp", "--placement", "wrist", "--placement", "chest",
                     "--seed", "11", "--format", "csv", "--incline")
    assert done.returncode == 0, done.stderr
    return out


def read_table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_simulate_writes_session_folders(simulated):
    folders = sorted(p for p in simulated.iterdir() if p.is_dir())
    assert len(folders) == 4
    for folder in folders:
        assert (folder / "hr.csv").is_file() and (folder / "acc.csv").is_file()
        truth = json.loads((folder / "truth.json").read_text())
        assert truth["protocol"] in ("steady_intermediate", "ramp")


def test_analyze_a_folder_of_sessions(simulated, tmp_path):
    out = tmp_path / "results"
    done = dosewatch("analyze", simulated, "--out", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    rows = read_table(out / "sessions.csv")
    assert len(rows) == 4
    assert json.loads((out / "failures.json").read_text()) == []
    for row in rows:
        folder = Path(row["output"])
        summary = json.loads((folder / "summary.json").read_text())
        for key in ("session", "session_class", "duration_s", "intensity_source", "hr_rest",
                    "hr_rest_source", "hr_max", "hr_max_source", "minutes", "bouts",
                    "dose_met", "warnings"):
            assert key in summary, key
        assert summary["session_class"] == row["session_class"]
        assert str(summary["dose_met"]) == row["dose_met"]
        truth = json.loads((simulated / folder.name / "truth.json").read_text())
        assert summary["session_class"] == truth["session_class"], folder.name
        epochs = read_table(folder / "epochs.csv")
        assert {"start_s", "time", "label", "level", "intensity", "pct_hrr"} <= set(epochs[0])
        assert len(epochs) == round(summary["duration_s"] / 60)
        png = (folder / "session.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
    # Nothing half-written or temporary is left behind (.dosewatch: its marker and lock).
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".dosewatch"]
    assert not list((out / ".dosewatch" / "tmp").iterdir())


def test_bad_input_does_not_stop_the_batch(simulated, tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(simulated, inputs)
    broken = inputs / "broken"
    broken.mkdir()
    (broken / "hr.csv").write_text("time,value\n0,60\n")
    out = tmp_path / "results"
    done = dosewatch("analyze", inputs, "--out", out)
    assert done.returncode == 1
    assert "broken" in done.stderr and "column 'hr'" in done.stderr
    failures = json.loads((out / "failures.json").read_text())
    assert [Path(f["input"]).name for f in failures] == ["broken"]
    assert "hr" in failures[0]["reason"]
    assert len(read_table(out / "sessions.csv")) == 4
    assert not (out / "broken").exists()


def test_inputs_sharing_a_name_get_distinct_folders(simulated, tmp_path):
    source = next(p for p in sorted(simulated.iterdir()) if p.is_dir())
    for parent in ("a", "b"):
        shutil.copytree(source, tmp_path / parent / "run")
    out = tmp_path / "results"
    done = dosewatch("analyze", tmp_path / "a" / "run", tmp_path / "b" / "run", "--out", out,
                     "--no-pictures")
    assert done.returncode == 0, done.stderr
    outputs = sorted(Path(r["output"]).name for r in read_table(out / "sessions.csv"))
    assert len(set(outputs)) == 2 and all(name.startswith("run-") for name in outputs)
    # A rerun replaces the outputs in place: same names, still two.
    assert dosewatch("analyze", tmp_path / "a" / "run", tmp_path / "b" / "run", "--out", out,
                     "--no-pictures").returncode == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and p.name != "calibration"
                  and not p.name.startswith(".")) == outputs


def test_profile_override_from_the_command_line(simulated, tmp_path):
    source = next(p for p in sorted(simulated.iterdir()) if p.is_dir())
    out = tmp_path / "results"
    done = dosewatch("analyze", source, "--out", out, "--profile", "hr_rest=51,hr_max=199",
                     "--no-pictures")
    assert done.returncode == 0, done.stderr
    summary = json.loads(next(out.glob("*/summary.json")).read_text())
    assert (summary["hr_rest"], summary["hr_rest_source"]) == (51, "profile")
    assert (summary["hr_max"], summary["hr_max_source"]) == (199, "profile")


def test_missing_input_is_one_more_failure(tmp_path):
    # A missing path beside others is a failure of its own, listed where the user sees it;
    # it does not stop the batch (exit 1: some inputs failed).
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "run.fit").write_bytes(FENIX.read_bytes())
    done = dosewatch("analyze", tmp_path / "nowhere", tmp_path / "good", "--out",
                     tmp_path / "out", "--no-pictures")
    assert done.returncode == 1
    assert "nowhere" in done.stderr and "no such file or folder" in done.stderr
    failures = json.loads((tmp_path / "out" / "failures.json").read_text())
    assert [(f["status"], Path(f["input"]).name) for f in failures] == [("failed", "nowhere")]


def test_a_mistyped_path_alone_makes_no_output_folder(tmp_path):
    # Nothing given exists: an input error (exit 3), and no output folder for nothing.
    done = dosewatch("analyze", tmp_path / "nowhere.fit", "--out", tmp_path / "out")
    assert done.returncode == 3
    assert "nowhere.fit: no such file or folder" in done.stderr
    assert not (tmp_path / "out").exists()


def test_config_round_trip_and_errors(tmp_path):
    done = dosewatch("config")
    assert done.returncode == 0
    path = tmp_path / "study.toml"
    path.write_text(done.stdout)
    assert Config.load(path) == Config()
    path.write_text("[bouts]\ndose_minutes = 20\n")
    bad = dosewatch("analyze", tmp_path, "--out", tmp_path / "o", "--config", path)
    assert bad.returncode == 2 and "dose_minutes" in bad.stderr


def test_study_config_changes_the_dose(simulated, tmp_path):
    path = tmp_path / "study.toml"
    path.write_text("[bouts]\ndose_min = 500.0\n")
    out = tmp_path / "results"
    done = dosewatch("analyze", simulated, "--out", out, "--config", path, "--no-pictures")
    assert done.returncode == 0, done.stderr
    assert {r["dose_met"] for r in read_table(out / "sessions.csv")} == {"False"}


@pytest.mark.parametrize(("given", "expected"), [(None, "False"), ("1", "True")])
def test_the_command_turns_numpys_huge_pages_off_unless_asked(given, expected):
    """The command line sets NUMPY_MADVISE_HUGEPAGE=0 before NumPy loads (huge-page
    compaction stalls cost seconds of system time on a week of raw acceleration), and a
    user's own setting wins."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if given is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = given
    code = ("import dosewatch.cli, numpy; "
            "print(numpy._core.multiarray._get_madvise_hugepage())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=True)
    assert done.stdout.strip() == expected


@pytest.mark.parametrize(("limit_mb", "given", "expected"), [
    (None, None, "mimalloc"), (3000, None, "system"), (3000, "mimalloc", "mimalloc")])
def test_under_an_address_space_limit_arrow_allocates_with_malloc(limit_mb, given, expected):
    """mimalloc reserves address space a gigabyte at a time, which leaves nothing under a
    ``ulimit -v`` of a gigabyte or two; the command line gives Arrow the C library's
    malloc under such a limit (and only then), and a user's own setting wins."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if given is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = given
    limit = "" if limit_mb is None else (
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit_mb << 20}, resource.RLIM_INFINITY)); ")
    code = (f"import resource; {limit}import dosewatch.cli, pyarrow; "
            "print(pyarrow.default_memory_pool().backend_name)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=True)
    assert done.stdout.strip() == expected


def test_analyse_is_analyze():
    """The British spelling the help text uses is accepted too."""
    from dosewatch.cli import build_parser
    from dosewatch.cli.analyze import cmd_analyze

    args = build_parser().parse_args(["analyse", "run.fit", "--out", "o"])
    assert args.func is cmd_analyze and args.inputs == ["run.fit"]


def test_a_reader_that_stops_reading_is_no_error_and_outputs_are_whole(simulated, tmp_path):
    """``dosewatch analyze ... | head``: the reader goes away before the summary is
    printed. The batch's outputs are whole, and the command ends as one killed by
    SIGPIPE would (141), without an error message; the exit itself skips the
    interpreter's teardown, which loses nothing written."""
    command = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "dosewatch"]
    out = tmp_path / "results"
    process = subprocess.Popen([*command, "analyze", str(simulated), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=_buffered_env())
    process.stdout.close()  # gone before anything is written
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 141, stderr
    assert b"error" not in stderr
    assert len(read_table(out / "sessions.csv")) == 4
    assert json.loads((out / "failures.json").read_text()) == []


def _buffered_env() -> dict[str, str]:
    """The environment without PYTHONUNBUFFERED: standard output block-buffered, as a
    user's shell has it, so that what is printed reaches the file or pipe only when the
    buffer is written out (at the end of a short command)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@pytest.mark.parametrize("args", [("config",), ("simulate", "--protocol", "ramp")])
def test_an_output_that_cannot_be_written_to_a_full_disk_is_an_error(args, tmp_path):
    """``dosewatch config > my.toml`` on a full disk: the buffered text fails only when
    it is written out, and the command says so (status 5), not 0 with an empty file.
    Run through ``run`` (as the console script) with the code under test."""
    if args[0] == "simulate":
        args = (*args, "--out", str(tmp_path / "sim"))
    with open("/dev/full", "w") as full:  # Linux: every write fails with ENOSPC
        done = subprocess.run([sys.executable, "-m", "dosewatch", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=_buffered_env(),
                              timeout=600, check=False)
    assert done.returncode == 5, done.stderr
    assert "dosewatch: error: the disk is full" in done.stderr


def test_the_console_says_what_was_truncated_and_what_to_check(tmp_path):
    """A FIT cut short is analysed for what it holds and the console says so; a table
    whose unitless speed fits m/s and km/h alike is named with the option that settles
    it (issue 12 review, items 6 and 7)."""
    data = FENIX.read_bytes()
    (tmp_path / "cut.fit").write_bytes(data[: len(data) // 3])
    rows = "".join(f"{1_700_000_000 + s},{130 + s % 5},{11 + (s % 7) / 10:.1f}\n"
                   for s in range(1800))
    (tmp_path / "ride.csv").write_text("time,hr,speed\n" + rows)
    done = dosewatch("analyze", tmp_path / "cut.fit", tmp_path / "ride.csv", "--out",
                     tmp_path / "out", "--no-pictures", "-q", "--no-calibration")
    assert done.returncode == 0, done.stderr
    assert "1 input truncated: analysed what it holds" in done.stdout
    assert f"{tmp_path / 'cut.fit'}: the FIT file is truncated" in done.stdout
    assert f"check: {tmp_path / 'ride.csv'}: speed:" in done.stdout
    assert "--columns speed_unit=km/h" in done.stdout
