"""Hostile and broken inputs for the export readers (tables and CSV, FitCSVTool, Polar
.hrm, PWX, Polar Sensor Logger, Empatica E4, Apple Health, ZIP archives), as the activity
readers get them in ``test_fuzz_readers.py``.

Every case is held to :func:`support.contract.check`: sessions the analysis accepts (finite,
ordered times; acceleration that measures 1 g at rest, so no unit slipped through; a
plausible speed) or an InputError naming the input with a reason and a hint -- never
another exception, never a hang. Cases: random bytes under every new ending; generated
tables (random headers from the recognised vocabulary, delimiters, units and cell values:
ISO and epoch times, NaN, blanks, huge and negative numbers, text); generated .hrm and PWX
files with random parameters; damaged copies (cut, bytes changed) of real files of each
format (the Polar H10 ECG: a real ECG written in its layout by ``support.polar_ecg``); and
damaged or hostile archives. How many cases run is :data:`TOTAL_CASES`.
"""

from __future__ import annotations

import gzip
import io
import itertools
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import polar_ecg
from support.contract import check
from support.paths import DATA, REAL

EXAMPLES = {
    "random_bytes": 100,
    "tables": 120,
    "hrm": 50,
    "pwx": 40,
    "damaged_real": 100,
    "damaged_folders": 40,
    "archives": 40,
}
SUFFIXES = (".csv", ".csv.gz", ".tsv", ".hrm", ".pwx", ".zip", ".txt", ".xml")
_names = itertools.count()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-exports")


def put(folder: Path, suffix: str, data: bytes, stem: str = "case") -> Path:
    path = folder / f"{stem}{next(_names)}{suffix}"
    path.write_bytes(gzip.compress(data, mtime=0) if suffix.endswith(".gz") else data)
    return path


@settings(max_examples=EXAMPLES["random_bytes"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(scratch: Path, data: bytes, suffix: str) -> None:
    path = put(scratch, suffix, data)
    try:
        check(path)
    except AssertionError:
        raise
    except Exception as exc:  # a reader that fails here is what this test is for
        raise AssertionError(f"{path.name}: {type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------- tables

NAMES = st.sampled_from(["time", "timestamp", "Date", "Phone timestamp", "time_ms",
                         "elapsed", "hr", "heart_rate", "HR [bpm]", "Heart rate", "rr_ms",
                         "x", "y", "z", "X [mg]", "Y [mg]", "Z [mg]", "acc_x [m/s^2]",
                         "speed", "Speed (km/h)", "cadence", "power", "Distance", "notes",
                         "Minutes", "Zeit", ""])
CELLS = st.one_of(
    st.integers(-10, 400).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.sampled_from(["", "NaN", "nan", "-", "1e308", "-1e308", "0", "1714557600",
                     "1714557600000", "1714557600000000000", "2024-05-01T10:00:00Z",
                     "2024-05-01 12:00:00 +0200", "2024-05-01T10:00:00", "00:01:05",
                     "9999-12-31T23:59:59Z", "0001-01-01", "1,5", "abc", '"q"',
                     # issue 12 review: day-first and slashed dates, decimal-comma times,
                     # spreadsheet serial days, minutes, RR or tenths under 'hr'
                     "01.05.2024 10:00:00", "1.5.2024 10:00", "13/05/2024 10:00:01",
                     "05/13/2024 10:00", "99.99.2024 10:00", "0,25", '"80,5"',
                     "46082.41666667", "0.0167", "750", "1300", "1,234"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
            max_size=6),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, bytes]:
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    names = draw(st.lists(NAMES, min_size=1, max_size=6))
    rows = []
    t = 1_714_557_600.0
    for _ in range(draw(st.integers(0, 80))):
        t += draw(st.sampled_from([0.02, 1.0, 1.0, 0.0, -1.0, 3600.0, 1 / 60, 1 / 86_400]))
        cells = [draw(CELLS) for _ in names]
        if names[0] in ("time", "timestamp") and draw(st.booleans()):
            cells[0] = repr(t)
        rows.append(delimiter.join(c.replace(delimiter, " ") for c in cells))
    header = delimiter.join(names) if draw(st.integers(0, 4)) else ""
    text = "\n".join([header, *rows] if header else rows) + "\n"
    return draw(st.sampled_from([".csv", ".csv.gz", ".txt"])), text.encode("utf-8", "replace")


@settings(max_examples=EXAMPLES["tables"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=tables())
def test_generated_tables(scratch: Path, case: tuple[str, bytes]) -> None:
    suffix, data = case
    check(put(scratch, suffix, data))


def test_plain_tables_pass_the_contract(scratch: Path) -> None:
    # check() accepts refusals; the generators above must not be refusing everything.
    rows = "".join(f"{1_714_557_600 + i},{120 + i % 9}\n" for i in range(900))
    assert check(put(scratch, ".csv", b"timestamp,heart_rate\n" + rows.encode())) == "analysed"
    acc = "".join(f"{i * 0.02:.2f};0;0;{1000 + (i % 7)}\n" for i in range(30_000))
    assert check(put(scratch, ".csv", b"time;X [mg];Y [mg];Z [mg]\n" + acc.encode())) in (
        "analysed", "analysis refused")


# --------------------------------------------------------------------------- .hrm and PWX


@st.composite
def hrm_files(draw: st.DrawFn) -> bytes:
    smode = "".join(draw(st.sampled_from("01")) for _ in range(draw(st.integers(0, 9))))
    interval = draw(st.sampled_from(["1", "5", "238", "0", "-1", "61", "x", "1e9"]))
    columns = 1 + sum(c == "1" for c in smode[:4]) + (1 if smode[4:6].count("1") else 0)
    if draw(st.booleans()):
        columns = draw(st.integers(1, 7))
    rows = ["\t".join(draw(st.one_of(st.integers(-5, 400).map(str), CELLS))
                      for _ in range(columns)) for _ in range(draw(st.integers(0, 60)))]
    params = [f"Version={draw(st.sampled_from(['106', '107', '105', '102', 'x']))}",
              f"SMode={smode}", f"Interval={interval}",
              f"Date={draw(st.sampled_from(['20240501', '20241399', '']))}",
              f"StartTime={draw(st.sampled_from(['10:00:00.0', '25:61:00.0', 'x']))}",
              f"MaxHR={draw(st.sampled_from(['190', '0', '999', 'x']))}", "RestHR=50"]
    return ("[Params]\n" + "\n".join(params) + "\n\n[HRData]\n" + "\n".join(rows)).encode()


@settings(max_examples=EXAMPLES["hrm"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=hrm_files())
def test_generated_hrm_files(scratch: Path, data: bytes) -> None:
    check(put(scratch, ".hrm", data))


@st.composite
def pwx_files(draw: st.DrawFn) -> bytes:
    workouts = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.sampled_from(["2024-05-01T10:00:00", "2024-05-01T10:00:00Z", "soon",
                                      "9999-12-31T23:59:59"]))
        samples = []
        offset = 0.0
        for _ in range(draw(st.integers(0, 60))):
            offset += draw(st.sampled_from([1.0, 2.0, 0.0, -1.0, 1e9]))
            fields = {"timeoffset": repr(offset)}
            for key in ("hr", "spd", "dist", "cad", "pwr"):
                if draw(st.booleans()):
                    fields[key] = draw(st.one_of(st.integers(-5, 400).map(str),
                                                 st.sampled_from(["nan", "1e308", "", "x"])))
            samples.append("<sample>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
                           + "</sample>")
        workouts.append(f"<workout><sportType>Run</sportType><time>{start}</time>"
                        + "".join(samples) + "</workout>")
    return ('<?xml version="1.0"?><pwx version="1.0">' + "".join(workouts)
            + "</pwx>").encode()


@settings(max_examples=EXAMPLES["pwx"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=pwx_files(), cut=st.one_of(st.none(), st.floats(0, 1)))
def test_generated_pwx_files(scratch: Path, data: bytes, cut: float | None) -> None:
    if cut is not None:
        data = data[: int(cut * len(data))]
    check(put(scratch, ".pwx", data))


# --------------------------------------------------------------------------- damaged real files


def _head_of(path: Path, size: int = 60_000) -> bytes:
    data = path.read_bytes()
    return data[:size]


REAL_FILES = {
    ".hrm": (REAL / "Runalyze__Runalyze" / "12010401.hrm").read_bytes(),
    ".pwx": _head_of(REAL / "GoldenCheetah__GoldenCheetah" /
                     "lgulseth_Timex_Global_Trainer_2013_03_28_11_50_25.pwx"),
    ".csv": _head_of(REAL / "HelmutQualtinger__kinomap" / "carl.csv"),
    "fitcsv.csv": _head_of(REAL / "GoldenCheetah__GoldenCheetah" / "Ramp test.csv"),
    "_HR.txt": (DATA / "polar_sensor_logger" / "Polar_Sense_HR.txt").read_bytes(),
    "_ACC.txt": (DATA / "polar_sensor_logger" / "Polar_Sense_ACC.txt").read_bytes(),
    "_ECG.txt": polar_ecg.ecg_text(polar_ecg.mitdb_ecg_130hz(30.0)).encode(),
    ".xml": (DATA / "apple_health" / "export.xml").read_bytes(),
}
EDITS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                 max_size=8)


def damage(data: bytes, edits: list[tuple[float, int]], cut: float | None) -> bytes:
    out = bytearray(data)
    for where, value in edits:
        out[int(where * len(out))] = value
    if cut is not None:
        out = out[: int(cut * len(out))]
    return bytes(out)


def test_the_real_originals_load(scratch: Path) -> None:
    for suffix, data in REAL_FILES.items():
        if suffix == ".xml":
            continue  # the real export has no workout: a refusal
        stem = "Polar_Sense" if suffix.endswith(".txt") else "real"
        assert check(put(scratch, suffix, data, stem=stem)) in ("analysed", "analysis refused")


@settings(max_examples=EXAMPLES["damaged_real"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(REAL_FILES)), edits=EDITS,
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_damaged_real_files(scratch: Path, kind: str, edits: list, cut: float | None) -> None:
    stem = "Polar_Sense" if kind.endswith(".txt") else "real"
    check(put(scratch, kind, damage(REAL_FILES[kind], edits, cut), stem=stem))


FOLDERS = {
    "e4": DATA / "e4",
    "psl": DATA / "polar_sensor_logger",
    "psl_ecg": None,  # an H10 recording (HR, ACC, ECG) written by support.polar_ecg
}


@settings(max_examples=EXAMPLES["damaged_folders"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(FOLDERS)), which=st.integers(0, 10), edits=EDITS,
       cut=st.one_of(st.none(), st.floats(0, 1)), drop=st.booleans())
def test_damaged_folders(scratch: Path, kind: str, which: int, edits: list,
                         cut: float | None, drop: bool) -> None:
    folder = scratch / f"{kind}{next(_names)}"
    if FOLDERS[kind] is None:
        polar_ecg.write_recording(folder, seconds=60.0, hr=True, acc=True)
    else:
        shutil.copytree(FOLDERS[kind], folder)
    files = sorted(p for p in folder.iterdir())
    victim = files[which % len(files)]
    if drop:
        victim.unlink()
    else:
        victim.write_bytes(damage(victim.read_bytes(), edits, cut))
    check(folder)


# --------------------------------------------------------------------------- archives


def _bulk() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(REAL / "Runalyze__Runalyze" / "15031201.hrm", "a/1.hrm")
        zf.writestr("a/2.fit.gz", gzip.compress(
            (REAL / "GoldenCheetah__GoldenCheetah" / "Move_2020_01_15_19_27_16_Running.fit")
            .read_bytes(), mtime=0))
        zf.writestr("summary.csv", "id\n1\n")
    return out.getvalue()


BULK = _bulk()


@settings(max_examples=EXAMPLES["archives"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS, cut=st.one_of(st.none(), st.floats(0, 1)))
def test_damaged_archives(scratch: Path, edits: list, cut: float | None) -> None:
    check(put(scratch, ".zip", damage(BULK, edits, cut)))


NAMED = {
    "empty.csv": b"",
    "header-only.csv": b"time,hr\n",
    "blank-lines.csv": b"\n\n\n",
    "bom-only.csv": b"\xef\xbb\xbf",
    "utf16.csv": "time,hr\n0,60\n1,61\n".encode("utf-16"),
    "nul.csv": b"time,hr\n0,6\x000\n",
    "ms-relative.csv": b"time,hr\n" + b"".join(b"%d,80\n" % (i * 1000) for i in range(400)),
    "empty.hrm": b"",
    "no-hrdata.hrm": b"[Params]\nSMode=0\nInterval=1\n",
    "empty.pwx": b"",
    "empty.zip": b"",
    "not-a-zip.zip": b"PK\x03\x04" + b"\x00" * 40,
    "zip-of-nothing.zip": b"PK\x05\x06" + b"\x00" * 18,
}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_broken_inputs(scratch: Path, name: str) -> None:
    path = scratch / name
    path.write_bytes(NAMED[name])
    assert check(path) == "refused"


TOTAL_CASES = sum(EXAMPLES.values()) + len(NAMED) + len(REAL_FILES)
