"""Any table of samples (``.csv``, ``.tsv``, ``.txt``, optionally gzipped), read without
asking anyone to rewrite it.

The layout (delimiter, decimal comma, header line, column names and units, time format)
is sniffed by :mod:`dosewatch.ingest.tables`; ``--columns`` (``ReadOptions.columns``)
names what the headers do not say. A table needs a time column and heart rate or
acceleration (``x``, ``y``, ``z``); speed, cadence, power, distance and RR intervals are
read when present. Rows become an :class:`~dosewatch.ingest.activity.ActivityData`, so a
table gets the rules every activity file gets (times far from the rest dropped, speed
from distance where the file has no speed, a speed field in km/h found against the
distance, no usable heart rate refused): kinomap's exports (``Date, ..., Distance, Speed,
Heart rate, Power, Cadence``, speed in km/h, 0 bpm for no reading) are such tables.

Two layouts that are not one-row-per-sample tables are recognised and read too:

- **long tables** of ``time;KEY;value`` rows (a Garmin Connect IQ logger's
  ``data.csv``): the rows whose key names a channel (``HEART_RATE``) are that channel;
- tables whose first line is ``Type,Local Number,Message,...`` are FitCSVTool dumps of a
  FIT file: :mod:`dosewatch.ingest.formats.fitcsv` claims them (its sniff wins the
  ``.csv`` ending).

A file of another format that happens to be a table (an Empatica E4 ``ACC.csv`` given
on its own) is refused with a hint to pass its folder.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import InputError, NotARecording
from ...session import Session
from ..activity import ActivityData, to_session
from ..arrow import to_flags
from ..registry import Reader, ReadOptions, file_head
from ..tables import (
    HEAD_BYTES,
    TRUNCATED_GZIP,
    TRUNCATED_GZIP_HINT,
    Layout,
    Roles,
    TableError,
    assign_roles,
    looks_like_table,
    numbers,
    parse_name,
    read_columns,
    sniff_layout,
    to_seconds,
)

__all__ = ["READER", "long_table", "read_table", "table_activity"]

SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
_ACC = ("x", "y", "z")
_VALUE_ROLES = ("hr", "rr", "speed", "cadence", "power", "distance")
_MAX_KEYS = 500


def _columns_hint(layout: Layout) -> str:
    shown = ", ".join(f"{i + 1}={n}" if not layout.has_header else n
                      for i, n in enumerate(layout.names[:12]))
    more = ", …" if len(layout.names) > 12 else ""
    return f"(columns: {shown}{more})"


def _check_gzip(path: Path) -> str | None:
    """The compression to read with; refuses a mis-named file."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=path,
                         hint="check that it exists and is readable") from None
    gz = path.name.lower().endswith(".gz")
    if not magic:
        raise InputError("the file is empty (0 bytes)", source=path,
                         hint="remove it, or export the recording again")
    if gz and magic != b"\x1f\x8b":
        raise InputError("the file is named .gz but is not gzip-compressed", source=path,
                         hint=f"rename it to {path.name[:-3]}")
    if not gz and magic == b"\x1f\x8b":
        raise InputError(f"the file is gzip-compressed but named {path.suffix}", source=path,
                         hint=f"rename it to {path.name}.gz")
    return "gzip" if gz else None


def truncated_gzip(path: Path) -> InputError:
    """The refusal of a gzip-compressed table whose stream is cut short."""
    return InputError(TRUNCATED_GZIP, source=path, hint=TRUNCATED_GZIP_HINT)


def _gzip_head(path: Path, size: int) -> bytes:
    """The first ``size`` decompressed bytes of a gzip file.

    Raises:
        InputError: the stream ends before ``size`` bytes and before its end marker (the
            file is truncated), or is not valid gzip.
    """
    inflate = zlib.decompressobj(wbits=31)
    out = bytearray()
    try:
        with path.open("rb") as fh:
            while len(out) < size and not inflate.eof:
                chunk = fh.read(64 << 10)
                if not chunk:
                    raise truncated_gzip(path)
                out += inflate.decompress(chunk, size - len(out))
                while len(out) < size and inflate.unconsumed_tail and not inflate.eof:
                    out += inflate.decompress(inflate.unconsumed_tail, size - len(out))
    except zlib.error as exc:
        raise InputError(f"the gzip data is damaged ({exc})", source=path,
                         hint="copy or export the file again") from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=path,
                         hint="check that it exists and is readable") from None
    return bytes(out[:size])


def _other_format(path: Path, head: bytes) -> InputError | None:
    """A refusal for a table that belongs to another format read as a whole."""
    from ..activity import sniff, wrong_content
    from .empatica import is_e4_file

    found = sniff(head)
    if found in ("fit", "zip", "sqlite", "tcx", "gpx"):  # a file of another kind, misnamed
        return wrong_content(path, "table (CSV)", found)
    if is_e4_file(head):
        return InputError(
            "it is one file of an Empatica E4 session (start time and rate in its first "
            "two rows)", source=path, hint="pass the folder that holds ACC.csv, HR.csv and "
            "IBI.csv: dosewatch reads the E4 session as a whole")
    return None


def table_activity(path: Path, options: ReadOptions, *, fmt: str = "csv",
                   head: bytes | None = None) -> ActivityData:
    """A table of samples as an :class:`ActivityData` (see the module text).

    Raises:
        InputError: the table cannot be read, or holds no time, heart rate or
            acceleration column (the hint names the columns found and ``--columns``).
    """
    compression = _check_gzip(path)
    if head is None:
        head = _gzip_head(path, HEAD_BYTES) if compression else file_head(path, HEAD_BYTES)
    other = _other_format(path, head)
    if other is not None:
        raise other
    layout = sniff_layout(head, path)
    if not layout.has_header and len(layout.names) == 3 and not options.columns:
        long = long_table(path, layout, compression)
        if long is not None:
            return long
    roles = assign_roles(layout.names, options.columns, path)
    _require(roles, layout, path)
    wanted = {role: roles.index[role] for role in ("time", *_VALUE_ROLES, *_ACC)
              if role in roles.index}
    cells = read_columns(path, layout, wanted, compression=compression)
    times = to_seconds(cells["time"], path, unit=roles.unit.get("time"),
                       name=layout.names[roles.index["time"]], decimal=layout.decimal)
    repairs = list(times.notes)
    values = {role: _values(cells[role], role, roles, layout, path, repairs)
              for role in _VALUE_ROLES if role in cells}
    acc = None
    if all(axis in cells for axis in _ACC):
        xyz = np.column_stack([_values(cells[a], a, roles, layout, path, repairs)
                               for a in _ACC])
        ok = np.isfinite(times.t) & np.isfinite(xyz).all(axis=1)
        acc = (times.t[ok], xyz[ok].astype(np.float32))
        if acc[0].size >= 10:
            steps = np.diff(np.sort(acc[0][: 20_000]))
            step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 0.0
            if step > 1.0:
                raise InputError(
                    f"acceleration is sampled every {step:g} s by its time column; "
                    "accelerometers sample 10 to 200 times a second", source=path,
                    hint="check the time unit: give it with --columns time_unit=ms (or "
                    "s, us, ns)")
    if "rr" in values:
        rr = values["rr"]
        if "hr" not in values:
            with np.errstate(divide="ignore", invalid="ignore"):
                values["hr"] = np.where(rr > 0, 60_000.0 / rr, np.nan)
            repairs.append("hr: from the RR intervals (60000 / RR)")
    checks = []
    if "speed" in values and "speed" not in roles.unit and "distance" not in values:
        from ..units import table_speed_unit

        finite = np.sort(times.t[np.isfinite(times.t)][:20_000])
        steps = np.diff(finite)
        step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1.0
        factor, note, check = table_speed_unit(values["speed"], values.get("cadence"), step,
                                               values.get("hr"))
        values["speed"] = values["speed"] * factor
        repairs.append(note)
        checks = [check] if check is not None else []
    described = ", ".join(f"{role}={layout.names[i]}" for role, i in roles.index.items())
    repairs.insert(0, f"read as a table ({_dialect(layout)}): {described}")
    return ActivityData(
        source=path,
        format=fmt,
        t=times.t,
        segment=np.zeros(times.t.size, np.int64),
        hr=values.get("hr"),
        speed=values.get("speed"),
        cadence=values.get("cadence"),
        power=values.get("power"),
        distance=values.get("distance"),
        rr_ms=values.get("rr"),
        acc=acc,
        speed_field=layout.names[roles.index["speed"]] if "speed" in values else None,
        repairs=repairs,
        checks=checks,
    )


def _dialect(layout: Layout) -> str:
    name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[layout.delimiter]
    parts = [f"{name}-separated"]
    if layout.decimal == ",":
        parts.append("decimal commas")
    if not layout.has_header:
        parts.append("no header")
    elif layout.skip:
        parts.append(f"{layout.skip} lines above the header skipped")
    return ", ".join(parts)


def _values(cells: pa.Array, role: str, roles: Roles, layout: Layout, path: Path,
            notes: list[str]) -> np.ndarray:
    name = layout.names[roles.index[role]]
    out = numbers(cells, name, path, decimal=layout.decimal, notes=notes)
    factor = roles.factor.get(role)
    if factor is not None and factor != 1.0:
        out = out * factor
    return out


def _require(roles: Roles, layout: Layout, path: Path) -> None:
    found = _columns_hint(layout)
    if not layout.has_header and "time" not in roles.index:
        raise TableError(
            f"the table has no header row naming its columns {found}", source=path,
            hint="name the columns with --columns, by number: e.g. --columns "
            "time=1,hr=2 (or time=1,x=2,y=3,z=4), or add a header line (time,hr)")
    if not roles.index and not roles.explicit:
        raise NotARecording(
            f"not a recording: no column names a time, heart rate, acceleration, speed or "
            f"the like {found}", source=path,
            hint="if it is one, name its columns with --columns time=COLUMN,hr=COLUMN "
            "(or x=,y=,z=, speed=...)")
    if "time" not in roles.index:
        raise TableError(
            f"no time column recognised {found}", source=path,
            hint="name it with --columns time=COLUMN (times may be ISO-8601, numbers "
            "since 1970 or from the start, or HH:MM:SS; give a unit the header leaves out "
            "with time_unit=s, ms, us, ns, min, h or excel: e.g. --columns "
            "time=Minutes,time_unit=min)")
    axes = [a for a in _ACC if a in roles.index]
    if 0 < len(axes) < 3:
        missing = ", ".join(a for a in _ACC if a not in roles.index)
        raise TableError(f"acceleration needs x, y and z; {missing} not recognised {found}",
                         source=path, hint="name the axes with --columns x=...,y=...,z=...")
    if "hr" not in roles.index and "rr" not in roles.index and not axes:
        raise TableError(
            f"no heart-rate or acceleration column recognised {found}", source=path,
            hint="name them with --columns hr=COLUMN (bpm), or x=...,y=...,z=... (with "
            "acc_unit=g, mg or m/s2 when the header does not say)")


def long_table(path: Path, layout: Layout, compression: str | None) -> ActivityData | None:
    """``time;KEY;value`` rows pivoted into channels, or None when the table is not so."""
    cells = read_columns(path, layout, {"time": 0, "key": 1, "value": 2},
                         compression=compression)
    keys = cells["key"]
    sample = [k for k in keys.slice(0, 200).to_pylist() if k]
    if not sample or any(k.replace(".", "", 1).lstrip("-").isdigit() for k in sample):
        return None
    distinct = pc.unique(keys.drop_null())
    if len(distinct) > _MAX_KEYS:
        return None
    roles = {}
    for key in distinct.to_pylist():
        role, _, _ = parse_name(key)
        if role in ("hr", "speed", "cadence", "power", "distance") and role not in roles:
            roles[role] = key
    if "hr" not in roles:
        return None
    times = to_seconds(cells["time"], path, name="column 1")
    notes: list[str] = []
    values = numbers(cells["value"], "column 3", path, decimal=layout.decimal, notes=notes)
    channel = {}
    for role, key in roles.items():
        mask = to_flags(pc.equal(keys, key))
        channel[role] = np.where(mask, values, np.nan)
    hr = channel["hr"]
    rows = np.isfinite(hr)
    for other in channel.values():
        rows |= np.isfinite(other)
    kept = ", ".join(f"{role}={key}" for role, key in roles.items())
    return ActivityData(
        source=path, format="csv", t=times.t[rows],
        segment=np.zeros(int(rows.sum()), np.int64),
        **{role: channel[role][rows] for role in roles},
        repairs=[*times.notes, *notes,
                 (f"read as a long table of time, key and value rows: {kept}; "
                  f"other keys ignored ({len(distinct) - len(roles)})")],
    )


def read_table(path: Path, options: ReadOptions) -> list[Session]:
    """Read a table of samples into one Session (see the module text)."""
    data = table_activity(path, options)
    return [to_session(data, profile=options.profile, name=options.name, what_rows="row")]


def _explain(path: Path) -> str | None:
    if path.name.lower().endswith((".rda", ".rdata", ".rds")):
        return ("an R data file: export the data frame from R as CSV (write.csv(x, "
                "'session.csv')) with columns time and hr, and pass the CSV")
    return None


READER = Reader(
    name="csv",
    title="table of samples (CSV, TSV or text; delimiter, header and units sniffed)",
    read=read_table,
    suffixes=SUFFIXES,
    sniff=looks_like_table,
    explain=_explain,
    hint="a table needs a time column and heart rate or acceleration columns; name them "
    "with --columns time=...,hr=...",
    priority=-20,  # the most generic file format: specific ones are sniffed first
)
