"""What the research raw-accelerometer readers (Axivity CWA, ActiGraph GT3X, GENEActiv
BIN, EDF/BDF) share: the session they build, the guards against hostile files, and the
shape of their messages.

These files hold days of samples at 30-100 Hz (60 million rows for a week at 100 Hz), so
the readers hand :func:`acc_session` times that start at 0 (float64) and acceleration in
g (float32, ``(n, 3)``), with the absolute start given separately: the session then keeps
the reader's arrays as they are, without the copy that shifting Unix times to the start
would cost (half a gigabyte for a week). The provenance still says which Unix time became
0 (``time_origin_s``).
"""

from __future__ import annotations

import math
import mmap
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..session import Profile, Session, build_session
from .registry import ReadOptions, input_stem

# Times a device clock can hold for a recording dosewatch analyses: 2000-01-01 to 2100.
EARLIEST_UNIX = 946_684_800.0
LATEST_UNIX = 4_102_444_800.0
# The largest raw-accelerometer file read: 4 GiB (a month at 100 Hz in CWA is ~1.1 GB).
MAX_FILE_BYTES = 4 << 30
# Gaps between samples longer than this many sample periods are said in the repairs.
GAP_PERIODS = 2.0
# The longest span a raw-accelerometer recording can cover: AX3s record about 90 days at
# 12.5 Hz; a file whose times spread further has a clock that jumped (or is damaged).
MAX_SPAN_S = 400 * 86_400.0
# The most samples a session is built from: 20 bytes each (time and x, y, z), 8 GB; a
# month at 100 Hz is 260 million.
MAX_SAMPLES = 400_000_000
# Wearable accelerometers measure up to 16 g (impact sensors 200 g, not worn for this);
# samples beyond this are not acceleration (a wrong unit, damage).
MAX_G = 64.0


def prefaulted(shape: tuple[int, ...], dtype: type | np.dtype) -> NDArray:
    """An uninitialised array whose memory the kernel maps in one call (``MAP_POPULATE``)
    rather than one page fault per 4 KiB page as it is first written.

    A week at 100 Hz needs 1.2 GB of output (times and three axes); faulting that in page
    by page costs more than decoding it (seconds on a virtual machine whose memory is
    handed over lazily). Where ``MAP_POPULATE`` does not exist this is ``np.empty``.
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if size < (16 << 20) or not populate:
        return np.empty(shape, dtype=dtype)
    try:
        buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    except OSError:
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def days_from_civil(y: NDArray[np.int64], m: NDArray[np.int64],
                    d: NDArray[np.int64]) -> NDArray[np.int64]:
    """Days since 1970-01-01 of proleptic Gregorian dates, vectorised (H. Hinnant's
    algorithm); months 1-12."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def refuse(path: Path, reason: str, hint: str) -> InputError:
    """The error every raw-accelerometer reader raises for a file it cannot read."""
    return InputError(reason, source=path, hint=hint)


def check_size(path: Path, minimum: int, what: str, hint: str) -> int:
    """The file's size in bytes; refuses empty, too-short and absurdly large files."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise refuse(path, f"the file cannot be read ({exc.strerror})", "check the path") from None
    if size == 0:
        raise refuse(path, "the file is empty", hint)
    if size < minimum:
        raise refuse(path, f"the file is truncated: {size} bytes, shorter than {what}", hint)
    if size > MAX_FILE_BYTES:
        raise refuse(path, f"the file is {size / 2**30:.1f} GiB, larger than dosewatch reads "
                     f"({MAX_FILE_BYTES >> 30} GiB)", "split the recording into shorter files")
    return size


def check_samples(path: Path, n: int, what: str = "") -> None:
    """Refuse before allocating when a file would give more samples than fit in memory
    (a damaged or hostile header, or idle periods spanning years)."""
    if n > MAX_SAMPLES:
        raise refuse(path, f"the file would give {n:,} samples{what}, more than dosewatch "
                     f"holds in memory ({MAX_SAMPLES:,})",
                     "split the recording into shorter files (or check that it is not "
                     "damaged)")


def printable(raw: bytes, limit: int = 40) -> str:
    """A short, sanitised rendering of header bytes for a message (never file content at
    length, never control characters)."""
    text = raw[:limit].decode("latin-1")
    return re.sub(r"[^\x20-\x7e]", "?", text).strip()


def placement_named(text: str) -> str | None:
    """The accelerometer placement a device's set-up text names (``Left Wrist``,
    ``waist``, ...), or None."""
    text = text.lower()
    for word, placement in (("wrist", "wrist"), ("waist", "hip"), ("hip", "hip"),
                            ("chest", "chest")):
        if word in text:
            return placement
    return None


def with_file_placement(options: ReadOptions, placement: str | None, where: str,
                        repairs: list[str]) -> ReadOptions:
    """``options`` with the placement the file names, noted as coming ``from`` ``where``,
    unless the caller's profile gives a placement (the caller's word wins); ``options``
    itself when the file's placement is not taken."""
    if placement and (options.profile is None or options.profile.placement is None):
        options = replace(options, profile=replace(options.profile or Profile(),
                                                   placement=placement))
        repairs.append(f"placement {placement}, from {where}")
    return options


def gap_notes(t: NDArray[np.float64], fs: float, what: str) -> list[str]:
    """One repair line saying how many gaps (and how long in all) a stream has."""
    if t.size < 2 or not fs > 0:
        return []
    step = np.diff(t)
    gaps = step > GAP_PERIODS / fs
    n = int(gaps.sum())
    if not n:
        return []
    missing = float((step[gaps] - 1.0 / fs).sum())
    return [f"{what}: {n} gap(s) in the recording, {missing:.1f} s in all (left as gaps)"]


def acc_session(
    path: Path,
    options: ReadOptions,
    *,
    t: NDArray[np.float64],
    xyz: NDArray[np.float32],
    t0_unix: float,
    format: str,
    repairs: list[str],
    hr: tuple[NDArray[np.float64], ...] | None = None,
    bounds: tuple[float, float, float] | None = None,
    placement: tuple[str | None, str] = (None, ""),
) -> Session:
    """A session from acceleration whose times ``t`` count from ``t0_unix`` (Unix s).

    ``hr``, when given, is ``(t, bpm)`` or ``(t, bpm, rr_ms)`` on the same clock as ``t``.
    ``bounds`` is ``(min t, max t, max |xyz|)`` when the reader knows them already (a week's
    arrays are then not read again here). ``placement`` is ``(placement, where from)``
    when the file stored where the device is worn (see :func:`with_file_placement`): it
    is then the device's (``placement_source`` ``device``, as for a chest strap).

    Raises:
        InputError: the start is not a date a device clock can hold (the file's clock
            was never set, or its header is damaged), or there are no samples.
    """
    if not (math.isfinite(t0_unix) and EARLIEST_UNIX <= t0_unix <= LATEST_UNIX):
        raise refuse(path, f"the recording's start ({t0_unix:.0f} s Unix time) is not a "
                     "date between 2000 and 2100: the device clock was not set, or the "
                     "file is damaged", "check the device's clock and download it again")
    if bounds is None:
        lo, hi = (float(t.min()), float(t.max())) if t.size else (0.0, 0.0)
        # max and min, not abs().max(): no temporary the size of the recording.
        peak = max(float(xyz.max()), -float(xyz.min())) if xyz.size else 0.0
    else:
        lo, hi, peak = bounds
    if hi - lo > MAX_SPAN_S:
        raise refuse(path, f"the samples' times spread over {(hi - lo) / 86_400:.0f} days, "
                     "longer than any device records: its clock jumped, or the file is "
                     "damaged", "check the device's clock and download the recording again")
    if t.size == 0:
        raise refuse(path, "the file holds no acceleration samples",
                     "check that the device recorded (a file written right after setup "
                     "holds only a header)")
    if not peak <= MAX_G:  # NaN too
        absurd = ~(np.abs(xyz) <= MAX_G).all(axis=1)
        n_absurd = int(absurd.sum())
        if n_absurd > 0.01 * len(xyz):
            raise refuse(path, f"{n_absurd} of {len(xyz)} acceleration samples are beyond "
                         f"{MAX_G:g} g (up to {peak:.3g}): not acceleration in g as the file "
                         "says, or the file is damaged",
                         "check the unit of the acceleration channels (g, mg, m/s²)")
        xyz = xyz.copy()
        xyz[absurd] = np.nan
        repairs = [*repairs, f"acc: {n_absurd} samples beyond {MAX_G:g} g dropped as gaps"]
    if hr is not None and len(hr[0]):
        lo = min(lo, float(np.min(hr[0])))
    if lo != 0.0:
        # Shift here, so that the earliest time is exactly 0 and build_session keeps the
        # arrays (its own shift could round two neighbouring times into one).
        t = t - lo
        hr = None if hr is None else (np.asarray(hr[0]) - lo, *hr[1:])
        t0_unix += lo
    stored = options
    options = with_file_placement(options, placement[0], placement[1], repairs)
    name = options.name or input_stem(path)
    session = build_session(
        name, acc=(t, xyz), hr=hr, profile=options.profile, source=str(path), format=format,
        start_time=datetime.fromtimestamp(t0_unix, UTC), repairs=tuple(repairs),
        device_profile=("placement",) if options is not stored else (),
    )
    origin = t0_unix + session.provenance.time_origin_s
    return replace(session, provenance=replace(session.provenance, time_origin_s=origin))
