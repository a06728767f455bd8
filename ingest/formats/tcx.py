"""Garmin Training Center XML activity files (``.tcx``, ``.tcx.gz``).

Read with the standard library's expat parser, streaming, elements matched by local name
(any namespace prefix, declared or not). Hostile XML is refused: a DOCTYPE or entity
declaration is an :class:`~dosewatch.errors.InputError` (no entity is ever expanded or
fetched), nesting depth and text length are bounded (see
:func:`dosewatch.ingest.activity.read_xml_points`).

Per ``Trackpoint``: ``Time`` (ISO-8601; ``Z`` or an offset; a time without a zone is
taken as UTC with a repair note), ``HeartRateBpm/Value``, ``Cadence`` (else the
``TPX/RunCadence`` extension), the ``TPX/Speed`` extension (m/s), ``TPX/Watts``,
``DistanceMeters`` and the position. Speed comes from ``TPX/Speed`` where the file has it,
else from the distance, else from the positions (see :mod:`dosewatch.ingest.activity`);
each ``Track`` (and ``Lap``) starts a new segment, so no speed is derived across a pause
between tracks.

**Several activities in one file** (Garmin's "history" exports, e.g. Runalyze's
``Multiple-Trainings.tcx``): every ``Activity`` that has trackpoints becomes a session of
its own (all its laps and tracks together), in document order; one without usable data
(no heart rate, a few seconds) is a failure of its own, ``FILE!NAME-k``, and the others
are read. Trackpoints outside any
``Activity`` (a ``Course``: a planned route) are not a recording and are not read.

The sport is the ``Activity``'s ``Sport`` attribute (``Running``, ``Biking`` -> ``cycling``,
``Other`` -> none).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...session import Profile, Session
from ..activity import (
    ActivityData,
    XmlSpec,
    activity_sessions,
    normalise_sport,
    note_xml_repairs,
    read_xml_points,
    to_session,
)
from ..registry import SNIFF_BYTES, Reader, ReadOptions

__all__ = ["READER", "TCX", "parse_tcx", "parse_tcx_activities", "read_tcx"]

TCX = XmlSpec(
    kind="TCX",
    root="TrainingCenterDatabase",
    point="Trackpoint",
    group="Activity",
    segments=frozenset({"Lap", "Track"}),
    fields={
        "time": "time",
        "heartratebpm": "hr",
        "cadence": "cadence",
        "runcadence": "cadence",
        "speed": "speed",
        "watts": "power",
        "distancemeters": "distance",
        "altitudemeters": "altitude",
        "latitudedegrees": "lat",
        "longitudedegrees": "lon",
    },
    group_attrs=("Sport",),
    group_leaves=frozenset({"id"}),
)


def _when(t: np.ndarray) -> str:
    finite = t[np.isfinite(t)]
    if not finite.size:
        return "no readable time"
    try:
        return datetime.fromtimestamp(float(finite.min()), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return "an unreadable time"


def parse_tcx_activities(path: str | Path) -> list[ActivityData]:
    """Decode a TCX file into per-trackpoint arrays, one :class:`ActivityData` per
    activity with trackpoints, in document order (see the module text).

    Raises:
        InputError: not a TCX file, malformed or hostile XML, no activity with trackpoints.
    """
    path = Path(path)
    points = read_xml_points(path, TCX)
    groups = [int(g) for g in np.unique(points.group) if g >= 0]
    if not groups:
        if points.group.size:
            raise InputError(
                "the file holds a course (a planned route), not a recorded activity",
                source=path, hint="export the recorded activity, not the course",
            )
        if points.truncated:
            raise InputError(f"the file holds no trackpoints ({points.truncated})",
                             source=path, hint="the file is cut off before its first "
                             "trackpoint: copy or export it again")
        raise InputError("the file holds no trackpoints", source=path,
                         hint="it may be a workout or a lap summary; export the recorded "
                         "activity with its track")
    return [_activity(path, points, g, len(groups)) for g in groups]


def _activity(path: Path, points, chosen: int, n_groups: int) -> ActivityData:  # noqa: ANN001
    """The rows of one activity of the file."""
    repairs: list[str] = []
    rows = points.group == chosen
    if n_groups > 1:
        repairs.append(f"activity {chosen + 1} of {n_groups} in the file, started "
                       f"{_when(points.columns['t'][rows])}")
    note_xml_repairs(points, "trackpoint", repairs)
    c = points.columns

    def column(name: str) -> np.ndarray | None:
        values = c[name][rows]
        return values if np.isfinite(values).any() else None

    attrs = points.groups[chosen] if chosen < len(points.groups) else {}
    speed = column("speed")
    return ActivityData(
        source=path,
        format="tcx",
        t=c["t"][rows],
        segment=points.segment[rows],
        hr=c["hr"][rows],
        speed=speed,
        cadence=column("cadence"),
        power=column("power"),
        distance=column("distance"),
        altitude=column("altitude"),
        lat=column("lat"),
        lon=column("lon"),
        speed_field="TPX/Speed" if speed is not None else None,
        sport=normalise_sport(attrs.get("sport")),
        repairs=repairs,
    )


def parse_tcx(path: str | Path) -> ActivityData:
    """The first activity of a TCX file (see :func:`parse_tcx_activities`)."""
    return parse_tcx_activities(path)[0]


def read_tcx(
    path: str | Path, *, profile: Profile | None = None, name: str | None = None
) -> Session:
    """Read the first activity of a TCX file (``.tcx`` or ``.tcx.gz``) into a Session
    (:data:`READER` reads every activity, one session each).

    Args:
        path: the file.
        profile: the participant (TCX files carry none).
        name: the session's name; default the file name without ``.tcx``/``.tcx.gz``.

    Raises:
        InputError: the file cannot be read as a TCX activity with heart rate; the message
            says why.
    """
    return to_session(parse_tcx(path), profile=profile, name=name, what_rows="trackpoint")


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return activity_sessions(parse_tcx_activities(path), profile=options.profile,
                             name=options.name, what_rows="trackpoint")


READER = Reader(
    name="tcx",
    title="Garmin Training Center XML activity file",
    read=_read,
    suffixes=(".tcx", ".tcx.gz"),
    sniff=lambda head: b"<TrainingCenterDatabase" in head[:SNIFF_BYTES],
    hint="export the activity as TCX",
)
