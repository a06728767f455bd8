"""Polar heart-rate monitor files (``.hrm``, Polar ProTrainer / Polar Precision Performance).

A text file of ``[Section]`` blocks (Polar's "HRM2" format description; read the same way
as SportsTracker's and Runalyze's parsers):

- ``[Params]``: ``Version`` (102 to 107), ``SMode`` (a row of 0/1 flags: speed, cadence,
  altitude, power, power left-right balance, pedalling index, HR/cycling data, US units,
  air pressure), ``Date`` (``yyyymmdd``) and ``StartTime`` (``h:mm:ss.d``, the watch's local
  time: taken as UTC, with a repair note), ``Interval`` (seconds between samples; 238
  means the samples are RR intervals), and the participant's ``MaxHR``, ``RestHR``,
  ``Weight`` (kept leniently as the profile).
- ``[HRData]``: one sample per line, tab-separated: heart rate, then one column for each
  SMode flag that is set, in the flags' order (power balance and pedalling index share
  one column). Speed is in 0.1 km/h (0.1 mph with the US flag), altitude in m (ft).
  Sample ``i`` lies at ``i * Interval`` seconds from the start.

With ``Interval=238`` each line is an RR interval in ms: the heart rate of each beat is
60000 / RR, at the running sum of the intervals (as Runalyze reads it), and the RR
intervals are kept. Laps, zones and summaries are not read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...session import Profile, Session
from ..activity import ActivityData, lenient_profile, open_activity, to_session
from ..registry import Reader, ReadOptions

__all__ = ["READER", "parse_hrm"]

RR_INTERVAL = 238
MAX_HRM_BYTES = 64 << 20
_SECTION = re.compile(r"^\[([^\]\r\n]{1,40})\]\s*$", re.MULTILINE)
# SMode flags in order; True = the flag adds a column to [HRData].
_FLAGS = ("speed", "cadence", "altitude", "power", "balance", "pedalling", "cycling", "us",
          "pressure")


def _sections(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    marks = list(_SECTION.finditer(text))
    for k, mark in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        out.setdefault(mark.group(1).strip(), text[mark.end():end])
    return out


def _params(block: str) -> dict[str, str]:
    out = {}
    for line in block.splitlines()[:200]:
        key, sep, value = line.partition("=")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def _start(params: dict[str, str], path: Path, repairs: list[str]) -> float | None:
    date, start = params.get("Date", ""), params.get("StartTime", "")
    match = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d))?", start)
    if not re.fullmatch(r"\d{8}", date) or not match:
        repairs.append("no readable Date and StartTime: the start time is unknown")
        return None
    hour, minute, second, tenth = match.groups()
    try:
        stamp = datetime(int(date[:4]), int(date[4:6]), int(date[6:]), int(hour), int(minute),
                         int(second), int(tenth or 0) * 100_000, tzinfo=UTC)
    except ValueError:
        repairs.append(f"Date {date} {start} is not a date: the start time is unknown")
        return None
    repairs.append("the start time is the watch's local time, without a zone: taken as UTC")
    return stamp.timestamp()


def _rows(block: str, columns: int, path: Path, repairs: list[str]) -> np.ndarray:
    lines = [line for line in block.strip().splitlines() if line.strip()]
    if not lines:
        raise InputError("the [HRData] block holds no samples", source=path,
                         hint="export the exercise again with its samples")
    if len(lines[-1].split()) != columns:
        lines = lines[:-1]
        repairs.append("the last [HRData] line is incomplete (a cut-off file): left out")
    tokens = " ".join(lines).split()
    if len(tokens) != columns * len(lines):
        raise InputError(
            f"the [HRData] lines do not all hold {columns} values, as the SMode flags say",
            source=path, hint="the file is damaged or hand-edited; export it again")
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not re.fullmatch(r"[+-]?\d+(\.\d*)?", t))
        raise InputError(f"the [HRData] block holds {bad[:20]!r}, not a number", source=path,
                         hint="the file is damaged; export it again") from None
    return values.reshape(len(lines), columns)


def _read_sections(path: Path) -> dict[str, str]:
    """The file's ``[Section]`` blocks; refuses a file without [Params] and [HRData]."""
    with open_activity(path, MAX_HRM_BYTES) as (stream, _):
        raw = stream.read()
    sections = _sections(raw.decode("latin-1"))
    if "Params" not in sections or "HRData" not in sections:
        raise InputError("not a Polar HRM file: no [Params] and [HRData] sections",
                         source=path, hint="export the exercise from Polar ProTrainer or "
                         "Polar Precision Performance as .hrm")
    return sections


def _smode(params: dict[str, str], path: Path) -> dict[str, bool]:
    """The SMode flags by name (a missing flag is not set)."""
    smode = params.get("SMode", "")
    if not re.fullmatch(r"[01]{1,9}", smode or "0"):
        raise InputError(f"SMode={smode[:20]!r} is not a row of 0/1 flags", source=path,
                         hint="the file is damaged; export it again")
    return {name: (smode[i] == "1" if i < len(smode) else False)
            for i, name in enumerate(_FLAGS)}


def _interval(params: dict[str, str], path: Path) -> int:
    """Seconds between samples (238: the samples are RR intervals)."""
    try:
        return int(params.get("Interval", "1"))
    except ValueError:
        raise InputError(f"Interval={params.get('Interval', '')[:20]!r} is not a number",
                         source=path, hint="the file is damaged; export it again") from None


def _rr_activity(block: str, origin: float, path: Path, profile: Profile,
                 repairs: list[str]) -> ActivityData:
    """[HRData] of RR intervals (ms): a beat at the running sum of the intervals, with
    heart rate 60000 / RR."""
    first = next((line for line in block.splitlines() if line.strip()), "")
    rows = _rows(block, max(1, len(first.split())), path, repairs)
    rr = rows[:, 0]
    ok = rr > 0
    t = origin + np.cumsum(np.where(ok, rr, 0.0)) / 1000.0
    bpm = np.where(ok, 60_000.0 / np.where(ok, rr, 1.0), np.nan)
    repairs.append("samples are RR intervals (Interval=238): heart rate 60000 / RR")
    return ActivityData(source=path, format="hrm", t=t[ok], segment=np.zeros(int(ok.sum()),
                        np.int64), hr=bpm[ok], rr_ms=rr[ok], profile=profile,
                        repairs=repairs)


def _columns(flags: dict[str, bool], version: str) -> list[str]:
    """What the [HRData] columns hold, in order, by the SMode flags."""
    order = ["hr"]
    for name in ("speed", "cadence", "altitude", "power"):
        if flags[name]:
            order.append(name)
    if flags["balance"] or flags["pedalling"]:
        order.append("balance")
    if flags["pressure"] and version >= "107":
        order.append("pressure")
    return order


def parse_hrm(path: str | Path) -> ActivityData:
    """Decode a Polar HRM file (see the module text).

    Raises:
        InputError: not an HRM file, or a damaged one.
    """
    path = Path(path)
    sections = _read_sections(path)
    params = _params(sections["Params"])
    repairs: list[str] = []
    version = params.get("Version", "")
    flags = _smode(params, path)
    interval = _interval(params, path)
    start = _start(params, path, repairs)
    profile = lenient_profile({
        "hr_max": _number(params.get("MaxHR")), "hr_rest": _number(params.get("RestHR")),
        "weight_kg": _number(params.get("Weight")),
    }, path, repairs)
    origin = start if start is not None else 0.0
    if interval == RR_INTERVAL:
        return _rr_activity(sections["HRData"], origin, path, profile, repairs)
    if not 1 <= interval <= 60:
        raise InputError(f"Interval={interval}: not a sample period dosewatch reads (1-60 s, "
                         "or 238 for RR intervals)", source=path,
                         hint="export the exercise with a recording interval of 1 to 60 s")
    order = _columns(flags, version)
    rows = _rows(sections["HRData"], len(order), path, repairs)
    column = {name: rows[:, i] for i, name in enumerate(order)}
    t = origin + np.arange(rows.shape[0], dtype=np.float64) * interval
    speed = None
    if "speed" in column:
        factor = (0.1 * 0.44704) if flags["us"] else (0.1 / 3.6)
        if version and version < "105":
            repairs.append(f"speed not read: HRM version {version} stores it differently")
        else:
            speed = column["speed"] * factor
    return ActivityData(
        source=path, format="hrm", t=t, segment=np.zeros(t.size, np.int64), hr=column["hr"],
        speed=speed, cadence=column.get("cadence"), power=column.get("power"),
        speed_field="HRData speed" if speed is not None else None, profile=profile,
        repairs=repairs,
    )


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value else None  # 0 means "not set"


def _read(path: Path, options: ReadOptions) -> list[Session]:
    return [to_session(parse_hrm(path), profile=options.profile, name=options.name,
                       what_rows="sample")]


READER = Reader(
    name="hrm",
    title="Polar HRM exercise file",
    read=_read,
    suffixes=(".hrm", ".hrm.gz"),
    sniff=lambda head: head.lstrip().startswith(b"[Params]") and b"SMode=" in head,
    hint="export the exercise from Polar ProTrainer as .hrm",
)
