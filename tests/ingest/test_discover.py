"""Discovery cannot be trapped (issue 14): limits, links only inside the roots, regular
files only, every file found once, and every entry accounted for with its reason."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from support.hostile import hr_session

from dosewatch.ingest.discover import discover


def _reasons(inventory) -> dict[str, str]:  # an Inventory
    return {Path(s.path).name: s.reason for s in inventory.skipped}


def test_the_depth_limit_is_said_once_per_folder_cut_off(tmp_path):
    hr_session(tmp_path / "a" / "b" / "c" / "run", minutes=1)
    hr_session(tmp_path / "top", minutes=1)
    inventory = discover([tmp_path], max_depth=2)
    assert inventory.inputs == [tmp_path / "top"]
    (cut,) = [s for s in inventory.skipped if "deep" in s.reason]
    assert cut.path == str(tmp_path / "a" / "b" / "c")  # the third level below
    assert cut.reason == "nested more than 2 folders deep: not searched"
    assert "pass this folder itself" in cut.hint


def test_the_entry_limit_stops_the_search_and_is_a_failure(tmp_path):
    for i in range(10):
        hr_session(tmp_path / f"s{i}", minutes=1)
    inventory = discover([tmp_path], max_entries=4)
    assert len(inventory.inputs) == 4  # what was found is still analysed
    (failed,) = inventory.failed
    assert failed.reason == "holds more than 4 files and folders: searched the first 4 only"


def test_special_files_are_skipped_never_opened(tmp_path):
    hr_session(tmp_path / "run", minutes=1)
    os.mkfifo(tmp_path / "pipe.fit")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock.tcx"))
        inventory = discover([tmp_path, tmp_path / "pipe.fit"])
    reasons = _reasons(inventory)
    assert reasons["pipe.fit"] == "not a regular file: a FIFO (named pipe)"
    assert reasons["sock.tcx"] == "not a regular file: a socket"
    (failed,) = inventory.failed
    assert failed.path == str(tmp_path / "pipe.fit")
    assert failed.reason == "not a regular file: a FIFO (named pipe)"


def test_links_are_followed_inside_the_roots_only_and_each_one_is_said(tmp_path):
    study, outside = tmp_path / "study", tmp_path / "outside"
    real = hr_session(study / "data" / "run", minutes=1)
    hr_session(outside / "x", minutes=1)
    (outside / "y.fit").write_bytes(b"not used")
    os.symlink(real, study / "alias")  # the same session again: skipped
    os.symlink(outside / "x", study / "away")  # outside: skipped
    os.symlink(outside / "y.fit", study / "away.fit")
    os.symlink(study / "nowhere", study / "broken.gpx")
    (study / "deep").mkdir()
    hr_session(study / ".hidden" / "run2", minutes=1)
    os.symlink(study / ".hidden", study / "deep" / "shown")  # inside, found only here
    inventory = discover([study])
    assert inventory.inputs == [study / "data" / "run", study / "deep" / "shown" / "run2"]
    reasons = _reasons(inventory)
    assert reasons["alias"] == f"the same folder as {real}, which is searched or analysed " \
        "already"
    assert reasons["away"] == f"a link to {outside / 'x'}, outside the folders given: " \
        "not followed"
    assert reasons["away.fit"].startswith(f"a link to {outside / 'y.fit'}, outside")
    assert reasons["broken.gpx"] == "a link to nothing (broken link)"
    assert [(Path(f.path).name, f.reason) for f in inventory.followed] == [
        ("shown", f"a link to {study / '.hidden'}, inside the folders given: followed")]


def test_a_link_given_on_the_command_line_is_followed(tmp_path):
    real = hr_session(tmp_path / "elsewhere" / "run", minutes=1)
    os.symlink(real, tmp_path / "named")
    inventory = discover([tmp_path / "named"])
    assert inventory.inputs == [tmp_path / "named"] and not inventory.failed


def test_each_file_is_an_input_once(tmp_path):
    hr_session(tmp_path / "study" / "run", minutes=1)
    fit = tmp_path / "study" / "a.fit"
    fit.write_bytes(b"x")
    os.link(fit, tmp_path / "study" / "b.fit")  # a hard link: the same file
    inventory = discover([tmp_path / "study", tmp_path / "study" / "run",
                          tmp_path / "study"])
    assert inventory.inputs == [fit, tmp_path / "study" / "run"]
    assert _reasons(inventory)["b.fit"].startswith(f"the same file as {fit}")
    assert sum("the same folder" in s.reason for s in inventory.skipped) == 2


def test_a_link_loop_on_the_command_line_is_a_failure_with_its_reason(tmp_path):
    os.symlink("loop.fit", tmp_path / "loop.fit")
    (failed,) = discover([tmp_path / "loop.fit"]).failed
    assert failed.reason == "a link loop (the link leads back to itself)"


def test_an_output_folder_is_results_not_recordings(tmp_path):
    """dosewatch's own outputs (their epochs.csv reads like a session table) are never
    analysed again: given on the command line they are refused with a hint, met inside a
    folder they are skipped with the reason. The marker is the one outputs write."""
    from dosewatch.analysis import analyze_session
    from dosewatch.ingest.discover import OUTPUT_MARKER, is_output_folder
    from dosewatch.ingest.registry import read_one
    from dosewatch.outputs import MARKER, OWN_DIR, OutputRoot, write_session

    assert OUTPUT_MARKER == (OWN_DIR, MARKER)
    recordings = tmp_path / "study" / "runs"
    hr_session(recordings / "run", minutes=3)
    out = tmp_path / "study" / "out"
    OutputRoot.claim(out)
    write_session(analyze_session(read_one(recordings / "run")), out, "run", picture=False)
    assert is_output_folder(out) and (out / "run" / "epochs.csv").is_file()

    inventory = discover([tmp_path / "study"])
    assert inventory.inputs == [recordings / "run"]
    assert _reasons(inventory)["out"] == "a dosewatch output folder: results, not recordings"
    given = discover([out])
    assert given.inputs == [] and "results, not recordings" in given.failed[0].reason
    assert "recordings it was made from" in given.failed[0].hint


def test_a_session_folder_of_an_output_is_refused_as_results(tmp_path):
    """One session's folder of an output, given on its own (its epochs.csv would read like
    a session table), is refused as results with the same hint, by discovery and by the
    library's read."""
    from dosewatch.analysis import analyze_session
    from dosewatch.errors import InputError
    from dosewatch.ingest.registry import read_one
    from dosewatch.outputs import OutputRoot, write_session

    hr_session(tmp_path / "runs" / "run", minutes=3)
    out = tmp_path / "out"
    OutputRoot.claim(out)
    write_session(analyze_session(read_one(tmp_path / "runs" / "run")), out, "run",
                  picture=False)
    given = discover([out / "run"])
    assert given.inputs == [] and "results, not recordings" in given.failed[0].reason
    with pytest.raises(InputError, match="results, not recordings") as raised:
        read_one(out / "run")
    assert "recordings it was made from" in raised.value.hint
    assert read_one(tmp_path / "runs" / "run").hr.t.size > 0  # a recording still reads


# --------------------------------------------------------------------------- folder profiles
# review 2026-11-25, item 10: a profile.toml beside watch exports is their participant's.


def _study(root: Path) -> Path:
    """study/ with a study-wide profile, two participants' folders (one with a subfolder
    and a session folder of its own), and a profile.toml with no recording below it."""
    from support.activity_files import points, tcx_text

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    run = tcx_text([points(60)])
    write(root / "profile.toml", 'placement = "wrist"\n')
    write(root / "P01" / "profile.toml", 'id = "P01"\nage = 40\n')
    write(root / "P01" / "a.tcx", run)
    write(root / "P01" / "week2" / "b.tcx", run)
    hr_session(root / "P01" / "lab", minutes=1)
    write(root / "P01" / "lab" / "profile.toml", "hr_rest = 50\n")
    write(root / "P02" / "c.tcx", run)
    write(root / "P03" / "profile.toml", 'id = "P03"\n')
    return root


def test_a_folder_profile_applies_to_the_inputs_in_its_folder_and_below(tmp_path):
    root = _study(tmp_path / "study")
    inventory = discover([root])
    top, p01 = root / "profile.toml", root / "P01" / "profile.toml"
    lab = root / "P01" / "lab" / "profile.toml"
    assert inventory.profiles == {
        root / "P01" / "a.tcx": (top, p01),
        root / "P01" / "lab": (top, p01, lab),  # its own profile.toml: nearest, wins
        root / "P01" / "week2" / "b.tcx": (top, p01),
        root / "P02" / "c.tcx": (top,),
    }
    assert {s.path: s.reason for s in inventory.profile_files} == {
        str(top): "profile for 4 inputs", str(p01): "profile for 3 inputs"}
    # lab's own profile.toml is the profile of lab alone: its own, not listed.
    # No longer "not a kind of input": used, or skipped with the reason it is not.
    reasons = {s.path: (s.reason, s.hint) for s in inventory.skipped}
    assert reasons == {str(root / "P03" / "profile.toml"): (
        "a participant profile, but no input is in its folder or below it",
        "put it in the folder that holds the participant's recordings")}


def test_a_folder_given_on_the_command_line_is_the_top(tmp_path):
    root = _study(tmp_path / "study")
    inventory = discover([root / "P01", root / "P02"])
    p01 = root / "P01" / "profile.toml"
    # study/profile.toml is above the folders given: not read.
    assert inventory.profiles == {root / "P01" / "a.tcx": (p01,),
                                  root / "P01" / "lab": (p01, root / "P01" / "lab" /
                                                         "profile.toml"),
                                  root / "P01" / "week2" / "b.tcx": (p01,)}


def test_an_input_named_on_the_command_line_gets_the_profile_beside_it(tmp_path):
    root = _study(tmp_path / "study")
    inventory = discover([root / "P01" / "a.tcx", root / "P02" / "c.tcx",
                          root / "P01" / "lab"])
    p01 = root / "P01" / "profile.toml"
    assert inventory.profiles == {root / "P01" / "a.tcx": (p01,),
                                  root / "P01" / "lab": (p01, root / "P01" / "lab" /
                                                         "profile.toml")}
    # A link named profile.toml beside it is not followed (it may lead anywhere).
    os.symlink(root / "P01" / "profile.toml", root / "P02" / "profile.toml")
    assert discover([root / "P02" / "c.tcx"]).profiles == {}


def test_a_folder_holding_only_a_profile_holds_no_session(tmp_path):
    (tmp_path / "P03").mkdir()
    (tmp_path / "P03" / "profile.toml").write_text('id = "P03"\n')
    inventory = discover([tmp_path / "P03"])
    assert inventory.inputs == [] and inventory.profiles == {}
    (failed,) = inventory.failed
    assert failed.reason == "folder holds no session (1 files, none of a kind dosewatch reads)"
    assert [s.reason for s in inventory.skipped] == [
        "a participant profile, but no input is in its folder or below it"]
