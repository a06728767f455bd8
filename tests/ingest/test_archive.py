"""ZIP archives: a bulk export built from real activity files (each session must equal the
same file read directly), nested archives, and hostile archives (decompression bombs,
path tricks, links, encryption, too many entries)."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support.paths import DATA, REAL

from dosewatch.errors import InputError
from dosewatch.ingest import read_sessions
from dosewatch.ingest.formats import archive

FIT = REAL / "GoldenCheetah__GoldenCheetah" / "Move_2020_01_15_19_27_16_Running.fit"
GPX = REAL / "sports-alliance__sports-lib" / "amazfit.gpx"
TCX = REAL / "Runalyze__Runalyze" / "Multiple-Trainings.tcx"
HRM = REAL / "Runalyze__Runalyze" / "15031201.hrm"
FENIX = REAL / "dtcooper__python-fitparse" / "activity-small-fenix2-run.fit"


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("zip")
    inner = folder / "inner.zip"
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(FENIX, "fenix.fit")
    path = folder / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("activities/1.fit.gz", gzip.compress(FIT.read_bytes(), mtime=0))
        zf.write(GPX, "activities/2.gpx")
        zf.write(TCX, "activities/3.tcx")
        zf.write(HRM, "activities/4.hrm")
        zf.writestr("activities/5.fit", b"not a fit file")
        zf.writestr("activities.csv", "id,name\n1,morning run\n")
        zf.writestr("media/photo.jpg", b"\xff\xd8\xff")
        zf.write(inner, "DI_CONNECT/UploadedFiles_0-_Part1.zip")
    return path


def same(a, b) -> None:
    np.testing.assert_array_equal(a.hr.t, b.hr.t)
    np.testing.assert_array_equal(a.hr.bpm, b.hr.bpm)
    assert a.provenance.start_time == b.provenance.start_time


def test_every_activity_in_a_bulk_export_is_a_session(bulk: Path) -> None:
    sessions = read_sessions(bulk)
    by_source = {}
    for s in sessions:
        by_source.setdefault(s.provenance.source.split("!", 1)[1], []).append(s)
    assert sorted(by_source) == ["DI_CONNECT/UploadedFiles_0-_Part1.zip!fenix.fit",
                                 "activities/1.fit.gz", "activities/2.gpx",
                                 "activities/3.tcx", "activities/4.hrm"]
    same(by_source["activities/1.fit.gz"][0], read_sessions(FIT)[0])
    same(by_source["activities/2.gpx"][0], read_sessions(GPX)[0])
    for a, b in zip(by_source["activities/3.tcx"], read_sessions(TCX), strict=True):
        same(a, b)  # a history export: one session per activity
    same(by_source["activities/4.hrm"][0], read_sessions(HRM)[0])
    same(by_source["DI_CONNECT/UploadedFiles_0-_Part1.zip!fenix.fit"][0],
         read_sessions(FENIX)[0])
    repairs = " | ".join(sessions[0].provenance.repairs)
    assert "1 archive members not read: activities/5.fit: not a FIT file" in repairs
    assert "2 archive members are not activity files (ignored)" in repairs


def test_an_archive_without_activities_says_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
        zf.writestr("summary.json", "{}")
    with pytest.raises(InputError) as info:
        read_sessions(path)
    assert "holds no activity file (found: readme.txt, summary.json)" in info.value.reason
    assert "Apple Health" in info.value.hint and info.value.source == str(path)
    broken = tmp_path / "b.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputError, match="not a readable ZIP archive"):
        read_sessions(broken)


def test_decompression_bombs_are_refused_not_unpacked(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("activities/big.fit", b"\x00" * (8 << 20))  # 8 MiB of zeros: ~8 kB
    with pytest.raises(InputError) as info:
        read_sessions(path)
    assert "decompression bomb" in info.value.reason
    # The per-member limit holds whatever the archive's directory declares.
    monkeypatch.setattr(archive, "MAX_RATIO", 10**9)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 1 << 20)
    with pytest.raises(InputError, match="decompresses to more than the limits"):
        read_sessions(path)


def test_too_many_entries_are_refused(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(5):
            zf.writestr(f"{i}.txt", "x")
    monkeypatch.setattr(archive, "MAX_MEMBERS", 4)
    with pytest.raises(InputError, match="lists 5 entries"):
        read_sessions(path)


def encrypt_flag(path: Path, name: bytes) -> None:
    """Mark a member encrypted (general-purpose flag bit 0) in its local header and its
    central-directory entry, as an encrypting zip tool would."""
    data = bytearray(path.read_bytes())
    for signature, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at : start + name_at + len(name)] == name:
                data[start + flags_at] |= 0x01
            start += 4
    path.write_bytes(bytes(data))


def test_member_names_never_become_paths(tmp_path: Path) -> None:
    inside = tmp_path / "in"
    inside.mkdir()
    path = inside / "tricks.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(FIT, "../../escaped.fit")
        zf.write(GPX, "/abs/olute.gpx")
        zf.write(FENIX, "../.fit")  # a hidden name in a parent reference
        link = zipfile.ZipInfo("link.fit")
        link.external_attr = (0o120777 << 16)  # a symbolic link to /etc/passwd
        zf.writestr(link, "/etc/passwd")
        zf.writestr("secret.fit", b"x")
    encrypt_flag(path, b"secret.fit")
    sessions = read_sessions(path)
    assert len(sessions) == 3
    assert not (tmp_path / "escaped.fit").exists() and not Path("/abs/olute.gpx").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["in", "tricks.zip"]
    repairs = " | ".join(sessions[0].provenance.repairs)
    assert "link.fit: a symbolic link, not read" in repairs
    assert "secret.fit: encrypted, not read" in repairs


def test_e4_and_apple_health_zips(tmp_path: Path) -> None:
    path = tmp_path / "1560279825_A01234.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("ACC.csv", "HR.csv", "IBI.csv", "info.txt"):
            zf.write(DATA / "e4" / name, name)
    (session,) = read_sessions(path)
    direct = read_sessions(DATA / "e4")[0]
    np.testing.assert_array_equal(session.acc.xyz, direct.acc.xyz)
    same(session, direct)
    assert session.provenance.source == str(path)
    with pytest.raises(InputError, match="apple_health_export/export.xml: the export holds no "
                       "workout"):
        read_sessions(DATA / "apple_health" / "export.zip")


def _profiled_zip(path: Path, root_profile: str | None, p02_profile: str | None) -> Path:
    """A participant's bulk export: one run at the root, one in a folder ``P02/``, each
    folder optionally with a ``profile.toml``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(FENIX, "run.fit")
        zf.write(HRM, "P02/ride.hrm")
        if root_profile is not None:
            zf.writestr("profile.toml", root_profile)
        if p02_profile is not None:
            zf.writestr("P02/profile.toml", p02_profile)
    return path


def _by_member(sessions) -> dict:
    return {s.provenance.source.split("!", 1)[1]: s for s in sessions}


def test_a_profile_toml_in_a_zip_applies_to_the_members_it_covers(tmp_path: Path) -> None:
    """Review: a profile.toml inside a participant's bulk export was not read. The root's
    covers every member; a folder's, the members in it, its fields winning."""
    path = _profiled_zip(tmp_path / "export.zip", 'id = "P01"\nhr_rest = 52\nage = 30\n',
                         'id = "P02"\nage = 41\n')
    sessions = _by_member(read_sessions(path))
    assert sessions["run.fit"].profile.id == "P01"
    assert sessions["run.fit"].profile.hr_rest == 52
    assert sessions["P02/ride.hrm"].profile.id == "P02"
    assert sessions["P02/ride.hrm"].profile.age == 41
    assert sessions["P02/ride.hrm"].profile.hr_rest == 52  # the root's, not overridden
    assert not any("not activity files" in r for s in sessions.values()
                   for r in s.provenance.repairs)  # a profile is no 'ignored' member


def test_a_zip_s_profile_wins_over_its_folder_s_and_loses_to_the_command_line(
        tmp_path: Path) -> None:
    from dosewatch.ingest.registry import ReadOptions, read_all
    from dosewatch.session import Profile

    path = _profiled_zip(tmp_path / "export.zip", 'id = "P01"\nage = 30\n', None)
    folder = Profile(id="study", age=50, placement="chest")
    run = _by_member(read_all(path, ReadOptions(profile=folder, override=Profile())))
    assert (run["run.fit"].profile.id, run["run.fit"].profile.age) == ("P01", 30)
    assert run["run.fit"].profile.placement == "chest"
    given = Profile(age=33)
    run = _by_member(read_all(path, ReadOptions(profile=folder.merged(given),
                                                override=given)))
    assert (run["run.fit"].profile.id, run["run.fit"].profile.age) == ("P01", 33)


def test_a_malformed_profile_toml_in_a_zip_is_refused_by_name(tmp_path: Path) -> None:
    from dosewatch.errors import ProfileError

    path = _profiled_zip(tmp_path / "export.zip", 'age = "thirty"\n', None)
    with pytest.raises(ProfileError, match=r"export\.zip!profile\.toml is refused: profile "
                       r"key age must be a number") as info:
        read_sessions(path)
    assert info.value.hint


def test_an_e4_zip_s_profile_toml_is_its_session_s(tmp_path: Path) -> None:
    from dosewatch.errors import ProfileError

    path = tmp_path / "1560279825_A01234.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("ACC.csv", "HR.csv", "IBI.csv", "info.txt"):
            zf.write(DATA / "e4" / name, name)
        zf.writestr("profile.toml", 'id = "E01"\nplacement = "wrist"\n')
    (session,) = read_sessions(path)
    assert (session.profile.id, session.profile.placement) == ("E01", "wrist")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("sub/profile.toml", "hr_rest = 500\n")  # covers no member: still read
    with pytest.raises(ProfileError, match=r"zip!sub/profile\.toml is refused"):
        read_sessions(path)
