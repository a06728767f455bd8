"""Byte-level codecs for the Bluetooth Low Energy characteristics dosewatch reads.

Pure functions, no radio: each ``decode_*`` turns the bytes of one notification (or read)
into a typed value, and each ``encode_*`` does the reverse for the virtual peripherals used
in tests. The layouts and verified vectors are in ``ble-protocols.md``; in short:

==========================  =============================  ==================================
characteristic              decoder                        value
==========================  =============================  ==================================
Heart Rate Measurement      :func:`decode_heart_rate`      :class:`HeartRateMeasurement`
RSC Measurement (foot pod)  :func:`decode_rsc`             :class:`RscMeasurement`
FTMS Treadmill Data         :func:`decode_treadmill`       :class:`TreadmillData`
Battery Level               :func:`decode_battery`         percent
Polar PMD control point     :func:`decode_pmd_response`    :class:`PmdResponse`
Polar PMD data (ACC)        :func:`decode_pmd_frame`       :class:`PmdFrame`
==========================  =============================  ==================================

Liberal in what they accept, exact in what they report. As the Bluetooth convention asks
(and the Polar SDK, Nordic's libraries, Bumble and bleakheart do), reserved flag bits are
ignored, and bytes after the last field a packet's flags define (a walking pad's step
count, zero padding, an odd byte after the RR values) are skipped: the defined fields are
decoded and each such liberty is reported in the value's ``quirks`` (``"<kind>: <detail>"``,
e.g. ``"ftms/trailing-bytes: 3 bytes (5F 00 00)"``), so a recorder can note it. Only bytes
that cannot be read unambiguously raise :class:`ProtocolError`, never anything else, so a
recorder can store the raw bytes, count the failure under :attr:`ProtocolError.kind` and
go on. Encoders are for emulators and tests; given a value
that the layout cannot carry they raise :class:`ValueError` (a programming error).

All multi-byte fields are little-endian. UUIDs are Bleak-style lowercase 128-bit strings.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import DosewatchError

__all__ = [
    "BATTERY_LEVEL",
    "BATTERY_SERVICE",
    "BODY_SENSOR_LOCATION",
    "BODY_SENSOR_LOCATIONS",
    "FTMS_SERVICE",
    "HRS_SERVICE",
    "HR_MEASUREMENT",
    "PMD_CONTROL",
    "PMD_DATA",
    "PMD_EPOCH_UNIX_S",
    "PMD_SERVICE",
    "RSC_FEATURE",
    "RSC_MEASUREMENT",
    "RSC_SERVICE",
    "TREADMILL_DATA",
    "HeartRateMeasurement",
    "PmdFrame",
    "PmdResponse",
    "PmdTimeline",
    "ProtocolError",
    "RscMeasurement",
    "TreadmillData",
    "decode_battery",
    "decode_body_sensor_location",
    "decode_heart_rate",
    "decode_pmd_frame",
    "decode_pmd_response",
    "decode_pmd_stop_notice",
    "decode_rsc",
    "decode_treadmill",
    "encode_heart_rate",
    "encode_pmd_command",
    "encode_pmd_features",
    "encode_pmd_frame",
    "encode_pmd_response",
    "encode_pmd_settings",
    "encode_rsc",
    "encode_treadmill",
    "parse_pmd_command",
    "pmd_features",
    "pmd_samples_to_g",
    "quirk_kind",
    "uuid16",
]

Bytes = bytes | bytearray | memoryview


class ProtocolError(DosewatchError):
    """Bytes that do not follow the characteristic's layout.

    Attributes:
        kind: a short, stable category such as ``"hr/truncated"`` or
            ``"pmd/unknown-frame-type"`` (``<protocol>/<what>``), for counting malformed
            notifications per kind and logging each kind once.
    """

    def __init__(
        self, message: str, *, kind: str, source: str | None = None, hint: str | None = None
    ):
        self.kind = kind
        super().__init__(f"{message} [{kind}]", source=source, hint=hint)


# ---------------------------------------------------------------------------------------
# UUIDs

SIG_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def uuid16(n: int) -> str:
    """The Bleak-style 128-bit form of a 16-bit SIG UUID: ``0x2A37`` →
    ``"00002a37-0000-1000-8000-00805f9b34fb"``."""
    if not 0 <= n <= 0xFFFF:
        raise ValueError(f"a 16-bit UUID must be 0..0xFFFF, got {n!r}")
    return f"0000{n:04x}{SIG_UUID_SUFFIX}"


HRS_SERVICE = uuid16(0x180D)
HR_MEASUREMENT = uuid16(0x2A37)
BODY_SENSOR_LOCATION = uuid16(0x2A38)
HR_CONTROL_POINT = uuid16(0x2A39)
BATTERY_SERVICE = uuid16(0x180F)
BATTERY_LEVEL = uuid16(0x2A19)
RSC_SERVICE = uuid16(0x1814)
RSC_MEASUREMENT = uuid16(0x2A53)
RSC_FEATURE = uuid16(0x2A54)
SENSOR_LOCATION = uuid16(0x2A5D)
FTMS_SERVICE = uuid16(0x1826)
FITNESS_MACHINE_FEATURE = uuid16(0x2ACC)
TREADMILL_DATA = uuid16(0x2ACD)
PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"


def _need(data: bytes, size: int, kind: str, what: str) -> None:
    if len(data) < size:
        raise ProtocolError(
            f"{what} needs {size} bytes, got {len(data)}", kind=kind
        )


def _trailing(data: bytes, end: int, kind: str) -> tuple[str, ...]:
    """The quirk for bytes after the last defined field (none when there are none)."""
    extra = data[end:]
    if not extra:
        return ()
    shown = extra[:8].hex(" ").upper() + (" ..." if len(extra) > 8 else "")
    return (f"{kind}: {len(extra)} byte{'s' if len(extra) != 1 else ''} ({shown})",)


def quirk_kind(quirk: str) -> str:
    """The stable kind of a quirk string (the part before ``": "``)."""
    return quirk.split(":", 1)[0]


def _check_uint(value: int, bits: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name} = {value} does not fit in an unsigned {bits}-bit field")
    return value


def _check_int(value: int, bits: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise ValueError(f"{name} = {value} does not fit in a signed {bits}-bit field")
    return value


# ---------------------------------------------------------------------------------------
# Heart Rate Measurement (0x2A37)

_HR_WIDE, _HR_CONTACT, _HR_CONTACT_SUPPORTED, _HR_ENERGY, _HR_RR = 1, 2, 4, 8, 16
_HR_RESERVED = 0xE0

BODY_SENSOR_LOCATIONS = {
    0: "other", 1: "chest", 2: "wrist", 3: "finger", 4: "hand", 5: "ear lobe", 6: "foot",
}


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One Heart Rate Measurement notification.

    Attributes:
        bpm: heart rate as sent, beats per minute. Straps send 0 (and some a stale value
            with ``contact`` False) when they measure nothing: see :attr:`reading`.
        contact: skin contact detected; None when the sensor does not report contact.
        energy_kj: energy expended since the last reset, kJ, when sent.
        rr_ticks: RR intervals in 1/1024 s, oldest first (0, 1, 2 ... per notification);
            kept as sent so that storage is lossless.
        quirks: what the decoder tolerated (reserved flag bits, bytes after the fields),
            ``"<kind>: <detail>"``; empty for a packet that follows the layout exactly.
    """

    bpm: int
    contact: bool | None = None
    energy_kj: int | None = None
    rr_ticks: tuple[int, ...] = ()
    quirks: tuple[str, ...] = ()

    @property
    def rr_ms(self) -> tuple[float, ...]:
        """RR intervals in milliseconds (ticks × 1000 / 1024, exact in binary floating point)."""
        return tuple(t * 1000.0 / 1024.0 for t in self.rr_ticks)

    @property
    def reading(self) -> int | None:
        """The heart rate as a measurement: None when the sensor says it has no skin
        contact or sends 0 (a heart rate of 0 bpm is never a reading)."""
        if self.contact is False or self.bpm == 0:
            return None
        return self.bpm


def decode_heart_rate(data: Bytes) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) notification.

    Reserved flag bits (5-7) are ignored; an odd byte after the RR values, or bytes after
    the last field without the RR flag, are skipped. Each is reported in ``quirks``.

    Raises:
        ProtocolError: ``hr/truncated`` (too short for the fields its flags announce).
    """
    data = bytes(data)
    _need(data, 2, "hr/truncated", "a heart rate measurement")
    flags = data[0]
    quirks: tuple[str, ...] = ()
    if flags & _HR_RESERVED:
        quirks += (f"hr/reserved-flags: 0x{flags & _HR_RESERVED:02X} ignored",)
    if flags & _HR_WIDE:
        _need(data, 3, "hr/truncated", "a heart rate measurement with a uint16 value")
        bpm = data[1] | (data[2] << 8)
        offset = 3
    else:
        bpm = data[1]
        offset = 2
    contact = bool(flags & _HR_CONTACT) if flags & _HR_CONTACT_SUPPORTED else None
    energy = None
    if flags & _HR_ENERGY:
        _need(data, offset + 2, "hr/truncated", "a heart rate measurement with energy")
        energy = data[offset] | (data[offset + 1] << 8)
        offset += 2
    rr: tuple[int, ...] = ()
    if flags & _HR_RR:
        n = (len(data) - offset) // 2
        rr = struct.unpack_from(f"<{n}H", data, offset)
        quirks += _trailing(data, offset + 2 * n, "hr/odd-rr-length")
    else:
        quirks += _trailing(data, offset, "hr/trailing-bytes")
    return HeartRateMeasurement(bpm=bpm, contact=contact, energy_kj=energy, rr_ticks=rr,
                                quirks=quirks)


def encode_heart_rate(m: HeartRateMeasurement, *, wide: bool = False) -> bytes:
    """Encode a Heart Rate Measurement; the value is uint16 when ``wide`` or above 255.

    The RR flag is set only when there are RR intervals, so
    ``decode_heart_rate(encode_heart_rate(m)) == m`` for every valid ``m``.
    """
    bpm = _check_uint(m.bpm, 16, "bpm")
    flags = 0
    out = bytearray()
    if wide or bpm > 0xFF:
        flags |= _HR_WIDE
        out += bpm.to_bytes(2, "little")
    else:
        out.append(bpm)
    if m.contact is not None:
        flags |= _HR_CONTACT_SUPPORTED | (_HR_CONTACT if m.contact else 0)
    if m.energy_kj is not None:
        flags |= _HR_ENERGY
        out += _check_uint(m.energy_kj, 16, "energy_kj").to_bytes(2, "little")
    if m.rr_ticks:
        flags |= _HR_RR
        for tick in m.rr_ticks:
            out += _check_uint(tick, 16, "rr tick").to_bytes(2, "little")
    return bytes([flags]) + bytes(out)


def decode_body_sensor_location(data: Bytes) -> str:
    """Decode a Body Sensor Location (0x2A38) read: ``"chest"``, ``"wrist"``, ... .

    Raises:
        ProtocolError: ``hr/bad-location`` (not one byte, or a value the spec reserves).
    """
    data = bytes(data)
    if len(data) != 1 or data[0] not in BODY_SENSOR_LOCATIONS:
        raise ProtocolError(
            f"body sensor location {data.hex(' ')!r} is not one known value",
            kind="hr/bad-location",
        )
    return BODY_SENSOR_LOCATIONS[data[0]]


# ---------------------------------------------------------------------------------------
# Running Speed and Cadence Measurement (0x2A53)

_RSC_STRIDE, _RSC_DISTANCE, _RSC_RUNNING = 1, 2, 4
_RSC_RESERVED = 0xF8


@dataclass(frozen=True, slots=True)
class RscMeasurement:
    """One RSC Measurement notification (foot pod).

    Attributes:
        speed_mps: instantaneous speed, m/s (resolution 1/256).
        cadence_spm: steps (foot falls of both feet) per minute.
        running: True when running, False walking (meaningful only when the pod's
            feature bit 2 is set).
        stride_m: stride length (same foot to same foot), m, resolution 0.01, when sent.
        distance_m: total distance, m, resolution 0.1, when sent.
        quirks: what the decoder tolerated (see the module text).
    """

    speed_mps: float
    cadence_spm: int
    running: bool
    stride_m: float | None = None
    distance_m: float | None = None
    quirks: tuple[str, ...] = ()


def decode_rsc(data: Bytes) -> RscMeasurement:
    """Decode an RSC Measurement (0x2A53) notification.

    Reserved flag bits (3-7) are ignored and bytes after the last field skipped, each
    reported in ``quirks``.

    Raises:
        ProtocolError: ``rsc/truncated``.
    """
    data = bytes(data)
    _need(data, 4, "rsc/truncated", "an RSC measurement")
    flags = data[0]
    quirks: tuple[str, ...] = ()
    if flags & _RSC_RESERVED:
        quirks += (f"rsc/reserved-flags: 0x{flags & _RSC_RESERVED:02X} ignored",)
    end = 4 + (2 if flags & _RSC_STRIDE else 0) + (4 if flags & _RSC_DISTANCE else 0)
    _need(data, end, "rsc/truncated", f"an RSC measurement with flags 0x{flags:02X}")
    quirks += _trailing(data, end, "rsc/trailing-bytes")
    speed = (data[1] | (data[2] << 8)) / 256.0
    offset = 4
    stride = distance = None
    if flags & _RSC_STRIDE:
        stride = (data[4] | (data[5] << 8)) / 100.0
        offset = 6
    if flags & _RSC_DISTANCE:
        distance = int.from_bytes(data[offset : offset + 4], "little") / 10.0
    return RscMeasurement(
        speed_mps=speed, cadence_spm=data[3], running=bool(flags & _RSC_RUNNING),
        stride_m=stride, distance_m=distance, quirks=quirks,
    )


def _scaled(value: float, scale: int, bits: int, name: str, signed: bool = False) -> int:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    raw = round(value * scale)
    return _check_int(raw, bits, name) if signed else _check_uint(raw, bits, name)


def encode_rsc(m: RscMeasurement) -> bytes:
    """Encode an RSC Measurement; stride and distance are sent when not None."""
    flags = _RSC_RUNNING if m.running else 0
    out = bytearray(_scaled(m.speed_mps, 256, 16, "speed_mps").to_bytes(2, "little"))
    out.append(_check_uint(m.cadence_spm, 8, "cadence_spm"))
    if m.stride_m is not None:
        flags |= _RSC_STRIDE
        out += _scaled(m.stride_m, 100, 16, "stride_m").to_bytes(2, "little")
    if m.distance_m is not None:
        flags |= _RSC_DISTANCE
        out += _scaled(m.distance_m, 10, 32, "distance_m").to_bytes(4, "little")
    return bytes([flags]) + bytes(out)


# ---------------------------------------------------------------------------------------
# FTMS Treadmill Data (0x2ACD)


@dataclass(frozen=True, slots=True)
class TreadmillData:
    """One FTMS Treadmill Data notification. A field is None when the record does not
    carry it or carries the "not available" marker.

    Attributes:
        speed_kmh: instantaneous speed, km/h (0.01). None in the leading parts of a record
            split over several notifications ("More Data", flag bit 0 set).
        incline_pct: inclination, % (0.1).
        distance_m: total distance, m.
        average_speed_kmh: km/h (0.01).
        ramp_angle_deg: ramp angle setting, degrees (0.1).
        elevation_gain_m, elevation_loss_m: positive / negative elevation gain, m (0.1).
        pace_raw, average_pace_raw: instantaneous / average pace as sent; the unit depends
            on the reading (GSS: uint16 seconds; 2017 XML: uint8, 0.1 km/min), see
            ``pace_bytes`` of :func:`decode_treadmill`.
        energy_kcal, energy_per_hour_kcal, energy_per_minute_kcal: expended energy, kcal.
        heart_rate_bpm: heart rate the machine measured, bpm.
        met: metabolic equivalent (0.1).
        elapsed_s, remaining_s: time, s.
        force_n, power_w: force on belt (N) and power output (W).
        quirks: what the decoder tolerated (reserved flag bits, bytes after the fields,
            the 2017 one-byte pace width), ``"<kind>: <detail>"``.
        pace_bytes: the pace width the record was decoded with (1 or 2), None when it
            carries no pace field. Not part of equality.
    """

    speed_kmh: float | None
    incline_pct: float | None = None
    distance_m: int | None = None
    average_speed_kmh: float | None = None
    ramp_angle_deg: float | None = None
    elevation_gain_m: float | None = None
    elevation_loss_m: float | None = None
    pace_raw: int | None = None
    average_pace_raw: int | None = None
    energy_kcal: int | None = None
    energy_per_hour_kcal: int | None = None
    energy_per_minute_kcal: int | None = None
    heart_rate_bpm: int | None = None
    met: float | None = None
    elapsed_s: int | None = None
    remaining_s: int | None = None
    force_n: int | None = None
    power_w: int | None = None
    quirks: tuple[str, ...] = ()
    pace_bytes: int | None = field(default=None, compare=False)

    @property
    def more_data(self) -> bool:
        """True for a leading part of a split record (it carries no speed)."""
        return self.speed_kmh is None

    @property
    def speed_mps(self) -> float | None:
        """Instantaneous speed in m/s."""
        return None if self.speed_kmh is None else self.speed_kmh / 3.6


# (flag bit, [(field, struct code, scale, "not available" raw marker)]). Bit 0 is inverted:
# speed is present when it is clear. A scale of 1 means an int field. "P" is a pace field
# whose width is chosen at decode time.
_FTMS_GROUPS: tuple[tuple[int, tuple[tuple[str, str, int, int | None], ...]], ...] = (
    (0, (("speed_kmh", "H", 100, None),)),
    (1, (("average_speed_kmh", "H", 100, None),)),
    (2, (("distance_m", "U24", 1, None),)),
    (3, (("incline_pct", "h", 10, 0x7FFF), ("ramp_angle_deg", "h", 10, 0x7FFF))),
    (4, (("elevation_gain_m", "H", 10, None), ("elevation_loss_m", "H", 10, None))),
    (5, (("pace_raw", "P", 1, None),)),
    (6, (("average_pace_raw", "P", 1, None),)),
    (7, (
        ("energy_kcal", "H", 1, 0xFFFF),
        ("energy_per_hour_kcal", "H", 1, 0xFFFF),
        ("energy_per_minute_kcal", "B", 1, 0xFF),
    )),
    (8, (("heart_rate_bpm", "B", 1, None),)),
    (9, (("met", "B", 10, None),)),
    (10, (("elapsed_s", "H", 1, None),)),
    (11, (("remaining_s", "H", 1, None),)),
    (12, (("force_n", "h", 1, 0x7FFF), ("power_w", "h", 1, 0x7FFF))),
)
_FTMS_RESERVED = 0xE000
_FTMS_PACE_BITS = (1 << 5) | (1 << 6)
_CODE_SIZE = {"B": 1, "H": 2, "h": 2, "U24": 3}


def _ftms_code(code: str, pace_bytes: int) -> str:
    return ("H" if pace_bytes == 2 else "B") if code == "P" else code


def _check_pace_bytes(pace_bytes: int) -> None:
    if pace_bytes not in (1, 2):
        raise ValueError(f"pace_bytes must be 1 or 2, got {pace_bytes!r}")


def _ftms_layout_end(flags: int, pace_bytes: int) -> int:
    """Where the fields announced by ``flags`` end with pace fields of ``pace_bytes``."""
    end = 2
    for bit, group in _FTMS_GROUPS:
        present = not flags & 1 if bit == 0 else bool(flags & (1 << bit))
        if present:
            end += sum(_CODE_SIZE[_ftms_code(code, pace_bytes)] for _, code, _, _ in group)
    return end


def _choose_pace_bytes(flags: int, length: int, fallback: int) -> int:
    """The pace width that fits a record of ``length`` bytes: the one that matches the
    length exactly, else ``fallback`` when the record is long enough for it (the extra
    bytes are then trailing), else the narrower one."""
    if not flags & _FTMS_PACE_BITS:
        return fallback
    ends = {w: _ftms_layout_end(flags, w) for w in (2, 1)}
    exact = [w for w, e in ends.items() if e == length]
    if exact:
        return exact[0]
    if length >= ends[fallback]:
        return fallback
    return 1


def decode_treadmill(data: Bytes, *, pace_bytes: int | None = None,
                     fallback_pace_bytes: int = 2) -> TreadmillData:
    """Decode an FTMS Treadmill Data (0x2ACD) notification.

    Reserved flag bits (13-15) are ignored and bytes after the last announced field
    (real walking pads append a step count) skipped, each reported in ``quirks``.

    Args:
        data: the notification's bytes.
        pace_bytes: width of each pace field: 2 (current GSS) or 1 (the 2017 SIG XML), or
            None to choose by length: the width whose layout matches the record's length
            exactly, else ``fallback_pace_bytes`` (a recorder passes the width it learned
            from the device's earlier records). Only records with flag bit 5 or 6 depend
            on it; the width used is in the result's ``pace_bytes``.
        fallback_pace_bytes: the width when the length does not decide.

    Raises:
        ProtocolError: ``ftms/truncated`` (shorter than the fields its flags announce).
    """
    _check_pace_bytes(fallback_pace_bytes)
    if pace_bytes is not None:
        _check_pace_bytes(pace_bytes)
    data = bytes(data)
    _need(data, 2, "ftms/truncated", "treadmill data")
    flags = data[0] | (data[1] << 8)
    quirks: tuple[str, ...] = ()
    if flags & _FTMS_RESERVED:
        quirks += (f"ftms/reserved-flags: 0x{flags & _FTMS_RESERVED:04X} ignored",)
    width = pace_bytes if pace_bytes is not None else _choose_pace_bytes(
        flags, len(data), fallback_pace_bytes)
    has_pace = bool(flags & _FTMS_PACE_BITS)
    if has_pace and width == 1 and pace_bytes is None:
        quirks += ("ftms/pace-1-byte: pace fields read as uint8 (2017 SIG XML)",)
    values: dict[str, Any] = {}
    offset = 2
    for bit, group in _FTMS_GROUPS:
        present = not flags & 1 if bit == 0 else bool(flags & (1 << bit))
        if not present:
            continue
        for name, code, scale, marker in group:
            code = _ftms_code(code, width)
            size = _CODE_SIZE[code]
            _need(data, offset + size, "ftms/truncated", f"treadmill data with flags 0x{flags:04X}")
            if code == "U24":
                raw = int.from_bytes(data[offset : offset + 3], "little")
            else:
                (raw,) = struct.unpack_from("<" + code, data, offset)
            offset += size
            if marker is not None and (raw & ((1 << (8 * size)) - 1)) == marker:
                continue
            values[name] = raw / scale if scale != 1 else raw
    quirks += _trailing(data, offset, "ftms/trailing-bytes")
    return TreadmillData(speed_kmh=values.pop("speed_kmh", None), quirks=quirks,
                         pace_bytes=width if has_pace else None, **values)


def encode_treadmill(d: TreadmillData, *, pace_bytes: int = 2) -> bytes:
    """Encode FTMS Treadmill Data: a field group is sent when any of its fields is not
    None (the others as "not available"); speed None sets "More Data" (bit 0).

    Raises:
        ValueError: a value that does not fit its field, equals a "not available"
            marker, or is missing from a group without a marker.
    """
    _check_pace_bytes(pace_bytes)
    flags = 0
    out = bytearray()
    for bit, group in _FTMS_GROUPS:
        given = [getattr(d, name) for name, *_ in group]
        if bit == 0:
            if given[0] is None:
                flags |= 1
                continue
        elif all(v is None for v in given):
            continue
        else:
            flags |= 1 << bit
        for (name, code, scale, marker), value in zip(group, given, strict=True):
            code = _ftms_code(code, pace_bytes)
            size = _CODE_SIZE[code]
            signed = code == "h"
            if value is None:
                if marker is None:
                    raise ValueError(f"{name} is None but its group is sent and has no n/a marker")
                raw = marker
            else:
                raw = (
                    _scaled(value, scale, 8 * size, name, signed)
                    if scale != 1
                    else (_check_int if signed else _check_uint)(value, 8 * size, name)
                )
                if marker is not None and (raw & ((1 << (8 * size)) - 1)) == marker:
                    raise ValueError(f"{name} = {value!r} equals the 'not available' marker")
            out += int(raw).to_bytes(size, "little", signed=signed and raw < 0)
    return flags.to_bytes(2, "little") + bytes(out)


# ---------------------------------------------------------------------------------------
# Battery Level (0x2A19)


def decode_battery(data: Bytes) -> int:
    """Decode a Battery Level read or notification: percent, 0-100.

    Raises:
        ProtocolError: ``battery/length`` (not exactly one byte), ``battery/out-of-range``.
    """
    data = bytes(data)
    if len(data) != 1:
        raise ProtocolError(f"battery level must be 1 byte, got {len(data)}", kind="battery/length")
    if data[0] > 100:
        raise ProtocolError(f"battery level {data[0]} % is above 100", kind="battery/out-of-range")
    return data[0]


# ---------------------------------------------------------------------------------------
# Polar Measurement Data (PMD): control point

PMD_OP_GET_SETTINGS = 0x01
PMD_OP_START = 0x02
PMD_OP_STOP = 0x03
PMD_OP_GET_SDK_SETTINGS = 0x04
PMD_OP_STATUS = 0x05

PMD_TYPE_ECG = 0
PMD_TYPE_PPG = 1
PMD_TYPE_ACC = 2
PMD_TYPE_PPI = 3
PMD_TYPE_GYRO = 5
PMD_TYPE_MAG = 6
PMD_TYPE_SKIN_TEMP = 7
PMD_TYPE_SDK_MODE = 9
PMD_OFFLINE_BIT = 0x80  # in a command's type byte: offline recording instead of a stream

PMD_SETTING_SAMPLE_RATE = 0
PMD_SETTING_RESOLUTION = 1
PMD_SETTING_RANGE = 2
PMD_SETTING_RANGE_MILLI = 3
PMD_SETTING_CHANNELS = 4
PMD_SETTING_FACTOR = 5
PMD_SETTING_SECURITY = 6
# Bytes per value of each setting type; the factor is an IEEE-754 float32.
PMD_SETTING_WIDTHS = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}

PMD_RESPONSE_CODE = 0xF0
PMD_FEATURES_CODE = 0x0F
PMD_STOP_NOTICE_CODE = 0x01
PMD_FEATURES_LENGTH = 17

PMD_STATUS_SUCCESS = 0
PMD_STATUS_TEXT = {
    0: "success",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}

# Sensor time counts nanoseconds from 2000-01-01T00:00:00; this is that instant in Unix s.
PMD_EPOCH_UNIX_S = 946_684_800


def _setting_bytes(stype: int, value: int | float) -> bytes:
    width = PMD_SETTING_WIDTHS.get(stype)
    if width is None:
        raise ValueError(f"unknown PMD setting type {stype!r}")
    if stype == PMD_SETTING_FACTOR:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ValueError(f"PMD factor must be a number, got {value!r}")
        return struct.pack("<f", float(value))
    return _check_uint(value, 8 * width, f"PMD setting {stype}").to_bytes(width, "little")


def _setting_value(stype: int, raw: bytes) -> int | float:
    if stype == PMD_SETTING_FACTOR:
        return struct.unpack("<f", raw)[0]
    return int.from_bytes(raw, "little")


def _parse_settings(data: bytes, *, single: bool) -> dict[int, tuple[int | float, ...]]:
    """Parse ``[type][count][count × value]...``. ``single``: every count must be 1."""
    result: dict[int, tuple[int | float, ...]] = {}
    offset = 0
    while offset < len(data):
        _need(data, offset + 2, "pmd/truncated", "a PMD setting entry")
        stype, count = data[offset], data[offset + 1]
        offset += 2
        width = PMD_SETTING_WIDTHS.get(stype)
        if width is None:
            raise ProtocolError(f"unknown PMD setting type {stype}", kind="pmd/unknown-setting")
        if single and count != 1:
            raise ProtocolError(
                f"PMD command setting {stype} has {count} values, expected 1",
                kind="pmd/bad-setting-count",
            )
        if stype in result:
            raise ProtocolError(f"PMD setting {stype} given twice", kind="pmd/duplicate-setting")
        end = offset + count * width
        _need(data, end, "pmd/truncated", f"PMD setting {stype} with {count} values")
        result[stype] = tuple(
            _setting_value(stype, data[o : o + width]) for o in range(offset, end, width)
        )
        offset = end
    return result


def encode_pmd_command(op: int, mtype: int, settings: dict[int, int] | None = None) -> bytes:
    """A PMD control point command: ``[op] [type] [setting type, 1, value]...``.

    Settings are written in the dict's order, each with count 1 and the width of
    :data:`PMD_SETTING_WIDTHS`.
    """
    out = bytearray([_check_uint(op, 8, "op"), _check_uint(mtype, 8, "measurement type")])
    for stype, value in (settings or {}).items():
        out += bytes([_check_uint(stype, 8, "setting type"), 1]) + _setting_bytes(stype, value)
    return bytes(out)


def parse_pmd_command(data: Bytes) -> tuple[int, int, dict[int, int | float]]:
    """Parse a PMD command (the emulator's side): ``(op, measurement type, settings)``.

    Raises:
        ProtocolError: ``pmd/truncated``, ``pmd/unknown-setting``,
            ``pmd/bad-setting-count``, ``pmd/duplicate-setting``.
    """
    data = bytes(data)
    _need(data, 2, "pmd/truncated", "a PMD command")
    settings = _parse_settings(data[2:], single=True)
    return data[0], data[1], {k: v[0] for k, v in settings.items()}


@dataclass(slots=True)
class PmdResponse:
    """A PMD control point answer (``F0 op type status more params...``).

    Attributes:
        op: the command's op code.
        mtype: the measurement type.
        status: 0 success, else see :data:`PMD_STATUS_TEXT`.
        more: non-zero when further answer indications follow; append their ``params``
            (see :meth:`extended`).
        params: the parameters (a get-settings answer's settings, a start answer's
            factor).
    """

    op: int
    mtype: int
    status: int
    more: int
    params: bytes

    @property
    def ok(self) -> bool:
        """True when the status is success."""
        return self.status == PMD_STATUS_SUCCESS

    @property
    def status_text(self) -> str:
        """The status in words."""
        return PMD_STATUS_TEXT.get(self.status, f"unknown status {self.status}")

    def extended(self, continuation: PmdResponse) -> PmdResponse:
        """This answer with a continuation's parameters appended and its ``more`` flag."""
        return PmdResponse(
            self.op, self.mtype, self.status, continuation.more, self.params + continuation.params
        )

    def settings(self) -> dict[int, tuple[int | float, ...]]:
        """A get-settings answer's parameters: setting type → allowed values.

        Parameters of one byte or none give an empty dict (as the Polar SDK does).

        Raises:
            ProtocolError: ``pmd/truncated``, ``pmd/unknown-setting``,
                ``pmd/duplicate-setting``.
        """
        if len(self.params) <= 1:
            return {}
        return _parse_settings(self.params, single=False)

    def factor(self) -> float | None:
        """The conversion factor of a start answer, or None when it carries none (the H10
        answers with one reserved byte)."""
        try:
            values = self.settings().get(PMD_SETTING_FACTOR)
        except ProtocolError:
            return None
        if not values:
            return None
        factor = float(values[0])
        return factor if math.isfinite(factor) and factor > 0 else None


def decode_pmd_response(data: Bytes) -> PmdResponse:
    """Decode a PMD control point indication that answers a command.

    Raises:
        ProtocolError: ``pmd/truncated`` (under 5 bytes), ``pmd/not-a-response`` (the
            first byte is not 0xF0, e.g. the 0x01 stop notice, see
            :func:`decode_pmd_stop_notice`).
    """
    data = bytes(data)
    if data[:1] != bytes([PMD_RESPONSE_CODE]):
        raise ProtocolError(
            f"PMD control point indication starts with {data[:1].hex() or 'nothing'}, "
            "not F0",
            kind="pmd/not-a-response",
        )
    _need(data, 5, "pmd/truncated", "a PMD control point answer")
    return PmdResponse(op=data[1], mtype=data[2], status=data[3], more=data[4], params=data[5:])


def encode_pmd_response(
    op: int, mtype: int, status: int, params: bytes = b"", more: int = 0
) -> bytes:
    """A PMD control point answer (the emulator's side)."""
    head = [PMD_RESPONSE_CODE, op, mtype, status, more]
    for name, value in zip(("code", "op", "type", "status", "more"), head, strict=True):
        _check_uint(value, 8, name)
    return bytes(head) + bytes(params)


def encode_pmd_settings(settings: dict[int, tuple[int | float, ...]]) -> bytes:
    """Parameters of a get-settings answer: ``[type][count][values...]`` per setting."""
    out = bytearray()
    for stype, values in settings.items():
        out += bytes([_check_uint(stype, 8, "setting type"), _check_uint(len(values), 8, "count")])
        for value in values:
            out += _setting_bytes(stype, value)
    return bytes(out)


def decode_pmd_stop_notice(data: Bytes) -> set[int]:
    """The measurement types a device says it stopped by itself (``01 type type...``).

    Raises:
        ProtocolError: ``pmd/not-a-stop-notice``.
    """
    data = bytes(data)
    if data[:1] != bytes([PMD_STOP_NOTICE_CODE]):
        raise ProtocolError("not a PMD stop notice (first byte is not 01)",
                            kind="pmd/not-a-stop-notice")
    return set(data[1:])


def pmd_features(data: Bytes) -> set[int]:
    """The measurement types a PMD feature read (``0F`` + bitmap) says are available.

    Bit ``i`` of the bitmap (little-endian across bytes) is measurement type ``i``:
    0 ECG, 1 PPG, 2 ACC, 3 PPI, 5 gyro, 6 magnetometer, 9 SDK mode, ...

    Raises:
        ProtocolError: ``pmd/not-features`` (does not start with 0F), ``pmd/truncated``.
    """
    data = bytes(data)
    if data[:1] != bytes([PMD_FEATURES_CODE]):
        raise ProtocolError(
            "PMD feature read does not start with 0F (did a control point answer arrive "
            "instead?)",
            kind="pmd/not-features",
        )
    _need(data, 2, "pmd/truncated", "a PMD feature read")
    bitmap = int.from_bytes(data[1:], "little")
    return {i for i in range(8 * (len(data) - 1)) if bitmap >> i & 1}


def encode_pmd_features(types: set[int]) -> bytes:
    """A PMD feature read (17 bytes): ``0F`` and a 16-byte bitmap of ``types``."""
    bitmap = 0
    for t in types:
        bitmap |= 1 << _check_uint(t, 7, "measurement type")
    return bytes([PMD_FEATURES_CODE]) + bitmap.to_bytes(PMD_FEATURES_LENGTH - 1, "little")


# ---------------------------------------------------------------------------------------
# Polar Measurement Data (PMD): data frames

PMD_COMPRESSED_BIT = 0x80
_PMD_HEADER = 10
# Bytes per channel value of uncompressed ACC frame types (0: int8, 1: int16, 2: int24).
_ACC_RAW_WIDTHS = {0: 1, 1: 2, 2: 3}
_MAX_DELTA_WIDTH = 32
_MAX_BLOCK = 255


@dataclass(frozen=True, slots=True, eq=False)
class PmdFrame:
    """One PMD data notification, decoded.

    Attributes:
        mtype: measurement type (2 = ACC).
        timestamp_ns: sensor time of the frame's *last* sample, ns since 2000-01-01 on the
            sensor's clock (which is wall time only if an app set it).
        frame_type: frame type without the compression bit.
        compressed: delta-compressed frame.
        samples: ``(n, channels)`` int64 raw values (units: see :func:`pmd_samples_to_g`).
    """

    mtype: int
    timestamp_ns: int
    frame_type: int
    compressed: bool
    samples: NDArray[np.int64]


def _signed_le(raw: NDArray[np.uint8], width: int) -> NDArray[np.int64]:
    """Little-endian two's complement integers of ``width`` bytes each."""
    b = raw.reshape(-1, width).astype(np.int64)
    value = np.zeros(b.shape[0], dtype=np.int64)
    for k in range(width):
        value |= b[:, k] << (8 * k)
    top = np.int64(1) << (8 * width - 1)
    return np.where(value & top, value - (top << 1), value)


def _delta_decode(payload: bytes, channels: int, resolution: int) -> NDArray[np.int64]:
    buf = np.frombuffer(payload, dtype=np.uint8)
    ref_width = (resolution + 7) // 8
    offset = channels * ref_width
    _need(payload, offset, "pmd/truncated", "a delta frame's reference sample")
    reference = _signed_le(buf[:offset], ref_width)
    blocks = [reference.reshape(1, channels)]
    end = len(payload)
    while offset < end:
        _need(payload, offset + 2, "pmd/truncated", "a delta block header")
        width, count = payload[offset], payload[offset + 1]
        offset += 2
        if not 1 <= width <= _MAX_DELTA_WIDTH:
            raise ProtocolError(
                f"delta block bit width {width} is outside 1-{_MAX_DELTA_WIDTH}",
                kind="pmd/bad-delta-width",
            )
        n_bits = width * count * channels
        n_bytes = (n_bits + 7) // 8
        _need(payload, offset + n_bytes, "pmd/truncated",
              f"a delta block of {count} samples × {width} bits")
        if count:
            bits = np.unpackbits(buf[offset : offset + n_bytes], bitorder="little")[:n_bits]
            weights = np.int64(1) << np.arange(width, dtype=np.int64)
            values = bits.reshape(-1, width).astype(np.int64) @ weights
            top = np.int64(1) << (width - 1)
            values = np.where(values & top, values - (top << 1), values)
            blocks.append(values.reshape(count, channels))
        offset += n_bytes
    steps = np.concatenate(blocks, axis=0)
    return np.cumsum(steps, axis=0)


def decode_pmd_frame(data: Bytes, *, channels: int = 3, resolution: int = 16) -> PmdFrame:
    """Decode a PMD data notification.

    Uncompressed ACC frames (types 0, 1, 2: int8, int16, int24 per axis) and
    delta-compressed frames of any measurement type are decoded.

    Args:
        data: the notification's bytes.
        channels: values per sample (3 for ACC).
        resolution: bits per value of the stream (the start command's resolution); sets
            the width of a compressed frame's reference sample.

    Raises:
        ProtocolError: ``pmd/truncated``, ``pmd/empty-frame``, ``pmd/unknown-frame-type``,
            ``pmd/unsupported-measurement`` (an uncompressed frame of a type other than
            ACC), ``pmd/bad-delta-width``, ``pmd/ragged-frame`` (bytes that are not a
            whole number of samples).
    """
    if not 1 <= channels <= 16:
        raise ValueError(f"channels must be 1-16, got {channels!r}")
    if not 1 <= resolution <= 32:
        raise ValueError(f"resolution must be 1-32 bits, got {resolution!r}")
    data = bytes(data)
    _need(data, _PMD_HEADER, "pmd/truncated", "a PMD data frame header")
    mtype = data[0] & 0x3F
    timestamp = int.from_bytes(data[1:9], "little")
    compressed = bool(data[9] & PMD_COMPRESSED_BIT)
    frame_type = data[9] & 0x7F
    payload = data[_PMD_HEADER:]
    if not payload:
        raise ProtocolError("PMD data frame holds no samples", kind="pmd/empty-frame")
    if compressed:
        samples = _delta_decode(payload, channels, resolution)
    else:
        if mtype != PMD_TYPE_ACC:
            raise ProtocolError(
                f"uncompressed PMD frames of measurement type {mtype} are not decoded",
                kind="pmd/unsupported-measurement",
            )
        width = _ACC_RAW_WIDTHS.get(frame_type)
        if width is None:
            raise ProtocolError(
                f"unknown uncompressed ACC frame type {frame_type}", kind="pmd/unknown-frame-type"
            )
        if len(payload) % (width * channels):
            raise ProtocolError(
                f"{len(payload)} sample bytes are not whole samples of {channels} × {width}",
                kind="pmd/ragged-frame",
            )
        raw = np.frombuffer(payload, dtype=np.uint8)
        samples = _signed_le(raw, width).reshape(-1, channels)
    return PmdFrame(mtype=mtype, timestamp_ns=timestamp, frame_type=frame_type,
                    compressed=compressed, samples=samples)


def _min_width(values: NDArray[np.int64]) -> int:
    """Smallest two's complement bit width holding every value (at least 1)."""
    magnitude = np.where(values < 0, ~values, values)
    return int(magnitude.max()).bit_length() + 1 if magnitude.size else 1


def encode_pmd_frame(
    timestamp_ns: int,
    samples: ArrayLike,
    *,
    frame_type: int = 1,
    compressed: bool = False,
    resolution: int = 16,
    mtype: int = PMD_TYPE_ACC,
) -> bytes:
    """Encode a PMD data frame (the emulator's side).

    Args:
        timestamp_ns: sensor time of the last sample, ns since 2000-01-01.
        samples: ``(n, channels)`` integers, n ≥ 1.
        frame_type: frame type without the compression bit.
        compressed: delta-compress: the first sample as reference (``resolution`` bits
            rounded up to bytes per value), then blocks of at most 255 deltas, each at the
            smallest bit width that holds its deltas.
        resolution: bits per value (compressed frames).
        mtype: measurement type.

    Raises:
        ValueError: values that do not fit the frame type, an empty frame, a bad
            timestamp, or deltas wider than 32 bits.
    """
    s = np.asarray(samples)
    if s.ndim != 2 or s.shape[0] < 1 or s.shape[1] < 1:
        raise ValueError(f"samples must have shape (n >= 1, channels), got {s.shape}")
    if not np.issubdtype(s.dtype, np.integer):
        raise ValueError(f"samples must be integers, got {s.dtype}")
    s = s.astype(np.int64)
    head = bytes([_check_uint(mtype, 6, "mtype")])
    head += _check_uint(timestamp_ns, 64, "timestamp_ns").to_bytes(8, "little")
    head += bytes([_check_uint(frame_type, 7, "frame_type") | (PMD_COMPRESSED_BIT * compressed)])
    if not compressed:
        width = _ACC_RAW_WIDTHS.get(frame_type)
        if width is None:
            raise ValueError(f"uncompressed frame type {frame_type} has no known sample layout")
        return head + _pack_signed(s.reshape(-1), width, "sample")
    if not 1 <= resolution <= 32:
        raise ValueError(f"resolution must be 1-32 bits, got {resolution!r}")
    out = bytearray(head)
    out += _pack_signed(s[0], (resolution + 7) // 8, "reference sample")
    deltas = np.diff(s, axis=0)
    for start in range(0, deltas.shape[0], _MAX_BLOCK):
        block = deltas[start : start + _MAX_BLOCK]
        values = block.reshape(-1)
        width = _min_width(values)
        if width > _MAX_DELTA_WIDTH:
            raise ValueError(f"deltas need {width} bits, more than {_MAX_DELTA_WIDTH}")
        unsigned = values & ((np.int64(1) << width) - 1)
        bits = ((unsigned[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8)
        out += bytes([width, block.shape[0]])
        out += np.packbits(bits.reshape(-1), bitorder="little").tobytes()
    return bytes(out)


def _pack_signed(values: NDArray[np.int64], width: int, name: str) -> bytes:
    lo, hi = -(1 << (8 * width - 1)), (1 << (8 * width - 1)) - 1
    if values.size and (values.min() < lo or values.max() > hi):
        raise ValueError(f"{name} values must be within {lo}..{hi} for {width}-byte fields")
    le = (values.astype("<i8").view(np.uint8)).reshape(-1, 8)[:, :width]
    return le.tobytes()


def pmd_samples_to_g(frame: PmdFrame, factor: float | None) -> NDArray[np.float64]:
    """ACC samples of a frame in g, ``(n, 3)`` float64, by the Polar SDK's unit rules.

    - uncompressed frames (types 0, 1, 2) are in mG; ``factor`` is not used;
    - compressed type 0 × ``factor`` is in g (Verity Sense, OH1);
    - compressed type 1 × ``factor`` is in mG (a missing factor counts as 1).

    Raises:
        ProtocolError: ``pmd/unsupported-measurement`` (not ACC),
            ``pmd/unknown-frame-type``, ``pmd/missing-factor`` (compressed type 0
            without the start answer's factor).
    """
    if frame.mtype != PMD_TYPE_ACC:
        raise ProtocolError(
            f"measurement type {frame.mtype} is not acceleration",
            kind="pmd/unsupported-measurement",
        )
    values = frame.samples.astype(np.float64)
    if not frame.compressed:
        return values / 1000.0
    if frame.frame_type == 0:
        if factor is None:
            raise ProtocolError(
                "a compressed ACC type 0 frame needs the start answer's conversion factor",
                kind="pmd/missing-factor",
            )
        return values * factor
    if frame.frame_type == 1:
        return values * (1.0 if factor is None else factor) / 1000.0
    raise ProtocolError(
        f"unknown compressed ACC frame type {frame.frame_type}", kind="pmd/unknown-frame-type"
    )


class PmdTimeline:
    """Sample times of consecutive frames of one PMD stream, by the Polar SDK's rule.

    With ``T`` the frame's timestamp, ``P`` the previous frame's and ``n`` its samples:
    the first frame's samples are spaced ``1/fs`` and end at ``T``; a later frame's are
    spaced ``(T − P)/n`` after ``P``. The last sample is always exactly ``T``.

    Keep one timeline per stream (measurement and frame type); :meth:`reset` it after a
    reconnect or when the sensor's clock was reset.

    Args:
        fs: the stream's sample rate, Hz.
        max_gap_s: when given, a frame that starts more than this many seconds later than
            ``n/fs`` after the previous one is treated as the first after a gap (spacing
            ``1/fs``) instead of stretching its samples across the gap. None keeps the
            SDK's rule.
    """

    def __init__(self, fs: float, *, max_gap_s: float | None = None):
        if not (isinstance(fs, int | float) and math.isfinite(fs) and fs > 0):
            raise ValueError(f"fs must be a positive number, got {fs!r}")
        if max_gap_s is not None and not max_gap_s >= 0:
            raise ValueError(f"max_gap_s must be >= 0, got {max_gap_s!r}")
        self.fs = float(fs)
        self.max_gap_s = max_gap_s
        self._previous: int | None = None

    @property
    def previous_ns(self) -> int | None:
        """The previous frame's timestamp, or None before the first frame."""
        return self._previous

    def reset(self) -> None:
        """Forget the previous frame: the next one is timed as a first frame."""
        self._previous = None

    def sample_times_ns(self, frame_timestamp_ns: int, n: int) -> NDArray[np.int64]:
        """Times (sensor ns) of the ``n`` samples of a frame stamped ``frame_timestamp_ns``.

        Raises:
            ProtocolError: ``pmd/time-backwards`` when the timestamp is not after the
                previous frame's (a duplicate frame or a reset sensor clock; the timeline
                is left unchanged, call :meth:`reset` to start over), ``pmd/empty-frame``
                when ``n < 1``.
        """
        t = int(frame_timestamp_ns)
        if n < 1:
            raise ProtocolError("a frame without samples has no sample times",
                                kind="pmd/empty-frame")
        if not 0 <= t < (1 << 63):
            raise ProtocolError(f"frame time {t} ns is outside 0..2^63", kind="pmd/bad-timestamp")
        p = self._previous
        if p is not None and t <= p:
            raise ProtocolError(
                f"frame time {t} ns is not after the previous frame's {p} ns",
                kind="pmd/time-backwards",
            )
        step = 1e9 / self.fs
        if p is not None and (
            self.max_gap_s is None or (t - p) <= n * step + self.max_gap_s * 1e9
        ):
            offsets = np.round(np.arange(1, n + 1) * ((t - p) / n)).astype(np.int64)
            times = np.int64(p) + offsets
            times[-1] = t
        else:
            offsets = np.round(np.arange(n - 1, -1, -1) * step).astype(np.int64)
            times = np.int64(t) - offsets
        self._previous = t
        return times
