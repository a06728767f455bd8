"""Tables of samples as people hand them in: kinomap's CSV exports and GoldenCheetah's
FitCSVTool dump (real files, checked against Python's own csv module reading the same
file), any CSV with recognised or mapped columns, the interchange folder's semicolons and
ISO times, and the long ``time;KEY;value`` logger folder."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from support.paths import REAL

from dosewatch.errors import InputError, NotARecording
from dosewatch.ingest import read_session, read_sessions
from dosewatch.ingest.registry import ReadOptions, read_all, reader_for

KINOMAP = sorted((REAL / "HelmutQualtinger__kinomap").glob("*.csv"))
RAMP = REAL / "GoldenCheetah__GoldenCheetah" / "Ramp test.csv"


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("path", KINOMAP, ids=lambda p: p.name)
def test_kinomap_exports_match_the_csv_module(path: Path) -> None:
    """Reference: Python's csv module on the same file; times exact (1 s resolution), heart
    rate exact per first row of each second, speed = the file's km/h / 3.6 (the reader finds
    the unit against the distance column)."""
    rows = csv_rows(path)
    session = read_session(path)
    assert reader_for(path).name == "csv"
    stamps = np.array([datetime.fromisoformat(r["Date"]).replace(tzinfo=UTC).timestamp()
                       for r in rows])
    first = {}
    for stamp, row in zip(stamps, rows, strict=True):
        first.setdefault(stamp, row)  # duplicated seconds: the first row is kept
    t0 = min(first)
    assert session.provenance.start_time == datetime.fromtimestamp(t0, UTC)
    np.testing.assert_array_equal(session.hr.t, sorted(s - t0 for s in first))
    np.testing.assert_array_equal(session.hr.bpm, [float(first[s]["Heart rate"])
                                                   for s in sorted(first)])
    speed = {s - t0: float(r["Speed"]) / 3.6 for s, r in first.items()}
    np.testing.assert_allclose(session.speed.mps, [speed[t] for t in session.speed.t],
                               rtol=1e-12)
    assert any("speed field is in km/h" in n for n in session.provenance.repairs)
    power = [(s - t0, float(first[s]["Power"])) for s in sorted(first) if first[s]["Power"]]
    np.testing.assert_array_equal(session.power.t, [t for t, _ in power])
    np.testing.assert_array_equal(session.power.values, [w for _, w in power])


def test_fitcsv_dump_matches_the_csv_module() -> None:
    """GoldenCheetah's ``Ramp test.csv``: the record rows' timestamp, heart_rate and power,
    by the csv module; times are Unix seconds (as FIT seconds they would be 2035)."""
    records = []
    with RAMP.open(newline="") as fh:
        for row in csv.reader(fh):
            if row[:1] == ["Data"] and row[2] == "record":
                fields = dict(zip(row[3::3], row[4::3], strict=False))
                records.append(fields)
    session = read_session(RAMP)
    assert session.provenance.format == "fitcsv"
    t = np.array([float(r["timestamp"]) for r in records])
    assert session.provenance.start_time == datetime.fromtimestamp(t.min(), UTC)
    np.testing.assert_array_equal(session.hr.t, t - t.min())
    np.testing.assert_array_equal(session.hr.bpm, [float(r["heart_rate"]) for r in records])
    np.testing.assert_array_equal(session.power.values, [float(r["power"]) for r in records])
    assert session.provenance.sport == "cycling"


def write(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode()) if path.name.endswith(".gz")
                     else text.encode())
    return path


@pytest.mark.parametrize("text", [
    ("timestamp,heart_rate\n2024-05-01T10:00:00Z,80\n2024-05-01T10:00:01Z,81\n"
     "2024-05-01T10:00:02Z,82\n"),
    "Zeit;Herzfrequenz;Notiz\n1714557600000;80;a\n1714557601000;81;b\n1714557602000;82;c\n",
    "time [s]\tHR [bpm]\n1714557600\t80\n1714557601\t81\n1714557602\t82\n",
    ('"Time","Heart rate"\n"2024-05-01 12:00:00 +0200","80"\n"2024-05-01 12:00:01 +0200",'
     '"81"\n"2024-05-01 12:00:02 +0200","82"\n'),
])
def test_any_csv_with_recognisable_columns(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "session.csv", text)
    options = ReadOptions(columns={"hr": "Herzfrequenz"} if "Zeit" in text else {})
    session = read_all(path, options)[0]
    np.testing.assert_array_equal(session.hr.bpm, [80, 81, 82])
    np.testing.assert_array_equal(session.hr.t, [0, 1, 2])
    assert session.provenance.start_time == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_columns_mapping_by_number_and_acceleration_units(tmp_path: Path) -> None:
    rows = "\n".join(f"{i * 20};{0.0};{0.0};{9.81 + (i % 3) * 0.01}" for i in range(3000))
    path = write(tmp_path / "acc.csv", rows + "\n")
    with pytest.raises(InputError) as info:
        read_session(path)
    assert "no header row naming its columns (columns: 1=1, 2=2, 3=3, 4=4)" in str(info.value)
    assert "--columns time=1" in info.value.hint
    session = read_all(path, ReadOptions(columns={"time": "1", "x": "2", "y": "3", "z": "4",
                                                  "time_unit": "ms"}))[0]
    assert session.acc.fs == pytest.approx(50.0)
    np.testing.assert_allclose(np.linalg.norm(session.acc.xyz, axis=1).mean(), 1.0, atol=0.01)
    assert any("m/s²: converted to g" in n for n in session.provenance.repairs)


def test_refusals_name_the_columns_and_the_way_out(tmp_path: Path) -> None:
    path = write(tmp_path / "odd.csv", "when;what\n1;2\n3;4\n5;6\n")
    with pytest.raises(InputError) as info:
        read_session(path)
    # No column names anything dosewatch reads: not a recording, unless --columns says so.
    assert isinstance(info.value, NotARecording)
    assert "not a recording" in info.value.reason
    assert "(columns: when, what)" in info.value.reason
    assert "--columns time=" in info.value.hint and "rename" not in info.value.hint
    with pytest.raises(InputError) as info:
        read_all(path, ReadOptions(columns={"hr": "what"}))
    assert not isinstance(info.value, NotARecording)
    assert "no time column recognised (columns: when, what)" in info.value.reason
    path = write(tmp_path / "nohr.csv", "time;temperature\n1;20\n2;21\n3;22\n")
    with pytest.raises(InputError) as info:
        read_session(path)
    assert "no heart-rate or acceleration column recognised" in info.value.reason
    assert "--columns hr=COLUMN" in info.value.hint


def test_an_empatica_file_alone_is_pointed_to_its_folder() -> None:
    with pytest.raises(InputError) as info:
        read_session(REAL / "im-ethz__flirt" / "empatica" / "ACC.csv")
    assert "one file of an Empatica E4 session" in info.value.reason
    assert "pass the folder" in info.value.hint


def test_interchange_folder_with_semicolons_and_iso_times(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write(folder / "hr.csv", "time;hr\n2024-05-01T10:00:00Z;60\n2024-05-01T10:00:01Z;61\n"
          "2024-05-01T10:00:02Z;62\n")
    write(folder / "acc.csv.gz", "timestamp_ms;X [mg];Y [mg];Z [mg]\n" + "".join(
        f"{1714557600000 + 20 * i};0;0;1000\n" for i in range(500)))
    session = read_session(folder)
    np.testing.assert_array_equal(session.hr.bpm, [60, 61, 62])
    assert session.provenance.start_time == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert session.acc.fs == pytest.approx(50.0)
    np.testing.assert_allclose(session.acc.xyz[:, 2], 1.0)
    repairs = " | ".join(session.provenance.repairs)
    assert "hr.csv: semicolon-separated" in repairs
    assert "acc.csv.gz: columns read as time=timestamp_ms, x=X [mg]" in repairs


def test_interchange_semicolon_file_with_unknown_names_gets_the_right_hint(tmp_path: Path
                                                                          ) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write(folder / "hr.csv", "t_x;value\n0;60\n1;61\n")
    with pytest.raises(InputError) as info:
        read_session(folder)
    # The file's columns are named as found (not one "time;value" name) ...
    assert "column 'time' missing (found: t_x, value)" in info.value.reason
    assert "--columns time=COLUMN" in info.value.hint
    # ... and the mapping the hint names reads it.
    session = read_all(folder, ReadOptions(columns={"time": "t_x", "hr": "value"}))[0]
    np.testing.assert_array_equal(session.hr.bpm, [60, 61])


def test_long_table_logger_folder_reads_heart_rate_and_acceleration() -> None:
    """The FLIRT Garmin logger folder: data.csv of time;KEY;value rows (HEART_RATE among
    seven keys) beside a headerless acc.csv in milli-g. Reference: the csv module."""
    folder = REAL / "im-ethz__flirt" / "garmin"
    with (folder / "data.csv").open(newline="") as fh:
        hr = [(datetime.fromisoformat(r[0]).timestamp(), float(r[2]))
              for r in csv.reader(fh, delimiter=";") if r[1] == "HEART_RATE"]
    session = read_session(folder)
    assert reader_for(folder).name == "keyed-folder"
    t0 = session.provenance.start_time.timestamp()
    t, bpm = np.array(hr).T
    order = np.argsort(t, kind="stable")
    np.testing.assert_allclose(session.hr.t + t0, t[order], atol=1e-6, rtol=0)
    np.testing.assert_array_equal(session.hr.bpm, bpm[order])
    assert session.acc is not None and session.acc.fs == pytest.approx(25.0, rel=0.05)
    assert any("milli-g: converted to g" in n for n in session.provenance.repairs)


def test_rda_files_stay_unsupported_with_a_hint() -> None:
    path = REAL / "theasjblog__tcx_package" / "rawData.rda"
    assert reader_for(path) is None
    with pytest.raises(InputError) as info:
        read_sessions(path)
    assert "write.csv" in info.value.hint


def test_times_in_minutes_or_serial_days_are_refused_and_read_with_their_unit(
        tmp_path: Path) -> None:
    """A 1-s recording written with its times in minutes from the start, or as spreadsheet
    serial days, is refused with the time_unit that reads it (issue 12 review: a 52-minute
    session became 52 seconds, class none); with that unit it is the 52-minute session."""
    bpm = 120 + np.round(np.random.default_rng(1).normal(0, 3, 3120)).astype(int)
    minutes = write(tmp_path / "minutes.csv", "time,hr\n" + "".join(
        f"{s / 60:.4f},{b}\n" for s, b in enumerate(bpm)))
    serial = write(tmp_path / "serial.csv", "Time,HR\n" + "".join(
        f"{46082.416666667 + s / 86400:.8f},{b}\n" for s, b in enumerate(bpm)))
    for path, unit in ((minutes, "min"), (serial, "excel")):
        with pytest.raises(InputError, match="faster than a heart beats") as info:
            read_session(path)
        assert f"--columns time_unit={unit}" in info.value.hint
        session = read_all(path, ReadOptions(columns={"time_unit": unit}))[0]
        assert session.duration_s == pytest.approx(3120, abs=1.5)
    start = read_all(serial, ReadOptions(columns={"time_unit": "excel"}))[0].provenance
    expected = datetime(2026, 3, 1, 10, tzinfo=UTC).timestamp()
    assert abs(start.start_time.timestamp() - expected) < 0.01


def test_the_no_time_column_hint_names_the_time_units(tmp_path: Path) -> None:
    path = write(tmp_path / "gc.csv", "Stamp,Hrate\n" + "".join(
        f"{s / 60:.4f},{120 + s % 5}\n" for s in range(600)))
    with pytest.raises(InputError, match="no time column recognised") as info:
        read_session(path)
    assert "time_unit=s, ms, us, ns, min, h or excel" in info.value.hint


def _hr_rows(n: int = 600) -> list[int]:
    return [120 + s % 7 for s in range(n)]


def test_decimal_commas_in_the_time_column_are_read(tmp_path: Path) -> None:
    """'0,25;80': the time column writes decimal commas as the heart rate does (issue 12
    review: refused as 'times must be numbers of seconds')."""
    path = write(tmp_path / "semi.csv", "time;hr\n" + "".join(
        f"{s},25;{b}\n" for s, b in enumerate(_hr_rows())))
    session = read_session(path)
    assert session.provenance.time_origin_s == pytest.approx(0.25)
    assert session.duration_s == pytest.approx(600, abs=1.5)
    quoted = write(tmp_path / "quoted.csv", "time,hr\n" + "".join(
        f'{s},"{b},5"\n' for s, b in enumerate(_hr_rows())))
    assert read_session(quoted).hr.bpm[0] == 120.5


def test_quoted_decimal_commas_are_noted_as_unquoted_ones_are(tmp_path: Path) -> None:
    """Review: '"120,5"' in a comma-separated file was read without a word, while a
    semicolon table's decimal commas are named among the repairs."""
    unquoted = read_session(write(tmp_path / "semi.csv", "time;hr\n" + "".join(
        f"{s};{b},5\n" for s, b in enumerate(_hr_rows()))))
    assert any("decimal commas" in r for r in unquoted.provenance.repairs)
    quoted = read_session(write(tmp_path / "quoted.csv", "time,hr\n" + "".join(
        f'"{s},25","{b},5"\n' for s, b in enumerate(_hr_rows()))))
    assert quoted.hr.bpm[0] == 120.5
    notes = [r for r in quoted.provenance.repairs if "decimal commas read" in r]
    assert notes == ["column 'time': decimal commas read ('0,25' as 0.25)",
                     "column 'hr': decimal commas read ('120,5' as 120.5)"]


def test_a_comma_that_may_be_a_thousands_separator_is_not_a_decimal_comma(
        tmp_path: Path) -> None:
    path = write(tmp_path / "thousands.csv", "time,hr\n" + "".join(
        f'{s},"1,{b:03d}"\n' for s, b in enumerate(_hr_rows())))
    with pytest.raises(InputError, match="not a number"):
        read_session(path)


@pytest.mark.parametrize(("stamp", "order"), [
    ("{d:02d}.03.2026 10:{m:02d}:{s:02d}", "day.month.year"),
    ("{d}.3.2026 10:{m:02d}:{s:02d}", "day.month.year"),
    ("{d:02d}/03/2026 10:{m:02d}:{s:02d}", "day/month/year"),  # day 13 tells
    ("03/{d:02d}/2026 10:{m:02d}:{s:02d}", "month/day/year"),
])
def test_day_first_and_month_first_dates_are_read_when_the_dates_tell(
        tmp_path: Path, stamp: str, order: str) -> None:
    rows = [(d, s) for d in (1, 13) for s in range(600)]
    path = write(tmp_path / "dates.csv", "Zeit;Puls\n" + "".join(
        stamp.format(d=d, m=s // 60, s=s % 60) + f";{120 + s % 7}\n" for d, s in rows))
    session = read_all(path, ReadOptions(columns={"time": "Zeit", "hr": "Puls"}))[0]
    assert session.provenance.start_time == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert any(f"dates read as {order}" in n for n in session.provenance.repairs)


def _dated_csv(tmp_path: Path, clock: str) -> Path:
    """Ten minutes of heart rate a second, each time written as ``clock`` (formatted with
    the minute ``m`` and second ``s``)."""
    return write(tmp_path / "dates.csv", "time,hr\n" + "".join(
        clock.format(m=s // 60, s=s % 60) + f",{120 + s % 7}\n" for s in range(600)))


def test_day_first_dates_with_a_one_digit_hour_are_read(tmp_path: Path) -> None:
    """Excel's short German format: 1.3.2026 9:05:00."""
    session = read_session(_dated_csv(tmp_path, "1.3.2026 9:{m:02d}:{s:02d}"))
    assert session.provenance.start_time == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert session.hr.t[-1] == 599


@pytest.mark.parametrize("clock, reason, hint", [
    ("3/13/2026 10:{m:02d}:{s:02d} AM", "12-hour clock", "24-hour clock"),
    ("01/03/2026 10:{m:02d}:{s:02d}", "day/month or month/day cannot be told", "ISO-8601"),
])
def test_times_that_cannot_be_read_surely_are_refused_with_a_hint(
        tmp_path: Path, clock: str, reason: str, hint: str) -> None:
    with pytest.raises(InputError, match=reason) as info:
        read_session(_dated_csv(tmp_path, clock))
    assert hint in info.value.hint


def test_a_truncated_csv_gz_says_it_is_truncated(tmp_path: Path) -> None:
    text = "time,hr\n" + "".join(f"{1_700_000_000 + s},{120 + s % 7}\n" for s in range(40_000))
    whole = gzip.compress(text.encode())
    for keep in (len(whole) // 50, len(whole) * 2 // 3):  # inside the head, and after it
        path = tmp_path / f"cut{keep}.csv.gz"
        path.write_bytes(whole[:keep])
        with pytest.raises(InputError, match="the gzip stream is cut short") as info:
            read_session(path)
        assert "copy or export the file again" in info.value.hint


def test_a_fit_file_named_csv_is_named_as_fit(tmp_path: Path) -> None:
    fit = REAL / "dtcooper__python-fitparse" / "activity-small-fenix2-run.fit"
    path = tmp_path / "export.csv"
    path.write_bytes(fit.read_bytes())
    with pytest.raises(InputError, match="the content is a FIT file") as info:
        read_session(path)
    assert "rename it to export.fit" in info.value.hint


def test_goldencheetah_powertap_columns_that_are_units_are_read(tmp_path: Path) -> None:
    """'Minutes, Torq (N-m), Km/h, Watts, Km, Cadence, Hrate': the time in minutes, the
    speed in km/h and the distance in km, by the names that are units (issue 12 review:
    'no time column recognised', then a 32-second session)."""
    rows = "".join(f"{s / 60:.4f},0,{10.8 + s % 3 / 10:.1f},150,{s * 0.003:.3f},85,"
                   f"{120 + s % 7}\n" for s in range(1200))
    path = write(tmp_path / "powertap.csv",
                 "Minutes, Torq (N-m),Km/h,Watts,Km,Cadence,Hrate\n" + rows)
    session = read_session(path)
    assert session.duration_s == pytest.approx(1200, abs=1.5)
    assert np.median(session.speed.mps) == pytest.approx(10.9 / 3.6, rel=0.02)
    assert session.hr.bpm.max() == 126
