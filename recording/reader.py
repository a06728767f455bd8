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

Reading never changes the recording (issue 14). A cleanly closed recording is one file,
read in place. One left with a ``-wal`` file (the recorder was killed) is copied with its
``-wal`` into a private temporary folder and read there: SQLite would otherwise write its
``-shm`` index next to the input. The copied ``-wal`` is checked frame by frame as SQLite
does (salts and running checksums): when a damaged frame hides commits written after it,
the repairs say how many commits and pages were lost. A recording whose number columns
hold text or bytes (an altered or damaged file) is refused, naming the table and column;
text fields holding bytes (a device name, the sport) are ignored with a note.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError, plain_reason, sanitise
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
    return _bad(path, f"the recording is damaged or truncated ({plain_reason(exc)})",
                "recover what SQLite can with 'sqlite3 FILE .recover', or use a backup")


# --------------------------------------------------------------------------- the -wal


_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER = 32
_FRAME_HEADER = 24
_MASK = np.uint64(0xFFFFFFFF)


def _checksum_step_powers(pairs: int) -> NDArray[np.uint64]:
    """``M**j mod 2**32`` for j = pairs-1 ... 0, where ``M = [[1, 1], [1, 2]]`` is one step
    of SQLite's WAL checksum (``s1 += a + s2; s2 += b + s1``) as a linear map of the state;
    with these, a frame's checksum is one vectorised sum instead of a loop per word."""
    powers = np.empty((pairs, 2, 2), dtype=np.uint64)
    current = np.eye(2, dtype=np.uint64)
    step = np.array([[1, 1], [1, 2]], dtype=np.uint64)
    for j in range(pairs):  # per pair of words of one page, once per file
        powers[j] = current
        current = (step @ current) & _MASK
    return powers[::-1]


def wal_damage(wal: Path) -> tuple[int, int] | None:
    """``(commits, pages)`` written to a ``-wal`` file after a damaged frame, which SQLite
    cannot replay (it stops at the first frame whose salt or checksum is wrong), or None
    when nothing is lost that way. Frames of an older generation (other salts: the file
    is reused after each checkpoint) are not losses."""
    try:
        data = wal.read_bytes()
    except OSError:
        return None
    if len(data) < _WAL_HEADER:
        return None
    magic, _, page_size, _, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:_WAL_HEADER])
    if magic not in _WAL_MAGIC or page_size < 512 or page_size & (page_size - 1):
        return None
    frame = _FRAME_HEADER + page_size
    n = (len(data) - _WAL_HEADER) // frame
    if n == 0:
        return None
    order = ">" if magic & 1 else "<"
    words = np.frombuffer(data, dtype=f"{order}u4", count=6).astype(np.uint64)
    state = _words_checksum(words[None, :], np.zeros(2, np.uint64))
    if (int(state[0]), int(state[1])) != (c1, c2):
        return None  # a header SQLite would not use either: the file is ignored whole
    body = np.frombuffer(data, dtype=np.uint8, count=n * frame, offset=_WAL_HEADER)
    body = body.reshape(n, frame)
    heads = body[:, :_FRAME_HEADER].copy().view(">u4").astype(np.int64)  # (n, 6)
    summed = np.concatenate([body[:, :8], body[:, _FRAME_HEADER:]], axis=1)
    words = np.ascontiguousarray(summed).view(f"{order}u4").astype(np.uint64)
    per_frame = _frame_sums(words)  # (n, 2): each frame's own contribution
    powers = _checksum_step_powers(words.shape[1] // 2)
    jump = powers[0] @ np.array([[1, 1], [1, 2]], dtype=np.uint64) & _MASK  # M**pairs
    ours = (heads[:, 2] == salt1) & (heads[:, 3] == salt2)
    valid = 0
    for i in range(n):  # per frame: each checksum continues the previous one
        if not ours[i]:
            break
        state = (jump @ state + per_frame[i]) & _MASK
        if (int(state[0]), int(state[1])) != (int(heads[i, 4]), int(heads[i, 5])):
            break
        valid += 1
    later = np.flatnonzero(ours[valid:])
    if valid == n or later.size == 0:
        return None
    commits = int(np.count_nonzero(heads[valid:, 1][later] != 0))
    return (commits, int(later.size)) if commits else None


def _words_checksum(words: NDArray[np.uint64], state: NDArray[np.uint64]) -> NDArray:
    """SQLite's checksum of one run of words (an even number), from ``state``."""
    powers = _checksum_step_powers(words.shape[1] // 2)
    jump = powers[0] @ np.array([[1, 1], [1, 2]], dtype=np.uint64) & _MASK
    return (jump @ state + _frame_sums(words)[0]) & _MASK


def _frame_sums(words: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Per row of ``words`` (pairs a, b), ``sum_k M**(m-1-k) (a_k, a_k + b_k)`` mod 2**32:
    the checksum state a row leads to from a zero state."""
    a, b = words[:, 0::2], words[:, 1::2]
    c0, c1 = a, (a + b) & _MASK
    powers = _checksum_step_powers(a.shape[1])
    # uint64 products wrap modulo 2**64, which keeps them right modulo 2**32.
    s0 = (c0 * powers[:, 0, 0] + c1 * powers[:, 0, 1]).sum(axis=1) & _MASK
    s1 = (c0 * powers[:, 1, 0] + c1 * powers[:, 1, 1]).sum(axis=1) & _MASK
    return np.stack([s0, s1], axis=1)


class _PrivateCopy(sqlite3.Connection):
    """A connection to a recording copied into a temporary folder, removed on close."""

    folder: str | None = None

    def close(self) -> None:
        super().close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _private_copy(p: Path) -> Path:
    """``p`` and its ``-wal`` copied into a new temporary folder, so that SQLite's index
    (``-shm``) is written there and not next to the input. Copied again if the recording
    changed meanwhile (a recorder still writing)."""
    folder = tempfile.mkdtemp(prefix="dosewatch-recording-")
    copy = Path(folder) / "recording.dwrec"
    try:
        for _ in range(3):
            before = [(os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in (p, f"{p}-wal")]
            shutil.copyfile(p, copy)
            shutil.copyfile(f"{p}-wal", f"{copy}-wal")
            after = [(os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in (p, f"{p}-wal")]
            if before == after:
                break
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return copy


def wal_missing(path: str | os.PathLike[str]) -> bool:
    """True when a recording is in WAL mode (never closed cleanly) but its ``-wal`` file,
    which holds everything since the last checkpoint, is not next to it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(20)
    except OSError:
        return False
    return len(head) == 20 and head[18] == 2 and not Path(f"{path}-wal").exists()


def _remove(folder: str | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _connect_ro(uri: str, *, immutable: bool, folder: str | None = None
                ) -> sqlite3.Connection:
    """A read-only connection that has read the schema (so a bad file fails here).
    ``folder``: a private copy's folder, removed when the connection closes."""
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    conn = sqlite3.connect(f"{uri}?{query}", uri=True, check_same_thread=False,
                           factory=_PrivateCopy)
    conn.folder = folder
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _check_sqlite_file(p: Path) -> None:
    """Refuse a path that is missing, unreadable, empty or not an SQLite database."""
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


def _connect_recording(p: Path) -> sqlite3.Connection:
    """A read-only connection to ``p``, or to a private copy when it has a ``-wal``."""
    uri = p.resolve().as_uri()
    folder = None
    try:
        if os.path.exists(f"{p}-wal"):
            copy = _private_copy(p)
            folder, uri = str(copy.parent), copy.as_uri()
        # Without its -wal a WAL-mode file has no writer; reading it as immutable keeps
        # SQLite from creating empty -wal and -shm files next to it.
        return _connect_ro(uri, immutable=wal_missing(p), folder=folder)
    except sqlite3.OperationalError as exc:
        _remove(folder)
        if "unable to open" in str(exc):
            raise _bad(p, f"cannot open the recording ({plain_reason(exc)})",
                       "copy the recording with its -wal file to a readable folder") from None
        raise _corrupt(p, exc) from None
    except sqlite3.DatabaseError as exc:
        _remove(folder)
        raise _corrupt(p, exc) from None
    except OSError as exc:
        _remove(folder)
        raise _bad(p, f"cannot copy the recording to read it ({plain_reason(exc)})",
                   "check the free space in the temporary folder (TMPDIR)") from None
    except BaseException:
        _remove(folder)
        raise


def _check_recording(conn: sqlite3.Connection, p: Path) -> None:
    """Refuse an SQLite database that is not a dosewatch recording of a readable format."""
    tables = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    missing = [t for t in ("meta", *TABLES) if t not in tables]
    if app_id != APPLICATION_ID or missing:
        shown = ", ".join(sanitise(t, 24) for t in sorted(map(str, tables))[:6]) or "none"
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
    _check_sqlite_file(p)
    conn = _connect_recording(p)
    try:
        _check_recording(conn, p)
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


class _NotNumbers(Exception):
    """A number column of a recording holds text or bytes."""

    def __init__(self, table: str, column: str, count: int):
        super().__init__(table)
        self.table, self.column, self.count = table, column, count


def _not_numbers(conn: sqlite3.Connection, sql: str) -> _NotNumbers:
    """Which column of the query's table holds something that is not a number."""
    table = sql.split(" FROM ")[1].split()[0]
    names = [c.strip() for c in sql.split("SELECT ")[1].split(" FROM ")[0].split(",")]
    for column in names:
        count = conn.execute(
            f"SELECT count(*) FROM {table} WHERE typeof({column}) NOT IN "
            "('integer', 'real', 'null')").fetchone()[0]
        if count:
            return _NotNumbers(table, column, count)
    return _NotNumbers(table, "?", 0)


def _text_meta(rows: list[tuple[object, object]], notes: list[str]) -> dict[str, str]:
    """The meta table as text; a value that is not text (bytes where text belongs) is
    left out with a note (a float ``closed_unix_s`` counts as text: it is there)."""
    meta: dict[str, str] = {}
    for key, value in rows:
        if isinstance(key, str) and isinstance(value, str | int | float):
            meta[key] = str(value)
        else:
            notes.append(f"meta {sanitise(key, 24)!r} is not text: ignored")
    return meta


def _fetch(conn: sqlite3.Connection, sql: str, params: tuple, columns: int) -> NDArray:
    """Rows of numbers as a float64 array ``(n, columns)``, NULL as NaN, in chunks.

    Raises:
        _NotNumbers: a value is text or bytes (no number).
    """
    cur = conn.execute(sql, params)
    parts = []
    while True:
        rows = cur.fetchmany(_CHUNK_ROWS)
        if not rows:
            break
        try:
            parts.append(np.array(rows, dtype=np.float64).reshape(-1, columns))
        except (TypeError, ValueError):
            raise _not_numbers(conn, sql) from None
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


def _read_samples(conn: sqlite3.Connection, notes: list[str]
                  ) -> tuple[dict[str, str], RecordedSamples, list[tuple[str, int]]]:
    """The recording's meta table, its samples by device, and its count of malformed
    notifications by status."""
    meta = _text_meta(conn.execute("SELECT key, value FROM meta").fetchall(), notes)
    devices = {
        d: f"{sanitise(device_name or 'device')} ({sanitise(address)})"
        for d, device_name, address in conn.execute("SELECT id, name, address FROM devices")
    }
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    hr = _hr_by_device(conn)
    if version < 2:
        _format1_no_contact(hr, notes)
    samples = RecordedSamples(
        hr=hr, acc=_acc_by_device(conn), speed=_speed_by_device(conn),
        grade=_grade_by_device(conn), device_names=devices)

    malformed = conn.execute(
        "SELECT status, count(*) FROM notifications WHERE status != 'ok' "
        "GROUP BY status ORDER BY status"
    ).fetchall()
    return meta, samples, malformed


def _format1_no_contact(hr: dict[int, tuple[NDArray, NDArray, NDArray]],
                        notes: list[str]) -> None:
    """Format 1 stored a contact-lost packet's 0 bpm as a heart rate: it is none."""
    zeros = sum(int(np.count_nonzero(v[1] == 0)) for v in hr.values())
    for bpm in (v[1] for v in hr.values()):
        bpm[bpm == 0] = np.nan
    if zeros:
        notes.append(f"format 1 recording: {zeros} heart-rate values of 0 bpm "
                     "(no skin contact) read as no reading")


def _wal_damage_note(p: Path) -> str | None:
    """What a damaged ``-wal`` file of ``p`` lost, or None when it is whole (or absent)."""
    damage = wal_damage(Path(f"{p}-wal"))
    if damage is None:
        return None
    commits, pages = damage
    return (
        f"the recording's -wal file is damaged: {commits} commits ({pages} pages) written "
        f"after the damage cannot be read, about {commits * 0.5:.0f} s of recording at "
        "the recorder's default of two commits a second; the data before it is read")


def _ending_notes(p: Path, meta: dict[str, str], samples: RecordedSamples, lost_wal: bool,
                  malformed: list[tuple[str, int]], notes: list[str]) -> None:
    """Note how the recording ended (not closed, its ``-wal`` missing) and the malformed
    notifications; refuse a recording with no heart rate, acceleration or speed."""
    lost_wal = lost_wal and "closed_unix_s" not in meta
    wal_hint = (
        f"its data since the last checkpoint is in {p.name}-wal, which is missing: copy it "
        "next to the recording"
    )
    if not samples.has_data:
        raise InputError(
            "the recording holds no heart-rate, acceleration or speed samples", source=p,
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
        meta, samples, malformed = _read_samples(conn, notes)
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"the recording is damaged or truncated ({plain_reason(exc)})", source=p,
            hint="recover what SQLite can with 'sqlite3 FILE .recover', or use a backup",
        ) from None
    except _NotNumbers as bad:
        raise InputError(
            f"the {bad.table} table holds text or bytes where numbers belong "
            f"({bad.count} rows, column {bad.column})", source=p,
            hint="the recording was altered or damaged; record again, or use a backup",
        ) from None
    finally:
        conn.close()
    damage = _wal_damage_note(p)
    if damage is not None:
        notes.append(damage)
    _ending_notes(p, meta, samples, lost_wal, malformed, notes)
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
    ids = rows[:, 0]
    rows = rows[np.isfinite(ids) & (np.abs(ids) < 2**62)]  # a row without a device: dropped
    # One sort, then a slice per device (a damaged file may name thousands of devices).
    order = np.argsort(rows[:, 0], kind="stable")
    rows = rows[order]
    devices, starts = np.unique(rows[:, 0], return_index=True)
    ends = np.append(starts[1:], rows.shape[0])[: starts.size]
    return {int(d): rows[a:b, 1:] for d, a, b in zip(devices, starts, ends, strict=True)}


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


def _grade_by_device(conn: sqlite3.Connection) -> dict[int, tuple[NDArray, NDArray]]:
    """A treadmill's incline, from recordings whose speed table has the column (see
    :mod:`dosewatch.recording.schema`)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(speed)")}
    if "grade" not in columns:
        return {}
    return {d: (rows[:, 0], rows[:, 1]) for d, rows in _by_device(
        conn, "SELECT device_id, t, grade FROM speed WHERE grade IS NOT NULL ORDER BY id",
        2).items()}
