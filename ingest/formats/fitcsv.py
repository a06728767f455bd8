"""FIT files dumped as CSV by the FIT SDK's FitCSVTool (GoldenCheetah's ``Ramp test.csv``).

The layout is one FIT message per row: ``Type`` (``Definition`` or ``Data``), ``Local
Number``, ``Message``, then triples ``Field n, Value n, Units n``. The ``Data`` rows of
``record`` messages are the samples: ``timestamp``, ``heart_rate``, ``enhanced_speed`` (else
``speed``, m/s), ``cadence``, ``power`` and ``distance``, each found by its field name in
whichever triple holds it (vectorised over the triples, never per row). FitCSVTool writes
values already scaled to the units it names.

Times: FitCSVTool writes FIT's own seconds since 1989-12-31. Some tools (GoldenCheetah)
write Unix seconds in the same columns; a file whose times, read as FIT seconds, would lie
in the future is read as Unix seconds, with a repair note. The sport is the ``session``
message's ``sport`` (FIT's numbers: 1 running, 2 cycling...).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...session import Session
from ..activity import ActivityData, normalise_sport, to_session
from ..arrow import to_flags
from ..registry import Reader, ReadOptions, file_head
from ..tables import HEAD_BYTES, Layout, decode_head, numbers, read_columns

__all__ = ["READER", "is_fitcsv", "read_fitcsv"]

FIT_EPOCH_UNIX = 631_065_600
_FIELDS = ("timestamp", "heart_rate", "enhanced_speed", "speed", "cadence", "power",
           "distance")
_SPORTS = {"0": "generic", "1": "running", "2": "cycling", "5": "swimming", "11": "walking",
           "17": "hiking", "4": "fitness_equipment"}


def is_fitcsv(head: bytes) -> bool:
    """Whether a file's first bytes are a FitCSVTool header."""
    text = decode_head(head[:200]).lstrip()
    return text.startswith("Type,Local Number,Message")


def _fields(path: Path, options: ReadOptions) -> tuple[dict[str, np.ndarray], str | None]:
    head = file_head(path, HEAD_BYTES)
    lines = decode_head(head).splitlines()[:-1] or decode_head(head).splitlines()
    header = lines[0].split(",") if lines else []
    n = max([len(header), *(len(line.split(",")) for line in lines)])
    layout = Layout(delimiter=",", decimal=".", skip=0, has_header=True,
                    names=tuple(header + [f"extra{i}" for i in range(n - len(header))]))
    triples = max(0, (n - 3) // 3)
    wanted = {"type": 0, "message": 2}
    for k in range(triples):
        wanted[f"name{k}"] = 3 + 3 * k
        wanted[f"value{k}"] = 4 + 3 * k
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    cells = read_columns(path, layout, wanted, compression=compression)
    is_data = pc.fill_null(pc.equal(cells["type"], "Data"), False)
    records = pc.and_(is_data, pc.fill_null(pc.equal(cells["message"], "record"), False))
    sessions = pc.and_(is_data, pc.fill_null(pc.equal(cells["message"], "session"), False))
    mask = pa.array(np.asarray(records))
    count = int(pc.sum(records).as_py() or 0)
    out = {name: np.full(count, np.nan) for name in _FIELDS}
    for k in range(triples):
        names = cells[f"name{k}"].filter(mask)
        values = cells[f"value{k}"].filter(mask)
        for name in _FIELDS:
            hit = to_flags(pc.equal(names, name))
            if not hit.any():
                continue
            column = numbers(values.filter(pa.array(hit)), name, path)
            target = out[name]
            fill = hit & np.isnan(target)
            target[fill] = column[fill[hit]]
    sport = None
    session_rows = pa.array(np.asarray(sessions))
    for k in range(triples):
        names = cells[f"name{k}"].filter(session_rows)
        values = cells[f"value{k}"].filter(session_rows)
        for name, value in zip(names.to_pylist(), values.to_pylist(), strict=True):
            if name == "sport" and value and sport is None:
                sport = _SPORTS.get(value.strip(), value.strip())
    return out, sport


def read_fitcsv(path: Path, options: ReadOptions) -> list[Session]:
    """Read a FitCSVTool table into one Session (see the module text)."""
    fields, sport = _fields(path, options)
    repairs = ["read as a FitCSVTool dump of a FIT file (record messages)"]
    t = fields["timestamp"]
    finite = t[np.isfinite(t)]
    if finite.size and float(np.median(finite)) + FIT_EPOCH_UNIX > time.time() + 86_400:
        repairs.append("times: read as Unix seconds (as FIT seconds since 1989 they would "
                       "lie in the future)")
    else:
        t = t + FIT_EPOCH_UNIX
    speed = fields["enhanced_speed"]
    speed_field = "enhanced_speed"
    if not np.isfinite(speed).any():
        speed, speed_field = fields["speed"], "speed"

    def channel(values: np.ndarray) -> np.ndarray | None:
        return values if np.isfinite(values).any() else None

    data = ActivityData(
        source=path, format="fitcsv", t=t, segment=np.zeros(t.size, np.int64),
        hr=fields["heart_rate"], speed=channel(speed), cadence=channel(fields["cadence"]),
        power=channel(fields["power"]), distance=channel(fields["distance"]),
        speed_field=speed_field if channel(speed) is not None else None,
        sport=normalise_sport(sport), repairs=repairs,
    )
    return [to_session(data, profile=options.profile, name=options.name, what_rows="record")]


READER = Reader(
    name="fitcsv",
    title="FIT file dumped as CSV by FitCSVTool",
    read=read_fitcsv,
    suffixes=(".csv", ".csv.gz"),
    sniff=is_fitcsv,
    hint="convert the FIT file with FitCSVTool, or pass the FIT file itself",
    priority=10,
)
