"""Writing results: per-session folders, the sessions table, the failures list.

Everything is written atomically: files go to a temporary name in the same folder and are
renamed into place, and a session's folder is assembled under a temporary name and then
swapped in, so an interrupted run never leaves a half-written output behind.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .analysis import SessionResult

SESSION_COLUMNS = (
    "session",
    "participant",
    "source",
    "sport",
    "start_time",
    "duration_s",
    "session_class",
    "dose_met",
    "dose_met_at_s",
    "longest_bout_qualifying_minutes",
    "n_bouts",
    "intensity_source",
    "hr_rest",
    "hr_rest_source",
    "hr_max",
    "hr_max_source",
    "placement",
    "minutes_rest",
    "minutes_constant",
    "minutes_intermediate",
    "minutes_accelerating",
    "minutes_missing",
    "n_warnings",
    "minutes_at_or_above_intermediate",
    "output",
)


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


def output_names(inputs: Sequence[Path]) -> list[str]:
    """An output folder name per input: the input's name (without extension), made unique
    with a short hash of its absolute path when two inputs share a name. Stable across runs."""
    stems = [_stem(p) for p in inputs]
    counts = Counter(stems)
    names = []
    for path, stem in zip(inputs, stems, strict=True):
        if counts[stem] > 1:
            digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:8]
            stem = f"{stem}-{digest}"
        names.append(stem)
    return names


def _stem(path: Path) -> str:
    name = Path(path).resolve().name or "session"
    for suffix in (".csv.gz", ".fit.gz", ".tcx.gz", ".gpx.gz", ".gz", ".fit", ".tcx", ".gpx",
                   ".dwrec", ".sqlite", ".db"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return safe.strip(".") or "session"


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return ""
        return f"{value:.6g}"
    return str(value)


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


def session_row(result: SessionResult, output: str) -> dict[str, object]:
    """One row of ``sessions.csv``, taken from the same summary as ``summary.json``."""
    s = result.summary()
    minutes = s["minutes"]
    return {
        "session": s["session"],
        "participant": s["participant"] or "",
        "source": s["source"],
        "sport": s["sport"] or "",
        "start_time": s["start_time"] or "",
        "duration_s": s["duration_s"],
        "session_class": s["session_class"],
        "dose_met": s["dose_met"],
        "dose_met_at_s": "" if s["dose_met_at_s"] is None else s["dose_met_at_s"],
        "longest_bout_qualifying_minutes": s["longest_bout_qualifying_minutes"],
        "n_bouts": len(s["bouts"]),
        "intensity_source": s["intensity_source"],
        "hr_rest": "" if s["hr_rest"] is None else s["hr_rest"],
        "hr_rest_source": s["hr_rest_source"] or "",
        "hr_max": "" if s["hr_max"] is None else s["hr_max"],
        "hr_max_source": s["hr_max_source"] or "",
        "placement": s["placement"],
        **{f"minutes_{k}": v for k, v in minutes.items()},
        "n_warnings": len(s["warnings"]),
        "minutes_at_or_above_intermediate": s["minutes_at_or_above_intermediate"],
        "output": output,
    }


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


def write_sessions_table(rows: Iterable[dict[str, object]], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SESSION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(v) for k, v in row.items()})
    atomic_write_text(path, buffer.getvalue())


def write_failures(failures: Sequence[dict[str, str]], path: Path) -> None:
    atomic_write_text(path, to_json(list(failures)))
