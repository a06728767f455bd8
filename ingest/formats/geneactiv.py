"""GENEActiv raw-accelerometer files (``.bin``), read with NumPy.

The layout is Activinsights' "Decoding .bin files" (GENEActiv instruction manual, and
the readers of GGIRread and actipy that follow it): a text file with CRLF lines. A header
of ``Key:Value`` lines in sections (``Device Identity``, ``Configuration Info`` with the
``Measurement Frequency`` and ``Time Zone``, ``Calibration Data`` with the gain and offset
of each axis and the light meter's ``Volts``/``Lux``, ``Memory Status`` with the
``Number of Pages``), then pages of ten lines:

    Recorded Data
    Device Unique Serial Code:012967
    Sequence Number:0
    Page Time:2013-05-30 10:12:54:500      (the first sample's time, the device's local clock)
    Unassigned:
    Temperature:21.5
    Battery voltage:4.1493
    Device Status:Recording
    Measurement Frequency:85.7
    0C4FFDF3D0040A20...                    (300 samples of 12 hex digits)

Each sample is 48 bits: x, y, z as 12-bit two's complement, then 10 bits of light, the
button and a reserved bit. Acceleration in g is ``(raw * 100 - offset) / gain`` with the
header's calibration of each axis; sample ``i`` of a page is at ``Page Time + i / rate``.
Page times are the device's local time; the header's ``Time Zone`` (``GMT +01:00``) turns
them into UTC (actipy leaves them as they are, GGIRread asks for the zone).

Checks (a GENEActiv file has no checksum): a page whose time is not a date, whose rate is
not the configured one, whose sequence number does not follow, or whose data line holds a
character that is not a hex digit is dropped and counted; a file cut short keeps its
whole samples. Everything is vectorised over pages: lines are found with one search for
line ends, fields are gathered as fixed-width byte columns, hex digits turned into
numbers through a table; the file is read in chunks of 32 MiB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from ...session import Session
from ..rawacc import (
    acc_session,
    check_size,
    days_from_civil,
    placement_named,
    prefaulted,
    printable,
    refuse,
)
from ..registry import Reader, ReadOptions

__all__ = ["read_geneactiv"]

HINT = "extract the recording from the device again with the GENEActiv software"
PAGE_MARK = b"Recorded Data"
CHUNK_BYTES = 32 << 20
SAMPLE_HEX = 12
_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX[_c] = 10 + _i
_PAIRS = np.full(1 << 16, -1, dtype=np.int16)  # little-endian pair of ASCII hex digits
_valid = np.flatnonzero(_HEX < 16)
_PAIRS[(_valid[None, :] << 8) | _valid[:, None]] = (_HEX[_valid][:, None] << 4) | _HEX[_valid][
    None, :]
# A page's lines after "Recorded Data": which holds what.
_TIME_LINE, _TEMPERATURE_LINE, _RATE_LINE, _DATA_LINE, _SEQUENCE_LINE = 3, 5, 8, 9, 2


@dataclass(frozen=True)
class _Header:
    fields: dict[str, str]
    gain: NDArray[np.float64]
    offset: NDArray[np.float64]
    rate: float
    tz_s: float
    pages: int | None
    data_start: int


def _header(path: Path, head: bytes) -> _Header:
    """Parse the text before the first page."""
    if not head.startswith(b"Device Identity"):
        raise refuse(path, f"not a GENEActiv .bin file: it starts with "
                     f"'{printable(head, 16)}', not 'Device Identity'",
                     "check that this is a GENEActiv .bin file (other devices write .bin "
                     "files too)")
    end = head.find(b"\n" + PAGE_MARK)
    if end < 0:
        raise refuse(path, "the file holds no recorded data (no 'Recorded Data' page)",
                     "check that the device recorded, and extract it again")
    fields: dict[str, str] = {}
    for line in head[:end].decode("latin-1").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.replace("\x00", "").strip())

    def number(key: str) -> float:
        try:
            value = float(fields[key])
        except (KeyError, ValueError):
            raise refuse(path, f"the header's calibration has no valid '{key}'",
                         HINT) from None
        if not np.isfinite(value):
            raise refuse(path, f"the header's '{key}' is not a number", HINT)
        return value

    gain = np.array([number(f"{a} gain") for a in "xyz"])
    offset = np.array([number(f"{a} offset") for a in "xyz"])
    if (gain <= 0).any():
        raise refuse(path, "the header's calibration gains are not positive: the header is "
                     "damaged", HINT)
    match = re.match(r"([0-9.]+)", fields.get("measurement frequency", ""))
    rate = float(match.group(1)) if match else float("nan")
    if not 0 < rate <= 1000:
        raise refuse(path, "the header gives no valid measurement frequency", HINT)
    zone = re.match(r"GMT\s*([+-])(\d{1,2}):(\d{2})", fields.get("time zone", ""))
    tz_s = 0.0
    if zone:
        tz_s = (int(zone.group(2)) * 3600 + int(zone.group(3)) * 60) * (
            -1 if zone.group(1) == "-" else 1)
    try:
        pages = int(fields.get("number of pages", ""))
    except ValueError:
        pages = None
    return _Header(fields, gain, offset, rate, tz_s, pages, end + 1)


def _gather(arr: NDArray[np.uint8], starts: NDArray[np.int64], width: int) -> NDArray[np.uint8]:
    """``width`` bytes from each of ``starts`` (past the end: 0)."""
    index = starts[:, None] + np.arange(width)[None, :]
    inside = index < arr.size
    out = np.zeros(index.shape, dtype=np.uint8)
    out[inside] = arr[index[inside]]
    return out


def _numbers(columns: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Fixed-width ASCII decimals (rows of bytes, ended by CR, LF or 0) -> floats; NaN
    where a row is not ``-?digits[.digits]``."""
    c = columns.copy()
    c[(c == 13) | (c == 10)] = 0
    c[np.cumsum(c == 0, axis=1) > 0] = 0  # nothing after the end of the field counts
    digit = (c >= ord("0")) & (c <= ord("9"))
    dot = c == ord(".")
    minus = np.zeros_like(digit)
    minus[:, 0] = c[:, 0] == ord("-")
    end = c == 0
    ended = np.cumsum(end, axis=1) > 0
    ok = ((digit | dot | minus | end).all(axis=1) & (~ended | end).all(axis=1)
          & (dot.sum(axis=1) <= 1) & digit.any(axis=1))
    later = np.cumsum(digit[:, ::-1], axis=1)[:, ::-1] - digit  # digits to the right
    value = (np.where(digit, c - ord("0"), 0) * 10.0 ** later).sum(axis=1)
    decimals = (digit & (np.cumsum(dot, axis=1) > 0)).sum(axis=1)
    value = value / 10.0 ** decimals * np.where(minus[:, 0], -1.0, 1.0)
    return np.where(ok, value, np.nan)


def _page_times(cols: NDArray[np.uint8]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """``YYYY-MM-DD HH:MM:SS:mmm`` columns -> (seconds since 1970 of that wall time, ok)."""
    digits = cols.astype(np.int64) - ord("0")
    where = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]
    seps = {4: "-", 7: "-", 10: " ", 13: ":", 16: ":", 19: ":"}
    ok = ((digits[:, where] >= 0) & (digits[:, where] <= 9)).all(axis=1)
    for k, c in seps.items():
        ok &= cols[:, k] == ord(c)

    def num(a: int, b: int) -> NDArray[np.int64]:
        value = np.zeros(cols.shape[0], dtype=np.int64)
        for k in range(a, b):
            value = value * 10 + digits[:, k]
        return value

    y, m, d = num(0, 4), num(5, 7), num(8, 10)
    h, mi, s, ms = num(11, 13), num(14, 16), num(17, 19), num(20, 23)
    ok &= (y >= 2000) & (y <= 2100) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31) & \
        (h < 24) & (mi < 60) & (s < 60)
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = np.array([31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    ok &= d <= month_days[np.clip(m, 0, 12)] + ((m == 2) & leap)
    day_index = days_from_civil(y, np.clip(m, 1, 12), d)
    return day_index * 86400.0 + h * 3600 + mi * 60 + s + ms / 1000.0, ok


@dataclass
class _Pages:
    time: list[NDArray[np.float64]]
    samples: list[NDArray[np.float32]]
    temperature: list[NDArray[np.float64]]
    sequence: list[NDArray[np.float64]]
    counts: list[NDArray[np.int64]]
    dropped: dict[str, int]


def _line_starts(arr: NDArray[np.uint8], last: bool
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Where each whole line of ``arr`` starts and ends (its LF, or the end of the text)."""
    ends = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], ends + 1))
    if not last:
        starts = starts[:-1]  # the rest after the last line end belongs to the next chunk
    starts = starts[starts < arr.size]
    return starts, np.append(ends, arr.size)[: starts.size]


def _whole_pages(arr: NDArray[np.uint8], starts: NDArray[np.int64],
                 dropped: dict[str, int]) -> NDArray[np.int64]:
    """The line numbers of the ``Recorded Data`` marks whose page has all its lines; the
    others are counted in ``dropped``."""
    marks = np.flatnonzero((_gather(arr, starts, len(PAGE_MARK)) == np.frombuffer(
        PAGE_MARK, np.uint8)).all(axis=1))
    have = marks + _DATA_LINE < starts.size
    if not have.all():
        dropped["cut"] += int((~have).sum())
        marks = marks[have]
    if not marks.size:
        return marks
    # The page's nine lines after its mark must come before the next mark.
    nxt = np.append(marks[1:], starts.size)
    whole = nxt - marks >= _DATA_LINE + 1
    dropped["layout"] += int((~whole).sum())
    return marks[whole]


def _field(arr: NDArray[np.uint8], line_starts: NDArray[np.int64], prefix: bytes,
           width: int) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """``width`` bytes after ``prefix`` on each line, and whether the line has the prefix."""
    head = _gather(arr, line_starts, len(prefix))
    ok = (head == np.frombuffer(prefix, np.uint8)).all(axis=1)
    return _gather(arr, line_starts + len(prefix), width), ok


def _hex_pairs(arr: NDArray[np.uint8], data_start: NDArray[np.int64], n: NDArray[np.int64]
               ) -> tuple[NDArray[np.int16], NDArray[np.bool_]]:
    """The whole samples of each page's data line as bytes, ``(samples, 6)``, and which
    pages hold a character that is not a hex digit."""
    # Every data line's whole samples, concatenated in one pass: a +1/-1 step at each
    # line's start and end, summed, marks the hex digits to take.
    step = np.zeros(arr.size + 1, dtype=np.int8)
    np.add.at(step, data_start, 1)
    np.add.at(step, data_start + n * SAMPLE_HEX, -1)
    chars = arr[np.cumsum(step[:-1], dtype=np.int8).view(bool)]
    # Two hex digits at a time: a table from each 16-bit pair to its byte (-1: not hex).
    pairs = _PAIRS[chars.view("<u2")].reshape(-1, SAMPLE_HEX // 2)
    first = np.concatenate(([0], np.cumsum(n)[:-1]))
    bad_rows = np.flatnonzero((pairs < 0).any(axis=1))
    bad = np.zeros(n.size, dtype=bool)
    bad[np.searchsorted(first, bad_rows, side="right") - 1] = True
    return pairs, bad


def _calibrated(pairs: NDArray[np.int16], header: _Header) -> NDArray[np.float32]:
    """Samples as bytes -> x, y, z in g with the header's calibration."""
    b = pairs[:, :5].astype(np.int32)  # xxxxxxxx xxxxyyyy yyyyyyyy zzzzzzzz zzzz....
    raw = np.empty((b.shape[0], 3), dtype=np.int32)
    raw[:, 0] = (b[:, 0] << 4) | (b[:, 1] >> 4)
    raw[:, 1] = ((b[:, 1] & 0x0F) << 8) | b[:, 2]
    raw[:, 2] = (b[:, 3] << 4) | (b[:, 4] >> 4)
    raw -= (raw >= 2048) * np.int32(4096)
    # (raw * 100 - offset) / gain, in float32 (the result's precision).
    xyz = raw.astype(np.float32)
    xyz *= (100.0 / header.gain).astype(np.float32)
    xyz -= (header.offset / header.gain).astype(np.float32)
    return xyz


def _parse_chunk(text: bytes, header: _Header, pages: _Pages, last: bool) -> None:
    """Every whole page of ``text`` (which starts at a page)."""
    arr = np.frombuffer(text, dtype=np.uint8)
    starts, line_end = _line_starts(arr, last)
    if not starts.size:
        return
    marks = _whole_pages(arr, starts, pages.dropped)
    if not marks.size:
        return
    time_cols, ok_t = _field(arr, starts[marks + _TIME_LINE], b"Page Time:", 23)
    rate_cols, ok_r = _field(arr, starts[marks + _RATE_LINE], b"Measurement Frequency:", 10)
    temp_cols, ok_c = _field(arr, starts[marks + _TEMPERATURE_LINE], b"Temperature:", 8)
    seq_cols, ok_s = _field(arr, starts[marks + _SEQUENCE_LINE], b"Sequence Number:", 10)
    wall, ok_time = _page_times(time_cols)
    rate = _numbers(rate_cols)
    ok_rate = ok_r & (np.abs(rate - header.rate) <= 1e-6 * header.rate + 0.05)
    data_start = starts[marks + _DATA_LINE]
    data_end = line_end[marks + _DATA_LINE]
    length = data_end - data_start
    length -= (data_end > data_start) & (_gather(arr, np.maximum(data_end - 1, 0), 1)[:, 0] == 13)
    n = length // SAMPLE_HEX
    ok = ok_t & ok_time & ok_rate & (n > 0)
    pages.dropped["time"] += int((~(ok_t & ok_time)).sum())
    pages.dropped["rate"] += int((ok_t & ok_time & ~ok_rate).sum())
    if not ok.any():
        return
    sel = np.flatnonzero(ok)
    n, data_start = n[sel], data_start[sel]
    pairs, bad = _hex_pairs(arr, data_start, n)
    pages.dropped["hex"] += int(bad.sum())
    if bad.any():
        pairs = pairs[~np.repeat(bad, n)]
        sel, n = sel[~bad], n[~bad]
    if not sel.size:
        return
    pages.samples.append(_calibrated(pairs, header))
    pages.counts.append(n)
    pages.time.append(wall[sel] - header.tz_s)
    pages.temperature.append(_numbers(temp_cols[sel]) if ok_c.any() else np.zeros(0))
    pages.sequence.append(np.where(ok_s[sel], _numbers(seq_cols[sel]), np.nan))
    if last and (length[sel] % SAMPLE_HEX).any():
        pages.dropped["partial"] += 1


def _read_pages(fh: BinaryIO, path: Path, header: _Header, pages: _Pages) -> None:
    """Parse the file's pages from ``header.data_start`` on, 32 MiB at a time, each chunk
    cut at a page boundary."""
    fh.seek(header.data_start)
    carry = b""
    while True:
        block = fh.read(CHUNK_BYTES)
        text = carry + block
        if not block:
            if text:
                _parse_chunk(text, header, pages, last=True)
            break
        cut = text.rfind(b"\n" + PAGE_MARK)
        if cut <= 0:
            carry = text
            if len(carry) > 4 * CHUNK_BYTES:
                raise refuse(path, "no page boundary in 128 MiB of data: the file is "
                             "not a GENEActiv recording or is damaged", HINT)
            continue
        _parse_chunk(text[: cut + 1], header, pages, last=False)
        carry = text[cut + 1 :]


def _samples_and_times(pages: _Pages, header: _Header
                       ) -> tuple[NDArray[np.float64], NDArray[np.float32], float]:
    """All pages' samples in one array and their times from the first page's (at the
    configured rate within a page), and that first page's time (Unix seconds)."""
    counts = np.concatenate(pages.counts)
    total = int(counts.sum())
    xyz = prefaulted((total, 3), np.float32)
    pos = 0
    for part in pages.samples:  # one copy per 32 MiB chunk
        xyz[pos : pos + part.shape[0]] = part
        pos += part.shape[0]
    page_time = np.concatenate(pages.time)
    t0 = float(page_time[0])
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    t = np.repeat(page_time - t0, counts)
    t += (np.arange(total) - np.repeat(first, counts)) / header.rate
    return t, xyz, t0


def _recording_notes(header: _Header, pages: _Pages) -> list[str]:
    """The device and calibration line, then what was odd about the pages."""
    repairs = [(
        f"GENEActiv device {header.fields.get('device unique serial code', '?')} "
        f"({header.fields.get('device type', '').strip()} "
        f"{header.fields.get('device model', '').strip()}, firmware "
        f"{header.fields.get('device firmware version', '?')}); calibrated with the header's "
        f"gain {'/'.join(f'{g:g}' for g in header.gain)} and offset "
        f"{'/'.join(f'{o:g}' for o in header.offset)} (x/y/z; g = (raw * 100 - offset) / "
        f"gain); rate {header.rate:g} Hz; page times are local ({header.tz_s / 3600:+g} h), "
        "turned into UTC")]
    temperature = np.concatenate(pages.temperature)
    temperature = temperature[np.isfinite(temperature)]
    if temperature.size:
        repairs[0] += f"; temperature {temperature.min():.1f}-{temperature.max():.1f} °C"
    sequence = np.concatenate(pages.sequence)
    jumps = int((np.diff(sequence) != 1).sum()) if sequence.size > 1 else 0
    if jumps:
        repairs.append(f"{jumps} pages do not follow on from the page before (sequence "
                       "numbers); their samples are kept at their own times")
    n_pages = sum(c.size for c in pages.counts)
    if header.pages is not None and header.pages > n_pages:
        repairs.append(f"the header announces {header.pages} pages, the file holds "
                       f"{n_pages}: the file was cut short or the recording stopped early")
    if any(pages.dropped.values()):
        repairs.append("dropped" + _dropped_text(pages.dropped))
    return repairs


def read_geneactiv(path: str | Path, options: ReadOptions | None = None) -> Session:
    """Read a GENEActiv ``.bin`` file into one session (calibrated acceleration in g).

    Raises:
        InputError: not a GENEActiv file, a damaged header, or no valid page.
    """
    path = Path(path)
    options = options or ReadOptions()
    size = check_size(path, 64, "a GENEActiv header", HINT)
    pages = _Pages([], [], [], [], [], dict.fromkeys(
        ("cut", "layout", "time", "rate", "hex", "partial"), 0))
    with open(path, "rb") as fh:
        head = fh.read(min(size, 1 << 16))
        header = _header(path, head)
        _read_pages(fh, path, header, pages)
    if not pages.counts:
        raise refuse(path, "no valid page of recorded data in the file"
                     + _dropped_text(pages.dropped), HINT)
    t, xyz, t0 = _samples_and_times(pages, header)
    repairs = _recording_notes(header, pages)
    placement = placement_named(header.fields.get("device location code", ""))
    if not np.isfinite(t0):
        raise refuse(path, "the first page's time is not a date", HINT)
    return acc_session(path, options, t=t, xyz=xyz, t0_unix=t0, format="geneactiv",
                       repairs=repairs,
                       placement=(placement, "the device location it was set up with"))


def _dropped_text(dropped: dict[str, int]) -> str:
    what = {"cut": "page(s) cut off at the end of the file",
            "layout": "page(s) missing lines",
            "time": "page(s) whose time is not a date",
            "rate": "page(s) whose rate is not the configured one",
            "hex": "page(s) with characters that are not hex digits in their data",
            "partial": "partial sample(s) at the end of the file"}
    parts = [f"{n} {what[k]}" for k, n in dropped.items() if n]
    return (": " + "; ".join(parts)) if parts else ""


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return [read_geneactiv(path, options)]


READER = Reader(
    name="geneactiv",
    title="GENEActiv raw accelerometer file",
    read=_read,
    suffixes=(".bin",),
    sniff=lambda head: head.startswith(b"Device Identity") and b"GENEActiv" in head[:400],
    hint="extract the recording from the GENEActiv as a .bin file",
)
