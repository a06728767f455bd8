"""Reading the tool's own recording of a live session (``*.dwrec``) as a Session.

The file format is described in :mod:`dosewatch.device.store`. Reading opens the file
read-only: a recording that is still being written can be read (it shows the last
commit), and one left behind by a killed recorder is read up to its last commit (SQLite
replays the ``-wal`` file; nothing else is changed).

What the session gets:

- ``hr``: one sample per heart-rate value, at its arrival time; ``rr_ms`` is the last RR
  interval sent with that value (the most recent beat), NaN when none came with it, and
  the stream has no ``rr_ms`` when the recording holds no RR at all. Every RR interval
  stays in the file (``hr`` table, one row each).
- ``acc`` in g at the sample times the recorder mapped to host time.
- ``speed`` and ``cadence`` from a foot pod or treadmill.
- the profile stored in the recording, with the caller's fields overriding it.

When several devices recorded the same stream, the one with the most samples is used and
the choice is listed in ``provenance.repairs``, as are an unclean end (the recorder
stopped without closing the file) and the count of malformed notifications.
"""

from __future__ import annotations

import os
import sqlite3
import tomllib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..device.store import open_recording, wal_missing
from ..errors import InputError
from ..session import Profile, Session, build_session
from . import RECORDING_SUFFIX
from .profile import parse_profile_options

__all__ = ["read_recording"]

_CHUNK_ROWS = 1 << 16


def _session_name(path: Path) -> str:
    name = path.name
    if name.lower().endswith(RECORDING_SUFFIX) and len(name) > len(RECORDING_SUFFIX):
        return name[: -len(RECORDING_SUFFIX)]
    return path.stem or name


def _fetch(conn: sqlite3.Connection, sql: str, params: tuple, columns: int) -> NDArray:
    """Rows of numbers as a float64 array ``(n, columns)``, NULL as NaN, in chunks."""
    cur = conn.execute(sql, params)
    parts = []
    while True:
        rows = cur.fetchmany(_CHUNK_ROWS)
        if not rows:
            break
        parts.append(np.array(rows, dtype=np.float64).reshape(-1, columns))
    if not parts:
        return np.empty((0, columns), dtype=np.float64)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _pick_device(
    conn: sqlite3.Connection, table: str, devices: dict[int, str], notes: list[str]
) -> int | None:
    # Heart rate has one row per RR interval (seq 0, 1, ...): count values, not rows, as
    # the live analysis does, so that live and batch choose the same device.
    where = " WHERE seq = 0" if table == "hr" else ""
    counts = conn.execute(
        f"SELECT device_id, count(*) AS n FROM {table}{where} GROUP BY device_id "
        "ORDER BY n DESC, device_id"
    ).fetchall()
    if not counts:
        return None
    chosen = counts[0][0]
    if len(counts) > 1:
        others = ", ".join(devices.get(d, f"device {d}") for d, _ in counts[1:])
        notes.append(
            f"{table}: {len(counts)} devices recorded it; used {devices.get(chosen, chosen)} "
            f"(most samples), ignored {others}"
        )
    return chosen


def _file_profile(text: str, path: Path) -> Profile | None:
    if not text.strip():
        return None
    source = f"{path} (stored profile)"
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"the stored profile is not valid TOML ({exc})", source=path,
            hint="pass the profile on the command line; it overrides the stored one",
        ) from None
    return parse_profile_options(values, source=source)


def read_recording(
    path: str | os.PathLike[str],
    *,
    profile: Profile | None = None,
    name: str | None = None,
) -> Session:
    """Read a dosewatch recording as a :class:`~dosewatch.session.Session`.

    Args:
        path: the recording (``.dwrec``, or any name if it is an SQLite file).
        profile: fields overriding the profile stored in the recording.
        name: the session's name; defaults to the file name without ``.dwrec``.

    Raises:
        InputError: not a dosewatch recording, a newer format, a damaged file, or no
            heart-rate or acceleration samples.
        ProfileError: the stored profile is invalid.
    """
    p = Path(path)
    conn = open_recording(p)
    lost_wal = wal_missing(p)
    notes: list[str] = []
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        devices = {
            d: f"{device_name or 'device'} ({address})"
            for d, device_name, address in conn.execute("SELECT id, name, address FROM devices")
        }
        streams: dict[str, object] = {}

        hr_device = _pick_device(conn, "hr", devices, notes)
        if hr_device is not None:
            rows = _fetch(conn, "SELECT t, bpm, rr_ms, seq FROM hr WHERE device_id = ? "
                          "ORDER BY id", (hr_device,), 4)
            t, bpm, rr, seq = rows.T
            first = seq == 0  # one heart-rate value per group of RR rows
            last = np.append(first[1:], True)  # the group's last row holds its newest RR
            if np.isnan(rr).all():
                streams["hr"] = (t[first], bpm[first])
            else:
                streams["hr"] = (t[first], bpm[first], rr[last])

        acc_device = _pick_device(conn, "acc", devices, notes)
        if acc_device is not None:
            rows = _fetch(conn, "SELECT t, x, y, z FROM acc WHERE device_id = ? ORDER BY id",
                          (acc_device,), 4)
            streams["acc"] = (rows[:, 0], rows[:, 1:])

        speed_device = _pick_device(conn, "speed", devices, notes)
        if speed_device is not None:
            rows = _fetch(conn, "SELECT t, mps, cadence_spm FROM speed WHERE device_id = ? "
                          "ORDER BY id", (speed_device,), 3)
            t, mps, cadence = rows.T
            if np.isfinite(mps).any():
                streams["speed"] = (t, mps)
            if np.isfinite(cadence).any():
                keep = np.isfinite(cadence)
                streams["cadence"] = (t[keep], cadence[keep])

        malformed = conn.execute(
            "SELECT status, count(*) FROM notifications WHERE status != 'ok' "
            "GROUP BY status ORDER BY status"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"the recording is damaged or truncated ({exc})", source=p,
            hint="recover what SQLite can with 'sqlite3 FILE .recover', or use a backup",
        ) from None
    finally:
        conn.close()

    lost_wal = lost_wal and "closed_unix_s" not in meta
    wal_hint = (
        f"its data since the last checkpoint is in {p.name}-wal, which is missing: copy it "
        "next to the recording"
    )
    if "hr" not in streams and "acc" not in streams:
        raise InputError(
            "the recording holds no heart-rate or acceleration samples", source=p,
            hint=wal_hint if lost_wal else (
                "it was stopped before a sensor sent data; its events table says what "
                "happened (dosewatch.device.store.read_recording_tables)"),
        )
    if "closed_unix_s" not in meta:
        notes.append("the recording was not closed cleanly (the recorder stopped "
                     "unexpectedly); read up to its last commit")
    if lost_wal:
        notes.append(wal_hint)
    if malformed:
        total = sum(n for _, n in malformed)
        kinds = ", ".join(f"{kind}: {n}" for kind, n in malformed)
        notes.append(f"{total} malformed notifications not decoded ({kinds}); "
                     "their raw bytes are in the file")

    stored = _file_profile(meta.get("profile", ""), p)
    if stored is not None and profile is not None:
        merged = stored.merged(profile)
    else:
        merged = profile if profile is not None else stored
    return build_session(
        name if name is not None else _session_name(p),
        profile=merged,
        source=str(p),
        format="dwrec",
        repairs=tuple(notes),
        sport=meta.get("sport") or None,
        **streams,  # type: ignore[arg-type]
    )
