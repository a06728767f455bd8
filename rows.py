"""The typed session row: one line of ``sessions.csv``, built once from the session result.

:class:`SessionRow` is what the batch collects, what a resumed batch stores in
``run.json``, and what adherence and the study report read. ``sessions.csv`` and
``sessions.parquet`` are two serialisations of the same rows (:func:`write_rows`), and
:func:`read_rows` reads them back into the same type, so a new column is one new field
here (and its value in :meth:`SessionRow.from_result`).
"""

from __future__ import annotations

import csv
import io
import math
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .analysis import SessionResult

ROWS_CSV = "sessions.csv"
ROWS_PARQUET = "sessions.parquet"


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One analysed session, as ``sessions.csv`` lists it. See ``summary.json`` for the
    full result; every value here is taken from the same :class:`SessionResult`.

    Attributes:
        session: the session's name (its output folder's name).
        participant: profile ``id``, else the folder holding the input; None if neither.
        source: the input path.
        sport: the activity's sport as the file names it.
        start_time: absolute start (UTC unless the file gave a zone); None when unknown.
        duration_s: from the first to the end of the last sample.
        session_class: constant | accelerating | intermediate | none.
        dose_met: some bout holds the dose's qualifying minutes.
        dose_met_at_s: when the dose was reached, seconds from the start.
        certainty: how sure the verdict is: high | medium | low (``summary.json`` says
            why; see :mod:`dosewatch.certainty`).
        longest_bout_qualifying_minutes: qualifying minutes of the longest bout.
        n_bouts: how many bouts.
        intensity_source: heart_rate | acceleration | workload.
        hr_rest, hr_max: what %HRR was computed with, and their sources.
        placement: accelerometer placement used.
        minutes_*: minutes per epoch label.
        n_warnings: how many warnings ``summary.json`` lists.
        minutes_at_or_above_intermediate: minutes at the intermediate or vigorous level.
        output: the session's output folder.
        content_digest: a fingerprint of the session's samples
            (:func:`dosewatch.duplicates.stream_digest`).
        duplicate_of: the session this one is a copy of (same participant, start and
            samples; see :mod:`dosewatch.duplicates`): kept, but counted once, as that one.
            A session of the same table by its name, or one an earlier run analysed by
            its folder relative to the output folder (``../calA/dec04``): not counted.
    """

    session: str
    participant: str | None
    source: str
    sport: str | None
    start_time: datetime | None
    duration_s: float
    session_class: str
    dose_met: bool
    dose_met_at_s: float | None
    certainty: str | None
    longest_bout_qualifying_minutes: float
    n_bouts: int
    intensity_source: str
    hr_rest: float | None
    hr_rest_source: str | None
    hr_max: float | None
    hr_max_source: str | None
    placement: str
    minutes_rest: float
    minutes_constant: float
    minutes_intermediate: float
    minutes_accelerating: float
    minutes_missing: float
    n_warnings: int
    minutes_at_or_above_intermediate: float | None
    output: str
    content_digest: str | None = None
    duplicate_of: str | None = None

    @classmethod
    def from_result(cls, result: SessionResult, output: str) -> SessionRow:
        """The row of an analysed session whose folder is ``output``."""
        minutes = result.minutes
        start = result.start_time
        return cls(
            session=result.name,
            participant=result.participant,
            source=result.source,
            sport=result.sport,
            start_time=None if start is None else datetime.fromisoformat(start),
            duration_s=round(result.duration_s, 3),
            session_class=result.session_class,
            dose_met=result.dose_met,
            dose_met_at_s=result.dose_met_at_s,
            certainty=result.certainty.level,
            longest_bout_qualifying_minutes=result.longest_bout_qualifying_minutes,
            n_bouts=len(result.bouts),
            intensity_source=result.intensity_source,
            **result.hr_used(),
            placement=result.info.placement,
            minutes_rest=minutes["rest"],
            minutes_constant=minutes["constant"],
            minutes_intermediate=minutes["intermediate"],
            minutes_accelerating=minutes["accelerating"],
            minutes_missing=minutes["missing"],
            n_warnings=len(result.warnings),
            minutes_at_or_above_intermediate=result.minutes_at_or_above_intermediate,
            output=output,
        )

    def to_record(self) -> dict[str, object]:
        """The row as JSON-able values (times as ISO 8601 text)."""
        return {f.name: _to_json(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> SessionRow:
        """A row from a mapping of typed values or of text (a CSV line, a JSON record).

        Raises:
            ValueError: a value that does not parse as its column's type; a missing
                column (other than an optional one, which becomes None).
        """
        values: dict[str, object] = {}
        for name, (kind, optional) in _column_types().items():
            raw = record.get(name)
            values[name] = _parse(raw, kind, optional, name)
        return cls(**values)  # type: ignore[arg-type]


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SessionRow))


@cache
def _column_types() -> dict[str, tuple[type, bool]]:
    """Column -> (base type, whether None is allowed), from the annotations."""
    hints = typing.get_type_hints(SessionRow)
    out = {}
    for name in COLUMNS:
        hint = hints[name]
        args = typing.get_args(hint)
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            base = next(a for a in args if a is not type(None))
            out[name] = (base, True)
        else:
            out[name] = (hint, False)
    return out


def _to_json(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _parse(raw: object, kind: type, optional: bool, name: str) -> object:
    if raw is None or (isinstance(raw, str) and raw == "") or (
            isinstance(raw, float) and math.isnan(raw)):
        if optional:
            return None
        if kind is str:
            return ""
        raise ValueError(f"column {name} has no value")
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueError(f"column {name}: not a yes/no value: {raw!r}")
    if kind is datetime:
        if isinstance(raw, datetime):
            return raw
        return datetime.fromisoformat(str(raw).strip())
    if kind is int:
        if isinstance(raw, bool):
            raise ValueError(f"column {name}: not a whole number: {raw!r}")
        number = float(raw)  # type: ignore[arg-type]
        if not number.is_integer():
            raise ValueError(f"column {name}: not a whole number: {raw!r}")
        return int(number)
    if kind is float:
        if isinstance(raw, bool):
            raise ValueError(f"column {name}: not a number: {raw!r}")
        return float(raw)  # type: ignore[arg-type]
    return str(raw)


# --------------------------------------------------------------------------- files


# A cell starting with one of these is run as a formula by spreadsheets (CSV injection);
# a text cell starting with one, or with the quote that marks the neutralised ones, gets a
# leading quote, which spreadsheets show as text and :func:`read_rows` takes off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet runs as a formula (OWASP's advice:
    prefix a quote). Numbers are written as numbers and never pass through here."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def from_spreadsheet_safe(text: str) -> str:
    """The text :func:`spreadsheet_safe` was given."""
    return text.removeprefix("'")


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return spreadsheet_safe(value)  # participant ids and names come from input files
    return str(value)


def rows_csv_text(rows: Iterable[SessionRow]) -> str:
    """``sessions.csv`` as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(getattr(row, c)) for c in COLUMNS])
    return buffer.getvalue()


def rows_table(rows: Sequence[SessionRow]) -> Any:
    """The rows as a pyarrow Table (the Parquet serialisation): text, float64, int64 and
    bool columns, None as null; start times as ISO text, which keeps each start's own UTC
    offset."""
    import numpy as np
    import pyarrow as pa

    from .ingest.arrow import from_numbers, from_texts

    columns = {}
    for name, (kind, _) in _column_types().items():
        cells = [_to_json(getattr(row, name)) for row in rows]
        if kind in (str, datetime):
            columns[name] = from_texts(cells)
            continue
        valid = np.array([c is not None for c in cells], dtype=bool)
        dtype = {float: np.float64, int: np.int64, bool: np.bool_}[kind]
        values = np.array([c if c is not None else 0 for c in cells], dtype=dtype)
        columns[name] = from_numbers(values, valid)
    return pa.table(columns)


def read_rows(out_dir: Path) -> list[SessionRow]:
    """The session rows of an analysis folder (``sessions.parquet``, else
    ``sessions.csv``).

    Raises:
        InputError: no table, or a table that does not hold session rows.
    """
    out_dir = Path(out_dir)
    parquet, text = out_dir / ROWS_PARQUET, out_dir / ROWS_CSV
    if parquet.is_file():
        import pyarrow.parquet as pq

        try:
            records = pq.read_table(parquet).to_pylist()
        except Exception as exc:  # noqa: BLE001 - any Arrow failure: a damaged file
            raise InputError(f"cannot read the sessions table ({type(exc).__name__})",
                             source=parquet, hint="re-run `dosewatch analyze`") from None
        source = parquet
    elif text.is_file():
        with text.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            text_columns = [c for c, (kind, _) in _column_types().items() if kind is str]
            records = [{k: (from_spreadsheet_safe(v) if k in text_columns and v else v)
                        for k, v in record.items()} for record in reader]
        missing = [c for c in ("session", "participant", "start_time", "dose_met")
                   if c not in header]
        if missing:
            raise InputError(f"sessions table lacks column(s) {', '.join(missing)}",
                             source=text,
                             hint="re-run `dosewatch analyze` with this version of dosewatch")
        source = text
    else:
        raise InputError("no sessions table here", source=text,
                         hint="run `dosewatch analyze INPUT... --out DIR` first")
    return rows_from_records(records, str(source))


def rows_from_records(records: Iterable[Mapping[str, object]], source: str) -> list[SessionRow]:
    """Typed rows from records; a bad record is an InputError naming its row."""
    rows = []
    for i, record in enumerate(records, start=1):
        try:
            rows.append(SessionRow.from_record(record))
        except (TypeError, ValueError) as exc:
            name = record.get("session") or f"row {i}"
            raise InputError(f"session {name!r} (row {i}): {exc}", source=source,
                             hint="the table should be as `dosewatch analyze` wrote it; "
                             "re-run it") from None
    return rows
