"""The raw-accelerometer readers (CWA, GT3X, GENEActiv, EDF/BDF) on real files, checked
against the established reader of each format, and on files written here.

Real files and the reference values live in ``tests/data/<format>/`` (SOURCES.md beside
them: repository, commit, licence, and which reader produced ``expected/*.npz``;
``scripts/make_rawacc_fixtures.py`` regenerates them). Tolerances, per format:

- CWA vs Open Movement's ``cwa_load`` (the manufacturer's reader): samples exactly equal
  (both give the device's units / 256 or / 4096); times within 1 ms (Open Movement holds
  the times of the few samples before the first block's time point constant, dosewatch
  extrapolates them at the block's rate). The damaged file vs actipy: samples equal, times
  within 20 ms (actipy ignores the fractional block timestamps, truncates to the ms).
- GT3X vs pygt3x: samples equal to float32 rounding (1e-6 g); times equal after turning
  the device's local clock into UTC with info.txt's TimeZone; the older activity.bin layout
  within 0.0005 g (pygt3x rounds that layout to 3 decimals), its start from info.txt.
- GENEActiv vs actipy: samples equal to float32 rounding; times within 1 ms (actipy
  truncates to the ms) after the header's time zone (+1 h; actipy keeps local time).
- EDF/BDF vs pyedflib: physical values within 1e-9 of the channel's range; the start to
  the second; the sub-second start from the first record's time-keeping annotation.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from support.rawacc_files import DATA, edf_bytes, geneactiv_bytes

from dosewatch.errors import InputError
from dosewatch.ingest.formats.cwa import CwaWriter, write_cwa
from dosewatch.ingest.formats.edf import decode
from dosewatch.ingest.registry import ReadOptions, read_one, reader_for

GT3X_TZ_S = {"ISM_Disabled.gt3x": -5 * 3600, "ISM_Enabled.gt3x": -5 * 3600}


def expected(path: Path) -> dict:
    with np.load(path.parent / "expected" / (path.name + ".npz")) as data:
        return {k: data[k] for k in data.files}


def unix_times(session) -> np.ndarray:
    return session.acc.t + session.provenance.time_origin_s


def compare(path: Path, *, value_tol: float, time_tol: float, shift_s: float = 0.0,
            check_times: bool = True) -> None:
    """``path`` read by dosewatch against the reference's n, head and middle rows."""
    ref = expected(path)
    session = read_one(path)
    t = unix_times(session) + shift_s
    xyz = session.acc.xyz
    assert t.size == int(ref["n"]), (t.size, int(ref["n"]))
    for part, start in (("head", 0), ("middle", int(ref["middle_at"]))):
        rows = ref[part]
        got = xyz[start : start + len(rows)]
        assert np.abs(got - rows[:, 1:]).max() <= value_tol, part
        if check_times:
            assert np.abs(t[start : start + len(rows)] - rows[:, 0]).max() <= time_tol, part
    if check_times:
        assert abs(t[0] - float(ref["t_first"])) <= time_tol
        assert abs(t[-1] - float(ref["t_last"])) <= time_tol
    rate = float(ref["rate"])
    assert abs(session.acc.fs - rate) / rate < 0.02  # the measured rate near the nominal


# --------------------------------------------------------------------------- CWA


@pytest.mark.parametrize("name", ["ax3_testfile.cwa", "ax6_testfile.cwa"])
def test_cwa_matches_open_movement(name: str) -> None:
    path = DATA / "cwa" / name
    assert reader_for(path).name == "cwa"
    assert str(expected(path)["reader"]) == "openmovement cwa_load"
    compare(path, value_tol=0.0, time_tol=1e-3)


def test_cwa_damaged_blocks_are_dropped_and_said() -> None:
    path = DATA / "cwa" / "ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa"
    assert str(expected(path)["reader"]) == "actipy read_device"
    compare(path, value_tol=0.0, time_tol=0.02)
    repairs = read_one(path).provenance.repairs
    assert any("dropped 6 of 145 data blocks with a checksum" in r for r in repairs)
    assert any("1 gap(s)" in r for r in repairs)


def test_cwa_header_facts_and_placement() -> None:
    session = read_one(DATA / "cwa" / "ax3_testfile.cwa")
    assert session.provenance.repairs[0].startswith("Axivity AX3 device 39434, session 26")
    assert session.profile.placement == "wrist"  # from the body location set up in OmGui
    ax6 = read_one(DATA / "cwa" / "ax6_testfile.cwa")
    assert "AX6" in ax6.provenance.repairs[0] and "16-bit" in ax6.provenance.repairs[0]
    # AX6 acceleration: 1/4096 g units, the gyroscope's three channels left out.
    assert np.allclose(np.median(np.linalg.norm(ax6.acc.xyz, axis=1)), 1.0, atol=0.05)


@pytest.mark.parametrize("fractional", [True, False])
@pytest.mark.parametrize(("kind", "packed"), [("AX3", True), ("AX3", False), ("AX6", False)])
def test_cwa_round_trip(tmp_path: Path, packed: bool, fractional: bool, kind: str) -> None:
    rng = np.random.default_rng(3)
    xyz = rng.normal(0, 0.6, (12_345, 3)).astype(np.float32)
    xyz[:, 2] += 1.0  # gravity: the unit check on reading expects 1 g at rest
    start, drift = 1_700_000_000.37, 250.0
    path = write_cwa(tmp_path / "x.cwa", xyz, fs=50.0, start_unix=start, packed=packed,
                     fractional=fractional, kind=kind, drift_ppm=drift)
    session = read_one(path)
    unit = 256 if kind == "AX3" else 4096
    want = np.rint(xyz.astype(np.float64) * unit)
    if packed:  # 10 bits and a shared exponent: what fits, as the firmware shifts
        high = np.maximum(want, -want - 1).max(axis=1)
        exponent = np.select([high <= 511, high <= 1023, high <= 2047], [0, 1, 2], 3)
        want = np.floor(want / 2.0 ** exponent[:, None]) * 2.0 ** exponent[:, None]
    assert session.acc.t.size == xyz.shape[0]  # the last, partly filled block included
    assert np.array_equal(session.acc.xyz, (want / unit).astype(np.float32))
    true_t = start + np.arange(xyz.shape[0]) / 50.0 * (1 + drift * 1e-6)
    # Fractional timestamps: 1/65536 s; whole-second ones: to the nearest sample.
    tolerance = 1e-4 if fractional else 0.5 / 50 + 1e-6
    assert np.abs(unix_times(session) - true_t).max() <= tolerance
    assert abs(session.acc.fs - 50 / (1 + drift * 1e-6)) < (1e-3 if fractional else 0.05)


def test_cwa_damaged_block_in_the_middle_is_a_gap_not_a_wrong_value(tmp_path: Path) -> None:
    xyz = np.tile(np.float32([[0.0, 0.0, 1.0]]), (120 * 50, 1))
    path = write_cwa(tmp_path / "a.cwa", xyz, fs=100.0, start_unix=1.7e9)
    data = bytearray(path.read_bytes())
    data[1024 + 512 * 20 + 100] ^= 0x40  # one sample bit of block 20
    path.write_bytes(bytes(data))
    session = read_one(path)
    assert session.acc.t.size == xyz.shape[0] - 120
    assert np.array_equal(session.acc.xyz, xyz[:-120])
    assert any("checksum" in r for r in session.provenance.repairs)


def test_cwa_chunk_with_no_valid_block_is_a_gap(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Blocks are read in chunks of CHUNK_BLOCKS (32768, 16 MiB); a damaged first chunk of
    # a long file is shown here with chunks of 4 blocks instead of a 40 MB file.
    from dosewatch.ingest.formats import cwa

    monkeypatch.setattr(cwa, "CHUNK_BLOCKS", 4)
    xyz = np.tile(np.float32([[0.0, 0.0, 1.0]]), (120 * 12, 1))
    path = write_cwa(tmp_path / "a.cwa", xyz, fs=100.0, start_unix=1.7e9)
    data = bytearray(path.read_bytes())
    for block in range(4):  # the whole first chunk damaged
        data[1024 + 512 * block + 100] ^= 0x40
    path.write_bytes(bytes(data))
    session = read_one(path)
    assert session.acc.t.size == xyz.shape[0] - 4 * 120
    assert any("dropped 4 of 12 data blocks" in r for r in session.provenance.repairs)


def test_cwa_stream_writer_keeps_time_across_calls(tmp_path: Path) -> None:
    with CwaWriter(tmp_path / "b.cwa", fs=25.0, start_unix=1.7e9, packed=False) as writer:
        for _ in range(5):  # at rest: 1 g on z (the unit check on reading expects gravity)
            writer.write(np.tile(np.float32([0.0, 0.0, 1.0]), (333, 1)))
    session = read_one(tmp_path / "b.cwa")
    assert session.acc.t.size == 5 * 333
    assert np.allclose(np.diff(session.acc.t), 1 / 25.0)


# --------------------------------------------------------------------------- GT3X


@pytest.mark.parametrize("name", sorted(GT3X_TZ_S))
def test_gt3x_matches_pygt3x(name: str) -> None:
    path = DATA / "gt3x" / name
    assert str(expected(path)["reader"]) == "pygt3x FileReader"
    # pygt3x gives the device's local clock: add the zone back to compare.
    compare(path, value_tol=1e-6, time_tol=1e-6, shift_s=GT3X_TZ_S[name])


def test_gt3x_idle_sleep_is_filled_with_the_last_sample() -> None:
    idle = read_one(DATA / "gt3x" / "ISM_Enabled.gt3x")
    awake = read_one(DATA / "gt3x" / "ISM_Disabled.gt3x")
    assert idle.acc.t.size == awake.acc.t.size == 9000  # 5 min at 30 Hz, either way
    assert any("idle sleep mode: filled 227 s in 3 episodes" in r
               for r in idle.provenance.repairs)
    steps = np.diff(idle.acc.t)
    assert np.allclose(steps, 1 / 30, atol=1e-6)
    # Filled seconds repeat one sample: whole runs of 30 identical rows exist.
    same = np.all(idle.acc.xyz[1:] == idle.acc.xyz[:-1], axis=1)
    assert same.sum() >= 227 * 30 - 3


def test_gt3x_older_activity_bin_layout() -> None:
    path = DATA / "gt3x" / "neo.gt3x"
    compare(path, value_tol=5e-4 + 1e-6, time_tol=0.0, check_times=False)
    session = read_one(path)
    with zipfile.ZipFile(path) as archive:
        info = archive.read("info.txt").decode()
    ticks = int(next(line for line in info.splitlines() if line.startswith("Start Date"))
                .split(":")[1])
    local = (ticks - 621_355_968_000_000_000) / 1e7
    assert session.provenance.start_time == datetime.fromtimestamp(local + 6 * 3600, UTC)
    assert "activity.bin" in session.provenance.repairs[0]
    assert np.allclose(np.diff(session.acc.t), 1 / 30)


# --------------------------------------------------------------------------- GENEActiv


def test_geneactiv_matches_actipy() -> None:
    path = DATA / "geneactiv" / "GENEActiv_testfile.bin"
    assert reader_for(path).name == "geneactiv"
    ref = expected(path)
    session = read_one(path)
    # actipy stops at the last whole page (4800 samples); dosewatch keeps the whole
    # samples of the page the file was cut in, and says so.
    assert int(ref["n"]) == 4800 and session.acc.t.size == 4800 + 231
    t = unix_times(session) + 3600  # actipy keeps the device's local time (GMT +01:00)
    for part, start in (("head", 0), ("middle", int(ref["middle_at"]))):
        rows = ref[part]
        assert np.abs(session.acc.xyz[start : start + len(rows)] - rows[:, 1:]).max() < 1e-6
        assert np.abs(t[start : start + len(rows)] - rows[:, 0]).max() <= 1e-3
    repairs = " ".join(session.provenance.repairs)
    assert "announces 222048 pages, the file holds 17" in repairs
    assert "1 partial sample(s)" in repairs


def test_geneactiv_written_pages(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    raw = rng.integers(-600, 600, (900, 3))
    raw[:, 2] += 256  # gravity, 1 g at this gain (the unit check on reading expects it)
    path = tmp_path / "g.bin"
    path.write_bytes(geneactiv_bytes(raw, rate=100.0, gain=(25600, 25000, 26000),
                                     offset=(100, -200, 0)))
    session = read_one(path)
    want = (raw * 100.0 - np.array([100, -200, 0])) / np.array([25600, 25000, 26000])
    assert np.allclose(session.acc.xyz, want, atol=1e-6)
    start = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp() - 3600
    assert np.allclose(unix_times(session), start + np.arange(900) / 100.0)
    assert session.profile.placement == "wrist"


def test_geneactiv_page_with_a_wrong_rate_is_dropped(tmp_path: Path) -> None:
    at_rest = np.zeros((900, 3), int)
    at_rest[:, 2] = 256  # 1 g: the unit check on reading expects gravity
    data = geneactiv_bytes(at_rest, rate=100.0)
    second = data.index(b"Sequence Number:1")
    at = data.index(b"Measurement Frequency:100", second)
    damaged = data[:at] + b"Measurement Frequency:300" + data[at + 25 :]
    path = tmp_path / "r.bin"
    path.write_bytes(damaged)
    session = read_one(path)
    assert session.acc.t.size == 600
    assert any("rate is not the configured one" in r for r in session.provenance.repairs)


# --------------------------------------------------------------------------- EDF


@pytest.mark.parametrize("name", ["test_subsecond.edf", "test_generator_datarec_generator_2.bdf",
                                  "acc_hr_ecg.edf", "adfecgdb_r01_direct.edf",
                                  "mitdb100_mlii.edf"])
def test_edf_signals_match_pyedflib(name: str) -> None:
    path = DATA / "edf" / name
    ref = expected(path)
    contents = decode(path)
    signals = [s for s in contents.header.signals if s.label != "EDF Annotations"
               and s.label != "BDF Annotations"]
    assert [s.label for s in signals] == list(ref["labels"])
    for k, s in enumerate(signals):
        values = contents.values(s)
        span = abs(s.pmax - s.pmin)  # a physical range may run backwards
        assert values.size == int(ref[f"n_{k}"])
        assert np.abs(values[:300] - ref[f"head_{k}"]).max() <= 1e-9 * span
        assert np.abs(values[-300:] - ref[f"tail_{k}"]).max() <= 1e-9 * span
        assert s.per_record / contents.header.duration == pytest.approx(ref["rates"][k])
    assert int(contents.header.start.timestamp()) == int(ref["start_whole_s"])


def test_edf_subsecond_start_from_the_annotation() -> None:
    contents = decode(DATA / "edf" / "test_subsecond.edf")
    # The first record's time-keeping annotation reads "+0.3945312".
    assert contents.first_offset == pytest.approx(0.3945312)


def test_edf_acceleration_and_heart_rate_channels() -> None:
    path = DATA / "edf" / "acc_hr_ecg.edf"
    assert reader_for(path).name == "edf"
    ref = expected(path)
    session = read_one(path)
    assert session.acc.fs == pytest.approx(32.0) and session.hr.fs == pytest.approx(1.0)
    got = session.acc.xyz[:300]
    want = np.column_stack([ref[f"head_{k}"] for k in range(3)]) / 1000.0  # mg -> g
    assert np.abs(got - want).max() < 1e-6
    assert np.allclose(session.hr.bpm[:60], ref["head_3"][:60])
    assert session.provenance.start_time == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert any("ECG channel(s) 'ECG' not needed: the file's heart-rate channel is used" in r
               for r in session.provenance.repairs)
    assert session.hr.rr_ms is None  # the HR channel's values, nothing derived


def test_edf_discontinuous_records_keep_their_times(tmp_path: Path) -> None:
    t = np.arange(10 * 16) / 16
    signals = [("Acc X", "g", 16, np.sin(t)), ("Acc Y", "g", 16, np.cos(t)),
               ("Acc Z", "g", 16, np.ones_like(t))]
    onsets = [0, 1, 2, 3, 4, 100, 101, 102, 103, 104]  # a pause of 95 s
    path = tmp_path / "d.edf"
    path.write_bytes(edf_bytes(signals, plus="EDF+D", onsets=onsets))
    session = read_one(path)
    starts = session.acc.t[::16]
    assert np.allclose(starts, onsets)
    assert np.allclose(session.acc.xyz[:, 0], np.sin(t), atol=1e-3)


def test_edf_units_and_unknown_unit(tmp_path: Path) -> None:
    t = np.arange(64) / 32
    for unit, scale in (("m/s^2", 9.80665), ("mg", 1000.0), ("", 1.0)):
        signals = [(f"ACC {a}", unit, 32, scale * v) for a, v in
                   (("X", np.zeros_like(t)), ("Y", np.zeros_like(t)), ("Z", np.ones_like(t)))]
        path = tmp_path / f"u{len(unit)}.edf"
        path.write_bytes(edf_bytes(signals))
        session = read_one(path)
        assert np.allclose(session.acc.xyz[:, 2], 1.0, atol=1e-3), unit
    bad = [(f"ACC {a}", "furlong", 32, 55.0 + np.zeros_like(t)) for a in "XYZ"]
    (tmp_path / "bad.edf").write_bytes(edf_bytes(bad))
    with pytest.raises(InputError, match="unit 'furlong'"):
        read_one(tmp_path / "bad.edf")


def test_edf_without_acceleration_or_heart_rate_is_refused_with_the_labels() -> None:
    with pytest.raises(InputError) as info:
        read_one(DATA / "edf" / "test_subsecond.edf")
    assert "Fp1" in info.value.reason and "ACC X" in info.value.hint


def test_profile_given_wins_over_the_file(tmp_path: Path) -> None:
    from dosewatch.session import Profile

    session = read_one(DATA / "cwa" / "ax3_testfile.cwa",
                       ReadOptions(profile=Profile(placement="hip")))
    assert session.profile.placement == "hip"
    assert "placement" not in session.provenance.device_profile  # the person's word


def test_a_placement_the_file_stored_is_the_devices(tmp_path: Path) -> None:
    """Review 2026-11-25c, item 11: the CWA's own body location was reported with
    ``placement_source`` ``profile`` (a Polar chest strap's gives ``device``)."""
    from dosewatch.analysis import analyze_session
    from dosewatch.models.registry import get_classifier
    from dosewatch.session import Profile

    rng = np.random.default_rng(4)
    raw = rng.integers(-600, 600, (900, 3))
    raw[:, 2] += 256
    bin_path = tmp_path / "g.bin"
    bin_path.write_bytes(geneactiv_bytes(raw, rate=100.0, gain=(25600, 25000, 26000),
                                         offset=(100, -200, 0)))
    for path in (DATA / "cwa" / "ax3_testfile.cwa", bin_path):
        session = read_one(path)
        assert session.profile.placement == "wrist"
        assert session.provenance.device_profile == ("placement",), path.name
    cwa = read_one(DATA / "cwa" / "ax3_testfile.cwa")
    info = analyze_session(cwa, None, get_classifier("rules")).info
    assert (info.placement, info.placement_source) == ("wrist", "device")
    # A profile that names the placement is the person's word, whatever the file says.
    given = read_one(DATA / "cwa" / "ax3_testfile.cwa",
                     ReadOptions(profile=Profile(placement="wrist")))
    assert given.provenance.device_profile == ()
    assert analyze_session(given, None, get_classifier("rules")).info.placement_source == \
        "profile"
