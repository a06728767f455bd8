"""Times recorded without a zone, turned into absolute (UTC) times in one place.

EDF files, Polar Sensor Logger exports, phone CSV exports, HRM files and some TCX/GPX/PWX
files hold the local wall-clock time of the device or phone, without a zone. Their readers
read such times as if they were UTC and say so in a repair note that ends in
:data:`~dosewatch.session.NAIVE_AS_UTC`; :func:`localize` then moves the session's start
from that wall-clock time to the absolute time it was in the zone the study names
(``[adherence] naive_timezone``, else ``[adherence] timezone``, else UTC: as before), and
rewrites the note to name the zone assumed. Only the start moves: the session's times are
seconds from its start.

Inputs with their own zone or in UTC (FIT, TCX with ``Z``, GT3X with a zone, CWA's stored
offset, Unix-epoch numbers...) carry no such note and are unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ..session import NAIVE_AS_UTC, Notice, Session, naive_times

UTC_NAME = "UTC"


def _offset(moment: datetime) -> str:
    """``UTC+01:00`` for a zone-aware time."""
    delta = moment.utcoffset() or timedelta(0)
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _study_zone(timezone: str) -> str:
    return timezone or UTC_NAME


def localize(session: Session, naive_zone: str = UTC_NAME, timezone: str = "") -> Session:
    """``session`` with its start read in ``naive_zone`` when its input's times had no
    zone; unchanged otherwise.

    Args:
        session: a session as its reader built it (zone-less times read as UTC).
        naive_zone: the IANA zone the zone-less times are in (``UTC``: as read).
        timezone: the study's ``[adherence] timezone`` ("" = UTC), in which days and weeks
            are read. When the two differ, the session gets a ``check`` notice: a local
            time read in another zone than the study's days is a wrong day near midnight
            unless the files really come from elsewhere.
    """
    provenance = session.provenance
    if not naive_times(provenance.repairs):
        return session
    zone = naive_zone or UTC_NAME
    start = provenance.start_time
    notes = list(provenance.repairs)
    notices: tuple[Notice, ...] = ()
    if zone != UTC_NAME and start is not None:
        wall = start.astimezone(UTC).replace(tzinfo=None)
        local = wall.replace(tzinfo=ZoneInfo(zone))
        end = (wall + timedelta(seconds=session.duration_s)).replace(tzinfo=ZoneInfo(zone))
        label = f"{zone} local time ({_offset(local)})"
        notes = [n.replace(NAIVE_AS_UTC, f"taken as {label}") for n in notes]
        start = local.astimezone(UTC)
        notes.append(f"times without a zone read as {label}: the start "
                     f"{wall:%Y-%m-%d %H:%M} local is {start:%Y-%m-%d %H:%M} UTC")
        if local.utcoffset() != end.utcoffset():
            notes.append(f"the clock of {zone} changed during the session ({_offset(local)} "
                         f"to {_offset(end)}): times after the change are off by the "
                         "difference")
    if zone != _study_zone(timezone):
        study = _study_zone(timezone)
        notices = (Notice(
            "check", provenance.source,
            f"times without a zone were taken as {zone} time, but days and weeks are read "
            f"in {study}",
            "set [adherence] naive_timezone to the zone the device or phone was set to"
            + ("" if timezone else ", and [adherence] timezone to the study's zone")),)
    provenance = replace(provenance, start_time=start, repairs=tuple(notes))
    return replace(session, provenance=provenance).with_notices(notices)
