"""Polar Sensor Logger exports: the text files one recording of a Polar strap or armband
(H10, OH1, Verity Sense) leaves, read together as ONE session.

The app writes one ``;``-separated file per stream, named ``<prefix>_<STREAM>.txt`` with a
prefix shared by the recording (``Polar_H10_16E0A933_20240424_141011``):

- ``HR``: ``Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];`` (rows leave out
  the trailing fields they have no value for);
- ``RR``: ``Phone timestamp;RR-interval [ms]``, one beat per row; each heart-rate sample
  gets the last beat that ended since the one before (as a strap reports them), and
  without an ``HR`` file the heart rate is 60000 / RR;
- ``PPI`` (optical sensors): ``Phone timestamp;PP-interval [ms];...;hr [bpm]``, read like
  ``RR`` (and its ``hr`` where ``HR`` is missing);
- ``ACC``: ``Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]``: the sensor's own
  clock (nanoseconds since 2000-01-01) keeps the sample spacing exact; it is put on the
  phone's clock by the median difference between the two;
- ``ECG``, ``PPG``, ``GYRO``, ``MAGN`` and ``MARKER`` files are not read (dosewatch needs
  heart rate, RR and acceleration), and the session says so.

``Phone timestamp`` is the phone's local time without a zone: taken as UTC, with a note.

How the registry sees them: a folder that holds only such files (and markers) is one
input, one session per recording prefix; a file given on its own, or met in a folder
that also holds other things, stands for its whole recording (:func:`recording_files`):
discovery keeps one file per recording as the input and lists the others as read with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...session import Session
from ..activity import ActivityData, errors_of, rr_per_sample, to_session
from ..registry import Reader, ReadOptions, file_head
from ..tables import HEAD_BYTES, assign_roles, numbers, read_columns, sniff_layout, to_seconds

__all__ = ["READER", "is_psl_file", "read_recording", "recording_files"]

POLAR_EPOCH_UNIX = 946_684_800  # 2000-01-01T00:00:00Z
_NAME = re.compile(r"^(?P<prefix>.+?)_(?P<stream>HR|RR|PPI|ACC|ECG|PPG|GYRO|GYR|MAGN|MAG)"
                   r"\.txt$", re.IGNORECASE)
_MARKER = re.compile(r"^MARKER.*\.txt$", re.IGNORECASE)
_READ = ("HR", "RR", "PPI", "ACC")
_STREAM_ORDER = ("HR", "RR", "PPI", "ACC", "ECG", "PPG", "GYRO", "GYR", "MAGN", "MAG")


def is_psl_file(head: bytes) -> bool:
    """Whether a file's first bytes are a Polar Sensor Logger header."""
    text = head[:300].lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"Phone timestamp;Marker"):
        return False  # a marker file: no samples (see _explain)
    return text.startswith((b"Phone timestamp;", b"Phone Data RX timestamp;"))


def _stream_of(path: Path) -> tuple[str, str] | None:
    match = _NAME.match(path.name)
    if match is None:
        return None
    return match.group("prefix"), match.group("stream").upper()


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(300)
    except OSError:
        return b""


def recording_files(path: Path) -> list[Path]:
    """Every file of the recording ``path`` belongs to (the HR file, else the first by
    name, first): its siblings with the same prefix that are Polar Sensor Logger files."""
    path = Path(path)
    own = _stream_of(path)
    if own is None:
        return [path]
    try:
        siblings = [p for p in path.parent.iterdir() if p.is_file()]
    except OSError:
        return [path]
    members = [p for p in siblings if (s := _stream_of(p)) is not None and s[0] == own[0]
               and is_psl_file(_head(p))]
    if path not in members:
        members.append(path)
    order = {s: i for i, s in enumerate(_STREAM_ORDER)}
    members.sort(key=lambda p: (order.get(_stream_of(p)[1], 99), p.name))  # type: ignore[index]
    return members


def claims_folder(path: Path) -> bool:
    """A folder of Polar Sensor Logger files and markers only (nothing else to read)."""
    try:
        entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    except OSError:
        return False
    found = False
    for entry in entries:
        if not entry.is_file():
            return False
        if _stream_of(entry) is not None and is_psl_file(_head(entry)):
            found = True
        elif not _MARKER.match(entry.name):
            return False
    return found


def _table(path: Path, options: ReadOptions) -> tuple[dict, object, object]:
    head = file_head(path, HEAD_BYTES)
    layout = sniff_layout(head, path)
    roles = assign_roles(layout.names, {}, path)
    return head, layout, roles


def _phone_times(cells: dict, layout, path: Path, notes: list[str]) -> np.ndarray:
    times = to_seconds(cells["time"], path, name=layout.names[0])
    if any("no time zone" in note for note in times.notes):
        note = ("Phone timestamp is the phone's local time, without a zone: taken as UTC")
        if note not in notes:
            notes.append(note)
    return times.t


def _read_hr(path: Path, notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    _, layout, roles = _table(path, ReadOptions())
    if "hr" not in roles.index:
        raise InputError("no HR [bpm] column", source=path,
                         hint="export the recording again from Polar Sensor Logger")
    wanted = {"time": roles.index["time"], "hr": roles.index["hr"]}
    if "rr" in roles.index:
        wanted["rr"] = roles.index["rr"]
    cells = read_columns(path, layout, wanted)
    t = _phone_times(cells, layout, path, notes)
    hr = numbers(cells["hr"], "HR [bpm]", path, decimal=layout.decimal)
    rr = numbers(cells["rr"], "RR", path, decimal=layout.decimal) if "rr" in cells else None
    return t, hr, rr


def _read_beats(path: Path, notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(times, intervals in ms, hr column when the file has one) of an RR or PPI file."""
    _, layout, roles = _table(path, ReadOptions())
    if "rr" not in roles.index:
        raise InputError("no RR- or PP-interval column", source=path,
                         hint="export the recording again from Polar Sensor Logger")
    wanted = {"time": 0, "rr": roles.index["rr"]}
    if "hr" in roles.index:
        wanted["hr"] = roles.index["hr"]
    cells = read_columns(path, layout, wanted)
    t = _phone_times(cells, layout, path, notes)
    rr = numbers(cells["rr"], "interval", path, decimal=layout.decimal)
    hr = numbers(cells["hr"], "hr", path, decimal=layout.decimal) if "hr" in cells else None
    return t, rr, hr


def _read_acc(path: Path, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    _, layout, roles = _table(path, ReadOptions())
    if not roles.has("x", "y", "z"):
        raise InputError("no X, Y and Z columns", source=path,
                         hint="export the recording again from Polar Sensor Logger")
    names = [n.lower() for n in layout.names]
    sensor = next((i for i, n in enumerate(names) if n.startswith("sensor timestamp")), None)
    wanted = {"time": 0, "x": roles.index["x"], "y": roles.index["y"], "z": roles.index["z"]}
    if sensor is not None:
        wanted["sensor"] = sensor
    cells = read_columns(path, layout, wanted)
    phone = _phone_times(cells, layout, path, notes)
    xyz = np.column_stack([numbers(cells[a], a, path, decimal=layout.decimal) * roles.factor.get(
        a, 1.0) for a in "xyz"])
    t = phone
    if sensor is not None:
        ns = numbers(cells["sensor"], "sensor timestamp [ns]", path)
        sensor_s = ns * 1e-9
        ok = np.isfinite(sensor_s) & np.isfinite(phone)
        if ok.sum() >= 2:
            offset = float(np.median(phone[ok] - sensor_s[ok]))
            t = sensor_s + offset
            notes.append(f"{path.name}: sample times from the sensor's clock (ns since "
                         "2000-01-01), put on the phone's clock, which reads "
                         f"{offset - POLAR_EPOCH_UNIX:+.3f} s from it (median)")
    return t, xyz.astype(np.float32)


def read_recording(files: list[Path], options: ReadOptions, name: str) -> Session:
    """The session of one recording's files (see the module text)."""
    streams = {_stream_of(p)[1]: p for p in files if _stream_of(p) is not None}  # type: ignore[index]
    lead = files[0]
    notes: list[str] = []
    hr_t = np.empty(0)
    hr = np.empty(0)
    rr_rows = None
    if "HR" in streams:
        hr_t, hr, rr_rows = _read_hr(streams["HR"], notes)
    beats = None
    for key in ("RR", "PPI"):
        if key in streams:
            bt, brr, bhr = _read_beats(streams[key], notes)
            beats = (bt, brr)
            if not hr.size:
                if bhr is not None and np.isfinite(bhr).any() and (bhr > 0).any():
                    hr_t, hr = bt, np.where(bhr > 0, bhr, np.nan)
                    notes.append(f"heart rate from the {key} file's hr column")
                else:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        hr_t, hr = bt, np.where(brr > 0, 60_000.0 / brr, np.nan)
                    notes.append(f"heart rate from the {key} intervals (60000 / interval)")
            break
    rr = rr_rows
    if beats is not None and hr.size:
        ok = np.isfinite(beats[0]) & np.isfinite(beats[1]) & (beats[1] > 0)
        rr = rr_per_sample(hr_t, np.isfinite(hr), (beats[0][ok], beats[1][ok] / 1000.0))
    acc = _read_acc(streams["ACC"], notes) if "ACC" in streams else None
    if not hr.size and acc is None:
        raise InputError("the recording has no HR, RR, PPI or ACC file", source=lead,
                         hint="record heart rate or acceleration in Polar Sensor Logger")
    read = [p.name for k, p in streams.items() if k in _READ]
    unread = [p.name for k, p in streams.items() if k not in _READ]
    notes.insert(0, "Polar Sensor Logger recording: read " + ", ".join(read))
    if unread:
        notes.append("not read (dosewatch uses heart rate, RR and acceleration): "
                     + ", ".join(unread))
    data = ActivityData(source=lead, format="polar-sensor-logger", t=hr_t,
                        segment=np.zeros(hr_t.size, np.int64), hr=hr if hr.size else None,
                        rr_ms=rr, acc=acc, repairs=notes)
    return to_session(data, profile=options.profile, name=name, what_rows="sample")


def _read(path: Path, options: ReadOptions) -> list[Session]:
    with errors_of(Path(path)):
        return _read_recordings(Path(path), options)


def _read_recordings(path: Path, options: ReadOptions) -> list[Session]:
    if path.is_dir():
        groups: dict[str, list[Path]] = {}
        for entry in sorted(path.iterdir()):
            stream = _stream_of(entry)
            if stream is not None and entry.is_file():
                groups.setdefault(stream[0], []).append(entry)
        sessions = []
        for prefix in sorted(groups):
            files = recording_files(groups[prefix][0])
            sessions.append(read_recording(files, options, options.name or prefix))
        return sessions
    files = recording_files(path)
    stream = _stream_of(path)
    name = options.name or (stream[0] if stream else path.stem)
    return [read_recording(files, options, name)]


def _explain(path: Path) -> str | None:
    if _MARKER.match(path.name) and _head(path).startswith(b"Phone timestamp;Marker"):
        return ("a Polar Sensor Logger marker file (start and stop marks, no samples): the "
                "recording is read from its HR, RR, PPI and ACC files")
    return None


def _group(path: Path) -> list[Path]:
    return recording_files(path) if _stream_of(path) is not None else [path]


READER = Reader(
    name="polar-sensor-logger",
    title="Polar Sensor Logger recording (HR, RR, PPI, ACC text files)",
    read=_read,
    sniff=is_psl_file,
    claims_folder=claims_folder,
    group=_group,
    explain=_explain,
    hint="pass the folder of the recording's files, or one of them",
    priority=10,
)
