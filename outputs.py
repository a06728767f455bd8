"""Writing results: per-session folders, the sessions table (``sessions.csv`` and
``sessions.parquet``, see :mod:`dosewatch.rows`), the failures list.

Everything is written atomically: files go to a temporary name in the same folder and are
renamed into place, and a session's folder is assembled under a temporary name and then
swapped in, so an interrupted run never leaves a half-written output behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .analysis import SessionResult
from .rows import ROWS_CSV, ROWS_PARQUET, SessionRow, rows_csv_text, rows_table


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary sibling and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: object) -> str:
    return json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n"


# Names of the batch's own files and folders in an output folder, which no session may
# take (a session of that name gets a hash, as two inputs with one name do).
RESERVED_NAMES = ("calibration", "sessions.csv", "sessions.parquet", "failures.json",
                  "config.toml", "report.html", "adherence.csv", "adherence.parquet",
                  "participants.csv", "participants.parquet", "recordings")


def output_names(inputs: Sequence[Path]) -> list[str]:
    """An output folder name per input: the input's name without the ending its format
    claims, made unique with a short hash of its absolute path when two inputs share a
    name (or when one input's name is another's with ``-N`` appended, which is how the
    sessions of a multi-session input are named). Stable across runs."""
    stems = [_stem(p) for p in inputs]
    counts = Counter(stems + list(RESERVED_NAMES))
    taken = set(stems)
    names = []
    for path, stem in zip(inputs, stems, strict=True):
        base, _, number = stem.rpartition("-")
        clash = number.isdigit() and base in taken
        if counts[stem] > 1 or clash:
            digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:8]
            stem = f"{stem}-{digest}"
        names.append(stem)
    return names


def _stem(path: Path) -> str:
    from .ingest.registry import input_stem

    name = input_stem(Path(path).resolve()) or "session"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return safe.strip(".") or "session"


def write_epochs_csv(result: SessionResult, path: Path) -> None:
    """``epochs.csv``: written by Arrow's CSV writer (a week of minutes is 10,080 rows x 22
    columns; formatting cell by cell in Python took most of a second). Floats are rounded
    to 6 decimals; a missing value is an empty cell. Labels never need quoting."""
    arrays = {}
    for name, column in result.epoch_columns().items():
        if column.dtype.kind == "f":
            arrays[name] = pa.array(np.round(column, 6), mask=~np.isfinite(column))
        else:
            arrays[name] = pa.array(column.tolist(), type=pa.string())
    pacsv.write_csv(pa.table(arrays), str(path),
                    pacsv.WriteOptions(quoting_style="none"))


def write_session(
    result: SessionResult,
    out_dir: Path,
    name: str,
    picture: bool = True,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write ``summary.json``, ``epochs.csv`` and ``session.png`` into ``out_dir/name``,
    assembled under a temporary name and swapped in whole.

    ``extra`` maps further file names to text written into the same folder before the
    swap (a batch's record of the input it analysed, for resuming)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / name
    tmp = out_dir / f".{name}.{uuid.uuid4().hex[:8]}.partial"
    tmp.mkdir()
    try:
        (tmp / "summary.json").write_text(to_json(result.summary()), encoding="utf-8")
        write_epochs_csv(result, tmp / "epochs.csv")
        if picture:
            from .plot import plot_session

            plot_session(result, tmp / "session.png")
        for file_name, text in (extra or {}).items():
            (tmp / file_name).write_text(text, encoding="utf-8")
        if final.exists():
            old = out_dir / f".{name}.{uuid.uuid4().hex[:8]}.old"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def write_rows(rows: Sequence[SessionRow], out_dir: Path) -> None:
    """``sessions.csv`` and ``sessions.parquet``: the same typed rows, written atomically."""
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    atomic_write_text(out_dir / ROWS_CSV, rows_csv_text(rows))
    target = out_dir / ROWS_PARQUET
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(rows_table(rows), tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_failures(failures: Sequence[dict[str, str]], unsupported: Sequence[dict[str, str]],
                   path: Path) -> None:
    """``failures.json``: every input that failed (``status: failed``) and every file
    that was skipped as not a session input (``status: skipped``), each with its reason
    and what to do."""
    entries = [{"status": "failed", **f} for f in failures]
    entries += [{"status": "skipped", **s} for s in unsupported]
    atomic_write_text(path, to_json(entries))
