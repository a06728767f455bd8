"""Apple Health exports: ``export.xml`` (or the ``export.zip`` the Health app writes, read
by :mod:`dosewatch.ingest.formats.archive`).

The export holds every sample the phone and watch ever stored: ``Record`` elements
(heart rate, distance, speed, steps... with ``startDate``, ``endDate``, ``value``, ``unit``)
and ``Workout`` elements (``workoutActivityType``, ``startDate``, ``endDate``, and in recent
exports a ``WorkoutRoute`` whose ``FileReference`` names a GPX file of the route). Each
workout becomes a session of its own:

- **heart rate**: the ``HKQuantityTypeIdentifierHeartRate`` records whose ``startDate``
  lies within the workout (bpm; ``count/min``);
- **speed**, where present: from the workout's route GPX (its ``speed`` extension, or the
  positions), else from the ``DistanceWalkingRunning`` / ``DistanceCycling`` records within
  the workout (distance over each record's own interval, placed at its end; km, mi or m),
  else from ``RunningSpeed`` / ``CyclingSpeed`` records (m/s, km/hr, mi/hr);
- **sport**: the activity type (``HKWorkoutActivityTypeRunning`` -> ``running``);
- **profile**: age on the workout's day from ``Me``'s date of birth, and sex.

Workouts without heart rate are left out with a note on the others; an export without any
workout with heart rate is refused with what it does hold.

Exports run to gigabytes, so the XML is streamed through expat (never loaded whole) with
the project's hardening (:func:`~dosewatch.ingest.activity.hardened_parser`): the DOCTYPE
that Apple writes (an internal DTD of element and attribute declarations) is allowed, any
entity declaration or external reference is refused. Memory stays bounded: only heart
rate, distance and speed records are kept, as arrays (16 bytes a sample), their dates
parsed in batches by Arrow; at most :data:`MAX_SAMPLES` of each kind.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import InputError
from ...session import Session
from ..activity import (
    ActivityData,
    hardened_parser,
    lenient_profile,
    normalise_sport,
    open_activity,
    to_session,
)
from ..arrow import to_flags, to_numbers
from ..registry import Reader, ReadOptions
from ..tables import to_seconds

__all__ = ["READER", "HealthExport", "health_sessions", "parse_health"]

MAX_XML_BYTES = 32 << 30
MAX_SAMPLES = 50_000_000
MAX_WORKOUTS = 200_000
_BATCH = 100_000
_MAX_DEPTH = 50
_HR = "HKQuantityTypeIdentifierHeartRate"
_DISTANCE = frozenset({"HKQuantityTypeIdentifierDistanceWalkingRunning",
                       "HKQuantityTypeIdentifierDistanceCycling"})
_SPEED = frozenset({"HKQuantityTypeIdentifierRunningSpeed",
                    "HKQuantityTypeIdentifierCyclingSpeed"})
_METRES = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "yd": 0.9144, "cm": 0.01}
_MPS = {"m/s": 1.0, "km/hr": 1 / 3.6, "km/h": 1 / 3.6, "mi/hr": 0.44704, "mph": 0.44704}


class _Refused(Exception):
    def __init__(self, error: InputError):
        super().__init__(str(error))
        self.error = error


@dataclass
class HealthExport:
    """What an export holds that dosewatch uses (see the module text).

    Attributes:
        hr_t, hr_bpm: heart-rate samples (Unix seconds, bpm), in file order.
        dist_start, dist_end, dist_m: distance records (Unix seconds, metres).
        speed_t, speed_mps: speed records.
        workouts: per workout: ``type``, ``start``, ``end`` (Unix seconds), ``route``
            (the GPX path it names, or None).
        birth, sex: from ``Me``.
        notes: what was skipped or capped.
    """

    hr_t: np.ndarray
    hr_bpm: np.ndarray
    dist_start: np.ndarray
    dist_end: np.ndarray
    dist_m: np.ndarray
    speed_t: np.ndarray
    speed_mps: np.ndarray
    workouts: list[dict] = field(default_factory=list)
    birth: str | None = None
    sex: str | None = None
    notes: list[str] = field(default_factory=list)


class _Collector:
    """expat handlers: keep heart rate, distance, speed, workouts and ``Me``."""

    def __init__(self, source: str):
        self.source = source
        self.depth = 0
        self.started = False
        self.pending: dict[str, list] = {"hr": [], "dist": [], "speed": []}
        self.arrays = {"hr_t": array("d"), "hr_v": array("d"), "dist_s": array("d"),
                       "dist_e": array("d"), "dist_m": array("d"), "speed_t": array("d"),
                       "speed_v": array("d")}
        self.workouts: list[dict] = []
        self.workout: dict | None = None
        self.me: dict[str, str] = {}
        self.bad = 0
        self.capped: set[str] = set()

    def refuse(self, message: str, hint: str) -> None:
        raise _Refused(InputError(message, source=self.source, hint=hint))

    def forbid(self, *args: object) -> None:
        self.refuse("the XML declares entities or external references, which Apple Health "
                    "exports never do (refused: entity expansion can attack the reader)",
                    "export the health data again from the Health app")

    def doctype(self, name: str, sysid: str | None, pubid: str | None,
                has_internal_subset: int) -> None:
        if name != "HealthData" or sysid or pubid:
            self.forbid()

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if not self.started:
            self.started = True
            if name != "HealthData":
                self.refuse(f"not an Apple Health export: its root element is <{name[:40]}>",
                            "pass export.xml or export.zip from the Health app")
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.refuse(f"elements nested more than {_MAX_DEPTH} deep",
                        "this is not an Apple Health export")
        if name == "Record":
            kind = attrs.get("type", "")
            if kind == _HR:
                self._add("hr", (attrs.get("startDate", ""), attrs.get("value", "")))
            elif kind in _DISTANCE:
                self._add("dist", (attrs.get("startDate", ""), attrs.get("endDate", ""),
                                   attrs.get("value", ""), attrs.get("unit", "")))
            elif kind in _SPEED:
                self._add("speed", (attrs.get("startDate", ""), attrs.get("value", ""),
                                    attrs.get("unit", "")))
        elif name == "Workout":
            if len(self.workouts) >= MAX_WORKOUTS:
                self.capped.add("workouts")
                return
            self.workout = {"type": attrs.get("workoutActivityType", ""),
                            "start": attrs.get("startDate", ""),
                            "end": attrs.get("endDate", ""), "route": None}
            self.workouts.append(self.workout)
        elif name == "FileReference" and self.workout is not None:
            self.workout["route"] = self.workout["route"] or attrs.get("path")
        elif name == "Me":
            self.me = {"birth": attrs.get("HKCharacteristicTypeIdentifierDateOfBirth", ""),
                       "sex": attrs.get("HKCharacteristicTypeIdentifierBiologicalSex", "")}

    def end(self, name: str) -> None:
        self.depth -= 1
        if name == "Workout":
            self.workout = None

    def _add(self, kind: str, row: tuple[str, ...]) -> None:
        key = {"hr": "hr_t", "dist": "dist_s", "speed": "speed_t"}[kind]
        if len(self.arrays[key]) + len(self.pending[kind]) >= MAX_SAMPLES:
            self.capped.add(kind)
            return
        self.pending[kind].append(row)
        if len(self.pending[kind]) >= _BATCH:
            self.flush(kind)

    def flush(self, kind: str) -> None:
        rows = self.pending[kind]
        if not rows:
            return
        self.pending[kind] = []
        columns = list(zip(*rows, strict=True))
        dates = _dates(columns[0], self.source)
        if kind == "hr":
            values = _floats(columns[1])
            ok = np.isfinite(dates) & np.isfinite(values)
            self.arrays["hr_t"].extend(dates[ok])
            self.arrays["hr_v"].extend(values[ok])
        elif kind == "dist":
            ends = _dates(columns[1], self.source)
            scale = np.array([_METRES.get(u.strip().lower(), math.nan) for u in columns[3]])
            metres = _floats(columns[2]) * scale
            ok = np.isfinite(dates) & np.isfinite(ends) & np.isfinite(metres)
            self.arrays["dist_s"].extend(dates[ok])
            self.arrays["dist_e"].extend(ends[ok])
            self.arrays["dist_m"].extend(metres[ok])
        else:
            scale = np.array([_MPS.get(u.strip().lower(), math.nan) for u in columns[2]])
            mps = _floats(columns[1]) * scale
            ok = np.isfinite(dates) & np.isfinite(mps)
            self.arrays["speed_t"].extend(dates[ok])
            self.arrays["speed_v"].extend(mps[ok])
        self.bad += int((~ok).sum())


def _dates(texts: tuple[str, ...], source: str) -> np.ndarray:
    """Apple's ``2024-01-01 08:00:00 +0200`` dates as Unix seconds (NaN where unreadable)."""
    cells = pa.array(texts, pa.string())
    valid = pc.match_substring_regex(
        cells, r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?\s*([+-]\d{2}:?\d{2}|Z)$")
    valid = to_flags(valid)
    out = np.full(len(texts), np.nan)
    if valid.any():
        try:
            out[valid] = to_seconds(cells.filter(pa.array(valid)), source, name="date").t
        except InputError:
            pass  # left as NaN: counted as unreadable
    return out


def _floats(texts: tuple[str, ...]) -> np.ndarray:
    cells = pc.utf8_trim_whitespace(pa.array(texts, pa.string()))
    ok = to_flags(pc.fill_null(pc.match_substring_regex(
        cells, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"), False))
    out = np.full(len(texts), np.nan)
    if ok.any():
        out[ok] = to_numbers(pc.cast(cells.filter(pa.array(ok)), pa.float64()))
    return out


def _stream_xml(stream: BinaryIO, collector: _Collector, source: str, limit: int
                ) -> str | None:
    """Feed the export through a hardened expat parser into ``collector``, a MiB at a
    time. Returns what cut the document short (read up to there), or None.

    Raises:
        InputError: malformed or hostile XML, not an export, or larger than ``limit``.
    """
    parser = hardened_parser(collector.forbid, doctype=collector.doctype)
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    read = 0
    truncated = None
    try:
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            read += len(chunk)
            if read > limit:
                raise InputError(f"the export's XML is larger than {limit >> 30} GiB",
                                 source=source, hint="check that it is an Apple Health export")
            parser.Parse(chunk, False)
        try:
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            if not collector.started:
                raise InputError("the file ends before its first XML element", source=source,
                                 hint="export the health data again") from None
            truncated = f"the XML ends early, at line {exc.lineno}"
    except _Refused as refused:
        raise refused.error from None
    except expat.ExpatError as exc:
        if collector.started and collector.depth == 0:
            truncated = f"ignored what follows the end of the document (line {exc.lineno})"
        else:
            raise InputError(f"malformed XML at line {exc.lineno}, column {exc.offset}: "
                             f"{expat.ErrorString(exc.code)}", source=source,
                             hint="the export is damaged; export it again") from None
    except (OSError, EOFError) as exc:
        truncated = f"the data stops early ({exc})"
    return truncated


def _export_notes(collector: _Collector, truncated: str | None) -> list[str]:
    """What was cut short, unreadable or capped while reading the export."""
    notes = []
    if truncated:
        notes.append(truncated + "; read what came before")
    if collector.bad:
        notes.append(f"{collector.bad} records without a readable date or value were left out")
    for kind in sorted(collector.capped):
        notes.append(f"more than {MAX_SAMPLES if kind != 'workouts' else MAX_WORKOUTS} "
                     f"{kind} records: the rest were not read")
    return notes


def parse_health(stream: BinaryIO, source: str, *, limit: int = MAX_XML_BYTES) -> HealthExport:
    """Stream an Apple Health ``export.xml`` (see the module text).

    Raises:
        InputError: not an export, malformed or hostile XML, or larger than ``limit``.
    """
    collector = _Collector(source)
    truncated = _stream_xml(stream, collector, source, limit)
    for kind in ("hr", "dist", "speed"):
        collector.flush(kind)
    notes = _export_notes(collector, truncated)
    a = collector.arrays
    workouts = []
    for w in collector.workouts:
        start, end = _dates((w["start"], w["end"]), source)
        if np.isfinite(start) and np.isfinite(end) and end > start:
            workouts.append({**w, "start": float(start), "end": float(end)})
    return HealthExport(
        hr_t=np.frombuffer(a["hr_t"], np.float64).copy(),
        hr_bpm=np.frombuffer(a["hr_v"], np.float64).copy(),
        dist_start=np.frombuffer(a["dist_s"], np.float64).copy(),
        dist_end=np.frombuffer(a["dist_e"], np.float64).copy(),
        dist_m=np.frombuffer(a["dist_m"], np.float64).copy(),
        speed_t=np.frombuffer(a["speed_t"], np.float64).copy(),
        speed_mps=np.frombuffer(a["speed_v"], np.float64).copy(),
        workouts=workouts, birth=collector.me.get("birth") or None,
        sex=collector.me.get("sex") or None, notes=notes,
    )


def _sport(kind: str) -> str | None:
    name = kind.removeprefix("HKWorkoutActivityType")
    words = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return normalise_sport(words)


def _age(birth: str | None, when: float) -> float | None:
    if not birth:
        return None
    try:
        born = datetime.strptime(birth[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return round((when - born.timestamp()) / (365.2425 * 86_400), 1)


def _no_workout(export: HealthExport, source: str) -> InputError:
    """The refusal of an export without workouts, saying what heart rate it holds."""
    held = (f"{export.hr_t.size} heart-rate samples" + (
        f" from {_day(export.hr_t.min())} to {_day(export.hr_t.max())}"
        if export.hr_t.size else ""))
    return InputError(f"the export holds no workout ({held})", source=source,
                      hint="dosewatch analyses workouts: record the exercise as a workout "
                      "on the watch (or in a workout app that writes to Health)")


def _workout_speed(export: HealthExport, w: dict, route: Callable[[str], Path | None] | None,
                   parse_gpx: Callable, repairs: list[str]
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """The workout's speed: from its route, else its distance records, else its speed
    records; None when none gives two samples."""
    speed = _route_speed(w, route, parse_gpx, repairs) if route else None
    if speed is None:
        speed = _distance_speed(export, w)
        if speed is not None:
            repairs.append("speed: from the distance records within the workout")
    if speed is None:
        inside = (export.speed_t >= w["start"]) & (export.speed_t <= w["end"])
        if inside.sum() >= 2:
            speed = (export.speed_t[inside], export.speed_mps[inside])
            repairs.append("speed: from the speed records within the workout")
    return speed


def _workout_data(export: HealthExport, w: dict, hr_t: np.ndarray, hr: np.ndarray,
                  speed: tuple[np.ndarray, np.ndarray] | None, source: str,
                  repairs: list[str]) -> ActivityData:
    """One workout's heart-rate rows ``hr_t, hr`` and speed rows as one activity, with the
    participant's age on that day."""
    t_rows = [hr_t]
    hr_rows = [hr]
    speed_rows = [np.full(hr_t.size, np.nan)]
    if speed is not None:
        t_rows.append(speed[0])
        hr_rows.append(np.full(speed[0].size, np.nan))
        speed_rows.append(speed[1])
    t = np.concatenate(t_rows)
    profile = lenient_profile({"age": _age(export.birth, w["start"]),
                               "sex": _sex(export.sex)}, Path(source), repairs)
    return ActivityData(
        source=Path(source), format="apple-health", t=t,
        segment=np.zeros(t.size, np.int64), hr=np.concatenate(hr_rows),
        speed=np.concatenate(speed_rows) if speed is not None else None,
        speed_field="Apple Health" if speed is not None else None,
        sport=_sport(w["type"]), profile=profile, repairs=repairs,
    )


def health_sessions(
    export: HealthExport,
    source: str,
    options: ReadOptions,
    route: Callable[[str], Path | None] | None = None,
) -> list[Session]:
    """One session per workout with heart rate (see the module text).

    Args:
        route: finds the GPX file a workout's route names (``/workout-routes/x.gpx``), or
            None when the export came without it.

    Raises:
        InputError: no workout, or no workout with heart rate.
    """
    from .gpx import parse_gpx

    if not export.workouts:
        raise _no_workout(export, source)
    order = np.argsort(export.hr_t, kind="stable")
    hr_t, hr = export.hr_t[order], export.hr_bpm[order]
    sessions: list[Session] = []
    left_out: list[str] = []
    workouts = sorted(export.workouts, key=lambda w: w["start"])
    for k, w in enumerate(workouts, 1):
        lo, hi = np.searchsorted(hr_t, [w["start"], w["end"]], side="left")
        label = f"workout {k} of {len(workouts)} ({_sport(w['type']) or 'other'}, " \
                f"{_day(w['start'])})"
        if hi - lo < 2:
            left_out.append(f"{label}: {hi - lo} heart-rate samples")
            continue
        repairs = [*export.notes, label]
        speed = _workout_speed(export, w, route, parse_gpx, repairs)
        data = _workout_data(export, w, hr_t[lo:hi], hr[lo:hi], speed, source, repairs)
        try:
            sessions.append(to_session(data, profile=options.profile, name=options.name,
                                       what_rows="sample"))
        except InputError as exc:
            left_out.append(f"{label}: {exc.reason}")
    if not sessions:
        raise InputError(f"none of the export's {len(workouts)} workouts has heart rate "
                         f"({'; '.join(left_out[:3])}{'…' if len(left_out) > 3 else ''})",
                         source=source, hint="wear the watch (or pair a strap) during "
                         "workouts; dosewatch needs heart rate")
    if left_out:
        note = (f"left out {len(left_out)} workouts without enough heart rate: "
                + "; ".join(left_out[:5]) + ("…" if len(left_out) > 5 else ""))
        sessions = [s.with_repairs([note]) for s in sessions]
    return sessions


def _sex(value: str | None) -> str | None:
    if not value:
        return None
    text = value.removeprefix("HKBiologicalSex").lower()
    return None if text in ("notset", "") else text


def _day(stamp: float) -> str:
    try:
        return datetime.fromtimestamp(float(stamp), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return "an unreadable date"


def _distance_speed(export: HealthExport, w: dict) -> tuple[np.ndarray, np.ndarray] | None:
    inside = (export.dist_start >= w["start"]) & (export.dist_end <= w["end"])
    if inside.sum() < 2:
        return None
    span = export.dist_end[inside] - export.dist_start[inside]
    ok = (span > 0) & (span <= 120)
    if ok.sum() < 2:
        return None
    return export.dist_end[inside][ok], export.dist_m[inside][ok] / span[ok]


def _route_speed(w: dict, route: Callable[[str], Path | None], parse_gpx: Callable,
                 repairs: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    from ..activity import choose_speed

    if not w.get("route"):
        return None
    path = route(w["route"])
    if path is None:
        return None
    try:
        data = parse_gpx(path)
    except InputError as exc:
        repairs.append(f"route {w['route']}: not read ({exc.reason})")
        return None
    chosen = choose_speed(data)
    if chosen is None:
        return None
    inside = (chosen.t >= w["start"]) & (chosen.t <= w["end"])
    if inside.sum() < 2:
        return None
    repairs.append(f"speed: from the workout's route ({chosen.source})")
    return chosen.t[inside], chosen.mps[inside]


def _read(path: Path, options: ReadOptions) -> list[Session]:
    with open_activity(path, MAX_XML_BYTES) as (stream, _):
        export = parse_health(stream, str(path))

    def route(name: str) -> Path | None:
        candidate = (path.parent / name.lstrip("/")).resolve()
        try:
            candidate.relative_to(path.parent.resolve())
        except ValueError:
            return None  # a route outside the export's folder is not followed
        return candidate if candidate.is_file() else None

    return health_sessions(export, str(path), options, route)


def is_health_export(head: bytes) -> bool:
    return b"<!DOCTYPE HealthData" in head or b"<HealthData" in head


READER = Reader(
    name="apple-health",
    title="Apple Health export (export.xml; export.zip is read as an archive)",
    read=_read,
    sniff=is_health_export,  # no ending claimed: any other .xml stays unsupported
    hint="export all health data from the Health app and pass export.zip or export.xml",
    priority=5,
)
