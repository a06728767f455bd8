"""``dosewatch analyze`` on what people hand in, as a user would run it: the shared real
data (every file accounted for: analysed, failed with a reason or skipped with a reason),
and a table the headers of which dosewatch cannot read (the refusal and its hint on the
console, then ``--columns``)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REAL

pytestmark = pytest.mark.e2e

EXE = Path(sys.executable).with_name("dosewatch")


def dosewatch(*args: object) -> subprocess.CompletedProcess:
    command = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "dosewatch"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          timeout=900, check=False)


def test_every_real_file_is_accounted_for(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = dosewatch("analyze", REAL, "--out", out, "--workers", "2", "--no-pictures", "-q",
                    "--classifier", "rules")
    assert run.returncode == 0, run.stderr
    with (out / "sessions.csv").open(newline="") as fh:
        sessions = list(csv.DictReader(fh))
    report = json.loads((out / "failures.json").read_text())
    assert not [e for e in report if e["status"] == "failed"]
    skipped = [e for e in report if e["status"] == "skipped"]
    sources = {Path(s["source"]) for s in sessions}
    skipped_paths = {Path(s["input"]): s for s in skipped}
    for path in sorted(p for p in REAL.rglob("*") if p.is_file()):
        read = path in sources or any(parent in sources for parent in path.parents)
        if not read:
            assert path in skipped_paths, f"{path} is not accounted for"
            entry = skipped_paths[path]
            assert entry["reason"] and entry["hint"], entry
    formats = {Path(s["source"]).suffix for s in sessions}
    assert {".hrm", ".pwx", ".csv", ".fit", ".tcx", ".gpx"} <= formats
    names = {s["session"] for s in sessions}
    assert {"Ramp_test", "carl", "race", "kinomap-Divonne", "intervals", "12011801",
            "empatica"} <= names
    # The Garmin stream spans 46 hours: a free-living recording, analysed as the exercise
    # sessions found in it (see tests/test_freeliving.py).
    assert any(n.startswith("garmin-2019-10-") for n in names)
    assert (out / "recordings" / "garmin.json").is_file()
    rda = [s for p, s in skipped_paths.items() if p.suffix == ".rda"]
    assert len(rda) == 3 and all("write.csv" in s["hint"] for s in rda)


def test_a_table_dosewatch_cannot_read_is_refused_on_the_console_then_mapped(
        tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rows = "".join(f"2024-05-01T10:{i // 60:02d}:{i % 60:02d};{120 + i % 5};x\n"
                   for i in range(1800))
    (folder / "puls.csv").write_text("Zeitpunkt;Puls;Notiz\n" + rows)
    run = dosewatch("analyze", folder, "--out", tmp_path / "out1", "--no-pictures", "-q")
    assert run.returncode == 1
    assert "puls.csv: no time column recognised (columns: Zeitpunkt, Puls, Notiz)" in run.stderr
    assert "--columns time=COLUMN" in run.stderr and "rename" not in run.stderr
    run = dosewatch("analyze", folder, "--out", tmp_path / "out2", "--no-pictures", "-q",
                    "--columns", "time=Zeitpunkt,hr=Puls")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("1 session analysed")
    run = dosewatch("analyze", folder, "--out", tmp_path / "out3", "--columns", "pulse=2")
    assert run.returncode == 2 and "unknown name 'pulse'" in run.stderr
