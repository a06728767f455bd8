"""Empatica E4 session folders (as downloaded from E4 Connect and unzipped).

Each signal is its own CSV file without a header (Empatica's ``info.txt``): the first
row is the session's start as Unix seconds (UTC), once per column; the second row is the
sample rate in Hz; the samples follow, one row each, sample ``i`` at ``start + i / rate``.

- ``ACC.csv``: x, y, z at 32 Hz in 1/64 g (the sensor's ±2 g range): divided by 64;
- ``HR.csv``: the E4's heart rate at 1 Hz (averaged from the pulse wave; its first value
  comes about 10 s after the start, and its own first row says so);
- ``IBI.csv``: first row the start and ``IBI``, then per beat the time since the start
  and the interval, both in seconds: the RR intervals (each heart-rate sample gets the
  last beat that ended since the one before, as a strap reports them);
- ``BVP``, ``EDA``, ``TEMP``, ``tags.csv`` and ``info.txt`` are not read (noted).

The folder is claimed by content, not names alone (the interchange session folder also
claims a folder holding ``acc.csv`` or ``hr.csv``, case-insensitively; this reader's higher
priority and content test win it): ``ACC.csv`` or ``HR.csv`` must open with the start row
and the rate row.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ...errors import InputError
from ...session import Session
from ..activity import ActivityData, errors_of, rr_per_sample, to_session
from ..arrow import to_numbers
from ..registry import Reader, ReadOptions

__all__ = ["READER", "is_e4_file", "is_e4_folder", "read_e4_folder"]

ACC_SCALE_G = 1 / 64
_HEAD = 256
_NUM = r"\s*[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\s*"
_START = re.compile(rf"^(?P<first>{_NUM})(?:,(?P<rest>{_NUM}))*$")
_IGNORED = ("BVP.csv", "EDA.csv", "TEMP.csv", "tags.csv", "info.txt")
_MAX_BYTES = 2 << 30


def is_e4_file(head: bytes) -> bool:
    """Whether a file's first bytes are an E4 signal file: a row of equal start times
    (Unix seconds) and a row of equal positive rates."""
    try:
        text = head[:_HEAD].decode("ascii")
    except UnicodeDecodeError:
        return False
    lines = text.splitlines()
    if len(lines) < 3:
        return False
    first, second = lines[0].split(","), lines[1].split(",")
    try:
        starts = [float(v) for v in first]
        rates = [float(v) for v in second]
    except ValueError:
        return False
    if len(starts) != len(rates) or len(set(starts)) != 1 or len(set(rates)) != 1:
        return False
    return 1e8 < starts[0] < 1e11 and 0 < rates[0] <= 1000


def _files(folder: Path) -> dict[str, Path]:
    try:
        entries = [p for p in folder.iterdir() if p.is_file()]
    except OSError:
        return {}
    return {p.name.lower(): p for p in entries}


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_HEAD)
    except OSError:
        return b""


def is_e4_folder(path: Path) -> bool:
    """Whether ``path`` is an E4 session folder (see the module text)."""
    if not path.is_dir():
        return False
    files = _files(path)
    return any(name in files and is_e4_file(_head(files[name]))
               for name in ("acc.csv", "hr.csv"))


_EXPORT = frozenset(n.lower() for n in ("ACC.csv", "HR.csv", "IBI.csv", *_IGNORED))


def e4_files(folder: Path) -> list[Path]:
    """The files of an E4 export in ``folder``: those read and those E4 Connect writes
    beside them that are not (``BVP.csv``, ``info.txt``, ...). Anything else in the
    folder (a FIT file, a subfolder) is not the export's: discovery walks it."""
    return sorted(p for name, p in _files(folder).items() if name in _EXPORT)


def _signal(path: Path, columns: int) -> tuple[float, float, np.ndarray]:
    """(start, rate, samples (n, columns)) of an E4 signal file."""
    head = _head(path)
    if not is_e4_file(head):
        raise InputError("not an E4 signal file: its first two rows are not the start time "
                         "and the sample rate", source=path,
                         hint="download the session from E4 Connect again")
    lines = head.decode("ascii").splitlines()
    start = float(lines[0].split(",")[0])
    rate = float(lines[1].split(",")[0])
    if len(lines[0].split(",")) != columns:
        raise InputError(f"expected {columns} columns, found {len(lines[0].split(','))}",
                         source=path, hint="download the session from E4 Connect again")
    names = [f"c{i}" for i in range(columns)]
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise InputError("larger than 2 GiB", source=path,
                             hint="split the recording")
        table = pacsv.read_csv(
            str(path),
            read_options=pacsv.ReadOptions(skip_rows=2, column_names=names),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.float64() for n in names}),
        )
    except (pa.ArrowInvalid, OSError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "unreadable"
        raise InputError(f"the samples cannot be read ({first})", source=path,
                         hint="every row must hold numbers only; download it again") from None
    values = np.column_stack([to_numbers(table.column(n)) for n in names]).astype(np.float64)
    return start, rate, values


def _ibi(path: Path) -> tuple[float, np.ndarray] | None:
    """(start, (n, 2) of time since start and interval, both seconds), or None."""
    head = _head(path)
    first = head.split(b"\n", 1)[0].decode("ascii", errors="replace")
    parts = first.split(",")
    try:
        start = float(parts[0])
    except ValueError:
        return None
    if len(parts) != 2 or "ibi" not in parts[1].strip().lower():
        return None
    try:
        table = pacsv.read_csv(
            str(path), read_options=pacsv.ReadOptions(skip_rows=1, column_names=["t", "ibi"]),
            convert_options=pacsv.ConvertOptions(column_types={"t": pa.float64(),
                                                               "ibi": pa.float64()}))
    except (pa.ArrowInvalid, OSError, pa.ArrowException):
        return None
    return start, np.column_stack([to_numbers(table.column("t")), to_numbers(table.column("ibi"))])


def read_e4_folder(path: Path, options: ReadOptions) -> list[Session]:
    """Read an E4 session folder into one Session (see the module text).

    Raises:
        InputError: no readable ACC.csv or HR.csv, or a file that is not in E4's layout.
    """
    folder = Path(path)
    files = _files(folder)
    repairs: list[str] = []
    acc = None
    if "acc.csv" in files:
        start, rate, xyz = _signal(files["acc.csv"], 3)
        t = start + np.arange(xyz.shape[0]) / rate
        acc = (t, (xyz * ACC_SCALE_G).astype(np.float32))
        repairs.append(f"ACC.csv: {xyz.shape[0]} samples at {rate:g} Hz in 1/64 g, "
                       "divided by 64")
    hr_t = np.empty(0)
    bpm = np.empty(0)
    if "hr.csv" in files:
        start, rate, values = _signal(files["hr.csv"], 1)
        bpm = values[:, 0]
        hr_t = start + np.arange(bpm.size) / rate
    rr = None
    if "ibi.csv" in files and bpm.size:
        found = _ibi(files["ibi.csv"])
        if found is None:
            repairs.append("IBI.csv: not in E4's layout, RR intervals not read")
        else:
            start, beats = found
            ok = np.isfinite(beats).all(axis=1) & (beats[:, 1] > 0)
            rr = rr_per_sample(hr_t, np.isfinite(bpm), (start + beats[ok, 0], beats[ok, 1]))
            repairs.append(f"IBI.csv: {int(ok.sum())} beat-to-beat intervals")
    if acc is None and not bpm.size:
        raise InputError("the E4 folder holds neither ACC.csv nor HR.csv", source=folder,
                         hint="download the whole session from E4 Connect and unzip it")
    ignored = [files[n.lower()].name for n in _IGNORED if n.lower() in files]
    if ignored:
        repairs.append("not read: " + ", ".join(ignored))
    data = ActivityData(
        source=folder, format="e4", t=hr_t, segment=np.zeros(hr_t.size, np.int64),
        hr=bpm if bpm.size else None, rr_ms=rr, acc=acc, repairs=repairs,
    )
    name = options.name or folder.resolve().name or "e4"
    return [to_session(data, profile=options.profile, name=name, what_rows="sample")]


def _explain(path: Path) -> str | None:
    if path.name.lower() in {"acc.csv", "hr.csv", "ibi.csv", "bvp.csv", "eda.csv",
                             "temp.csv"} and is_e4_file(_head(path)):
        return "it is one file of an Empatica E4 session: pass the folder that holds it"
    return None


def _read(path: Path, options: ReadOptions) -> list[Session]:
    with errors_of(path):
        return read_e4_folder(path, options)


READER = Reader(
    name="e4",
    title="Empatica E4 session folder (ACC.csv, HR.csv, IBI.csv)",
    read=_read,
    claims_folder=is_e4_folder,
    folder_files=e4_files,
    explain=_explain,
    hint="an E4 folder holds ACC.csv and/or HR.csv as E4 Connect writes them",
    priority=10,
)
