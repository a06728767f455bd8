"""Hostile and broken inputs for the raw-accelerometer readers (CWA, GT3X, GENEActiv,
EDF/BDF), as ``test_fuzz_readers.py`` does for the activity files.

The rule every case checks (:func:`check`): a reader returns a Session or raises
InputError that names the file and gives a reason and a hint -- never another exception,
never a hang -- and a session that loads has finite, increasing times, a rate a device
can record at, and is accepted by the analysis. Where a format can tell damage (CWA and
GT3X checksums, GENEActiv page fields, sizes the file cannot hold), the damage is caught
and said, never turned into plausible-looking values.

Cases: random bytes under every suffix; random bytes after a valid start of each format;
real files (tests/data) cut at random places and with random bytes changed; generated
CWA files whose block fields are set at random with their checksums made right (so the
reader's own checks, not the checksum, must hold); generated EDF and GENEActiv files
with random values; and a fixed matrix of headers that announce more than the file
holds.
"""

from __future__ import annotations

import io
import itertools
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support.rawacc_files import DATA, edf_bytes, geneactiv_bytes

from dosewatch.analysis import analyze_session
from dosewatch.errors import DosewatchError, InputError
from dosewatch.ingest.formats.cwa import BLOCK_PACKED, HEADER, write_cwa
from dosewatch.ingest.registry import read_one
from dosewatch.models.registry import get_classifier

SUFFIXES = (".cwa", ".gt3x", ".bin", ".edf", ".bdf")
CLASSIFIER = get_classifier()
MAX_SPAN_S = 400 * 86_400.0
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow,
                                                        HealthCheck.data_too_large]}
_names = itertools.count()


def check(path: Path) -> str:
    """Read ``path``; assert the contract (module text). Returns what happened."""
    try:
        session = read_one(path)
    except InputError as exc:
        assert exc.source == str(path), exc
        assert exc.reason and exc.hint, exc
        return "refused"
    streams = [s for s in (session.acc, session.hr) if s is not None]
    assert streams
    for stream in streams:
        assert np.isfinite(stream.t).all() and (np.diff(stream.t) > 0).all()
        assert 0 < stream.fs <= 20_000
        assert stream.t[-1] - stream.t[0] <= MAX_SPAN_S
    if session.acc is not None:
        assert session.acc.xyz.dtype == np.float32 and np.isfinite(session.acc.xyz).all()
        assert np.abs(session.acc.xyz).max() <= 64  # g: nothing absurd gets through
    try:
        analyze_session(session, None, CLASSIFIER)
    except DosewatchError:
        return "analysis refused"
    return "analysed"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-rawacc")


def put(folder: Path, suffix: str, data: bytes) -> Path:
    path = folder / f"case{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- random bytes


@settings(max_examples=60, **SETTINGS)
@given(data=st.binary(max_size=4000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(scratch: Path, data: bytes, suffix: str) -> None:
    assert check(put(scratch, suffix, data)) == "refused"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


INFO = (b"Serial Number: TAS1E47150641\r\nDevice Type: Link\r\nSample Rate: 30\r\n"
        b"Start Date: 637517662200000000\r\nTimeZone: -05:00:00\r\n"
        b"Acceleration Scale: 256.0\r\n")
CWA_HEADER = (DATA / "cwa" / "ax3_testfile.cwa").read_bytes()[:HEADER]
EDF_HEAD = (DATA / "edf" / "acc_hr_ecg.edf").read_bytes()[: 256 * 7]
GENEACTIV_HEAD = (DATA / "geneactiv" / "GENEActiv_testfile.bin").read_bytes()[:1529]
STARTS = {
    ".cwa": lambda tail: CWA_HEADER + tail,
    ".edf": lambda tail: EDF_HEAD + tail,
    ".bin": lambda tail: GENEACTIV_HEAD + tail,
    ".gt3x": lambda tail: _zip({"info.txt": INFO, "log.bin": tail}),
}


@settings(max_examples=60, **SETTINGS)
@given(tail=st.binary(max_size=6000), suffix=st.sampled_from(sorted(STARTS)))
def test_random_bytes_after_a_valid_start(scratch: Path, tail: bytes, suffix: str) -> None:
    check(put(scratch, suffix, STARTS[suffix](tail)))


@settings(max_examples=40, **SETTINGS)
@given(records=st.lists(st.tuples(st.sampled_from([0x00, 0x03, 0x1A, 0x06, 0x15, 0x99]),
                                  st.integers(1_600_000_000, 1_600_000_400),
                                  st.binary(max_size=200)), max_size=40),
       zeros=st.integers(0, 3))
def test_generated_gt3x_records_with_right_checksums(scratch: Path, records: list,
                                                     zeros: int) -> None:
    """Well-formed log records of random types, sizes and payloads (checksums right)."""
    log = bytearray()
    for kind, stamp, payload in records:
        head = struct.pack("<BBIH", 0x1E, kind, stamp, len(payload))
        body = head + payload
        checksum = 0
        for byte in body:
            checksum ^= byte
        log += body + bytes([~checksum & 0xFF]) + bytes(zeros)
    check(put(scratch, ".gt3x", _zip({"info.txt": INFO, "log.bin": bytes(log)})))


# --------------------------------------------------------------------------- damaged real files

REAL = {
    ".cwa": (DATA / "cwa" / "ax3_testfile.cwa").read_bytes(),
    ".gt3x": (DATA / "gt3x" / "ISM_Enabled.gt3x").read_bytes(),
    ".bin": (DATA / "geneactiv" / "GENEActiv_testfile.bin").read_bytes(),
    ".edf": (DATA / "edf" / "acc_hr_ecg.edf").read_bytes(),
    ".bdf": (DATA / "edf" / "test_generator_datarec_generator_2.bdf").read_bytes(),
}
GT3X_LOG = zipfile.ZipFile(DATA / "gt3x" / "ISM_Enabled.gt3x").read("log.bin")


def test_the_real_originals_load(scratch: Path) -> None:
    for suffix, data in REAL.items():
        outcome = check(put(scratch, suffix, data))
        assert outcome == ("refused" if suffix == ".bdf" else "analysed"), suffix


EDITS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                 min_size=1, max_size=8)


def damage(data: bytes, edits: list[tuple[float, int]]) -> bytes:
    out = bytearray(data)
    for where, value in edits:
        out[int(where * len(out))] = value
    return bytes(out)


@settings(max_examples=60, **SETTINGS)
@given(edits=EDITS, cut=st.one_of(st.none(), st.floats(0, 1)),
       suffix=st.sampled_from(sorted(REAL)))
def test_damaged_real_files(scratch: Path, edits: list, cut: float | None, suffix: str) -> None:
    data = damage(REAL[suffix], edits)
    if cut is not None:
        data = data[: int(cut * len(data))]
    check(put(scratch, suffix, data))


@settings(max_examples=30, **SETTINGS)
@given(edits=EDITS, cut=st.one_of(st.none(), st.floats(0, 1)))
def test_damaged_gt3x_log(scratch: Path, edits: list, cut: float | None) -> None:
    """Damage inside log.bin (the zip itself intact): records fail their checksums."""
    log = damage(GT3X_LOG, edits)
    if cut is not None:
        log = log[: int(cut * len(log))]
    check(put(scratch, ".gt3x", _zip({"info.txt": INFO, "log.bin": log})))


@settings(max_examples=40, **SETTINGS)
@given(edits=EDITS)
def test_cwa_damage_is_caught_by_the_checksum(scratch: Path, edits: list) -> None:
    """Any change inside the data blocks that their checksum can see drops just the blocks
    changed, never alters a value: what is read equals the original minus those blocks.

    The format's checksum is a 16-bit sum of the block's words: one changed byte always
    shows, but changes that cancel in the sum (+1 in one word, -1 in another: Hypothesis
    found such a pair) are invisible to any reader, so those cases are left out."""
    original = REAL[".cwa"]
    data = bytearray(original)
    for where, value in edits:
        data[HEADER + int(where * (len(original) - HEADER))] = value
    path = put(scratch, ".cwa", bytes(data))
    changed = {(HEADER + int(w * (len(original) - HEADER)) - HEADER) // 512
               for w, _ in edits if True}
    changed = {b for b in changed if data[HEADER + b * 512 : HEADER + (b + 1) * 512]
               != original[HEADER + b * 512 : HEADER + (b + 1) * 512]}
    assume(all(np.frombuffer(bytes(data[HEADER + b * 512 : HEADER + (b + 1) * 512]), "<u2")
               .sum(dtype=np.uint16) != 0 for b in changed))
    whole = read_one(DATA / "cwa" / "ax3_testfile.cwa")
    try:
        session = read_one(path)
    except InputError:
        return
    blocks = np.frombuffer(original[HEADER:], dtype=BLOCK_PACKED)
    keep = np.ones(blocks.size, dtype=bool)
    keep[list(changed)] = False
    want = whole.acc.xyz.reshape(blocks.size, 120, 3)[keep].reshape(-1, 3)
    assert np.array_equal(session.acc.xyz, want)


# --------------------------------------------------------------------------- generated files


@settings(max_examples=40, **SETTINGS)
@given(seed=st.integers(0, 2**32 - 1), n_blocks=st.integers(1, 30),
       fields=st.lists(st.tuples(st.sampled_from(["timestamp", "offset", "rate", "format",
                                                  "count", "sequence", "fractional",
                                                  "light", "session"]),
                                 st.integers(0, 2**32 - 1)), max_size=6))
def test_cwa_block_fields_at_random_with_right_checksums(scratch: Path, seed: int,
                                                         n_blocks: int, fields: list) -> None:
    rng = np.random.default_rng(seed)
    path = scratch / f"gen{next(_names)}.cwa"
    write_cwa(path, rng.normal(0, 1, (n_blocks * 120, 3)).astype(np.float32), fs=100.0,
              start_unix=1.7e9 + float(rng.integers(0, 10**8)), packed=bool(seed % 2))
    data = bytearray(path.read_bytes())
    blocks = np.frombuffer(data, dtype=BLOCK_PACKED, offset=HEADER).copy()
    for k, (name, value) in enumerate(fields):
        b = (seed + k) % n_blocks
        field = blocks.dtype[name]
        blocks[name][b] = value % (1 << (8 * field.itemsize)) if field.kind == "u" else \
            (value % (1 << 16)) - (1 << 15)
        body = blocks[b : b + 1].view("<u2")
        blocks["checksum"][b] = 0
        blocks["checksum"][b] = (0x10000 - int(body[:255].sum(dtype=np.uint64))) & 0xFFFF
    path.write_bytes(bytes(data[:HEADER]) + blocks.tobytes())
    check(path)


@settings(max_examples=30, **SETTINGS)
@given(n=st.integers(1, 8), fs=st.sampled_from([1, 10, 32]),
       values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=4),
       plus=st.sampled_from(["", "EDF+C", "EDF+D"]), labels=st.permutations(
           ["ACC X", "ACC Y", "ACC Z", "HR", "ECG", "Temp"]),
       units=st.sampled_from(["g", "mg", "m/s2", "", "bpm", "uV"]),
       onsets=st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=8, max_size=8))
def test_generated_edf(scratch: Path, n: int, fs: int, values: list, plus: str,
                       labels: list, units: str, onsets: list) -> None:
    length = n * fs
    signals = [(label, units, fs, np.resize(np.asarray(values), length)) for label in labels]
    data = edf_bytes(signals, plus=plus, onsets=onsets[:n] if plus == "EDF+D" else None)
    check(put(scratch, ".edf", data))


@settings(max_examples=20, **SETTINGS)
@given(raw=st.lists(st.integers(-2048, 2047), min_size=3, max_size=3 * 700),
       rate=st.sampled_from([10.0, 85.7, 100.0]), gain=st.integers(-5, 60000),
       start=st.sampled_from(["2024-01-02 03:04:05:000", "1999-12-31 23:59:59:999",
                              "2024-02-30 00:00:00:000"]))
def test_generated_geneactiv(scratch: Path, raw: list, rate: float, gain: int,
                             start: str) -> None:
    xyz = np.resize(np.asarray(raw), (max(len(raw) // 3, 300), 3))
    try:
        data = geneactiv_bytes(xyz, rate=rate, gain=(gain, gain, gain), start=start)
    except ValueError:  # the writer cannot write an impossible date: write a real one
        data = geneactiv_bytes(xyz, rate=rate, gain=(gain, gain, gain)).replace(
            b"2024-01-02 03:04:05", start[:19].encode())
    check(put(scratch, ".bin", data))


# --------------------------------------------------------------------------- named cases


def _named() -> dict[str, tuple[str, bytes, str]]:
    """name -> (suffix, bytes, the start of the reason it must be refused with)."""
    cwa = bytearray(REAL[".cwa"])
    cwa[2:4] = (0xFFFC).to_bytes(2, "little")  # a header of 65536 bytes: more than 32 KiB
    huge_header = bytes(cwa)
    edf = bytearray(REAL[".edf"])
    edf[236:244] = b"99999999"  # records announced
    edf_big_spr = bytearray(REAL[".edf"])
    edf_big_spr[256 + 216 * 6 : 256 + 216 * 6 + 8] = b"9999999 "  # ACC X samples per record
    genea = REAL[".bin"].replace(b"Number of Pages:222048", b"Number of Pages:999999999")
    bomb = bytearray(_zip({"info.txt": INFO, "log.bin": bytes(100)}))
    entry = bomb.rfind(b"PK\x01\x02")  # log.bin's central-directory entry
    bomb[entry + 24 : entry + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # "4 GiB"
    def record(kind: int, stamp: int, payload: bytes) -> bytes:
        body = struct.pack("<BBIH", 0x1E, kind, stamp, len(payload)) + payload
        checksum = 0
        for byte in body:
            checksum ^= byte
        return body + bytes([~checksum & 0xFF])

    year_idle = (record(0x1A, 1_600_000_000, bytes(180)) + record(0x03, 1_600_000_001, b"\x08")
                 + record(0x03, 1_600_000_000 + 365 * 86_400, b"\x09"))
    return {
        "gt3x-idle-for-a-year": (".gt3x", _zip({"info.txt": INFO, "log.bin": year_idle}),
                                 "the file would give 946,080,000 samples after filling"),
        "cwa-header-length-65536": (".cwa", huge_header, "the CWA header announces 65536"),
        "cwa-empty": (".cwa", b"", "the file is empty"),
        "cwa-header-only": (".cwa", REAL[".cwa"][:HEADER], "the file holds no data blocks"),
        "cwa-named-but-edf": (".cwa", REAL[".edf"], "not an Axivity CWA file"),
        "edf-announces-more-records": (".edf", bytes(edf), ""),
        "edf-huge-samples-per-record": (".edf", bytes(edf_big_spr),
                                        "the file holds no whole data record"),
        "geneactiv-announces-a-billion-pages": (".bin", genea, ""),
        "gt3x-member-claims-4-gib": (".gt3x", bytes(bomb), "log.bin claims"),
        "gt3x-not-a-zip": (".gt3x", REAL[".cwa"], "not a readable GT3X file"),
        "gt3x-no-info": (".gt3x", _zip({"log.bin": b""}), "the archive has no info.txt"),
    }


NAMED = _named()


@pytest.mark.parametrize("name", sorted(NAMED))
def test_headers_that_announce_more_than_the_file_holds(scratch: Path, name: str) -> None:
    suffix, data, reason = NAMED[name]
    path = put(scratch, suffix, data)
    outcome = check(path)
    if reason:
        assert outcome == "refused", name
        with pytest.raises(InputError) as info:
            read_one(path)
        assert info.value.reason.startswith(reason), info.value.reason
    else:  # what the file holds is read, and the mismatch is said
        session = read_one(path)
        assert any("announces" in r for r in session.provenance.repairs)
