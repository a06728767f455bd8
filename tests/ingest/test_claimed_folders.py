"""A folder a reader claims (an E4 export, a logger's data.csv + acc.csv, a session
folder's hr.csv) is not swallowed whole (review 2026-11-25c, item 1): its reader uses its
own files; every other entry (a FIT file beside it, a ``week2/`` subfolder, another
recording) is an input of its own or skipped with the reason, and its ``profile.toml`` is
the profile of the folder's input and of everything below it."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.activity_files import T0, fit_activity, steady_records, write
from support.hostile import hr_session
from support.paths import DATA

from dosewatch.ingest.discover import discover
from dosewatch.ingest.registry import get_reader, reader_for

E4_FILES = ["ACC.csv", "HR.csv", "IBI.csv", "info.txt"]
PROFILE = 'id = "P12"\nage = 30\nhr_rest = 50\n'


def _fit(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write(path, fit_activity(steady_records(600, start=T0)))


def _logger(folder: Path) -> Path:
    """A watch logger's folder (FLIRT's garmin layout): data.csv of time;KEY;value rows
    with heart rate, and acc.csv of time;x;y;z rows, both without a header."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f"2019-10-16T12:{m:02d}:{s:02d}.000+02:00;HEART_RATE;{70 + s % 5}.0"
            for m in range(10, 13) for s in range(0, 60, 5)]
    (folder / "data.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    acc = [f"2019-10-16T12:10:{s:02d}.000+02:00;-36;620;-824" for s in range(60)]
    (folder / "acc.csv").write_text("\n".join(acc) + "\n", encoding="utf-8")
    return folder


def _participant(folder: Path, export: str) -> Path:
    """A participant's folder holding an export straight in it, and beside it a FIT file,
    a Polar Sensor Logger recording, a profile.toml and a week2/ subfolder."""
    folder.mkdir(parents=True)
    if export == "e4":
        for name in E4_FILES:
            shutil.copy(DATA / "e4" / name, folder)
    elif export == "logger":
        _logger(folder)
    else:
        hr_session(folder, minutes=3)
    for name in ("Polar_Sense_HR.txt", "Polar_Sense_PPI.txt", "Polar_Sense_ACC.txt",
                 "MARKER.txt"):
        shutil.copy(DATA / "polar_sensor_logger" / name, folder)
    _fit(folder / "run.fit")
    _fit(folder / "week2" / "long.fit")
    (folder / "profile.toml").write_text(PROFILE, encoding="utf-8")
    return folder


def _names(paths, root: Path) -> list[str]:
    return sorted(str(Path(p).relative_to(root)) for p in paths)


def test_an_export_in_a_participants_folder_leaves_the_rest_to_be_inputs(tmp_path):
    for export, reader in (("e4", "e4"), ("logger", "keyed-folder"),
                           ("session", "interchange")):
        root = tmp_path / export
        p12 = _participant(root / "P12", export)
        assert reader_for(p12) is get_reader(reader)
        inventory = discover([root])
        assert _names(inventory.inputs, root) == [
            "P12", "P12/Polar_Sense_HR.txt", "P12/run.fit", "P12/week2/long.fit"], export
        # The export's own files are its reader's: neither inputs nor skipped again.
        assert _names((s.path for s in inventory.parts), root) == [
            "P12/Polar_Sense_ACC.txt",
            "P12/Polar_Sense_PPI.txt"]
        assert _names((s.path for s in inventory.skipped), root) == ["P12/MARKER.txt"]
        assert "marker file" in inventory.skipped[0].hint
        assert inventory.failed == []
        # Its profile.toml is the profile of the folder's own input and of all below it.
        own = p12 / "profile.toml"
        assert inventory.profiles == {path: (own,) for path in inventory.inputs}
        assert [(s.path, s.reason) for s in inventory.profile_files] == [
            (str(own), "profile for 4 inputs")]


def test_a_claimed_folder_named_on_the_command_line_is_walked_too(tmp_path):
    study = tmp_path / "study"
    (study).mkdir()
    (study / "profile.toml").write_text('placement = "wrist"\n', encoding="utf-8")
    p12 = _participant(study / "P12", "e4")
    inventory = discover([p12])
    assert _names(inventory.inputs, study) == [
        "P12", "P12/Polar_Sense_HR.txt", "P12/run.fit", "P12/week2/long.fit"]
    # The profile beside a command-line input, then the folder's own (nearest wins).
    both = (study / "profile.toml", p12 / "profile.toml")
    assert inventory.profiles == {path: both for path in inventory.inputs}


def test_the_readers_say_which_files_are_theirs(tmp_path):
    e4 = tmp_path / "e4"
    e4.mkdir()
    for name in [*E4_FILES, "profile.toml", "notes.txt"]:
        shutil.copy(DATA / "e4" / name, e4) if name in E4_FILES else (e4 / name).touch()
    assert [p.name for p in get_reader("e4").folder_files(e4)] == sorted(E4_FILES)
    logger = _logger(tmp_path / "logger")
    (logger / "profile.toml").touch()
    assert [p.name for p in get_reader("keyed-folder").folder_files(logger)] == [
        "data.csv", "acc.csv"]
    session = hr_session(tmp_path / "session", minutes=1)
    (session / "speed.csv").write_text("time,speed_mps\n0,1\n", encoding="utf-8")
    (session / "profile.toml").touch()
    (session / "truth.json").write_text("{}", encoding="utf-8")  # a simulated session's
    assert [p.name for p in get_reader("interchange").folder_files(session)] == [
        "hr.csv", "speed.csv", "truth.json"]


def test_an_exports_own_profile_is_its_profile_even_alone(tmp_path):
    """An E4 export with its profile.toml and nothing else: the profile is the export's
    (its reader does not read it itself), and, as a session folder's own, not listed."""
    p12 = tmp_path / "study" / "P12"
    p12.mkdir(parents=True)
    for name in E4_FILES:
        shutil.copy(DATA / "e4" / name, p12)
    (p12 / "profile.toml").write_text(PROFILE, encoding="utf-8")
    for given in ([tmp_path / "study"], [p12]):
        inventory = discover(given)
        assert inventory.inputs == [p12]
        assert inventory.profiles == {p12: (p12 / "profile.toml",)}
        assert inventory.profile_files == [] and inventory.skipped == []


def test_an_export_unpacked_beside_a_participants_files_belongs_to_that_folder(tmp_path):
    """Without a profile id, a session is the participant of the folder that holds its
    input; an export unpacked straight into the participant's folder, beside their other
    files, belongs to that folder as the files beside it do (it went to the folder above:
    one person's data under two names). An export alone in its folder keeps the rule."""
    from dosewatch.batch import with_participant
    from dosewatch.ingest.registry import read_one

    p12 = _participant(tmp_path / "study" / "P12", "e4")
    (p12 / "profile.toml").unlink()
    alone = tmp_path / "study" / "P13" / "e4"
    alone.mkdir(parents=True)
    for name in E4_FILES:
        shutil.copy(DATA / "e4" / name, alone)
    for folder, expected in ((p12, "P12"), (alone, "P13")):
        session = with_participant(read_one(folder), folder)
        assert session.profile.id == expected
    assert with_participant(read_one(p12 / "run.fit"), p12 / "run.fit").profile.id == "P12"
