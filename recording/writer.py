"""Writing a recording: :class:`RecordingWriter` (see :mod:`dosewatch.recording.schema`
for the file format and its durability)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import numpy as np
from numpy.typing import ArrayLike

from .. import __version__
from ..errors import OutputError
from ..profiles import profile_to_toml
from ..session import Profile
from .schema import (
    FORMAT_VERSION,
    INSERT,
    RECORDING_SUFFIX,
    RESERVED_META,
    SCHEMA,
    SET_CLOCK,
    SET_META,
    TABLES,
)

__all__ = ["RecordingWriter"]


def _finite(value: float, name: str) -> float:
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def _optional(value: float | None) -> float | None:
    """A value for a nullable column: None and NaN become NULL."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


class RecordingWriter:
    """Writes one live session to a new recording file.

    Calls only append to in-memory buffers (microseconds); :meth:`maybe_commit`, called
    often from the consumer task, writes them in one transaction when
    ``commit_interval_s`` has passed. Calls may come from any thread, one at a time or
    concurrently (a lock serialises them), so a commit can also be pushed to a worker
    thread.

    Args:
        path: the file to create (by convention ending in ``.dwrec``).
        profile: the participant, stored as TOML in ``meta``.
        meta: further ``meta`` entries (text); the keys of :data:`RESERVED_META` are the
            writer's own.
        commit_interval_s: the longest time data stays only in memory.
        overwrite: replace an existing file (and its ``-wal``/``-shm``).
        synchronous: ``"FULL"`` (commits survive a power cut) or ``"NORMAL"`` (they
            survive a killed process); see the module docstring.

    Raises:
        OutputError: the file exists and ``overwrite`` is false, its folder does not
            exist, or it cannot be created as a WAL database there.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        profile: Profile | None = None,
        meta: dict[str, str] | None = None,
        commit_interval_s: float = 0.5,
        overwrite: bool = False,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
    ):
        if not commit_interval_s > 0:
            raise ValueError(f"commit_interval_s must be > 0, got {commit_interval_s!r}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        extra = dict(meta or {})
        clash = sorted(RESERVED_META & set(extra))
        if clash:
            raise ValueError(f"meta keys {clash} are the writer's own")
        self.path = Path(path)
        self.commit_interval_s = float(commit_interval_s)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._create_file(overwrite)
        try:
            self._conn = self._connect(synchronous)
            now = time.time()
            entries = {
                "format_version": str(FORMAT_VERSION),
                "dosewatch_version": __version__,
                "created_unix_s": repr(now),
                "created_utc": datetime.fromtimestamp(now, UTC).isoformat(),
                "host_clock": "time.time() (Unix seconds, UTC)",
                "host_monotonic_s": repr(time.monotonic()),
                "profile": profile_to_toml(profile) if profile is not None else "",
            } | {str(k): str(v) for k, v in extra.items()}
            with self._transaction():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                self._conn.executemany(SET_META, entries.items())
            # Put the schema into the main file now, so that even the file alone, copied
            # without its -wal, is a (still empty) recording.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except BaseException:
            if self._conn is not None:
                self._conn.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            raise
        self._rows: dict[str, list[tuple[Any, ...]]] = {
            name: [] for name in INSERT if name != "acc"
        }
        self._acc: list[tuple[np.ndarray, np.ndarray, int, int | None]] = []
        self._acc_pending = 0
        self._updates: list[tuple[str, tuple[Any, ...]]] = []
        self._next_id = {"devices": 1, "notifications": 1}
        self._committed = dict.fromkeys(TABLES, 0)
        self._last_commit = time.monotonic()
        self._closed = False

    # -- setup ------------------------------------------------------------------------

    def _create_file(self, overwrite: bool) -> None:
        if not self.path.parent.is_dir():
            raise OutputError(
                "cannot create the recording: its folder does not exist",
                source=self.path,
                hint="create the folder first or choose another path",
            )
        if overwrite:
            if self.path.is_dir():
                raise OutputError("is a folder, not a recording file", source=self.path,
                                  hint="choose a file name ending in " + RECORDING_SUFFIX)
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        try:
            # O_EXCL: never overwrite a recording another recorder created a moment ago.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise OutputError(
                "a recording already exists here",
                source=self.path,
                hint="choose another file name, or pass overwrite=True to replace it",
            ) from None
        except OSError as exc:
            raise OutputError(
                f"cannot create the recording ({exc.strerror or exc})",
                source=self.path,
                hint="check the folder's permissions and free space",
            ) from None
        os.close(fd)

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.close()
                raise OutputError(
                    f"the file system does not support SQLite's WAL mode (got {mode})",
                    source=self.path,
                    hint="record to a local disk, not a network share",
                )
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute("PRAGMA busy_timeout = 2000")
        except sqlite3.Error as exc:
            raise OutputError(
                f"cannot open the recording as a database ({exc})",
                source=self.path,
                hint="record to a local disk with free space",
            ) from None
        return conn

    # -- writing ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: the recording is closed")

    def add_device(self, address: str, name: str | None, services: list[str], role: str) -> int:
        """Register a device; returns its id for the other calls."""
        with self._lock:
            self._check_open()
            device_id = self._next_id["devices"]
            self._next_id["devices"] += 1
            self._rows["devices"].append(
                (device_id, str(address), name, json.dumps(list(services)), str(role),
                 time.time())
            )
            return device_id

    def set_device_clock(self, device_id: int, offset_s: float, info: str = "") -> None:
        """Record how a device's own clock maps to host time: host Unix s = sensor s +
        ``offset_s`` (for Polar PMD sensor time, sensor s counts from 2000-01-01)."""
        with self._lock:
            self._check_open()
            self._updates.append((SET_CLOCK, (_finite(offset_s, "offset_s"), info, device_id)))

    def set_meta(self, key: str, value: str) -> None:
        """Add or replace one ``meta`` entry (not one of :data:`RESERVED_META`)."""
        if key in RESERVED_META:
            raise ValueError(f"meta key {key!r} is the writer's own")
        with self._lock:
            self._check_open()
            self._updates.append((SET_META, (str(key), str(value))))

    def add_notification(
        self, device_id: int, char_uuid: str, arrival_s: float, payload: bytes,
        status: str = "ok", note: str | None = None,
    ) -> int:
        """Keep one notification's raw bytes; returns its id for the decoded samples.

        Args:
            device_id: from :meth:`add_device`.
            char_uuid: the characteristic's UUID.
            arrival_s: host arrival time, Unix seconds.
            payload: the bytes exactly as received.
            status: ``"ok"``, or the malformed kind (``ProtocolError.kind``).
            note: what the decoder tolerated to read it (its quirks), or None.
        """
        with self._lock:
            self._check_open()
            nid = self._next_id["notifications"]
            self._next_id["notifications"] += 1
            self._rows["notifications"].append(
                (nid, device_id, char_uuid, _finite(arrival_s, "arrival_s"), bytes(payload),
                 str(status), None if not note else str(note))
            )
            return nid

    def add_hr(
        self, device_id: int, notification_id: int | None, t: float, bpm: float | None,
        rr_ms: Sequence[float] = (), *, contact: bool | None = None,
        energy_kj: int | None = None,
    ) -> None:
        """One heart-rate notification: its reading (bpm; None or NaN when it carries
        none: no skin contact, or 0), the RR intervals (ms, oldest first) sent with it,
        the sensor's contact flag (None: not reported) and energy expended (kJ)."""
        t = _finite(t, "t")
        bpm_value = _optional(bpm)
        contact_value = None if contact is None else int(bool(contact))
        energy = None if energy_kj is None else int(energy_kj)
        with self._lock:
            self._check_open()
            rows = self._rows["hr"]
            if len(rr_ms) == 0:
                rows.append((t, bpm_value, None, 0, device_id, notification_id,
                             contact_value, energy))
            else:
                rows.extend(
                    (t, bpm_value, _optional(rr), seq, device_id, notification_id,
                     contact_value, energy)
                    for seq, rr in enumerate(rr_ms)
                )

    def add_acc(
        self, device_id: int, notification_id: int | None, t: ArrayLike, xyz_g: ArrayLike
    ) -> None:
        """Acceleration samples: times (host Unix s) ``(n,)`` and values in g ``(n, 3)``."""
        times = np.asarray(t, dtype=np.float64).reshape(-1)
        xyz = np.asarray(xyz_g, dtype=np.float64)
        if xyz.shape != (times.size, 3):
            raise ValueError(f"xyz_g must have shape ({times.size}, 3), got {xyz.shape}")
        if not np.isfinite(times).all():
            raise ValueError("acceleration times must be finite")
        if times.size == 0:
            return
        with self._lock:
            self._check_open()
            self._acc.append((times.copy(), xyz.copy(), device_id, notification_id))
            self._acc_pending += times.size

    def add_speed(
        self, device_id: int, notification_id: int | None, t: float, mps: float | None,
        cadence_spm: float | None = None, grade: float | None = None,
    ) -> None:
        """One speed value (m/s) and, when known, the cadence (steps per minute) and a
        treadmill's incline (``grade``, rise over run: 0.05 is 5 %)."""
        t = _finite(t, "t")
        with self._lock:
            self._check_open()
            self._rows["speed"].append(
                (t, _optional(mps), _optional(cadence_spm), device_id, notification_id,
                 _optional(grade))
            )

    def add_event(self, t: float, kind: str, detail: str = "", device_id: int | None = None
                  ) -> None:
        """Something that happened: connect, disconnect, reconnect, gap, stream started,
        malformed notifications, ... (``kind`` is a short word, ``detail`` free text)."""
        t = _finite(t, "t")
        with self._lock:
            self._check_open()
            self._rows["events"].append((t, device_id, str(kind), str(detail)))

    # -- committing -------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Rows held in memory, not yet committed."""
        with self._lock:
            return sum(map(len, self._rows.values())) + self._acc_pending + len(self._updates)

    @property
    def counts(self) -> dict[str, int]:
        """Committed rows per table (``hr`` counts one row per RR interval)."""
        with self._lock:
            return dict(self._committed)

    def maybe_commit(self) -> bool:
        """Commit when ``commit_interval_s`` has passed since the last commit; returns
        whether rows were written."""
        if time.monotonic() - self._last_commit < self.commit_interval_s:
            return False
        return self._flush()

    def _acc_rows(self) -> Iterable[tuple[Any, ...]]:
        # A NaN value is stored as NULL by SQLite: a gap, as the reader takes it.
        for times, xyz, device_id, nid in self._acc:
            x, y, z = (c.tolist() for c in xyz.T)
            yield from zip(times.tolist(), x, y, z, repeat(device_id), repeat(nid), strict=False)

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    def commit(self) -> None:
        """Write every buffered row in one transaction.

        Raises:
            OutputError: the write failed (disk full, file removed...). Nothing buffered
                is dropped: the rows stay in memory for the next attempt.
        """
        self._flush()

    def _flush(self) -> bool:
        with self._lock:
            self._last_commit = time.monotonic()
            if self._closed or self.pending == 0:
                return False
            added = {name: len(rows) for name, rows in self._rows.items()}
            added["acc"] = self._acc_pending
            with self._transaction():
                conn = self._require_conn()
                for name, rows in self._rows.items():
                    if rows:
                        conn.executemany(INSERT[name], rows)
                if self._acc:
                    conn.executemany(INSERT["acc"], self._acc_rows())
                for sql, params in self._updates:
                    conn.execute(sql, params)
            for name, n in added.items():
                self._committed[name] += n
            for rows in self._rows.values():
                rows.clear()
            self._acc.clear()
            self._acc_pending = 0
            self._updates.clear()
            return True

    def _require_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"{self.path}: the recording is not open")
        return self._conn

    def close(self) -> None:
        """Commit, mark the recording as closed, checkpoint the WAL into the file and
        switch it to a rollback journal so that it is one self-contained file.

        Raises:
            OutputError: the final commit failed (a full disk, say). The file still holds
                everything committed before; the rows of that last second are lost, since
                the writer closes either way.
        """
        with self._lock:
            if self._closed:
                return
            conn = self._require_conn()
            try:
                self._updates.append((SET_META, ("closed_unix_s", repr(time.time()))))
                self.commit()
            finally:
                self._closed = True
                try:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    # Fails while a reader has the file open; it then stays in WAL mode.
                    conn.execute("PRAGMA journal_mode = DELETE")
                except sqlite3.Error:
                    pass
                conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back and turned into OutputError on a
    database error."""

    def __init__(self, writer: RecordingWriter):
        self.writer = writer

    def __enter__(self) -> None:
        try:
            self.writer._require_conn().execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self.writer._require_conn()
        if exc is None:
            try:
                conn.execute("COMMIT")
                return
            except sqlite3.Error as error:
                exc = error
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        if isinstance(exc, sqlite3.Error):
            raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> OutputError:
        return OutputError(
            f"cannot write the recording ({exc})",
            source=self.writer.path,
            hint="free disk space or check the file; data since the last commit is kept "
                 "in memory for the next commit",
        )
