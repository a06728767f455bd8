"""A participant's ``profile.toml`` beside their watch exports (review 2026-11-25, item
10): it is their profile, its ``id`` their participant; ``--profile`` beats it, it beats
what the device files store; a malformed one is refused naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.activity_files import T0, fit_activity, steady_records, write
from support.hostile import hr_session

from dosewatch.batch import run_batch
from dosewatch.errors import ProfileError
from dosewatch.ingest.discover import discover
from dosewatch.profiles import profile_for_input
from dosewatch.rows import read_rows
from dosewatch.session import Profile

pytestmark = pytest.mark.e2e  # whole batches

RESTING_IN_FILE = [(8, "uint8", 45)]  # the watch's own resting heart rate: 45 bpm


def _text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _fit(path: Path, day: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    records = steady_records(600, start=T0 + day * 86_400)
    write(path, fit_activity(records, user_profile=RESTING_IN_FILE))


@pytest.fixture
def study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    _text(root / "alice" / "profile.toml", 'id = "S1"\nage = 40\nhr_rest = 52\n')
    _fit(root / "alice" / "run1.fit", 0)
    _fit(root / "alice" / "run2.fit", 2)
    _text(root / "flat" / "profile.toml", 'id = "P03"\nage = "thirty"\n')
    _fit(root / "flat" / "run.fit", 0)
    _text(root / "P02" / "profile.toml", 'hr_rest = 56\nage = 30\n')
    hr_session(root / "P02" / "lab", minutes=3)
    _text(root / "P02" / "lab" / "profile.toml", "hr_rest = 50\n")
    return root


def _rows(out: Path) -> dict[str, object]:
    return {r.session: r for r in read_rows(out)}


def test_the_folder_profile_is_the_participants_and_beats_the_files(study, tmp_path):
    out = tmp_path / "out"
    report = run_batch(discover([study]), out, pictures=False, progress=False)
    rows = _rows(out)
    for name in ("run1", "run2"):
        assert rows[name].participant == "S1"  # the folder's id, not "alice"
        assert (rows[name].hr_rest, rows[name].hr_rest_source) == (52, "profile")
    assert (out / "calibration" / "S1.toml").is_file()
    # A session folder's own profile.toml beats its participant folder's.
    assert (rows["lab"].participant, rows["lab"].hr_rest) == ("P02", 50)
    # The malformed profile refuses its inputs, naming the file; the others go on.
    (failure,) = report.failures
    assert failure["input"] == str(study / "flat" / "run.fit")
    assert failure["error"] == "ProfileError"
    assert str(study / "flat" / "profile.toml") in failure["reason"]
    assert "age must be a number, got the text 'thirty'" in failure["reason"]
    assert failure["hint"] == "write it as a bare number, e.g. age = 34"
    entries = json.loads((out / "failures.json").read_text())
    assert {e["input"]: e["reason"] for e in entries if e["status"] == "profile"} == {
        str(study / "alice" / "profile.toml"): "profile for 2 inputs",
        str(study / "flat" / "profile.toml"): "profile for 1 input",
        str(study / "P02" / "profile.toml"): "profile for 1 input"}
    assert not [e for e in entries if e["status"] == "skipped"]


def test_an_e4_export_in_the_participants_folder_is_theirs_and_leaves_the_rest(tmp_path):
    """Review 2026-11-25c, item 1: an E4 export unzipped into the participant's folder
    took the parent folder for its participant, ignored the folder's profile.toml, and
    hid the FIT file and the Polar recording beside it (in no table, no list)."""
    import shutil

    from support.paths import DATA

    root = tmp_path / "mix"
    p12 = root / "P12"
    p12.mkdir(parents=True)
    for name in ("ACC.csv", "HR.csv", "IBI.csv", "info.txt"):
        shutil.copy(DATA / "e4" / name, p12)
    for name in ("Polar_Sense_HR.txt", "Polar_Sense_PPI.txt", "Polar_Sense_ACC.txt"):
        shutil.copy(DATA / "polar_sensor_logger" / name, p12)
    _fit(p12 / "week2" / "run.fit", 0)
    _text(p12 / "profile.toml", 'id = "P12"\nage = 30\nhr_rest = 50\n')
    out = tmp_path / "out"
    report = run_batch(discover([root]), out, pictures=False, progress=False,
                       calibrate=False)
    assert report.failures == [] and report.unsupported == []
    rows = _rows(out)
    # The Polar recording is named after the recording, not its lead file.
    assert sorted(rows) == ["P12", "Polar_Sense", "run"]
    for row in rows.values():
        assert (row.participant, row.hr_rest, row.hr_rest_source) == ("P12", 50, "profile")
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")
                  and p.is_dir()) == ["P12", "Polar_Sense", "run"]
    # The recording's other files were read into it: said so, not "skipped".
    assert sorted(Path(p["input"]).name for p in report.parts) == [
        "Polar_Sense_ACC.txt", "Polar_Sense_PPI.txt"]
    entries = json.loads((out / "failures.json").read_text())
    assert sorted(Path(e["input"]).name for e in entries if e["status"] == "part") == [
        "Polar_Sense_ACC.txt", "Polar_Sense_PPI.txt"]
    assert {e["input"]: e["reason"] for e in entries if e["status"] == "profile"} == {
        str(p12 / "profile.toml"): "profile for 3 inputs"}
    # The study report accounts for them too.
    from dosewatch.report import write_report

    page = write_report(out).read_text(encoding="utf-8")
    listed = page[page.index('id="parts-list"'):]
    assert "Polar_Sense_ACC.txt" in listed and "Polar_Sense_PPI.txt" in listed


def test_the_command_line_beats_the_folder_profile(study, tmp_path):
    out = tmp_path / "out"
    run_batch(discover([study / "alice", study / "P02"]), out, pictures=False,
              progress=False, profile=Profile(hr_rest=58))
    rows = _rows(out)
    assert [rows[n].hr_rest for n in ("run1", "run2", "lab")] == [58, 58, 58]
    assert rows["run1"].participant == "S1"  # the fields it does not give stay the folder's


def test_editing_the_folder_profile_analyses_its_inputs_again(study, tmp_path):
    out = tmp_path / "out"
    inputs = [study / "alice"]
    run_batch(discover(inputs), out, pictures=False, progress=False)
    assert run_batch(discover(inputs), out, pictures=False, progress=False).skipped == 2
    _text(study / "alice" / "profile.toml", 'id = "S1"\nage = 40\nhr_rest = 54\n')
    again = run_batch(discover(inputs), out, pictures=False, progress=False)
    assert again.skipped == 0
    assert {r.hr_rest for r in read_rows(out)} == {54}


def test_an_impossible_merge_names_the_files(tmp_path):
    folder = _text(tmp_path / "P1" / "profile.toml", "hr_rest = 110\n")
    with pytest.raises(ProfileError) as caught:
        profile_for_input(tmp_path / "P1" / "run.fit", [folder], Profile(hr_max=105))
    assert str(folder) in caught.value.reason and "with the given profile" in caught.value.reason
    assert "hr_rest" in caught.value.reason
    assert profile_for_input(tmp_path / "P1" / "run.fit", [folder]) == Profile(hr_rest=110)


def test_a_zip_s_profile_goes_between_the_folder_s_and_the_command_line(tmp_path):
    """A participant's bulk export holding its own profile.toml, in a study folder with a
    study-wide one: the zip's id and hr_rest win over the folder's, --profile over both."""
    import zipfile

    root = tmp_path / "study"
    _text(root / "profile.toml", 'id = "study"\nage = 50\nhr_rest = 60\n')
    _fit(tmp_path / "run.fit", 0)
    with zipfile.ZipFile(root / "export.zip", "w") as zf:
        zf.write(tmp_path / "run.fit", "run.fit")
        zf.writestr("profile.toml", 'id = "P09"\nhr_rest = 54\n')
    out = tmp_path / "out"
    run_batch(discover([root]), out, pictures=False, progress=False, calibrate=False,
              profile=Profile(hr_rest=58))
    [row] = read_rows(out)
    assert (row.participant, row.hr_rest) == ("P09", 58)
    run_batch(discover([root]), tmp_path / "out2", pictures=False, progress=False,
              calibrate=False)
    [row] = read_rows(tmp_path / "out2")
    assert (row.participant, row.hr_rest) == ("P09", 54)


def test_the_console_counts_a_recordings_files_as_read_not_skipped(tmp_path, capsys):
    """Review 2026-11-25c, item 14: a Polar Sensor Logger recording's PPI and ACC files
    were counted in 'N files skipped as not session inputs', though they were read."""
    import shutil

    from support.paths import DATA

    from dosewatch.cli import main

    folder = tmp_path / "P17"
    folder.mkdir()
    for name in ("Polar_Sense_HR.txt", "Polar_Sense_PPI.txt", "Polar_Sense_ACC.txt"):
        shutil.copy(DATA / "polar_sensor_logger" / name, folder)
    _fit(folder / "run.fit", 0)
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / "P17"), "--out", str(out), "-q",
                 "--no-pictures", "--no-calibration"]) == 0
    said = capsys.readouterr()
    assert said.out.splitlines()[0] == (
        "2 sessions analysed, 0 inputs failed, 0 files skipped as not session inputs, "
        "2 more files read as parts of recordings")
    assert "skipped:" not in said.err and "Polar_Sense_PPI" not in said.err
