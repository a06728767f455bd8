"""Axivity AX3 and AX6 raw-accelerometer files (``.cwa``), read with NumPy.

The layout is Open Movement's ``cwa.h`` (Axivity's own documentation; Open Movement's
``cwa_load.py`` is the reference reader this module is checked against): a header of
1024 bytes (``MD``: device type and id, session id, the configured rate, URL-encoded
metadata), then 512-byte data blocks (``AX``). Each data block holds

- a 16-bit word checksum (the words of the block sum to 0 modulo 2**16): a block whose
  sum is not 0 was damaged and is dropped (a gap, counted in the repairs);
- a packed timestamp (``YYYYYYMM MMDDDDDh hhhhmmmm mmssssss``, years from 2000, the
  device's local clock as it was set: dosewatch reads it as UTC, as actipy and Open
  Movement do), with a 15-bit fraction of a second when the top bit of the
  ``deviceFractional`` word is set, and ``timestampOffset``: the index of the sample, from
  the block's first, at which that time held. With a fraction, the firmware had already
  moved the offset by the samples the fraction accounts for; that shift is undone
  (``offset += fraction * int(rate) >> 16``), as Open Movement does;
- the rate code (``3200 / 2**(15 - (code & 15))`` Hz, range ``16 >> (code >> 6)`` g);
- the sample packing (``numAxesBPS``): 3 axes packed in 32 bits (three 10-bit signed
  values and a shared 2-bit exponent: ``value << exponent``, 120 samples a block), or 3,
  6 (AX6: gyroscope x, y, z, then accelerometer x, y, z) or 9 axes of 16-bit signed
  values (80, 40 or 26 samples a block);
- the accelerometer unit: ``1 << (8 + (light >> 13))`` units per g (256 on the AX3; the
  AX6 writes its scale in the top three bits of the light word); temperature in the low 10
  bits of its word (``raw * 75 / 256 - 50`` °C); light, battery and events.

Sample times: each block gives one time point (its timestamp at its offset). Between the
time points of two consecutive blocks (sequence numbers following on, same session and
configuration, and a spacing within 10 % of the configured rate) sample times are
interpolated linearly, as Open Movement's reader does, so the device's real rate is
kept; after a block with no such successor (a gap, a dropped block, the end) samples
follow at the configured rate. Gyroscope and magnetometer axes are not kept: dosewatch
uses acceleration. AX3s store no calibration: values are the device's, in g.

Everything is vectorised over blocks (structured dtypes, bit operations), in chunks of
32768 blocks (16 MiB) so that memory stays at the size of the output arrays. A week at
100 Hz (about 300 MB) reads in about a second.

:func:`write_cwa` writes valid CWA files of the same layout (packed or unpacked, with or
without fractional timestamps, AX3 or AX6), for tests and benchmarks.
"""

from __future__ import annotations

import math
import os
import threading
import urllib.parse
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ...session import Session
from ..rawacc import (
    acc_session,
    check_samples,
    check_size,
    days_from_civil,
    placement_named,
    prefaulted,
    printable,
    refuse,
)
from ..registry import Reader, ReadOptions

__all__ = ["CwaWriter", "read_cwa", "write_cwa"]

BLOCK = 512
HEADER = 1024
CHUNK_BLOCKS = 32768
HINT = "download the recording from the device again with OmGui (or the AX3/AX6 software)"
_SEC_2000 = 946_684_800

_HEAD_FIELDS = [
    ("magic", "<u2"), ("length", "<u2"), ("fractional", "<u2"), ("session", "<u4"),
    ("sequence", "<u4"), ("timestamp", "<u4"), ("light", "<u2"), ("temperature", "<u2"),
    ("events", "u1"), ("battery", "u1"), ("rate", "u1"), ("format", "u1"),
    ("offset", "<i2"), ("count", "<u2"),
]
HEAD = np.dtype(_HEAD_FIELDS + [("pad", "<u2")])
BLOCK_PACKED = np.dtype(_HEAD_FIELDS + [("data", "<u4", (120,)), ("checksum", "<u2")])
BLOCK_WORDS = np.dtype(_HEAD_FIELDS + [("data", "<i2", (240,)), ("checksum", "<u2")])
assert BLOCK_PACKED.itemsize == BLOCK_WORDS.itemsize == BLOCK

MAGIC_AX = 0x5841  # "AX" little-endian
# numAxesBPS -> (channels, samples per block, first accelerometer channel)
FORMATS = {0x30: (3, 120, 0), 0x32: (3, 80, 0), 0x62: (6, 40, 3), 0x92: (9, 26, 3)}
_PACKED = 0x30
# Consecutive blocks whose time points imply a rate this far from the configured one are
# not interpolated across (a gap, or the clock was changed).
RATE_TOLERANCE = 0.10


# --------------------------------------------------------------------------- times


def unpack_timestamps(packed: NDArray[np.uint32]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """CWA packed date-times -> (Unix seconds, whether each is a real calendar time)."""
    v = packed.astype(np.int64)
    year = ((v >> 26) & 0x3F) + 2000
    month = (v >> 22) & 0x0F
    day = (v >> 17) & 0x1F
    hour = (v >> 12) & 0x1F
    minute = (v >> 6) & 0x3F
    second = v & 0x3F
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0, 0, 0])
    dim = month_days[month] + ((month == 2) & leap)
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim) & (hour < 24) & \
        (minute < 60) & (second < 60)
    days = days_from_civil(year, np.clip(month, 1, 12), day)
    return days * 86400 + hour * 3600 + minute * 60 + second, ok


def pack_timestamps(unix: ArrayLike) -> NDArray[np.uint32]:
    """Whole Unix seconds (2000-2063) -> CWA packed date-times."""
    dt = np.asarray(unix, dtype="int64").astype("datetime64[s]")
    years = dt.astype("datetime64[Y]")
    months = dt.astype("datetime64[M]")
    days = dt.astype("datetime64[D]")
    y = years.astype(np.int64) + 1970
    m = (months - years).astype(np.int64) + 1
    d = (days - months).astype(np.int64) + 1
    secs = (dt - days).astype(np.int64)
    h, mi, s = secs // 3600, secs // 60 % 60, secs % 60
    if ((y < 2000) | (y > 2063)).any():
        raise ValueError("CWA timestamps hold the years 2000-2063")
    return (((y - 2000) << 26) | (m << 22) | (d << 17) | (h << 12) | (mi << 6) | s).astype(
        np.uint32)


def rate_hz(code: NDArray[np.integer] | int) -> NDArray[np.float64]:
    """Sample rate of CWA rate codes, Hz."""
    shift = 15 - (np.asarray(code).astype(np.int64) & 0x0F)
    return 3200.0 / np.left_shift(1, shift).astype(np.float64)


# --------------------------------------------------------------------------- header


def _header(raw: bytes, path: Path) -> dict[str, object]:
    """The ``MD`` header block: device, session, configured rate, metadata."""
    if raw[:2] != b"MD":
        if raw[:2] == b"AX":
            raise refuse(path, "the CWA file has no header (it starts with a data block)",
                         HINT)
        raise refuse(path, f"not an Axivity CWA file: it starts with '{printable(raw, 8)}', "
                     "not the 'MD' header", "check that this is a .cwa file from an Axivity "
                     "AX3 or AX6")
    length = int.from_bytes(raw[2:4], "little") + 4
    if length % BLOCK or not BLOCK <= length <= 64 * BLOCK:
        raise refuse(path, f"the CWA header announces {length} bytes, not whole 512-byte "
                     "blocks up to 32 KiB: the header is damaged", HINT)
    hardware = raw[4]
    device = int.from_bytes(raw[5:7], "little")
    upper = int.from_bytes(raw[11:13], "little")
    if upper != 0xFFFF:
        device |= upper << 16
    kind = {0x00: "AX3", 0xFF: "AX3", 0x17: "AX3", 0x64: "AX6"}.get(hardware, f"0x{hardware:02x}")
    text = raw[64:512].rstrip(b"\x20\xff\x00").decode("ascii", errors="replace")
    try:
        meta = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    except ValueError:
        meta = {}
    return {"length": length, "device": device, "kind": kind,
            "session": int.from_bytes(raw[7:11], "little"), "firmware": raw[41],
            "rate": raw[36], "metadata": meta}


# --------------------------------------------------------------------------- blocks


@dataclass
class _Scan:
    """Block-level facts of the valid data blocks (file order), from the first pass."""

    chunks: list[tuple[int, NDArray[np.intp]]]  # (first block of the chunk, valid rows in it)
    fields: dict[str, NDArray]  # per valid block
    n_blocks: int
    problems: dict[str, int]


_FIELDS = ("unix", "fraction", "offset", "count", "rate", "format", "session", "sequence",
           "temperature", "unit")


def _check_blocks(buf: bytes, problems: dict[str, int]) -> tuple[NDArray[np.intp], dict]:
    """Which blocks of ``buf`` are valid data blocks, and their header fields."""
    n = len(buf) // BLOCK
    # The 30 header bytes of every block, copied together once: each field is then read
    # from 16 MiB instead of striding through the whole chunk per field.
    packed = np.frombuffer(buf, dtype=np.uint8).reshape(n, BLOCK)[:, :32].copy().view(
        HEAD).ravel()
    magic_ok = (packed["magic"] == MAGIC_AX) & (packed["length"] == 508)
    checksum_ok = np.frombuffer(buf, dtype="<u2").reshape(n, 256).sum(
        axis=1, dtype=np.uint16) == 0
    fmt = packed["format"]
    capacity = np.zeros(n, dtype=np.int64)
    for code, (_, count, _) in FORMATS.items():
        capacity[fmt == code] = count
    count = packed["count"].astype(np.int64)
    rate = packed["rate"]
    unix, time_ok = unpack_timestamps(packed["timestamp"])
    layout_ok = (capacity > 0) & (count >= 1) & (count <= capacity)
    rate_ok = (rate & 0x0F) >= 6  # 6.25 Hz and faster; code 0 is the pre-2012 layout
    problems["other"] += int((~magic_ok).sum())
    problems["checksum"] += int((magic_ok & ~checksum_ok).sum())
    ok = magic_ok & checksum_ok
    problems["layout"] += int((ok & ~(layout_ok & rate_ok)).sum())
    ok &= layout_ok & rate_ok
    problems["time"] += int((ok & ~time_ok).sum())
    ok &= time_ok
    rows = np.flatnonzero(ok)
    light = packed["light"][rows]
    return rows, {
        "unix": unix[rows], "fraction": packed["fractional"][rows].astype(np.int64),
        "offset": packed["offset"][rows].astype(np.int64), "count": count[rows],
        "rate": rate[rows], "format": fmt[rows], "session": packed["session"][rows],
        "sequence": packed["sequence"][rows].astype(np.int64),
        "temperature": packed["temperature"][rows] & 0x3FF,
        "unit": np.left_shift(1, 8 + (light >> 13).astype(np.int64)).astype(np.float32),
    }


def _scan(descriptor: int, data_start: int, n_blocks: int, pool: ThreadPoolExecutor) -> _Scan:
    """First pass: every block's header and checksum, a chunk at a time (in parallel)."""

    def check(first: int) -> tuple[NDArray[np.intp], dict, dict[str, int]]:
        size = min(CHUNK_BLOCKS, n_blocks - first) * BLOCK
        buf = os.pread(descriptor, size, data_start + first * BLOCK)
        buf = buf[: len(buf) // BLOCK * BLOCK]
        problems = dict.fromkeys(("other", "checksum", "layout", "time"), 0)
        rows, fields = _check_blocks(buf, problems)
        return rows, fields, problems

    firsts = list(range(0, n_blocks, CHUNK_BLOCKS))
    results = list(pool.map(check, firsts))
    problems = {k: sum(r[2][k] for r in results) for k in results[0][2]}
    fields = {k: np.concatenate([r[1][k] for r in results]) for k in _FIELDS}
    return _Scan([(first, r[0]) for first, r in zip(firsts, results, strict=True)], fields,
                 n_blocks, problems)


_SCRATCH = threading.local()
_SUB_BLOCKS = 2048  # blocks decoded at once: the scratch arrays stay in the CPU's cache


def _scratch(n: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Per-thread work arrays of ``n`` elements, reused from chunk to chunk."""
    work = getattr(_SCRATCH, "work", None)
    if work is None or work.size < n:
        _SCRATCH.work = work = np.empty(n, dtype=np.int32)
        _SCRATCH.scale = np.empty(n, dtype=np.float32)
    return work[:n], _SCRATCH.scale[:n]


def _unpack(v: NDArray[np.uint32], unit: NDArray[np.float32],
            values: NDArray[np.float32]) -> None:
    """Packed samples ``v`` (blocks, 120) -> ``values`` (blocks, 120, 3) in g.

    Each 32-bit word is ``eezzzzzz zzzzyyyy yyyyyyxx xxxxxxxx``: three 10-bit two's
    complement values sharing the exponent ``e`` (value << e), in units of 1/unit g.
    """
    work, scale = _scratch(v.size)
    work, scale = work.reshape(v.shape), scale.reshape(v.shape)
    np.right_shift(v, 30, out=work.view(np.uint32))
    if not work.any() and (unit == unit[0]).all():
        scale = np.float32(1.0 / unit[0])  # no exponent anywhere (under 2 g): one factor
    else:
        np.left_shift(1, work, out=work)
        np.multiply(work, (np.float32(1.0) / unit)[:, None], out=scale, dtype=np.float32,
                    casting="unsafe")
    for axis in range(3):  # sign-extend each 10-bit field: to the top, then back down
        np.left_shift(v, 22 - 10 * axis, out=work.view(np.uint32))
        np.right_shift(work, 22, out=work)
        np.multiply(work, scale, out=values[..., axis], dtype=np.float32, casting="unsafe")


def _decode(buf: bytes, rows: NDArray[np.intp], fields: dict[str, NDArray], lo: int,
            starts: NDArray[np.int64], xyz: NDArray[np.float32]) -> float:
    """Decode the valid blocks ``rows`` of ``buf`` (fields ``[lo:]`` of the scan) into
    ``xyz`` at ``starts``; returns the largest magnitude of any axis (taken while the
    values are still in the CPU's cache)."""
    peak = 0.0
    packed = np.frombuffer(buf, dtype=BLOCK_PACKED)
    words = np.frombuffer(buf, dtype=BLOCK_WORDS)
    fmt = fields["format"][lo : lo + rows.size]
    count = fields["count"][lo : lo + rows.size]
    unit = fields["unit"][lo : lo + rows.size]
    for code, (channels, capacity, first) in FORMATS.items():
        every = np.flatnonzero(fmt == code)
        for part in range(0, every.size, _SUB_BLOCKS):
            sel = every[part : part + _SUB_BLOCKS]
            at, c, r = starts[sel], count[sel], rows[sel]
            full = bool((c == capacity).all() and (np.diff(at) == capacity).all())
            shape = (sel.size, capacity, 3)
            values = (xyz[int(at[0]) : int(at[0]) + sel.size * capacity].reshape(shape)
                      if full else np.empty(shape, dtype=np.float32))
            # Consecutive blocks are a view into the buffer; others are gathered.
            block = slice(int(r[0]), int(r[-1]) + 1) if r[-1] - r[0] + 1 == r.size else r
            if code == _PACKED:
                _unpack(packed["data"][block], unit[sel], values)
            else:
                w = words["data"][block][:, : capacity * channels]
                w = w.reshape(sel.size, capacity, channels)[..., first : first + 3]
                np.multiply(w, (np.float32(1.0) / unit[sel])[:, None, None], out=values,
                            dtype=np.float32, casting="unsafe")
            if not full:  # some blocks not full: place each block's samples (no loop)
                keep = np.arange(capacity)[None, :] < c[:, None]
                values = values[keep]
                xyz[(at[:, None] + np.arange(capacity)[None, :])[keep]] = values
            peak = max(peak, float(values.max()), -float(values.min()))
    return peak


@dataclass
class _Clock:
    """Per valid block: the line its samples' times lie on (seconds from the first sample):
    ``t = base + i * step`` for sample ``i``, except that samples before the block's time
    point lie on the previous block's line when the previous block continues into it."""

    base: NDArray[np.float64]
    step: NDArray[np.float64]
    base_before: NDArray[np.float64]
    step_before: NDArray[np.float64]
    offset: NDArray[np.int64]
    t0_unix: float
    breaks: int
    gap_s: float
    n_gaps: int


def _clock(f: dict[str, NDArray], starts: NDArray[np.int64]) -> _Clock:
    """Sample-time lines of every valid block (see the module text)."""
    freq = rate_hz(f["rate"])
    frac16 = np.where((f["fraction"] & 0x8000) != 0, (f["fraction"] & 0x7FFF) << 1, 0)
    offset = f["offset"] + ((frac16 * freq.astype(np.int64)) >> 16)
    reference = int(f["unix"][0])
    point = (f["unix"] - reference) + frac16 / 65536.0  # time points, s from reference
    index = starts + offset  # the sample index at each time point
    nominal = 1.0 / freq
    step = nominal.copy()
    follows = np.zeros(point.size, dtype=bool)  # block k+1 continues block k
    if point.size > 1:
        span = np.diff(index)
        measured = np.diff(point) / np.where(span > 0, span, 1)
        chained = ((f["sequence"][1:] == f["sequence"][:-1] + 1)
                   & (f["session"][1:] == f["session"][:-1])
                   & (f["rate"][1:] == f["rate"][:-1])
                   & (f["format"][1:] == f["format"][:-1]))
        # Whole-second timestamps: blocks shorter than a second can name the same second
        # at the same sample; such a block takes the rate from the next distinct one.
        same = chained & (span == 0) & (np.diff(point) == 0)
        if same.any():
            ahead = np.where(same, same.size, np.arange(same.size))
            ahead = np.minimum.accumulate(ahead[::-1])[::-1]
            ok = ahead < same.size
            measured = np.where(same & np.append(ok[1:], False)[: same.size],
                                measured[np.minimum(ahead, same.size - 1)], measured)
            span = np.where(same, 1, span)
        follows[:-1] = (chained & (span > 0)
                        & (np.abs(measured * freq[:-1] - 1.0) <= RATE_TOLERANCE))
        step[:-1] = np.where(follows[:-1], measured, nominal[:-1])
        # A block nothing continues (before a gap, the last) keeps the rate measured
        # into it, when its predecessor continues into it.
        last = np.flatnonzero(~follows[1:] & follows[:-1]) + 1
        step[last] = step[last - 1]
    step_before = step.copy()
    step_before[1:] = np.where(follows[:-1], step[:-1], nominal[1:])
    step_before[0] = step[0]
    base = point - offset * step
    base_before = point - offset * step_before
    first = float(base_before[0] if offset[0] > 0 else base[0])
    # Gaps: after a block that nothing continues, until the next block's first sample.
    first_t = np.where(offset > 0, base_before, base)
    end_t = base + f["count"] * step
    gap = first_t[1:] - end_t[:-1]
    is_gap = ~follows[:-1] & (gap > 1.0 / freq[:-1])
    return _Clock(base - first, step, base_before - first, step_before, offset,
                  reference + first, int((~follows[:-1]).sum()), float(gap[is_gap].sum()),
                  int(is_gap.sum()))


def _fill_times(clock: _Clock, lo: int, count: NDArray[np.int64], starts: NDArray[np.int64],
                t: NDArray[np.float64]) -> None:
    """Sample times of valid blocks ``lo:lo+len(count)`` into ``t`` at ``starts``."""
    sl = slice(lo, lo + count.size)
    capacity = int(count.max())
    i = np.arange(capacity, dtype=np.float64)
    full = bool((count == capacity).all() and (np.diff(starts) == capacity).all())
    grid = (t[int(starts[0]) : int(starts[0]) + count.size * capacity].reshape(-1, capacity)
            if full else np.empty((count.size, capacity)))
    np.multiply(i[None, :], clock.step[sl, None], out=grid)
    grid += clock.base[sl, None]
    # Samples before the time point, where the previous block's line differs.
    before = np.flatnonzero((clock.offset[sl] > 0) & (clock.step_before[sl] != clock.step[sl]))
    if before.size:
        k = sl.start + before
        early = i[None, :] < clock.offset[k, None]
        lines = clock.base_before[k, None] + i[None, :] * clock.step_before[k, None]
        grid[before] = np.where(early, lines, grid[before])
    if not full:
        keep = i[None, :] < count[:, None]
        t[(starts[:, None] + np.arange(capacity)[None, :])[keep]] = grid[keep]


_DROP_REASONS = {"checksum": "a checksum that does not match (damaged)",
                 "layout": "a sample format or rate dosewatch does not know",
                 "time": "an impossible timestamp", "other": "no 'AX' data-block marker"}


def _check_scan(path: Path, scan: _Scan, n_blocks: int, repairs: list[str]) -> None:
    """Note the dropped data blocks; refuse a file with none valid or over half dropped."""
    problems = scan.problems
    dropped = sum(problems.values())
    for key, n in problems.items():
        if n:
            repairs.append(f"dropped {n} of {n_blocks} data blocks with "
                           f"{_DROP_REASONS[key]} (left as gaps)")
    if not scan.fields["count"].size:
        raise refuse(path, f"none of the {n_blocks} data blocks is valid ("
                     + ", ".join(f"{k}: {v}" for k, v in problems.items() if v) + ")",
                     HINT)
    if dropped > n_blocks // 2:
        raise refuse(path, f"{dropped} of the {n_blocks} data blocks are damaged or of "
                     "unknown layout; what remains cannot be trusted", HINT)


def _read_samples(descriptor: int, data_start: int, scan: _Scan, starts: NDArray[np.int64],
                  total: int, clock: _Clock, pool: ThreadPoolExecutor
                  ) -> tuple[NDArray[np.float64], NDArray[np.float32], float]:
    """Second pass: every valid block's samples and times, a chunk at a time (in
    parallel). Returns the times, the samples in g and the largest magnitude of any axis."""
    f = scan.fields
    xyz = prefaulted((total, 3), np.float32)
    t = prefaulted((total,), np.float64)
    firsts = np.cumsum([0] + [rows.size for _, rows in scan.chunks])

    def work(k: int) -> float:
        first, rows = scan.chunks[k]
        if not rows.size:  # a chunk of damaged blocks only
            return 0.0
        lo = int(firsts[k])
        at = starts[lo : lo + rows.size]
        length = (int(rows[-1]) + 1) * BLOCK
        buf = os.pread(descriptor, length, data_start + first * BLOCK)
        peak = _decode(buf, rows, f, lo, at, xyz)
        _fill_times(clock, lo, f["count"][lo : lo + rows.size], at, t)
        return peak

    peak = max([0.0, *pool.map(work, range(len(scan.chunks)))])
    return t, xyz, peak


def _device_line(head: dict[str, object], f: dict[str, NDArray]) -> str:
    """The repair line that says which device recorded the file and how."""
    rates = np.unique(rate_hz(f["rate"]))
    temperature = f["temperature"] * (75.0 / 256) - 50.0
    packing = "packed 10-bit" if (f["format"] == _PACKED).all() else "16-bit"
    return (
        f"Axivity {head['kind']} device {head['device']}, session {head['session']}, "
        f"firmware {head['firmware']}; configured rate "
        f"{'/'.join(f'{r:g}' for r in rates)} Hz; {packing} samples; no calibration stored "
        f"in the file (values as the device gave them); temperature "
        f"{temperature.min():.1f}-{temperature.max():.1f} °C")


def _continuity_notes(f: dict[str, NDArray], clock: _Clock) -> list[str]:
    """Repair lines for several recording sessions in one file, and gaps or breaks
    between data blocks."""
    notes = []
    sessions = np.unique(f["session"])
    if sessions.size > 1:
        notes.append(f"the data blocks belong to {sessions.size} recording sessions; read "
                     "as one")
    if clock.n_gaps:
        notes.append(f"acc: {clock.n_gaps} gap(s) in the recording, {clock.gap_s:.1f} s "
                     "in all (left as gaps)")
    elif clock.breaks:
        notes.append(f"{clock.breaks} discontinuities between data blocks (samples after "
                     "each follow at the configured rate)")
    return notes


def read_cwa(path: str | Path, options: ReadOptions | None = None) -> Session:
    """Read an Axivity ``.cwa`` file into one session (acceleration in g).

    Raises:
        InputError: not a CWA file, a damaged header, no valid data block, or a clock
            that was never set.
    """
    path = Path(path)
    options = options or ReadOptions()
    size = check_size(path, HEADER, "a CWA header (1024 bytes)", HINT)
    repairs: list[str] = []
    with open(path, "rb") as fh:
        head = _header(fh.read(HEADER), path)
        data_start = int(head["length"])
        n_blocks = (size - data_start) // BLOCK
        tail = (size - data_start) - n_blocks * BLOCK
        if tail > 0:
            repairs.append(f"ignored {tail} bytes after the last whole data block (the file "
                           "was cut short)")
        if n_blocks <= 0:
            raise refuse(path, "the file holds no data blocks (only a header): the device "
                         "recorded nothing", "check the device's recording settings")
        with ThreadPoolExecutor(max_workers=2) as pool:
            scan = _scan(fh.fileno(), data_start, n_blocks, pool)
            _check_scan(path, scan, n_blocks, repairs)
            f = scan.fields
            starts = np.concatenate(([0], np.cumsum(f["count"])))
            total = int(starts[-1])
            check_samples(path, total)
            starts = starts[:-1]
            clock = _clock(f, starts)
            t, xyz, peak = _read_samples(fh.fileno(), data_start, scan, starts, total, clock,
                                         pool)
    t[0] = 0.0  # the origin, exactly (rounding can leave 1e-16)
    # Each block's times rise, so its first and last samples bound it: the recording's
    # bounds without a pass over every sample.
    ends = starts + f["count"] - 1
    bounds = (float(min(t[starts].min(), 0.0)), float(t[ends].max()), peak)
    repairs.insert(0, _device_line(head, f))
    repairs += _continuity_notes(f, clock)
    # The setup software writes the body location as metadata "_p".
    placement = placement_named(head["metadata"].get("_p", ""))  # type: ignore[attr-defined]
    return acc_session(path, options, t=t, xyz=xyz, t0_unix=clock.t0_unix, format="cwa",
                       repairs=repairs, bounds=bounds,
                       placement=(placement, "the body location the device was set up with"))


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return [read_cwa(path, options)]


# --------------------------------------------------------------------------- writing


class CwaWriter:
    """Writes a valid CWA file block by block (vectorised over the blocks of each call).

    Samples are given in g; they are stored as the device does (1/256 g for the AX3,
    1/4096 g for the AX6, packed or 16-bit). Block timestamps follow ``start_unix`` at
    ``fs`` Hz, times ``1 + drift_ppm * 1e-6`` (a device clock running fast or slow), with
    a fractional part when ``fractional`` (current firmware) or as whole seconds at the
    nearest sample (older firmware).
    """

    def __init__(self, path: str | Path, *, fs: float = 100.0, start_unix: float,
                 packed: bool = True, kind: str = "AX3", device_id: int = 12345,
                 session_id: int = 1, fractional: bool = True, range_g: int = 8,
                 drift_ppm: float = 0.0, metadata: dict[str, str] | None = None):
        code = 15 - round(math.log2(3200.0 / fs))
        if not 6 <= code <= 15 or rate_hz(code) != fs:
            raise ValueError("fs must be 3200 / 2**k Hz (6.25 ... 3200)")
        if kind not in ("AX3", "AX6") or (kind == "AX6" and packed):
            raise ValueError("kind is AX3 (packed or not) or AX6 (not packed)")
        self.fs, self.start, self.kind, self.packed = fs, float(start_unix), kind, packed
        self.device, self.session, self.fractional = device_id, session_id, fractional
        self.rate_code = code | ({16: 0, 8: 1, 4: 2, 2: 3}[range_g] << 6)
        self.clock = 1.0 + drift_ppm * 1e-6
        self.unit = 256 if kind == "AX3" else 4096
        self.format = _PACKED if packed else (0x32 if kind == "AX3" else 0x62)
        self.capacity = FORMATS[self.format][1]
        self.written = 0  # samples
        self.blocks = 0
        self.pending = np.zeros((0, 3), dtype=np.float32)
        self.fh = open(path, "wb")  # noqa: SIM115 - open across write() calls; close()
        self.fh.write(self._header(metadata or {}))

    def _header(self, metadata: dict[str, str]) -> bytes:
        h = bytearray(b"\xff" * HEADER)
        h[0:2] = b"MD"
        h[2:4] = (HEADER - 4).to_bytes(2, "little")
        h[4] = 0x17 if self.kind == "AX3" else 0x64
        h[5:7] = (self.device & 0xFFFF).to_bytes(2, "little")
        h[7:11] = self.session.to_bytes(4, "little")
        h[11:13] = (self.device >> 16).to_bytes(2, "little")
        h[13:17] = int(pack_timestamps([int(self.start)])[0]).to_bytes(4, "little")
        h[17:21] = (0xFFFFFFFF).to_bytes(4, "little")
        h[21:25] = bytes(4)
        h[35] = 0x00 if self.kind == "AX3" else 0x02
        h[36] = self.rate_code
        h[37:41] = int(pack_timestamps([int(self.start)])[0]).to_bytes(4, "little")
        h[41] = 48
        text = urllib.parse.urlencode(metadata).encode("ascii")[:448]
        h[64:512] = text + b" " * (448 - len(text))
        return bytes(h)

    def write(self, xyz_g: ArrayLike) -> None:
        """Append samples (``(n, 3)`` in g); whole blocks are written, the rest waits."""
        xyz = np.concatenate([self.pending, np.asarray(xyz_g, dtype=np.float32)])
        whole = xyz.shape[0] // self.capacity * self.capacity
        if whole:
            self.fh.write(self._blocks(xyz[:whole]).tobytes())
        self.pending = xyz[whole:]

    def _blocks(self, xyz: NDArray[np.float32]) -> np.ndarray:
        cap, n = self.capacity, xyz.shape[0] // self.capacity
        dtype = BLOCK_PACKED if self.packed else BLOCK_WORDS
        out = np.zeros(n, dtype=dtype)
        first = self.written + np.arange(n) * cap
        t_first = self.start + first / self.fs * self.clock
        out["magic"], out["length"] = MAGIC_AX, 508
        out["session"] = self.session
        out["sequence"] = self.blocks + np.arange(n)
        if self.fractional:
            whole = np.floor(t_first)
            frac15 = np.floor((t_first - whole) * 32768).astype(np.int64)
            out["fractional"] = 0x8000 | frac15
            out["offset"] = -((frac15 * 2 * int(self.fs)) >> 16)
        else:
            # The last whole second the device's clock passed, at the sample it fell on.
            whole = np.floor(t_first + (cap - 1) / self.fs * self.clock)
            out["fractional"] = self.device & 0x7FFF
            out["offset"] = np.rint((whole - t_first) * self.fs / self.clock).astype(np.int64)
        out["timestamp"] = pack_timestamps(whole.astype(np.int64))
        out["light"] = (0 if self.kind == "AX3" else (4 << 13) | (2 << 10)) | 300
        out["temperature"] = 256  # 25 °C
        out["battery"], out["rate"], out["format"] = 200, self.rate_code, self.format
        out["count"] = cap
        raw = np.rint(xyz.astype(np.float64) * self.unit).astype(np.int64)
        if self.packed:
            raw = np.clip(raw, -512 << 3, 511 << 3).reshape(n, cap, 3)
            high = np.maximum(raw, -raw - 1).max(axis=2)
            exponent = np.select([high <= 511, high <= 1023, high <= 2047], [0, 1, 2], 3)
            v = (raw >> exponent[..., None]) & 0x3FF
            out["data"] = ((exponent << 30) | (v[..., 2] << 20) | (v[..., 1] << 10)
                           | v[..., 0]).astype(np.uint32)
        else:
            raw = np.clip(raw, -32768, 32767).reshape(n, cap, 3)
            channels = FORMATS[self.format][0]
            data = np.zeros((n, cap, channels), dtype=np.int16)
            data[..., channels - 3 :] = raw
            out["data"][:, : cap * channels] = data.reshape(n, -1)
        body = out.view("<u2").reshape(n, 256)
        out["checksum"] = (-body[:, :255].sum(axis=1, dtype=np.uint16)).astype(np.uint16)
        self.written += n * cap
        self.blocks += n
        return out

    def close(self) -> None:
        """Write the last, partly filled block (as the device does when stopped)."""
        if self.pending.shape[0]:
            rest = self.pending.shape[0]
            padded = np.concatenate([self.pending,
                                     np.zeros((self.capacity - rest, 3), np.float32)])
            block = self._blocks(padded)
            block["count"] = rest
            body = block.view("<u2").reshape(1, 256)
            block["checksum"] = 0
            block["checksum"] = (-body[:, :255].sum(axis=1, dtype=np.uint16)).astype(np.uint16)
            self.written -= self.capacity - rest
            self.fh.write(block.tobytes())
            self.pending = self.pending[:0]
        self.fh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_cwa(path: str | Path, xyz_g: ArrayLike | Iterable[ArrayLike], **kwargs: object) -> Path:
    """Write acceleration (``(n, 3)`` in g, or an iterable of such chunks) as a CWA file;
    keyword arguments as :class:`CwaWriter`."""
    with CwaWriter(path, **kwargs) as writer:  # type: ignore[arg-type]
        chunks = [xyz_g] if isinstance(xyz_g, np.ndarray) else xyz_g
        for chunk in chunks:
            writer.write(chunk)
    return Path(path)


READER = Reader(
    name="cwa",
    title="Axivity AX3/AX6 raw accelerometer file",
    read=_read,
    suffixes=(".cwa",),
    sniff=lambda head: head[:2] == b"MD" and head[BLOCK * 2 : BLOCK * 2 + 2] == b"AX",
    hint="download the recording from the AX3/AX6 as a .cwa file",
)

