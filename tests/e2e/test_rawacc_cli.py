"""``dosewatch analyze`` on a folder of real raw-accelerometer files, as a user would run
it: every format is analysed, and an EDF without acceleration, heart rate or ECG is refused
on the console with a hint that names what to do."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.rawacc_files import DATA

pytestmark = pytest.mark.e2e
EXE = Path(sys.executable).with_name("dosewatch")
FILES = ["cwa/ax3_testfile.cwa", "cwa/ax6_testfile.cwa", "gt3x/ISM_Enabled.gt3x",
         "gt3x/neo.gt3x", "geneactiv/GENEActiv_testfile.bin", "edf/acc_hr_ecg.edf",
         "edf/test_subsecond.edf"]


def test_analyze_a_folder_of_raw_files(tmp_path: Path) -> None:
    inputs = tmp_path / "study" / "P01"
    inputs.mkdir(parents=True)
    for name in FILES:
        shutil.copy(DATA / name, inputs / Path(name).name)
    command = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "dosewatch"]
    done = subprocess.run([*command, "analyze", str(tmp_path / "study"), "--out",
                           str(tmp_path / "out"), "--no-pictures"], capture_output=True,
                          text=True, timeout=600, check=False)
    with (tmp_path / "out" / "sessions.csv").open(newline="") as f:
        rows = {row["session"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"ax3_testfile", "ax6_testfile", "ISM_Enabled", "neo",
                         "GENEActiv_testfile", "acc_hr_ecg"}
    assert {rows[name]["participant"] for name in rows} == {"P01"}
    assert done.returncode != 0  # one input failed, and the console says which and why
    assert "test_subsecond.edf: no acceleration (x, y, z), heart-rate or ECG channel" in (
        done.stdout + done.stderr)
    assert "label the channels like 'ACC X'" in done.stdout + done.stderr
    # Acceleration alone with population cut-points is low certainty, and the console
    # says how many verdicts are (review 2026-11-25c, item 10).
    low = sum(row["certainty"] == "low" for row in rows.values())
    assert low >= 4
    assert f"certainty: {low} low" in done.stdout and "of 6 verdicts" in done.stdout
