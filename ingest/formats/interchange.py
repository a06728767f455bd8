"""The interchange layout: a session folder of ``hr``, ``acc`` and ``speed`` files.

A session folder holds (SPEC, "Inputs")::

    hr.csv      time, hr[, rr_ms]     bpm; rr_ms one RR interval per row where known
    acc.csv     time, x, y, z         acceleration in g
    speed.csv   time, speed_mps[, grade]  optional; grade: a treadmill's incline, rise
                                      over run (0.05 = 5 %)
    profile.toml                      optional, see :mod:`dosewatch.profiles`

Each stream may be ``.csv``, ``.csv.gz`` or ``.parquet`` (one format per stream; streams
may differ; file names are matched ignoring case). ``time`` is seconds, from the session
start or Unix epoch, or ISO-8601 text; times beyond the year 9999 (e.g. milliseconds) are
refused unless the column's name or ``--columns time_unit=ms`` says so. Column names are
matched exactly, or else ignoring case and surrounding spaces, else by a ``--columns``
mapping or a recognised spelling (``timestamp``, ``heart_rate``, ``X [mg]``: see
:mod:`dosewatch.ingest.tables`); a file without a header row is read by position. The
delimiter (comma, semicolon, tab) and decimal commas are sniffed. Other columns are
ignored. Empty cells, cells of spaces, the usual missing markers (``NA``, ``nan``, ...)
and Parquet nulls are read as NaN, which :func:`~dosewatch.session.build_session` treats
as gaps. Parquet columns may be any integer, float or decimal type, or text holding
numbers; a Parquet ``time`` column may also be a timestamp (taken as UTC) or a duration.

Reading is column by column straight into the final arrays (float64 time, float32
``(n, 3)`` acceleration), one column per thread for Parquet, so a week at 100 Hz
(60 million rows) needs little more memory than the session it becomes.

Writing (:func:`write_session_folder`, :class:`ParquetSessionWriter`) builds the folder
under a hidden temporary sibling and renames it into place, so a crash never leaves a
half-written session folder behind.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numpy.typing import ArrayLike, NDArray

from ...errors import (
    InputError,
    OutputError,
    address_space_limit_mb,
    plain_reason,
    quote,
    sanitise,
)
from ...passes import first_argmin, usable_cpus
from ...profiles import profile_to_toml, read_profile
from ...session import UNIX_EPOCH_THRESHOLD, Profile, Session, build_session, time_unit
from ..arrow import to_numbers
from ..registry import Reader, ReadOptions
from ..tables import (
    UNITS,
    Layout,
    TableError,
    assign_roles,
    first_uncastable,
    parse_name,
    sniff_layout,
    to_seconds,
)

__all__ = [
    "FORMATS",
    "READER",
    "STREAMS",
    "ParquetSessionWriter",
    "read_session_folder",
    "write_session_folder",
]

Format = Literal["csv", "csv.gz", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "csv.gz", "parquet")

# Latest plausible time: 9999-12-31 as Unix seconds. Anything larger is not seconds.
_MAX_TIME_S = 253_402_300_799.0
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_BATCH_ROWS = 1 << 20
_HEAD_PEEK = 64 << 10
_NUMERIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^(?i:nan|inf|-inf|na|null)$")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Decompression limits (issue 14: an 8.7 MB hr.csv.gz held 6 GB of text). Real CSV
# compresses 3-10 times with gzip; a gzip or Parquet "bomb" hundreds of times. Reading
# stops past these, whatever the file's own header says.
MAX_GZIP_RATIO = 50
"""A ``.csv.gz`` may decompress to at most this many times its size..."""
MIN_GZIP_LIMIT = 64 << 20
"""...or to this many bytes, whichever is more."""
MAX_PARQUET_RATIO = 200
"""A Parquet file's columns may hold at most this many times its size in 8-byte values
(dosewatch writes floats uncompressed-ish: about 1 to 2 times)."""
# What pyarrow raises on damaged files: Arrow errors (OSError and ValueError included), and
# from its Python layer e.g. UnicodeDecodeError for a column name that is not UTF-8.
_ARROW_READ_ERRORS = (OSError, pa.ArrowException, ValueError, KeyError, IndexError, OverflowError)


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """The columns of one stream file.

    Attributes:
        name: the file's stem: ``hr``, ``acc`` or ``speed``.
        required: value columns that must be present (besides ``time``).
        optional: value columns read when present.
        hint: what the columns mean, for error messages.
    """

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    hint: str

    @property
    def columns(self) -> tuple[str, ...]:
        return ("time", *self.required, *self.optional)


STREAMS: dict[str, StreamSpec] = {
    "hr": StreamSpec("hr", ("hr",), ("rr_ms",), "time in s, hr in bpm, optional rr_ms"),
    "acc": StreamSpec("acc", ("x", "y", "z"), (), "time in s, x, y, z in g"),
    "speed": StreamSpec("speed", ("speed_mps",), ("grade",),
                        "time in s, speed_mps in m/s, optional grade (rise over run)"),
}


# --------------------------------------------------------------------------- helpers


def _bad_file(path: Path, message: str, hint: str) -> InputError:
    return InputError(message, source=path, hint=hint)


# Interchange columns -> the role :mod:`dosewatch.ingest.tables` recognises them by.
_ROLE_OF = {"time": "time", "hr": "hr", "rr_ms": "rr", "x": "x", "y": "y", "z": "z",
            "speed_mps": "speed", "grade": "grade"}


def _resolve_columns(
    found: list[str],
    spec: StreamSpec,
    path: Path,
    mapping: Mapping[str, str] | None = None,
    *,
    has_header: bool = True,
    notes: list[str] | None = None,
) -> dict[str, str]:
    """Map each wanted column to its name in the file: exact, else case/space-insensitive,
    else a ``--columns`` mapping, else a recognised spelling (``timestamp``,
    ``heart_rate``, ``X [mg]``...); a file without a header row is read by position
    (``time, hr[, rr_ms]``; ``time, x, y, z``; ``time, speed_mps``)."""
    resolved: dict[str, str] = {}
    mapping = mapping or {}
    if not has_header:
        n = len(found)
        wanted = [c for c in spec.columns if c in ("time", *spec.required)]
        if n >= len(wanted) and not mapping:
            resolved = dict(zip(spec.columns[:n], found[: len(spec.columns)], strict=False))
            if notes is not None:
                notes.append(f"{path.name}: no header row; columns read by position as "
                             + ", ".join(resolved))
            return resolved
    roles = assign_roles(found, {_ROLE_OF[w]: v for w, v in mapping.items()
                                 if w in _ROLE_OF}, path)
    for want in spec.columns:
        exact = [name for name in found if name == want]
        loose = [name for name in found if name.strip().lower() == want]
        matches = exact or loose
        if len(matches) > 1:
            raise _bad_file(
                path,
                f"column '{want}' appears {len(matches)} times",
                "keep one column of that name",
            )
        role = _ROLE_OF[want]
        if matches and role not in roles.explicit:
            resolved[want] = matches[0]
        elif role in roles.index:
            resolved[want] = found[roles.index[role]]
        elif want in spec.required or want == "time":
            # Names, not content: at most a few, each short and printable (a "header" can
            # be any first line, e.g. of a file that is not a CSV at all).
            shown = ", ".join(sanitise(name, 24) for name in found[:8]) if found else "none"
            if len(found) > 8:
                shown += f", ... ({len(found)} columns)"
            raise _bad_file(
                path,
                f"column '{want}' missing (found: {shown})",
                f"rename the column to '{want}', or name it with --columns "
                f"{role}=COLUMN (expected columns: {spec.hint})",
            )
    if notes is not None:
        renamed = [f"{want}={name}" for want, name in resolved.items() if name != want
                   and name.strip().lower() != want]
        if renamed:
            notes.append(f"{path.name}: columns read as " + ", ".join(renamed))
    return resolved


def _unit_factors(resolved: Mapping[str, str], mapping: Mapping[str, str]) -> dict[str, float]:
    """Factors to the interchange units for columns whose name gives another unit
    (``time_ms``, ``X [mg]``) or whose unit ``--columns`` gives."""
    factors = {}
    for want, name in resolved.items():
        role = _ROLE_OF[want]
        unit = parse_name(name)[2]
        key = {"time": "time_unit", "x": "acc_unit", "y": "acc_unit", "z": "acc_unit",
               "speed": "speed_unit", "rr": "rr_unit"}.get(role)
        if key in mapping:
            unit = mapping[key]
        if unit in UNITS and UNITS[unit][0] in ("time", "acc", "speed"):
            factor = UNITS[unit][1] * (1000.0 if role == "rr" else 1.0)
            if factor != 1.0:
                factors[want] = factor
    return factors


def _allocate(
    spec: StreamSpec, present: list[str], n: int, path: Path
) -> tuple[dict[str, NDArray], dict[str, NDArray]]:
    """Preallocate the final arrays. Returns (result arrays, 1-D target view per column)."""
    try:
        t = np.empty(n, dtype=np.float64)
        if spec.name == "acc":
            # Column order: each axis is one block, filled by one contiguous copy per
            # batch (into row order, each value went to every third float: 0.25 s of
            # CPU for a week at 100 Hz).
            xyz = np.empty((3, n), dtype=np.float32).T
            return {"time": t, "xyz": xyz}, {
                "time": t,
                "x": xyz[:, 0],
                "y": xyz[:, 1],
                "z": xyz[:, 2],
            }
        arrays = {"time": t} | {c: np.empty(n, dtype=np.float64) for c in present if c != "time"}
        return arrays, dict(arrays)
    except (MemoryError, ValueError):
        limit = address_space_limit_mb()
        outside = ("" if limit is None else f"; this process's address space is also "
                   f"limited to {limit:,.0f} MB from outside dosewatch (ulimit -v, or a "
                   "cluster job's memory request): raising it may be what is needed")
        raise _bad_file(
            path,
            f"declares {n:,} rows, more than the memory this input may use can hold",
            "check that the file is not corrupt, or split the recording (in a batch, "
            f"[batch] input_memory_mb sets the memory an input may use){outside}",
        ) from None


def _target_type(column: str) -> pa.DataType:
    return pa.float32() if column in ("x", "y", "z") else pa.float64()


def _text_as_numbers(values: pa.Array) -> pa.Array:
    """Text (or binary) cells with surrounding spaces trimmed and empty cells made null."""
    text = values.view(
        pa.large_string()
        if pa.types.is_large_binary(values.type) or pa.types.is_large_string(values.type)
        else pa.string()
    )
    text = pc.ascii_trim_whitespace(text)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def _show_cell(values: pa.Array, index: int) -> str:
    raw = values.view(
        pa.large_binary()
        if pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
        else pa.binary()
    )[index].as_py()
    return quote(raw)


def _not_a_number(path: Path, column: str, row: int, shown: str) -> InputError:
    if column == "time":
        hint = "times must be numbers of seconds (Unix epoch or from the session start)"
    else:
        hint = "correct the value, or leave the cell empty to mark a gap"
    return _bad_file(
        path,
        f"column '{column}' has a value that is not a number: {shown} at data row {row}",
        hint,
    )


def _check_times(t: NDArray[np.float64], path: Path, stream: str) -> None:
    """Reject times that cannot be seconds (beyond year 9999, e.g. milliseconds). The
    typical time is judged (the median of an even sample), so that one stray value is cut
    off by :func:`~dosewatch.session.build_session` rather than refusing the file; the
    unit in the hint comes from the sample step where it can (relative nanoseconds are
    small numbers but steps of 1e9)."""
    if t.size == 0:
        return
    sample = t[:: max(1, t.size // 100_000)]
    sample = np.abs(sample[np.isfinite(sample)])
    if sample.size == 0:
        return  # no finite time: build_session says nothing is usable
    typical = float(np.median(sample))
    if typical <= _MAX_TIME_S:
        return
    ordered = np.sort(t[: 100_000][np.isfinite(t[:100_000])])
    steps = np.diff(ordered)
    steps = steps[steps > 0]
    unit = time_unit(float(np.median(steps)), stream) if steps.size else None
    if unit is None:
        unit = ("milliseconds" if typical < 1e14 else "microseconds" if typical < 1e17
                else "nanoseconds" if typical < 1e20 else None)
    factor = {"milliseconds": "1000", "microseconds": "1e6", "nanoseconds": "1e9"}
    hint = (f"the times look like {unit}: divide them by {factor[unit]}" if unit
            else "times must be seconds (Unix epoch or from the session start)")
    raise _bad_file(path, f"column 'time' holds {typical:.6g}, which is not a time in seconds",
                    hint)


def _check_not_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _bad_file(
            path,
            f"cannot read the file ({exc.strerror or exc})",
            "check that it exists and is readable",
        ) from None
    if size == 0:
        raise _bad_file(
            path, "the file is empty (0 bytes)", "remove it, or export the recording again"
        )


def _no_rows(path: Path) -> InputError:
    return _bad_file(
        path,
        "the file has a header but no data rows",
        f"remove {path.name} from the folder, or export it again with its samples",
    )


# --------------------------------------------------------------------------- CSV


def _check_compression(path: Path, fmt: str) -> None:
    """Refuse a gzip file named ``.csv`` and a ``.csv.gz`` that is not gzip."""
    with path.open("rb") as f:
        magic = f.read(2)
    if fmt == "csv" and magic == _GZIP_MAGIC:
        raise _bad_file(
            path, "the file is gzip-compressed but named .csv", f"rename it to {path.name}.gz"
        )
    if fmt == "csv.gz" and magic != _GZIP_MAGIC:
        raise _bad_file(
            path,
            "the file is not gzip-compressed (corrupt .gz, or plain text)",
            "export it again, or drop the .gz suffix if it is plain CSV",
        )


def _head_bytes(path: Path, fmt: str) -> bytes:
    """The file's first :data:`_HEAD_PEEK` bytes or more (decompressed), without a
    byte-order mark."""
    head = b""
    try:
        with pa.input_stream(str(path), compression="gzip" if fmt == "csv.gz" else None) as s:
            while len(head) < _HEAD_PEEK:
                block = s.read(1 << 16)
                if not block:
                    break
                # Like Arrow, skip a byte-order mark (empty lines count as lines).
                head = (head + block).removeprefix(b"\xef\xbb\xbf")
    except _ARROW_READ_ERRORS as exc:
        if fmt == "csv.gz":
            raise _corrupt_gzip(path, exc) from None
        raise _bad_file(
            path,
            f"cannot read the file ({_first_line(exc)})",
            "check that it exists and is readable",
        ) from None
    return head


def _head_text(path: Path, head: bytes) -> str:
    """The first lines as text; refuses an empty file or a header line that is not UTF-8."""
    if not head.strip(b"\r\n"):
        raise _bad_file(
            path,
            "the file is empty (no header, no rows)",
            "remove it, or export the recording again",
        )
    try:
        return head.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError as exc:
        # The peek may end inside a multi-byte character; only a bad header line matters.
        text = head[: exc.start].decode("utf-8-sig")
        if not text.strip("\r\n") or ("\n" not in text.lstrip("\r\n")
                                         and "\r" not in text.lstrip("\r\n")):
            raise _bad_file(
                path,
                "the header line is not UTF-8 text",
                "save the file as UTF-8 CSV with a header row",
            ) from None
        return text


def _header_line_layout(path: Path, text: str) -> Layout:
    """A comma-separated layout named by the first non-empty line (a header without data
    rows, or text that is not a table)."""
    lines = re.split(r"\r\n|\r|\n", text)
    skip = next((i for i, line in enumerate(lines) if line.strip()), 0)
    line = lines[skip] if lines else ""
    try:
        names = next(csv.reader(io.StringIO(line)), [])
    except csv.Error as exc:
        raise _bad_file(
            path,
            f"the header line cannot be parsed ({exc})",
            "the first line must name the columns, separated by commas",
        ) from None
    return Layout(",", ".", skip, tuple(names), True)


def _csv_header(path: Path, fmt: str) -> tuple[Layout, str]:
    """The layout of a CSV file (delimiter, header, decimal comma; see
    :func:`dosewatch.ingest.tables.sniff_layout`) from its first lines, and those lines."""
    _check_compression(path, fmt)
    text = _head_text(path, _head_bytes(path, fmt))
    try:
        return sniff_layout(text.encode("utf-8"), path), text
    except TableError:
        pass  # a header without data rows, or not a table: read the first line as names
    return _header_line_layout(path, text), text


def _time_is_text(text: str, layout: Layout, name: str) -> bool:
    """Whether the first cells of the time column hold text (ISO-8601 dates, clock
    times) rather than numbers."""
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    start = layout.skip + (1 if layout.has_header else 0)
    index = layout.names.index(name)
    for line in lines[start : start + 20]:
        cells = line.split(layout.delimiter)
        if index < len(cells):
            cell = cells[index].strip().strip('"')
            if cell:  # the first time says how they are all written
                return not _NUMERIC.match(cell)
    return False


def _corrupt_gzip(path: Path, exc: BaseException) -> InputError:
    return _bad_file(
        path, f"the gzip data is corrupt or truncated ({plain_reason(exc)})",
        "export or copy the file again"
    )


class _LimitedGzip(io.RawIOBase):
    """The decompressed bytes of a ``.csv.gz``, ending early (``exceeded`` set) rather
    than giving more than ``limit``. It ends, never raises: an exception thrown into
    Arrow's threaded reader can leave its threads behind (a hang or an abort at exit)."""

    def __init__(self, path: Path, limit: int):
        self._stream = pa.CompressedInputStream(pa.OSFile(str(path)), "gzip")
        self._left = limit
        self.exceeded = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 20
        if self.exceeded:
            return b""
        block = self._stream.read(min(size, self._left + 1))
        if len(block) > self._left:
            self.exceeded = True
            return b""
        self._left -= len(block)
        return block

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        block = self.read(len(buffer))
        buffer[: len(block)] = block
        return len(block)

    def close(self) -> None:
        self._stream.close()
        super().close()


def gzip_limit(path: Path) -> int:
    """How many bytes ``path`` (a ``.csv.gz``) may decompress to."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return max(MIN_GZIP_LIMIT, MAX_GZIP_RATIO * size)


def _csv_options(columns: dict[str, str], as_text: bool = False, text_columns: frozenset[str]
                 = frozenset(), decimal: str = ".") -> pacsv.ConvertOptions:
    names = list(columns.values())
    types = {
        name: (pa.binary() if as_text else pa.string() if want in text_columns
               else _target_type(want))
        for want, name in columns.items()
    }
    return pacsv.ConvertOptions(
        include_columns=names,
        column_types=types,
        strings_can_be_null=True,
        check_utf8=False,
        decimal_point=decimal,
    )


def _read_csv_table(
    path: Path, fmt: str, columns: dict[str, str], *, as_text: bool = False,
    layout: Layout | None = None, text_columns: frozenset[str] = frozenset(),
) -> pa.Table:
    """The wanted columns, parsed by Arrow as numbers (or kept as text with ``as_text``;
    ``text_columns`` always as text)."""
    layout = layout or Layout(",", ".", 0, tuple(columns.values()), True)
    # The names as sniffed (trimmed), so that they match what the columns were resolved to.
    read_options = pacsv.ReadOptions(
        use_threads=True, block_size=4 << 20, column_names=list(layout.names),
        skip_rows=layout.skip + (1 if layout.has_header else 0))
    separated = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(
        layout.delimiter, repr(layout.delimiter))
    source: str | _LimitedGzip = str(path)
    if fmt == "csv.gz":
        source = _LimitedGzip(path, gzip_limit(path))

    def too_large() -> InputError:
        return _bad_file(
            path, f"decompresses to more than {gzip_limit(path) >> 20} MiB ({MAX_GZIP_RATIO} "
            "times its size): not a table of samples, or a decompression bomb",
            "check the file; store long recordings as Parquet")

    try:
        table = pacsv.read_csv(
            source,
            read_options=read_options,
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter),
            convert_options=_csv_options(columns, as_text, text_columns, layout.decimal),
        )
        if not isinstance(source, str) and source.exceeded:
            raise too_large()
        return table
    except pa.ArrowMemoryError:
        raise MemoryError() from None
    except pa.ArrowInvalid as exc:
        if not isinstance(source, str) and source.exceeded:
            raise too_large() from None
        refused_a_cell = "conversion error" in str(exc) and not as_text
        if not refused_a_cell:
            if fmt == "csv.gz" and ("zlib" in str(exc) or "runcated" in str(exc)):
                raise _corrupt_gzip(path, exc) from None
            raise _bad_file(
                path,
                f"malformed CSV ({_first_line(exc)})",
                f"every row needs as many {separated}-separated fields as the header",
            ) from None
    except _ARROW_READ_ERRORS as exc:
        if not isinstance(source, str) and source.exceeded:
            raise too_large() from None
        if fmt == "csv.gz":
            raise _corrupt_gzip(path, exc) from None
        raise _bad_file(
            path,
            f"cannot read the CSV file ({_first_line(exc)})",
            "check that it is delimited text with a header row",
        ) from None
    finally:
        if not isinstance(source, str):
            source.close()
    # Arrow refused a cell: re-read as text, find it, or accept blank cells as gaps.
    return _csv_numbers_from_text(path, fmt, columns, layout, text_columns)


def _first_line(exc: BaseException) -> str:
    """The library's message in plain words, never quoting the file (see
    :func:`~dosewatch.errors.plain_reason`)."""
    return plain_reason(exc)


def _csv_numbers_from_text(path: Path, fmt: str, columns: dict[str, str],
                           layout: Layout | None = None,
                           text_columns: frozenset[str] = frozenset()) -> pa.Table:
    """The slow path, for files whose cells Arrow's number parser refuses.

    Cells of spaces only are gaps (Arrow trims a number's spaces but not an empty cell's);
    anything else that is not a number is an error naming the column, row and value.
    """
    text = _read_csv_table(path, fmt, columns, as_text=True, layout=layout)
    numbers: dict[str, pa.ChunkedArray] = {}
    decimal = layout.decimal if layout is not None else "."
    for want, name in columns.items():
        if want in text_columns:
            numbers[name] = pa.chunked_array(
                [c.cast(pa.string()) for c in text.column(name).chunks], type=pa.string())
            text = text.drop_columns([name])
            continue
        chunks, row = [], 0
        for values in text.column(name).chunks:
            cells = _text_as_numbers(values)
            if decimal == ",":
                cells = pc.replace_substring(cells, ",", ".")
            bad = first_uncastable(cells, pa.float64())
            if bad is not None:
                raise _not_a_number(path, want, row + bad + 1, _show_cell(values, bad))
            chunks.append(pc.cast(cells, _target_type(want)))
            row += len(values)
        numbers[name] = pa.chunked_array(chunks, type=_target_type(want))
        text = text.drop_columns([name])
    return pa.table(numbers)


def _read_csv_stream(path: Path, fmt: str, spec: StreamSpec,
                     mapping: Mapping[str, str] | None = None,
                     notes: list[str] | None = None) -> dict[str, NDArray]:
    _check_not_empty(path)
    layout, head = _csv_header(path, fmt)
    columns = _resolve_columns(list(layout.names), spec, path, mapping,
                               has_header=layout.has_header, notes=notes)
    if layout.delimiter != "," and notes is not None:
        notes.append(f"{path.name}: {_DELIMITER_NAMES.get(layout.delimiter, 'other')}-"
                     "separated" + (", decimal commas" if layout.decimal == "," else ""))
    text_columns = frozenset({"time"} if _time_is_text(head, layout, columns["time"])
                             else ())
    table = _read_csv_table(path, fmt, columns, layout=layout, text_columns=text_columns)
    n = table.num_rows
    if n == 0:
        raise _no_rows(path)
    factors = _unit_factors(columns, mapping or {})
    arrays, targets = _allocate(spec, list(columns), n, path)
    for want, name in columns.items():
        target, pos = targets[want], 0
        if want in text_columns:
            times = to_seconds(table.column(name).combine_chunks(), path, name=name,
                               unit=(mapping or {}).get("time_unit"))
            target[:] = times.t
            if notes is not None:
                notes.extend(f"{path.name}: {note}" for note in times.notes)
            table = table.drop_columns([name])
            continue
        for chunk in table.column(name).chunks:
            m = len(chunk)
            target[pos : pos + m] = to_numbers(chunk)
            pos += m
        if want in factors:
            target *= factors[want]
            if notes is not None:
                notes.append(f"{path.name}: {name} converted (× {factors[want]:g})")
        # Free each parsed column as soon as it is copied.
        table = table.drop_columns([name])
    return arrays


# --------------------------------------------------------------------------- Parquet


def _open_parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(str(path), pre_buffer=False)
    except _ARROW_READ_ERRORS as exc:
        raise _corrupt_parquet(path, exc) from None


def _corrupt_parquet(path: Path, exc: BaseException) -> InputError:
    return _bad_file(
        path,
        f"not a readable Parquet file, corrupt or truncated ({_first_line(exc)})",
        "write or copy the file again",
    )


def _check_parquet_type(path: Path, want: str, dtype: pa.DataType) -> None:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    ok = (
        pa.types.is_integer(dtype)
        or pa.types.is_floating(dtype)
        or pa.types.is_decimal(dtype)
        or pa.types.is_null(dtype)
        or pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or (want == "time" and (pa.types.is_timestamp(dtype) or pa.types.is_duration(dtype)))
    )
    if not ok:
        raise _bad_file(
            path,
            f"column '{want}' holds {dtype} values, not numbers",
            f"store '{want}' as a float or integer column",
        )


_UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def _parquet_values(values: pa.Array, want: str, path: Path, row0: int) -> NDArray:
    """One batch of a Parquet column as a NumPy array ready to copy into its target."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    dtype = values.type
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        # Zero-copy when there are no nulls; the copy into the target does the cast.
        return to_numbers(values)
    if pa.types.is_null(dtype):
        return np.full(len(values), np.nan)
    if pa.types.is_timestamp(dtype) or pa.types.is_duration(dtype):
        counts = to_numbers(values.cast(pa.int64())).astype(np.float64)
        return counts * _UNIT_SECONDS[dtype.unit]
    if pa.types.is_decimal(dtype):
        return to_numbers(pc.cast(values, pa.float64(), safe=False))
    cells = _text_as_numbers(values)
    bad = first_uncastable(cells, pa.float64())
    if bad is not None:
        raise _not_a_number(path, want, row0 + bad + 1, _show_cell(values, bad))
    return to_numbers(pc.cast(cells, pa.float64()))


def _fill_parquet_column(path: Path, want: str, name: str, target: NDArray, n: int) -> None:
    """Stream one column of the file into ``target``, batch by batch."""
    pos = 0
    try:
        pf = pq.ParquetFile(str(path), pre_buffer=False)
        batches: Iterator[pa.RecordBatch] = pf.iter_batches(
            batch_size=_BATCH_ROWS, columns=[name], use_threads=False
        )
        for batch in batches:
            m = batch.num_rows
            if pos + m > n:
                raise _bad_file(
                    path,
                    f"holds more rows than its footer declares ({n})",
                    "write or copy the file again",
                )
            chunk = _parquet_values(batch.column(0), want, path, pos)
            with np.errstate(over="ignore", invalid="ignore"):
                target[pos : pos + m] = chunk
            pos += m
    except InputError:
        raise
    except _ARROW_READ_ERRORS as exc:
        raise _corrupt_parquet(path, exc) from None
    if pos != n:
        raise _bad_file(
            path,
            f"column '{want}' has {pos} rows, the footer declares {n}",
            "write or copy the file again",
        )


def _read_parquet_stream(path: Path, spec: StreamSpec,
                         mapping: Mapping[str, str] | None = None) -> dict[str, NDArray]:
    _check_not_empty(path)
    with path.open("rb") as f:
        head = f.read(4)
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 4))
        tail = f.read(4)
    if head != _PARQUET_MAGIC or tail != _PARQUET_MAGIC:
        raise _bad_file(
            path,
            "not a Parquet file, or a truncated one (no PAR1 marker)",
            "write or copy the file again; CSV files must be named .csv",
        )
    pf = _open_parquet(path)
    try:
        schema = pf.schema_arrow
        n = pf.metadata.num_rows
        names = list(schema.names)
        types = {field.name: field.type for field in schema}
    except _ARROW_READ_ERRORS as exc:
        raise _corrupt_parquet(path, exc) from None
    columns = _resolve_columns(names, spec, path, mapping)
    for want, name in columns.items():
        _check_parquet_type(path, want, types[name])
    if n < 0:
        raise _bad_file(path, f"the footer declares {n} rows", "write or copy the file again")
    if n == 0:
        raise _no_rows(path)
    if n * 8 > MAX_PARQUET_RATIO * max(size, 1 << 16):
        raise _bad_file(
            path, f"the footer declares {n:,} rows in a file of {size:,} bytes: more than "
            "real samples compress to (a damaged footer, or a decompression bomb)",
            "write or copy the file again")
    arrays, targets = _allocate(spec, list(columns), n, path)
    jobs = list(columns.items())
    # A thread per column, up to the cores this process may use; none under an
    # address-space limit, where each thread's stack and allocator arena would count.
    workers = 1 if address_space_limit_mb() is not None else min(len(jobs), usable_cpus())
    if workers <= 1:
        for want, name in jobs:
            _fill_parquet_column(path, want, name, targets[want], n)
        return arrays
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dosewatch-parquet") as ex:
        futures = [
            ex.submit(_fill_parquet_column, path, want, name, targets[want], n)
            for want, name in jobs
        ]
        for future in futures:  # in column order, so the first bad column is reported
            future.result()
    return arrays


# --------------------------------------------------------------------------- reading


def _find_stream_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """The stream files of a folder: ``{stream: (path, format)}``."""
    try:
        entries = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError as exc:
        raise InputError(
            f"cannot list the folder ({exc.strerror or exc})",
            source=folder,
            hint="check its permissions",
        ) from None
    found: dict[str, list[tuple[Path, str]]] = {}
    for entry in entries:
        lower = entry.name.lower()
        for stream in STREAMS:
            for fmt in FORMATS:
                if lower == f"{stream}.{fmt}":
                    found.setdefault(stream, []).append((entry, fmt))
    for stream, hits in found.items():
        if len(hits) > 1:
            names = ", ".join(p.name for p, _ in hits[:-1]) + " and " + hits[-1][0].name
            raise InputError(
                f"{names} {'both' if len(hits) == 2 else 'all'} hold the {stream} stream",
                source=folder,
                hint=f"remove all but one of {names}",
            )
    files = {stream: hits[0] for stream, hits in found.items()}
    if "hr" not in files and "acc" not in files:
        shown = ", ".join(sanitise(p.name) for p in entries[:10]) or "nothing"
        if len(entries) > 10:
            shown += ", …"
        raise InputError(
            f"no heart-rate or acceleration file in the folder (found: {shown})",
            source=folder,
            hint="a session folder needs hr.csv and/or acc.csv (or .csv.gz, .parquet)",
        )
    return files


def _read_stream(path: Path, fmt: str, spec: StreamSpec,
                 mapping: Mapping[str, str] | None = None,
                 notes: list[str] | None = None) -> dict[str, NDArray]:
    try:
        arrays = (
            _read_parquet_stream(path, spec, mapping)
            if fmt == "parquet"
            else _read_csv_stream(path, fmt, spec, mapping, notes)
        )
    except PermissionError as exc:
        raise _bad_file(
            path, f"cannot read the file ({exc.strerror})", "check its permissions"
        ) from None
    _check_times(arrays["time"], path, spec.name)
    return arrays


def read_session_folder(
    path: str | os.PathLike[str],
    *,
    profile: Profile | None = None,
    name: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> Session:
    """Read a session folder in the interchange layout.

    Args:
        path: the folder.
        profile: fields that override those of the folder's ``profile.toml``.
        name: the session's name; defaults to the folder's name.
        columns: which column holds what in files whose headers differ from the layout
            (``{"time": "timestamp", "time_unit": "ms"}``; see
            :func:`dosewatch.ingest.tables.parse_columns_option`), applied to every
            stream file that has such a column.

    Returns:
        The normalised session (sorted, de-duplicated, gaps dropped; see
        :func:`~dosewatch.session.build_session`). ``provenance.format`` is the stream
        files' format, or formats joined by ``+`` when the streams differ
        (``csv+parquet``).

    Raises:
        InputError: the folder is missing, has no hr/acc file, or a file cannot be read
            (the message names the file and what to do).
        ProfileError: ``profile.toml`` is invalid, or the merged profile is impossible.
    """
    folder = Path(path)
    if not folder.exists():
        raise InputError("no such folder", source=folder, hint="check the path")
    if not folder.is_dir():
        raise InputError(
            "is not a folder", source=folder, hint="pass the session folder that holds hr/acc files"
        )
    files = _find_stream_files(folder)

    merged = Profile()
    profile_path = folder / "profile.toml"
    if profile_path.is_file():
        merged = read_profile(profile_path)
    if profile is not None:
        merged = merged.merged(profile)
        merged.validate(
            f"{profile_path} with the given profile"
            if profile_path.is_file()
            else "the given profile"
        )

    notes: list[str] = []
    streams = {stream: _read_stream(p, fmt, STREAMS[stream], columns, notes)
               for stream, (p, fmt) in files.items()}
    start_time = _shift_to_start(streams)
    args: dict[str, tuple] = {}
    if "hr" in streams:
        s = streams.pop("hr")
        args["hr"] = (s["time"], s["hr"], s["rr_ms"]) if "rr_ms" in s else (s["time"], s["hr"])
    if "acc" in streams:
        s = streams.pop("acc")
        args["acc"] = (s["time"], s["xyz"])
    if "speed" in streams:
        s = streams.pop("speed")
        args["speed"] = (s["time"], s["speed_mps"])
        if "grade" in s:
            args["grade"] = (s["time"], s["grade"])
    formats = sorted({fmt for _, fmt in files.values()})
    session_name = name or folder.resolve().name or "session"
    return build_session(
        session_name,
        profile=merged,
        source=str(folder),
        format="+".join(formats),
        start_time=start_time,
        repairs=tuple(notes),
        **args,
    )


def _shift_to_start(streams: dict[str, dict[str, NDArray]]) -> datetime | None:
    """Make times count from the session start, in place; return the absolute start.

    This is what :func:`~dosewatch.session.build_session` does (the start is the earliest
    time of a row with a finite time and value, in any stream), done on our own fresh
    arrays so that it needs no second copy of the times: 480 MB less for a 60-million-row
    week. ``build_session`` then finds the start at 0 and keeps the arrays.
    """
    firsts = []
    for stream, arrays in streams.items():
        t = arrays["time"]
        values = arrays["xyz" if stream == "acc" else STREAMS[stream].required[0]]
        i = first_argmin(t)  # the earliest time (or the first NaN time)
        if np.isfinite(t[i]) and np.isfinite(values[i]).all():
            firsts.append(float(t[i]))  # the common case: one pass over the times
            continue
        valid = np.isfinite(t)
        if values.ndim == 2:
            for axis in range(values.shape[1]):
                valid &= np.isfinite(values[:, axis])
        else:
            valid &= np.isfinite(values)
        first = float(np.min(t, where=valid, initial=np.inf))
        if np.isfinite(first):
            firsts.append(first)
    if not firsts:
        return None  # build_session reports that nothing is usable
    t0 = min(firsts)
    if t0 == 0.0:
        return None
    for arrays in streams.values():
        arrays["time"] -= t0
    return datetime.fromtimestamp(t0, UTC) if t0 > UNIX_EPOCH_THRESHOLD else None


# --------------------------------------------------------------------------- writing


class _AtomicFolder:
    """A hidden temporary sibling of ``target`` that becomes ``target`` on commit."""

    def __init__(self, target: Path, overwrite: bool):
        # Normalised, so that "." or "out/" still name a folder with a parent.
        target = Path(os.path.abspath(target))
        self.target = target
        self.overwrite = overwrite
        self._check()
        target.parent.mkdir(parents=True, exist_ok=True)
        # Not tempfile.mkdtemp: its 0700 mode would stay on the finished folder.
        self.tmp = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:12]}")
        self.tmp.mkdir()

    def _check(self) -> None:
        t = self.target
        if t.is_symlink() or (t.exists() and not t.is_dir()):
            raise OutputError("exists and is not a folder", source=t, hint="choose another path")
        if t.is_dir() and any(t.iterdir()) and not self.overwrite:
            raise OutputError(
                "the folder exists and is not empty",
                source=t,
                hint="choose another path or pass overwrite=True",
            )

    def commit(self) -> Path:
        self._check()
        if self.target.is_dir():
            old = self.target.with_name(f".{self.target.name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(self.target, old)
            try:
                os.rename(self.tmp, self.target)
            except BaseException:
                os.rename(old, self.target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.tmp, self.target)
        return self.target

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _as_column(values: ArrayLike, dtype: type) -> pa.Array:
    """A NumPy column as Arrow, NaN written as an empty cell / null."""
    arr = np.ascontiguousarray(values, dtype=dtype)
    mask = np.isnan(arr)
    return pa.array(arr, mask=mask if mask.any() else None)


def _stream_tables(session: Session) -> Iterator[tuple[str, pa.Table]]:
    """Each stream as a table, one at a time (so only one stream's copy is alive)."""
    offset = session.provenance.start_time.timestamp() if session.provenance.start_time else 0.0
    if session.hr is not None:
        cols = {"time": session.hr.t + offset, "hr": _as_column(session.hr.bpm, np.float64)}
        if session.hr.rr_ms is not None:
            cols["rr_ms"] = _as_column(session.hr.rr_ms, np.float64)
        yield "hr", pa.table(cols)
    if session.acc is not None:
        xyz = session.acc.xyz
        yield (
            "acc",
            pa.table(
                {
                    "time": session.acc.t + offset,
                    **{axis: _as_column(xyz[:, i], np.float32) for i, axis in enumerate("xyz")},
                }
            ),
        )
    if session.speed is not None:
        cols = {"time": session.speed.t + offset,
                "speed_mps": _as_column(session.speed.mps, np.float64)}
        if session.grade is not None:
            cols["grade"] = _as_column(_grade_at(session, session.speed.t), np.float64)
        yield "speed", pa.table(cols)


def _grade_at(session: Session, t: NDArray[np.float64]) -> NDArray[np.float64]:
    """The session's grade at the speed samples' times (the layout keeps the treadmill's
    incline beside its speed): linear between grade samples, NaN outside them."""
    grade = session.grade
    if grade.t.shape == t.shape and np.array_equal(grade.t, t):
        return grade.values
    return np.interp(t, grade.t, grade.values, left=np.nan, right=np.nan)


def _write_table(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, str(path), row_group_size=1 << 20,
                       **_parquet_options(PARQUET_COMPRESSION))
        return
    # The header by hand: Arrow quotes column names, and they never need it.
    header = (",".join(table.column_names) + "\n").encode()
    options = pacsv.WriteOptions(include_header=False)
    with pa.OSFile(str(path), "wb") as raw:
        out = pa.CompressedOutputStream(raw, "gzip") if fmt == "csv.gz" else raw
        out.write(header)
        pacsv.write_csv(table, out, write_options=options)
        if out is not raw:
            out.close()


def write_session_folder(
    session: Session,
    path: str | os.PathLike[str],
    *,
    format: Format = "csv",
    include_profile: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write ``session`` as a session folder that :func:`read_session_folder` reads back.

    Times are written as Unix-epoch seconds when ``session.provenance.start_time`` is set
    (so reading back restores it; float64 keeps them to about 0.25 µs), else as seconds
    from the session start. Missing values (NaN) are written as empty cells / nulls. The
    ``rr_ms`` column is written only when the session has RR intervals, ``grade`` (in
    ``speed``) only when it has speed and grade, ``profile.toml`` only when
    ``include_profile`` and the profile sets any field. Cadence, power and altitude have
    no place in the layout and are not written.

    The folder is built as a hidden temporary sibling and renamed into place, so ``path``
    is either the complete folder or untouched.

    Returns:
        The folder's path.

    Raises:
        OutputError: ``path`` is a file, or a non-empty folder and not ``overwrite``.
        ValueError: an unknown format.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    folder = _AtomicFolder(Path(path), overwrite)
    try:
        for stream, table in _stream_tables(session):
            _write_table(table, folder.tmp / f"{stream}.{format}", format)
        text = profile_to_toml(session.profile) if include_profile else ""
        if text:
            (folder.tmp / "profile.toml").write_text(text, encoding="utf-8")
        return folder.commit()
    except BaseException:
        folder.abort()
        raise


_PARQUET_SCHEMAS = {
    "hr": pa.schema([("time", pa.float64()), ("hr", pa.float64())]),
    "hr+rr": pa.schema([("time", pa.float64()), ("hr", pa.float64()), ("rr_ms", pa.float64())]),
    "acc": pa.schema(
        [("time", pa.float64()), ("x", pa.float32()), ("y", pa.float32()), ("z", pa.float32())]
    ),
    "speed": pa.schema([("time", pa.float64()), ("speed_mps", pa.float64())]),
}


# LZ4 with byte-stream-split: smaller than Snappy on sensor data (455 against 483 MB for
# the benchmark's week) and decoded about three times faster (0.9 against 3.3 s of CPU).
PARQUET_COMPRESSION = "lz4"


def _parquet_options(compression: str) -> dict[str, object]:
    """How dosewatch writes Parquet: every column is a float of unique values, where a
    dictionary only costs time, and byte-stream-split encoding makes floats compress
    better and decode faster (a week's acc.parquet: 30 % smaller, time column read in
    1.4 s instead of 2.2 s). Any Parquet reader from 2021 on reads it."""
    return {"compression": compression, "use_dictionary": False,
            "column_encoding": "BYTE_STREAM_SPLIT"}


class _Buffered:
    """One stream's ParquetWriter, fed whole row groups."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_size: int, compression: str):
        self.schema = schema
        self.row_group_size = row_group_size
        self.writer = pq.ParquetWriter(str(path), schema, **_parquet_options(compression))
        self.pending: list[list[NDArray]] = []
        self.n_pending = 0
        self.rows = 0

    def add(self, columns: list[NDArray]) -> None:
        self.pending.append(columns)
        self.n_pending += len(columns[0])
        self.rows += len(columns[0])
        if self.n_pending >= self.row_group_size:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self.pending:
            return
        joined = [np.concatenate(parts) for parts in zip(*self.pending, strict=True)]
        n = len(joined[0])
        whole = n if final else n - n % self.row_group_size
        if whole:
            table = pa.Table.from_arrays(
                [_as_column(c[:whole], c.dtype.type) for c in joined], schema=self.schema
            )
            self.writer.write_table(table, row_group_size=self.row_group_size)
        rest = [c[whole:] for c in joined]
        self.pending = [rest] if n - whole else []
        self.n_pending = n - whole

    def close(self) -> None:
        self._flush(final=True)
        self.writer.close()


class ParquetSessionWriter:
    """Write a long session folder of Parquet files chunk by chunk (e.g. a simulated week).

    Use as a context manager, or call :meth:`close` (or :meth:`abort`)::

        with ParquetSessionWriter(out / "week1", profile=profile) as w:
            for day in days:
                w.append(hr=(t_hr, bpm), acc=(t_acc, xyz))

    Chunks are buffered into row groups of ``row_group_size`` rows, so memory holds at most
    one row group per stream. Times are written as given (Unix-epoch seconds or from the
    start; :func:`read_session_folder` sorts and de-duplicates). The folder appears at
    ``path`` only when :meth:`close` succeeds; leaving the ``with`` block by an exception
    aborts and removes everything written.

    Args:
        path: the session folder to create.
        profile: written as ``profile.toml`` when it sets any field.
        overwrite: replace an existing non-empty folder at ``path``.
        row_group_size: rows per Parquet row group.
        compression: Parquet compression codec.

    Raises:
        OutputError: ``path`` is a file, or a non-empty folder and not ``overwrite``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        profile: Profile | None = None,
        overwrite: bool = False,
        row_group_size: int = 1 << 20,
        compression: str = PARQUET_COMPRESSION,
    ):
        if row_group_size < 1:
            raise ValueError("row_group_size must be positive")
        self.profile = None if profile is None else profile.validate("the writer's profile")
        self._row_group_size = row_group_size
        self._compression = compression
        self._folder: _AtomicFolder | None = _AtomicFolder(Path(path), overwrite)
        self.path = self._folder.target
        self._streams: dict[str, _Buffered] = {}

    @property
    def rows(self) -> dict[str, int]:
        """Rows appended so far, per stream."""
        return {name: s.rows for name, s in self._streams.items()}

    def _stream(self, folder: _AtomicFolder, name: str, schema_key: str) -> _Buffered:
        if name not in self._streams:
            self._streams[name] = _Buffered(
                folder.tmp / f"{name}.parquet",
                _PARQUET_SCHEMAS[schema_key],
                self._row_group_size,
                self._compression,
            )
        return self._streams[name]

    def append(
        self,
        *,
        hr: tuple[ArrayLike, ArrayLike]
        | tuple[ArrayLike, ArrayLike, ArrayLike | None]
        | None = None,
        acc: tuple[ArrayLike, ArrayLike] | None = None,
        speed: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> None:
        """Append one chunk of any streams: ``hr=(t, bpm[, rr_ms])``, ``acc=(t, xyz)`` with
        ``xyz`` of shape ``(n, 3)`` in g, ``speed=(t, mps)``.

        The ``hr`` file has an ``rr_ms`` column when the first ``hr`` chunk has one; later
        chunks without RR get empty cells there.

        Raises:
            ValueError: after close, on mismatched lengths or a wrong ``xyz`` shape, or RR in
                a later chunk when the first had none.
        """
        folder = self._folder
        if folder is None:
            raise ValueError("the writer is closed")
        chunks: dict[str, tuple[str, list[NDArray]]] = {}
        if hr is not None:
            t, bpm, *rest = hr
            rr = rest[0] if rest else None
            cols = [np.asarray(t, np.float64), np.asarray(bpm, np.float64)]
            if rr is not None:
                cols.append(np.asarray(rr, np.float64))
            existing = self._streams.get("hr")
            has_rr = existing.schema.names[-1] == "rr_ms" if existing else rr is not None
            if rr is not None and not has_rr:
                raise ValueError("hr chunk has rr_ms but the first hr chunk had none")
            if rr is None and has_rr:
                cols.append(np.full(len(cols[0]), np.nan))
            chunks["hr"] = ("hr+rr" if has_rr else "hr", cols)
        if acc is not None:
            xyz = np.asarray(acc[1], np.float32)
            if xyz.ndim != 2 or xyz.shape[1] != 3:
                raise ValueError(f"acc xyz must have shape (n, 3), got {xyz.shape}")
            t = np.asarray(acc[0], np.float64)
            chunks["acc"] = ("acc", [t, xyz[:, 0], xyz[:, 1], xyz[:, 2]])
        if speed is not None:
            chunks["speed"] = (
                "speed",
                [np.asarray(speed[0], np.float64), np.asarray(speed[1], np.float64)],
            )
        for name, (_, cols) in chunks.items():
            if any(c.ndim != 1 or len(c) != len(cols[0]) for c in cols):
                raise ValueError(f"{name}: every column of a chunk needs the same length")
        for name, (key, cols) in chunks.items():
            # Copy: the caller may reuse its buffers for the next chunk.
            self._stream(folder, name, key).add([np.array(c, copy=True) for c in cols])

    def close(self) -> Path:
        """Finish the files and move the folder into place. Returns its path.

        Raises:
            ValueError: nothing with heart rate or acceleration was appended (the folder
                would not be a session); the partial folder is removed.
            OutputError: a non-empty folder appeared at ``path`` meanwhile.
        """
        if self._folder is None:
            return self.path
        folder = self._folder
        try:
            if "hr" not in self._streams and "acc" not in self._streams:
                raise ValueError("no heart rate or acceleration was appended")
            for stream in self._streams.values():
                stream.close()
            text = profile_to_toml(self.profile) if self.profile is not None else ""
            if text:
                (folder.tmp / "profile.toml").write_text(text, encoding="utf-8")
            path = folder.commit()
        except BaseException:
            self.abort()
            raise
        self._folder = None
        return path

    def abort(self) -> None:
        """Discard everything written; nothing appears at ``path``."""
        for stream in self._streams.values():
            try:
                stream.writer.close()
            except (OSError, pa.ArrowException):
                pass
        self._streams.clear()
        if self._folder is not None:
            self._folder.abort()
            self._folder = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# The streams that make a folder a session (speed alone does not), any case.
SESSION_FILES = frozenset(f"{stream}.{fmt}" for stream in ("hr", "acc") for fmt in FORMATS)


def is_session_folder(path: Path) -> bool:
    """Whether ``path`` is a folder in the interchange layout (holds hr or acc)."""
    try:
        return path.is_dir() and any(
            p.name.lower() in SESSION_FILES and p.is_file() for p in path.iterdir())
    except OSError:
        return False


TRUTH_FILE = "truth.json"
"""What :mod:`dosewatch.simulate` writes beside a simulated session's streams: the
answer key, part of the folder (not read as a session, not an input of its own)."""
_SESSION_FILES = frozenset(f"{s}.{fmt}" for s in STREAMS for fmt in FORMATS) | {TRUTH_FILE}


def session_files(folder: Path) -> list[Path]:
    """The files of a session folder: its streams (``hr.csv``, ``acc.parquet``, ...) and
    a simulated session's ``truth.json``. Its ``profile.toml`` is the folder's profile,
    and anything else (a FIT file, a ``week2/`` subfolder) is not the session's:
    discovery walks it as inputs of their own."""
    try:
        return sorted(p for p in folder.iterdir()
                      if p.name.lower() in _SESSION_FILES and p.is_file())
    except OSError:
        return []


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return [read_session_folder(path, profile=options.profile, name=options.name,
                                columns=options.columns)]


def _explain(path: Path) -> str | None:
    if path.name.lower() in {f"{s}.{fmt}" for s in STREAMS for fmt in FORMATS}:
        return "it is one stream of a session folder: pass the folder that holds it"
    return None


READER = Reader(
    name="interchange",
    title="session folder (hr/acc/speed as .csv, .csv.gz or .parquet)",
    read=_read,
    claims_folder=is_session_folder,
    folder_files=session_files,
    explain=_explain,
    hint="a session folder needs hr.csv and/or acc.csv (or .csv.gz, .parquet)",
    priority=-10,  # the most generic folder: specific folder formats go first
)
