"""Polar's files: ``.hrm`` exercise files (the real Runalyze test files, checked against the
values Runalyze's own parser tests assert for them) and Polar Sensor Logger recordings
(BIOBSS's real Verity Sense recording, checked against Python's csv module)."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from support.paths import DATA, REAL

from dosewatch.errors import InputError
from dosewatch.ingest import read_session, read_sessions
from dosewatch.ingest.discover import discover
from dosewatch.ingest.registry import reader_for

RUNALYZE = REAL / "Runalyze__Runalyze"
PSL = DATA / "polar_sensor_logger"


# --------------------------------------------------------------------------- .hrm


def test_hrm_matches_runalyze() -> None:
    """Runalyze's HrmTest::testSimpleExampleFile asserts, for 12011801.hrm: start
    2012-01-18 11:31 (local; taken here as UTC), duration 59:39.1, distance 9.76 km (±0.01),
    average heart rate 133 (±0.5), maximum 144, average cadence 83 (±0.5): strides a minute,
    which dosewatch reads as 166 steps (the file names no sport; at its 2.7 m/s, 83 steps
    a minute would be 2-m steps)."""
    session = read_session(RUNALYZE / "12011801.hrm")
    assert session.provenance.start_time.strftime("%Y-%m-%d %H:%M") == "2012-01-18 11:31"
    assert session.duration_s == pytest.approx(59 * 60 + 39.1, abs=1.0)
    distance_km = session.speed.mps.sum() * 1.0 / 1000  # one sample a second
    assert distance_km == pytest.approx(9.76, abs=0.01)
    assert session.hr.bpm.mean() == pytest.approx(133, abs=0.5)
    assert session.hr.bpm.max() == 144
    cadence = session.cadence.values
    assert cadence[cadence > 0].mean() == pytest.approx(2 * 83, abs=1.0)
    assert any("the device counts strides" in n for n in session.provenance.repairs)
    assert session.profile.hr_max == 183 and session.profile.hr_rest == 79
    assert any("taken as UTC" in n for n in session.provenance.repairs)


@pytest.mark.parametrize(("name", "start", "length_s"), [
    ("15031101.spinning.hrm", "2015-03-11 20:18", 61 * 60 + 29.1),
    ("15031801.spinning.hrm", "2015-03-18 20:15", 63 * 60 + 34.8),
])
def test_hrm_without_speed_matches_runalyze(name: str, start: str, length_s: float) -> None:
    """Runalyze's testFileWithoutPaceData(Again): start and duration (the samples are 5 s
    apart: within one interval), no distance."""
    session = read_session(RUNALYZE / name)
    assert session.provenance.start_time.strftime("%Y-%m-%d %H:%M") == start
    assert session.duration_s == pytest.approx(length_s, abs=5.0)
    assert session.speed is None and session.hr.fs == pytest.approx(0.2)


def hrm_text(smode: str, interval: int, rows: list[str], version: str = "106") -> str:
    return (f"[Params]\nVersion={version}\nMonitor=22\nSMode={smode}\nDate=20240501\n"
            f"StartTime=10:00:00.0\nLength=00:10:00.0\nInterval={interval}\nMaxHR=190\n"
            f"RestHR=50\n\n[Note]\n\n[HRData]\n" + "\n".join(rows) + "\n")


def test_hrm_rr_intervals(tmp_path: Path) -> None:
    rr = [800, 810, 0, 790, 750]
    path = tmp_path / "rr.hrm"
    path.write_text(hrm_text("000000000", 238, [str(v) for v in rr]))
    session = read_session(path)
    kept = [v for v in rr if v > 0]
    np.testing.assert_allclose(session.hr.bpm, [60_000 / v for v in kept])
    np.testing.assert_array_equal(session.hr.rr_ms, kept)
    np.testing.assert_allclose(session.hr.t, np.cumsum(kept)[:] / 1000 - kept[0] / 1000)


def test_hrm_us_units_and_all_columns(tmp_path: Path) -> None:
    # speed, cadence, altitude, power, balance; US units: speed in 0.1 mph.
    rows = [f"{120 + i}\t{100}\t{80}\t{300}\t{200}\t{50}" for i in range(120)]
    path = tmp_path / "us.hrm"
    path.write_text(hrm_text("111110010", 1, rows))
    session = read_session(path)
    np.testing.assert_allclose(session.speed.mps, 10 * 0.44704)
    np.testing.assert_array_equal(session.power.values, 200)
    np.testing.assert_array_equal(session.cadence.values, 80)


@pytest.mark.parametrize(("smode", "rows", "message"), [
    ("1x000000", ["120\t100"], "is not a row of 0/1 flags"),
    ("11000000", ["120\t100"] * 5, "do not all hold 3 values"),
    ("10000000", ["120\t1e5x", "121\t100"], "not a number"),
    ("10000000", [], "holds no samples"),
])
def test_hrm_damage_is_named(tmp_path: Path, smode: str, rows: list[str], message: str
                             ) -> None:
    path = tmp_path / "bad.hrm"
    path.write_text(hrm_text(smode, 1, rows))
    with pytest.raises(InputError, match=message) as info:
        read_session(path)
    assert info.value.source == str(path) and info.value.hint


# --------------------------------------------------------------------------- Polar Sensor Logger


def semicolon_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        return list(csv.reader(fh, delimiter=";"))[1:]


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_sensor_logger_folder_is_one_session_matching_the_csv_module() -> None:
    assert reader_for(PSL).name == "polar-sensor-logger"
    (session,) = read_sessions(PSL)
    t0 = session.provenance.start_time.timestamp()
    hr = [(stamp(r[0]), float(r[1])) for r in semicolon_rows(PSL / "Polar_Sense_HR.txt")]
    np.testing.assert_allclose(session.hr.t + t0, [t for t, _ in hr], atol=1e-6, rtol=0)
    np.testing.assert_array_equal(session.hr.bpm, [v for _, v in hr])
    # Each heart-rate sample carries the last PP interval that ended since the one before.
    ppi = [(stamp(r[0]), float(r[1])) for r in semicolon_rows(PSL / "Polar_Sense_PPI.txt")]
    with_rr = np.isfinite(session.hr.rr_ms)
    assert 0.7 * len(hr) < with_rr.sum() <= len(ppi)
    assert set(np.round(session.hr.rr_ms[with_rr], 6)) <= {v for _, v in ppi}
    # Acceleration: milli-g to g, and the sensor clock's spacing (ns) kept exactly.
    acc = semicolon_rows(PSL / "Polar_Sense_ACC.txt")
    xyz = np.array([[float(v) for v in r[2:5]] for r in acc]) / 1000
    np.testing.assert_allclose(session.acc.xyz, xyz, rtol=1e-6)
    ns = np.array([int(r[1]) for r in acc])
    np.testing.assert_allclose(np.diff(session.acc.t), np.diff(ns) * 1e-9, atol=1e-6)
    phone = np.array([stamp(r[0]) for r in acc])
    assert abs(np.median(session.acc.t + t0 - phone)) < 0.05
    repairs = " | ".join(session.provenance.repairs)
    assert "read Polar_Sense_HR.txt, Polar_Sense_PPI.txt, Polar_Sense_ACC.txt" in repairs


def test_sensor_logger_files_among_other_files_are_one_input(tmp_path: Path) -> None:
    folder = tmp_path / "phone"
    shutil.copytree(PSL, folder)
    shutil.copy(REAL / "dtcooper__python-fitparse" / "activity-small-fenix2-run.fit", folder)
    assert reader_for(folder) is None  # not only the recording's files: walked
    inventory = discover([tmp_path])
    names = sorted(p.name for p in inventory.inputs)
    assert names == ["Polar_Sense_HR.txt", "activity-small-fenix2-run.fit"]
    grouped = {Path(s.path).name: s.reason for s in inventory.parts}
    for name in ("Polar_Sense_ACC.txt", "Polar_Sense_PPI.txt"):
        assert grouped[name].startswith("part of the recording read from Polar_Sense_HR.txt")
    assert "marker file" in {Path(s.path).name: s.hint for s in inventory.skipped}[
        "MARKER.txt"]  # accounted for: not an input, and why
    # The input that stands for the recording reads all of it.
    (session,) = read_sessions(folder / "Polar_Sense_HR.txt")
    assert session.acc is not None and session.hr.rr_ms is not None


def test_sensor_logger_recording_without_heart_rate_or_acceleration(tmp_path: Path) -> None:
    path = tmp_path / "Polar_H10_1_ECG.txt"
    path.write_text("Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]\n"
                    "2024-05-01T10:00:00.000;599616050941733632;0.0;8575\n")
    with pytest.raises(InputError, match="no HR, RR, PPI or ACC file, and its ECG file gave "
                       "no trustworthy heart rate: it holds 1 sample"):
        read_session(path)


def test_an_h10_recording_is_worn_on_the_chest(tmp_path: Path) -> None:
    """Review: a Polar H10 (a chest strap, named in the files) got 'accelerometer
    placement unknown: assumed wrist'. The device says chest; a profile's placement wins."""
    import support.polar_ecg as pe

    from dosewatch.analysis import analyze_session
    from dosewatch.models.registry import get_classifier
    from dosewatch.session import Profile

    files = pe.write_recording(tmp_path / "rec", seconds=120.0, hr=True, acc=True)
    session = read_session(files["HR"])
    assert session.profile.placement == "chest"
    assert "placement" in session.provenance.device_profile
    assert "placement chest, from the device (a Polar H10 chest strap)" in \
        session.provenance.repairs
    result = analyze_session(session, None, get_classifier("rules"))
    assert (result.info.placement, result.info.placement_source) == ("chest", "device")
    assert not any("placement unknown" in w for w in result.warnings)
    given = read_session(files["HR"], profile=Profile(placement="hip"))
    assert given.profile.placement == "hip"
    assert "placement" not in given.provenance.device_profile
    assert not any("from the device" in r for r in given.provenance.repairs)
    assert analyze_session(given, None, get_classifier("rules")).info.placement_source == \
        "profile"


def test_a_verity_sense_gets_no_placement_from_the_device() -> None:
    """Worn on the arm or temple: none of dosewatch's placements."""
    session = read_session(PSL)
    assert session.profile.placement is None
    assert "placement" not in session.provenance.device_profile


def test_a_recording_is_named_without_its_stream_and_ending(tmp_path: Path) -> None:
    """Review 2026-11-25c, item 14: sessions and output folders were named
    ``Polar_Sense_B5A1_20220425_113902_HR.txt``, after the lead file."""
    from dosewatch.ingest.registry import input_stem
    from dosewatch.outputs import output_names

    folder = tmp_path / "P17"
    folder.mkdir()
    for stream in ("HR", "PPI", "ACC"):
        shutil.copy(PSL / f"Polar_Sense_{stream}.txt",
                    folder / f"Polar_Sense_B5A1_20220425_113902_{stream}.txt")
    lead = folder / "Polar_Sense_B5A1_20220425_113902_HR.txt"
    assert input_stem(lead) == "Polar_Sense_B5A1_20220425_113902"
    assert output_names([lead]) == ["Polar_Sense_B5A1_20220425_113902"]
    (session,) = read_sessions(lead)
    assert session.name == "Polar_Sense_B5A1_20220425_113902"
    # A file of that name that is not the logger's keeps its whole name.
    other = tmp_path / "notes_HR.txt"
    other.write_text("not a recording\n")
    assert input_stem(other) == "notes_HR.txt"
