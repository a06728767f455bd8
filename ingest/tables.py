"""Tables of samples in whatever shape people hand them in: what every text-table reader
shares (the generic CSV reader, the interchange session folder, phone-app exports).

A table is sniffed from its first lines, never by asking the user to rewrite it:

- **Delimiter**: comma, semicolon, tab or pipe, whichever splits the lines into the same
  number of fields (or more than one field) most consistently; a ``;``- or tab-separated
  file whose numbers use a decimal comma (``1,5``) is read with decimal commas.
- **Header**: the last line of names before the data starts, so a summary block above the
  samples (Polar Flow's CSV) is skipped; a table whose first line is already data has no
  header (its columns are ``1``, ``2``, ... for ``--columns``).
- **Column names** are recognised in the spellings exporters use (``time``,
  ``timestamp``, ``Phone timestamp``, ``heart_rate``, ``Heart rate``, ``HR [bpm]``,
  ``X [mg]``, ``Speed (km/h)``...), with the unit written in brackets, parentheses or
  after an underscore (:func:`parse_name`).
- **Times** may be ISO-8601 text (with a zone, or without one: then read as UTC and
  said so, and put in the study's zone by :func:`dosewatch.ingest.clock.localize`), numbers of seconds, milliseconds, microseconds or nanoseconds since the Unix
  epoch (told apart by their size), numbers counting from the start (seconds unless the
  name or ``time_unit`` says otherwise), or elapsed ``HH:MM:SS`` (:func:`to_seconds`).

``--columns time=Zeit,hr=Puls`` (:func:`parse_columns_option`) names the columns a file's
headers do not say, by name or by 1-based number, and ``time_unit=ms`` (``s``, ``ms``,
``us``, ``ns``, ``min``, ``h``, or ``excel`` for spreadsheet serial days), ``acc_unit=mg``,
``speed_unit=km/h``, ``distance_unit=km`` give units a header leaves out.

Reading is column-wise through Arrow; rows with fewer fields than the header (Polar
Sensor Logger leaves trailing fields out) are read by splitting the lines in Arrow, so no
Python code runs per row.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from ..errors import ConfigError, InputError
from .arrow import to_flags, to_numbers

__all__ = [
    "COLUMN_KEYS",
    "ROLES",
    "Layout",
    "Roles",
    "TableError",
    "assign_roles",
    "decode_head",
    "first_bad",
    "first_uncastable",
    "looks_like_table",
    "numbers",
    "parse_columns_option",
    "parse_name",
    "read_columns",
    "sniff_layout",
    "to_seconds",
]

ROLES = ("time", "hr", "rr", "x", "y", "z", "speed", "cadence", "power", "distance")
UNIT_KEYS = ("time_unit", "acc_unit", "speed_unit", "distance_unit", "rr_unit")
CHANNEL_KEYS = ("ecg",)
"""Names only a recording with channels reads (an EDF's ECG channel); tables ignore them,
so one ``--columns`` serves a batch of tables and EDF files."""
COLUMN_KEYS = ROLES + UNIT_KEYS + CHANNEL_KEYS
DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 64 << 10
# A text table read whole (the fallback for ragged rows) may not be larger than this.
MAX_RAGGED_BYTES = 1 << 30
_MAX_TIME_S = 253_402_300_799.0  # 9999-12-31
_EPOCH_MIN_S = 1.0e8  # 1973: numbers of seconds below this count from the start
TRUNCATED_GZIP = ("the gzip stream is cut short: the file is truncated (a copy or download "
                  "that stopped early)")
TRUNCATED_GZIP_HINT = ("copy or export the file again (or decompress what it holds, zcat "
                       "FILE.csv.gz > FILE.csv, and pass that)")
_EXCEL_UNIX_DAY = 25_569.0  # the spreadsheet serial day of 1970-01-01

# Unit spellings (lower case, spaces removed) -> (kind, factor to the canonical unit).
UNITS: dict[str, tuple[str, float]] = {
    "s": ("time", 1.0), "sec": ("time", 1.0), "secs": ("time", 1.0), "seconds": ("time", 1.0),
    "ms": ("time", 1e-3), "msec": ("time", 1e-3), "millis": ("time", 1e-3),
    "us": ("time", 1e-6), "µs": ("time", 1e-6), "μs": ("time", 1e-6),
    "ns": ("time", 1e-9), "min": ("time", 60.0), "h": ("time", 3600.0),
    "excel": ("time", 86_400.0),
    "bpm": ("hr", 1.0), "1/min": ("hr", 1.0), "count/min": ("hr", 1.0),
    "g": ("acc", 1.0), "mg": ("acc", 1e-3), "milli-g": ("acc", 1e-3),
    "m/s2": ("acc", 1 / 9.80665), "m/s^2": ("acc", 1 / 9.80665), "m/s²": ("acc", 1 / 9.80665),
    "ms2": ("acc", 1 / 9.80665), "ms^-2": ("acc", 1 / 9.80665), "ms-2": ("acc", 1 / 9.80665),
    "m/s": ("speed", 1.0), "mps": ("speed", 1.0), "km/h": ("speed", 1 / 3.6),
    "kmh": ("speed", 1 / 3.6), "kph": ("speed", 1 / 3.6), "kmph": ("speed", 1 / 3.6),
    "mph": ("speed", 0.44704),
    "m": ("distance", 1.0), "meters": ("distance", 1.0), "metres": ("distance", 1.0),
    "km": ("distance", 1000.0), "mi": ("distance", 1609.344), "miles": ("distance", 1609.344),
    "w": ("power", 1.0), "watts": ("power", 1.0), "watt": ("power", 1.0),
    "rpm": ("cadence", 1.0), "spm": ("cadence", 1.0), "steps/min": ("cadence", 1.0),
    "1/min.": ("cadence", 1.0),
}
# Units that say a column is something else (gyroscope, magnetometer, temperature...).
FOREIGN_UNITS = frozenset({"dps", "deg/s", "°/s", "rad/s", "ut", "µt", "μt", "gauss", "c",
                           "°c", "degc", "uv", "µv", "mv", "%", "percent", "kcal", "m/min",
                           "min/km", "min/mi", "hpa"})
_ROLE_UNIT_KIND = {"time": "time", "hr": "hr", "rr": "time", "x": "acc", "y": "acc",
                   "z": "acc", "speed": "speed", "distance": "distance", "power": "power",
                   "cadence": "cadence"}

# Base names (lower case, letters and digits only) -> (role, rank: higher wins).
_NAMES: dict[str, tuple[str, int]] = {}


def _names(role: str, rank: int, *spellings: str) -> None:
    for spelling in spellings:
        _NAMES[spelling] = (role, rank)


_names("time", 9, "time", "timestamp", "datetime", "date", "phonetimestamp", "utc",
       "timeutc", "timestamputc", "unixtime", "unixtimestamp", "epoch", "epochtime",
       "zeit", "zeitstempel", "temps", "horodatage", "localtime", "recordedat", "datum")
_names("time", 7, "t", "elapsed", "elapsedtime", "timeelapsed", "seconds", "sec", "secs",
       "timeoffset", "offset", "timesec", "times", "timefromstart", "relativetime",
       "sampletime", "recordtime", "duration")
_names("time", 2, "sensortimestamp", "devicetimestamp")
_names("hr", 9, "hr", "heartrate", "heartratebpm", "hrbpm", "bpm", "pulse", "puls",
       "herzfrequenz", "fc", "frequencecardiaque", "heartbeat", "heart", "pulserate")
_names("rr", 9, "rr", "rrms", "rrinterval", "rrintervalms", "ibi", "ibims", "rri", "nn",
       "ppinterval", "ppi", "interbeatinterval", "beatinterval")
for _axis in "xyz":
    _names(_axis, 9, _axis, f"acc{_axis}", f"accel{_axis}", f"acceleration{_axis}",
           f"{_axis}acc", f"{_axis}accel", f"{_axis}acceleration", f"a{_axis}",
           f"{_axis}axis", f"accelerometer{_axis}", f"acc{_axis}g", f"acc{_axis}mg")
_names("speed", 9, "speed", "speedmps", "velocity", "spd", "geschwindigkeit", "vitesse",
       "enhancedspeed", "speedms", "speedkmh")
_names("cadence", 9, "cadence", "cad", "runcadence", "stepcadence", "steprate",
       "trittfrequenz", "kadenz")
_names("power", 9, "power", "watts", "pwr", "leistung", "puissance")
_names("distance", 9, "distance", "dist", "distancemeters", "distances", "distancem",
       "distancekm", "strecke")
_names("hr", 8, "hrate")  # GoldenCheetah's PowerTap CSV
# Names that are a unit themselves (GoldenCheetah's "Minutes, ..., Km/h, ..., Km" CSV):
# base name -> (role, rank, unit key).
_UNIT_NAMES: dict[str, tuple[str, int, str]] = {
    "minutes": ("time", 7, "min"), "mins": ("time", 7, "min"), "min": ("time", 6, "min"),
    "hours": ("time", 6, "h"), "kmh": ("speed", 8, "kmh"), "kph": ("speed", 8, "kph"),
    "mph": ("speed", 8, "mph"), "km": ("distance", 8, "km"),
}


class TableError(InputError):
    """A table cannot be read (an :class:`~dosewatch.errors.InputError`)."""


@dataclass(frozen=True)
class Layout:
    """How a text table is laid out, from its first lines.

    Attributes:
        delimiter: the field separator.
        decimal: ``.`` or ``,`` (decimal commas, with a ``;`` or tab delimiter).
        skip: lines before the header (or before the first data line without header).
        names: the column names; ``1``, ``2``, ... when the table has no header.
        has_header: whether a header line names the columns.
        preamble: the lines skipped above the header (a summary block), as text.
    """

    delimiter: str
    decimal: str
    skip: int
    names: tuple[str, ...]
    has_header: bool
    preamble: tuple[str, ...] = ()


@dataclass(frozen=True)
class Roles:
    """Which column holds what, and in which unit.

    Attributes:
        index: role -> 0-based column index.
        factor: role -> factor to the canonical unit (s, bpm, ms for rr, g, m/s, m,
            W, per minute); absent when the unit is not known from the file.
        unit: role -> the unit as written (for notes).
        explicit: the roles named by ``--columns`` rather than recognised.
    """

    index: dict[str, int]
    factor: dict[str, float] = field(default_factory=dict)
    unit: dict[str, str] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()

    def has(self, *roles: str) -> bool:
        return all(r in self.index for r in roles)


# --------------------------------------------------------------------------- options


def parse_columns_option(text: str | Mapping[str, str] | None) -> dict[str, str]:
    """``time=Zeit,hr=Puls,acc_unit=mg`` as a mapping, keys checked.

    Raises:
        ConfigError: an unknown key, a pair without ``=``, or an unknown unit.
    """
    if text is None:
        return {}
    if isinstance(text, Mapping):
        pairs = list(text.items())
    else:
        pairs = []
        for part in text.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise ConfigError(f"--columns: '{part.strip()}' is not NAME=COLUMN",
                                  hint="write --columns time=Zeit,hr=Puls")
            pairs.append((key, value))
    out: dict[str, str] = {}
    for key, value in pairs:
        key, value = str(key).strip().lower(), str(value).strip()
        if key not in COLUMN_KEYS:
            raise ConfigError(f"--columns: unknown name '{key}'",
                              hint="names: " + ", ".join(COLUMN_KEYS))
        if not value:
            raise ConfigError(f"--columns: '{key}' is given no column",
                              hint=f"write {key}=COLUMN (a name or a 1-based number)")
        if key in UNIT_KEYS:
            unit = _unit_key(value)
            kind = UNITS.get(unit, ("", 0))[0]
            want = {"time_unit": "time", "rr_unit": "time", "acc_unit": "acc",
                    "speed_unit": "speed", "distance_unit": "distance"}[key]
            if kind != want:
                choices = sorted(u for u, (k, _) in UNITS.items() if k == want)
                raise ConfigError(f"--columns: {key}={value} is not a unit of {want}",
                                  hint="one of " + ", ".join(choices))
            value = unit
        out[key] = value
    return out


# --------------------------------------------------------------------------- names


def _unit_key(text: str) -> str:
    return text.strip().lower().replace(" ", "")


_UNIT_IN_NAME = re.compile(r"^(?P<base>.*?)\s*[\[(](?P<unit>[^\])]*)[\])]\s*$")
_SUFFIX_UNITS = ("_ms", "_s", "_ns", "_us", "_mg", "_g", "_bpm", "_mps", "_kmh", "_km",
                 "_m", "_w", "_sec", "_secs")


def parse_name(name: str) -> tuple[str | None, int, str | None]:
    """A column name's role, how surely (rank), and its unit key, from the name alone.

    ``HR [bpm]`` -> ``("hr", 9, "bpm")``; ``X [mg]`` -> ``("x", 9, "mg")``;
    ``speed_kmh`` -> ``("speed", 9, "kmh")``; ``X [dps]`` -> ``(None, 0, "dps")``
    (a gyroscope); an unknown name -> ``(None, 0, None)``.
    """
    text = name.strip().strip('"').strip()
    unit = None
    match = _UNIT_IN_NAME.match(text)
    if match:
        text, unit = match.group("base"), _unit_key(match.group("unit"))
    base = re.sub(r"[^0-9a-zà-ÿ]", "", text.lower())
    if unit is None:
        lower = text.lower()
        for suffix in _SUFFIX_UNITS:
            stem = re.sub(r"[^0-9a-z]", "", lower[: -len(suffix)])
            if lower.endswith(suffix) and stem in _NAMES:
                base, unit = stem, suffix[1:]
                break
    found = _NAMES.get(base)
    if found is None and unit is None and base in _UNIT_NAMES:
        return _UNIT_NAMES[base]
    if found is None:
        return None, 0, unit
    role, rank = found
    if unit is not None and unit in FOREIGN_UNITS:
        return None, 0, unit
    kind = UNITS[unit][0] if unit is not None and unit in UNITS else None
    # "speed [m]": a name and a unit that disagree say nothing sure ("1/min" fits hr too).
    if kind is not None and kind != _ROLE_UNIT_KIND[role] and not (
            role == "hr" and kind == "cadence"):
        return None, 0, unit
    return role, rank, unit


def assign_roles(
    names: Sequence[str], mapping: Mapping[str, str], source: Path | str
) -> Roles:
    """Decide which column holds what: ``mapping`` first (by name, case-insensitive, or
    1-based number), then the recognised names (the highest rank wins; a tie goes to the
    leftmost column).

    Raises:
        TableError: ``mapping`` names a column the table does not have.
    """
    index: dict[str, int] = {}
    units: dict[str, str] = {}
    explicit = set()
    lowered = [n.strip().lower() for n in names]
    for role in ROLES:
        wanted = mapping.get(role)
        if wanted is None:
            continue
        column = _find_column(wanted, names, lowered)
        if column is None:
            shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
            raise TableError(f"--columns {role}={wanted}: no such column (found: {shown})",
                             source=source, hint="give the column's name as in the header, "
                             "or its number counting from 1")
        index[role] = column
        explicit.add(role)
        unit = parse_name(names[column])[2]
        if unit is not None:
            units[role] = unit
    taken = set(index.values())
    best: dict[str, tuple[int, int]] = {}
    for i, name in enumerate(names):
        if i in taken:
            continue
        role, rank, unit = parse_name(name)
        if role is None or role in explicit:
            continue
        if role not in best or rank > best[role][0]:
            best[role] = (rank, i)
            if unit is not None:
                units[role] = unit
            else:
                units.pop(role, None)
    for role, (_, i) in best.items():
        index[role] = i
    for role, key in (("time", "time_unit"), ("rr", "rr_unit"), ("speed", "speed_unit"),
                      ("distance", "distance_unit")):
        if key in mapping:
            units[role] = mapping[key]
    if "acc_unit" in mapping:
        for axis in "xyz":
            units[axis] = mapping["acc_unit"]
    factor = {}
    for role, unit in units.items():
        if role in index and unit in UNITS:
            f = UNITS[unit][1]
            factor[role] = f * 1000.0 if role == "rr" else f  # rr is kept in ms
    return Roles(index=index, factor=factor, unit={r: u for r, u in units.items()
                                                     if r in index},
                 explicit=frozenset(explicit))


def _find_column(wanted: str, names: Sequence[str], lowered: Sequence[str]) -> int | None:
    if wanted in names:
        return names.index(wanted)
    if wanted.strip().lower() in lowered:
        return lowered.index(wanted.strip().lower())
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return int(wanted) - 1
    return None


# --------------------------------------------------------------------------- layout


def decode_head(head: bytes) -> str:
    """The first bytes of a text file as text (UTF-8 or UTF-16 with a byte-order mark,
    else Latin-1, which never fails), without a byte-order mark."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, errors="ignore")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # cut inside a character at the end of the head
            return head[: exc.start].decode("utf-8")
        return head.decode("latin-1")


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_TIME_TEXT = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|z|UTC|[+-]\d{2}:?\d{2})?$"
    r"|^\d+:\d{2}(:\d{2})?(\.\d+)?$")
_MISSING = frozenset({"", "na", "nan", "null", "none", "-", "n/a", "#n/a", "--"})


def _is_value(cell: str) -> bool:
    cell = cell.strip().strip('"')
    return bool(_NUMBER.match(cell) or _TIME_TEXT.match(cell))


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def _data_like(fields: list[str]) -> bool:
    filled = [f for f in fields if f.strip().strip('"').lower() not in _MISSING]
    if not filled:
        return False
    return sum(_is_value(f) for f in filled) >= max(1, math.ceil(len(filled) / 2))


def _lines(text: str, most: int = 200) -> list[str]:
    lines = re.split(r"\r\n|\r|\n", text)
    if len(lines) > 1 and text and text[-1] not in "\r\n":
        lines = lines[:-1]  # the head may cut the last line short
    return lines[:most]


def sniff_layout(head: bytes, source: Path | str) -> Layout:
    """The layout of a text table from its first bytes (see the module text).

    Raises:
        TableError: the text is not a table of samples (no delimiter splits it, or no
            data line follows the header).
    """
    text = decode_head(head)
    lines = _lines(text)
    nonblank = [(i, line) for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        raise TableError("the file holds no text lines", source=source,
                         hint="check that it is a table of samples (CSV)")
    best: tuple[float, str] | None = None
    for delimiter in DELIMITERS:
        counts = [len(_split(line, delimiter)) for _, line in nonblank]
        multi = [c for c in counts if c > 1]
        if len(multi) < max(1, 0.6 * len(counts)):
            continue
        modal = max(set(multi), key=multi.count)
        score = multi.count(modal) / len(counts) + 0.001 * min(modal, 50)
        if best is None or score > best[0] + 1e-9:
            best = (score, delimiter)
    if best is None:
        raise TableError("not a table: no comma, semicolon or tab splits its lines into "
                         "columns", source=source,
                         hint="dosewatch reads delimited text tables (CSV) with one sample "
                         "per line")
    delimiter = best[1]
    split = [(i, _split(line, delimiter)) for i, line in nonblank]
    first_data = None
    for k in range(len(split)):
        run = split[k : k + 3]
        if len(run) >= min(3, len(split) - k) and all(_data_like(f) for _, f in run):
            first_data = k
            break
    if first_data is None:
        raise TableError("no line of samples under the header (every line holds names or "
                         "text, not numbers or times)", source=source,
                         hint="check that the file holds samples, one per line")
    has_header = first_data > 0
    data_fields = max(len(f) for _, f in split[first_data : first_data + 20])
    if has_header:
        header_line, names = split[first_data - 1]
        names = [n.strip().strip('"').strip() for n in names]
        while names and not names[-1] and len(names) > data_fields:
            names.pop()  # "a;b;" : a trailing delimiter, not an unnamed column
        skip = header_line
        preamble = tuple(lines[:header_line])
    else:
        names = [str(i + 1) for i in range(data_fields)]
        skip = split[0][0]
        preamble = ()
    decimal = "."
    if delimiter in (";", "\t"):
        cells = [c.strip() for _, f in split[first_data : first_data + 50] for c in f]
        if any(_DECIMAL_COMMA.match(c) for c in cells) and not any(
                re.match(r"^[+-]?\d+\.\d+$", c) for c in cells):
            decimal = ","
    return Layout(delimiter=delimiter, decimal=decimal, skip=skip, names=tuple(names),
                  has_header=has_header, preamble=preamble)


def looks_like_table(head: bytes) -> bool:
    """Whether a file's first bytes look like a table of samples dosewatch can read: a
    header naming a time column and heart rate, RR or x, y, z (for sniffing files whose
    name does not say: a ``.txt`` of notes or markers is no input)."""
    if not head or b"\x00" in head[:4096]:
        return False
    try:
        layout = sniff_layout(head, "<head>")
        roles = assign_roles(layout.names, {}, "<head>")
    except TableError:
        return False
    return layout.has_header and "time" in roles.index and (
        "hr" in roles.index or "rr" in roles.index or roles.has("x", "y", "z"))


# --------------------------------------------------------------------------- reading


def _arrow_error(source: Path | str, exc: BaseException) -> TableError:
    text = str(exc).strip().splitlines()
    first = text[0][:200] if text else type(exc).__name__
    if "truncated compressed stream" in first.lower():
        return TableError(TRUNCATED_GZIP, source=source, hint=TRUNCATED_GZIP_HINT)
    return TableError(f"cannot read the table ({first})", source=source,
                      hint="check that it is a delimited text table with one sample per line")


def read_columns(
    path: Path,
    layout: Layout,
    columns: Mapping[str, int],
    *,
    stream: pa.NativeFile | None = None,
    compression: str | None = None,
) -> dict[str, pa.Array]:
    """The wanted columns (role -> column index) of a text table, as text arrays (null
    for empty cells). Rows with fewer fields than the header get nulls in the missing
    fields (see the module text).

    Raises:
        TableError: the file cannot be read as a table.
    """
    if not columns:
        return {}
    n = len(layout.names)
    generated = [f"c{i}" for i in range(n)]
    wanted = {role: generated[i] for role, i in columns.items()}
    skip = layout.skip + (1 if layout.has_header else 0)
    options = {
        "read_options": pacsv.ReadOptions(skip_rows=skip, column_names=generated,
                                          block_size=4 << 20),
        "parse_options": pacsv.ParseOptions(delimiter=layout.delimiter),
        "convert_options": pacsv.ConvertOptions(
            include_columns=sorted(set(wanted.values())),
            column_types={c: pa.string() for c in set(wanted.values())},
            strings_can_be_null=True, check_utf8=False,
            null_values=["", "NA", "NaN", "nan", "null", "NULL", "None", "N/A", "#N/A", "-"]),
    }
    try:
        if stream is not None:
            table = pacsv.read_csv(stream, **options)
        else:
            with pa.input_stream(str(path), compression=compression) as source:
                table = pacsv.read_csv(source, **options)
    except pa.ArrowInvalid as exc:
        if "Expected" in str(exc) and "columns" in str(exc) and stream is None:
            return _read_ragged(path, layout, wanted, skip, compression)
        raise _arrow_error(path, exc) from None
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise _arrow_error(path, exc) from None
    return {role: _as_text(table.column(name), role, path)
            for role, name in wanted.items()}


def _as_text(column: pa.ChunkedArray, role: str, source: Path | str) -> pa.Array:
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    array = array.cast(pa.string()) if not pa.types.is_string(array.type) else array
    _check_utf8(array, role, source)
    return array


def _check_utf8(array: pa.Array, role: str, source: Path | str) -> None:
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        raise TableError(f"the {role} column holds bytes that are not UTF-8 text",
                         source=source, hint="save the file as UTF-8 text (CSV UTF-8)"
                         ) from None


def _read_ragged(path: Path, layout: Layout, wanted: Mapping[str, str], skip: int,
                 compression: str | None) -> dict[str, pa.Array]:
    """Rows of differing length: split every line in Arrow and take each field where the
    row has it (null where it has not)."""
    try:
        # Block by block: read(n) allocates n bytes at once, 1 GiB for a file of 24 bytes
        # (issue 14: an input's memory follows its data, not a limit).
        blocks, size = [], 0
        with pa.input_stream(str(path), compression=compression) as s:
            while size <= MAX_RAGGED_BYTES:
                block = s.read(16 << 20)
                if not block:
                    break
                blocks.append(block)
                size += len(block)
        data = b"".join(blocks)
    except (OSError, pa.ArrowException) as exc:
        raise _arrow_error(path, exc) from None
    if len(data) > MAX_RAGGED_BYTES:
        raise TableError("rows of different lengths in a file larger than 1 GiB",
                         source=path, hint="give every row the same number of fields")
    if not data:
        return {role: pa.array([], pa.string()) for role in wanted}
    try:
        decoded = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TableError("the file holds bytes that are not UTF-8 text", source=path,
                         hint="save the file as UTF-8 text (CSV UTF-8)") from None
    text = pa.array([decoded], pa.large_string())
    lines = pc.split_pattern_regex(text, pattern=r"\r\n|\n|\r")[0].values
    lines = lines.slice(min(skip, len(lines)))
    keep = pc.not_equal(pc.utf8_trim_whitespace(lines), "")
    lines = lines.filter(keep)
    parts = pc.split_pattern(lines, pattern=layout.delimiter)
    offsets = to_numbers(parts.offsets)
    values = parts.values
    lengths = np.diff(offsets)
    out: dict[str, pa.Array] = {}
    for role, name in wanted.items():
        i = int(name[1:])
        present = lengths > i
        take = np.where(present, offsets[:-1] + i, 0)
        cells = values.take(pa.array(take)) if len(values) else pa.array(
            [""] * len(take), pa.large_string())
        cells = pc.if_else(pa.array(present), cells, pa.scalar(None, cells.type))
        cells = pc.utf8_trim(cells, characters=' "')
        empty = pc.or_(pc.equal(cells, ""), pc.is_in(
            pc.utf8_lower(cells), value_set=pa.array(sorted(_MISSING), pa.large_string())))
        cells = pc.if_else(empty, pa.scalar(None, cells.type), cells).cast(pa.string())
        _check_utf8(cells, role, path)
        out[role] = cells
    return out


# --------------------------------------------------------------------------- values


def first_bad(values: pa.Array, parses: Callable[[pa.Array], bool]) -> int | None:
    """Index of the first non-null cell ``parses`` refuses, by bisection."""
    if parses(values):
        return None
    lo, hi = 0, len(values)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if parses(values.slice(lo, mid - lo)):
            lo = mid
        else:
            hi = mid
    return lo


def first_uncastable(values: pa.Array, target: pa.DataType) -> int | None:
    """Index of the first non-null cell that does not cast to ``target``, by bisection."""

    def parses(part: pa.Array) -> bool:
        try:
            pc.cast(part, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    return first_bad(values, parses)


def _shown(values: pa.Array, index: int) -> str:
    text = values[index].as_py() or ""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def numbers(values: pa.Array, what: str, source: Path | str, *, decimal: str = ".",
            first_row: int = 1, notes: list[str] | None = None) -> NDArray[np.float64]:
    """Text cells as float64 (null -> NaN). A column of quoted decimal commas (``"80,5"``
    in a comma-separated file) is read as such, with a note appended to ``notes`` (as the
    table's dialect says so for unquoted ones).

    Raises:
        TableError: a cell that is not a number, named with its row and value.
    """
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return to_numbers(pc.cast(values, pa.float64())).astype(np.float64, copy=False)
    text = pc.utf8_trim_whitespace(values)
    if decimal == ",":
        text = pc.replace_substring(text, ",", ".")
    bad = first_uncastable(text, pa.float64())
    if bad is not None and decimal == "." and _DECIMAL_COMMA.match(text[bad].as_py() or ""):
        # A quoted "80,5" in a comma-separated file: this column writes decimal commas,
        # when none of its cells writes a decimal point, and not every comma is followed
        # by three digits (1,234 may be a thousands separator).
        with_comma = pc.match_substring(text, ",")
        thousands = pc.match_substring_regex(text, r"^[+-]?\d{1,3}(,\d{3})+$")
        if not pc.any(pc.match_substring(text, ".")).as_py() and not pc.all(
                pc.or_(pc.invert(with_comma), thousands)).as_py():
            if notes is not None:
                example = (text[bad].as_py() or "").replace(",", ".")
                notes.append(f"column '{what}': decimal commas read ({_shown(values, bad)} "
                             f"as {example})")
            return numbers(values, what, source, decimal=",", first_row=first_row)
    if bad is not None:
        raise TableError(
            f"column '{what}' has a value that is not a number: {_shown(values, bad)} at "
            f"data row {first_row + bad}", source=source,
            hint="correct the value, or leave the cell empty to mark a gap")
    return to_numbers(pc.cast(text, pa.float64()))


@dataclass(frozen=True)
class Times:
    """A time column in seconds.

    Attributes:
        t: float64 seconds: Unix epoch when ``absolute``, else from the table's own zero.
        absolute: whether the times are dates.
        notes: repairs and decisions (times without a zone, the unit guessed).
    """

    t: NDArray[np.float64]
    absolute: bool
    notes: tuple[str, ...] = ()


_ZONE = r"(?:[Zz]|[+-]\d\d:?\d\d)$"
_CLOCK = re.compile(r"^\d+:\d{2}(:\d{2})?(\.\d+)?$")


def to_seconds(values: pa.Array, source: Path | str, *, unit: str | None = None,
               name: str = "time", first_row: int = 1, decimal: str = ".") -> Times:
    """A time column in seconds, whatever the file wrote (see the module text).

    Args:
        values: the column's cells (text, or numbers).
        unit: the unit the header or ``time_unit`` gives (``s``, ``ms``, ``us``, ``ns``,
            ``min``, ``h``), or None to tell from the values.
        name: the column's name, for messages.
        decimal: the table's decimal mark (``,`` in a semicolon-separated table that
            writes ``0,25``).

    Raises:
        TableError: a cell is no time, or numbers whose unit cannot be told.
    """
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        text = pc.utf8_trim_whitespace(values)
        sample = [v for v in text.drop_null().slice(0, 50).to_pylist() if v]
        if not sample:
            return Times(np.full(len(values), np.nan), False)
        first = sample[0]  # the first time says how they are all written
        if _NUMBER.match(first) and ("," not in first or decimal == ","
                                     or _DECIMAL_COMMA.match(first)):
            notes: list[str] = []
            times = _numeric_times(numbers(text, name, source, first_row=first_row,
                                           decimal=decimal, notes=notes), source, unit, name)
            return replace(times, notes=(*notes, *times.notes))
        if _CLOCK.match(first):
            return _clock_times(text, source, name, first_row)
        if _DOTTED_DATE.match(first) or _SLASHED_DATE.match(first):
            text, order = _day_first(text, sample, source, name)
            times = _iso_times(text, source, name, first_row)
            return replace(times, notes=(f"{name}: dates read as {order}", *times.notes))
        return _iso_times(text, source, name, first_row)
    return _numeric_times(numbers(values, name, source), source, unit, name)


def _numeric_times(raw: NDArray[np.float64], source: Path | str, unit: str | None,
                   name: str) -> Times:
    finite = raw[np.isfinite(raw)]
    if finite.size == 0:
        return Times(raw, False)
    if unit is not None:
        factor = UNITS[unit][1] if unit in UNITS else 1.0
        # Spreadsheet serial days count from 1899-12-30: day 25569 is 1970-01-01.
        t = (raw - _EXCEL_UNIX_DAY if unit == "excel" else raw) * factor
        if unit == "excel":  # days with 8 decimals: 1 ms at best, not the float's noise
            t = np.round(t, 3)
        scaled = t[np.isfinite(t)]
        absolute = bool(np.median(scaled) > _EPOCH_MIN_S)
        if absolute and np.abs(scaled).max() > _MAX_TIME_S:
            raise TableError(f"column '{name}' holds {np.abs(scaled).max():.6g} s, beyond "
                             "the year 9999", source=source,
                             hint="check the time unit (time_unit=s, ms, us, ns, min, h or excel)")
        return Times(t, absolute)
    magnitude = float(np.median(np.abs(finite)))
    for limit, factor, what in ((1e17, 1e-9, "nanoseconds"), (1e14, 1e-6, "microseconds"),
                                (1e11, 1e-3, "milliseconds")):
        if magnitude > limit:
            t = raw * factor
            if np.abs(t[np.isfinite(t)]).max() > _MAX_TIME_S:
                break
            return Times(t, True, (f"{name}: read as {what} since 1970 (by their size)",))
    if magnitude > _MAX_TIME_S:
        raise TableError(f"column '{name}' holds {magnitude:.6g}, which is no time",
                         source=source, hint="times must be seconds, ms, µs or ns since "
                         "1970, ISO-8601 dates, or seconds from the start; give the unit "
                         "with --columns time_unit=...")
    if magnitude > _EPOCH_MIN_S:
        return Times(raw, True)
    span = float(finite.max() - finite.min())
    steps = np.diff(np.sort(finite))
    steps = steps[steps > 0]
    step = float(np.median(steps)) if steps.size else 0.0
    if span > 7 * 86_400 or step >= 200:
        would = (f"span {span / 86_400:.0f} days" if span > 7 * 86_400
                 else f"step {step:g} s between samples")
        raise TableError(
            f"column '{name}' counts from the start, but as seconds it would {would}",
            source=source, hint="the times may be milliseconds: say so with --columns "
            "time_unit=ms (or s, if the samples really are that far apart)")
    return Times(raw, False)


_DOTTED_DATE = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}[ T]\d")
_SLASHED_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}[ T]\d")


def _day_first(text: pa.Array, sample: Sequence[str], source: Path | str,
               name: str) -> tuple[pa.Array, str]:
    """Dates written ``dd.mm.yyyy`` (day first, as every locale that writes dots does) or
    ``dd/mm/yyyy`` / ``mm/dd/yyyy`` rewritten as ISO-8601 ``yyyy-mm-dd``. Slashed dates
    are read day first when a first field above 12 says so, month first when a second
    field above 12 does, and refused when nothing tells them apart. Returns the text and
    the order read (``day.month.year``...).

    Raises:
        TableError: slashed dates whose order cannot be told.
    """
    slashed = "/" in sample[0].split(" ")[0]
    day_first = True
    if slashed:
        parts = pc.extract_regex(text, r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/")
        firsts = pc.max(pc.cast(pc.struct_field(parts, [0]), pa.int64())).as_py() or 0
        seconds = pc.max(pc.cast(pc.struct_field(parts, [1]), pa.int64())).as_py() or 0
        day_first, month_first = firsts > 12, seconds > 12
        if day_first == month_first:
            raise TableError(
                f"column '{name}' writes dates as {sample[0].split(' ')[0]!r}: day/month or "
                "month/day cannot be told from these dates", source=source,
                hint="write the times as ISO-8601 (2026-03-01 10:00:00), or as seconds")
    if pc.any(pc.match_substring_regex(text, r"(?i)\d\s*[ap]\.?m\.?\s*$")).as_py():
        raise TableError(
            f"column '{name}' writes times on a 12-hour clock ({sample[0]!r}): AM and PM "
            "are not read", source=source,
            hint="write the times on a 24-hour clock or as ISO-8601 (2026-03-01 "
            "14:00:00), or as seconds")
    sep = "/" if slashed else r"\."
    text = pc.replace_substring_regex(text, rf"^(\d)({sep})", r"0\1\2")
    # RE2 rewrites take one digit after the backslash: \10 is group 1, then a 0.
    text = pc.replace_substring_regex(text, rf"^(\d\d{sep})(\d)({sep})", r"\10\2\3")
    rewrite = r"\3-\2-\1" if day_first else r"\3-\1-\2"
    text = pc.replace_substring_regex(text, rf"^(\d\d){sep}(\d\d){sep}(\d{{4}})", rewrite)
    # A one-digit hour (Excel's short format writes 1.3.2026 9:05:00) gets its zero.
    text = pc.replace_substring_regex(text, r"^(\d{4}-\d\d-\d\d[ T])(\d):", r"\10\2:")
    mark = "/" if slashed else "."
    order = mark.join(("day", "month", "year") if day_first else ("month", "day", "year"))
    return text, order


def _clock_times(text: pa.Array, source: Path | str, name: str, first_row: int) -> Times:
    """Elapsed ``[H]H:MM[:SS[.f]]`` as seconds from the start."""
    ok = pc.match_substring_regex(text, _CLOCK.pattern)
    bad = np.flatnonzero(~to_flags(pc.fill_null(pc.or_(ok, pc.is_null(text)), True)))
    if bad.size:
        raise TableError(f"column '{name}' has a value that is not a time: "
                         f"{_shown(text, int(bad[0]))} at data row {first_row + int(bad[0])}",
                         source=source, hint="times must all be written the same way")
    parts = pc.split_pattern(text, ":")
    counts = to_numbers(pc.fill_null(pc.list_value_length(parts), 0))
    offsets = to_numbers(parts.offsets)
    values = to_numbers(pc.cast(parts.values, pa.float64()))
    out = np.full(len(text), np.nan)
    has = counts > 0
    start = offsets[:-1]
    three = has & (counts == 3)
    two = has & (counts == 2)
    out[three] = (values[start[three]] * 3600 + values[start[three] + 1] * 60
                  + values[start[three] + 2])
    out[two] = values[start[two]] * 60 + values[start[two] + 1]
    return Times(out, False, (f"{name}: elapsed time (HH:MM:SS) from the start",))


def _iso_times(text: pa.Array, source: Path | str, name: str, first_row: int) -> Times:
    """ISO-8601 text as Unix seconds; times without a zone are taken as UTC."""
    text = pc.replace_substring_regex(text, r"\s*(UTC|GMT)$", "Z")
    text = pc.replace_substring_regex(text, r"\s+([+-]\d\d:?\d\d)$", r"\1")
    text = pc.replace_substring_regex(text, r"([+-]\d\d)$", r"\1:00")
    text = pc.replace_substring_regex(text, r"\.(\d{9})\d+", r".\1")  # below a ns
    zoned = to_flags(pc.match_substring_regex(text, _ZONE))
    out = np.full(len(text), np.nan)
    notes: list[str] = []
    for mask, target in ((zoned, pa.timestamp("ns", "UTC")), (~zoned, pa.timestamp("ns"))):
        if not mask.any():
            continue
        part = text.filter(pa.array(mask))
        bad = first_uncastable(part, target)
        if bad is not None:
            row = int(np.flatnonzero(mask)[bad])
            raise TableError(
                f"column '{name}' has a value that is not a time: {_shown(part, bad)} at "
                f"data row {first_row + row}", source=source,
                hint="times must be ISO-8601 (2024-05-01T10:00:00Z), or numbers of seconds "
                "or milliseconds")
        stamps = pc.cast(part, target).cast(pa.int64())
        out[mask] = to_numbers(stamps).astype(np.float64) * 1e-9
    n_naive = int((~zoned & to_flags(pc.is_valid(text))).sum())
    if n_naive:
        notes.append(f"{name}: {n_naive} times had no time zone: taken as UTC")
    return Times(out, True, tuple(notes))
