"""EDF, EDF+ and BDF(+) files (``.edf``, ``.bdf``): acceleration and heart-rate channels,
read with NumPy.

The layout is the EDF specification (Kemp et al. 1992) and EDF+ (Kemp & Olivan 2003),
BioSemi's 24-bit BDF: a 256-byte ASCII header (version, patient, recording, start date
``dd.mm.yy`` and time ``hh.mm.ss``, header size, ``EDF+C``/``EDF+D`` in the reserved field,
number of data records, record duration, number of signals), 256 bytes per signal (label,
transducer, physical dimension, physical and digital minimum and maximum, prefiltering,
samples per record), then data records holding each signal's samples in turn as 16-bit
(EDF) or 24-bit (BDF) little-endian integers. A sample's physical value is
``(digital - dmin) * (pmax - pmin) / (dmax - dmin) + pmin``.

pyedflib (edflib) is the established reader it is checked against. It is not used here
because edflib refuses discontinuous EDF+D files ("the file is discontinuous and cannot
be read"), which wearables that pause write, and because a reader of our own can bound
what a damaged header makes it allocate by the file's real size.

Times: the header's start (two-digit years 85-99 are 1985-1999, else 20xx; EDF+ gives the
four-digit year in the recording field), plus the sub-second offset of the first data
record's time-keeping annotation in EDF+. The start is read as UTC (EDF stores local
time without a zone; the repairs say so), then in the study's zone by
:func:`dosewatch.ingest.clock.localize`. In EDF+D each record starts at the time its
time-keeping annotation gives; otherwise record ``k`` starts at ``k * duration``. Sample
``i`` of a record is at its start plus ``i * duration / samples per record``.

Channels:

- **Acceleration**: three channels whose labels name acceleration (``acc``, ``accel``,
  ``accelerometer``) and the axes x, y, z (``ACC X``, ``Accelerometer_Y``, ``AccZ``), at
  one rate. Units ``g``, ``mg``, ``m/s2`` (``m/s^2``, ``m/s²``) are turned into g; a blank
  or unknown unit is inferred from the median magnitude (1 g, 1000 mg or 9.81 m/s²), with
  a repair note, and refused when it fits none.
- **Heart rate**: a channel labelled as heart rate (``HR``, ``Heart Rate``, ``Pulse``,
  not ``HRV``) in beats per minute becomes the session's heart rate.
- **ECG** (a label naming ECG/EKG, or a lead: ``MLII``, ``II``, ``Lead II``, ``V5``...):
  when the file has no usable heart-rate channel, the heart rate (and RR intervals) is
  derived from the first ECG channel that gives a trustworthy one, with
  :func:`dosewatch.ingest.ecg.heart_rate_from_ecg` (an R-peak detector validated on
  expert-annotated PhysioNet recordings, see ``tests/data/edf/SOURCES.md``). The repairs
  say which channel, how many beats and how many RR intervals were removed, or why an ECG
  gave no heart rate. When the file has a heart-rate channel, that is used and the ECG is
  not needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ...session import Session
from ..ecg import heart_rate_from_ecg
from ..rawacc import acc_session, check_samples, check_size, printable, refuse
from ..registry import Reader, ReadOptions

__all__ = ["read_edf"]

HINT = "export the recording again as EDF/EDF+ from the device's software"
G = 9.80665
_ACC = re.compile(r"acc(el(erometer|eration)?)?", re.IGNORECASE)
_AXIS = re.compile(r"(?:^|[^a-z])([xyz])(?:$|[^a-z])|acc(?:el(?:erometer|eration)?)?[ _-]?([xyz])",
                   re.IGNORECASE)
_HR = re.compile(r"(^|[^a-z])(hr|heart ?rate|pulse( ?rate)?|puls)($|[^a-z])", re.IGNORECASE)
_ECG = re.compile(r"(^|[^a-z])(ecg|ekg)|^(lead[ _-]?)?(i{1,3}|ml(i{1,3}|[123])|a?v[rlf]|v[1-6])$",
                  re.IGNORECASE)
UNITS_G = {"g": 1.0, "mg": 1e-3, "m/s2": 1 / G, "m/s^2": 1 / G, "m/s²": 1 / G,
           "ms-2": 1 / G, "m*s-2": 1 / G}
ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
BPM_UNITS = {"bpm", "1/min", "beats/min", "/min", "b/min", "beat/min", "min-1", ""}


@dataclass(frozen=True)
class Signal:
    label: str
    unit: str
    pmin: float
    pmax: float
    dmin: float
    dmax: float
    per_record: int
    offset: int  # sample offset within a record


@dataclass(frozen=True)
class Header:
    bdf: bool
    plus: str  # "", "EDF+C", "EDF+D"
    start: datetime
    n_records: int
    duration: float
    signals: list[Signal]
    header_bytes: int
    record_bytes: int


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


def _float(path: Path, raw: bytes, what: str) -> float:
    try:
        value = float(_text(raw))
    except ValueError:
        raise refuse(path, f"the EDF header's {what} is not a number "
                     f"('{printable(raw, 12)}'): the header is damaged", HINT) from None
    if not np.isfinite(value):
        raise refuse(path, f"the EDF header's {what} is not a finite number", HINT)
    return value


def _start(path: Path, head: bytes) -> datetime:
    date, clock = _text(head[168:176]), _text(head[176:184])
    m = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", date)
    c = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", clock)
    if not (m and c):
        raise refuse(path, f"the EDF start date/time '{printable(head[168:184], 16)}' is not "
                     "dd.mm.yy hh.mm.ss: the header is damaged", HINT)
    day, month, yy = (int(v) for v in m.groups())
    year = 1900 + yy if yy >= 85 else 2000 + yy
    plus = re.search(r"Startdate \d\d-[A-Z]{3}-(\d{4})", _text(head[88:168]))
    if plus:
        year = int(plus.group(1))
    try:
        return datetime(year, month, day, *(int(v) for v in c.groups()), tzinfo=UTC)
    except ValueError:
        raise refuse(path, f"the EDF start '{date} {clock}' is not a real date", HINT) from None


def _header(path: Path, head: bytes, size: int) -> Header:
    bdf = head[:8] == b"\xffBIOSEMI"
    if not bdf and head[:8] != b"0       ":
        raise refuse(path, f"not an EDF or BDF file: it starts with '{printable(head, 8)}', "
                     "not the EDF version '0'", "check that this is an EDF/EDF+ file")
    ns = int(_float(path, head[252:256], "number of signals"))
    if not 1 <= ns <= 1024:
        raise refuse(path, f"the EDF header announces {ns} signals", HINT)
    header_bytes = int(_float(path, head[184:192], "header size"))
    if header_bytes != 256 * (ns + 1):
        raise refuse(path, f"the EDF header size ({header_bytes}) does not match its "
                     f"{ns} signals: the header is damaged", HINT)
    if size < header_bytes:
        raise refuse(path, f"the file is truncated inside its header ({size} of "
                     f"{header_bytes} bytes)", HINT)
    n_records = int(_float(path, head[236:244], "number of data records"))
    duration = _float(path, head[244:252], "record duration")
    if not 0 < duration <= 86_400:
        raise refuse(path, f"the EDF record duration is {duration:g} s: the file holds no "
                     "signal samples (or its header is damaged)", HINT)
    reserved = _text(head[192:236]).upper()
    plus = "EDF+D" if reserved.startswith(("EDF+D", "BDF+D")) else \
        "EDF+C" if reserved.startswith(("EDF+C", "BDF+C")) else ""
    sh = head[256:header_bytes]

    def column(start: int, width: int) -> list[bytes]:
        base = start * ns
        return [sh[base + k * width : base + (k + 1) * width] for k in range(ns)]

    labels, units = column(0, 16), column(16 + 80, 8)
    pmin, pmax = column(16 + 80 + 8, 8), column(16 + 80 + 16, 8)
    dmin, dmax = column(16 + 80 + 24, 8), column(16 + 80 + 32, 8)
    spr = column(16 + 80 + 40 + 80, 8)
    signals, offset = [], 0
    width = 3 if bdf else 2
    for k in range(ns):
        per = int(_float(path, spr[k], f"samples per record of signal {k + 1}"))
        if not 1 <= per <= 10_000_000:
            raise refuse(path, f"signal {k + 1} has {per} samples per record", HINT)
        signals.append(Signal(_text(labels[k]), _text(units[k]),
                              _float(path, pmin[k], "physical minimum"),
                              _float(path, pmax[k], "physical maximum"),
                              _float(path, dmin[k], "digital minimum"),
                              _float(path, dmax[k], "digital maximum"), per, offset))
        offset += per
    return Header(bdf, plus, _start(path, head), n_records, duration, signals,
                  header_bytes, offset * width)


def _samples(records: NDArray, signal: Signal, bdf: bool) -> NDArray[np.float64]:
    """One signal's digital values, record after record (flattened), as float64."""
    if bdf:
        b = records[:, 3 * signal.offset : 3 * (signal.offset + signal.per_record)]
        b = b.reshape(records.shape[0], signal.per_record, 3).astype(np.int32)
        v = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.ravel().astype(np.float64)
    return records[:, signal.offset : signal.offset + signal.per_record].ravel().astype(
        np.float64)


def _physical(path: Path, digital: NDArray[np.float64], s: Signal) -> NDArray[np.float64]:
    if s.dmax == s.dmin:
        raise refuse(path, f"signal '{printable(s.label.encode(), 16)}' has equal digital "
                     "minimum and maximum: its values cannot be scaled", HINT)
    return (digital - s.dmin) * ((s.pmax - s.pmin) / (s.dmax - s.dmin)) + s.pmin


def _annotation_onsets(records: NDArray, signal: Signal, bdf: bool) -> NDArray[np.float64]:
    """Each record's time-keeping annotation (EDF+: the first TAL, ``+onset\\x14\\x14``),
    seconds from the file's start; NaN where a record has none."""
    width = 3 if bdf else 1  # BDF records are bytes, EDF records 16-bit samples
    raw = np.ascontiguousarray(
        records[:, width * signal.offset : width * (signal.offset + signal.per_record)])
    raw = raw.view(np.uint8).reshape(records.shape[0], -1)[:, :24]
    sign = np.where(raw[:, 0] == ord("-"), -1.0, 1.0)
    ok = (raw[:, 0] == ord("+")) | (raw[:, 0] == ord("-"))
    body = raw[:, 1:].copy()
    stop = np.cumsum(body == 0x14, axis=1) > 0
    body[stop] = 0
    digit = (body >= ord("0")) & (body <= ord("9"))
    dot = body == ord(".")
    ok &= ((digit | dot | (body == 0)).all(axis=1) & (dot.sum(axis=1) <= 1)
           & digit.any(axis=1) & stop.any(axis=1))
    later = np.cumsum(digit[:, ::-1], axis=1)[:, ::-1] - digit
    value = (np.where(digit, body - ord("0"), 0) * 10.0 ** later).sum(axis=1)
    decimals = (digit & (np.cumsum(dot, axis=1) > 0)).sum(axis=1)
    return np.where(ok, sign * value / 10.0 ** decimals, np.nan)


def _axis(label: str) -> str | None:
    if not _ACC.search(label):
        return None
    m = _AXIS.search(label)
    if not m:
        return None
    return (m.group(1) or m.group(2)).lower()


def _to_g(path: Path, columns: list[NDArray[np.float64]], units: list[str],
          repairs: list[str]) -> NDArray[np.float32]:
    """The three axes in g: known units converted; unknown ones inferred together from the
    median magnitude of the vector (about 1 g, 1000 mg or 9.81 m/s² while worn)."""
    keys = [u.strip().lower().replace(" ", "") for u in units]
    if all(k in UNITS_G for k in keys):
        return np.column_stack([c * UNITS_G[k] for c, k in zip(columns, keys, strict=True)]
                               ).astype(np.float32)
    xyz = np.column_stack(columns)
    magnitude = np.sqrt((xyz**2).sum(axis=1))
    magnitude = magnitude[np.isfinite(magnitude)]
    level = float(np.median(magnitude)) if magnitude.size else float("nan")
    unit = printable(units[0].encode(), 8)
    for scale, name, lo, hi in ((1.0, "g", 0.3, 3.0), (1e-3, "mg", 300, 3000),
                                (1 / G, "m/s²", 3.0, 30.0)):
        if lo <= level <= hi:
            repairs.append(f"acceleration unit '{unit}' not known: taken as {name} from the "
                           "typical magnitude of the samples")
            return (xyz * scale).astype(np.float32)
    raise refuse(path, f"the acceleration channels' unit '{unit}' is not g, mg or m/s², and "
                 "the values do not tell which",
                 "set the physical dimension of the acceleration channels to g, mg or m/s2")


@dataclass
class Contents:
    """A decoded EDF/BDF file: its header, records and the start time of each record."""

    path: Path
    header: Header
    records: NDArray
    record_start: NDArray[np.float64]  # seconds from the start, NaN: record not placed
    first_offset: float  # EDF+: the first record's time-keeping offset (s)
    repairs: list[str]

    @property
    def t0_unix(self) -> float:
        return self.header.start.timestamp() + self.first_offset

    def times(self, s: Signal) -> NDArray[np.float64]:
        """Sample times of a signal, seconds from :attr:`t0_unix`."""
        step = self.header.duration / s.per_record
        t = self.record_start[:, None] + np.arange(s.per_record)[None, :] * step
        return t[np.isfinite(self.record_start)].ravel()

    def values(self, s: Signal) -> NDArray[np.float64]:
        """Physical values of a signal (its unit), for the placed records."""
        n = self.records.shape[0]
        v = _physical(self.path, _samples(self.records, s, self.header.bdf), s)
        return v.reshape(n, s.per_record)[np.isfinite(self.record_start)].ravel()


def decode(path: str | Path) -> Contents:
    """Header, data records and record times of an EDF/EDF+/BDF file.

    Raises:
        InputError: not EDF/BDF, a damaged header, or no whole data record.
    """
    path = Path(path)
    size = check_size(path, 256, "an EDF header (256 bytes)", HINT)
    with open(path, "rb") as fh:
        head = fh.read(256)
        try:
            ns = int(head[252:256].decode("latin-1").strip())
        except ValueError:
            ns = 0
        head += fh.read(256 * max(min(ns, 1024), 0))
        header = _header(path, head, size)
        repairs: list[str] = []
        available = (size - header.header_bytes) // header.record_bytes
        n = available
        if header.n_records >= 0 and header.n_records != available:
            if header.n_records < available:
                n = header.n_records
                repairs.append(f"ignored bytes after the {n} data records the header "
                               "announces")
            else:
                repairs.append(f"the header announces {header.n_records} data records, the "
                               f"file holds {available}: it was cut short")
        if n <= 0:
            raise refuse(path, "the file holds no whole data record", HINT)
        fh.seek(header.header_bytes)
        data = fh.read(n * header.record_bytes)
    if header.bdf:
        records = np.frombuffer(data, dtype=np.uint8).reshape(n, header.record_bytes)
    else:
        records = np.frombuffer(data, dtype="<i2").reshape(n, header.record_bytes // 2)
    annotations = [s for s in header.signals if s.label in ANNOTATION_LABELS]
    record_start = np.arange(n) * header.duration
    first_offset = 0.0
    if annotations:
        onsets = _annotation_onsets(records, annotations[0], header.bdf)
        if np.isfinite(onsets[0]):
            first_offset = float(onsets[0])
        if header.plus == "EDF+D":
            bad = ~np.isfinite(onsets)
            if bad.all():
                raise refuse(path, "a discontinuous EDF+ file without time-keeping "
                             "annotations: its records cannot be placed in time", HINT)
            if bad.any():
                repairs.append(f"dropped {int(bad.sum())} data records without a "
                               "time-keeping annotation")
            record_start = onsets - first_offset
    return Contents(path, header, records, record_start, first_offset, repairs)


MAPPED = ("x", "y", "z", "hr", "ecg")
"""The ``--columns`` names an EDF's channels can be given by."""


def _mapped(path: Path, signals: list[Signal], annotations: list[Signal],
            mapping: Mapping[str, str]) -> dict[str, Signal]:
    """The channels ``--columns`` names (:data:`MAPPED`), by label (case-insensitive) or
    by number counting from 1.

    Raises:
        InputError: a name given matches no channel (the labels found are listed).
    """
    usable = [s for s in signals if s not in annotations]
    out: dict[str, Signal] = {}
    for role in MAPPED:
        wanted = mapping.get(role)
        if wanted is None:
            continue
        key = wanted.strip().lower()
        hit = next((s for s in usable if s.label.strip().lower() == key), None)
        if hit is None and key.isdigit() and 1 <= int(key) <= len(signals):
            hit = signals[int(key) - 1] if signals[int(key) - 1] in usable else None
        if hit is None:
            labels = ", ".join(printable(s.label.encode(), 16) for s in usable)[:300]
            raise refuse(path, f"--columns {role}={printable(wanted.encode(), 24)}: no such "
                         f"channel (found: {labels})", "give the channel's label as in the "
                         "header, or its number counting from 1")
        out[role] = hit
    return out


def _channels(signals: list[Signal], annotations: list[Signal],
              mapped: Mapping[str, Signal] | None = None
              ) -> tuple[dict[str, Signal], list[Signal], list[Signal]]:
    """The signals by what they hold: acceleration by axis (the first of each), heart
    rate, ECG; those ``mapped`` (named with ``--columns``) first, the others by their
    labels; annotations and other signals are left out."""
    mapped = mapped or {}
    acc: dict[str, Signal] = {a: mapped[a] for a in "xyz" if a in mapped}
    hr = [mapped["hr"]] if "hr" in mapped else []
    ecg = [mapped["ecg"]] if "ecg" in mapped else []
    taken = set(map(id, mapped.values()))
    for s in signals:
        if s in annotations or id(s) in taken:
            continue
        axis = _axis(s.label)
        if axis and axis not in acc:
            acc[axis] = s
        elif _HR.search(s.label) and "hrv" not in s.label.lower():
            hr.append(s)
        elif _ECG.search(s.label):
            ecg.append(s)
    return acc, hr, ecg


def _acceleration(path: Path, contents: Contents, acc: dict[str, Signal], repairs: list[str]
                  ) -> tuple[NDArray[np.float64] | None, NDArray[np.float32] | None]:
    """The acceleration's times and samples in g, or (None, None) without all three axes."""
    if len(acc) == 3:
        check_samples(path, contents.records.shape[0] * acc["x"].per_record)
        rates = {acc[a].per_record for a in "xyz"}
        if len(rates) != 1:
            raise refuse(path, "the x, y and z acceleration channels have different rates",
                         "resample them to one rate when exporting")
        t_acc = contents.times(acc["x"])
        xyz = _to_g(path, [contents.values(acc[a]) for a in "xyz"],
                    [acc[a].unit for a in "xyz"], repairs)
        return t_acc, xyz
    if acc:
        repairs.append(f"only {len(acc)} acceleration axis channel(s) found "
                       f"({', '.join(acc[a].label for a in sorted(acc))}); acceleration not "
                       "used")
    return None, None


def _heart_rate(contents: Contents, hr: list[Signal], repairs: list[str]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """The first heart-rate channel in bpm (values outside 20-250 as gaps), or None."""
    if not hr:
        return None
    s = hr[0]
    if s.unit.strip().lower() not in BPM_UNITS:
        repairs.append(f"heart-rate channel '{s.label}' is in '{s.unit}', not beats per "
                       "minute: not used")
        return None
    bpm = contents.values(s)
    bpm = np.where((bpm >= 20) & (bpm <= 250), bpm, np.nan)
    return contents.times(s), bpm


def _ecg_heart_rate(contents: Contents, ecg: list[Signal], repairs: list[str]
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64],
                               NDArray[np.float64]] | None:
    """Heart rate and RR intervals from the first ECG channel that gives a trustworthy
    one (``(t, bpm, rr_ms)``), or None; the repairs say what was derived or why not."""
    for s in ecg:
        label = printable(s.label.encode(), 16)
        fs = s.per_record / contents.header.duration
        derived = heart_rate_from_ecg(contents.values(s), fs, contents.times(s))
        if not derived.ok:
            repairs.append(f"ECG channel '{label}' gave no heart rate: {derived.reason}")
            continue
        causes = ", ".join(f"{n} {why}" for why, n in derived.rejected.items() if n)
        repairs.append(
            f"heart rate derived from ECG channel '{label}' ({fs:g} Hz"
            f"{', inverted lead' if derived.polarity < 0 else ''}): {derived.n_beats} beats, "
            f"{derived.n_rejected} of {derived.n_intervals} RR intervals rejected as not "
            f"plausible{f' ({causes})' if causes else ''}")
        return derived.t, derived.bpm, derived.rr_ms
    return None


def read_edf(path: str | Path, options: ReadOptions | None = None) -> Session:
    """Read an EDF/EDF+/BDF file's acceleration and heart rate (from a heart-rate channel,
    else derived from an ECG channel) into one session.

    Raises:
        InputError: not EDF/BDF, a damaged header, or neither acceleration nor heart rate
            (a heart-rate channel, or an ECG that gives one).
    """
    path = Path(path)
    options = options or ReadOptions()
    contents = decode(path)
    header, repairs = contents.header, contents.repairs
    signals = header.signals
    annotations = [s for s in signals if s.label in ANNOTATION_LABELS]
    mapped = _mapped(path, signals, annotations, options.columns or {})
    acc, hr, ecg = _channels(signals, annotations, mapped)
    t_acc, xyz = _acceleration(path, contents, acc, repairs)
    hr_stream: tuple[NDArray[np.float64], ...] | None = _heart_rate(contents, hr, repairs)
    if ecg and hr_stream is not None:
        repairs.append("ECG channel(s) " + ", ".join(f"'{printable(s.label.encode(), 16)}'"
                                                     for s in ecg)
                       + " not needed: the file's heart-rate channel is used")
    elif ecg:
        hr_stream = _ecg_heart_rate(contents, ecg, repairs)
    if xyz is None and hr_stream is None:
        labels = ", ".join(printable(s.label.encode(), 16) for s in signals
                           if s not in annotations)[:300]
        if ecg:
            why = "; ".join(r for r in repairs if r.startswith("ECG channel '"))
            raise refuse(path, f"no acceleration (x, y, z) or heart-rate channel, and no "
                         f"trustworthy heart rate from the ECG ({why})",
                         "check the ECG electrodes' contact, or export the device's "
                         "heart-rate channel")
        raise refuse(path, f"no acceleration (x, y, z), heart-rate or ECG channel among the "
                     f"signals ({labels})",
                     "name them with --columns x=LABEL,y=LABEL,z=LABEL, hr=LABEL (bpm) or "
                     "ecg=LABEL, or label the channels like 'ACC X', 'ACC Y', 'ACC Z' and "
                     "'HR' or 'ECG'")
    t0_unix = contents.t0_unix
    repairs.insert(0, (
        f"{'BDF' if header.bdf else 'EDF'}{'+' + header.plus[-1] if header.plus else ''}: "
        f"{len(signals)} signals, {contents.records.shape[0]} records of "
        f"{header.duration:g} s; start "
        f"{header.start:%Y-%m-%d %H:%M:%S} taken as UTC (EDF stores local time)"))
    if xyz is None:
        from ...session import build_session
        from ..registry import input_stem
        t_hr, *values = hr_stream  # type: ignore[misc]
        return build_session(options.name or input_stem(path), hr=(t_hr + t0_unix, *values),
                             profile=options.profile, source=str(path), format="edf",
                             start_time=None, repairs=tuple(repairs))
    first = float(t_acc[0]) if t_acc.size else 0.0
    return acc_session(path, options, t=t_acc - first, xyz=xyz, t0_unix=t0_unix + first,
                       format="edf", repairs=repairs,
                       hr=None if hr_stream is None else (hr_stream[0] - first, *hr_stream[1:]))


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return [read_edf(path, options)]


READER = Reader(
    name="edf",
    title="EDF/EDF+/BDF recording with acceleration or heart-rate channels",
    read=_read,
    suffixes=(".edf", ".bdf"),
    sniff=lambda head: head[:8] in (b"0       ", b"\xffBIOSEMI") and len(head) >= 256
    and head[168:170].isdigit(),
    hint="export the recording as EDF/EDF+ with acceleration channels (ACC X/Y/Z) and/or "
    "a heart-rate channel (HR, bpm)",
)
