"""What the activity-file readers (FIT, TCX, GPX) share.

Each reader turns its file into an :class:`ActivityData`: one row per record or
trackpoint, every channel an array over those rows with NaN where the row has no value,
plus what the file says about the sport, the participant and the repairs made so far.
:func:`to_session` then applies the rules common to all three formats and builds the
:class:`~dosewatch.session.Session`:

- **Times** are float seconds, Unix epoch when the file has real dates. Rows whose time
  lies more than :data:`MAX_DISTANCE_FROM_MEDIAN_S` (7 days) from the median time are a
  clock or file error (a flipped byte in a FIT timestamp says year 2106): they are
  dropped with a repair note, so one bad row cannot stretch a session over decades.
- **Heart rate** is kept as recorded (0 or 300 bpm included: the analysis removes
  out-of-range values as artefacts). Only magnitudes no sensor produces (above 1e6 for
  heart rate, speed, cadence and power, a damaged file's 1e308) are left as gaps. A
  file that carries acceleration (a phone-app export, a table of samples) needs no heart
  rate: it is read as acceleration alone, with a note when its heart rate was unusable.
  So does a file with a workload channel (speed, distances or positions, power: a GPS
  watch worn without its strap): it is read as the workload alone, with a note, and its
  intensity comes from the participant's calibrated fitness (SPEC: "without heart rate,
  intensity is estimated ... from a workload channel"). A file with none of these and
  no heart-rate value is refused with an :class:`~dosewatch.errors.InputError` that says
  what the file does hold, and so is one whose heart rate is missing or 0 bpm in every
  row ("no usable heart rate"): the same rule in every reader.
- **Speed** in a unit other than m/s is found by comparing the device's speed field
  with the speed its distance gives (km/h is 3.6 times it, mph 2.24 times; see
  :func:`dosewatch.ingest.units.speed_factor_from_distance`) and converted with a note.
  Speed comes from the device's speed field when it covers at least half as many
  rows as the distance does; otherwise it is derived from the distance (or, in GPX and
  TCX files without distance, from the positions) between consecutive rows of the same
  segment, never across a pause (a new FIT timer start, TCX ``Track``, GPX ``trkseg``) or
  a gap longer than ``max(10 s, 3 x the median step)``. Nothing is interpolated or
  carried forward: missing rows stay gaps.
- **Cadence** of foot sports (running, walking, hiking...) is reported in steps per
  minute. Garmin, Suunto and most FIT/TCX writers count strides (one foot) per minute, so
  a foot-sport cadence whose median is below 120 is doubled (with a repair note); a
  median of 120 or more is already steps (nobody runs at 240 steps/min). Cadence of other
  sports, and of files that name no sport, is kept as the device counted it.
- **Channels** are handed to :func:`~dosewatch.session.build_session` row-filtered: a
  channel keeps the rows where it has a value, so a file that writes heart rate and GPS in
  separate records at the same second loses neither.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError, ProfileError, plain_reason, sanitise
from ..session import Notice, Profile, Session, build_session, truncation

__all__ = [
    "FOOT_SPORTS",
    "MAX_DISTANCE_FROM_MEDIAN_S",
    "ActivityData",
    "SpeedChoice",
    "XmlPoints",
    "XmlSpec",
    "activity_sessions",
    "choose_speed",
    "default_name",
    "errors_of",
    "hardened_parser",
    "lenient_profile",
    "normalise_sport",
    "note_xml_repairs",
    "open_activity",
    "parse_time",
    "read_xml_points",
    "rr_per_sample",
    "sniff",
    "to_session",
    "wrong_content",
]

MAX_DISTANCE_FROM_MEDIAN_S = 7 * 86_400.0
# Size limit of an XML activity file once decompressed: a week at 1 Hz is about 250 MB of
# TCX; a gzip bomb is refused, not unpacked forever.
MAX_DECOMPRESSED_BYTES = 512 << 20
GZIP_MAGIC = b"\x1f\x8b"
FOOT_SPORTS = frozenset(
    {"running", "walking", "hiking", "mountaineering", "snowshoeing", "trail_running",
     "treadmill", "run", "walk", "hike"}
)
# Median below this (per minute) means the device counted strides, not steps: running
# steps are 150-200 a minute, so a running median under 120 is strides; walking steps are
# 90-130 a minute, so for walking only a median under 80 is.
_STRIDE_MEDIAN_LIMIT = 120.0
_WALK_STRIDE_MEDIAN_LIMIT = 80.0
_WALKING_SPORTS = frozenset({"walking", "hiking", "mountaineering", "snowshoeing", "walk",
                             "hike"})
_SPORT_NAMES = {"biking": "cycling", "bike": "cycling", "ride": "cycling", "run": "running"}
_EARTH_RADIUS_M = 6_371_008.8


@dataclass
class ActivityData:
    """One activity file, decoded but not yet normalised: one row per record/trackpoint.

    Attributes:
        source: the file.
        format: ``fit``, ``tcx`` or ``gpx``.
        t: row times in seconds (Unix epoch, or from an unknown origin when the file has
            no real dates); NaN for rows without a readable time.
        hr, speed, cadence, power, distance, altitude, lat, lon: per-row values, NaN where
            the row has none; None when the file never carries the channel. ``speed`` is
            the device's own field (m/s), ``distance`` is cumulative metres, ``altitude``
            metres above sea level (barometric or GPS, as the device recorded it).
        segment: per-row segment number; rows of different segments are separated by a
            pause, so no speed is derived between them.
        rr_ms: per-row RR interval in ms (FIT, Polar, Empatica...), or None.
        acc: ``(t, xyz)``: acceleration on its own clock (``xyz`` of shape ``(n, 3)``, in
            g or in the unit the unit check recognises), or None. A file with
            acceleration needs no heart rate.
        speed_field: the name of the file's speed field, for the record.
        sport: the sport as the file names it, normalised by :func:`normalise_sport`.
        profile: what the file says about the participant (validated leniently).
        repairs: one line per repair or decision made while reading.
        checks: ``(reason, hint)`` of each decision the user should check (a speed
            column whose unit is ambiguous), shown on the console as well.
    """

    source: Path
    format: str
    t: NDArray[np.float64]
    segment: NDArray[np.int64]
    hr: NDArray[np.float64] | None = None
    speed: NDArray[np.float64] | None = None
    cadence: NDArray[np.float64] | None = None
    power: NDArray[np.float64] | None = None
    distance: NDArray[np.float64] | None = None
    altitude: NDArray[np.float64] | None = None
    lat: NDArray[np.float64] | None = None
    lon: NDArray[np.float64] | None = None
    rr_ms: NDArray[np.float64] | None = None
    acc: tuple[NDArray[np.float64], NDArray[np.floating]] | None = None
    speed_field: str | None = None
    sport: str | None = None
    profile: Profile = field(default_factory=Profile)
    repairs: list[str] = field(default_factory=list)
    checks: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SpeedChoice:
    """The speed stream a session gets and where it came from.

    Attributes:
        t, mps: times and speeds (m/s); only rows with a value.
        source: the device field's name, ``derived from distance`` or
            ``derived from positions``.
    """

    t: NDArray[np.float64]
    mps: NDArray[np.float64]
    source: str


# --------------------------------------------------------------------------- files


def default_name(path: Path) -> str:
    """The file name without the ending its format claims: ``run.fit.gz`` -> ``run``."""
    from .registry import input_stem

    return input_stem(path)


def sniff(head: bytes) -> str | None:
    """What the first bytes of a file look like: ``fit``, ``gzip``, ``zip``, ``tcx``,
    ``gpx``, ``xml``, ``sqlite``, ``text`` or None (binary of no known kind)."""
    if len(head) >= 12 and head[8:12] == b".FIT":
        return "fit"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    text = head
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            text = head[2:].decode(codec, errors="ignore").encode("utf-8", errors="ignore")
    if b"<TrainingCenterDatabase" in text:
        return "tcx"
    if b"<gpx" in text:
        return "gpx"
    stripped = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return "xml"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head[:512]):
        return "text"
    return None


_KIND_NAMES = {
    "fit": "a FIT file",
    "tcx": "a TCX file",
    "gpx": "a GPX file",
    "gzip": "gzip-compressed",
    "zip": "a ZIP archive",
    "sqlite": "an SQLite database (a dosewatch recording?)",
    "xml": "XML of another kind",
    "text": "plain text",
}


@contextmanager
def errors_of(input_path: Path) -> Iterator[None]:
    """Inside, an InputError about a file within the input ``input_path`` (a folder, a
    recording of several files) becomes one about the input, naming the file in the
    reason: batch outputs list failures by input."""
    try:
        yield
    except InputError as exc:
        if exc.source is None or exc.source == str(input_path):
            raise
        raise InputError(f"{Path(exc.source).name}: {exc.reason}", source=input_path,
                         hint=exc.hint) from None


def wrong_content(path: Path, expected: str, found: str | None) -> InputError:
    """The error for a file whose content is not of the kind its name says."""
    stem = default_name(path)
    gz = ".gz" if path.name.lower().endswith(".gz") else ""
    what = _KIND_NAMES.get(found or "", "binary data of no known kind")
    hints = {
        "fit": f"it is a FIT file with the wrong extension: rename it to {stem}.fit{gz}",
        "tcx": f"it is a TCX file with the wrong extension: rename it to {stem}.tcx{gz}",
        "gpx": f"it is a GPX file with the wrong extension: rename it to {stem}.gpx{gz}",
        "gzip": f"rename it to {path.name}.gz",
        "zip": "unzip it first (watch exports often come zipped) and pass the file inside",
        "sqlite": f"rename it to {stem}.dwrec if it is a dosewatch recording",
    }
    hint = hints.get(found or "", f"export the activity again as {expected}")
    return InputError(f"not a {expected} file: the content is {what}", source=path, hint=hint)


class _LimitedReader(io.RawIOBase):
    """A read-only stream over ``raw`` that refuses to deliver more than ``limit`` bytes
    and turns gzip's errors into InputError (a cut-off gzip stream only sets
    ``truncated``: the bytes before the cut are good)."""

    def __init__(self, raw: BinaryIO, limit: int, path: Path, compressed: bool):
        self._raw = raw
        self._left = limit
        self._limit = limit
        self._path = path
        self._compressed = compressed
        self.truncated = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            if self._read(1):
                what = "decompresses to" if self._compressed else "is"
                size = (f"{self._limit >> 20} MiB" if self._limit >= 1 << 20
                        else f"{self._limit} bytes")
                raise InputError(
                    f"{what} more than {size}, too large for an activity file",
                    source=self._path,
                    hint="check that it is an activity export (a .gz may be a decompression "
                    "bomb); split very long recordings",
                )
            return 0
        chunk = self._read(min(len(buffer), self._left))
        n = len(chunk)
        buffer[:n] = chunk
        self._left -= n
        return n

    def _read(self, size: int) -> bytes:
        try:
            # read1: at most one read below, so what a cut-off gzip stream decompressed
            # before its end is returned rather than lost with the EOFError.
            return self._raw.read1(size)
        except EOFError:
            # gzip: the compressed stream ends before its end marker (a cut-off copy).
            self.truncated = True
            return b""
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(f"the gzip data is corrupt ({exc})", source=self._path,
                             hint="copy or export the file again") from None
        except OSError as exc:
            if self._compressed:
                raise InputError(f"the gzip data is corrupt ({exc})", source=self._path,
                                 hint="copy or export the file again") from None
            raise InputError(f"cannot read the file ({exc.strerror or exc})",
                             source=self._path, hint="check the disk and the file") from None


@contextmanager
def open_activity(
    path: Path, limit: int = MAX_DECOMPRESSED_BYTES
) -> Iterator[tuple[BinaryIO, _LimitedReader]]:
    """Open ``path`` for reading its (decompressed) bytes, at most ``limit`` of them.

    ``name.X.gz`` must be gzip-compressed and ``name.X`` must not be. Yields
    ``(stream, reader)``; ``reader.truncated`` tells afterwards whether a gzip stream was
    cut off.

    Raises:
        InputError: the file is missing, empty, not readable, mis-named (.gz or not), or
            larger than ``limit``.
    """
    try:
        size = path.stat().st_size
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(
            f"cannot read the file ({exc.strerror or exc})", source=path,
            hint="check that it exists and is readable",
        ) from None
    with raw:
        if size == 0:
            raise InputError("the file is empty (0 bytes)", source=path,
                             hint="remove it, or export the activity again")
        head = raw.read(64)
        raw.seek(0)
        compressed = path.name.lower().endswith(".gz")
        if compressed and not head.startswith(GZIP_MAGIC):
            found = sniff(head)
            raise InputError(
                "the file is named .gz but is not gzip-compressed"
                + (f" (the content is {_KIND_NAMES[found]})" if found in _KIND_NAMES else ""),
                source=path,
                hint=f"rename it to {path.name[:-3]}, or export it again",
            )
        if not compressed and head.startswith(GZIP_MAGIC):
            raise InputError(
                f"the file is gzip-compressed but named {path.suffix}", source=path,
                hint=f"rename it to {path.name}.gz",
            )
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            reader = _LimitedReader(stream, limit, path, compressed)
            with io.BufferedReader(reader, buffer_size=1 << 20) as buffered:
                yield buffered, reader  # type: ignore[misc]
        finally:
            if compressed:
                stream.close()


# --------------------------------------------------------------------------- XML


@dataclass(frozen=True)
class XmlSpec:
    """How to find samples in an XML activity format (matched by local name, so any
    namespace prefix works, declared or not).

    Attributes:
        kind: ``TCX`` or ``GPX``, for messages.
        root: the root element's local name.
        point: the element of one sample (``Trackpoint``, ``trkpt``).
        group: the element of one activity/track; its attributes named in ``group_attrs``
            and its direct leaf children named in ``group_leaves`` (lower case) are kept
            per group. Points outside any group get group -1.
        segments: elements that start a new segment (a pause may lie between two).
        fields: leaf local name (lower case) inside a point -> column. A leaf called
            ``Value`` is named by its parent (TCX ``HeartRateBpm/Value``). The first leaf
            of a column in a point wins.
        point_attrs: point attribute -> column (GPX ``lat``/``lon``).
        relative_time: the ``time`` column holds seconds from the group's start (PWX's
            ``timeoffset``), not ISO-8601 dates.
    """

    kind: str
    root: str
    point: str
    group: str
    segments: frozenset[str]
    fields: dict[str, str]
    point_attrs: dict[str, str] = field(default_factory=dict)
    group_attrs: tuple[str, ...] = ()
    group_leaves: frozenset[str] = frozenset()
    relative_time: bool = False


@dataclass
class XmlPoints:
    """The samples of an XML activity file, column by column.

    Attributes:
        columns: column -> values (NaN where a point has none); ``t`` holds Unix seconds.
        group, segment: per point, the index of its group (-1 outside any) and segment.
        groups: per group, its kept attributes and leaves (by lower-case local name).
        bad_numbers: column -> count of values that were not numbers.
        bad_times, naive_times: points whose time is unreadable / has no zone.
        truncated: where the document was cut off (a message), or None.
        trailing: what was ignored after the end of the document (a message), or None.
    """

    columns: dict[str, NDArray[np.float64]]
    group: NDArray[np.int64]
    segment: NDArray[np.int64]
    groups: list[dict[str, str]]
    bad_numbers: dict[str, int]
    bad_times: int
    naive_times: int
    truncated: str | None
    trailing: str | None = None


class _Refused(Exception):
    """Raised inside expat handlers to stop parsing; carries the InputError."""

    def __init__(self, error: InputError):
        super().__init__(str(error))
        self.error = error


_MAX_DEPTH = 200
_MAX_TEXT = 4096


class _XmlCollector:
    """expat handlers that collect the points of one document (see :class:`XmlSpec`)."""

    def __init__(self, spec: XmlSpec, path: Path):
        self.spec = spec
        self.path = path
        self.stack: list[str] = []
        self.leaf = False
        self.chunks: list[str] = []
        self.text_len = 0
        self.point: dict[str, str] | None = None
        self.group = -1
        self.in_group = 0
        self.segment = 0
        self.groups: list[dict[str, str]] = []
        names = sorted(set(spec.fields.values()) | set(spec.point_attrs.values()))
        self.columns = {name: array("d") for name in ["t", *names] if name != "time"}
        self.point_group = array("q")
        self.point_segment = array("q")
        self.bad_numbers: dict[str, int] = {}
        self.bad_times = 0
        self.naive_times = 0
        self.started = False
        self.closed = False

    def refuse(self, message: str, hint: str) -> None:
        raise _Refused(InputError(message, source=self.path, hint=hint))

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        spec = self.spec
        if not self.started:
            self.started = True
            if local != spec.root:
                found = {"TrainingCenterDatabase": "tcx", "gpx": "gpx"}.get(local)
                if found:
                    raise _Refused(wrong_content(self.path, spec.kind, found))
                self.refuse(
                    f"not a {spec.kind} file: its root element is <{sanitise(local)}>, "
                    f"not <{spec.root}>",
                    f"export the activity again as {spec.kind}",
                )
        self.stack.append(local)
        if len(self.stack) > _MAX_DEPTH:
            self.refuse(f"elements nested more than {_MAX_DEPTH} deep",
                        f"this is not a {spec.kind} activity file")
        self.leaf = True
        self.chunks = []
        self.text_len = 0
        if local == spec.point:
            self.point = {}
            for attr, column in spec.point_attrs.items():
                value = attrs.get(attr)
                if value is not None:
                    self.point.setdefault(column, value)
        elif local == spec.group:
            self.group += 1
            self.in_group += 1
            self.segment += 1
            self.groups.append({a.lower(): attrs[a] for a in spec.group_attrs if a in attrs})
        elif local in spec.segments:
            self.segment += 1

    def chars(self, data: str) -> None:
        if self.leaf and self.text_len < _MAX_TEXT:
            self.chunks.append(data)
            self.text_len += len(data)

    def end(self, name: str) -> None:
        local = self.stack.pop()
        spec = self.spec
        if self.leaf and self.chunks:
            text = "".join(self.chunks).strip()
            key = local.lower()
            if key == "value" and self.stack:
                key = self.stack[-1].lower()
            if self.point is not None:
                column = spec.fields.get(key)
                if column is not None and column not in self.point and text:
                    self.point[column] = text
            elif (key in spec.group_leaves and self.groups and text
                  and self.stack and self.stack[-1] == spec.group):
                self.groups[-1].setdefault(key, text)
        self.leaf = False
        self.chunks = []
        if not self.stack:
            self.closed = True
        if local == spec.group:
            self.in_group -= 1
        if local == spec.point and self.point is not None:
            self.finish_point(self.point)
            self.point = None

    def finish_point(self, point: dict[str, str]) -> None:
        text = point.pop("time", None)
        if text is None:
            stamp = math.nan
            self.bad_times += 1
        elif self.spec.relative_time:
            try:
                stamp = float(text)
            except ValueError:
                stamp = math.nan
            if not math.isfinite(stamp):
                stamp = math.nan
                self.bad_times += 1
        else:
            stamp, naive = parse_time(text)
            self.naive_times += naive
            if math.isnan(stamp):
                self.bad_times += 1
        self.columns["t"].append(stamp)
        for column, values in self.columns.items():
            if column == "t":
                continue
            raw = point.get(column)
            if raw is None:
                values.append(math.nan)
                continue
            try:
                values.append(float(raw))
            except ValueError:
                values.append(math.nan)
                self.bad_numbers[column] = self.bad_numbers.get(column, 0) + 1
        self.point_group.append(self.group if self.in_group > 0 else -1)
        self.point_segment.append(self.segment)

    def forbid(self, *args: object) -> None:
        self.refuse(
            "the XML declares a DOCTYPE or entities, which activity files never do "
            "(refused: entity expansion can be used to attack the reader)",
            f"export the activity again as plain {self.spec.kind}",
        )


def hardened_parser(
    forbid: Callable[..., None], *, doctype: Callable[..., None] | None = None
) -> expat.XMLParserType:
    """An expat parser that never expands or fetches an entity: ``forbid`` is called on
    any entity declaration (general or parameter, parsed or not), notation or external
    entity reference, and on a DOCTYPE unless ``doctype`` takes it (Apple Health exports
    carry an internal DTD of element and attribute declarations: ``doctype`` may allow
    that, the entity handlers still refuse any entity in it). Parameter entities are
    never parsed. The caller sets the element handlers and feeds the bytes."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = doctype if doctype is not None else forbid
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.NotationDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def _feed_xml(parser: expat.XMLParserType, stream: BinaryIO, reader: _LimitedReader,
              collector: _XmlCollector, path: Path, spec: XmlSpec) -> str | None:
    """Feed the whole stream to ``parser``, a MiB at a time. Returns where a cut-off
    document (or gzip stream) ended, or None when it ended properly."""
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        parser.Parse(chunk, False)
    if reader.truncated:
        return f"the gzip stream is cut short (at line {parser.CurrentLineNumber})"
    try:
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        if not collector.started:
            raise InputError(
                "the file ends before its first XML element (empty or cut off)",
                source=path, hint=f"export the activity again as {spec.kind}",
            ) from None
        return (f"the document ends early, at line {exc.lineno} "
                f"({expat.ErrorString(exc.code)})")
    return None


def _after_the_end(exc: expat.ExpatError, collector: _XmlCollector, head: bytes, path: Path,
                   spec: XmlSpec) -> str:
    """The note for what follows the end of a complete document; any other XML error is
    refused (as other content, when the file never started this kind of XML)."""
    if collector.started and not collector.stack and collector.closed:
        return (f"ignored what follows the end of the document at line "
                f"{exc.lineno} ({expat.ErrorString(exc.code)})")
    if not collector.started:
        found = sniff(head)
        if found not in (spec.kind.lower(), "xml"):
            raise wrong_content(path, spec.kind, found) from None
    raise InputError(
        f"malformed XML at line {exc.lineno}, column {exc.offset}: "
        f"{expat.ErrorString(exc.code)}",
        source=path, hint="the file is damaged; export it again",
    ) from None


def read_xml_points(path: Path, spec: XmlSpec) -> XmlPoints:
    """Stream-parse an XML activity file (optionally gzipped) into its points.

    Safe against hostile input: DOCTYPE and entity declarations are refused (no entity
    is ever expanded, none fetched), nesting and text length are bounded, and a gzip
    stream may not decompress to more than :data:`MAX_DECOMPRESSED_BYTES`.

    A document that ends early (a cut-off copy) keeps the points completed before the
    cut; ``truncated`` says where it ended.

    Raises:
        InputError: empty file, not XML, not this kind of XML, malformed XML,
            a DOCTYPE/entity declaration, or a mis-named gzip file.
    """
    collector = _XmlCollector(spec, path)
    parser = hardened_parser(collector.forbid)
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.chars
    truncated: str | None = None
    trailing: str | None = None
    with open_activity(path, MAX_DECOMPRESSED_BYTES) as (stream, reader):
        head = stream.peek(4096)[:4096]
        try:
            truncated = _feed_xml(parser, stream, reader, collector, path, spec)
        except _Refused as refused:
            raise refused.error from None
        except (LookupError, ValueError) as exc:
            # expat asks Python for the encoding the XML declaration names: an unknown one
            # (LookupError) or one expat cannot use (ValueError: multi-byte encodings).
            raise InputError(
                "the XML declares a text encoding that cannot be read ("
                + ("unknown encoding" if isinstance(exc, LookupError) else plain_reason(exc))
                + ")",
                source=path, hint=f"export the activity again as {spec.kind} (UTF-8)",
            ) from None
        except expat.ExpatError as exc:
            trailing = _after_the_end(exc, collector, head, path, spec)
    columns = {name: np.frombuffer(values, dtype=np.float64).copy()
               for name, values in collector.columns.items()}
    return XmlPoints(
        columns=columns,
        group=np.frombuffer(collector.point_group, dtype=np.int64).copy(),
        segment=np.frombuffer(collector.point_segment, dtype=np.int64).copy(),
        groups=collector.groups,
        bad_numbers=collector.bad_numbers,
        bad_times=collector.bad_times,
        naive_times=collector.naive_times,
        truncated=truncated,
        trailing=trailing,
    )


def note_xml_repairs(points: XmlPoints, rows: str, repairs: list[str]) -> None:
    """Repair notes for what :func:`read_xml_points` found (for the rows kept)."""
    if points.truncated:
        repairs.append(f"the file is truncated: {points.truncated}; read the "
                       f"{points.group.size} complete {rows}s before the cut")
    if points.trailing:
        repairs.append(points.trailing)
    if points.bad_times:
        repairs.append(f"{points.bad_times} {rows}s without a readable time were left out")
    if points.naive_times:
        repairs.append(f"{points.naive_times} {rows} times had no time zone: taken as UTC")
    for column, count in sorted(points.bad_numbers.items()):
        repairs.append(f"{column}: {count} values were not numbers (left as gaps)")


# --------------------------------------------------------------------------- values


def parse_time(text: str) -> tuple[float, bool]:
    """Seconds since the Unix epoch of an ISO-8601 time, and whether it had no zone.

    Times without a zone are taken as UTC (the caller notes it). Returns NaN for text
    that is not a time.
    """
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        if text.endswith(("z", "Z")):
            try:
                stamp = datetime.fromisoformat(text[:-1] + "+00:00")
            except ValueError:
                return math.nan, False
        else:
            return math.nan, False
    naive = stamp.tzinfo is None
    if naive:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return stamp.timestamp(), naive
    except (OverflowError, OSError, ValueError):
        return math.nan, naive


def normalise_sport(value: object) -> str | None:
    """The sport in lower case, ``biking`` spelt ``cycling``; None when unknown."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace(" ", "_")
    if not text or text in ("other", "generic", "none", "unknown", "all"):
        return None
    return _SPORT_NAMES.get(text, text)


def lenient_profile(values: dict[str, object], source: Path, repairs: list[str]) -> Profile:
    """A Profile from what a file says, dropping (with a repair note) impossible values.

    A watch's settings can hold anything (a resting heart rate of 0 means "not set"), and
    a bad setting must not make the recording unreadable.
    """
    kept: dict[str, object] = {}
    for name, value in values.items():
        if value is None:
            continue
        try:
            Profile(**{name: value}).validate(str(source))
        except (ProfileError, TypeError):
            repairs.append(f"profile: ignored the file's {name} = {sanitise(repr(value))} "
                           "(not possible)")
            continue
        kept[name] = value
    profile = Profile(**kept)
    try:
        profile.validate(str(source))
    except ProfileError:
        repairs.append(
            f"profile: ignored the file's hr_rest ({profile.hr_rest:g}) and hr_max "
            f"({profile.hr_max:g}): rest is not below max"
        )
        kept.pop("hr_rest", None)
        kept.pop("hr_max", None)
        profile = Profile(**kept)
    return profile


def _merge_profiles(
    from_file: Profile, override: Profile | None, source: Path, repairs: list[str]
) -> Profile:
    """The file's profile with ``override`` on top; a file value that contradicts the
    override (hr_rest not below hr_max) gives way."""
    if override is None:
        return from_file
    merged = from_file.merged(override)
    try:
        merged.validate(str(source))
    except ProfileError:
        trimmed = from_file
        for name in ("hr_rest", "hr_max"):
            if getattr(override, name) is None and getattr(from_file, name) is not None:
                trimmed = replace(trimmed, **{name: None})
                repairs.append(f"profile: ignored the file's {name}: it contradicts the "
                               "profile given")
        merged = trimmed.merged(override)
    return merged


# --------------------------------------------------------------------------- speed


def _gap_limit(dt: NDArray[np.float64]) -> float:
    positive = dt[dt > 0]
    median = float(np.median(positive)) if positive.size else 1.0
    return max(10.0, 3.0 * median)


def _derive(
    t: NDArray[np.float64], cumulative: NDArray[np.float64], segment: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Speed between consecutive rows (same segment, no gap, distance not falling),
    placed at the later row. Returns (t, mps) of the rows that got one."""
    ok = np.isfinite(t) & np.isfinite(cumulative)
    idx = np.flatnonzero(ok)
    if idx.size < 2:
        return np.empty(0), np.empty(0)
    idx = idx[np.argsort(t[idx], kind="stable")]
    tt, dd, seg = t[idx], cumulative[idx], segment[idx]
    with np.errstate(all="ignore"):  # absurd distances (1e308) give inf: not kept
        dt = np.diff(tt)
        dist = np.diff(dd)
        mps = dist / dt
    valid = (dt > 0) & (dt <= _gap_limit(dt)) & (seg[1:] == seg[:-1]) & (dist >= 0)
    valid &= np.isfinite(mps)
    return tt[1:][valid], mps[valid]


def _path_distance(data: ActivityData) -> NDArray[np.float64] | None:
    """Cumulative great-circle metres along the positions, in time order (NaN for rows
    without a valid position). Steps across segments or gaps are counted here but never
    turned into speed: :func:`_derive` skips them."""
    if data.lat is None or data.lon is None:
        return None
    ok = np.isfinite(data.lat) & np.isfinite(data.lon) & np.isfinite(data.t)
    ok &= (np.abs(data.lat) <= 90) & (np.abs(data.lon) <= 180)
    idx = np.flatnonzero(ok)
    if idx.size < 2:
        return None
    idx = idx[np.argsort(data.t[idx], kind="stable")]
    lat, lon = np.radians(data.lat[idx]), np.radians(data.lon[idx])
    a = (np.sin(np.diff(lat) / 2) ** 2
         + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2)
    step = 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    out = np.full(data.t.size, np.nan)
    out[idx] = np.concatenate([[0.0], np.cumsum(step)])
    return out


def choose_speed(data: ActivityData) -> SpeedChoice | None:
    """The speed stream for ``data`` (see the module text), or None when there is none."""
    t = data.t
    field_choice = None
    if data.speed is not None:
        ok = np.isfinite(data.speed) & np.isfinite(t)
        if ok.any():
            field_choice = SpeedChoice(t[ok], data.speed[ok], data.speed_field or "speed")
    derived = None
    for cumulative, how in ((data.distance, "distance"), (_path_distance(data), "positions")):
        if cumulative is None or derived is not None:
            continue
        tt, mps = _derive(t, cumulative, data.segment)
        if tt.size:
            derived = SpeedChoice(tt, mps, f"derived from {how}")
    if field_choice is None:
        return derived
    if derived is not None and field_choice.t.size < 0.5 * derived.t.size:
        return derived
    return field_choice


def rr_per_sample(
    t: NDArray[np.float64],
    has_hr: NDArray[np.bool_],
    beats: tuple[NDArray[np.float64], NDArray[np.float64]],
) -> NDArray[np.float64]:
    """Per row: the interval (ms) of the last beat that ended since the previous
    heart-rate sample, NaN where none did (one RR per sample, as a Bluetooth strap
    reports them). ``beats`` is (beat end times, intervals in seconds)."""
    out = np.full(t.size, np.nan)
    rows = np.flatnonzero(has_hr & np.isfinite(t))
    if rows.size == 0:
        return out
    rows = rows[np.argsort(t[rows], kind="stable")]
    sample_t = t[rows]
    beat_t, rr = beats
    order = np.argsort(beat_t, kind="stable")
    beat_t, rr = beat_t[order], rr[order]
    index = np.searchsorted(sample_t, beat_t, side="left")
    inside = index < sample_t.size
    index, rr = index[inside], rr[inside]
    if index.size == 0:
        return out
    last = np.r_[index[1:] != index[:-1], True]
    out[rows[index[last]]] = rr[last] * 1000.0
    return out


# --------------------------------------------------------------------------- session


def _drop_far_times(data: ActivityData) -> None:
    """Mark rows far from the median time as having no time (NaN), with a note."""
    t = data.t
    finite = np.isfinite(t)
    if not finite.any():
        return
    median = float(np.median(t[finite]))
    far = finite & (np.abs(t - median) > MAX_DISTANCE_FROM_MEDIAN_S)
    n_far = int(far.sum())
    if n_far:
        worst = float(t[far][np.argmax(np.abs(t[far] - median))])
        try:
            shown = datetime.fromtimestamp(worst, UTC).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            shown = f"{worst:.6g} s"
        data.repairs.append(
            f"dropped {n_far} rows whose time lies more than 7 days from the session's "
            f"median time (e.g. {shown}): a clock or file error"
        )
        data.t = np.where(far, np.nan, t)


# Magnitudes no measurement of the channel reaches (a damaged or hand-edited file can
# hold 1e308); beyond them a value is a gap, so no later arithmetic overflows.
_ABSURD = {"hr": 1e6, "speed": 1e6, "cadence": 1e6, "power": 1e6, "distance": 1e10,
           "altitude": 2e4}


def _drop_absurd(data: ActivityData) -> None:
    for name, limit in _ABSURD.items():
        values = getattr(data, name)
        if values is None:
            continue
        bad = np.abs(values) > limit  # NaN compares False
        n_bad = int(bad.sum())
        if n_bad:
            setattr(data, name, np.where(bad, np.nan, values))
            data.repairs.append(f"{name}: {n_bad} values beyond ±{limit:g} are not "
                                "measurements (left as gaps)")


def _present(data: ActivityData, ok_time: NDArray[np.bool_]) -> list[str]:
    """Names of the channels with at least one value, for messages."""
    names = {"speed": "speed", "cadence": "cadence", "power": "power",
             "distance": "distance", "lat": "positions"}
    found = []
    for key, label in names.items():
        values = getattr(data, key)
        if values is not None and (np.isfinite(values) & ok_time).any():
            found.append(label)
    return found


# Why a file without heart rate is read at all (see the module text), and what to do.
WORKLOAD_ONLY_NOTE = ("intensity from the workload through the participant's calibrated "
                      "fitness, or the reference person's without one (then uncertain)")
WORKLOAD_ONLY_HINT = ("its intensity is read through the participant's calibrated fitness "
                      "when their sessions with heart rate calibrate them (medium certainty), "
                      "else the reference person's (low); its summary says which: record "
                      "with a heart-rate sensor paired for a measured verdict")


def _priced(sport: str | None) -> bool:
    """Whether the workload of ``sport`` has an equation (walking and running on foot,
    cycling; see :mod:`dosewatch.features.workload`): a swim's or a row's speed does not
    say how hard it was."""
    return sport is None or sport == "cycling" or any(
        foot in sport for foot in ("run", "walk", "hik"))


def _has_values(data: ActivityData) -> Callable[[NDArray[np.float64] | None], bool]:
    """Whether a channel of ``data`` holds a value in a row with a time."""
    ok = np.isfinite(data.t)
    return lambda values: values is not None and bool((np.isfinite(values) & ok).any())


def _workload_channels(data: ActivityData) -> list[str]:
    """The workload channels a file carries (``speed``: a speed field, distances or
    positions; ``power``), whose intensity a session without heart rate can be read from
    (SPEC: "Without heart rate, intensity is estimated ... from a workload channel"); none
    for a sport whose workload has no equation (:func:`_priced`)."""
    if not _priced(data.sport):
        return []
    has = _has_values(data)
    found = []
    if has(data.speed) or has(data.distance) or (has(data.lat) and has(data.lon)):
        found.append("speed")
    if has(data.power) and (data.sport is None or data.sport == "cycling"):
        found.append("power")  # running power has no equation here
    return found


def _why_no_workload(data: ActivityData) -> str:
    """Why a file without heart rate but with speed or power cannot be read from them
    (see :func:`_workload_channels`); empty when it has neither."""
    has = _has_values(data)
    moves = has(data.speed) or has(data.distance) or (has(data.lat) and has(data.lon))
    if data.sport is not None and not _priced(data.sport) and (moves or has(data.power)):
        return (f": the speed of {data.sport.replace('_', ' ')} does not say how hard it "
                "was, so it cannot stand in for heart rate")
    if has(data.power):  # a priced sport other than cycling: a run's power
        return (": running power does not say how hard a run was for the runner, so it "
                "cannot stand in for heart rate")
    return ""


def _check_heart_rate(data: ActivityData, what_rows: str) -> NDArray[np.bool_]:
    """The rows with a heart-rate value and a time; raises when none is usable."""
    ok_time = np.isfinite(data.t)
    if not ok_time.any():
        raise InputError(f"no {what_rows} has a readable time", source=data.source,
                         hint="the file is damaged or not an activity recording")
    hr = data.hr
    has_hr = np.zeros(data.t.size, bool) if hr is None else np.isfinite(hr) & ok_time
    hint = ("dosewatch needs heart rate: record with a heart-rate sensor worn and paired, "
            "or export from an app that keeps heart rate")
    if not has_hr.any():
        others = _present(data, ok_time)
        holds = f" (it has {', '.join(others)} only)" if others else ""
        raise InputError(f"no heart rate in this file{holds}", source=data.source, hint=hint)
    if not (hr[has_hr] > 0).any():
        raise InputError(
            f"no usable heart rate: every heart-rate value is 0 bpm ({int(has_hr.sum())} "
            f"{what_rows}s)", source=data.source, hint=hint,
        )
    return has_hr


def _check_same_recording(data: ActivityData, has_hr: NDArray[np.bool_]) -> None:
    """Heart rate and acceleration read from separate files or columns must overlap in
    time (within the 7 days allowed between any rows): otherwise a damaged start time
    would stretch one session over years."""
    acc_t = data.acc[0]  # type: ignore[index]
    acc_t = acc_t[np.isfinite(acc_t)]
    hr_t = data.t[has_hr]
    if not acc_t.size or not hr_t.size:
        return
    gap = max(float(acc_t.min() - hr_t.max()), float(hr_t.min() - acc_t.max()), 0.0)
    if gap > MAX_DISTANCE_FROM_MEDIAN_S:
        raise InputError(
            f"heart rate and acceleration lie {gap / 86_400:.0f} days apart: they are not "
            "one recording (a damaged start time?)", source=data.source,
            hint="check the files' times; export the recording again")


# A step longer than this at the recorded speed is two steps: the device counts strides
# (a walker's step is 0.6-0.8 m, a runner's 0.9-1.3 m, a sprinter's under 2 m at 9 m/s).
_MAX_STEP_M = 1.4
_FOOT_SPEEDS_MPS = (0.5, 6.0)  # faster than this, a file without a sport is a ride


def _steps_per_minute(data: ActivityData, speed: SpeedChoice | None = None
                      ) -> NDArray[np.float64] | None:
    cadence = data.cadence
    if cadence is not None and data.sport is None and speed is not None:
        return _strides_by_step_length(data, cadence, speed)
    if cadence is None or data.sport not in FOOT_SPORTS:
        return cadence
    positive = cadence[np.isfinite(cadence) & (cadence > 0)]
    limit = _WALK_STRIDE_MEDIAN_LIMIT if data.sport in _WALKING_SPORTS else _STRIDE_MEDIAN_LIMIT
    if positive.size and float(np.median(positive)) < limit:
        data.repairs.append(
            "cadence: the device counts strides per minute; doubled to steps per minute"
        )
        with np.errstate(over="ignore"):  # an absurd 1e308 becomes inf: a gap
            return cadence * 2.0
    return cadence


def _strides_by_step_length(data: ActivityData, cadence: NDArray[np.float64],
                            speed: SpeedChoice) -> NDArray[np.float64]:
    """``cadence`` of a file that names no sport, doubled when read as steps a minute it
    would make the median step longer than :data:`_MAX_STEP_M` at the recorded speed and
    read as strides it makes a step on foot (a Polar HRM or a GPX without a type: a run at
    3 m/s with a cadence of 85 takes 2.1-m steps, or 85 strides). A ride's pedal rate
    (speeds above :data:`_FOOT_SPEEDS_MPS`) is left as it is."""
    ok = np.isfinite(cadence) & (cadence > 0) & np.isfinite(data.t)
    if not ok.any() or speed.t.size < 2:
        return cadence
    mps = np.interp(data.t[ok], speed.t, speed.mps, left=np.nan, right=np.nan)
    lo, hi = _FOOT_SPEEDS_MPS
    with np.errstate(invalid="ignore"):
        on_foot = np.isfinite(mps) & (mps >= lo) & (mps <= hi)
    if on_foot.sum() < 10:
        return cadence
    step = float(np.median(mps[on_foot] / (cadence[ok][on_foot] / 60.0)))
    if step <= _MAX_STEP_M or step / 2.0 > _MAX_STEP_M:
        return cadence
    data.repairs.append(
        f"cadence: the file names no sport, and read as steps a minute its steps would be "
        f"{step:.1f} m long at the recorded speed: the device counts strides; doubled to "
        "steps per minute")
    with np.errstate(over="ignore"):
        return cadence * 2.0


def _stream(
    t: NDArray[np.float64], values: NDArray[np.float64] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    if values is None:
        return None
    ok = np.isfinite(t) & np.isfinite(values)
    if not ok.any():
        return None
    return t[ok], values[ok]


def activity_sessions(activities: list[ActivityData], *, profile: Profile | None = None,
                      name: str | None = None, what_rows: str = "record") -> list:
    """The sessions of a file's activities (:func:`to_session` each). A file of one
    activity is refused as it is; of several, each activity that is refused becomes an
    :class:`~dosewatch.ingest.registry.Unread` in its place (which activity, and why), a
    failure of its own, and the others are read.

    Raises:
        InputError: the file's only activity is refused.
    """
    from .registry import Unread

    if len(activities) == 1:
        return [to_session(activities[0], profile=profile, name=name, what_rows=what_rows)]
    out: list[Session | Unread] = []
    for data in activities:
        try:
            out.append(to_session(data, profile=profile, name=name, what_rows=what_rows))
        except InputError as exc:
            which = next((r for r in data.repairs if " of " in r and " in the file" in r), "")
            out.append(Unread(f"{which}: {exc.reason}" if which else exc.reason, exc.hint))
    return out


def to_session(
    data: ActivityData,
    *,
    profile: Profile | None = None,
    name: str | None = None,
    what_rows: str = "record",
) -> Session:
    """Build the Session of an activity file (see the module text for the rules).

    Args:
        data: the decoded file.
        profile: fields overriding what the file says about the participant.
        name: the session's name; default the file name without its suffixes.
        what_rows: how the format calls a row (``record``, ``trackpoint``), for messages.

    Raises:
        InputError: no row, no heart rate, no usable heart rate, or no readable time.
        ProfileError: ``profile`` is invalid.
    """
    if data.t.size == 0 and data.acc is None:
        cut = truncation(data.repairs)
        if cut is not None:  # a copy that stopped early, not a file without samples
            raise InputError(f"the file is truncated before its first {what_rows} "
                             f"({cut.split(';')[0]})",
                             source=data.source, hint="copy or export the file again: the "
                             "copy or download stopped early")
        raise InputError(f"the file holds no {what_rows}s", source=data.source,
                         hint="it may be a course, workout or summary without samples; "
                         "export the recorded activity")
    _drop_far_times(data)
    _drop_absurd(data)
    repairs = data.repairs
    has_acc = data.acc is not None and len(data.acc[0]) > 0
    try:
        has_hr = _check_heart_rate(data, what_rows)
    except InputError as exc:
        workload = _workload_channels(data)
        if not has_acc and not workload:
            why = _why_no_workload(data)
            if why:
                raise InputError(exc.reason + why, source=data.source, hint=exc.hint) from None
            raise
        has_hr = np.zeros(data.t.size, bool)
        if has_acc:
            if data.hr is not None and np.isfinite(data.hr).any():
                repairs.append(f"{exc.reason}: read the acceleration alone")
        else:
            reason = f"{exc.reason}: read the {' and '.join(workload)} alone"
            repairs.append(f"{reason} ({WORKLOAD_ONLY_NOTE})")
            data.checks.append((reason, WORKLOAD_ONLY_HINT))
    if has_acc and has_hr.any():
        _check_same_recording(data, has_hr)
    if data.speed is not None and data.distance is not None:
        from .units import speed_factor_from_distance

        found = speed_factor_from_distance(data.t, data.speed, data.distance, data.segment)
        if found is not None:
            data.speed = data.speed * found[0]
            repairs.append(found[1])
    speed = choose_speed(data)
    if speed is not None and speed.source.startswith("derived"):
        n_field = 0 if data.speed is None else int(np.isfinite(data.speed).sum())
        why = ("the file has no speed field" if not n_field else
               f"the file's speed field covers only {n_field} of {data.t.size} rows")
        repairs.append(f"speed: {speed.source} ({why})")
    if speed is not None and data.sport is None and not has_hr.any() and not has_acc:
        from ..features.workload import SPORT_HINT, run_or_ride_of_samples

        doubt = run_or_ride_of_samples(speed.t, speed.mps, data.cadence)  # as recorded
        if doubt is not None:
            data.checks.append((doubt, SPORT_HINT))
    cadence = _steps_per_minute(data, speed)
    t = data.t
    hr: tuple | None = None
    if has_hr.any():
        hr_t, hr_bpm = t[has_hr], data.hr[has_hr]  # type: ignore[index]
        hr = (hr_t, hr_bpm)
        if data.rr_ms is not None and np.isfinite(data.rr_ms[has_hr]).any():
            hr = (hr_t, hr_bpm, data.rr_ms[has_hr])
    merged = _merge_profiles(data.profile, profile, data.source, repairs)
    # The file's own values for HR_rest and HR_max (a watch's settings) rank below a
    # researcher's calibration; values the profile given here sets are a person's. A
    # placement the device implies (a chest strap) is the device's too.
    stored = tuple(name for name in ("hr_rest", "hr_max", "placement")
                   if getattr(data.profile, name) is not None
                   and (profile is None or getattr(profile, name) is None)
                   and getattr(merged, name) is not None)
    session = build_session(
        name or default_name(data.source),
        hr=hr,
        acc=data.acc if has_acc else None,
        speed=None if speed is None else (speed.t, speed.mps),
        cadence=_stream(t, cadence),
        power=_stream(t, data.power),
        altitude=_stream(t, data.altitude),
        profile=merged,
        source=str(data.source),
        format=data.format,
        repairs=tuple(repairs),
        sport=data.sport,
        device_profile=stored,
    )
    return session.with_notices(Notice("check", str(data.source), reason, hint)
                                for reason, hint in data.checks)
