"""The recording file: one SQLite database per live session (``*.dwrec``).

This package is the one place the format is known: :mod:`.schema` (the tables),
:mod:`.writer` (the recorder writes through it), :mod:`.reader` (batch reading) and
:mod:`.streams` (recorded samples -> the session's streams, used by batch reading and by
the live analysis alike, so the two cannot disagree).

Every notification is kept exactly as it arrived (malformed ones too), next to the samples
decoded from it, so a recording can be decoded again by a better decoder later and an
analysis never depends on what the live path happened to get right.

Durability. The database runs in WAL mode and :class:`RecordingWriter` commits at most
every ``commit_interval_s`` (0.5 s by default), so after ``kill -9`` the file opens and
holds everything up to the last commit; the uncommitted tail is lost. The default
``synchronous=FULL`` makes each commit durable against a power cut too: it costs one
fsync of the WAL per commit (≈4 ms on the development VM's disk, so under 1 % of the
event loop at two commits a second). ``synchronous="NORMAL"`` skips that fsync (commits
take ≈0.1 ms) and still survives a killed process, but a power cut may then roll back the
commits since the last checkpoint; choose it for storage with very slow fsync (SD cards).
Either way the file is never corrupted. A cleanly closed recording is checkpointed and
switched back to a rollback journal, so it is one self-contained file that also opens
from read-only media.

Schema (format version :data:`FORMAT_VERSION`, in ``PRAGMA user_version``; the file is
marked with ``PRAGMA application_id`` = :data:`APPLICATION_ID`)::

    meta(key, value)                     format_version, dosewatch_version, created_unix_s,
                                         created_utc, host_clock, host_monotonic_s,
                                         profile (TOML), closed_unix_s (on close), any
                                         caller keys
    devices(id, address, name, services, role, added_s, clock_offset_s, clock_info)
                                         services: JSON list of service UUIDs
    notifications(id, device_id, char_uuid, t, payload, status, note)
                                         t: host arrival time, Unix s; payload: the raw
                                         bytes; status: 'ok' or the malformed kind; note:
                                         what the decoder tolerated to read it (reserved
                                         flag bits, bytes after the fields: "kind: detail"
                                         joined by "; "), NULL when nothing
    hr(id, t, bpm, rr_ms, seq, device_id, notification_id, contact, energy_kj)
                                         one row per RR interval; seq numbers the RR
                                         intervals of one heart-rate value from 0, and a
                                         value without RR has one row with rr_ms NULL, so
                                         values are the rows with seq = 0. bpm is NULL when
                                         the notification carries no reading (the sensor
                                         reports no skin contact, or sends 0); contact:
                                         1/0 as the sensor reported it, NULL when it does
                                         not report contact; energy_kj: energy expended
                                         since its last reset, when sent
    acc(id, t, x, y, z, device_id, notification_id)
                                         g; t: sample time mapped to host Unix s
    speed(id, t, mps, cadence_spm, device_id, notification_id, grade)
                                         grade: a treadmill's incline as rise over run
                                         (FTMS), NULL when not sent
    events(id, t, device_id, kind, detail)
                                         connect, disconnect, gap, stream started, ...

Times are host Unix seconds (``time.time()``) throughout.

Format history. Version 1 had no ``notifications.note``, ``hr.contact`` and
``hr.energy_kj``, and stored a contact-lost packet's 0 bpm as a heart rate; the reader
reads it as if those columns were NULL and takes 0 bpm as no reading. A reader refuses a
version newer than :data:`FORMAT_VERSION` (columns it does not know might change what the
numbers mean). Bump the version for any change a previous reader would misread, and keep
reading every older one. ``speed.grade`` was added within version 2: a reader that does not
know it reads everything else as before (nothing is misread), and a file without it has no
incline.
"""

from __future__ import annotations

RECORDING_SUFFIX = ".dwrec"
SQLITE_MAGIC = b"SQLite format 3\x00"

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
APPLICATION_ID = 0x44577263  # "DWrc"
TABLES = ("devices", "notifications", "hr", "acc", "speed", "events")
RESERVED_META = frozenset({
    "format_version", "dosewatch_version", "created_unix_s", "created_utc", "host_clock",
    "host_monotonic_s", "profile", "closed_unix_s",
})

SCHEMA = f"""
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {FORMAT_VERSION};
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    name TEXT,
    services TEXT NOT NULL,
    role TEXT NOT NULL,
    added_s REAL NOT NULL,
    clock_offset_s REAL,
    clock_info TEXT
);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices (id),
    char_uuid TEXT NOT NULL,
    t REAL NOT NULL,
    payload BLOB NOT NULL,
    status TEXT NOT NULL,
    note TEXT
);
CREATE TABLE hr (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    bpm REAL,
    rr_ms REAL,
    seq INTEGER NOT NULL,
    device_id INTEGER NOT NULL REFERENCES devices (id),
    notification_id INTEGER REFERENCES notifications (id),
    contact INTEGER,
    energy_kj INTEGER
);
CREATE TABLE acc (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    x REAL,
    y REAL,
    z REAL,
    device_id INTEGER NOT NULL REFERENCES devices (id),
    notification_id INTEGER REFERENCES notifications (id)
);
CREATE TABLE speed (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    mps REAL,
    cadence_spm REAL,
    device_id INTEGER NOT NULL REFERENCES devices (id),
    notification_id INTEGER REFERENCES notifications (id),
    grade REAL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    device_id INTEGER REFERENCES devices (id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""

INSERT = {
    "devices": "INSERT INTO devices (id, address, name, services, role, added_s) "
               "VALUES (?, ?, ?, ?, ?, ?)",
    "notifications": "INSERT INTO notifications (id, device_id, char_uuid, t, payload, status, "
                     "note) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "hr": "INSERT INTO hr (t, bpm, rr_ms, seq, device_id, notification_id, contact, energy_kj) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "acc": "INSERT INTO acc (t, x, y, z, device_id, notification_id) VALUES (?, ?, ?, ?, ?, ?)",
    "speed": "INSERT INTO speed (t, mps, cadence_spm, device_id, notification_id, grade) "
             "VALUES (?, ?, ?, ?, ?, ?)",
    "events": "INSERT INTO events (t, device_id, kind, detail) VALUES (?, ?, ?, ?)",
}
SET_META = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"
SET_CLOCK = "UPDATE devices SET clock_offset_s = ?, clock_info = ? WHERE id = ?"
