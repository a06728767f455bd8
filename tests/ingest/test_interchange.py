"""Tests of dosewatch.ingest: session folders (CSV, gzip CSV, Parquet) and profiles."""

from __future__ import annotations

import gzip
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosewatch.errors import InputError, OutputError, ProfileError
from dosewatch.ingest import (
    ParquetSessionWriter,
    parse_profile_options,
    parse_profile_string,
    read_profile,
    read_session,
    read_session_folder,
    write_session_folder,
)
from dosewatch.ingest.formats import interchange
from dosewatch.session import Profile, Session, build_session

FORMATS = ["csv", "csv.gz", "parquet"]
T_UNIX = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


# --------------------------------------------------------------------------- helpers


def write_text(path: Path, text: str) -> Path:
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_parquet(path: Path, columns: dict[str, object]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def make_session(start: float = 0.0, seed: int = 0) -> Session:
    """A small session with every stream, RR with gaps, and a full profile."""
    rng = np.random.default_rng(seed)
    t_hr = start + np.arange(120.0)
    bpm = 70 + 30 * rng.random(120)
    rr = 60_000 / bpm
    rr[::7] = np.nan
    t_acc = start + np.arange(12_000) / 100.0
    xyz = rng.normal(0, 0.5, (12_000, 3)).astype(np.float32)
    xyz[:, 2] += 1.0  # gravity: an accelerometer at rest measures 1 g (the unit check)
    t_speed = start + np.arange(0.0, 120.0, 0.5)
    mps = rng.uniform(0, 4, t_speed.size)
    profile = Profile(
        id="P017",
        age=34.0,
        hr_rest=55.0,
        hr_max=186.0,
        placement="wrist",
        sex="female",
        weight_kg=61.5,
    )
    return build_session(
        "example", hr=(t_hr, bpm, rr), acc=(t_acc, xyz), speed=(t_speed, mps), profile=profile
    )


def session_folder(
    tmp_path: Path, fmt: str = "csv", *, hr: str | None = None, acc: str | None = None
) -> Path:
    """A folder with text hr/acc files in ``fmt`` (csv or csv.gz)."""
    folder = tmp_path / "s1"
    folder.mkdir(exist_ok=True)
    if hr is not None:
        write_text(folder / f"hr.{fmt}", hr)
    if acc is not None:
        write_text(folder / f"acc.{fmt}", acc)
    return folder


ACC_OK = "time,x,y,z\n0,0,0,1\n0.01,0,0,1\n0.02,0.1,0,1\n"
HR_OK = "time,hr\n0,60\n1,61\n2,62\n"


def assert_streams_equal(a: Session, b: Session, atol_t: float = 0.0) -> None:
    np.testing.assert_allclose(b.hr.t, a.hr.t, rtol=0, atol=atol_t)
    np.testing.assert_array_equal(b.hr.bpm, a.hr.bpm)
    np.testing.assert_array_equal(b.hr.rr_ms, a.hr.rr_ms)
    np.testing.assert_allclose(b.acc.t, a.acc.t, rtol=0, atol=atol_t)
    assert b.acc.xyz.dtype == np.float32
    np.testing.assert_array_equal(b.acc.xyz, a.acc.xyz)
    np.testing.assert_allclose(b.speed.t, a.speed.t, rtol=0, atol=atol_t)
    np.testing.assert_array_equal(b.speed.mps, a.speed.mps)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_from_start(tmp_path: Path, fmt: str) -> None:
    session = make_session()
    out = write_session_folder(session, tmp_path / "out", format=fmt)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"hr.{fmt}", f"acc.{fmt}", f"speed.{fmt}", "profile.toml"]
    )
    back = read_session_folder(out)
    assert back.name == "out"
    assert back.provenance.format == fmt
    assert back.provenance.start_time is None
    assert back.provenance.repairs == ()
    assert back.profile == session.profile
    assert_streams_equal(session, back)


def test_parquet_acceleration_is_read_in_column_order_and_analysed_alike(
        tmp_path: Path) -> None:
    """Parquet acceleration is read into column order (each axis one block); the verdict
    and the features are the same as for the same samples in row order."""
    from dataclasses import replace

    from dosewatch.analysis import analyze_session
    from dosewatch.config import Config
    from dosewatch.session import Acceleration

    session = make_session(seed=3)
    back = read_session_folder(write_session_folder(session, tmp_path / "out",
                                                    format="parquet"))
    assert back.acc.xyz.flags.f_contiguous and not back.acc.xyz.flags.c_contiguous
    rows = replace(back, acc=Acceleration(t=back.acc.t, xyz=np.ascontiguousarray(
        back.acc.xyz), fs=back.acc.fs))
    assert rows.acc.xyz.flags.c_contiguous
    a, b = (analyze_session(s, Config(), "physio") for s in (back, rows))
    assert a.session_class == b.session_class
    for name, values in a.features.values.items():
        np.testing.assert_array_equal(values, b.features.values[name], err_msg=name)


@pytest.mark.parametrize("limit, cpus", [(1500.0, 2), (None, 1)])
def test_parquet_columns_are_read_here_under_a_limit_or_on_one_core(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: float | None,
        cpus: int) -> None:
    """Under an address-space limit, or with one usable core, the columns are read in
    the calling thread (no pool), and the session is the same."""
    session = make_session(seed=5)
    out = write_session_folder(session, tmp_path / "out", format="parquet")

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a thread pool was started")

    monkeypatch.setattr(interchange, "address_space_limit_mb", lambda: limit)
    monkeypatch.setattr(interchange, "usable_cpus", lambda: cpus)
    monkeypatch.setattr(interchange, "ThreadPoolExecutor", no_pool)
    assert_streams_equal(session, read_session_folder(out))


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_unix_times_keeps_start(tmp_path: Path, fmt: str) -> None:
    session = make_session(start=T_UNIX + 0.25)
    assert session.provenance.start_time == datetime.fromtimestamp(T_UNIX + 0.25, UTC)
    out = write_session_folder(session, tmp_path / "out", format=fmt, include_profile=False)
    assert not (out / "profile.toml").exists()
    back = read_session(out, name="renamed")
    assert back.name == "renamed"
    assert back.profile == Profile()
    assert back.provenance.start_time == session.provenance.start_time
    # Unix seconds in float64 resolve about 0.24 µs.
    assert_streams_equal(session, back, atol_t=1e-6)


def test_rr_column_only_when_present(tmp_path: Path) -> None:
    session = build_session("s", hr=(np.arange(5.0), np.full(5, 60.0)))
    out = write_session_folder(session, tmp_path / "out")
    assert (out / "hr.csv").read_text().splitlines()[0] == "time,hr"
    back = read_session_folder(out)
    assert back.hr.rr_ms is None and back.acc is None and back.speed is None


def test_mixed_formats_in_one_folder(tmp_path: Path) -> None:
    folder = session_folder(tmp_path, hr=HR_OK)
    write_parquet(
        folder / "acc.parquet",
        {"time": [0.0, 0.01], "x": [0.0, 0.1], "y": [0.0, 0.0], "z": [1.0, 1.0]},
    )
    session = read_session(folder)
    assert session.provenance.format == "csv+parquet"
    assert session.acc.xyz.shape == (2, 3)


# --------------------------------------------------------------------------- normalising


@pytest.mark.parametrize("fmt", ["csv", "csv.gz"])
def test_unsorted_duplicated_gappy_input_is_normalised(tmp_path: Path, fmt: str) -> None:
    hr = "time,hr,rr_ms,comment\n3,63,,a\n1,61,990,b\n2,62,,c\n2,99,,dup\n5,,,gap\n0,60,1000,d\n"
    folder = session_folder(tmp_path, fmt, hr=hr, acc=ACC_OK)
    session = read_session(folder)
    np.testing.assert_array_equal(session.hr.t, [0, 1, 2, 3])
    np.testing.assert_array_equal(session.hr.bpm, [60, 61, 62, 63])  # first of time 2 kept
    np.testing.assert_array_equal(session.hr.rr_ms, [1000, 990, np.nan, np.nan])
    repairs = " | ".join(session.provenance.repairs)
    assert "hr: times were not in order; sorted" in repairs
    assert "hr: dropped 1 rows with a duplicated time (kept the first)" in repairs
    assert "hr: dropped 1 samples with a missing value" in repairs


def test_cells_of_spaces_are_gaps(tmp_path: Path) -> None:
    folder = session_folder(tmp_path, acc="time,x,y,z\n0,0,0,1\n0.01,  ,0,1\n0.02,0.5,0,1\n")
    session = read_session(folder)
    np.testing.assert_array_equal(session.acc.t, [0.0, 0.02])
    assert session.acc.xyz.dtype == np.float32
    np.testing.assert_array_equal(session.acc.xyz[:, 0], [0.0, 0.5])
    assert "acc: dropped 1 samples with a missing value" in " | ".join(session.provenance.repairs)


def test_empty_time_cells_and_nulls_in_parquet_are_gaps(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write_parquet(
        folder / "acc.parquet",
        {
            "time": pa.array([0.0, None, 0.02, 0.03]),
            "x": pa.array([0.0, 0.0, None, 0.1], pa.float32()),
            "y": pa.array([0, 0, 0, 0], pa.int16()),  # integers are fine
            "z": pa.array([1.0, 1.0, 1.0, 1.0]),
        },
    )
    session = read_session(folder)
    np.testing.assert_allclose(session.acc.t, [0.0, 0.03])
    np.testing.assert_array_equal(session.acc.xyz, np.array([[0, 0, 1], [0.1, 0, 1]], np.float32))
    repairs = " | ".join(session.provenance.repairs)
    assert "acc: dropped 1 rows with a missing or non-finite time" in repairs
    assert "acc: dropped 1 samples with a missing value" in repairs


def test_unix_epoch_times_give_start_time(tmp_path: Path) -> None:
    hr = f"time,hr\n{T_UNIX + 2},61\n{T_UNIX + 1},60\n"
    folder = session_folder(tmp_path, hr=hr)
    session = read_session(folder)
    assert session.provenance.start_time == datetime.fromtimestamp(T_UNIX + 1, UTC)
    np.testing.assert_array_equal(session.hr.t, [0.0, 1.0])


def test_start_matches_build_session_when_first_rows_are_gaps(tmp_path: Path) -> None:
    """The reader shifts times itself; it must agree with build_session on the start."""
    hr_t = np.array([T_UNIX, T_UNIX + 1, T_UNIX + 2, T_UNIX + 3])
    bpm = np.array([np.nan, 60, 61, 62])
    acc_t = np.array([T_UNIX - 5, T_UNIX + 1.5, T_UNIX + 1.6])
    xyz = np.array([[np.nan, 0, 1], [0, 0, 1], [0, 0, 1]], np.float32)
    folder = tmp_path / "s"
    folder.mkdir()
    write_parquet(folder / "hr.parquet", {"time": hr_t, "hr": bpm})
    write_parquet(
        folder / "acc.parquet", {"time": acc_t, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    )
    got = read_session(folder)
    want = build_session("s", hr=(hr_t, bpm), acc=(acc_t, xyz))
    assert got.provenance.start_time == want.provenance.start_time
    np.testing.assert_array_equal(got.hr.t, want.hr.t)
    np.testing.assert_array_equal(got.acc.t, want.acc.t)


def test_parquet_timestamp_time_column(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    ms = np.array([T_UNIX * 1000, T_UNIX * 1000 + 1000], dtype=np.int64)
    write_parquet(
        folder / "hr.parquet",
        {
            "time": pa.array(ms, pa.timestamp("ms", tz="UTC")),
            "hr": [60, 61],
        },
    )
    session = read_session(folder)
    assert session.provenance.start_time == datetime.fromtimestamp(T_UNIX, UTC)
    np.testing.assert_array_equal(session.hr.t, [0.0, 1.0])


def test_columns_match_ignoring_case_and_spaces_and_bom(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "hr.csv").write_bytes(b"\xef\xbb\xbf\n Time ,HR\n0,60\n1,61\n")
    session = read_session(folder)
    np.testing.assert_array_equal(session.hr.bpm, [60, 61])


# --------------------------------------------------------------------------- folder errors


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        read_session_folder(tmp_path / "nope")
    with pytest.raises(InputError, match="no such file or folder"):
        read_session(tmp_path / "nope")


def test_not_a_folder(tmp_path: Path) -> None:
    f = write_text(tmp_path / "notes.txt", "hello")
    with pytest.raises(InputError, match="is not a folder"):
        read_session_folder(f)


def test_unsupported_inputs(tmp_path: Path) -> None:
    notes = write_text(tmp_path / "notes.txt", "x")
    with pytest.raises(InputError) as err:
        read_session(notes)
    assert "notes.txt: not a kind of input dosewatch reads" in str(err.value)
    assert ".fit" in str(err.value) and ".tcx" in str(err.value) and "session folders" in str(
        err.value)
    # One stream file alone: a CSV is a table of samples and is read as one; the
    # Parquet stream has no reader of its own and is pointed at its folder.
    hr = write_text(tmp_path / "hr.csv", HR_OK)
    np.testing.assert_array_equal(read_session(hr).hr.bpm, [60, 61, 62])
    hr_parquet = write_parquet(tmp_path / "hr.parquet", {"time": [0.0], "hr": [60.0]})
    with pytest.raises(InputError, match="pass the folder that holds it"):
        read_session(hr_parquet)


def test_folder_without_hr_or_acc(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write_text(folder / "speed.csv", "time,speed_mps\n0,1\n")
    write_text(folder / "notes.txt", "hello")
    with pytest.raises(InputError) as err:
        read_session(folder)
    message = str(err.value)
    assert str(folder) in message
    assert "no session in the folder" in message
    assert "found: notes.txt, speed.csv" in message
    assert "hr.csv" in message and "acc.csv" in message


def test_two_formats_of_one_stream(tmp_path: Path) -> None:
    folder = session_folder(tmp_path, hr=HR_OK)
    write_parquet(folder / "hr.parquet", {"time": [0.0], "hr": [60.0]})
    with pytest.raises(InputError) as err:
        read_session(folder)
    assert "hr.csv and hr.parquet both hold the hr stream" in str(err.value)
    write_text(folder / "hr.csv.gz", HR_OK)
    with pytest.raises(InputError, match="hr.csv, hr.csv.gz and hr.parquet all hold the hr"):
        read_session(folder)
    assert "remove all but one of hr.csv and hr.parquet" in str(err.value)


# --------------------------------------------------------------------------- file errors


@pytest.mark.parametrize("fmt", ["csv", "csv.gz"])
def test_missing_column_lists_found_columns(tmp_path: Path, fmt: str) -> None:
    folder = session_folder(tmp_path, fmt, hr="time,value\n0,60\n")
    with pytest.raises(InputError) as err:
        read_session(folder)
    assert (f"hr.{fmt}: column 'hr' missing (found: time, value) — rename the column to "
            "'hr', or name it with --columns hr=COLUMN") in str(err.value)


def test_missing_column_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write_parquet(folder / "acc.parquet", {"time": [0.0], "x": [0.0], "y": [0.0]})
    with pytest.raises(InputError, match=r"acc\.parquet: column 'z' missing \(found: time, x, y\)"):
        read_session(folder)


@pytest.mark.parametrize("fmt", ["csv", "csv.gz"])
def test_non_numeric_value_names_column_row_and_value(tmp_path: Path, fmt: str) -> None:
    folder = session_folder(
        tmp_path, fmt, acc="time,x,y,z\n0,0,0,1\n0.01, 0.5 ,0,1\n0.02,0,abc,1\n"
    )
    with pytest.raises(InputError) as err:
        read_session(folder)
    assert f"acc.{fmt}: column 'y' has a value that is not a number: 'abc' at data row 3" in str(
        err.value
    )


def test_non_numeric_time_names_the_value(tmp_path: Path) -> None:
    folder = session_folder(tmp_path, hr="time,hr\n0,60\nsoon,61\n")
    with pytest.raises(InputError) as err:
        read_session(folder)
    message = str(err.value)
    assert "column 'time' has a value that is not a number: 'soon' at data row 2" in message
    assert "times must be numbers of seconds" in message
    folder = session_folder(tmp_path, hr="time,hr\n2024-01-01T10:00:00,60\nsoon,61\n")
    with pytest.raises(InputError, match="column 'time' has a value that is not a time: "
                       "'soon' at data row 2"):
        read_session(folder)


def test_non_numeric_text_in_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write_parquet(folder / "hr.parquet", {"time": [0.0, 1.0, 2.0], "hr": ["60", " ", "n/a?"]})
    with pytest.raises(
        InputError,
        match=r"hr\.parquet: column 'hr' has a value that is not a "
        r"number: 'n/a\?' at data row 3",
    ):
        read_session(folder)


def test_parquet_column_of_wrong_type(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write_parquet(folder / "hr.parquet", {"time": [0.0], "hr": pa.array([[1, 2]])})
    with pytest.raises(
        InputError, match=r"hr\.parquet: column 'hr' holds list<.*: int64> values, not numbers"
    ):
        read_session(folder)


def test_times_in_milliseconds_are_refused_with_a_hint(tmp_path: Path) -> None:
    folder = session_folder(tmp_path, hr=f"time,hr\n{T_UNIX * 1000:.0f},60\n")
    with pytest.raises(InputError, match="look like milliseconds: divide them by 1000"):
        read_session(folder)


@pytest.mark.parametrize("name", ["hr.csv", "hr.csv.gz", "hr.parquet"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / name).write_bytes(b"")
    with pytest.raises(InputError) as err:
        read_session(folder)
    assert f"{name}: the file is empty (0 bytes)" in str(err.value)


def test_gzip_of_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "hr.csv.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(InputError, match=r"hr\.csv\.gz: the file is empty \(no header, no rows\)"):
        read_session(folder)


@pytest.mark.parametrize("fmt", ["csv", "csv.gz"])
def test_header_only_file(tmp_path: Path, fmt: str) -> None:
    folder = session_folder(tmp_path, fmt, hr="time,hr\n", acc=ACC_OK)
    with pytest.raises(InputError) as err:
        read_session(folder)
    assert f"hr.{fmt}: the file has a header but no data rows" in str(err.value)


def test_header_only_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write_parquet(
        folder / "hr.parquet",
        {"time": pa.array([], pa.float64()), "hr": pa.array([], pa.float64())},
    )
    with pytest.raises(InputError, match=r"hr\.parquet: the file has a header but no data rows"):
        read_session(folder)


def test_ragged_csv(tmp_path: Path) -> None:
    folder = session_folder(tmp_path, hr="time,hr\n0,60\n1\n")
    with pytest.raises(InputError, match=r"hr\.csv: malformed CSV \(.*Expected 2 columns, got 1"):
        read_session(folder)


def _gz_bytes(rows: int = 50_000) -> bytes:
    text = "time,hr\n" + "".join(f"{i},{60 + i % 50}\n" for i in range(rows))
    return gzip.compress(text.encode())


@pytest.mark.parametrize("damage", ["truncated", "flipped", "not_gzip"])
def test_corrupt_gzip(tmp_path: Path, damage: str) -> None:
    data = bytearray(_gz_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped":
        data[len(data) // 2] ^= 0xFF
    else:
        data = bytearray(b"time,hr\n0,60\n")
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "hr.csv.gz").write_bytes(bytes(data))
    with pytest.raises(InputError) as err:
        read_session(folder)
    message = str(err.value)
    assert "hr.csv.gz: " in message
    if damage == "not_gzip":
        assert "not gzip-compressed" in message and "drop the .gz suffix" in message
    else:
        assert "gzip data is corrupt or truncated" in message


def test_gzip_named_csv(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "hr.csv").write_bytes(_gz_bytes(10))
    with pytest.raises(
        InputError, match=r"hr\.csv: the file is gzip-compressed .* rename it to hr\.csv\.gz"
    ):
        read_session(folder)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped_footer"])
def test_corrupt_parquet(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    path = write_parquet(
        folder / "acc.parquet",
        {"time": np.arange(1000.0), "x": np.zeros(1000), "y": np.zeros(1000), "z": np.ones(1000)},
    )
    data = bytearray(path.read_bytes())
    if damage == "garbage":
        data = bytearray(b"this is not parquet at all")
    elif damage == "truncated":
        data = data[: len(data) - 100]
    else:
        data[-20:-8] = b"\xff" * 12
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as err:
        read_session(folder)
    message = str(err.value)
    assert "acc.parquet: " in message
    assert "Parquet" in message and "write or copy the file again" in message


# --------------------------------------------------------------------------- profiles


def test_profile_toml_is_read_and_overridden(tmp_path: Path) -> None:
    folder = session_folder(tmp_path, hr=HR_OK)
    (folder / "profile.toml").write_text(
        'id = 17\nage = 34\nhr_rest = 55\nplacement = "Wrist"\nsex = "female"\n'
    )
    session = read_session(folder)
    assert session.profile == Profile(
        id="17", age=34.0, hr_rest=55.0, placement="wrist", sex="female"
    )
    override = parse_profile_options({"hr_rest": "50", "placement": "chest", "hr_max": "190"})
    session = read_session(folder, profile=override)
    assert session.profile == Profile(
        id="17", age=34.0, hr_rest=50.0, hr_max=190.0, placement="chest", sex="female"
    )


def test_override_that_contradicts_the_file(tmp_path: Path) -> None:
    folder = session_folder(tmp_path, hr=HR_OK)
    (folder / "profile.toml").write_text("hr_rest = 115\n")
    with pytest.raises(ProfileError) as err:
        read_session(folder, profile=Profile(hr_max=110))
    assert "profile.toml with the given profile" in str(err.value)
    assert "hr_rest (115) is not below hr_max (110)" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age = 400\n", "profile value age = 400.0 is not possible (expected 5–120)"),
        ("hr_rest = 110\nhr_max = 105\n", "hr_rest (110) is not below hr_max (105)"),
        ('placement = "ankle"\n', "profile value placement = 'ankle' is not possible"),
        ("hr_resting = 50\n", "unknown profile key 'hr_resting'"),
        ('age = "34"\n', "profile key age must be a number, got the text '34'"),
        ("age = true\n", "profile key age must be a number, got True"),
        ("sex = 1\n", "profile key sex must be text, got 1"),
        ("[hr]\nrest = 50\n", "unknown profile key 'hr'"),
        ("age = [34]\n", "profile key age must be a single value"),
        ("age = \n", "not valid TOML"),
        ("age = 34\nage = 35\n", "not valid TOML"),
    ],
)
def test_profile_nonsense_values(tmp_path: Path, text: str, expected: str) -> None:
    folder = session_folder(tmp_path, hr=HR_OK)
    (folder / "profile.toml").write_text(text)
    with pytest.raises(ProfileError) as err:
        read_session(folder)
    assert f"{folder / 'profile.toml'}: " in str(err.value)
    assert expected in str(err.value)


def test_unknown_profile_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write_text(tmp_path / "profile.toml", "hr_resting = 50\n")
    with pytest.raises(ProfileError, match="did you mean 'hr_rest'"):
        read_profile(path)


def test_read_profile_missing_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="profile file not found"):
        read_profile(tmp_path / "profile.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'sex = "\xff"\n')
    with pytest.raises(ProfileError, match="not valid TOML"):
        read_profile(bad)


def test_parse_profile_options() -> None:
    assert parse_profile_options(
        {"age": "34", "hr_rest": " 55 ", "id": "P1", "sex": ""}
    ) == Profile(id="P1", age=34.0, hr_rest=55.0)
    assert parse_profile_string("age=34, placement=HIP") == Profile(age=34.0, placement="hip")
    with pytest.raises(ProfileError, match=r"--profile: profile option age='old' is not a number"):
        parse_profile_options({"age": "old"})
    with pytest.raises(ProfileError, match="profile option age='nan' is not a finite number"):
        parse_profile_options({"age": "nan"})
    with pytest.raises(ProfileError, match="unknown profile key 'weight'"):
        parse_profile_options({"weight": "60"}, source="cli")
    with pytest.raises(ProfileError, match="profile value age = 400.0 is not possible"):
        parse_profile_string("age=400")
    with pytest.raises(ProfileError, match="is not key=value"):
        parse_profile_string("age34")
    with pytest.raises(ProfileError, match="age is given twice"):
        parse_profile_string("age=34,age=35")


# --------------------------------------------------------------------------- writing


def test_write_refuses_non_empty_folder_unless_overwrite(tmp_path: Path) -> None:
    session = make_session()
    target = tmp_path / "out"
    target.mkdir()
    write_session_folder(session, target)  # an empty folder is fine
    with pytest.raises(OutputError, match="not empty"):
        write_session_folder(session, target, format="parquet")
    assert "acc.csv" in {p.name for p in target.iterdir()}
    write_session_folder(session, target, format="parquet", overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == [
        "acc.parquet",
        "hr.parquet",
        "profile.toml",
        "speed.parquet",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no leftovers
    with pytest.raises(OutputError, match="not a folder"):
        write_session_folder(session, target / "hr.parquet", overwrite=True)


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = interchange._write_table
    calls = []

    def failing(table: pa.Table, path: Path, fmt: str) -> None:
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("disk full")
        real(table, path, fmt)

    monkeypatch.setattr(interchange, "_write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        write_session_folder(make_session(), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_written_folder_has_normal_permissions(tmp_path: Path) -> None:
    out = write_session_folder(make_session(), tmp_path / "out")
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask


def test_write_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format must be one of"):
        write_session_folder(make_session(), tmp_path / "out", format="xlsx")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Parquet appender


def test_parquet_writer_appends_chunks(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n_acc, n_hr = 25_000, 400
    t_acc = T_UNIX + np.arange(n_acc) / 50.0
    xyz = rng.normal(0, 0.2, (n_acc, 3)).astype(np.float32)
    xyz[:, 2] += 1.0  # gravity (the unit check reads the magnitude at rest)
    t_hr = T_UNIX + np.arange(n_hr) / 2.0
    bpm = rng.uniform(50, 180, n_hr)
    rr = 60_000 / bpm
    profile = Profile(age=40.0, placement="hip")
    target = tmp_path / "week"
    with ParquetSessionWriter(target, profile=profile, row_group_size=4096) as writer:
        acc_edges = np.sort(rng.choice(np.arange(1, n_acc), 30, replace=False))
        hr_edges = np.linspace(0, n_hr, 32).astype(int)[1:-1]
        for i, (a, h) in enumerate(
            zip(
                np.split(np.arange(n_acc), acc_edges),
                np.split(np.arange(n_hr), hr_edges),
                strict=True,
            )
        ):
            buf = xyz[a].copy()
            # The second half of the hr chunks come without RR.
            hr_chunk = (t_hr[h], bpm[h], rr[h]) if i < 15 else (t_hr[h], bpm[h])
            writer.append(acc=(t_acc[a], buf), hr=hr_chunk)
            buf[:] = 0  # the writer must have copied
        assert not target.exists()  # nothing visible before close
        assert writer.rows == {"acc": n_acc, "hr": n_hr}
    meta = pq.ParquetFile(target / "acc.parquet")
    assert meta.schema_arrow.field("x").type == pa.float32()
    assert meta.schema_arrow.field("time").type == pa.float64()
    assert [meta.metadata.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        4096
    ] * 6 + [n_acc - 6 * 4096]
    session = read_session(target)
    assert session.profile == profile
    assert session.provenance.start_time == datetime.fromtimestamp(T_UNIX, UTC)
    np.testing.assert_array_equal(session.acc.xyz, xyz)
    np.testing.assert_allclose(session.acc.t, t_acc - T_UNIX, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(session.hr.bpm, bpm)
    half = np.concatenate(np.split(np.arange(n_hr), hr_edges)[:15]).size
    np.testing.assert_array_equal(session.hr.rr_ms[:half], rr[:half])
    assert np.isnan(session.hr.rr_ms[half:]).all()


def test_parquet_writer_aborts_on_error(tmp_path: Path) -> None:
    target = tmp_path / "week"
    with (
        pytest.raises(RuntimeError, match="simulation failed"),
        ParquetSessionWriter(target) as writer,
    ):
        writer.append(hr=(np.arange(10.0), np.full(10, 60.0)))
        raise RuntimeError("simulation failed")
    assert list(tmp_path.iterdir()) == []


def test_parquet_writer_misuse(tmp_path: Path) -> None:
    writer = ParquetSessionWriter(tmp_path / "w")
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        writer.append(acc=(np.arange(3.0), np.zeros((3, 2))))
    with pytest.raises(ValueError, match="same length"):
        writer.append(hr=(np.arange(3.0), np.zeros(2)))
    writer.append(hr=(np.arange(3.0), np.full(3, 60.0)))
    with pytest.raises(ValueError, match="first hr chunk had none"):
        writer.append(hr=(np.arange(3.0), np.full(3, 60.0), np.full(3, 900.0)))
    path = writer.close()
    assert read_session(path).hr.bpm.size == 3
    with pytest.raises(ValueError, match="closed"):
        writer.append(hr=(np.arange(3.0), np.full(3, 60.0)))
    empty = ParquetSessionWriter(tmp_path / "empty")
    with pytest.raises(ValueError, match="no heart rate or acceleration"):
        empty.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]
    with pytest.raises(OutputError):
        ParquetSessionWriter(tmp_path / "w")


# --------------------------------------------------------------------------- any bytes in


def _read_bytes_as(name: str, data: bytes, with_acc: bool) -> None:
    """Read a folder holding ``data`` as ``name``: a Session or an InputError, nothing else."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        folder.mkdir()
        (folder / name).write_bytes(data)
        if with_acc:
            write_text(folder / "acc.csv", ACC_OK)
        try:
            session = read_session(folder)
        except InputError:
            return
        assert isinstance(session, Session)


CSV_ALPHABET = list('0123456789.,-+eE \t"\n\r') + [
    "nan",
    "inf",
    "time",
    "hr",
    "rr_ms",
    "x",
    "\x00",
    "é",
]

csv_like = st.lists(st.sampled_from(CSV_ALPHABET), max_size=80).map(lambda parts: "".join(parts))
cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["", " ", "NA", "nan", "-", "1e999", "0x10", "1,5", '"7"', "abc"]),
)


HEADERS = {
    "hr": [["time", "hr"], ["time", "hr", "rr_ms"], ["hr", "time", "x"], ["time", "bpm"]],
    "acc": [["time", "x", "y", "z"], ["z", "y", "x", "time"], ["time", "x", "y"]],
}


@st.composite
def csv_rows(draw: st.DrawFn, stream: str = "hr") -> str:
    """Mostly well-formed CSV text with awkward values, sometimes a ragged row."""
    names = draw(st.sampled_from(HEADERS[stream]))
    rows = draw(st.lists(st.lists(cell, min_size=len(names), max_size=len(names)), max_size=15))
    lines = [",".join(names), *(",".join(row) for row in rows)]
    if len(lines) > 1 and draw(st.booleans()):
        lines[-1] = lines[-1].rsplit(",", 1)[0]  # a row cut short
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=300),
        csv_like.map(lambda text: ("time,hr,rr_ms\n" + text).encode()),
        csv_like.map(lambda text: text.encode()),
        csv_rows().map(lambda text: text.encode()),
    ),
    gz=st.booleans(),
    with_acc=st.booleans(),
)
def test_any_bytes_as_hr_csv(data: bytes, gz: bool, with_acc: bool) -> None:
    if gz:
        _read_bytes_as("hr.csv.gz", gzip.compress(data), with_acc)
    else:
        _read_bytes_as("hr.csv", data, with_acc)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=csv_rows("acc"), gz=st.booleans())
def test_any_table_as_acc_csv(data: str, gz: bool) -> None:
    if gz:
        _read_bytes_as("acc.csv.gz", gzip.compress(data.encode()), with_acc=False)
    else:
        _read_bytes_as("acc.csv", data.encode(), with_acc=False)


def _valid_parquet() -> bytes:
    sink = pa.BufferOutputStream()
    table = pa.table(
        {
            "time": np.arange(50.0) / 100,
            "x": np.zeros(50, np.float32),
            "y": np.zeros(50, np.float32),
            "z": np.ones(50, np.float32),
        }
    )
    pq.write_table(table, sink, row_group_size=20)
    return sink.getvalue().to_pybytes()


VALID_PARQUET = _valid_parquet()


@st.composite
def damaged_parquet(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID_PARQUET)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda b: b"PAR1" + b + b"PAR1"),
        damaged_parquet(),
    )
)
def test_any_bytes_as_acc_parquet(data: bytes) -> None:
    _read_bytes_as("acc.parquet", data, with_acc=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_treadmills_incline_travels_beside_its_speed(tmp_path: Path, fmt: str) -> None:
    """The grade (rise over run) is the speed file's optional column, so an incline ramp
    written to a session folder is still a ramp when read back."""
    t = np.arange(0.0, 600.0, 1.0)
    grade = np.round(np.minimum(t // 60, 8) * 0.01, 4)
    session = build_session("s", hr=(t, 120.0 + t / 10), speed=(t, np.full(t.size, 1.4)),
                            grade=(t, grade))
    back = read_session(write_session_folder(session, tmp_path / "s", format=fmt))
    assert back.grade is not None
    np.testing.assert_allclose(back.grade.values, grade)
    # Grade sampled apart from the speed is written at the speed's times (none outside
    # the grade's own span).
    apart = build_session("a", hr=(t, 120.0 + 0 * t), speed=(t, np.full(t.size, 1.4)),
                          grade=(t[::10] + 0.5, grade[::10]))
    back = read_session(write_session_folder(apart, tmp_path / "a", format=fmt))
    assert back.grade.t[0] >= 0.5 and back.grade.t[-1] <= t[-10] + 0.5
    np.testing.assert_allclose(back.grade.values,
                               np.interp(back.grade.t, t[::10] + 0.5, grade[::10]))
    # A folder without the column has no grade.
    plain = build_session("p", hr=(t, 120.0 + 0 * t), speed=(t, np.full(t.size, 1.4)))
    assert read_session(write_session_folder(plain, tmp_path / "p", format=fmt)).grade is None


@pytest.mark.parametrize("key", ["age", "hr_rest", "hr_max", "weight_kg"])
def test_the_example_in_a_profile_hint_is_itself_accepted(key):
    """--profile hr_max=abc once suggested hr_max=60, which the profile then refuses."""
    import re

    from dosewatch.errors import ProfileError
    from dosewatch.ingest import parse_profile_string

    with pytest.raises(ProfileError) as err:
        parse_profile_string(f"{key}=abc")
    example = re.search(rf"e\.g\. ({key}=\S+)", err.value.hint).group(1)
    assert getattr(parse_profile_string(example), key) is not None
