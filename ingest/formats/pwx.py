"""TrainingPeaks PWX workout files (``.pwx``, ``.pwx.gz``; TrainingPeaks Device Agent,
Timex, older Garmin exports).

XML read like TCX, streaming with the hardened expat collector of
:mod:`dosewatch.ingest.activity` (DOCTYPE and entities refused, depth and text bounded).
Each ``<workout>`` holds its start ``<time>`` (ISO-8601, usually without a zone: taken as
UTC with a repair note, as Runalyze and GoldenCheetah read it) and ``<sample>`` elements
with ``timeoffset`` (seconds from the start), ``hr``, ``spd`` (m/s), ``dist`` (cumulative
m), ``cad``, ``pwr`` (W) and the position. Speed comes from ``spd`` where the file has it,
else from the distance (the rules of :func:`~dosewatch.ingest.activity.to_session`).

Several ``<workout>`` elements in one file give one session each, in document order. The
sport is the workout's ``sportType`` (``Run``, ``Bike``...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...session import Session
from ..activity import (
    ActivityData,
    XmlSpec,
    activity_sessions,
    normalise_sport,
    note_xml_repairs,
    parse_time,
    read_xml_points,
)
from ..registry import SNIFF_BYTES, Reader, ReadOptions

__all__ = ["PWX", "READER", "parse_pwx_workouts"]

PWX = XmlSpec(
    kind="PWX",
    root="pwx",
    point="sample",
    group="workout",
    segments=frozenset(),
    fields={
        "timeoffset": "time",
        "hr": "hr",
        "spd": "speed",
        "dist": "distance",
        "cad": "cadence",
        "pwr": "power",
        "lat": "lat",
        "lon": "lon",
    },
    group_leaves=frozenset({"time", "sporttype"}),
    relative_time=True,
)


def parse_pwx_workouts(path: str | Path) -> list[ActivityData]:
    """Decode a PWX file, one :class:`ActivityData` per workout with samples.

    Raises:
        InputError: not a PWX file, malformed or hostile XML, no workout with samples.
    """
    path = Path(path)
    points = read_xml_points(path, PWX)
    groups = [int(g) for g in np.unique(points.group) if g >= 0]
    if not groups:
        cut = f" ({points.truncated})" if points.truncated else ""
        raise InputError(f"the file holds no workout samples{cut}", source=path,
                         hint="export the workout again from TrainingPeaks with its samples")
    return [_workout(path, points, g, len(groups)) for g in groups]


def _workout(path: Path, points, chosen: int, n_groups: int) -> ActivityData:
    repairs: list[str] = []
    rows = points.group == chosen
    attrs = points.groups[chosen] if chosen < len(points.groups) else {}
    start, naive = parse_time(attrs.get("time", ""))
    if np.isnan(start):
        start = 0.0
        repairs.append("the workout has no readable start <time>: the start is unknown")
    elif naive:
        repairs.append("the workout's start <time> has no time zone: taken as UTC")
    if n_groups > 1:
        shown = (datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M UTC")
                 if start else "at an unknown time")
        repairs.append(f"workout {chosen + 1} of {n_groups} in the file, started {shown}")
    note_xml_repairs(points, "sample", repairs)
    c = points.columns

    def column(name: str) -> np.ndarray | None:
        values = c[name][rows]
        return values if np.isfinite(values).any() else None

    speed = column("speed")
    return ActivityData(
        source=path, format="pwx", t=start + c["t"][rows], segment=points.segment[rows],
        hr=c["hr"][rows], speed=speed, cadence=column("cadence"), power=column("power"),
        distance=column("distance"), lat=column("lat"), lon=column("lon"),
        speed_field="spd" if speed is not None else None,
        sport=normalise_sport(attrs.get("sporttype")), repairs=repairs,
    )


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return activity_sessions(parse_pwx_workouts(path), profile=options.profile,
                             name=options.name, what_rows="sample")


READER = Reader(
    name="pwx",
    title="TrainingPeaks PWX workout file",
    read=_read,
    suffixes=(".pwx", ".pwx.gz"),
    sniff=lambda head: b"<pwx" in head[:SNIFF_BYTES],
    hint="export the workout from TrainingPeaks as PWX",
)
