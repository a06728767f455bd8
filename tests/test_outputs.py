"""Outputs: atomic session folders, every modality drawn, tiny sessions, naming."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from dosewatch import outputs
from dosewatch.analysis import analyze_session
from dosewatch.outputs import output_names, write_session
from dosewatch.session import Profile, build_session


@pytest.mark.parametrize("modality", ["hr+acc", "hr", "acc"])
def test_every_modality_is_written_and_drawn(simulated, tmp_path, modality):
    sim = simulated("walk_then_run", person_seed=31, person_id="out", placement="wrist",
                    acc_fs=25.0, modality=modality, seed=3)
    result = analyze_session(sim.session)
    folder = write_session(result, tmp_path, "s")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["intensity_source"] == ("acceleration" if modality == "acc" else "heart_rate")
    if modality == "acc":
        assert summary["hr_rest"] is None
        assert any("acceleration alone" in w for w in summary["warnings"])
    with (folder / "epochs.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["label"] for r in rows] == [str(x) for x in
                                          result.epoch_columns()["label"].tolist()]
    assert (folder / "session.png").read_bytes().startswith(b"\x89PNG")


def test_a_failure_mid_write_leaves_the_previous_output_intact(simulated, tmp_path,
                                                                monkeypatch):
    sim = simulated("steady_light", person_seed=31, person_id="out", placement="chest",
                    acc_fs=25.0, seed=4)
    result = analyze_session(sim.session)
    folder = write_session(result, tmp_path, "s")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def broken_csv(result, path):
        Path(path).write_text("start_s,lab")  # half a file, then the crash
        raise OSError("disk full")

    monkeypatch.setattr(outputs, "write_epochs_csv", broken_csv)
    with pytest.raises(OSError, match="disk full"):
        write_session(result, tmp_path, "s")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temporary left


@pytest.mark.parametrize(
    "streams",
    [
        {"hr": (np.array([0.0]), np.array([72.0]))},
        {"hr": (np.arange(5.0), np.full(5, 90.0))},
        {"acc": (np.arange(125) / 25.0, np.tile([0, 0, 1.0], (125, 1)))},
    ],
    ids=["one heart-rate sample", "five seconds of heart rate", "five seconds of acceleration"],
)
def test_tiny_sessions_are_analysed(tmp_path, streams):
    session = build_session("tiny", profile=Profile(age=30), **streams)
    result = analyze_session(session)
    assert result.features.n == 1
    assert result.session_class in ("none", "constant", "intermediate")
    assert result.bouts == [] and not result.dose_met
    write_session(result, tmp_path, "tiny")


def test_output_names_are_unique_and_stable(tmp_path):
    paths = [tmp_path / "a" / "run", tmp_path / "b" / "run", tmp_path / "c" / "walk.tcx.gz"]
    names = output_names(paths)
    assert names[2] == "walk"
    assert names[0] != names[1] and all(n.startswith("run-") for n in names[:2])
    assert output_names(paths) == names
    assert output_names([Path("odd name!")]) == ["odd_name_"]
    # A name that a multi-session input's sessions could take (run-1, run-2...) is made
    # unique, so the two can never share a folder.
    clash = output_names([tmp_path / "a" / "run.tcx", tmp_path / "b" / "run-1.fit"])
    assert clash[0] == "run" and clash[1].startswith("run-1-")
