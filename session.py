"""The typed session: what every reader produces and every later stage consumes.

A :class:`Session` is a few frozen streams of NumPy arrays plus the participant's
:class:`Profile` and its :class:`Provenance`. Streams arrive from files and radios with
unsorted, duplicated and non-finite times; :func:`build_session` normalises them once, at
the boundary, and records every repair it made, so no later stage has to ask again.

Times are float64 seconds from the session start (the earliest sample of any stream).
When the input used Unix-epoch times, the absolute start is kept in
``provenance.start_time``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import InputError, ProfileError

PLACEMENTS = ("wrist", "chest", "hip")

# Times above this are taken as Unix-epoch seconds (1973-03-03); below, as seconds from start.
UNIX_EPOCH_THRESHOLD = 1.0e8


@dataclass(frozen=True, slots=True)
class Profile:
    """The participant. Every field is optional; missing ones are estimated or defaulted.

    Attributes:
        id: participant identifier (groups sessions in studies).
        age: years.
        hr_rest: resting heart rate, bpm.
        hr_max: maximal heart rate, bpm.
        placement: where the accelerometer sits: ``wrist``, ``chest`` or ``hip``.
        sex: free text as given (``female``, ``male``, ...); not used for intensity.
        weight_kg: body mass, kg.
    """

    id: str | None = None
    age: float | None = None
    hr_rest: float | None = None
    hr_max: float | None = None
    placement: str | None = None
    sex: str | None = None
    weight_kg: float | None = None

    def validate(self, source: str | None = None) -> Profile:
        """Return ``self`` if every value is physiologically possible, else raise ProfileError."""

        def bad(field_name: str, value: object, allowed: str) -> ProfileError:
            return ProfileError(
                f"profile value {field_name} = {value!r} is not possible ({allowed})",
                source=source,
                hint=f"correct {field_name} or remove it so that it is estimated",
            )

        for name, lo, hi in (
            ("age", 5, 120),
            ("hr_rest", 25, 120),
            ("hr_max", 100, 240),
            ("weight_kg", 20, 350),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise bad(name, value, "expected a number")
            if not (math.isfinite(value) and lo <= value <= hi):
                raise bad(name, value, f"expected {lo}–{hi}")
        if self.hr_rest is not None and self.hr_max is not None and self.hr_rest >= self.hr_max:
            raise ProfileError(
                f"profile hr_rest ({self.hr_rest:g}) is not below hr_max ({self.hr_max:g})",
                source=source,
                hint="check that the two values are not swapped",
            )
        if self.placement is not None and self.placement not in PLACEMENTS:
            raise bad("placement", self.placement, "expected one of " + ", ".join(PLACEMENTS))
        return self

    def merged(self, override: Profile) -> Profile:
        """This profile with every field that ``override`` sets replaced."""
        changes = {
            name: getattr(override, name)
            for name in self.__dataclass_fields__
            if getattr(override, name) is not None
        }
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class HeartRate:
    """Heart rate samples. ``rr_ms`` holds one RR interval per sample where the device sent
    one (NaN elsewhere), or is None when the source has no RR at all."""

    t: NDArray[np.float64]
    bpm: NDArray[np.float64]
    rr_ms: NDArray[np.float64] | None
    fs: float


@dataclass(frozen=True, slots=True)
class Acceleration:
    """Triaxial acceleration in g, shape ``(n, 3)``, float32 to halve the memory of long
    recordings (a 16-bit sensor needs no more)."""

    t: NDArray[np.float64]
    xyz: NDArray[np.float32]
    fs: float


@dataclass(frozen=True, slots=True)
class Speed:
    """Treadmill or footpod speed in metres per second."""

    t: NDArray[np.float64]
    mps: NDArray[np.float64]
    fs: float


@dataclass(frozen=True, slots=True)
class Series:
    """Another scalar channel: cadence (steps or revolutions per minute, as the device
    counts them), power (W), altitude (m) or grade (rise over run, a treadmill's
    incline). Workload channels: the classifier reads the trend of the workload from
    them."""

    t: NDArray[np.float64]
    values: NDArray[np.float64]
    fs: float


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a session came from and what normalising it changed.

    Attributes:
        source: the path or device the data came from.
        format: ``csv``, ``csv.gz``, ``parquet``, ``simulated``, ...
        start_time: absolute UTC start when the input had Unix-epoch times, else None.
        repairs: one human-readable line per repair (rows sorted, duplicates dropped, ...).
        sport: the activity's sport as the file names it (``running``, ``cycling``...).
        time_origin_s: the input's time that became 0 (the earliest sample), in the
            input's own time base (Unix seconds, or seconds from some start).
    """

    source: str
    format: str
    start_time: datetime | None = None
    repairs: tuple[str, ...] = ()
    sport: str | None = None
    time_origin_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Session:
    """One recorded session. Build it with :func:`build_session`, which normalises."""

    name: str
    profile: Profile
    provenance: Provenance
    hr: HeartRate | None = None
    acc: Acceleration | None = None
    speed: Speed | None = None
    cadence: Series | None = None
    power: Series | None = None
    altitude: Series | None = None
    grade: Series | None = None

    @property
    def duration_s(self) -> float:
        """From the session start to the end of the last sample of any stream."""
        streams = (self.hr, self.acc, self.speed, self.cadence, self.power, self.altitude,
                   self.grade)
        ends = [s.t[-1] + 1.0 / s.fs for s in streams if s is not None]
        return float(max(ends)) if ends else 0.0


def _all_finite(a: NDArray) -> bool:
    """Whether every value is finite, without a boolean array the size of ``a``: a sum is
    NaN or infinite when any value is; only a sum that overflows (huge finite float64
    values) needs the element-wise check."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum(dtype=np.float64)
    if np.isfinite(total):
        return True
    return bool(np.isfinite(a).all())


def _clean_times(
    t: NDArray[np.float64], name: str, repairs: list[str]
) -> tuple[NDArray[np.intp] | slice, NDArray[np.float64]]:
    """Order and de-duplicate times. Returns an index (or a no-op slice) and the new times.

    The common case, already strictly increasing, costs one comparison pass and no copy.
    """
    keep: NDArray[np.intp] | slice = slice(None)
    if not _all_finite(t):
        finite = np.isfinite(t)
        n_bad = int((~finite).sum())
        repairs.append(f"{name}: dropped {n_bad} rows with a missing or non-finite time")
        keep = np.flatnonzero(finite)
        t = t[keep]
    increasing = t[1:] > t[:-1]
    if increasing.all():
        return keep, t
    order = np.argsort(t, kind="stable")
    if not (t[1:] >= t[:-1]).all():
        repairs.append(f"{name}: times were not in order; sorted")
    t = t[order]
    unique = np.ones(t.size, dtype=bool)
    unique[1:] = t[1:] != t[:-1]
    n_dup = int(t.size - unique.sum())
    if n_dup:
        repairs.append(f"{name}: dropped {n_dup} rows with a duplicated time (kept the first)")
    order = order[unique]
    index = order if isinstance(keep, slice) else keep[order]
    return index, t[unique]


def _rate(t: NDArray[np.float64], sample: int = 100_000) -> float:
    """Nominal sample rate: 1 / the median time step. For long streams the median is taken
    over a few evenly spread blocks of ``sample`` steps, not all 60 million."""
    if t.size < 2:
        return 1.0
    if t.size <= 4 * sample:
        steps = np.diff(t)
    else:
        starts = np.linspace(0, t.size - sample - 1, 4).astype(np.int64)
        steps = np.concatenate([np.diff(t[s : s + sample + 1]) for s in starts])
    step = float(np.median(steps))
    return 1.0 / step if step > 0 else 1.0


def _as_float(values: ArrayLike, dtype: type = np.float64) -> NDArray:
    return np.asarray(values, dtype=dtype)


def build_session(
    name: str,
    *,
    hr: tuple[ArrayLike, ArrayLike] | tuple[ArrayLike, ArrayLike, ArrayLike | None] | None = None,
    acc: tuple[ArrayLike, ArrayLike] | None = None,
    speed: tuple[ArrayLike, ArrayLike] | None = None,
    cadence: tuple[ArrayLike, ArrayLike] | None = None,
    power: tuple[ArrayLike, ArrayLike] | None = None,
    altitude: tuple[ArrayLike, ArrayLike] | None = None,
    grade: tuple[ArrayLike, ArrayLike] | None = None,
    profile: Profile | None = None,
    source: str = "<memory>",
    format: str = "memory",
    start_time: datetime | None = None,
    repairs: tuple[str, ...] = (),
    sport: str | None = None,
) -> Session:
    """Normalise raw streams into a :class:`Session`.

    Args:
        name: the session's name (used for output folders).
        hr: ``(time_s, bpm)`` or ``(time_s, bpm, rr_ms)``.
        acc: ``(time_s, xyz)`` with ``xyz`` of shape ``(n, 3)`` in g.
        speed: ``(time_s, speed_mps)``.
        cadence, power: ``(time_s, values)``: steps (or revolutions) per minute, watts.
        altitude, grade: ``(time_s, values)``: metres; rise over run (0.05 = 5 %).
        profile: the participant; validated here.
        source, format: provenance.
        start_time: absolute start, when known from elsewhere (e.g. a file header).
        repairs: repairs a reader already made, to keep with the session.
        sport: the activity's sport, when the file names one.

    Times may be unsorted, duplicated and gappy, in Unix-epoch seconds or from the start.
    Rows with a non-finite time are dropped; rows with a non-finite value are dropped from
    that stream (a gap). Every change is listed in ``provenance.repairs``.

    Raises:
        InputError: when no stream has any usable sample.
    """
    profile = (profile or Profile()).validate(source)
    notes = list(repairs)
    raw: dict[str, tuple[NDArray[np.float64], tuple[NDArray, ...]]] = {}
    if hr is not None:
        t_hr, bpm, *rest = hr
        rr = rest[0] if rest else None
        values = (_as_float(bpm),) + (() if rr is None else (_as_float(rr),))
        raw["hr"] = (_as_float(t_hr), values)
    if acc is not None:
        xyz = np.asarray(acc[1], dtype=np.float32)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise InputError(f"acceleration must have 3 columns, got shape {xyz.shape}", source=source)
        raw["acc"] = (_as_float(acc[0]), (xyz,))
    for stream, given in (("speed", speed), ("cadence", cadence), ("power", power),
                          ("altitude", altitude), ("grade", grade)):
        if given is not None:
            raw[stream] = (_as_float(given[0]), (_as_float(given[1]),))

    for stream, (t, values) in raw.items():
        for v in values:
            if len(v) != len(t):
                raise InputError(
                    f"{stream}: {len(t)} times but {len(v)} values", source=source,
                    hint="every row needs a time and a value",
                )

    cleaned: dict[str, tuple[NDArray[np.float64], tuple[NDArray, ...]]] = {}
    for stream, (t, values) in raw.items():
        index, t_clean = _clean_times(t, stream, notes)
        values = tuple(v[index] for v in values)
        # A sample whose main value is missing is a gap, not a zero.
        main = values[0]
        if _all_finite(main):  # one flat pass; per-row only when something is missing
            ok = None
        else:
            ok = np.isfinite(main).all(axis=1) if main.ndim == 2 else np.isfinite(main)
        if ok is not None:
            n_bad = int((~ok).sum())
            notes.append(f"{stream}: dropped {n_bad} samples with a missing value (left as gaps)")
            t_clean = t_clean[ok]
            values = tuple(v[ok] for v in values)
        if t_clean.size:
            cleaned[stream] = (t_clean, values)

    if not cleaned:
        raise InputError(
            "no usable heart-rate, acceleration, speed, cadence or power samples",
            source=source,
            hint="a session needs heart rate or acceleration with at least one valid row",
        )
    if "hr" not in cleaned and "acc" not in cleaned:
        raise InputError(
            "the session has neither heart rate nor acceleration",
            source=source,
            hint="add hr.csv or acc.csv (speed alone cannot give relative intensity)",
        )

    t0 = min(float(t[0]) for t, _ in cleaned.values())
    if start_time is None and t0 > UNIX_EPOCH_THRESHOLD:
        try:
            start_time = datetime.fromtimestamp(t0, UTC)
        except (OverflowError, OSError, ValueError):
            raise InputError(
                f"first time {t0:.6g} s is not a date a clock can show (beyond year 9999)",
                source=source,
                hint="times must be seconds; divide milliseconds by 1000",
            ) from None
    if t0 != 0.0:
        # A new array: the cleaned times may still be the caller's own (no copy was needed).
        cleaned = {k: (t - t0, values) for k, (t, values) in cleaned.items()}

    streams: dict[str, object] = {}
    if "hr" in cleaned:
        t, (bpm, *rr) = cleaned["hr"]
        streams["hr"] = HeartRate(t=t, bpm=bpm, rr_ms=rr[0] if rr else None, fs=_rate(t))
    if "acc" in cleaned:
        t, (xyz,) = cleaned["acc"]
        streams["acc"] = Acceleration(t=t, xyz=np.ascontiguousarray(xyz), fs=_rate(t))
    if "speed" in cleaned:
        t, (mps,) = cleaned["speed"]
        streams["speed"] = Speed(t=t, mps=mps, fs=_rate(t))
    for stream in ("cadence", "power", "altitude", "grade"):
        if stream in cleaned:
            t, (values,) = cleaned[stream]
            streams[stream] = Series(t=t, values=values, fs=_rate(t))

    provenance = Provenance(
        source=source, format=format, start_time=start_time, repairs=tuple(notes),
        sport=sport, time_origin_s=t0,
    )
    return Session(name=name, profile=profile, provenance=provenance, **streams)
