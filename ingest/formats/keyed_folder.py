"""Folders of a watch logger that writes a long table: ``data.csv`` with one
``time;KEY;value`` row per reading (``2019-10-16T12:09:01.702+02:00;HEART_RATE;72.0``), and
optionally ``acc.csv`` with ``time;x;y;z`` rows without a header (milli-g). This is what the
Garmin Connect IQ data logger used by ETH Zurich's FLIRT toolkit writes (real excerpt:
``im-ethz__flirt/garmin`` in the shared data).

The rows whose key names a channel (``HEART_RATE`` -> heart rate; speed, cadence, power
and distance keys alike) become that channel; other keys (stress, steps, calories, HRV)
are counted and left. ``acc.csv`` is read as a table (delimiter, ISO times, no header:
time, x, y, z by position); its unit is told by the unit check (milli-g here).

The folder would otherwise be taken for an interchange session folder (it holds
``acc.csv``) and its heart rate left unread; this reader's higher priority and content
test (``data.csv`` must be such a long table with a heart-rate key) claim it first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InputError
from ...session import Session
from ..activity import errors_of, to_session
from ..registry import Reader, ReadOptions, file_head
from ..tables import (
    HEAD_BYTES,
    Layout,
    TableError,
    numbers,
    read_columns,
    sniff_layout,
    to_seconds,
)
from .table import long_table

__all__ = ["READER", "is_keyed_folder"]


def _files(folder: Path) -> dict[str, Path]:
    try:
        return {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    except OSError:
        return {}


def _keyed_layout(path: Path) -> Layout | None:
    """The layout of a headerless three-column table, else None."""
    try:
        layout = sniff_layout(file_head(path, HEAD_BYTES), path)
    except TableError:
        return None
    return None if layout.has_header or len(layout.names) != 3 else layout


def _long(path: Path):
    layout = _keyed_layout(path)
    return None if layout is None else long_table(path, layout, None)


def is_keyed_folder(path: Path) -> bool:
    """A folder whose ``data.csv`` is a long table of time, key and value with heart rate
    (only its first 64 KiB are read for the test)."""
    if not path.is_dir():
        return False
    data = _files(path).get("data.csv")
    layout = None if data is None else _keyed_layout(data)
    if layout is None:
        return False
    head = file_head(data, HEAD_BYTES).decode("utf-8", errors="replace")
    return "HEART_RATE" + layout.delimiter in head.upper()


_USED = ("data.csv", "acc.csv")


def logger_files(folder: Path) -> list[Path]:
    """The logger's files in ``folder`` (``data.csv``, ``acc.csv``): anything else there
    (a FIT file, ``profile.toml``, a subfolder) is not the logger's, and discovery walks
    it as inputs of their own."""
    files = _files(folder)
    return [files[n] for n in _USED if n in files]


def _acc(path: Path, notes: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    layout = sniff_layout(file_head(path, HEAD_BYTES), path)
    if layout.has_header or len(layout.names) < 4:
        notes.append(f"{path.name}: not time, x, y, z rows without a header: not read")
        return None
    cells = read_columns(path, layout, {"time": 0, "x": 1, "y": 2, "z": 3})
    times = to_seconds(cells["time"], path, name="column 1")
    xyz = np.column_stack([numbers(cells[a], a, path, decimal=layout.decimal) for a in "xyz"])
    notes.append(f"{path.name}: time, x, y, z by position ({xyz.shape[0]} rows)")
    ok = np.isfinite(times.t) & np.isfinite(xyz).all(axis=1)
    return times.t[ok], xyz[ok].astype(np.float32)


def _read(path: Path, options: ReadOptions) -> list[Session]:
    with errors_of(Path(path)):
        return _read_folder(Path(path), options)


def _read_folder(folder: Path, options: ReadOptions) -> list[Session]:
    files = _files(folder)
    data = _long(files["data.csv"]) if "data.csv" in files else None
    if data is None:
        raise InputError("data.csv is not a table of time, key and value rows with heart "
                         "rate", source=folder, hint="pass the logger's folder as it wrote it")
    if "acc.csv" in files:
        data.acc = _acc(files["acc.csv"], data.repairs)
    data.source = folder
    data.format = "keyed-folder"
    name = options.name or folder.resolve().name or "session"
    return [to_session(data, profile=options.profile, name=name, what_rows="row")]


READER = Reader(
    name="keyed-folder",
    title="logger folder of time;KEY;value rows (data.csv) and acc.csv",
    read=_read,
    claims_folder=is_keyed_folder,
    folder_files=logger_files,
    hint="the folder needs data.csv with time;HEART_RATE;value rows",
    priority=5,
)
