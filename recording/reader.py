"""Reading a recording: open it safely, read its tables, and read it as a Session.

Reading opens the file read-only: a recording that is still being written can be read
(it shows the last commit), and one left behind by a killed recorder is read up to its
last commit (SQLite replays the ``-wal`` file; nothing else is changed).

What the session gets (by the rules of :mod:`dosewatch.recording.streams`, which the live
analysis follows too):

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

import json
import os
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..profiles import parse_profile_options
from ..session import Profile, Session
from .schema import (
    APPLICATION_ID,
    FORMAT_VERSION,
    READABLE_VERSIONS,
    RECORDING_SUFFIX,
    SQLITE_MAGIC,
    TABLES,
)
from .streams import RecordedSamples, session_from_samples

__all__ = ["open_recording", "read_recording", "read_recording_tables", "wal_missing"]

def _bad(path: Path, message: str, hint: str) -> InputError:
    return InputError(message, source=path, hint=hint)


def _corrupt(path: Path, exc: Exception) -> InputError:
    return _bad(path, f"the recording is damaged or truncated ({exc})",
                "recover what SQLite can with 'sqlite3 FILE .recover', or use a backup")


def wal_missing(path: str | os.PathLike[str]) -> bool:
    """True when a recording is in WAL mode (never closed cleanly) but its ``-wal`` file,
    which holds everything since the last checkpoint, is not next to it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(20)
    except OSError:
        return False
    return len(head) == 20 and head[18] == 2 and not Path(f"{path}-wal").exists()


def _connect_ro(uri: str, *, immutable: bool) -> sqlite3.Connection:
    """A read-only connection that has read the schema (so a bad file fails here)."""
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    conn = sqlite3.connect(f"{uri}?{query}", uri=True, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def open_recording(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open a recording read-only and check that it is one this version can read.

    A recording still being written can be opened (it shows the last commit), and so can
    one left behind by a killed recorder (SQLite replays its ``-wal``; nothing else is
    changed). Close the connection when done.

    Raises:
        InputError: missing or empty file, not an SQLite database, an SQLite database
            that is not a dosewatch recording, a newer format, or a damaged file.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise _bad(p, "no such file", "check the path") from None
    except IsADirectoryError:
        raise _bad(p, "is a folder, not a recording", "pass the .dwrec file") from None
    except OSError as exc:
        raise _bad(p, f"cannot read the file ({exc.strerror or exc})",
                   "check the file's permissions") from None
    if not head:
        raise _bad(p, "the recording is empty (0 bytes)",
                   "the recorder stopped before it wrote anything; record again")
    if head != SQLITE_MAGIC:
        raise _bad(p, "not a dosewatch recording (not an SQLite database)",
                   "pass a .dwrec file written by 'dosewatch record'")
    uri = p.resolve().as_uri()
    try:
        # Without its -wal a WAL-mode file has no writer; reading it as immutable keeps
        # SQLite from creating empty -wal and -shm files next to it.
        conn = _connect_ro(uri, immutable=wal_missing(p))
    except sqlite3.OperationalError as exc:
        if "unable to open" in str(exc):
            raise _bad(p, f"cannot open the recording ({exc})",
                       "if its folder is read-only, copy the recording with its -wal file "
                       "to a writable folder") from None
        raise _corrupt(p, exc) from None
    except sqlite3.DatabaseError as exc:
        raise _corrupt(p, exc) from None
    try:
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        missing = [t for t in ("meta", *TABLES) if t not in tables]
        if app_id != APPLICATION_ID or missing:
            shown = ", ".join(sorted(tables)[:6]) or "none"
            raise _bad(p, f"not a dosewatch recording (an SQLite database with tables: {shown})",
                       "pass a .dwrec file written by 'dosewatch record'")
        if version > FORMAT_VERSION:
            raise _bad(
                p, f"recording format {version} is newer than this dosewatch reads "
                   f"(up to {FORMAT_VERSION})",
                "upgrade dosewatch",
            )
        if version not in READABLE_VERSIONS:
            raise _bad(p, f"recording format {version} is not valid",
                       "the file was not written by 'dosewatch record'")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _corrupt(p, exc) from None
    except InputError:
        conn.close()
        raise
    return conn


def read_recording_tables(
    path: str | os.PathLike[str], *, notifications: bool = True
) -> dict[str, Any]:
    """What a recording holds, for tools and tests.

    Returns:
        A dict with ``format_version`` (int), ``meta`` (dict), ``devices`` (list of dicts,
        ``services`` decoded), ``counts`` (rows per table), ``malformed`` (notification
        status → count, for statuses other than ``ok``), ``events`` (list of dicts) and,
        when ``notifications``, ``notifications`` (list of dicts, ``payload`` as bytes).

    Raises:
        InputError: as :func:`open_recording`.
    """
    p = Path(path)
    conn = open_recording(p)
    try:
        def rows(sql: str) -> list[dict[str, Any]]:
            cur = conn.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

        devices = rows("SELECT * FROM devices ORDER BY id")
        for d in devices:
            d["services"] = json.loads(d["services"])
        result: dict[str, Any] = {
            "format_version": conn.execute("PRAGMA user_version").fetchone()[0],
            "meta": dict(conn.execute("SELECT key, value FROM meta").fetchall()),
            "devices": devices,
            "counts": {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                       for t in TABLES},
            "malformed": dict(conn.execute(
                "SELECT status, count(*) FROM notifications WHERE status != 'ok' "
                "GROUP BY status ORDER BY status").fetchall()),
            "events": rows("SELECT * FROM events ORDER BY id"),
        }
        if notifications:
            result["notifications"] = rows("SELECT * FROM notifications ORDER BY id")
        return result
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise _corrupt(p, exc) from None
    finally:
        conn.close()


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
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        hr = _hr_by_device(conn)
        if version < 2:
            # Format 1 stored a contact-lost packet's 0 bpm as a heart rate: it is none.
            zeros = sum(int(np.count_nonzero(v[1] == 0)) for v in hr.values())
            for bpm in (v[1] for v in hr.values()):
                bpm[bpm == 0] = np.nan
            if zeros:
                notes.append(f"format 1 recording: {zeros} heart-rate values of 0 bpm "
                             "(no skin contact) read as no reading")
        samples = RecordedSamples(
            hr=hr, acc=_acc_by_device(conn), speed=_speed_by_device(conn),
            device_names=devices)

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
    if not samples.has_data:
        raise InputError(
            "the recording holds no heart-rate or acceleration samples", source=p,
            hint=wal_hint if lost_wal else (
                "it was stopped before a sensor sent data; its events table says what "
                "happened (dosewatch.recording.read_recording_tables)"),
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
    return session_from_samples(
        samples,
        name=name if name is not None else _session_name(p),
        profile=merged,
        source=str(p),
        repairs=tuple(notes),
        sport=meta.get("sport") or None,
    )


def _by_device(conn: sqlite3.Connection, sql: str, columns: int) -> dict[int, NDArray]:
    """Rows of ``sql`` (device id first, then ``columns`` numbers) split by device."""
    rows = _fetch(conn, sql, (), columns + 1)
    out = {}
    for device in np.unique(rows[:, 0]).astype(int).tolist():
        out[device] = rows[rows[:, 0] == device, 1:]
    return out


def _hr_by_device(conn: sqlite3.Connection) -> dict[int, tuple[NDArray, NDArray, NDArray]]:
    """One row per heart-rate value with the newest RR interval sent with it: a value
    with several RR intervals has rows seq = 0, 1, ...; the group's last row holds the
    newest."""
    out = {}
    for device, rows in _by_device(
            conn, "SELECT device_id, t, bpm, rr_ms, seq FROM hr ORDER BY id", 4).items():
        t, bpm, rr, seq = rows.T
        first = seq == 0
        last = np.append(first[1:], True)
        out[device] = (t[first], bpm[first], rr[last])
    return out


def _acc_by_device(conn: sqlite3.Connection) -> dict[int, tuple[NDArray, NDArray]]:
    return {d: (rows[:, 0], rows[:, 1:]) for d, rows in _by_device(
        conn, "SELECT device_id, t, x, y, z FROM acc ORDER BY id", 4).items()}


def _speed_by_device(conn: sqlite3.Connection) -> dict[int, tuple[NDArray, NDArray, NDArray]]:
    return {d: (rows[:, 0], rows[:, 1], rows[:, 2]) for d, rows in _by_device(
        conn, "SELECT device_id, t, mps, cadence_spm FROM speed ORDER BY id", 3).items()}
