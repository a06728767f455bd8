"""A study folder with good sessions among broken files, through the batch runner and the
real command: every broken file becomes one entry of ``failures.json`` with a reason that
names its problem, the good sessions are analysed completely, the exit status is 1, and
nothing half-written is left behind."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.activity_files import gpx_text, points, tcx_text
from support.paths import REAL
from support.simulated import simulate_cached

from dosewatch.batch import run_batch
from dosewatch.ingest import write_session_folder
from dosewatch.ingest.discover import discover

REAL_FIT = REAL / "GoldenCheetah__GoldenCheetah/Move_2020_01_15_19_27_16_Running.fit"
REAL_TCX_GZ = REAL / "lwaldron__ConconiAnaerobicThresholdTest/2023-01-16.tcx.gz"
GOOD = {"Move_2020_01_15_19_27_16_Running", "2023-01-16", "simulated"}
# Files without usable heart rate but with positions: read as the speed alone (SPEC:
# intensity from a workload channel), with a "check:" line saying so (name -> its reason).
WORKLOAD_ONLY = {
    "no-heart-rate": "no heart rate in this file (it has distance, positions only): read the "
                     "speed alone",
    "zero-heart-rate": "no usable heart rate: every heart-rate value is 0 bpm (100 "
                       "trackpoints): read the speed alone",
}
SESSIONS = GOOD | set(WORKLOAD_ONLY)
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
    "<gpx><trk><name>&lol2;</name></trk></gpx>"
)


def _broken_files(folder: Path) -> dict[str, str]:
    """Write the broken files; returns file name -> the start of its expected reason."""
    fit = REAL_FIT.read_bytes()
    tcx = gzip.decompress(REAL_TCX_GZ.read_bytes())
    flipped = bytearray(fit)
    flipped[len(fit) // 2] ^= 0x10
    bad_gzip = bytearray(REAL_TCX_GZ.read_bytes())
    bad_gzip[2] = 9  # compression method: not deflate
    lines = tcx.split(b"\n")
    lines[len(lines) // 2] = b"<Trackpoint><Time>oops</Trackpoint>"
    no_hr = [{k: v for k, v in p.items() if k != "hr"} for p in points(100)]
    zero_hr = [dict(p, hr=0) for p in points(100)]
    course = (tcx_text([points(20)]).replace("<Activities>", "<Courses>")
              .replace("</Activities>", "</Courses>")
              .replace('<Activity Sport="Running">', "<Course>")
              .replace("</Activity>", "</Course>"))
    files: dict[str, tuple[bytes, str]] = {
        "empty.fit": (b"", "the file is empty (0 bytes)"),
        "header-only.fit": (fit[:10], "the file is truncated: 10 bytes, shorter than a FIT"),
        "flipped-byte.fit": (bytes(flipped), "the FIT file is damaged: its checksum does not"),
        "tcx-inside.fit": (tcx, "not a FIT file: the content is a TCX file"),
        "fit-inside.tcx": (fit, "not a TCX file: the content is a FIT file"),
        "billion-laughs.gpx": (BILLION_LAUGHS.encode(),
                               "the XML declares a DOCTYPE or entities"),
        "malformed.tcx": (b"\n".join(lines), "malformed XML at line"),
        "plain-text.tcx.gz": (tcx, "the file is named .gz but is not gzip-compressed"),
        "bad-gzip.tcx.gz": (bytes(bad_gzip), "the gzip data is corrupt"),
        "random-bytes.gpx": (np.random.default_rng(1).bytes(3000), "not a GPX file"),
        "course.tcx": (course.encode(), "the file holds a course"),
        "random-bytes.fit": (np.random.default_rng(2).bytes(3000), "not a FIT file"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    (folder / "no-heart-rate.gpx").write_text(gpx_text([no_hr], style="gpxdata"))
    (folder / "zero-heart-rate.tcx").write_text(tcx_text([zero_hr]))
    return {name: reason for name, (_, reason) in files.items()}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("study") / "P01"
    folder.mkdir()
    # Good: a real FIT and a real TCX (copied into the temporary study, not the repo)
    # and a simulated session folder.
    (folder / REAL_FIT.name).write_bytes(REAL_FIT.read_bytes())
    (folder / REAL_TCX_GZ.name).write_bytes(REAL_TCX_GZ.read_bytes())
    sim = simulate_cached("steady_intermediate", person_seed=5, person_id="P01",
                          placement="wrist", modality="hr", seed=3)
    write_session_folder(sim.session, folder / "simulated")
    return folder, _broken_files(folder)


def _check_outputs(out: Path, study: tuple[Path, dict[str, str]]) -> None:
    folder, expected = study
    failures = json.loads((out / "failures.json").read_text())
    by_name = {Path(f["input"]).name: f for f in failures}
    assert len(failures) == len(by_name) == len(expected)  # one entry per bad file
    assert set(by_name) == set(expected)
    for name, reason in expected.items():
        entry = by_name[name]
        assert entry["error"] == "InputError", entry
        assert entry["reason"].startswith(reason), (name, entry["reason"])
        assert entry["hint"], entry
        assert Path(entry["input"]) == folder / name
    with open(out / "sessions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {row["session"] for row in rows} == SESSIONS
    for row in rows:
        assert (row["intensity_source"] == "workload") == (row["session"] in WORKLOAD_ONLY)
    for row in rows:
        session_dir = Path(row["output"])
        assert session_dir.parent == out
        summary = json.loads((session_dir / "summary.json").read_text())
        assert summary["session"] == row["session"]
        assert summary["session_class"] in ("constant", "accelerating", "intermediate", "none")
        epochs = (session_dir / "epochs.csv").read_text().splitlines()
        assert next(csv.reader(epochs[:1]))[:5] == ["start_s", "time", "label", "level",
                                                       "intensity"]
        assert len(epochs) > (2 if row["session"] in WORKLOAD_ONLY else 10)  # 100-s files
    fit_row = next(r for r in rows if r["session"] == "Move_2020_01_15_19_27_16_Running")
    assert fit_row["sport"] == "running"
    assert fit_row["start_time"].startswith("2020-01-15T18:27:24")
    assert {p.name for p in out.iterdir() if p.is_dir()} - {"calibration"} == \
        SESSIONS | {".dosewatch"}
    assert not list((out / ".dosewatch" / "tmp").iterdir())  # no temporary left behind
    for root, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if d != ".dosewatch"]  # dosewatch's own: marker, lock
        for name in dirs + files:
            assert not name.startswith("."), Path(root) / name
            assert not name.endswith((".partial", ".tmp", ".old")), Path(root) / name


@pytest.mark.e2e
def test_batch_runner_reports_each_bad_file(study: tuple[Path, dict[str, str]],
                                            tmp_path: Path) -> None:
    folder, expected = study
    inputs = discover([folder])
    assert len(inputs.inputs) == len(expected) + len(SESSIONS)
    out = tmp_path / "out"
    report = run_batch(inputs, out, workers=1, pictures=False,
                       progress=False)
    assert not report.ok and len(report.failures) == len(expected)
    assert len(report.rows) == len(SESSIONS)
    assert {Path(c["input"]).name.split(".")[0]: c["reason"] for c in report.checks} == \
        WORKLOAD_ONLY
    _check_outputs(out, study)


@pytest.mark.e2e
def test_the_command_reports_each_bad_file(study: tuple[Path, dict[str, str]],
                                           tmp_path: Path) -> None:
    folder, expected = study
    out = tmp_path / "out"
    # The default classifier, as a user's batch would run.
    done = subprocess.run(
        [sys.executable, "-m", "dosewatch", "analyze", str(folder), "--out", str(out), "-q",
         "--no-pictures"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 1, done.stderr
    assert f"{len(SESSIONS)} sessions analysed, {len(expected)} inputs failed" in done.stdout
    for name, reason in WORKLOAD_ONLY.items():
        assert f"{name}." in done.stdout and reason in done.stdout, (name, done.stdout)
    assert "Traceback" not in done.stderr
    for name in expected:
        assert name in done.stderr
    _check_outputs(out, study)
