"""GPS Exchange Format tracks with sensor extensions (``.gpx``, ``.gpx.gz``).

Read like TCX (streaming expat, local-name matching, DOCTYPE/entities refused; see
:mod:`dosewatch.ingest.tcx`). Per ``trkpt``: ``time``, the ``lat``/``lon`` attributes and,
in its ``extensions`` at any depth, the sensor values that the common writers use:

- heart rate: Garmin TrackPointExtension v1/v2 ``gpxtpx:hr``, Cluetrust ``gpxdata:hr``
  (Suunto Movescount), plain ``heartrate`` (Amazfit), ``heart_rate``;
- cadence: ``cad`` (TrackPointExtension), ``cadence`` (Cluetrust);
- speed: ``speed`` (TrackPointExtension v2, Cluetrust), m/s;
- power: ``power`` / ``watts``; distance: ``distance`` (Cluetrust, cumulative metres).

The first element of each kind in a point wins (Amazfit writes heart rate twice).
Speed comes from the speed extension where present, else from the distance, else from
the positions (great-circle steps), never across a ``trkseg`` boundary or a gap.

All tracks and segments of the file are read, in document order, as one session (GPX
splits a recording at pauses into segments, some writers into tracks); time between
them stays a gap. The sport is the first track's ``type`` (``running``...), when given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InputError
from ...session import Profile, Session
from ..activity import (
    ActivityData,
    XmlSpec,
    normalise_sport,
    note_xml_repairs,
    read_xml_points,
    to_session,
)
from ..registry import SNIFF_BYTES, Reader, ReadOptions

__all__ = ["GPX", "parse_gpx", "read_gpx"]

GPX = XmlSpec(
    kind="GPX",
    root="gpx",
    point="trkpt",
    group="trk",
    segments=frozenset({"trkseg"}),
    fields={
        "time": "time",
        "hr": "hr",
        "heartrate": "hr",
        "heart_rate": "hr",
        "heartratebpm": "hr",
        "cad": "cadence",
        "cadence": "cadence",
        "runcadence": "cadence",
        "speed": "speed",
        "power": "power",
        "watts": "power",
        "distance": "distance",
        "ele": "altitude",
    },
    point_attrs={"lat": "lat", "lon": "lon"},
    group_leaves=frozenset({"type"}),
)


def parse_gpx(path: str | Path) -> ActivityData:
    """Decode a GPX file into per-trackpoint arrays (see the module text).

    Raises:
        InputError: not a GPX file, malformed or hostile XML, no track points.
    """
    path = Path(path)
    points = read_xml_points(path, GPX)
    if points.group.size == 0:
        if points.truncated:
            raise InputError(f"the file holds no track points ({points.truncated})",
                             source=path, hint="the file is cut off before its first track "
                             "point: copy or export it again")
        raise InputError("the file holds no track points", source=path,
                         hint="a GPX route or waypoint list is not a recording; export the "
                         "recorded activity")
    repairs: list[str] = []
    note_xml_repairs(points, "track point", repairs)
    n_tracks = len(np.unique(points.group))
    if n_tracks > 1:
        repairs.append(f"{n_tracks} tracks read as one session (time between them is a gap)")
    c = points.columns

    def column(name: str) -> np.ndarray | None:
        values = c[name]
        return values if np.isfinite(values).any() else None

    sport = next((g["type"] for g in points.groups if "type" in g), None)
    speed = column("speed")
    return ActivityData(
        source=path,
        format="gpx",
        t=c["t"],
        segment=points.segment,
        hr=c["hr"],
        speed=speed,
        cadence=column("cadence"),
        power=column("power"),
        distance=column("distance"),
        altitude=column("altitude"),
        lat=column("lat"),
        lon=column("lon"),
        speed_field="speed extension" if speed is not None else None,
        sport=normalise_sport(sport),
        repairs=repairs,
    )


def read_gpx(
    path: str | Path, *, profile: Profile | None = None, name: str | None = None
) -> Session:
    """Read a GPX track with heart-rate extensions (``.gpx`` or ``.gpx.gz``) into a Session.

    Args:
        path: the file.
        profile: the participant (GPX files carry none).
        name: the session's name; default the file name without ``.gpx``/``.gpx.gz``.

    Raises:
        InputError: the file cannot be read as a GPX track with heart rate; the message
            says why.
    """
    return to_session(parse_gpx(path), profile=profile, name=name, what_rows="track point")


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return [read_gpx(path, profile=options.profile, name=options.name)]


READER = Reader(
    name="gpx",
    title="GPX track with heart-rate extensions",
    read=_read,
    suffixes=(".gpx", ".gpx.gz"),
    sniff=lambda head: b"<gpx" in head[:SNIFF_BYTES],
    hint="export the activity as GPX with heart rate (Garmin TrackPointExtension)",
)
