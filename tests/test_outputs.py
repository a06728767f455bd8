"""Outputs: atomic session folders, every modality drawn, tiny sessions, naming."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from dosewatch import outputs
from dosewatch.analysis import analyze_session
from dosewatch.errors import OutputError
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
    with pytest.raises(OutputError, match="disk full"):  # dosewatch's error, no traceback
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


# --------------------------------------------------------------------------- issue 14


def test_output_names_never_take_the_batch_files_and_stay_short(tmp_path):
    paths = [tmp_path / "sessions.csv.fit", tmp_path / "Failures.JSON", tmp_path / "x"
             / ("y" * 240), tmp_path / "a" / "Run", tmp_path / "b" / "run",
             tmp_path / ".dosewatch.gpx"]
    names = output_names(paths)
    assert names[0].startswith("sessions.csv-") and names[1].startswith("Failures.JSON-")
    assert len(names[2]) <= 100 and names[2].startswith("y" * 80)
    assert names[3].lower() != names[4].lower()  # unique on case-insensitive disks too
    assert names[5] == "dosewatch"  # never hidden: never dosewatch's own .dosewatch
    assert len({n.lower() for n in names}) == len(names)
    assert output_names(paths + paths[:1])[-1] != names[0]  # the same input given twice


def test_an_output_folder_is_never_an_input_or_around_one(tmp_path):
    study = tmp_path / "study"
    (study / "run").mkdir(parents=True)
    for out, match in [(study, "is the input"), (study / "run" / "o", "lies inside"),
                       (tmp_path, "holds the input")]:
        with pytest.raises(OutputError, match=match):
            outputs.OutputRoot.claim(out, [study])
    os.symlink(study, tmp_path / "alias")  # the same folder under another name
    with pytest.raises(OutputError, match="is the input"):
        outputs.OutputRoot.claim(tmp_path / "alias", [study])
    assert sorted(p.name for p in study.iterdir()) == ["run"]


def test_an_output_folder_with_someone_elses_files_is_refused(tmp_path):
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "thesis.docx").write_text("mine")
    with pytest.raises(OutputError, match="holds files dosewatch did not write"):
        outputs.OutputRoot.claim(tmp_path / "theirs")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        outputs.OutputRoot.claim(tmp_path / "file")
    root = outputs.OutputRoot.claim(tmp_path / "new" / "out")
    assert json.loads((root.own / "output.json").read_text())["written_by"] == "dosewatch"
    outputs.OutputRoot.claim(tmp_path / "new" / "out")  # marked: dosewatch's own


def test_an_output_folder_of_an_older_dosewatch_is_taken_over(simulated, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for name in ("sessions.csv", "failures.json", "config.toml"):
        (old / name).write_text("")
    sim = simulated("steady_light", person_seed=31, person_id="out", placement="chest",
                    acc_fs=25.0, seed=4)
    write_session(analyze_session(sim.session), old, "s")
    outputs.OutputRoot.claim(old)
    assert (old / ".dosewatch" / "output.json").is_file()


def test_one_run_at_a_time_holds_an_output_folder(tmp_path):
    root = outputs.OutputRoot.claim(tmp_path / "out")
    with root.locked(), pytest.raises(OutputError, match="another dosewatch run is writing"), \
            outputs.OutputRoot.claim(tmp_path / "out").locked():
        pass
    with outputs.OutputRoot.claim(tmp_path / "out").locked():  # released: free again
        pass


def test_a_folder_that_dosewatch_did_not_write_is_never_replaced(simulated, tmp_path):
    sim = simulated("steady_light", person_seed=31, person_id="out", placement="chest",
                    acc_fs=25.0, seed=4)
    result = analyze_session(sim.session)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a session folder dosewatch wrote"):
        write_session(result, tmp_path, "s")
    assert (tmp_path / "s" / "notes.txt").read_text() == "mine"
