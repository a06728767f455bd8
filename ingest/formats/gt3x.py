"""ActiGraph raw-accelerometer files (``.gt3x``), read with NumPy.

A ``.gt3x`` file is a zip archive. Its ``info.txt`` (``Key: Value`` lines) gives the
serial number, ``Sample Rate`` (Hz), ``Start Date`` (.NET ticks), ``TimeZone`` and, on
current devices, ``Acceleration Scale`` (units per g). The layout is ActiGraph's
``GT3X-File-Format`` documentation (github.com/actigraph/GT3X-File-Format); pygt3x,
ActiGraph's own Python reader, is the reference it is checked against. pygt3x is not used
here: it is GPL-3.0 (dosewatch is MIT), needs pandas, and decodes one record at a time.

Current layout (``log.bin``): a sequence of log records, each ``0x1E``, a type byte, a
4-byte Unix timestamp (the device's local clock, to the second), a 2-byte payload size,
the payload and a 1-byte checksum (the one's complement of the XOR of header and payload).
Records are found without a loop per record: every ``0x1E`` byte whose record checksum
holds is a candidate, each candidate points at the next (its end, or the first candidate
after it when bytes in between do not belong to a record: ActiGraph documents stray zero
bytes), and the chain from the first record is followed by pointer doubling (twenty array
operations for a million records). Read are:

- ``ACTIVITY`` (0x00: 12-bit two's complement values, Y, X, Z, packed big-endian) and
  ``ACTIVITY2`` (0x1A: little-endian int16 X, Y, Z), one second each; the 1-byte
  records of those types mark a USB connection and are skipped. Values are divided by the
  acceleration scale: ``Acceleration Scale`` from info.txt, else 341 units/g for NEO and
  CLE serial numbers and 256 for others (MOS, TAS). The manufacturer's rounding to three
  decimals is not applied (pygt3x does not either).
- ``EVENT`` (0x03) records with payload 0x08 (entering idle sleep mode) and 0x09 (leaving
  it). While idle, the device stores nothing; as ActiGraph documents and ActiLife and
  pygt3x do, the seconds from the last second recorded before idling to the one it woke
  up in are filled with the last sample recorded (the device was still). The repairs say
  how many seconds were filled.

Older layout (``activity.bin``, GT3X+ NEO/MRA with firmware up to 2.5.0): one stream of
12-bit Y, X, Z samples from ``Start Date`` at the sample rate, 341 units/g.

Times: the device clock is local time; ``TimeZone`` from info.txt (``-05:00:00``) turns it
into UTC (pygt3x leaves it local). Sample ``i`` of a record is at its second plus
``i / rate``. A ``calibration.json`` that says the data are not calibrated is reported in
the repairs (its calibration is not applied). Zip members are read with a size limit taken
from the file's real size, so a damaged directory cannot make dosewatch allocate gigabytes.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ...session import Session
from ..rawacc import acc_session, check_samples, check_size, printable, refuse
from ..registry import Reader, ReadOptions

__all__ = ["read_gt3x"]

HINT = "download the recording from the device again with ActiLife or CentrePoint"
SEPARATOR = 0x1E
ACTIVITY, EVENT, ACTIVITY2 = 0x00, 0x03, 0x1A
ENTER_IDLE, LEAVE_IDLE = 0x08, 0x09
TICKS_UNIX = 621_355_968_000_000_000  # .NET ticks at 1970-01-01
MAX_EXPANSION = 64  # zip members may be at most this many times the archive's size
# The most seconds idle sleep may fill: a device cannot idle for longer than a year.
MAX_IDLE_S = 366 * 86_400
GROUP = 4096  # activity records decoded at once (4096 s: 2.5 MB of payload at 100 Hz)


def _member(path: Path, archive: zipfile.ZipFile, name: str, size: int) -> bytes:
    """A member's bytes, refusing sizes the archive cannot really hold."""
    info = archive.getinfo(name)
    limit = max(64 << 20, MAX_EXPANSION * size)
    if info.file_size > limit:
        raise refuse(path, f"{name} claims {info.file_size} bytes, more than this "
                     f"{size}-byte file can hold: the archive is damaged", HINT)
    try:
        with archive.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise refuse(path, f"{name} cannot be unpacked ({type(exc).__name__}: "
                     f"{printable(str(exc).encode(), 60)})", HINT) from None
    if len(data) != info.file_size:
        raise refuse(path, f"{name} holds {len(data)} bytes, not the {info.file_size} its "
                     "directory says: the archive is damaged", HINT)
    return data


def _info(path: Path, text: bytes) -> dict[str, str]:
    fields = {}
    for line in text.decode("utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def _number(path: Path, fields: dict[str, str], key: str) -> float:
    try:
        value = float(fields[key])
    except (KeyError, ValueError):
        raise refuse(path, f"info.txt has no valid '{key}'", HINT) from None
    if not np.isfinite(value):
        raise refuse(path, f"info.txt's '{key}' is not a number", HINT)
    return value


def _timezone_s(fields: dict[str, str]) -> tuple[float, bool]:
    match = re.fullmatch(r"([+-]?)(\d{1,2}):(\d{2})(?::(\d{2}))?", fields.get("timezone", ""))
    if not match:
        return 0.0, False
    seconds = int(match.group(2)) * 3600 + int(match.group(3)) * 60 + int(match.group(4) or 0)
    if seconds > 14 * 3600:
        return 0.0, False
    return (-seconds if match.group(1) == "-" else seconds), True


def unpack12(data: NDArray[np.uint8], n_values: int) -> NDArray[np.int16]:
    """Big-endian 12-bit two's complement values: rows of bytes -> (rows, n_values)."""
    rows = data.shape[0]
    pad = (-data.shape[1]) % 3
    if pad:
        data = np.concatenate([data, np.zeros((rows, pad), np.uint8)], axis=1)
    b = data.reshape(rows, -1, 3).astype(np.uint16)
    first = (b[..., 0] << 4) | (b[..., 1] >> 4)
    second = ((b[..., 1] & 0x0F) << 8) | b[..., 2]
    values = np.stack([first, second], axis=-1).reshape(rows, -1)[:, :n_values]
    return np.where(values >= 2048, values.astype(np.int32) - 4096, values).astype(np.int16)


def _records(path: Path, log: bytes) -> tuple[dict[str, NDArray], dict[str, int]]:
    """Every log record of ``log``: type, timestamp, payload start and size."""
    buf = np.frombuffer(log, dtype=np.uint8)
    n = buf.size
    cand = np.flatnonzero(buf == SEPARATOR)
    cand = cand[cand + 9 <= n]
    size = buf[np.minimum(cand + 6, n - 1)].astype(np.int64) | (
        buf[np.minimum(cand + 7, n - 1)].astype(np.int64) << 8)
    end = cand + 9 + size
    fits = end <= n
    cand, size, end = cand[fits], size[fits], end[fits]
    prefix = np.zeros(n + 1, dtype=np.uint8)
    np.bitwise_xor.accumulate(buf, out=prefix[1:])
    valid = (prefix[end] ^ prefix[cand]) == 0xFF  # checksum: XOR of the whole record is 0xFF
    cand, size, end = cand[valid], size[valid], end[valid]
    stats = {"skipped_bytes": 0, "resyncs": 0}
    if not cand.size:
        return {}, stats
    # Each record's successor: the candidate at its end, else the first one after it.
    nxt = np.searchsorted(cand, end, side="left")
    jump = np.append(nxt, cand.size)  # cand.size: the end
    on = np.zeros(cand.size + 1, dtype=bool)
    on[0] = True
    while True:  # pointer doubling: after round k, every record within 2**k steps
        before = int(on.sum())
        on[jump[np.flatnonzero(on)]] = True
        if int(on.sum()) == before:
            break
        jump = jump[jump]
    chain = np.flatnonzero(on[:-1])
    starts, ends = cand[chain], end[chain]
    gaps = starts[1:] - ends[:-1]
    stats["resyncs"] = int((gaps > 0).sum())
    stats["skipped_bytes"] = int(gaps.sum()) + int(starts[0]) + int(n - ends[-1])
    ts = buf[starts + 2].astype(np.int64) | (buf[starts + 3].astype(np.int64) << 8) | (
        buf[starts + 4].astype(np.int64) << 16) | (buf[starts + 5].astype(np.int64) << 24)
    return {"type": buf[starts + 1], "time": ts, "payload": starts + 8,
            "size": size[chain]}, stats


def _activity_rows(rec: dict[str, NDArray], rate: int, repairs: list[str]
                   ) -> tuple[NDArray[np.intp], dict[int, int]]:
    """The activity records that hold one whole second, and each type's payload size;
    the others are noted as dropped."""
    kind, size = rec["type"], rec["size"]
    want = {ACTIVITY: (rate * 36 + 7) // 8, ACTIVITY2: rate * 6}
    activity = ((kind == ACTIVITY) | (kind == ACTIVITY2)) & (size > 1)
    full = np.zeros(kind.size, dtype=bool)
    for code, nbytes in want.items():
        full |= (kind == code) & (size == nbytes)
    partial = int((activity & ~full).sum())
    if partial:
        repairs.append(f"dropped {partial} activity records that do not hold one second "
                       f"of {rate} samples")
    return np.flatnonzero(full), want


def _activity_samples(buf: NDArray[np.uint8], rec: dict[str, NDArray], rows: NDArray[np.intp],
                      want: dict[int, int], rate: int, scale: float) -> NDArray[np.float32]:
    """The samples of the activity records ``rows`` in g, ``(records, rate, 3)``."""
    kind = rec["type"]
    samples = np.empty((rows.size, rate, 3), dtype=np.float32)
    for code in (ACTIVITY, ACTIVITY2):
        sel = np.flatnonzero(kind[rows] == code)
        if not sel.size:
            continue
        nbytes = want[code]
        for part in range(0, sel.size, GROUP):  # a bounded gather: records of one group
            s = sel[part : part + GROUP]
            data = buf[rec["payload"][rows[s]][:, None] + np.arange(nbytes)[None, :]]
            if code == ACTIVITY:
                yxz = unpack12(data, rate * 3).reshape(-1, rate, 3)
                samples[s] = yxz[..., [1, 0, 2]] / np.float32(scale)
            else:
                samples[s] = data.view("<i2").reshape(-1, rate, 3) / np.float32(scale)
    return samples


def _idle_sleep(buf: NDArray[np.uint8], rec: dict[str, NDArray], rows: NDArray[np.intp]
                ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], int, int]:
    """The seconds idle sleep left out: per episode the activity record to repeat (an
    index into ``rows``), the first missing second and how many; then the number of
    idle-sleep pairs and of idle marks."""
    kind, size, second = rec["type"], rec["size"], rec["time"][rows]
    events = np.flatnonzero((kind == EVENT) & (size == 1))
    code = buf[rec["payload"][events]]
    marks = events[(code == ENTER_IDLE) | (code == LEAVE_IDLE)]
    mark_code = buf[rec["payload"][marks]]
    leave_time = rec["time"][marks]
    n_marks = marks.size
    if marks.size and mark_code[-1] == ENTER_IDLE:
        # Still idle when the recording ended: idle until the log's last record.
        marks, mark_code = np.append(marks, kind.size - 1), np.append(mark_code, LEAVE_IDLE)
        leave_time = np.append(leave_time, rec["time"][-1])
        n_marks = marks.size
    pair = np.flatnonzero((mark_code[:-1] == ENTER_IDLE) & (mark_code[1:] == LEAVE_IDLE))
    none = np.zeros(0, dtype=np.int64)
    if not pair.size:
        return none, none, none, 0, n_marks
    enter, woke = marks[pair], leave_time[pair + 1]
    # The activity record before each entry (in file order), and its second.
    last = np.searchsorted(rows, enter, side="left") - 1
    ok = last >= 0
    woke, last = woke[ok], last[ok]
    first_missing = second[last] + 1
    n_missing = woke - first_missing
    ok = (n_missing > 0) & (n_missing <= MAX_IDLE_S)
    return last[ok], first_missing[ok], n_missing[ok], pair.size, n_marks


def _fill_idle(samples: NDArray[np.float32], second: NDArray[np.int64],
               fill_src: NDArray[np.int64], fill_first: NDArray[np.int64],
               fill_n: NDArray[np.int64], rate: int
               ) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Recorded seconds and the idle seconds (each the last sample of the record before
    it) in time order: (Unix seconds on the device clock, xyz in g)."""
    filled = int(fill_n.sum())
    fill_sec = np.repeat(fill_first, fill_n) + (
        np.arange(filled) - np.repeat(np.cumsum(fill_n) - fill_n, fill_n))
    all_sec = np.concatenate([second, fill_sec])
    source = np.concatenate([np.arange(second.size), np.repeat(fill_src, fill_n)])
    is_fill = np.concatenate([np.zeros(second.size, bool), np.ones(filled, bool)])
    order = np.argsort(all_sec, kind="stable")
    all_sec, source, is_fill = all_sec[order], source[order], is_fill[order]
    xyz = samples[source]  # (seconds, rate, 3)
    xyz[is_fill] = samples[source[is_fill], -1:, :]
    t = (all_sec[:, None] + np.arange(rate)[None, :] / rate).ravel()
    return t.astype(np.float64), xyz.reshape(-1, 3)


def _decode_log(path: Path, log: bytes, rate: int, scale: float,
                repairs: list[str]) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Samples of a log.bin: (Unix seconds on the device clock, xyz in g)."""
    rec, stats = _records(path, log)
    if not rec:
        raise refuse(path, "log.bin holds no valid log record", HINT)
    if stats["resyncs"] or stats["skipped_bytes"]:
        repairs.append(f"log.bin: skipped {stats['skipped_bytes']} bytes outside valid "
                       f"records ({stats['resyncs']} places; damaged records or padding)")
    buf = np.frombuffer(log, dtype=np.uint8)
    rows, want = _activity_rows(rec, rate, repairs)
    if not rows.size:
        raise refuse(path, "log.bin holds no activity records (no acceleration)", HINT)
    samples = _activity_samples(buf, rec, rows, want, rate, scale)
    second = rec["time"][rows]
    # Idle sleep: fill from the last recorded second to the second the device woke in.
    fill_src, fill_first, fill_n, pairs, marks = _idle_sleep(buf, rec, rows)
    filled = int(fill_n.sum())
    check_samples(path, (rows.size + filled) * rate, " after filling idle sleep mode")
    if filled:
        repairs.append(f"idle sleep mode: filled {filled} s in {fill_n.size} episodes with "
                       "the last sample recorded before each (the device was still)")
    if pairs == 0 and (marks or (np.diff(second) > 1).any()):
        gaps = int((np.diff(second) > 1).sum())
        if gaps:
            repairs.append(f"{gaps} gaps between activity records (left as gaps)")
    return _fill_idle(samples, second, fill_src, fill_first, fill_n, rate)


def _open_archive(path: Path) -> zipfile.ZipFile:
    """The file as a zip archive, or an InputError saying why it is not one."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        with open(path, "rb") as fh:
            head = fh.read(8)
        what = "a zip archive that is damaged" if head.startswith(b"PK") else \
            f"not a zip archive (it starts with '{printable(head, 8)}')"
        raise refuse(path, f"not a readable GT3X file: {what}", HINT) from exc


def _sample_rate(path: Path, fields: dict[str, str]) -> int:
    """info.txt's sample rate, a whole number of Hz an ActiGraph records at."""
    rate_f = _number(path, fields, "sample rate")
    if not (rate_f == int(rate_f) and 1 <= rate_f <= 1000):
        raise refuse(path, f"info.txt gives a sample rate of {rate_f:g} Hz, which an "
                     "ActiGraph does not record at", HINT)
    return int(rate_f)


def _log_scale(path: Path, fields: dict[str, str], serial: str) -> float:
    """Units per g of a log.bin: info.txt's, else by the serial number's device family."""
    if "acceleration scale" in fields:
        scale = _number(path, fields, "acceleration scale")
    else:
        scale = 341.0 if serial.upper().startswith(("NEO", "CLE")) else 256.0
    if not 1 <= scale <= 100_000:
        raise refuse(path, f"info.txt gives an acceleration scale of {scale:g}", HINT)
    return scale


def _decode_activity_bin(path: Path, data: NDArray[np.uint8], ticks: float, rate: int,
                         scale: float) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Samples of the older activity.bin, which start at ``ticks`` (.NET ticks): (Unix
    seconds on the device clock, xyz in g)."""
    n = data.size * 2 // 9  # 36 bits a sample
    if n == 0:
        raise refuse(path, "activity.bin holds no samples", HINT)
    yxz = unpack12(data[None, :], n * 3).reshape(-1, 3)
    xyz = yxz[:, [1, 0, 2]] / np.float32(scale)
    t = (ticks - TICKS_UNIX) / 1e7 + np.arange(n) / rate
    return t, xyz


def _calibration(path: Path, archive: zipfile.ZipFile, size: int) -> object:
    """The parsed calibration.json, or None when absent or not JSON."""
    if "calibration.json" not in archive.namelist():
        return None
    try:
        return json.loads(_member(path, archive, "calibration.json", size))
    except ValueError:
        return None


def read_gt3x(path: str | Path, options: ReadOptions | None = None) -> Session:
    """Read an ActiGraph ``.gt3x`` file into one session (acceleration in g).

    Raises:
        InputError: not a zip archive of the GT3X layout, damaged members, or no
            acceleration.
    """
    path = Path(path)
    options = options or ReadOptions()
    size = check_size(path, 22, "a zip archive", HINT)
    with _open_archive(path) as archive:
        names = set(archive.namelist())
        if "info.txt" not in names:
            raise refuse(path, "the archive has no info.txt: it is not an ActiGraph GT3X "
                         "file", "check that this is a .gt3x file from ActiLife")
        fields = _info(path, _member(path, archive, "info.txt", size))
        rate = _sample_rate(path, fields)
        serial = fields.get("serial number", "?")
        repairs: list[str] = []
        tz_s, has_tz = _timezone_s(fields)
        if "log.bin" in names:
            scale = _log_scale(path, fields, serial)
            layout = "log.bin"
            t, xyz = _decode_log(path, _member(path, archive, "log.bin", size), rate, scale,
                                 repairs)
        elif "activity.bin" in names:
            scale = _number(path, fields, "acceleration scale") \
                if "acceleration scale" in fields else 341.0
            layout = "activity.bin (older GT3X+ layout)"
            ticks = _number(path, fields, "start date")
            data = np.frombuffer(_member(path, archive, "activity.bin", size), np.uint8)
            t, xyz = _decode_activity_bin(path, data, ticks, rate, scale)
        else:
            raise refuse(path, "the archive has neither log.bin nor activity.bin: no "
                         "acceleration in it", HINT)
        calibration = _calibration(path, archive, size)
    t0 = float(t[0])
    repairs.insert(0, (
        f"ActiGraph {fields.get('device type', '?')} {serial}, firmware "
        f"{fields.get('firmware', '?')}; {layout}; {rate} Hz; {scale:g} units per g; "
        + (f"device clock local ({tz_s / 3600:+g} h), turned into UTC" if has_tz
           else "no time zone in info.txt: the device clock is taken as UTC")))
    if isinstance(calibration, dict) and calibration.get("isCalibrated") is False:
        repairs.append("calibration.json says the samples are not calibrated; its "
                       f"calibration (method {calibration.get('calibrationMethod')}) is not "
                       "applied")
    t = t - t0
    return acc_session(path, options, t=t, xyz=np.ascontiguousarray(xyz, np.float32),
                       t0_unix=t0 - tz_s, format="gt3x", repairs=repairs)


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return [read_gt3x(path, options)]


READER = Reader(
    name="gt3x",
    title="ActiGraph GT3X raw accelerometer file",
    read=_read,
    suffixes=(".gt3x",),
    hint="export the recording from ActiLife as a .gt3x file",
)
