"""Hostile and broken inputs for the activity-file readers (FIT, TCX, GPX).

The rule every case checks (:func:`support.contract.check`): a reader returns sessions
or raises InputError that names the file and gives a reason -- never another exception,
never a hang -- and a session that loads is one the analysis accepts: ``analyze_session``
returns a result or raises a DosewatchError.

Cases: property-based (Hypothesis) random bytes under every activity suffix; random XML
trees of TCX/GPX vocabulary; generated FIT, TCX and GPX files with random values (huge,
backwards, duplicated and missing times, NaN, 0 and 300 bpm...); corrupted copies of
real files (cut at random places, random bytes changed, with and without the FIT
checksum repaired, gzip streams damaged); and a fixed matrix of named corruptions for
each reader. How many cases run is :data:`TOTAL_CASES`.
"""

from __future__ import annotations

import gzip
import itertools
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest
from fitdecode.utils import compute_crc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.activity_files import (
    T0,
    fit_activity,
    gpx_text,
    iso,
    points,
    tcx_text,
    tcx_trackpoint,
)
from support.contract import check
from support.paths import REAL

from dosewatch.errors import InputError
from dosewatch.ingest import read_session

# Examples per property test; their sum plus the fixed cases is TOTAL_CASES.
EXAMPLES = {
    "random_bytes": 120,
    "after_a_valid_start": 80,
    "xml_trees": 80,
    "generated_fit": 50,
    "generated_xml": 50,
    "damaged_real_fit": 40,
    "damaged_real_xml": 40,
}
SUFFIXES = (".fit", ".tcx", ".gpx", ".fit.gz", ".tcx.gz", ".gpx.gz")
_names = itertools.count()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def put(folder: Path, suffix: str, data: bytes, *, stem: str = "case") -> Path:
    """Write ``data`` under a fresh name (compressed when the suffix ends in .gz)."""
    path = folder / f"{stem}{next(_names)}{suffix}"
    path.write_bytes(gzip.compress(data, mtime=0) if suffix.endswith(".gz") else data)
    return path


def with_fit_crc(data: bytes) -> bytes:
    """``data`` (a whole FIT file) with its header and file checksums made right."""
    out = bytearray(data)
    if len(out) >= 14 and out[0] >= 14:
        out[12:14] = struct.pack("<H", compute_crc(bytes(out[:12])))
    if len(out) >= 2:
        out[-2:] = struct.pack("<H", compute_crc(bytes(out[:-2])))
    return bytes(out)


# --------------------------------------------------------------------------- random bytes


@settings(max_examples=EXAMPLES["random_bytes"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(scratch: Path, data: bytes, suffix: str) -> None:
    assert check(put(scratch, suffix, data)) == "refused"


FIT_HEADER = struct.pack("<BBHI4s", 14, 0x20, 2132, 200, b".FIT")
STARTS = {
    ".fit": FIT_HEADER + struct.pack("<H", compute_crc(FIT_HEADER)),
    ".tcx": b'<?xml version="1.0"?><TrainingCenterDatabase><Activities><Activity>',
    ".gpx": b"<gpx><trk><trkseg><trkpt><time>",
}


@settings(max_examples=EXAMPLES["after_a_valid_start"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(tail=st.binary(max_size=2000), suffix=st.sampled_from(sorted(STARTS)),
       gz=st.booleans())
def test_random_bytes_after_a_valid_start(scratch: Path, tail: bytes, suffix: str,
                                          gz: bool) -> None:
    """Past the signature: random FIT records (header size fixed up or not), random XML."""
    data = STARTS[suffix] + tail
    if suffix == ".fit" and len(tail) > 2 and tail[0] % 2:
        data = with_fit_crc(STARTS[suffix][:4] + struct.pack("<I", len(tail) - 2)
                            + data[8:])
    check(put(scratch, suffix + (".gz" if gz else ""), data))


# --------------------------------------------------------------------------- random XML

TAGS = ["TrainingCenterDatabase", "Activities", "Activity", "Lap", "Track", "Trackpoint",
        "Time", "HeartRateBpm", "Value", "DistanceMeters", "Extensions", "ns3:TPX",
        "ns3:Speed", "Watts", "Cadence", "RunCadence", "Position", "LatitudeDegrees",
        "LongitudeDegrees", "Courses", "gpx", "trk", "trkseg", "trkpt", "time",
        "extensions", "gpxtpx:hr", "heartrate", "cad", "speed", "distance", "type", "x"]
TIMES = st.integers(int(T0) - 5, int(T0) + 7200).map(iso)
TEXTS = st.one_of(
    TIMES,
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "-1", "0", "300", "1e308", "abc",
                     "1,5", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                     "2023-11-14T22:13:20", "2023-11-14T22:13:21+14:00", "Running"]),
    st.integers(-10, 400).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
)


def _tree(draw_leaf: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(
        draw_leaf,
        lambda children: st.tuples(st.sampled_from(TAGS), st.just(None),
                                   st.lists(children, max_size=6)),
        max_leaves=40,
    )


LEAF = st.tuples(st.sampled_from(TAGS), TEXTS, st.just([]))


def _element(node: tuple) -> ET.Element:
    tag, text, children = node
    element = ET.Element(tag)
    if text is not None:
        element.text = text
    if tag == "Activity":
        element.set("Sport", "Running")
    if tag == "trkpt":
        element.set("lat", "47.1")
        element.set("lon", "8.2")
    for child in children:
        element.append(_element(child))
    return element


@settings(max_examples=EXAMPLES["xml_trees"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(root=st.sampled_from(["TrainingCenterDatabase", "gpx", "x"]),
       body=st.lists(_tree(LEAF), max_size=5), suffix=st.sampled_from([".tcx", ".gpx"]))
def test_random_xml_trees(scratch: Path, root: str, body: list, suffix: str) -> None:
    data = ET.tostring(_element((root, None, body)), encoding="utf-8")
    check(put(scratch, suffix, data))


# --------------------------------------------------------------------------- generated files

HEART = st.one_of(st.integers(0, 255), st.sampled_from([0, 254, 255]))
STAMP_STEPS = st.one_of(st.integers(-5, 10), st.sampled_from([0, 1, 1, 1, 1, 1, -3600, 3 * 3600]))


@st.composite
def fit_records(draw: st.DrawFn) -> tuple[list[dict], list, dict]:
    n = draw(st.integers(0, 150))
    # A real date, a power-on time (FIT "system time") or the year 2126.
    start = draw(st.sampled_from([T0, 631_065_600 + 5000, 631_065_600 + 0xFFFFFF00]))
    t = start
    records = []
    for _ in range(n):
        t += draw(STAMP_STEPS)
        t = min(max(t, 631_065_600), 631_065_600 + 0xFFFFFFFF)  # 0xFFFFFFFF: invalid
        record = {"t": t}
        if draw(st.booleans()) or not records:
            record["hr"] = draw(HEART)
        if draw(st.booleans()):
            record["enhanced_speed"] = draw(st.floats(0, 60))
        if draw(st.booleans()):
            record["distance"] = draw(st.floats(0, 40_000_000))
        if draw(st.booleans()):
            record["cadence"] = draw(st.integers(0, 254))
        records.append(record)
    events = draw(st.lists(st.tuples(st.integers(int(T0) - 10, int(T0) + 400),
                                     st.sampled_from([0, 1, 4, 8, 9, 3])), max_size=6))
    hrv = draw(st.dictionaries(st.integers(0, max(n - 1, 0)),
                               st.lists(st.floats(0.0, 65.0), max_size=8), max_size=20))
    return records, events, hrv


@settings(max_examples=EXAMPLES["generated_fit"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=fit_records(), sport=st.sampled_from([None, 1, 2, 11, 200]))
def test_generated_fit_files(scratch: Path, case: tuple, sport: int | None) -> None:
    records, events, hrv = case
    data = fit_activity(records, sport=sport, events=events, hrv=hrv)
    check(put(scratch, ".fit", data))


def test_the_contract_check_passes_plain_files_through(scratch: Path) -> None:
    # check() accepts a refusal; the generators above must not be refusing everything.
    records = [{"t": T0 + i, "hr": 120 + i % 7, "enhanced_speed": 3.0} for i in range(600)]
    assert check(put(scratch, ".fit", fit_activity(records, sport=1))) == "analysed"
    pts = [{"t": 0.0, "time": iso(T0 + i), "hr": str(130)} for i in range(600)]
    for kind in ("gpxtpx", "gpxdata", "plain"):
        assert check(put(scratch, ".gpx", gpx_text([pts], style=kind).encode())) == "analysed"
    body = ("<TrainingCenterDatabase><Activities><Activity Sport='Running'><Lap><Track>"
            + "".join(tcx_trackpoint(p) for p in pts)
            + "</Track></Lap></Activity></Activities></TrainingCenterDatabase>")
    assert check(put(scratch, ".tcx", body.encode())) == "analysed"


@st.composite
def xml_points(draw: st.DrawFn) -> list[dict[str, str]]:
    n = draw(st.integers(0, 120))
    t = T0
    out = []
    for _ in range(n):
        t += draw(STAMP_STEPS)
        p: dict[str, str] = {"t": 0.0, "time": iso(min(max(t, 0), 2e10))}
        if draw(st.integers(0, 9)) == 0:
            p["time"] = draw(TEXTS)
        for key in ("hr", "speed", "distance", "cadence"):
            if draw(st.booleans()):
                p[key] = draw(st.one_of(st.integers(-5, 400).map(str), TEXTS))
        out.append(p)
    return out


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@settings(max_examples=EXAMPLES["generated_xml"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pts=xml_points(), kind=st.sampled_from(["tcx", "gpxtpx", "gpxdata", "plain"]),
       gz=st.booleans())
def test_generated_tcx_and_gpx_files(scratch: Path, pts: list, kind: str, gz: bool) -> None:
    # Well-formed XML whatever the values: the values themselves are the test here.
    pts = [{k: (escape(_XML_UNSAFE.sub("", v)) if isinstance(v, str) else v)
            for k, v in p.items()} for p in pts]
    if kind == "tcx":
        body = ("<TrainingCenterDatabase><Activities><Activity Sport='Running'><Lap><Track>"
                + "".join(tcx_trackpoint(p) for p in pts)
                + "</Track></Lap></Activity></Activities></TrainingCenterDatabase>")
        suffix = ".tcx"
    else:
        body = gpx_text([pts], style=kind) if pts else "<gpx><trk><trkseg/></trk></gpx>"
        suffix = ".gpx"
    check(put(scratch, suffix + (".gz" if gz else ""), body.encode("utf-8", "replace")))


# --------------------------------------------------------------------------- damaged real files

REAL_FIT = REAL / "GoldenCheetah__GoldenCheetah/Move_2020_01_15_19_27_16_Running.fit"
REAL_TCX_GZ = REAL / "lwaldron__ConconiAnaerobicThresholdTest/2023-01-16.tcx.gz"
REAL_GPX = REAL / "Runalyze__Runalyze/Movescount-mixed-extensions.gpx"


def _small_gpx() -> bytes:
    """The first 300 points of a real Movescount GPX, closed properly."""
    text = REAL_GPX.read_text(encoding="utf-8")
    ends = [m.end() for m in re.finditer("</trkpt>", text)]
    return (text[: ends[299]] + "\n</trkseg></trk></gpx>\n").encode()


REAL_BYTES = {
    ".fit": REAL_FIT.read_bytes(),
    ".tcx": gzip.decompress(REAL_TCX_GZ.read_bytes()),
    ".gpx": _small_gpx(),
}


def test_the_real_originals_load(scratch: Path) -> None:
    for suffix, data in REAL_BYTES.items():
        assert check(put(scratch, suffix, data)) == "analysed"


EDITS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                 max_size=8)


def damage(data: bytes, edits: list[tuple[float, int]]) -> bytes:
    out = bytearray(data)
    for where, value in edits:
        out[int(where * len(out))] = value
    return bytes(out)


@settings(max_examples=EXAMPLES["damaged_real_fit"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS, cut=st.one_of(st.none(), st.floats(0, 1)), mend=st.booleans(),
       gz=st.booleans())
def test_damaged_real_fit(scratch: Path, edits: list, cut: float | None, mend: bool,
                          gz: bool) -> None:
    """Changed bytes are caught by the checksum -- unless it is mended, which sends the
    damage on into fitdecode's decoding."""
    data = damage(REAL_BYTES[".fit"], edits)
    if mend:
        data = with_fit_crc(data)
    if cut is not None:
        data = data[: int(cut * len(data))]
    outcome = check(put(scratch, ".fit.gz" if gz else ".fit", data))
    if cut is None and not mend and data != REAL_BYTES[".fit"]:
        assert outcome == "refused"  # the checksum catches any change


@settings(max_examples=EXAMPLES["damaged_real_xml"], deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS, cut=st.one_of(st.none(), st.floats(0, 1)),
       suffix=st.sampled_from([".tcx", ".gpx"]), gz=st.booleans(),
       damage_gzip=st.booleans())
def test_damaged_real_xml(scratch: Path, edits: list, cut: float | None, suffix: str,
                          gz: bool, damage_gzip: bool) -> None:
    data = REAL_BYTES[suffix]
    if gz and damage_gzip:
        # Damage the compressed stream itself.
        raw = damage(gzip.compress(data, mtime=0), edits)
        if cut is not None:
            raw = raw[: int(cut * len(raw))]
        path = put(scratch, suffix + ".gz", b"")
        path.write_bytes(raw)
        check(path)
        return
    data = damage(data, edits)
    if cut is not None:
        data = data[: int(cut * len(data))]
    check(put(scratch, suffix + (".gz" if gz else ""), data))


# --------------------------------------------------------------------------- named corruptions


def _fit_from_points(pts: list[dict]) -> bytes:
    return fit_activity([{"t": p["t"], "hr": p["hr"]} for p in pts])


def _named_cases() -> dict[str, tuple[str, object]]:
    """name -> (suffix, bytes or a callable giving them), for each reader."""
    base = points(200)
    cases: dict[str, tuple[str, object]] = {}
    writers = {
        ".fit": _fit_from_points,
        ".tcx": lambda pts: tcx_text([pts]).encode(),
        ".gpx": lambda pts: gpx_text([pts]).encode(),
    }
    for suffix, writer in writers.items():
        whole = writer(base)
        kind = suffix[1:]
        cases[f"{kind}-empty"] = (suffix, b"")
        cases[f"{kind}-empty-gz"] = (suffix + ".gz", b"")
        for fraction in (0.01, 0.1, 0.5, 0.99):
            cases[f"{kind}-cut-{fraction}"] = (suffix, whole[: int(len(whole) * fraction)])
        for seed in range(3):
            rng = np.random.default_rng(seed)
            flipped = bytearray(whole)
            for i in rng.integers(0, len(whole), 5):
                flipped[i] ^= 0xFF
            cases[f"{kind}-flipped-{seed}"] = (suffix, bytes(flipped))
        cases[f"{kind}-huge-timestamp"] = (suffix, writer(
            [dict(p, t=p["t"] + (3.0e9 if i == 100 else 0)) for i, p in enumerate(base)]
            if suffix == ".fit" else
            [dict(p, time="9999-12-31T23:59:59Z") if i == 100 else p
             for i, p in enumerate(base)]))
        cases[f"{kind}-backwards"] = (suffix, writer(
            [dict(p, t=p["t"] - 2 * i) for i, p in enumerate(base)]))
        cases[f"{kind}-jump-back-an-hour"] = (suffix, writer(
            [dict(p, t=p["t"] - (3600 if i >= 100 else 0)) for i, p in enumerate(base)]))
        cases[f"{kind}-duplicated-times"] = (suffix, writer(
            [dict(p, t=base[i // 2]["t"]) for i, p in enumerate(base)]))
        cases[f"{kind}-zero-and-absurd-bpm"] = (suffix, writer(
            [dict(p, hr=[0, 254 if suffix == ".fit" else 300][i % 2])
             for i, p in enumerate(base)]))
        cases[f"{kind}-all-zero-bpm"] = (suffix, writer([dict(p, hr=0) for p in base]))
        cases[f"{kind}-one-sample"] = (suffix, writer(base[:1]))
        cases[f"{kind}-two-days-apart"] = (suffix, writer(
            [base[0], dict(base[1], t=base[1]["t"] + 2 * 86_400)]))
        if suffix != ".fit":
            cases[f"{kind}-nan-values"] = (suffix, writer(
                [dict(p, hr="NaN", distance="nan") if i % 3 else p
                 for i, p in enumerate(base)]))
            cases[f"{kind}-nan-bpm-everywhere"] = (suffix, writer(
                [dict(p, hr="NaN") for p in base]))
    fit, tcx, gpx = (writers[s](base) for s in (".fit", ".tcx", ".gpx"))
    cases["tcx-named-fit"] = (".fit", tcx)
    cases["fit-named-tcx"] = (".tcx", fit)
    cases["gpx-named-tcx"] = (".tcx", gpx)
    cases["fit-named-gpx"] = (".gpx", fit)
    cases["tcx-gz-named-tcx"] = (".tcx", gzip.compress(tcx))
    cases["plain-named-gz"] = (".gpx.gz", None)  # written uncompressed below
    return cases


NAMED = _named_cases()
# Cases whose outcome is certain, with the start of the reason.
EXPECTED_REASONS = {
    "fit-empty": "the file is empty",
    "tcx-empty": "the file is empty",
    "gpx-empty": "the file is empty",
    "fit-cut-0.01": "the file is truncated before its first record",
    "tcx-cut-0.01": "the file holds no trackpoints",
    "gpx-cut-0.01": "the file holds no track points (the document ends early",
    "fit-all-zero-bpm": "no usable heart rate",
    "tcx-named-fit": "not a FIT file: the content is a TCX file",
    "fit-named-tcx": "not a TCX file: the content is a FIT file",
    "gpx-named-tcx": "not a TCX file: the content is a GPX file",
    "fit-named-gpx": "not a GPX file: the content is a FIT file",
    "tcx-gz-named-tcx": "the file is gzip-compressed but named .tcx",
    "plain-named-gz": "the file is named .gz but is not gzip-compressed",
}
# Files without usable heart rate but with speed (distances, positions): read as the
# workload alone, saying so in the repairs and on the console (SPEC: intensity from a
# workload channel without heart rate).
WORKLOAD_ONLY = {
    "tcx-all-zero-bpm": "no usable heart rate",
    "gpx-all-zero-bpm": "no usable heart rate",
    "tcx-nan-bpm-everywhere": "no heart rate in this file",
    "gpx-nan-bpm-everywhere": "no heart rate in this file",
}
LOADS = {"fit-cut-0.5", "fit-cut-0.99", "tcx-cut-0.5", "tcx-cut-0.99", "gpx-cut-0.5",
         "gpx-cut-0.99", "fit-backwards", "tcx-backwards", "gpx-backwards",
         "fit-huge-timestamp", "tcx-huge-timestamp", "gpx-huge-timestamp",
         "fit-one-sample", "tcx-one-sample", "gpx-one-sample"}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_corruptions(scratch: Path, name: str) -> None:
    suffix, data = NAMED[name]
    if data is None:
        path = scratch / f"{name}{suffix}"
        path.write_bytes(gpx_text([points(20)]).encode())
    elif data == b"":
        path = scratch / f"{name}{suffix}"
        path.write_bytes(b"")
    else:
        path = put(scratch, suffix, data, stem=name)
    outcome = check(path)
    if name in EXPECTED_REASONS:
        with pytest.raises(InputError) as info:
            read_session(path)
        assert info.value.reason.startswith(EXPECTED_REASONS[name]), info.value.reason
    if name in WORKLOAD_ONLY:
        session = read_session(path)
        assert session.hr is None and session.speed is not None
        said = [r for r in session.provenance.repairs if r.startswith(WORKLOAD_ONLY[name])]
        assert said and "alone" in said[0], session.provenance.repairs
        assert [n.kind for n in session.provenance.notices] == ["check"], session.provenance
    if name in LOADS:
        assert outcome in ("analysed", "analysis refused"), outcome
        session = read_session(path)
        if "cut" in name or "huge" in name:
            assert session.provenance.repairs  # what was cut or dropped is said
        if "huge" in name:
            assert session.duration_s < 300
        if "backwards" in name:
            assert session.hr.t.size == 200


TOTAL_CASES = sum(EXAMPLES.values()) + len(NAMED) + len(REAL_BYTES)

