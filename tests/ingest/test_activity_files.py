"""Tests of the watch-export readers (FIT, TCX, GPX) on real files and on small files
written here whose content is known exactly.

The real files live outside the repository, in ``shared/data/real`` next to it (see its
``SOURCES.md``); they are read in place, never copied. The writers of this
module's helpers (:func:`fit_file`, :func:`tcx_text`, :func:`gpx_text`) live in
``tests/support/activity_files.py``, shared with the fuzz and batch tests.
"""

from __future__ import annotations

import functools
import gzip
import re
import struct
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from fitdecode.utils import compute_crc
from support.activity_files import (
    CYCLING,
    FIT_EPOCH_UNIX,
    START,
    STOP_ALL,
    T0,
    fit_activity,
    fit_activity_with_dev_field,
    fit_file,
    fit_message,
    gpx_text,
    iso,
    points,
    steady_records,
    tcx_text,
    write,
)
from support.paths import REAL

from dosewatch.errors import InputError, ProfileError
from dosewatch.ingest import read_session, read_sessions
from dosewatch.ingest.activity import choose_speed, default_name
from dosewatch.ingest.formats.fit import fit_crc, parse_fit, read_fit
from dosewatch.ingest.formats.gpx import parse_gpx, read_gpx
from dosewatch.ingest.formats.tcx import parse_tcx, read_tcx
from dosewatch.session import Profile, Session

ACTIVITY_SUFFIXES = (".fit", ".fit.gz", ".tcx", ".tcx.gz", ".gpx", ".gpx.gz")
# --------------------------------------------------------------------------- real files


def real_files() -> list[Path]:
    return sorted(p for p in REAL.rglob("*")
                  if p.is_file() and p.name.lower().endswith(ACTIVITY_SUFFIXES))


@functools.cache
def sources_table() -> dict[str, tuple[float, frozenset[str]]]:
    """SOURCES.md: local path -> (duration in minutes, channels)."""
    out = {}
    for line in (REAL / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[0].startswith("`"):
            channels = {c.strip().split(" ")[0] for c in cells[7].split(";")[0].split(",")}
            out[cells[0].strip("`")] = (float(cells[6]), frozenset(channels))
    return out


@functools.cache
def load(local: str) -> Session:
    """The (first) session of a real file."""
    return read_sessions(REAL / local)[0]


REAL_FILES = [p.relative_to(REAL).as_posix() for p in real_files()]


def kind(local: str) -> str:
    name = local.lower().removesuffix(".gz")
    return name.rsplit(".", 1)[1]


def test_the_validation_set_is_there() -> None:
    assert len(REAL_FILES) >= 60, REAL_FILES
    assert {kind(p) for p in REAL_FILES} == {"fit", "tcx", "gpx"}
    assert any(p.endswith(".tcx.gz") for p in REAL_FILES)
    assert set(REAL_FILES) <= set(sources_table())


@pytest.mark.parametrize("local", REAL_FILES)
def test_every_real_file_loads_with_heart_rate(local: str) -> None:
    """Each real file loads (none of them is refused) with heart rate, the duration that
    SOURCES.md lists (within 2 %, or 1 minute), a UTC start, and every channel that
    SOURCES.md found in it."""
    session = load(local)
    listed_min, channels = sources_table()[local]
    assert session.hr is not None and session.hr.t.size > 100
    assert np.median(session.hr.bpm) > 60
    assert abs(session.duration_s / 60 - listed_min) <= max(1.0, 0.02 * listed_min)
    start = session.provenance.start_time
    assert start is not None and start.utcoffset().total_seconds() == 0
    assert 2005 <= start.year <= 2025
    assert session.provenance.format == kind(local)
    if "speed" in channels:
        assert session.speed is not None and session.speed.t.size > 0.5 * session.hr.t.size
        assert 0.5 < np.median(session.speed.mps[session.speed.mps > 0.3]) < 15
    if "cadence" in channels:
        assert session.cadence is not None
    if "power" in channels:
        assert session.power is not None
    if "RR" in channels:
        has_rr = session.hr.rr_ms is not None
        left_out = any("RR intervals" in r and "left out" in r
                       for r in session.provenance.repairs)
        assert has_rr != left_out


# Start times as the files state them (ISO 8601 in the XML, FIT seconds since 1989).
@pytest.mark.parametrize(("local", "start"), [
    ("Runalyze__Runalyze/Multiple-Trainings.tcx", "2012-01-22T14:10:39+00:00"),
    ("Runalyze__Runalyze/Wrong-time-zone-by-polar.tcx", "2016-04-10T17:40:59+00:00"),
    ("lwaldron__ConconiAnaerobicThresholdTest/2022-01-10.tcx.gz", "2022-01-10T10:05:24+00:00"),
    ("GoldenCheetah__GoldenCheetah/Move_2014_01_17_09_33_11.gpx",
     "2014-01-17T08:33:11.150000+00:00"),
    ("GoldenCheetah__GoldenCheetah/HRV-Data.fit", "2017-03-04T17:41:40+00:00"),
    ("Runalyze__Runalyze/Fenix-2-pauses.fit", "2014-10-02T14:46:48+00:00"),
])
def test_real_start_times(local: str, start: str) -> None:
    assert load(local).provenance.start_time == datetime.fromisoformat(start)


def test_real_fit_rr_intervals_agree_with_heart_rate() -> None:
    """RR reconstructed from hrv messages matches the device's own heart rate: where both
    exist, 60000 / RR is within a few bpm of the recorded heart rate (typically)."""
    for local in ("GoldenCheetah__GoldenCheetah/HRV-Data.fit",
                  "Runalyze__Runalyze/Suunto-Ambit-3-Peak-without-final-lap.fit",
                  "sports-alliance__sports-lib/6909950168.fit"):
        hr = load(local).hr
        assert hr.rr_ms is not None
        both = np.isfinite(hr.rr_ms)
        assert both.mean() > 0.9
        diff = np.abs(60_000 / hr.rr_ms[both] - hr.bpm[both])
        assert np.median(diff) < 4, (local, np.median(diff))


def test_real_fit_with_implausible_rr_leaves_it_out() -> None:
    session = load("sports-alliance__sports-lib/6860622783.fit")
    assert session.hr.rr_ms is None
    note = next(r for r in session.provenance.repairs if "RR intervals" in r)
    assert "cannot be placed in time credibly" in note


def test_real_fit_pauses_are_gaps() -> None:
    data = parse_fit(REAL / "Runalyze__Runalyze/Fenix-2-pauses.fit")
    assert any("timer was stopped" in r for r in data.repairs)
    # Seven timer starts: six resumptions after a pause, each a new segment.
    assert len(np.unique(data.segment)) == 7
    session = load("Runalyze__Runalyze/Fenix-2-pauses.fit")
    assert np.diff(session.hr.t).max() > 30  # a pause is left as a gap, not filled


def test_real_fit_profile_from_the_watch_and_override() -> None:
    session = load("GoldenCheetah__GoldenCheetah/Fr955v19.28andStryd.fit")
    assert session.profile == Profile(hr_rest=47.0, hr_max=189.0, sex="male", weight_kg=82.6)
    path = REAL / "GoldenCheetah__GoldenCheetah/Fr955v19.28andStryd.fit"
    override = read_fit(path, profile=Profile(hr_max=180.0, placement="wrist"), name="x")
    assert override.name == "x"
    assert override.profile.hr_max == 180.0 and override.profile.hr_rest == 47.0
    assert override.profile.placement == "wrist"
    assert load("jmackie__activityio/a6b862.fit").profile.age == 22.0
    # A resting heart rate of 0 means "not set" and is no profile value.
    assert load("GoldenCheetah__GoldenCheetah/3386684871.fit").profile.hr_rest is None


def test_real_channels_units_and_sources() -> None:
    fr955 = load("GoldenCheetah__GoldenCheetah/Fr955v19.28andStryd.fit")
    assert fr955.provenance.sport == "running"
    assert 150 < np.median(fr955.cadence.values) < 190  # strides doubled to steps/min
    assert any("developer field" in r for r in fr955.provenance.repairs)  # Stryd power
    # Stryd writes Power, Form Power and Air Power in watts: the reader takes Power.
    assert 300 < np.median(fr955.power.values) < 420
    for name, low in (("GoldenCheetah__GoldenCheetah/3386684871.fit", 250),
                      ("Runalyze__Runalyze/support-001885-rs-pronation.fit", 150)):
        assert np.median(load(name).power.values) > low, name
    ride = load("firefly-cpp__sport-activities-features/11.tcx")
    assert ride.provenance.sport == "cycling"
    assert 60 < np.median(ride.cadence.values) < 110  # rpm, kept as recorded
    assert 100 < np.median(ride.power.values) < 400
    lactate = load("SebastianInd__LactateTest/lactate_test.tcx")
    assert lactate.power is not None and 150 < np.median(lactate.cadence.values) < 200
    assert load("Runalyze__Runalyze/Power-ns2-extension.tcx").provenance.sport == "cycling"
    sources = {
        "Runalyze__Runalyze/Movescount-mixed-extensions.gpx": "speed extension",
        "sports-alliance__sports-lib/amazfit.gpx": "derived from positions",
        "Runalyze__Runalyze/Standard.tcx": "derived from distance",
        "corriporai__runpandas/11km.tcx": "TPX/Speed",
        "GoldenCheetah__GoldenCheetah/HRV-Data.fit": "enhanced_speed",
    }
    parsers = {"gpx": parse_gpx, "tcx": parse_tcx, "fit": parse_fit}
    for local, source in sources.items():
        data = parsers[local.rsplit(".", 1)[1]](REAL / local)
        assert choose_speed(data).source == source, local
    amazfit = load("sports-alliance__sports-lib/amazfit.gpx")
    assert 2.0 < np.median(amazfit.speed.mps) < 4.5  # a run, from the GPS track
    assert amazfit.provenance.sport == "running"


def test_real_multiple_activities_are_one_session_each() -> None:
    sessions = read_sessions(REAL / "Runalyze__Runalyze/Multiple-Trainings.tcx")
    assert [s.name for s in sessions] == [f"Multiple-Trainings-{k}" for k in (1, 2, 3)]
    first = sessions[0]
    assert first.hr.t.size == 1054
    note = next(r for r in first.provenance.repairs if "activity" in r)
    assert note == "activity 1 of 3 in the file, started 2012-01-22 14:10 UTC"
    assert any(s.provenance.start_time.strftime("%Y-%m-%d %H:%M") == "2012-01-20 09:21"
               and s.hr.t.size <= 541 for s in sessions[1:])
    with pytest.raises(InputError, match="holds 3 sessions"):
        read_session(REAL / "Runalyze__Runalyze/Multiple-Trainings.tcx")


def test_real_file_names_and_gzip() -> None:
    session = load("lwaldron__ConconiAnaerobicThresholdTest/2022-01-10.tcx.gz")
    assert session.name == "2022-01-10"
    assert session.provenance.format == "tcx"
    assert default_name(Path("a/Run.FIT.gz")) == "Run"
    assert default_name(Path("x.gpx")) == "x"


def test_reading_a_two_hour_fit_is_fast() -> None:
    """support-001885 is 124 minutes at 1 Hz (7472 records). fitdecode is pure Python:
    about 0.7 s of CPU here (processor time, so other work on the machine does not count);
    fitdecode's own reader unchanged takes about twice as long."""
    path = REAL / "Runalyze__Runalyze/support-001885-rs-pronation.fit"
    start = time.process_time()
    session = read_fit(path)
    elapsed = time.process_time() - start
    assert session.hr.t.size == 7472
    assert elapsed < 2.0, elapsed


def test_the_fast_fit_reader_decodes_like_fitdecode() -> None:
    """The one-unpack-per-message reader gives the same values as fitdecode's own."""
    for local in ("GoldenCheetah__GoldenCheetah/3386684871.fit",  # developer fields
                  "GoldenCheetah__GoldenCheetah/Move_2020_01_15_19_27_16_Running.fit",
                  "Runalyze__Runalyze/FR630-with-lth.fit"):  # hrv, user profile
        fast, plain = parse_fit(REAL / local), parse_fit(REAL / local, fast=False)
        for name in ("t", "hr", "speed", "cadence", "power", "distance", "rr_ms"):
            a, b = getattr(fast, name), getattr(plain, name)
            assert (a is None) == (b is None), (local, name)
            if a is not None:
                np.testing.assert_array_equal(a, b)
        assert fast.repairs == plain.repairs and fast.profile == plain.profile


# --------------------------------------------------------------------------- FIT, known content


def test_fit_channels_and_units(tmp_path: Path) -> None:
    records = [{"t": T0 + i, "hr": 120 + i % 10, "speed": 2.5, "enhanced_speed": 3.25,
                "distance": 3.25 * i, "cadence": 85, "fractional_cadence": 0.5,
                "power": 200 + i} for i in range(120)]
    path = write(tmp_path / "run.fit", fit_activity(records))
    session = read_session(path)
    assert session.name == "run"
    assert session.provenance.start_time == datetime.fromtimestamp(T0, UTC)
    assert session.provenance.sport == "running"
    np.testing.assert_array_equal(session.hr.t, np.arange(120.0))
    np.testing.assert_array_equal(session.hr.bpm, [120 + i % 10 for i in range(120)])
    np.testing.assert_allclose(session.speed.mps, 3.25)  # enhanced_speed preferred
    np.testing.assert_allclose(session.cadence.values, 171.0)  # (85 + 0.5) strides x 2
    np.testing.assert_array_equal(session.power.values, 200 + np.arange(120.0))
    assert session.hr.rr_ms is None


def test_fit_cycling_cadence_kept_and_invalid_heart_rate_is_a_gap(tmp_path: Path) -> None:
    records = [{"t": T0 + i, "hr": 0xFF if 30 <= i < 40 else 130, "cadence": 90,
                "speed": 8.0} for i in range(100)]
    session = read_fit(write(tmp_path / "ride.fit", fit_activity(records, sport=CYCLING)))
    assert session.provenance.sport == "cycling"
    np.testing.assert_array_equal(session.cadence.values, 90.0)
    assert session.hr.t.size == 90
    assert not np.isin(np.arange(30.0, 40.0), session.hr.t).any()
    np.testing.assert_allclose(session.speed.mps, 8.0)


def test_zero_and_300_bpm_are_kept_as_recorded(tmp_path: Path) -> None:
    # FIT's uint8 cannot hold 300: 254 stands for an absurd value there (255 is "invalid").
    records = [{"t": T0 + i, "hr": [0, 254, 140][i % 3]} for i in range(90)]
    session = read_fit(write(tmp_path / "odd.fit", fit_activity(records)))
    assert sorted(set(session.hr.bpm)) == [0.0, 140.0, 254.0]
    pts = [dict(p, hr=[0, 300, 140][i % 3]) for i, p in enumerate(points(90))]
    for path in (write(tmp_path / "odd.tcx", tcx_text([pts])),
                 write(tmp_path / "odd.gpx", gpx_text([pts]))):
        assert sorted(set(read_session(path).hr.bpm)) == [0.0, 140.0, 300.0]


def test_fit_pauses_drop_records_and_no_speed_is_derived_across(tmp_path: Path) -> None:
    # 0-99 s running, paused 100-200 s (the watch kept writing records), 200-299 s running.
    records = [{"t": T0 + i, "hr": 140, "distance": 3.0 * i} for i in range(300)]
    events = [(T0, START), (T0 + 100, STOP_ALL), (T0 + 200, START), (T0 + 299, STOP_ALL)]
    path = write(tmp_path / "paused.fit", fit_activity(records, events=events))
    session = read_fit(path)
    assert "dropped 99 records made while the timer was stopped (paused)" in (
        session.provenance.repairs)
    kept = session.hr.t
    assert kept.size == 201 and not ((kept > 100) & (kept < 200)).any()
    assert "speed: derived from distance (the file has no speed field)" in (
        session.provenance.repairs)
    # Derived speed at every kept row except the first of each segment; none spans the
    # pause (which would give 300 m / 100 s = 3 m/s at t=200 -- same speed, so check t).
    assert 200.0 not in session.speed.t and 100.0 in session.speed.t
    np.testing.assert_allclose(session.speed.mps, 3.0)


def test_fit_hrv_beats_are_placed_on_the_record_clock(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rr = np.round(rng.uniform(0.45, 0.55, 2000), 3)  # ~120 bpm, whole ms as FIT stores
    beat_end = np.cumsum(rr)
    n = int(beat_end[-1]) - 1
    records = [{"t": T0 + i, "hr": 120} for i in range(n)]
    # Beats that ended in (i-1, i] are written after record i, as watches do.
    which = np.ceil(beat_end).astype(int)
    hrv = {i: list(rr[which == i]) for i in range(n)}
    session = read_fit(write(tmp_path / "hrv.fit", fit_activity(records, hrv=hrv)))
    got = session.hr.rr_ms
    assert got is not None
    expected = np.full(n, np.nan)
    for i in range(1, n):
        inside = rr[which == i]
        if inside.size:
            expected[i] = inside[-1] * 1000
    np.testing.assert_allclose(got, expected, atol=1.0)  # 1 ms: FIT stores ms
    assert not any("RR" in r for r in session.provenance.repairs)


def test_fit_hrv_that_cannot_be_aligned_is_left_out(tmp_path: Path) -> None:
    records = [{"t": T0 + i, "hr": 120} for i in range(300)]
    # Twice as many beats as the elapsed time allows: the running sum runs away.
    hrv = {i: [0.5, 0.5, 0.5, 0.5] for i in range(300)}
    session = read_fit(write(tmp_path / "bad_hrv.fit", fit_activity(records, hrv=hrv)))
    assert session.hr.rr_ms is None
    assert any("left out" in r for r in session.provenance.repairs)


def test_fit_profile_values_from_the_file(tmp_path: Path) -> None:
    records = steady_records(60)
    user = [(8, "uint8", 52), (2, "uint8", 41), (4, "uint16", 725), (1, "enum", 0),
            (11, "uint8", 185)]
    data = fit_activity(records, user_profile=user, zones_max_hr=188)
    session = read_fit(write(tmp_path / "p.fit", data))
    assert session.profile == Profile(age=41.0, hr_rest=52.0, hr_max=188.0, sex="female",
                                      weight_kg=72.5)
    # Without zones_target the user profile's default maximum is used.
    session = read_fit(write(tmp_path / "q.fit", fit_activity(records, user_profile=user)))
    assert session.profile.hr_max == 185.0


def test_fit_impossible_profile_values_are_dropped_not_fatal(tmp_path: Path) -> None:
    user = [(8, "uint8", 200), (2, "uint8", 3)]  # resting 200 bpm, 3 years old
    data = fit_activity(steady_records(60), user_profile=user, zones_max_hr=150)
    session = read_fit(write(tmp_path / "p.fit", data))
    assert session.profile == Profile(hr_max=150.0)
    repairs = session.provenance.repairs
    assert "profile: ignored the file's hr_rest = 200.0 (not possible)" in repairs
    assert "profile: ignored the file's age = 3.0 (not possible)" in repairs
    # The file's resting rate gives way to an override it contradicts...
    data = fit_activity(steady_records(60), user_profile=[(8, "uint8", 110)])
    session = read_fit(write(tmp_path / "r.fit", data), profile=Profile(hr_max=165.0))
    assert session.profile.hr_rest == 110 and session.profile.hr_max == 165
    session = read_fit(write(tmp_path / "s.fit", data), profile=Profile(hr_max=105.0))
    assert session.profile == Profile(hr_max=105.0)
    assert "profile: ignored the file's hr_rest: it contradicts the profile given" in (
        session.provenance.repairs)
    # ...but an invalid override is the caller's error.
    with pytest.raises(ProfileError):
        read_fit(tmp_path / "s.fit", profile=Profile(hr_max=400.0))


def test_fit_power_on_times_have_no_start(tmp_path: Path) -> None:
    records = [{"t": FIT_EPOCH_UNIX + 5000 + i, "hr": 120} for i in range(60)]
    session = read_fit(write(tmp_path / "system.fit", fit_activity(records, sport=None)))
    assert session.provenance.start_time is None
    np.testing.assert_array_equal(session.hr.t, np.arange(60.0))
    assert any("power-on" in r for r in session.provenance.repairs)


def test_fit_far_timestamps_are_dropped(tmp_path: Path) -> None:
    records = steady_records(120)
    records[50]["t"] = FIT_EPOCH_UNIX + 0xFFFFFFF0  # year 2126
    records[51]["t"] = T0 - 400 * 86_400
    session = read_fit(write(tmp_path / "far.fit", fit_activity(records)))
    assert session.duration_s < 130
    note = next(r for r in session.provenance.repairs if "7 days" in r)
    assert note.startswith("dropped 2 rows") and "2126" in note


def test_fit_chained_files_and_trailing_bytes(tmp_path: Path) -> None:
    first = fit_activity(steady_records(60))
    second = fit_activity(steady_records(60, start=T0 + 60))
    session = read_fit(write(tmp_path / "chain.fit", first + second + b"\x00" * 7))
    assert session.hr.t.size == 120
    assert "ignored 7 bytes after the end of the FIT data" in session.provenance.repairs


def test_fit_truncated_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    data = fit_activity(steady_records(600))
    session = read_fit(write(tmp_path / "cut.fit", data[: len(data) // 2]))
    assert 200 < session.hr.t.size < 400
    assert any(r.startswith("the FIT file is truncated") for r in session.provenance.repairs)


def test_fit_crc_is_fits() -> None:
    data = bytes(range(256)) * 3
    assert fit_crc(data) == compute_crc(data)
    assert fit_crc(data + struct.pack("<H", fit_crc(data))) == 0


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "the file is empty (0 bytes)"),
    (b"\x0e\x20\x00\x00\x00\x00\x00\x00.FI", "the file is truncated: 11 bytes, shorter than"),
    (b"hello world, not a fit file at all", "not a FIT file: the content is plain text"),
    (b"\x00\x01\x02\x03" * 20, "not a FIT file: its header has no '.FIT' signature"),
    (b"PK\x03\x04" + b"\x00" * 40, "not a FIT file: the content is a ZIP archive"),
    (gzip.compress(b"x" * 100), "the file is gzip-compressed but named .fit"),
])
def test_fit_refusals(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.fit"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_fit(path)
    assert info.value.reason.startswith(reason)
    assert info.value.source == str(path)


def test_fit_refusals_of_damaged_and_empty_activities(tmp_path: Path) -> None:
    data = bytearray(fit_activity(steady_records(100)))
    data[400] ^= 0x55
    with pytest.raises(InputError, match="checksum does not match its content"):
        read_fit(write(tmp_path / "flip.fit", bytes(data)))
    data = bytearray(fit_activity(steady_records(100)))
    data[3] ^= 0x01  # the header's protocol bytes: header checksum
    with pytest.raises(InputError, match="header checksum does not match"):
        read_fit(write(tmp_path / "hdr.fit", bytes(data)))
    tcx = tcx_text([points(10)])
    with pytest.raises(InputError) as info:
        read_fit(write(tmp_path / "renamed.fit", tcx))
    assert info.value.reason == "not a FIT file: the content is a TCX file"
    assert info.value.hint == "it is a TCX file with the wrong extension: rename it to renamed.tcx"
    no_records = fit_file([fit_message(0, [(0, "enum", 4)])])
    with pytest.raises(InputError, match="the file holds no records"):
        read_fit(write(tmp_path / "empty.fit", no_records))
    cadence_only = fit_activity([{"t": T0 + i, "cadence": 80} for i in range(60)])
    with pytest.raises(InputError) as info:
        read_fit(write(tmp_path / "nohr.fit", cadence_only))
    assert info.value.reason == "no heart rate in this file (it has cadence only)"
    assert "heart-rate sensor" in info.value.hint


def test_a_file_without_heart_rate_is_read_as_its_workload(tmp_path: Path) -> None:
    # SPEC: without heart rate, intensity is estimated from a workload channel; the
    # reading is said in the repairs and, as a check, on the console.
    speed_only = fit_activity([{"t": T0 + i, "speed": 3.0, "power": 200} for i in range(60)])
    session = read_fit(write(tmp_path / "nohr.fit", speed_only))
    assert session.hr is None and session.acc is None
    np.testing.assert_allclose(session.speed.mps, 3.0)
    np.testing.assert_allclose(session.power.values, 200.0)
    reason = "no heart rate in this file (it has speed, power only): read the speed alone"
    assert any(r.startswith(reason) for r in session.provenance.repairs)
    (notice,) = session.provenance.notices
    assert (notice.kind, notice.reason) == ("check", reason)
    assert "calibrated fitness" in notice.hint
    # A run's power alone, or a swim's speed, says nothing of the effort: refused, saying so.
    power_only = fit_activity([{"t": T0 + i, "power": 250} for i in range(60)])
    with pytest.raises(InputError, match="running power does not say how hard"):
        read_fit(write(tmp_path / "stryd.fit", power_only))


def test_heart_rate_in_a_developer_field_is_read_when_the_file_has_no_native_one(
        tmp_path: Path) -> None:
    # Review 2026-11-25b item 9: a Concept2 rower's app (ErgData) writes the paired strap's
    # heart rate as a developer field "Heart Rate" (bpm, declared as the record's field 3)
    # and no native heart rate; the file was refused with "record with a heart-rate sensor
    # worn and paired", which it was.
    rows = [{"t": T0 + i, "dev": 120 + i % 5} for i in range(60)]
    session = read_fit(write(tmp_path / "row.fit", fit_activity_with_dev_field(
        rows, name="Heart Rate", units="bpm", native_field=3)))
    np.testing.assert_array_equal(session.hr.bpm, [120 + i % 5 for i in range(60)])
    assert session.provenance.sport == "fitness_equipment"
    assert "heart rate: from the developer field 'Heart Rate' (the file has no native " \
        "heart rate)" in session.provenance.repairs
    # Named so in bpm, without the declaration, it is read too.
    named = read_fit(write(tmp_path / "named.fit", fit_activity_with_dev_field(
        rows, name="heart_rate", units="bpm")))
    np.testing.assert_array_equal(named.hr.bpm, session.hr.bpm)
    # A native heart rate wins over the developer field.
    both = [dict(r, hr=150) for r in rows]
    native = read_fit(write(tmp_path / "both.fit", fit_activity_with_dev_field(
        both, name="Heart Rate", units="bpm", native_field=3)))
    np.testing.assert_array_equal(native.hr.bpm, 150.0)
    assert not any("developer field" in r for r in native.provenance.repairs)
    # A field that is not the heart rate (another unit, a zone) is not read as one.
    for name, units in (("Heart Rate", "%"), ("Heart Rate Zone", "bpm"), ("Stroke Rate", "spm")):
        with pytest.raises(InputError, match="no heart rate in this file"):
            read_fit(write(tmp_path / "other.fit", fit_activity_with_dev_field(
                rows, name=name, units=units)))


# --------------------------------------------------------------------------- TCX, known content


def test_tcx_channels(tmp_path: Path) -> None:
    pts = points(120, speed=3.5, run_cadence=88, power=300)
    session = read_session(write(tmp_path / "run.tcx.gz", tcx_text([pts])))
    assert session.name == "run" and session.provenance.format == "tcx"
    assert session.provenance.start_time == datetime.fromtimestamp(T0, UTC)
    np.testing.assert_array_equal(session.hr.bpm, [130 + i % 5 for i in range(120)])
    np.testing.assert_allclose(session.speed.mps, 3.5)
    np.testing.assert_allclose(session.cadence.values, 176.0)
    np.testing.assert_allclose(session.power.values, 300.0)
    assert session.provenance.sport == "running"


def test_absurd_magnitudes_are_gaps(tmp_path: Path) -> None:
    pts = [dict(p, hr=("1e308" if i == 3 else p["hr"]), cadence=("-1e300" if i == 4 else 80))
           for i, p in enumerate(points(30))]
    session = read_tcx(write(tmp_path / "absurd.tcx", tcx_text([pts])))
    assert session.hr.t.size == 29 and session.cadence.t.size == 29
    assert "hr: 1 values beyond ±1e+06 are not measurements (left as gaps)" in (
        session.provenance.repairs)


@pytest.mark.parametrize(("zone", "shift", "naive"), [
    ("Z", 0, False), ("+02:00", -7200, False), ("-05:30", 19_800, False), ("", 0, True),
])
def test_tcx_time_zones(tmp_path: Path, zone: str, shift: int, naive: bool) -> None:
    pts = [dict(p, time=iso(p["t"], zone)) for p in points(30)]
    session = read_tcx(write(tmp_path / "z.tcx", tcx_text([pts])))
    assert session.provenance.start_time == datetime.fromtimestamp(T0 + shift, UTC)
    assert any("no time zone: taken as UTC" in r for r in session.provenance.repairs) == naive


def test_tcx_tracks_are_segments_and_gaps_stay_gaps(tmp_path: Path) -> None:
    first = points(100)
    second = points(100, start=T0 + 400)
    second = [dict(p, distance=p["distance"] + 300.0) for p in second]
    session = read_tcx(write(tmp_path / "laps.tcx", tcx_text([first, second])))
    assert session.hr.t.size == 200 and session.duration_s == pytest.approx(500)
    assert 400.0 not in session.speed.t  # no speed across the pause between tracks
    np.testing.assert_allclose(session.speed.mps, 3.0)


def test_tcx_several_activities_and_courses(tmp_path: Path) -> None:
    many = read_sessions(write(tmp_path / "many.tcx", tcx_text([points(50)], activities=3)))
    assert [s.name for s in many] == ["many-1", "many-2", "many-3"]
    session = many[0]
    assert session.hr.t.size == 50
    assert session.provenance.start_time == datetime.fromtimestamp(T0, UTC)
    assert any(r.startswith("activity 1 of 3 in the file") for r in session.provenance.repairs)
    course = tcx_text([points(20)]).replace("<Activities>", "<Courses>").replace(
        "</Activities>", "</Courses>").replace('<Activity Sport="Running">', "<Course>").replace(
        "</Activity>", "</Course>")
    with pytest.raises(InputError, match="holds a course"):
        read_tcx(write(tmp_path / "course.tcx", course))
    # A course after an activity is not read as part of it.
    courses = course[course.index("<Courses>") : course.index("</Courses>") + 10]
    both = tcx_text([points(50)]).replace("</Activities>", "</Activities>" + courses)
    session = read_tcx(write(tmp_path / "both.tcx", both))
    assert session.hr.t.size == 50
    assert session.provenance.repairs == (
        "speed: derived from distance (the file has no speed field)",)


def test_tcx_truncated_and_trailing(tmp_path: Path) -> None:
    text = tcx_text([points(200)])
    session = read_tcx(write(tmp_path / "cut.tcx", text[: len(text) // 2]))
    note = next(r for r in session.provenance.repairs if r.startswith("the file is truncated"))
    assert f"read the {session.hr.t.size} complete trackpoints" in note
    with pytest.raises(InputError, match="no trackpoints"):
        read_tcx(write(tmp_path / "cut2.tcx", text[:400]))
    session = read_tcx(write(tmp_path / "tail.tcx", text + "\x00garbage"))
    assert any(r.startswith("ignored what follows the end") for r in session.provenance.repairs)


@pytest.mark.parametrize(("text", "reason"), [
    ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
     '"&lol;&lol;&lol;">]><TrainingCenterDatabase>&lol2;</TrainingCenterDatabase>',
     "the XML declares a DOCTYPE or entities"),
    ('<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "file:///etc/passwd">'
     "<TrainingCenterDatabase/>", "the XML declares a DOCTYPE or entities"),
    ("<gpx><trk/></gpx>", "not a TCX file: the content is a GPX file"),
    ("<html><body>hi</body></html>", "not a TCX file: its root element is <html>"),
    ("<TrainingCenterDatabase><Activities><Activity><Lap><Track><Trackpoint><Time>"
     "</Trackpoint></Track>", "malformed XML at line 1"),
    ("just text", "not a TCX file: the content is plain text"),
    ("<TrainingCenterDatabase><Activities/></TrainingCenterDatabase>",
     "the file holds no trackpoints"),
])
def test_tcx_refusals(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        read_tcx(write(tmp_path / "bad.tcx", text))
    assert info.value.reason.startswith(reason), info.value.reason


def test_tcx_refuses_fit_content_and_misnamed_gzip(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_tcx(write(tmp_path / "x.tcx", fit_activity(steady_records(20))))
    assert info.value.reason == "not a TCX file: the content is a FIT file"
    assert info.value.hint.endswith("rename it to x.fit")
    plain = tmp_path / "y.tcx.gz"
    plain.write_text(tcx_text([points(20)]))
    with pytest.raises(InputError, match="named .gz but is not gzip-compressed"):
        read_tcx(plain)
    zipped = tmp_path / "z.tcx"
    zipped.write_bytes(gzip.compress(tcx_text([points(20)]).encode()))
    with pytest.raises(InputError, match="gzip-compressed but named .tcx"):
        read_tcx(zipped)
    cut = tmp_path / "w.tcx.gz"
    whole = gzip.compress(tcx_text([points(400)]).encode())
    cut.write_bytes(whole[: len(whole) * 3 // 4])
    session = read_tcx(cut)
    assert 0 < session.hr.t.size < 400
    assert any("gzip stream is cut short" in r for r in session.provenance.repairs)


def test_size_limits_refuse_bombs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzip stream that inflates beyond the limit is refused, not unpacked to the end
    (the limits are 512 MiB of XML and 256 MiB of FIT; lowered here to keep it quick)."""
    import dosewatch.ingest.activity as activity
    import dosewatch.ingest.formats.fit as fit

    monkeypatch.setattr(activity, "MAX_DECOMPRESSED_BYTES", 100_000)
    monkeypatch.setattr(fit, "MAX_FIT_BYTES", 100_000)
    bomb = tcx_text([points(20)]).replace("<Activities>", "<Activities>" + " " * 300_000)
    with pytest.raises(InputError) as info:
        read_tcx(write(tmp_path / "bomb.tcx.gz", bomb))
    assert info.value.reason == ("decompresses to more than 100000 bytes, too large for an "
                                 "activity file")
    with pytest.raises(InputError, match="is more than 100000 bytes"):
        read_fit(write(tmp_path / "big.fit", fit_activity(steady_records(3000))))
    # Below the limits the same readers are fine.
    assert read_tcx(write(tmp_path / "ok.tcx.gz", tcx_text([points(20)]))).hr.t.size == 20


def test_wrong_content_hints_keep_gz(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_fit(write(tmp_path / "run.fit.gz", tcx_text([points(5)])))
    assert info.value.reason == "not a FIT file: the content is a TCX file"
    assert info.value.hint.endswith("rename it to run.tcx.gz")


# --------------------------------------------------------------------------- GPX, known content


@pytest.mark.parametrize("style", ["gpxtpx", "gpxdata", "plain"])
def test_gpx_heart_rate_extensions(tmp_path: Path, style: str) -> None:
    pts = points(90, cadence=80)
    session = read_gpx(write(tmp_path / f"{style}.gpx", gpx_text([pts], style=style)))
    np.testing.assert_array_equal(session.hr.bpm, [130 + i % 5 for i in range(90)])
    assert session.provenance.sport == "running"
    speed = choose_speed(parse_gpx(tmp_path / f"{style}.gpx"))
    expected = {"gpxtpx": "derived from positions", "gpxdata": "derived from distance",
                "plain": "derived from positions"}[style]
    assert speed.source == expected
    np.testing.assert_allclose(session.speed.mps, 3.0, rtol=0.01)
    if style != "plain":
        np.testing.assert_allclose(session.cadence.values, 160.0)


def test_gpx_speed_extension_and_segments(tmp_path: Path) -> None:
    first, second = points(60, speed=2.75), points(60, start=T0 + 300, speed=2.75)
    path = write(tmp_path / "s.gpx", gpx_text([first, second], style="gpxtpx"))
    session = read_gpx(path)
    assert choose_speed(parse_gpx(path)).source == "speed extension"
    np.testing.assert_allclose(session.speed.mps, 2.75)
    assert session.hr.t.size == 120 and np.diff(session.hr.t).max() == 241


def test_gpx_sport_is_the_track_type(tmp_path: Path) -> None:
    text = gpx_text([points(20)], sport=None).replace(
        "<trk>", '<trk><link href="https://example.org"><type>text/html</type></link>'
        "<type>Biking</type>")
    assert read_gpx(write(tmp_path / "t.gpx", text)).provenance.sport == "cycling"
    untyped = read_gpx(write(tmp_path / "u.gpx", gpx_text([points(20)], sport=None)))
    assert untyped.provenance.sport is None


def test_gpx_refusals(tmp_path: Path) -> None:
    no_hr = [{k: v for k, v in p.items() if k != "hr"} for p in points(30)]
    walk = read_gpx(write(tmp_path / "nohr.gpx", gpx_text([no_hr], style="gpxdata")))
    assert walk.hr is None and walk.speed is not None  # the positions' speed alone
    assert walk.provenance.repairs[0].startswith(
        "no heart rate in this file (it has distance, positions only): read the speed alone")
    with pytest.raises(InputError, match="no track points"):
        read_gpx(write(tmp_path / "route.gpx", "<gpx><rte><rtept lat='1' lon='2'/></rte></gpx>"))
    with pytest.raises(InputError, match="not a GPX file: the content is a TCX file"):
        read_gpx(write(tmp_path / "t.gpx", tcx_text([points(5)])))


# --------------------------------------------------------------------------- all three


def write_all(tmp_path: Path, pts: list[dict[str, float]], stem: str) -> list[Path]:
    records = [{"t": p["t"], "hr": p["hr"]} for p in pts]
    return [
        write(tmp_path / f"{stem}.fit", fit_activity(records)),
        write(tmp_path / f"{stem}.tcx", tcx_text([pts])),
        write(tmp_path / f"{stem}.gpx", gpx_text([pts])),
    ]


def test_the_three_readers_agree(tmp_path: Path) -> None:
    pts = points(200)
    sessions = [read_session(p) for p in write_all(tmp_path, pts, "same")]
    for s in sessions[1:]:
        np.testing.assert_array_equal(s.hr.t, sessions[0].hr.t)
        np.testing.assert_array_equal(s.hr.bpm, sessions[0].hr.bpm)
        assert s.provenance.start_time == sessions[0].provenance.start_time
        assert s.name == "same" and s.provenance.sport == "running"


def test_the_three_readers_say_zero_heart_rate_alike(tmp_path: Path) -> None:
    # The FIT file holds heart rate alone and is refused; the TCX and GPX files hold
    # positions too, and are read as the speed alone, with the same reason.
    pts = points(50, hr=0)
    for p in pts:
        p["hr"] = 0
    reasons = set()
    fit, *with_positions = write_all(tmp_path, pts, "zero")
    with pytest.raises(InputError) as info:
        read_session(fit)
    reasons.add(info.value.reason)
    for path in with_positions:
        session = read_session(path)
        assert session.hr is None and session.speed is not None
        reasons.add(session.provenance.repairs[0].split(": read the")[0])
    assert {re.sub(r"\(\d+ \w+( \w+)?s\)", "(N)", r) for r in reasons} == {
        "no usable heart rate: every heart-rate value is 0 bpm (N)"}


def test_a_one_sample_session_loads_in_every_reader(tmp_path: Path) -> None:
    for path in write_all(tmp_path, points(1), "one"):
        session = read_session(path)
        assert session.hr.t.size == 1 and session.duration_s == 1.0


@pytest.mark.parametrize(("sport", "recorded", "expected"), [
    ("walking", 110, 110),   # walking steps: 90-130 a minute, kept
    ("walking", 55, 110),    # walking strides: doubled
    ("running", 85, 170),    # running strides: doubled
    ("running", 170, 170),   # running steps: kept
])
def test_foot_cadence_becomes_steps_per_minute(
    tmp_path: Path, sport: str, recorded: float, expected: float
) -> None:
    path = tmp_path / "walk.gpx"
    path.write_text(gpx_text([points(120, cadence=recorded)], sport=sport))
    session = read_gpx(path)
    assert np.median(session.cadence.values) == expected


@pytest.mark.parametrize(("speed", "recorded", "expected"), [
    (3.0, 85, 170),    # a run at 3 m/s: 85 steps would be 2.1-m steps, so strides
    (3.0, 170, 170),   # steps already
    (1.3, 55, 110),    # a walk counted in strides
    (8.0, 85, 85),     # a ride's pedal rate (faster than anyone on foot)
])
def test_a_file_without_a_sport_says_strides_by_the_step_length(
        tmp_path: Path, speed: float, recorded: float, expected: float) -> None:
    # A Polar HRM or a GPX without a type names no sport; read as steps, a cadence of
    # 85 at 3 m/s priced a run as a walk (review 2026-11-25b, item 1).
    pts = [dict(p, cadence=recorded) for p in points(120, speed=speed)]
    session = read_session(write(tmp_path / "nosport.tcx", tcx_text([pts], sport="Other")))
    assert session.provenance.sport is None
    np.testing.assert_allclose(np.median(session.cadence.values), expected)
    doubled = [n for n in session.provenance.repairs if "counts strides" in n]
    assert bool(doubled) == (expected != recorded)
