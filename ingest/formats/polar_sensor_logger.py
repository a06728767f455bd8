"""Polar Sensor Logger exports: the text files one recording of a Polar strap or armband
(H10, OH1, Verity Sense) leaves, read together as ONE session.

The app writes one ``;``-separated file per stream, named ``<prefix>_<STREAM>.txt``, the
prefix being the device and the second the stream started
(``Polar_H10_55354125_20210516_080845_HR.txt``, ``..._080846_ECG.txt``,
``..._080900_ACC.txt``: one recording, see :func:`recordings`):

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
- ``ECG`` (H10): ``Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]``, about
  130 Hz, put on the sensor's clock like ``ACC`` (the phone's timestamps carry each
  Bluetooth packet's delay); the rate is the median spacing of those times.

  *Without* an ``HR``, ``RR`` or ``PPI`` file the heart rate and RR intervals are derived
  from the ECG by :func:`dosewatch.ingest.ecg.heart_rate_from_ecg` (the R-peak detector
  the EDF reader uses, validated on expert-annotated PhysioNet recordings); a note says how
  many beats were found and how many intervals were rejected. A lead that gives no
  trustworthy heart rate (flat, noisy, too short) gives none, and the note, or the refusal
  when the recording has nothing else, says why.

  *With* one of them the strap's heart rate is kept and the ECG is only read (the note
  says so, or why it could not be): the H10 times its beats itself, to 1/1024 s (the
  resolution of its RR intervals), where a beat found in the 130 Hz ECG it streams is
  placed to a sample, 7.7 ms; its RR intervals agree with a Holter ECG's (Gilgen-Ammann,
  Schweizer & Wyss, Eur J Appl Physiol 2019); and on a real H10 recording the heart rate
  derived here is within 2 bpm of the strap's in every minute
  (``scripts/validate_polar_ecg.py``): deriving it again would add a coarser second
  opinion, not a better one;
- ``PPG``, ``GYRO``, ``MAGN`` and ``MARKER`` files are not read (dosewatch needs heart
  rate, RR and acceleration), and the session says so.

``Phone timestamp`` is the phone's local time without a zone: read as UTC, with a note,
then in the study's zone by :func:`dosewatch.ingest.clock.localize`.

The device the file names (``Polar_H10_...``) says where its accelerometer is worn when it
is a chest strap (H10, H9, H7): placement ``chest``, from the device (the session's
``placement_source`` is ``device``), unless the profile gives a placement. The OH1 and
Verity Sense are worn on the arm or the temple, none of dosewatch's placements: they get
none from the device.

How the registry sees them: a folder that holds only such files (and markers) is one
input, one session per recording; a file given on its own, or met in a folder that also
holds other things, stands for its whole recording (:func:`recording_files`): discovery
keeps one file per recording as the input and lists the others as read with it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...session import Profile, Session
from ..activity import ActivityData, errors_of, rr_per_sample, to_session
from ..ecg import heart_rate_from_ecg
from ..registry import Reader, ReadOptions, file_head
from ..tables import HEAD_BYTES, assign_roles, numbers, read_columns, sniff_layout, to_seconds

__all__ = ["READER", "is_psl_file", "read_recording", "recording_files", "recordings"]

POLAR_EPOCH_UNIX = 946_684_800  # 2000-01-01T00:00:00Z
_NAME = re.compile(r"^(?P<prefix>.+?)_(?P<stream>HR|RR|PPI|ACC|ECG|PPG|GYRO|GYR|MAGN|MAG)"
                   r"\.txt$", re.IGNORECASE)
_STAMP = re.compile(r"^(?P<device>.+)_(?P<stamp>\d{8}_\d{6})$")
SAME_RECORDING_S = 60.0  # the streams of one recording start within this of its first
_MARKER = re.compile(r"^MARKER.*\.txt$", re.IGNORECASE)
_READ = ("HR", "RR", "PPI", "ACC", "ECG")
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


_CHEST_STRAPS = (("H10", "a Polar H10 chest strap"), ("H9", "a Polar H9 chest strap"),
                 ("H7", "a Polar H7 chest strap"))
"""Polar's devices the app names in its file names that are chest straps (the OH1 and
Verity Sense are worn on the arm or temple: no placement of dosewatch's)."""


def device_placement(device: str) -> tuple[str, str] | None:
    """Where the accelerometer of the device the app names (``Polar_H10_55354125``) is
    worn, and why: ``("chest", "a Polar H10 chest strap")``; None when unknown."""
    words = {w.upper() for w in re.split(r"[_\s-]+", device)}
    for model, what in _CHEST_STRAPS:
        if model in words:
            return "chest", what
    return None


def _started(prefix: str) -> tuple[str, float | None]:
    """(device part, start time in s) of a prefix ``<device>_<yyyyMMdd>_<HHmmss>``; the
    whole prefix and None when it carries no readable start."""
    match = _STAMP.match(prefix)
    if match is None:
        return prefix, None
    try:
        start = datetime.strptime(match.group("stamp"), "%Y%m%d_%H%M%S")
    except ValueError:
        return prefix, None
    return match.group("device"), start.replace(tzinfo=UTC).timestamp()


def recordings(paths: list[Path]) -> list[list[Path]]:
    """The recordings among Polar Sensor Logger files, each a list of its files (the HR
    file, else the first by stream, first).

    The app stamps each file with the time its own stream started, so one recording's
    files differ in name by a few seconds (``..._080845_HR``, ``..._080846_ECG``,
    ``..._080900_ACC``): files of one device join one recording when they started within
    :data:`SAME_RECORDING_S` of its first file and it has no file of their stream yet.
    Prefixes without a start stamp group by the whole prefix.
    """
    keyed = []
    for path in paths:
        stream = _stream_of(path)
        if stream is not None:
            device, start = _started(stream[0])
            keyed.append((device, start if start is not None else -np.inf, stream[0],
                          stream[1], path))
    keyed.sort(key=lambda k: (k[0], k[1], k[2], k[4].name))
    groups: list[list[Path]] = []
    streams: set[str] = set()
    last = None
    for device, start, prefix, stream, path in keyed:
        same = last is not None and device == last[0] and stream not in streams and (
            prefix == last[2] if start == -np.inf
            else last[1] != -np.inf and start - last[1] <= SAME_RECORDING_S)
        if not same:
            groups.append([])
            streams = set()
            last = (device, start, prefix)
        groups[-1].append(path)
        streams.add(stream)
    order = {s: i for i, s in enumerate(_STREAM_ORDER)}
    for group in groups:
        group.sort(key=lambda p: (order.get(_stream_of(p)[1], 99), p.name))  # type: ignore[index]
    return groups


def recording_files(path: Path) -> list[Path]:
    """Every file of the recording ``path`` belongs to (the HR file, else the first by
    stream, first): its Polar Sensor Logger siblings of the same recording
    (:func:`recordings`)."""
    path = Path(path)
    if _stream_of(path) is None:
        return [path]
    try:
        siblings = [p for p in path.parent.iterdir() if p.is_file()]
    except OSError:
        return [path]
    members = [p for p in siblings if _stream_of(p) is not None and is_psl_file(_head(p))]
    if path not in members:
        members.append(path)
    return next(g for g in recordings(members) if path in g)


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


def logger_files(folder: Path) -> list[Path]:
    """The recordings' files and markers of a folder :func:`claims_folder` claims (it
    claims only folders holding nothing else)."""
    try:
        return sorted(p for p in folder.iterdir() if p.is_file() and (
            _stream_of(p) is not None or _MARKER.match(p.name)))
    except OSError:
        return []


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
    t = phone if sensor is None else _sensor_clock(phone, cells["sensor"], path, notes)
    return t, xyz.astype(np.float32)


def _sensor_clock(phone: np.ndarray, cells: object, path: Path, notes: list[str]
                  ) -> np.ndarray:
    """Sample times from the sensor's own clock (``sensor timestamp [ns]``, nanoseconds
    since 2000-01-01: exact spacing), put on the phone's clock by the median difference
    between the two; the phone's times where fewer than two rows have both."""
    sensor_s = numbers(cells, "sensor timestamp [ns]", path) * 1e-9
    ok = np.isfinite(sensor_s) & np.isfinite(phone)
    if ok.sum() < 2:
        return phone
    offset = float(np.median(phone[ok] - sensor_s[ok]))
    notes.append(f"{path.name}: sample times from the sensor's clock (ns since "
                 "2000-01-01), put on the phone's clock, which reads "
                 f"{offset - POLAR_EPOCH_UNIX:+.3f} s from it (median)")
    return sensor_s + offset


def _read_ecg(path: Path, notes: list[str]) -> tuple[np.ndarray, np.ndarray, float | None]:
    """(sample times, ECG in µV, sampling rate or None) of an ECG file: times from the
    sensor's clock like the ACC file's, the rate from their median spacing."""
    _, layout, _ = _table(path, ReadOptions())
    names = [n.strip().lower() for n in layout.names]
    column = next((i for i, n in enumerate(names) if n.startswith("ecg")), None)
    if column is None or column == 0:
        raise InputError("no 'ecg [uV]' column", source=path,
                         hint="export the recording again from Polar Sensor Logger")
    wanted = {"time": 0, "ecg": column}
    sensor = next((i for i, n in enumerate(names) if n.startswith("sensor timestamp")), None)
    if sensor is not None and sensor != column:
        wanted["sensor"] = sensor
    cells = read_columns(path, layout, wanted)
    phone = _phone_times(cells, layout, path, notes)
    uv = numbers(cells["ecg"], "ecg [uV]", path, decimal=layout.decimal)
    t = phone if "sensor" not in cells else _sensor_clock(phone, cells["sensor"], path, notes)
    with np.errstate(invalid="ignore"):
        step = np.diff(t)
        step = step[np.isfinite(step) & (step > 0)]
    fs = 1.0 / float(np.median(step)) if step.size else None
    return t, uv, fs if fs is not None and np.isfinite(fs) else None


def _ecg_heart_rate(path: Path, notes: list[str]
                    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray] | None, str | None]:
    """``((t, bpm, rr_ms), None)`` derived from the ECG file, or ``(None, why not)``; the
    notes say what was derived, how many intervals were rejected, or why none was."""
    try:
        t, uv, fs = _read_ecg(path, notes)
    except InputError as exc:
        reason = f"it could not be read ({exc.reason})"
    else:
        if uv.size < 2:
            reason = f"it holds {uv.size} sample{'' if uv.size == 1 else 's'}"
        elif fs is None:
            reason = "its sample times do not advance, so its sampling rate is unknown"
        else:
            derived = heart_rate_from_ecg(uv, fs, t)
            if derived.ok:
                causes = ", ".join(f"{n} {why}" for why, n in derived.rejected.items() if n)
                notes.append(
                    f"heart rate derived from the ECG file {path.name} (no HR, RR or PPI "
                    f"file; {uv.size} samples at {fs:.1f} Hz"
                    f"{', inverted lead' if derived.polarity < 0 else ''}): "
                    f"{derived.n_beats} beats, {derived.n_rejected} of {derived.n_intervals} "
                    f"RR intervals rejected as not plausible{f' ({causes})' if causes else ''}")
                return (derived.t, derived.bpm, derived.rr_ms), None
            reason = str(derived.reason)
    notes.append(f"the ECG file {path.name} gave no heart rate: {reason}")
    return None, reason


def _note_ecg_unused(path: Path, notes: list[str]) -> None:
    """Read an ECG file the session does not need (the strap's HR is kept: see the module
    text) and say so, or why it could not be read."""
    try:
        _, uv, fs = _read_ecg(path, [])
    except InputError as exc:
        notes.append(f"the ECG file {path.name} could not be read ({exc.reason}); not needed: "
                     "the heart rate is the strap's own")
        return
    rate = f" at {fs:.1f} Hz" if fs is not None else ""
    notes.append(f"ECG file {path.name} read ({uv.size} samples{rate}) and not used: the "
                 "heart rate is the strap's own (it times beats to 1/1024 s, the ECG to a "
                 "sample)")


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
    if "ECG" in streams and hr.size:
        _note_ecg_unused(streams["ECG"], notes)
    elif "ECG" in streams:
        derived, why = _ecg_heart_rate(streams["ECG"], notes)
        if derived is not None:
            hr_t, hr, rr = derived
        elif acc is None:
            raise InputError("the recording has no HR, RR, PPI or ACC file, and its ECG file "
                             f"gave no trustworthy heart rate: {why}", source=lead,
                             hint="record HR as well in Polar Sensor Logger; a flat or noisy "
                             "ECG means poor contact: moisten the electrodes, tighten the strap")
    if not hr.size and acc is None:
        raise InputError("the recording has no HR, RR, PPI, ACC or ECG file", source=lead,
                         hint="record heart rate or acceleration in Polar Sensor Logger")
    read = [p.name for k, p in streams.items() if k in _READ]
    unread = [p.name for k, p in streams.items() if k not in _READ]
    notes.insert(0, "Polar Sensor Logger recording: read " + ", ".join(read))
    if unread:
        notes.append("not read (dosewatch uses heart rate, RR, acceleration and ECG): "
                     + ", ".join(unread))
    placement = device_placement(_started(_stream_of(lead)[0])[0])  # type: ignore[index]
    if placement is not None and (options.profile is None or options.profile.placement is None):
        notes.append(f"placement {placement[0]}, from the device ({placement[1]})")
    data = ActivityData(source=lead, format="polar-sensor-logger", t=hr_t,
                        segment=np.zeros(hr_t.size, np.int64), hr=hr if hr.size else None,
                        rr_ms=rr, acc=acc, repairs=notes,
                        profile=Profile(placement=placement[0] if placement else None))
    return to_session(data, profile=options.profile, name=name, what_rows="sample")


def _read(path: Path, options: ReadOptions) -> list[Session]:
    with errors_of(Path(path)):
        return _read_recordings(Path(path), options)


def _read_recordings(path: Path, options: ReadOptions) -> list[Session]:
    if path.is_dir():
        # Every file named as a stream is read (a damaged one is refused by name, not lost).
        entries = [p for p in sorted(path.iterdir()) if p.is_file() and _stream_of(p)]
        groups = sorted(recordings(entries), key=lambda g: g[0].name)
        return [read_recording(files, options, options.name or files[0].name.rsplit("_", 1)[0])
                for files in groups]
    files = recording_files(path)
    stream = _stream_of(path)
    name = options.name or (stream[0] if stream else path.stem)
    return [read_recording(files, options, name)]


def _explain(path: Path) -> str | None:
    if _MARKER.match(path.name) and _head(path).startswith(b"Phone timestamp;Marker"):
        return ("a Polar Sensor Logger marker file (start and stop marks, no samples): the "
                "recording is read from its HR, RR, PPI, ACC and ECG files")
    return None


def _stem(path: Path) -> str | None:
    """A recording's name: its file's prefix, without the stream and ``.txt``."""
    stream = _stream_of(path)
    if stream is None or not path.is_file() or not is_psl_file(_head(path)):
        return None
    return stream[0]


def _group(path: Path) -> list[Path]:
    return recording_files(path) if _stream_of(path) is not None else [path]


READER = Reader(
    name="polar-sensor-logger",
    title="Polar Sensor Logger recording (HR, RR, PPI, ACC, ECG text files)",
    read=_read,
    sniff=is_psl_file,
    claims_folder=claims_folder,
    folder_files=logger_files,
    group=_group,
    stem=_stem,
    explain=_explain,
    hint="pass the folder of the recording's files, or one of them",
    priority=10,
)
