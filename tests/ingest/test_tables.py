"""The shared table sniffer (:mod:`dosewatch.ingest.tables`): delimiters, decimal commas,
headers and preambles, column names with units, ``--columns``, and times in every form."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dosewatch.errors import ConfigError, InputError
from dosewatch.ingest.tables import (
    assign_roles,
    looks_like_table,
    parse_columns_option,
    parse_name,
    read_columns,
    sniff_layout,
    to_seconds,
)


@pytest.mark.parametrize(("text", "delimiter", "decimal"), [
    ("time,hr\n0,60\n1,61\n2,62\n", ",", "."),
    ("time;hr\n0;60\n1;61\n2;62\n", ";", "."),
    ("time;hr\n0,5;60\n1,5;61\n2,5;62\n", ";", ","),
    ("time\thr\n0\t60\n1\t61\n2\t62\n", "\t", "."),
    ("time|hr\n0|60\n1|61\n2|62\n", "|", "."),
])
def test_delimiter_and_decimal_comma(text: str, delimiter: str, decimal: str) -> None:
    layout = sniff_layout(text.encode(), "t.csv")
    assert (layout.delimiter, layout.decimal, layout.names) == (delimiter, decimal,
                                                                ("time", "hr"))
    assert layout.has_header and layout.skip == 0


def test_a_summary_block_above_the_header_is_skipped() -> None:
    # Polar Flow's CSV: a summary header and row, then the samples' header.
    text = ("Name,Sport,Date,Start time,Duration\nAnna,RUNNING,01-05-2024,10:00:00,00:30:00\n"
            "Sample rate,Time,HR (bpm),Speed (km/h)\n1,00:00:00,90,0.0\n1,00:00:01,91,7.2\n"
            "1,00:00:02,92,7.4\n")
    layout = sniff_layout(text.encode(), "flow.csv")
    assert layout.skip == 2 and layout.names[1:3] == ("Time", "HR (bpm)")
    roles = assign_roles(layout.names, {}, "flow.csv")
    assert roles.index == {"time": 1, "hr": 2, "speed": 3}
    assert roles.factor["speed"] == pytest.approx(1 / 3.6)


def test_a_table_without_header_is_numbered() -> None:
    layout = sniff_layout(b"2019-10-16T12:09:01.702+02:00;-36;620;-824\n"
                          b"2019-10-16T12:09:01.742+02:00;-36;628;-828\n"
                          b"2019-10-16T12:09:01.782+02:00;-8;600;-832\n", "acc.csv")
    assert not layout.has_header and layout.names == ("1", "2", "3", "4")


def test_prose_and_markdown_are_not_tables() -> None:
    assert not looks_like_table(b"This folder holds the recordings.\nSee below.\n")
    assert not looks_like_table(b"| file | repo |\n|---|---|\n| a | b |\n| c | d |\n")
    assert looks_like_table(b"timestamp,heart_rate\n1700000000,80\n1700000001,81\n"
                            b"1700000002,82\n")
    with pytest.raises(InputError, match="no comma, semicolon or tab"):
        sniff_layout(b"one\ntwo\nthree\n", "x.txt")


@pytest.mark.parametrize(("name", "role", "unit"), [
    ("HR [bpm]", "hr", "bpm"), ("heart_rate", "hr", None), ("Heart rate", "hr", None),
    ("X [mg]", "x", "mg"), ("acc_x", "x", None), ("Speed (km/h)", "speed", "km/h"),
    ("speed_kmh", "speed", "kmh"), ("timestamp_ms", "time", "ms"),
    ("Phone timestamp", "time", None), ("RR-interval [ms]", "rr", "ms"),
    ("PP-interval [ms]", "rr", "ms"), ("Distances (m)", "distance", "m"),
    ("X [dps]", None, "dps"),  # a gyroscope, not acceleration
    ("X [G]", "x", "g"), ("Temperatures (C)", None, "c"), ("notes", None, None),
])
def test_column_names_and_units(name: str, role: str | None, unit: str | None) -> None:
    found_role, _, found_unit = parse_name(name)
    assert (found_role, found_unit) == (role, unit)


def test_the_best_time_column_wins() -> None:
    roles = assign_roles(["Phone timestamp", "sensor timestamp [ns]", "X [mg]", "Y [mg]",
                          "Z [mg]"], {}, "acc.txt")
    assert roles.index == {"time": 0, "x": 2, "y": 3, "z": 4}
    assert roles.factor["x"] == pytest.approx(1e-3)


def test_columns_option_maps_names_and_numbers() -> None:
    mapping = parse_columns_option("time=Zeit, hr=3 ,acc_unit=m/s2,time_unit=MS")
    assert mapping == {"time": "Zeit", "hr": "3", "acc_unit": "m/s2", "time_unit": "ms"}
    roles = assign_roles(["Zeit", "notiz", "Puls"], mapping, "t.csv")
    assert roles.index == {"time": 0, "hr": 2} and roles.explicit == {"time", "hr"}
    assert roles.factor["time"] == pytest.approx(1e-3)
    with pytest.raises(InputError, match="--columns hr=Pulse: no such column"):
        assign_roles(["Zeit", "Puls"], {"hr": "Pulse"}, "t.csv")


@pytest.mark.parametrize(("text", "message"), [
    ("hr", "is not NAME=COLUMN"), ("bpm=Puls", "unknown name 'bpm'"),
    ("hr=", "is given no column"), ("acc_unit=km/h", "acc_unit=km/h is not a unit of acc"),
])
def test_columns_option_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_columns_option(text)


T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("cells", "expected", "absolute"), [
    (["2024-05-01T10:00:00Z", "2024-05-01T10:00:01.5Z"], [T0, T0 + 1.5], True),
    (["2024-05-01T12:00:00+02:00", "2024-05-01 12:00:01 +0200"], [T0, T0 + 1], True),
    (["2024-05-01T10:00:00", "2024-05-01 10:00:02"], [T0, T0 + 2], True),
    ([str(T0), str(T0 + 1)], [T0, T0 + 1], True),
    ([str(int(T0 * 1e3)), str(int(T0 * 1e3) + 500)], [T0, T0 + 0.5], True),
    ([str(int(T0 * 1e6)), str(int(T0 * 1e6) + 250_000)], [T0, T0 + 0.25], True),
    ([str(int(T0) * 10**9), str(int(T0) * 10**9 + 10**9)], [T0, T0 + 1], True),
    (["0", "0.5", "1"], [0, 0.5, 1], False),
    (["00:00:00", "00:01:05", "1:00:00.5"], [0, 65, 3600.5], False),
])
def test_times_in_every_form(cells: list[str], expected: list[float], absolute: bool) -> None:
    times = to_seconds(pa.array(cells), "t.csv")
    np.testing.assert_allclose(times.t, expected, rtol=0, atol=1e-6)
    assert times.absolute == absolute


def test_naive_times_are_said_to_be_taken_as_utc() -> None:
    times = to_seconds(pa.array(["2024-05-01T10:00:00", "2024-05-01T10:00:01"]), "t.csv")
    assert times.notes == ("time: 2 times had no time zone: taken as UTC",)


def test_times_whose_unit_cannot_be_told_are_refused() -> None:
    # An hour at 1 Hz in milliseconds from the start would be 42 days of seconds ...
    with pytest.raises(InputError, match="time_unit=ms") as info:
        to_seconds(pa.array([str(v) for v in range(0, 3_600_000, 1000)]), "t.csv")
    assert "span 42 days" in info.value.reason
    # ... and five minutes of it a sample every 1000 s.
    with pytest.raises(InputError, match="time_unit=ms") as info:
        to_seconds(pa.array([str(v) for v in range(0, 300_000, 1000)]), "t.csv")
    assert "step 1000 s between samples" in info.value.reason
    with pytest.raises(InputError, match="not a time: 'soon' at data row 2"):
        to_seconds(pa.array(["2024-05-01T10:00:00Z", "soon"]), "t.csv")
    # The unit given settles it.
    times = to_seconds(pa.array(["0", "1000", "2000"]), "t.csv", unit="ms")
    np.testing.assert_array_equal(times.t, [0, 1, 2])


def test_rows_of_differing_length_are_read_with_gaps(tmp_path: Path) -> None:
    # Polar Sensor Logger leaves trailing fields out, and the header ends with ';'.
    path = tmp_path / "hr.txt"
    path.write_text("Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];\n"
                    "2024-05-01T10:00:00.000;60\n2024-05-01T10:00:01.000;61;12,5\n"
                    "2024-05-01T10:00:02.000;62;;15\n")
    layout = sniff_layout(path.read_bytes(), path)
    assert layout.names == ("Phone timestamp", "HR [bpm]", "HRV [ms]",
                            "Breathing interval [rpm]")
    cells = read_columns(path, layout, {"time": 0, "hr": 1, "hrv": 2, "br": 3})
    assert cells["hr"].to_pylist() == ["60", "61", "62"]
    assert cells["hrv"].to_pylist() == [None, "12,5", None]
    assert cells["br"].to_pylist() == [None, None, "15"]
