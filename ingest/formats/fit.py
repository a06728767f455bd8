"""Garmin FIT activity files (``.fit``, ``.fit.gz``), decoded with fitdecode.

What is read, and how:

- **Integrity first.** The file's structure is checked before decoding: the ``.FIT``
  signature, the header's checksum and the checksum of every FIT file in the stream
  (chained files are read one after another). A checksum that does not match means the
  bytes were altered: the file is refused ("damaged"), as its numbers cannot be trusted.
  A file cut short (a copy or download that stopped, a watch that died) has no checksum
  to check: the records before the cut are kept, with a repair note. Bytes after the last
  FIT file that are not another FIT file are ignored with a note.
- **Records** give the time, ``heart_rate`` (FIT's invalid value 0xFF comes back as a
  missing value: a gap), speed (``enhanced_speed``, else ``speed``, m/s), ``cadence``
  plus ``fractional_cadence``, ``power`` and ``distance``. Developer fields are read only
  for power, when the file has no native power (a field named like "power" in watts, as
  Stryd writes). Timestamps are FIT seconds since 1989-12-31 UTC, turned into Unix
  seconds; a file whose times are all below 0x10000000 counts from the device's power-on
  (the FIT "system time"), so its absolute start is unknown.
- **Pauses.** Timer ``stop``/``stop_all`` events open a pause and the next timer
  ``start`` closes it. Records strictly inside a pause (or after the final stop) are
  dropped with a repair note; each resumption starts a new segment, so no speed is
  derived across a pause. Nothing is filled in.
- **RR intervals** come from ``hrv`` messages: up to five beat-to-beat intervals in
  seconds each, without timestamps. Beat times are reconstructed as the running sum of
  the intervals from the first record's time, the same clock the watch keeps (in most
  real files the sum stays within a second or two of the record times for hours). Each
  ``hrv`` message sits in the file right after the record of the second its beats ended
  in, so the running sum is checked at every message against that record's time; where
  they differ by more than ``max(5 s, 2 x the median record step)`` (missed or spurious
  beats) the message's beats are re-anchored to end at that record's time. When more
  than 5 % of messages need re-anchoring the beats cannot be placed credibly and RR is
  left out, with a repair note. Each heart-rate sample then gets the interval of the last
  beat that ended since the previous sample (NaN when none did): one RR per sample, as a
  Bluetooth heart-rate strap reports them.
- **Cadence** is in the device's unit; :mod:`dosewatch.ingest.activity` turns running
  strides per minute into steps per minute.
- **Sport** from the ``session`` message (else ``sport``, else ``lap``).
- **Several sessions** (a multisport file: swim, transition, bike, run) give one session
  each: the records from a ``session`` message's ``start_time`` up to the next one's, with
  that session's sport. A leg without usable heart rate (a swim with the strap off, a
  short transition) is left out with a note on the others.
- **Profile** from ``user_profile`` (resting heart rate, age, weight, gender, default
  maximal heart rate) and ``zones_target`` (maximal heart rate, preferred). A value of 0
  means "not set"; impossible values are dropped with a repair note.
- Not read: ``hr`` messages (heart rate stored by a strap while out of range of the
  watch, e.g. when swimming) and developer fields other than power and heart rate (a
  developer field in bpm named or declared heart rate is the heart rate of a file without
  a native one: an ergometer's app writes its paired strap's so).

Decoding speed: fitdecode is pure Python. With the one-unpack-per-message reader below,
a 2-hour 1 Hz file (7472 records, 558 kB) takes about 0.7 s of CPU; files that repeat a
definition before every record (Suunto) take about twice as long per record.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path

import fitdecode
import numpy as np
from numpy.typing import NDArray

from ...errors import InputError, plain_reason
from ...session import Profile, Session
from ..activity import (
    ActivityData,
    lenient_profile,
    normalise_sport,
    open_activity,
    rr_per_sample,
    sniff,
    to_session,
    wrong_content,
)
from ..registry import MIN_SESSION_S, Reader, ReadOptions, usable_span

__all__ = ["fit_crc", "parse_fit", "parse_fit_sessions", "read_fit"]

FIT_EPOCH_UNIX = 631_065_600  # 1989-12-31T00:00:00Z
SYSTEM_TIME_LIMIT = 0x10000000  # FIT: date_time values below this are seconds since power-on
MAX_FIT_BYTES = 256 << 20
_REANCHOR_LIMIT = 0.05

# Global message numbers (FIT profile).
_USER_PROFILE, _ZONES_TARGET, _SPORT, _SESSION, _LAP, _RECORD, _EVENT, _HRV = (
    3, 7, 12, 18, 19, 20, 21, 78,
)
_STOPS = frozenset({"stop", "stop_all", "stop_disable", "stop_disable_all"})
_RECORD_FIELDS = frozenset({
    "timestamp", "heart_rate", "enhanced_speed", "speed", "cadence", "fractional_cadence",
    "power", "distance", "enhanced_altitude", "altitude",
})


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def fit_crc(data: bytes | memoryview, crc: int = 0) -> int:
    """FIT's CRC-16 (polynomial 0x8005, reflected) of ``data``; 0 over data + its CRC."""
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _number(value: object) -> float:
    """A field's value as float; NaN for missing, arrays (a damaged definition) and text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


# --------------------------------------------------------------------------- structure


def _check_structure(data: bytes, path: Path, repairs: list[str]) -> tuple[int, bool]:
    """Check every chained FIT file's header and checksum.

    Returns:
        (bytes to decode, whether the last FIT file is cut short).

    Raises:
        InputError: not a FIT file, a damaged header or a checksum mismatch.
    """
    pos, n, files = 0, len(data), 0
    view = memoryview(data)
    while pos < n:
        header_size = data[pos]
        signature_ok = n - pos >= 12 and data[pos + 8 : pos + 12] == b".FIT"
        if not signature_ok or header_size < 12:
            if files == 0:
                if n < 12 and data[8:12] == b".FIT"[: max(0, n - 8)]:
                    raise InputError(
                        f"the file is truncated: {n} bytes, shorter than a FIT header",
                        source=path, hint="copy or export the file again",
                    )
                found = sniff(data[:4096])
                if found in (None, "fit"):
                    raise InputError(
                        "not a FIT file: its header has no '.FIT' signature", source=path,
                        hint="check that this is a FIT activity export (or a TCX/GPX file "
                        "with the wrong extension)",
                    )
                raise wrong_content(path, "FIT", found)
            repairs.append(f"ignored {n - pos} bytes after the end of the FIT data")
            return pos, False
        data_size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if header_size >= 14:
            if pos + 14 > n:
                raise InputError("the file is truncated inside its FIT header", source=path,
                                 hint="copy or export the file again")
            header_crc = int.from_bytes(data[pos + 12 : pos + 14], "little")
            if header_crc and fit_crc(view[pos : pos + 12]) != header_crc:
                raise InputError(
                    "the FIT file is damaged: its header checksum does not match",
                    source=path, hint="copy or export the file again from the watch or app",
                )
        end = pos + header_size + data_size + 2
        if end > n:
            got = n - pos - header_size
            repairs.append(
                f"the FIT file is truncated: it holds {max(got, 0)} of the {data_size + 2} "
                "bytes its header announces; read the records before the cut"
            )
            return n, True
        if fit_crc(view[pos:end]) != 0:
            raise InputError(
                "the FIT file is damaged: its checksum does not match its content",
                source=path,
                hint="copy or export the file again from the watch or app",
            )
        files += 1
        pos = end
    return n, False


def _dev_power_rank(name: object, units: object) -> int:
    """How surely a developer field is the rider's or runner's power (0: not power).

    Power meters and pods (Stryd) write several fields in watts: "Power" itself beside
    "Form Power" and "Air Power", which are parts of it. A field named just power (with or
    without a vendor prefix such as ``RP_``) wins; other powers in watts come next, except
    the known components, which never count.
    """
    name = name.lower() if isinstance(name, str) else ""
    units = units.lower() if isinstance(units, str) else ""
    if "power" not in name or units not in ("w", "watts", "watt"):
        return 0
    if "form" in name or "air" in name:
        return 0
    return 2 if name == "power" or (name.endswith("_power") and " " not in name) else 1


_HEART_RATE_FIELD = 3  # the record message's heart_rate
_HEART_RATE_NAMES = ("heart rate", "heartrate", "hr")


def _is_dev_heart_rate(name: object, units: object, native_field: object) -> bool:
    """Whether a record's developer field is the heart rate: in beats per minute, and
    declared as the record's own heart-rate field or named so. An ergometer's app writes
    its paired strap's heart rate this way (Concept2's ErgData: "Heart Rate", bpm, native
    field 3) with no native heart rate; a zone or a share of the reserve is not it."""
    units = units.lower() if isinstance(units, str) else ""
    if units not in ("bpm", "beats/min", "beats per minute"):
        return False
    name = name.lower().replace("_", " ").strip() if isinstance(name, str) else ""
    return native_field == _HEART_RATE_FIELD or name in _HEART_RATE_NAMES


class _FastFitReader(fitdecode.FitReader):
    """fitdecode's reader with one read and one ``struct`` unpack per data message instead
    of one per field (about 40 % faster; the values are the same, which a test checks on
    real files). Falls back to fitdecode's own code for anything unusual (a field of size
    0), and is not used at all when fitdecode's internals change (see ``_reader_class``)."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        self._layouts: dict[int, tuple[object, struct.Struct, list[tuple]]] = {}

    def _read_data_message_raw_values(self, def_mesg):  # type: ignore[no-untyped-def]
        cached = self._layouts.get(id(def_mesg))
        if cached is None or cached[0] is not def_mesg:
            formats = [def_mesg.endian]
            fields = []
            for field_def in def_mesg.all_field_defs:
                base = field_def.base_type
                count = int(field_def.size / base.size)
                if count <= 0:
                    return super()._read_data_message_raw_values(def_mesg)
                formats.append(f"{count}{base.fmt}")
                fields.append((base.parse, 1 if base.fmt == "s" else count,
                               base.identifier == _BYTE_TYPE))
            if len(self._layouts) > 4096:
                self._layouts.clear()
            # The definition is kept in the cache, so its id cannot be reused meanwhile.
            cached = (def_mesg, struct.Struct("".join(formats)), fields)
            self._layouts[id(def_mesg)] = cached
        _, unpacker, fields = cached
        if not unpacker.size:
            return [], []
        chunk = self._read_bytes(unpacker.size)
        flat = unpacker.unpack(chunk)
        values: list[object] = []
        i = 0
        for parse, n, is_byte in fields:
            if is_byte:
                values.append(parse(flat[i : i + n]))
            elif n > 1:
                values.append(tuple(parse(v) for v in flat[i : i + n]))
            else:
                values.append(parse(flat[i]))
            i += n
        return [chunk], values


_BYTE_TYPE = fitdecode.types.BASE_TYPE_BYTE.identifier


def _reader_class() -> type[fitdecode.FitReader]:
    """The fast reader when fitdecode still has the internals it relies on."""
    needed = ("_read_data_message_raw_values", "_read_bytes", "_read_data_message")
    if all(callable(getattr(fitdecode.FitReader, name, None)) for name in needed):
        return _FastFitReader
    return fitdecode.FitReader


def _frames(
    data: bytes, path: Path, truncated: bool, repairs: list[str], *, fast: bool = True
) -> Iterator[object]:
    """fitdecode's frames; a decoding failure becomes InputError, or the end of a cut-off
    file."""
    reader = (_reader_class() if fast else fitdecode.FitReader)(
        io.BytesIO(data),
        processor=None,
        check_crc=fitdecode.CrcCheck.DISABLED,  # checked above, faster
        error_handling=fitdecode.ErrorHandling.IGNORE,
    )
    frames = iter(reader)
    try:
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                return
            except fitdecode.FitEOFError:
                if truncated:
                    return
                raise InputError(
                    "the FIT data ends in the middle of a message", source=path,
                    hint="copy or export the file again",
                ) from None
            # fitdecode raises struct, key, index, value, assertion... errors on malformed
            # content; whatever it raises, the file cannot be decoded.
            except Exception as exc:  # noqa: BLE001
                if truncated:
                    repairs.append(f"decoding stopped before the cut ({plain_reason(exc)})")
                    return
                raise InputError(
                    f"the FIT data cannot be decoded ({type(exc).__name__}: "
                    f"{plain_reason(exc)})",
                    source=path, hint="the file is malformed; export it again",
                ) from None
            yield frame
    finally:
        reader.close()


# --------------------------------------------------------------------------- decoding


class _Collector:
    """Accumulates what the reader needs from the message stream, in file order."""

    def __init__(self) -> None:
        self.t: list[float] = []
        self.hr: list[float] = []
        self.speed: list[float] = []
        self.enhanced_speed: list[float] = []
        self.cadence: list[float] = []
        self.power: list[float] = []
        self.dev_power: list[float] = []
        self.dev_hr: list[float] = []
        self.dev_hr_name: str | None = None
        self.distance: list[float] = []
        self.altitude: list[float] = []
        self.no_time = 0
        self.events: list[tuple[float, str]] = []
        self.hrv: list[tuple[float, list[float]]] = []  # (time of last record, intervals)
        self.sports: dict[int, str] = {}
        self.sessions: list[tuple[float, str | None]] = []  # (start_time, sport)
        self.profile: dict[str, object] = {}

    def record(self, frame: fitdecode.FitDataMessage) -> None:
        values: dict[str, object] = {}
        dev_power = dev_hr = math.nan
        dev_rank = 0
        for fd in frame.fields:
            definition = fd.field_def
            if definition is not None and definition.is_dev:
                rank = _dev_power_rank(fd.name, fd.units)
                if rank > dev_rank:
                    dev_power, dev_rank = _number(fd.value), rank
                elif math.isnan(dev_hr) and _is_dev_heart_rate(
                        fd.name, fd.units, getattr(definition.field, "native_field_num", None)):
                    dev_hr = _number(fd.value)
                    self.dev_hr_name = self.dev_hr_name or str(fd.name)
                continue
            name = fd.name
            if name in _RECORD_FIELDS:
                if definition is not None:
                    values[name] = fd.value  # the field itself wins over a component
                else:
                    values.setdefault(name, fd.value)  # expanded from another field
        stamp = _number(values.get("timestamp"))
        if math.isnan(stamp):
            self.no_time += 1
            return
        self.t.append(stamp)
        self.hr.append(_number(values.get("heart_rate")))
        self.speed.append(_number(values.get("speed")))
        self.enhanced_speed.append(_number(values.get("enhanced_speed")))
        cadence = _number(values.get("cadence"))
        fraction = _number(values.get("fractional_cadence"))
        if not math.isnan(fraction) and not math.isnan(cadence):
            cadence += fraction
        self.cadence.append(cadence)
        self.power.append(_number(values.get("power")))
        self.dev_power.append(dev_power)
        self.dev_hr.append(dev_hr)
        self.distance.append(_number(values.get("distance")))
        altitude = _number(values.get("enhanced_altitude"))
        self.altitude.append(altitude if not math.isnan(altitude)
                             else _number(values.get("altitude")))

    def message(self, frame: fitdecode.FitDataMessage) -> None:
        number = frame.global_mesg_num
        if number == _RECORD:
            self.record(frame)
        elif number == _HRV:
            value = frame.get_value("time", fallback=None)
            intervals = value if isinstance(value, tuple) else (value,)
            beats = [_number(v) for v in intervals]
            beats = [b for b in beats if b > 0]
            if beats:
                anchor = self.t[-1] if self.t else math.nan
                self.hrv.append((anchor, beats))
        elif number == _EVENT:
            if frame.get_value("event", fallback=None) == "timer":
                stamp = _number(frame.get_value("timestamp", fallback=None))
                kind = frame.get_value("event_type", fallback=None)
                if not math.isnan(stamp) and isinstance(kind, str):
                    self.events.append((stamp, kind))
        elif number in (_SESSION, _SPORT, _LAP):
            sport = frame.get_value("sport", fallback=None)
            if isinstance(sport, str):
                self.sports.setdefault(number, sport)
            if number == _SESSION:
                start = _number(frame.get_value("start_time", fallback=None))
                self.sessions.append((start, sport if isinstance(sport, str) else None))
        elif number == _USER_PROFILE:
            for key, name in (("resting_heart_rate", "hr_rest"), ("age", "age"),
                              ("weight", "weight_kg"), ("default_max_heart_rate", "hr_max_user"),
                              ("gender", "sex")):
                value = frame.get_value(key, fallback=None)
                if value not in (None, 0):
                    self.profile.setdefault(name, value)
        elif number == _ZONES_TARGET:
            value = frame.get_value("max_heart_rate", fallback=None)
            if value not in (None, 0):
                self.profile.setdefault("hr_max", value)


def _pauses(events: list[tuple[float, str]]) -> list[tuple[float, float]]:
    """Stopped intervals ``(stop, start)`` from timer events; the last may be open."""
    out: list[tuple[float, float]] = []
    stopped_at: float | None = None
    for stamp, kind in sorted(events, key=lambda e: e[0]):
        if kind in _STOPS and stopped_at is None:
            stopped_at = stamp
        elif kind == "start" and stopped_at is not None:
            if stamp > stopped_at:
                out.append((stopped_at, stamp))
            stopped_at = None
    if stopped_at is not None:
        out.append((stopped_at, math.inf))
    return out


def _apply_pauses(
    t: NDArray[np.float64], events: list[tuple[float, str]], repairs: list[str]
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """(rows to keep, segment of each row)."""
    pauses = _pauses(events)
    if not pauses:
        return np.ones(t.size, bool), np.zeros(t.size, np.int64)
    # The pauses are in order and do not overlap: one binary search per record.
    stops = np.array([p[0] for p in pauses])
    starts = np.array([p[1] for p in pauses])
    last = np.searchsorted(stops, t, side="left") - 1  # the last pause begun before t
    inside = (last >= 0) & (t < starts[np.maximum(last, 0)])
    keep = ~inside
    segment = np.searchsorted(starts, t, side="right").astype(np.int64)
    dropped = int((~keep & np.isfinite(t)).sum())
    if dropped:
        repairs.append(f"dropped {dropped} records made while the timer was stopped (paused)")
    return keep, segment


def _beat_times(
    hrv: list[tuple[float, list[float]]], t0: float, step: float, repairs: list[str]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Beat end times and intervals (s), re-anchored where they stray (module text)."""
    tolerance = max(5.0, 2.0 * step)
    times: list[float] = []
    intervals: list[float] = []
    clock = t0
    reanchored = 0
    for anchor, beats in hrv:
        anchor = t0 if math.isnan(anchor) else anchor
        total = sum(beats)
        if abs(clock + total - anchor) > tolerance:
            reanchored += 1
            clock = anchor - total
        for rr in beats:
            clock += rr
            times.append(clock)
            intervals.append(rr)
    share = reanchored / len(hrv)
    if share > _REANCHOR_LIMIT:
        repairs.append(
            f"RR intervals (FIT hrv messages) left out: their running sum strays from the "
            f"record times in {reanchored} of {len(hrv)} messages ({share:.0%}), so the "
            "beats cannot be placed in time credibly"
        )
        return None
    if reanchored:
        repairs.append(
            f"RR: re-anchored the beats of {reanchored} of {len(hrv)} hrv messages to the "
            "record times (missed or spurious beats)"
        )
    return np.asarray(times), np.asarray(intervals)


def parse_fit(path: str | Path, *, fast: bool = True) -> ActivityData:
    """Decode a FIT file into per-record arrays (see the module text).

    ``fast=False`` decodes with fitdecode's reader unchanged (for comparison).

    Raises:
        InputError: the file is empty, not a FIT file, damaged, or cannot be decoded.
    """
    return _decode(Path(path), fast)[0]


def parse_fit_sessions(path: str | Path) -> list[ActivityData]:
    """Decode a FIT file into one :class:`ActivityData` per FIT ``session`` message
    (a multisport file: swim, transition, bike, run...), each with the records from its
    start time to the next session's, and its own sport. A file with one session (or
    none) gives one.

    Raises:
        InputError: as :func:`parse_fit`.
    """
    data, sessions = _decode(Path(path), True)
    starts = sorted({(t + FIT_EPOCH_UNIX if t >= SYSTEM_TIME_LIMIT else math.nan, sport)
                     for t, sport in sessions if math.isfinite(t)}, key=lambda s: s[0])
    starts = [(t, sport) for t, sport in starts if math.isfinite(t)]
    if len(starts) < 2 or data.t.size == 0:
        return [data]
    bounds = np.array([t for t, _ in starts])
    which = np.clip(np.searchsorted(bounds, data.t, side="right") - 1, 0, len(bounds) - 1)
    out = []
    for k, (start, sport) in enumerate(starts):
        rows = which == k
        if not rows.any():
            continue

        # Every per-row channel (whatever ActivityData carries) keeps this leg's rows.
        per_row = {f.name: getattr(data, f.name)[rows] for f in fields(data)
                   if isinstance(getattr(data, f.name), np.ndarray)
                   and getattr(data, f.name).shape[:1] == data.t.shape}
        when = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M UTC")
        out.append(replace(
            data, **per_row,
            sport=normalise_sport(sport) if sport is not None else data.sport,
            repairs=[*data.repairs, f"session {k + 1} of {len(starts)} in the file "
                     f"({sport or 'no sport named'}), started {when}"]))
    return out or [data]


def _decode(path: Path, fast: bool) -> tuple[ActivityData, list[tuple[float, str | None]]]:
    repairs: list[str] = []
    with open_activity(path, MAX_FIT_BYTES) as (stream, reader):
        data = stream.read()
    if not data:
        raise InputError("the file holds no data (0 bytes once decompressed)", source=path,
                         hint="export the activity again")
    if reader.truncated:
        repairs.append("the gzip stream is cut short; read what it holds")
    end, truncated = _check_structure(data, path, repairs)
    truncated = truncated or reader.truncated
    collector = _Collector()
    for frame in _frames(data[:end], path, truncated, repairs, fast=fast):
        if isinstance(frame, fitdecode.FitDataMessage):
            collector.message(frame)
    return _assemble(collector, path, repairs), collector.sessions


def _times(c: _Collector, repairs: list[str]
           ) -> tuple[NDArray[np.float64], list[tuple[float, str]],
                      list[tuple[float, list[float]]]]:
    """Record, timer-event and hrv-anchor times in Unix seconds, or from the first record
    when the file counts from the device's power-on."""
    raw_t = np.asarray(c.t, dtype=np.float64)
    if c.no_time:
        repairs.append(f"ignored {c.no_time} records without a timestamp")
    if raw_t.size and (raw_t < SYSTEM_TIME_LIMIT).all():
        repairs.append("the file's times count from the device's power-on (no real date): "
                       "the start time is unknown")
        events = [(s - raw_t.min(), k) for s, k in c.events]
        t = raw_t - raw_t.min()
        hrv = [(a - raw_t.min(), b) for a, b in c.hrv]
    else:
        # Rows with a power-on time among real dates are dropped later as far outliers.
        t = raw_t + FIT_EPOCH_UNIX
        events = [(s + FIT_EPOCH_UNIX, k) for s, k in c.events]
        hrv = [(a + FIT_EPOCH_UNIX, b) for a, b in c.hrv]
    return t, events, hrv


def _column(values: list[float]) -> NDArray[np.float64] | None:
    """A field's values, or None when no record holds one."""
    array = np.asarray(values, dtype=np.float64)
    return array if np.isfinite(array).any() else None


def _speed_and_power(c: _Collector, repairs: list[str]
                     ) -> tuple[NDArray[np.float64] | None, str, NDArray[np.float64] | None]:
    """Speed (enhanced when given) with the field it came from, and power (native, else a
    developer field)."""
    enhanced, plain = _column(c.enhanced_speed), _column(c.speed)
    speed, speed_field = (enhanced, "enhanced_speed") if enhanced is not None else (plain, "speed")
    power = _column(c.power)
    if power is None:
        power = _column(c.dev_power)
        if power is not None:
            repairs.append("power: from a developer field (the file has no native power)")
    return speed, speed_field, power


def _heart_rate(c: _Collector, repairs: list[str]) -> NDArray[np.float64]:
    """The native heart rate, else a developer field's (see :func:`_is_dev_heart_rate`):
    a file with its heart rate there is not a file without heart rate."""
    hr = np.asarray(c.hr, dtype=np.float64)
    if _column(c.hr) is None and _column(c.dev_hr) is not None:
        repairs.append(f"heart rate: from the developer field '{c.dev_hr_name}' (the file "
                       "has no native heart rate)")
        return np.asarray(c.dev_hr, dtype=np.float64)
    return hr


def _rr(t: NDArray[np.float64], hr: NDArray[np.float64], keep: NDArray[np.bool_],
        hrv: list[tuple[float, list[float]]], repairs: list[str]
        ) -> NDArray[np.float64] | None:
    """The newest RR interval of each record from the hrv messages, or None."""
    if not (hrv and t.size):
        return None
    finite = t[np.isfinite(t)]
    steps = np.diff(np.sort(finite))
    step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1.0
    beats = _beat_times(hrv, float(finite.min()) if finite.size else 0.0, step, repairs)
    if beats is None:
        return None
    return rr_per_sample(t, np.isfinite(hr) & keep, beats)


def _profile_values(c: _Collector) -> dict[str, object]:
    """What the file says about the participant, numbers as floats; the zones' maximum
    heart rate before the user profile's."""
    values = dict(c.profile)
    user_max = values.pop("hr_max_user", None)
    values.setdefault("hr_max", user_max)
    sex = values.get("sex")
    values["sex"] = sex if isinstance(sex, str) else None
    return {k: (float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
            for k, v in values.items()}


def _assemble(c: _Collector, path: Path, repairs: list[str]) -> ActivityData:
    t, events, hrv = _times(c, repairs)
    keep, segment = _apply_pauses(t, events, repairs)
    hr = _heart_rate(c, repairs)
    speed, speed_field, power = _speed_and_power(c, repairs)
    rr = _rr(t, hr, keep, hrv, repairs)

    def kept(array: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
        return None if array is None else array[keep]

    sports = c.sports
    sport = sports.get(_SESSION) or sports.get(_SPORT) or sports.get(_LAP)
    return ActivityData(
        source=path,
        format="fit",
        t=t[keep],
        segment=segment[keep],
        hr=hr[keep],
        speed=kept(speed),
        cadence=kept(_column(c.cadence)),
        power=kept(power),
        distance=kept(_column(c.distance)),
        altitude=kept(_column(c.altitude)),
        rr_ms=kept(rr),
        speed_field=speed_field if speed is not None else None,
        sport=normalise_sport(sport),
        profile=lenient_profile(_profile_values(c), path, repairs),
        repairs=repairs,
    )


def read_fit(
    path: str | Path, *, profile: Profile | None = None, name: str | None = None
) -> Session:
    """Read a FIT activity file (``.fit`` or ``.fit.gz``) into a Session.

    Args:
        path: the file.
        profile: fields overriding what the file says about the participant.
        name: the session's name; default the file name without ``.fit``/``.fit.gz``.

    Raises:
        InputError: the file cannot be read as a FIT activity with heart rate; the message
            says why (not FIT, damaged, no records, no heart rate...).
    """
    return to_session(parse_fit(path), profile=profile, name=name, what_rows="record")


def _read(path: Path, options: ReadOptions) -> list[Session]:
    """One session per FIT session message; in a multisport file, a leg without usable
    heart rate (a swim) or with under 30 s of samples (a transition) is left out with a
    note on the others: a leg of one activity, not a failed recording."""
    parts = parse_fit_sessions(path)
    if len(parts) == 1:
        return [to_session(parts[0], profile=options.profile, name=options.name,
                           what_rows="record")]
    sessions: list[Session] = []
    left_out: list[str] = []
    first_error: InputError | None = None
    for part in parts:
        try:
            session = to_session(part, profile=options.profile, name=options.name,
                                 what_rows="record")
        except InputError as exc:
            first_error = first_error or exc
            left_out.append(f"{part.repairs[-1]}: {exc.reason}")
            continue
        if usable_span(session) < MIN_SESSION_S:  # a transition of seconds: no session
            left_out.append(f"{part.repairs[-1]}: under {MIN_SESSION_S:.0f} s of samples")
            continue
        sessions.append(session)
    if not sessions and first_error is not None:
        raise first_error
    if left_out:
        note = "left out " + "; ".join(left_out)
        sessions = [s.with_repairs([note]) for s in sessions]
    return sessions


READER = Reader(
    name="fit",
    title="Garmin FIT activity file",
    read=_read,
    suffixes=(".fit", ".fit.gz"),
    sniff=lambda head: len(head) >= 12 and head[8:12] == b".FIT",
    hint="export the activity from the watch or its app as a FIT file",
)
