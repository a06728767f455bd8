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
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import InputError, ProfileError, quote, sanitise
from .passes import all_finite, nan_span, strictly_increasing

PLACEMENTS = ("wrist", "chest", "hip")
PROFILE_LIMITS = {"age": (5, 120), "hr_rest": (25, 120), "hr_max": (100, 240),
                  "weight_kg": (20, 350)}
"""The possible range of each number of a profile (years, bpm, bpm, kg): a value outside is
a typing error. The participant's calibration file is held to the same ranges."""

# Times above this are taken as Unix-epoch seconds (1973-03-03); below, as seconds from start.
UNIX_EPOCH_THRESHOLD = 1.0e8

# What a session may be (issue 14: one stray time must not allocate gigabytes, a gap is a
# gap, a wrong time base is refused). The analysis works on a grid from the first to the
# last sample, so its memory follows the span, not the data: these bound the span.
MAX_SPAN_S = 31 * 86_400.0
"""A session spans at most this long (after stray samples are cut off): 31 days. A longer
recording must be split; a 31-day heart-rate grid is 21 MB."""
STRAY_GAP_S = MAX_SPAN_S
"""Samples at either end of a stream that lie further from the rest than a session can
last (a zero time in a recording, one time typed wrong)..."""
STRAY_FRACTION = 0.01
"""...and are at most this fraction of the stream's samples are a clock or file error:
they are cut off with a repair note. Closer ones are real data after a gap, and stay:
the gap is a gap."""
MAX_SAMPLE_PERIOD_S = 10.0
"""A session ends one sample period after its last sample, but never more than this after
it (two readings a day apart do not make a session one day longer)."""
# The median sample step of each stream, in seconds, that a device gives (heart rate:
# 2 Hz to once a minute; acceleration: 10 to 200 Hz, SPEC). A median step that is one of
# these times 1e3, 1e6 or 1e9 is milliseconds, microseconds or nanoseconds counted from
# the start (epoch-based times of those units are refused as dates beyond year 9999).
STEP_RANGE_S = {"hr": (0.5, 60.0), "acc": (0.004, 0.11)}
MAX_MEDIAN_STEP_S = {"hr": 60.0, "acc": 1.0}
MIN_HR_STEP_S = 0.2
"""Heart rate sampled more densely than this (5 Hz) is denser than any heart beats
(300 bpm); such a stream is only real when it was repeated on another stream's clock
(a table of acceleration at 100 Hz with its heart rate on every row)..."""
MAX_HR_CHANGES_PER_S = 4.0
"""...and then its value changes at most once a beat (4 a second is 240 bpm). A stream
denser than :data:`MIN_HR_STEP_S` whose value changes more often than this has times that
are not seconds (minutes, or spreadsheet serial days, read as seconds)."""
MIN_ACC_STEP_S = 1 / 3200
"""Acceleration sampled more densely than this (3200 Hz, the fastest an Axivity AX3
records) has times that are not seconds."""
EXCEL_SERIAL_DAYS = (25_569.0, 73_051.0)
"""Spreadsheet serial day numbers of 1970-01-01 and 2100-01-01 (days since 1899-12-30):
relative times in this range that step by a fraction of a second are serial days."""
HR_RANGE_BPM = (25.0, 250.0)
"""Heart rates a person can have; the plausibility check below asks how many samples
lie in it (the analysis has its own, configurable, artefact limits)."""
MIN_PLAUSIBLE_HR_FRACTION = 0.1
"""A heart-rate stream with fewer of its samples in :data:`HR_RANGE_BPM` than this, and
nearly all above it, is not heart rate in bpm: it is refused with what it looks like."""
# Values no sensor reports for a person; beyond them a value is a gap, with a repair note.
# Heart rate keeps what devices write for "no reading" (0, -1, 255) and artefacts such as
# 300 bpm: the analysis removes those and counts them; only absurd magnitudes go here.
PLAUSIBLE = {
    "hr": (-1_000.0, 1_000.0, "bpm"),
    "acc": (-100.0, 100.0, "g"),
    "speed": (0.0, 50.0, "m/s"),
    "cadence": (0.0, 400.0, "per minute"),
    "power": (0.0, 5_000.0, "W"),
    "altitude": (-500.0, 9_000.0, "m"),
    "grade": (-1.0, 1.0, "(rise over run)"),
}
EARLIEST_START = datetime(1990, 1, 1, tzinfo=UTC)
"""Wearable recordings start after this; an earlier date is a clock that was never set."""
FUTURE_TOLERANCE_S = 365 * 86_400.0
"""A start more than this after now is a wrong clock, not a recording (a year: computer
clocks are wrong too, and a simulated study may be planned ahead)."""


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
            shown = quote(value) if isinstance(value, str | bytes) else sanitise(repr(value))
            return ProfileError(
                f"profile value {field_name} = {shown} is not possible ({allowed})",
                source=source,
                hint=f"correct {field_name} or remove it so that it is estimated",
            )

        for name, (lo, hi) in PROFILE_LIMITS.items():
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
    recordings (a 16-bit sensor needs no more). Contiguous in row order (``x, y, z`` of a
    sample side by side), or in column order (each axis one run of memory: what a
    column file such as Parquet is read into, since every axis is then copied in one
    block and the features read one axis at a time)."""

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
class Notice:
    """What the user must hear about an input beyond its sessions' repairs: an archive
    member that could not be read (``kind`` ``failed``) or that is not an activity but may
    be a recording (``ignored``), or a reader's decision to check (``check``: a unit that
    fits two readings). The batch lists these with its failures, its skipped files and on
    the console.

    Attributes:
        kind: ``failed``, ``ignored`` or ``check``.
        source: the file, as ``archive.zip!member``.
        reason: why it was not read.
        hint: what to do.
    """

    kind: str
    source: str
    reason: str
    hint: str = ""


_TRUNCATED = re.compile(r"\b(truncated|cut short|ends early|stops early)\b")
_OTHER_FILES = re.compile(r"^\d+ archive members")


_DAMAGED = re.compile(r"\bdamaged\b")


_UNSET_CLOCK_NOTE = re.compile(r"the device's clock was not set")
NAIVE_AS_UTC = "taken as UTC"
"""How a reader's repair note ends when it read times recorded without a zone (local
wall-clock times) as if they were UTC; :func:`dosewatch.ingest.clock.localize` then reads
them in the study's zone and rewrites the note to name it."""


def naive_times(repairs: Iterable[str]) -> bool:
    """Whether a reader read times without a zone as UTC (a note with
    :data:`NAIVE_AS_UTC`)."""
    return any(NAIVE_AS_UTC in note for note in repairs)


def damage(repairs: Iterable[str]) -> str | None:
    """The repair note that says part of the input was damaged and left out as gaps
    (a raw-accelerometer file's data blocks with a bad checksum, bytes outside valid
    records), or None: the console names such an input (review 2026-11-25c, item 10)."""
    for note in repairs:
        if _DAMAGED.search(note):
            return note
    return None


def truncation(repairs: Iterable[str]) -> str | None:
    """The repair note that says the input was cut short (a FIT, TCX or gzip stream that
    ends early, read for what it holds), or None. Notes about other files of an archive
    (its members not read) do not count: they are :class:`Notice` s."""
    for note in repairs:
        if _TRUNCATED.search(note) and not _OTHER_FILES.match(note):
            return note
    return None


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
        device_profile: the profile fields whose value the input file itself stored (a
            watch's own settings, such as a FIT file's resting heart rate), not a person:
            a researcher's calibration value comes before them (see
            :func:`dosewatch.features.hr.resolve_params`).
        notices: other files of the input that were not read (archive members), and
            decisions to check (:class:`Notice`).
    """

    source: str
    format: str
    start_time: datetime | None = None
    repairs: tuple[str, ...] = ()
    sport: str | None = None
    time_origin_s: float = 0.0
    device_profile: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()


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
        """From the session start to the end of the last sample of any stream (one sample
        period after it, at most :data:`MAX_SAMPLE_PERIOD_S`)."""
        streams = (self.hr, self.acc, self.speed, self.cadence, self.power, self.altitude,
                   self.grade)
        ends = [s.t[-1] + min(1.0 / s.fs, MAX_SAMPLE_PERIOD_S) for s in streams
                if s is not None]
        return float(max(ends)) if ends else 0.0

    def with_repairs(self, notes: Iterable[str]) -> Session:
        """This session with ``notes`` added at the end of its provenance's repairs."""
        provenance = replace(self.provenance, repairs=self.provenance.repairs + tuple(notes))
        return replace(self, provenance=provenance)

    def with_profile(self, override: Profile) -> Session:
        """This session with every profile field ``override`` sets replaced; a field the
        input file had stored is then a person's value, no longer the device's (see
        :attr:`Provenance.device_profile`)."""
        given = {name for name in Profile.__dataclass_fields__
                 if getattr(override, name) is not None}
        provenance = replace(self.provenance, device_profile=tuple(
            name for name in self.provenance.device_profile if name not in given))
        return replace(self, profile=self.profile.merged(override), provenance=provenance)

    def with_notices(self, notices: Iterable[Notice]) -> Session:
        """This session with ``notices`` added to its provenance's."""
        provenance = replace(self.provenance,
                             notices=self.provenance.notices + tuple(notices))
        return replace(self, provenance=provenance)


def _clean_times(
    t: NDArray[np.float64], name: str, repairs: list[str]
) -> tuple[NDArray[np.intp] | slice, NDArray[np.float64]]:
    """Order and de-duplicate times. Returns an index (or a no-op slice) and the new times.

    The common case, already strictly increasing, costs one comparison pass and no copy.
    """
    keep: NDArray[np.intp] | slice = slice(None)
    if not all_finite(t):
        finite = np.isfinite(t)
        n_bad = int((~finite).sum())
        repairs.append(f"{name}: dropped {n_bad} rows with a missing or non-finite time")
        keep = np.flatnonzero(finite)
        t = t[keep]
    if strictly_increasing(t):
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
    try:
        with np.errstate(over="ignore"):  # beyond float32: inf, dropped as a gap later
            return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"values that are not numbers ({type(exc).__name__})",
                         hint="every time and value must be a number") from None


def time_unit(median_step_s: float, stream: str) -> str | None:
    """What a stream's median step says its times are, when not seconds: ``milliseconds``,
    ``microseconds`` or ``nanoseconds`` (the step in that unit is one the stream's devices
    give, :data:`STEP_RANGE_S`), else None."""
    if stream not in STEP_RANGE_S or not median_step_s > 0:
        return None
    lo, hi = STEP_RANGE_S[stream]
    for unit, factor in (("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)):
        if lo <= median_step_s / factor <= hi:
            return unit
    return None


def _check_time_base(stream: str, t: NDArray[np.float64], source: str) -> None:
    """Refuse a heart-rate or acceleration stream whose samples are far too sparse for
    seconds: relative times in ms/us/ns (epoch-based ones fail as dates), or a stream too
    sparse to analyse per minute."""
    limit = MAX_MEDIAN_STEP_S.get(stream)
    if limit is None or t.size < 10:
        return
    step = 1.0 / _rate(t)
    if step <= limit:
        return
    what = {"hr": "heart-rate", "acc": "acceleration"}[stream]
    unit = time_unit(step, stream)
    if unit is not None:
        factor = {"milliseconds": "1000", "microseconds": "1e6", "nanoseconds": "1e9"}[unit]
        raise InputError(
            f"{what} samples are {step:.6g} s apart (median): the times look like {unit} "
            "from the start, not seconds", source=source,
            hint=f"times must be seconds: divide them by {factor}")
    raise InputError(
        f"{what} samples are {step:.6g} s apart (median), too sparse to analyse minute by "
        f"minute (at most {limit:g} s)", source=source,
        hint="export the recording at its full rate; times must be seconds")


def _time_unit_hint(t: NDArray[np.float64], step: float, stream: str = "hr") -> str:
    """What unit dense times of ``stream`` (``t``: the input's own times) look like, as a
    hint naming the ``--columns`` option that says so."""
    lo, hi = STEP_RANGE_S[stream]
    first = float(t[0])
    if EXCEL_SERIAL_DAYS[0] <= first <= EXCEL_SERIAL_DAYS[1] and lo <= step * 86_400 <= hi:
        day = datetime.fromtimestamp((first - EXCEL_SERIAL_DAYS[0]) * 86_400, UTC)
        return (f"the times look like spreadsheet serial days ({first:.6g} is "
                f"{day:%Y-%m-%d %H:%M}): say so with --columns time_unit=excel, or save the "
                "time column as date-times (2026-03-01 10:00:00)")
    for unit, name, factor in (("min", "minutes", 60.0), ("h", "hours", 3600.0)):
        if lo <= step * factor <= hi:
            return (f"the times look like {name} from the start: say so with --columns "
                    f"time_unit={unit}")
    return ("give the time column's unit with --columns time_unit=s, ms, us, ns, min, h "
            "or excel")


def _check_dense_acc(cleaned: _Raw, source: str) -> None:
    """Refuse acceleration sampled more densely than any accelerometer records
    (:data:`MIN_ACC_STEP_S`): its times are not seconds."""
    if "acc" not in cleaned or cleaned["acc"][0].size < 10:
        return
    t = cleaned["acc"][0]
    step = 1.0 / _rate(t)
    if step >= MIN_ACC_STEP_S:
        return
    raise InputError(
        f"acceleration samples are {step:.3g} s apart (median), {1 / step:,.0f} a second: "
        f"more than any accelerometer records ({1 / MIN_ACC_STEP_S:,.0f}): the times are "
        "not seconds", source=source, hint=_time_unit_hint(t, step, "acc"))


def _check_dense_hr(cleaned: _Raw, source: str) -> None:
    """Refuse heart rate whose times cannot be seconds: denser than a heart beats and
    changing value more often than it could (see :data:`MIN_HR_STEP_S`); a stream held on
    a plausible acceleration clock, or changing at most once a beat, is kept."""
    if "hr" not in cleaned:
        return
    t, (bpm, *_) = cleaned["hr"]
    if t.size < 10:
        return
    step = 1.0 / _rate(t)
    if step >= MIN_HR_STEP_S:
        return
    if "acc" in cleaned:
        acc_step = 1.0 / _rate(cleaned["acc"][0])
        if STEP_RANGE_S["acc"][0] <= acc_step and step >= 0.5 * acc_step:
            return  # heart rate repeated on the acceleration's rows
    span = float(t[-1] - t[0])
    changes = int(np.count_nonzero(bpm[1:] != bpm[:-1]))
    if span > 0 and changes / span <= MAX_HR_CHANGES_PER_S:
        return
    per_s = changes / span if span > 0 else float("inf")
    raise InputError(
        f"heart-rate samples are {step:.3g} s apart (median) and the rate changes "
        f"{per_s:,.0f} times a second, faster than a heart beats: the times are not "
        f"seconds (as seconds the session would last {span:.3g} s)", source=source,
        hint=_time_unit_hint(t, step))


def check_heart_rate_values(session: Session) -> None:
    """Refuse a heart-rate stream that is not heart rate in bpm: almost no sample a
    person can have (:data:`HR_RANGE_BPM`) and nearly all above it, with what the values
    look like: RR intervals in milliseconds (600–1200 for 50–100 bpm) or tenths of bpm.
    A stream that is mostly plausible is left to the analysis, which removes artefacts.

    Raises:
        InputError: naming the values' median and the likely cause.
    """
    hr = session.hr
    if hr is None or hr.bpm.size < 10:
        return
    bpm = hr.bpm[np.isfinite(hr.bpm)]
    if bpm.size < 10:
        return
    lo, hi = HR_RANGE_BPM
    plausible = np.count_nonzero((bpm >= lo) & (bpm <= hi)) / bpm.size
    above = np.count_nonzero(bpm > hi) / bpm.size
    if plausible >= MIN_PLAUSIBLE_HR_FRACTION or above < 1 - MIN_PLAUSIBLE_HR_FRACTION:
        return
    high = bpm[bpm > hi]
    median = float(np.median(high))
    rr = (f"RR intervals in milliseconds ({60_000 / median:.0f} bpm as such): give the "
          "column the role rr with --columns rr=COLUMN")
    tenths = f"heart rate in tenths of bpm ({median / 10:.0f} bpm): divide the column by 10"
    causes = [c for c, fits in ((rr, lo <= 60_000.0 / median <= hi),
                                (tenths, lo <= median / 10 <= hi)) if fits]
    # Whole bpm times ten are all multiples of 10; RR intervals (1 ms or 1/1024 s steps)
    # are not: the likelier cause first.
    if len(causes) == 2 and np.count_nonzero(high % 10 == 0) >= 0.95 * high.size:
        causes.reverse()
    raise InputError(
        f"heart rate: {100 * plausible:.0f} % of the values are heart rates a person can "
        f"have ({lo:g}–{hi:g} bpm); their median is {median:.4g}",
        source=session.provenance.source,
        hint=("they look like " + "; or like ".join(causes)) if causes else
        "check that the column is heart rate in beats per minute (--columns hr=COLUMN)")


def _implausible(stream: str, values: NDArray) -> NDArray[np.bool_] | None:
    """Which samples of ``values`` (rows, for acceleration) no sensor of ``stream``
    reports, or None when all are plausible."""
    lo, hi, _ = PLAUSIBLE[stream]
    if values.size == 0:
        return None
    # Without a temporary array (NaN left out); a week of acceleration is 180 million
    # values.
    low, high = nan_span(values)
    if low >= lo and high <= hi:
        return None
    with np.errstate(invalid="ignore"):
        bad = (values < lo) | (values > hi)
    if bad.ndim == 2:
        bad = bad.any(axis=1)
    return bad if bad.any() else None


_VALUES = {"hr": "bpm", "acc": "xyz", "speed": "mps", "cadence": "values", "power": "values",
           "altitude": "values", "grade": "values"}


def drop_implausible(session: Session) -> Session:
    """``session`` without the samples no sensor reports for a person (:data:`PLAUSIBLE`:
    a speed of 9e7 m/s, an acceleration of 6.7e9 g): each is a gap, with a repair note.
    Applied to every session read from a file (:func:`dosewatch.ingest.read_all`), after
    the unit check, so a milli-g or km/h column is converted first, never dropped.

    Raises:
        InputError: no plausible heart rate, acceleration, speed or power is left, or the
            heart rate is not in bpm (:func:`check_heart_rate_values`).
    """
    check_heart_rate_values(session)
    notes: list[str] = []
    changes: dict[str, object] = {}
    for name, field_name in _VALUES.items():
        stream = getattr(session, name)
        if stream is None:
            continue
        bad = _implausible(name, getattr(stream, field_name))
        if bad is None:
            continue
        lo, hi, unit = PLAUSIBLE[name]
        notes.append(f"{name}: {int(bad.sum())} values outside {lo:g}–{hi:g} {unit} are not "
                     "measurements (left as gaps)")
        keep = ~bad
        if not keep.any():
            changes[name] = None
            continue
        kept = {"t": stream.t[keep], field_name: getattr(stream, field_name)[keep]}
        if name == "hr" and stream.rr_ms is not None:
            kept["rr_ms"] = stream.rr_ms[keep]
        changes[name] = replace(stream, **kept)
    if not changes:
        return session
    updated = replace(session, **changes)
    if all(getattr(updated, stream) is None for stream in INTENSITY_STREAMS):
        raise InputError("no plausible heart rate, acceleration, speed or power ("
                         + "; ".join(notes) + ")",
                         source=session.provenance.source,
                         hint="check the file's units and values")
    return updated.with_repairs(notes)


def _cut_strays(t: NDArray[np.float64], stream: str, notes: list[str]) -> slice:
    """The part of a sorted stream without stray samples at its ends (see
    :data:`STRAY_GAP_S`); only the first and last :data:`STRAY_FRACTION` of the samples
    are looked at, so a long stream costs nothing."""
    n = t.size
    m = int(n * STRAY_FRACTION)
    if m == 0 or t[-1] - t[0] <= STRAY_GAP_S:
        return slice(None)
    head = np.flatnonzero(np.diff(t[: m + 1]) > STRAY_GAP_S)
    lo = int(head[-1]) + 1 if head.size else 0
    tail = np.flatnonzero(np.diff(t[n - m - 1 :]) > STRAY_GAP_S)
    hi = n - m + int(tail[0]) if tail.size else n
    if lo == 0 and hi == n:
        return slice(None)
    days = max(t[lo] - t[0], t[-1] - t[hi - 1]) / 86_400.0
    away = f"{days:.1f}" if days < 100 else f"{days:,.0f}"
    notes.append(f"{stream}: cut off {lo + n - hi} samples lying {away} days away from "
                 f"the other {hi - lo} (a clock or file error)")
    return slice(lo, hi)


UNSET_CLOCK_STARTS = (datetime(2000, 1, 1, tzinfo=UTC),)
"""Dates an unset device clock shows after 1990 (:data:`EARLIEST_START`): devices and EDF
converters count from 2000-01-01 00:00 when their clock was never set (1970 and 1980 midnights,
the other common ones, are before 1990 anyway)."""
UNSET_CLOCK_WINDOW_S = 15 * 60.0
"""A start less than this after one of :data:`UNSET_CLOCK_STARTS` is an unset clock, not a
recording: a quarter of an hour covers a device switched on and started soon after its
clock was reset (a true recording that starts then, at midnight on New Year's Day 2000, is
rare enough to be named unknown, with a note)."""
UNSET_CLOCK_HINT = ("analysed, but in no day or week (undated): set the device's clock "
                    "before recording")


def unset_clock(start: datetime) -> bool:
    """Whether ``start`` (naive: as UTC) is what a device shows when its clock was never
    set: before :data:`EARLIEST_START`, within :data:`UNSET_CLOCK_WINDOW_S` after one of
    :data:`UNSET_CLOCK_STARTS`, or more than :data:`FUTURE_TOLERANCE_S` ahead of now."""
    aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    latest = datetime.now(UTC).timestamp() + FUTURE_TOLERANCE_S
    if aware < EARLIEST_START or aware.timestamp() > latest:
        return True
    return any(0.0 <= (aware - placeholder).total_seconds() < UNSET_CLOCK_WINDOW_S
               for placeholder in UNSET_CLOCK_STARTS)


def _plausible_start(start: datetime | None, notes: list[str]) -> datetime | None:
    """``start``, or None (unknown) when no recording can have started then (see
    :func:`unset_clock`)."""
    if start is None or not unset_clock(start):
        return start
    notes.append(f"the start time {start.date().isoformat()} is not plausible (the "
                 "device's clock was not set): the start is left unknown")
    return None


_Raw = dict[str, tuple[NDArray[np.float64], tuple[NDArray, ...]]]


def _raw_streams(
    hr: tuple | None, acc: tuple | None, others: dict[str, tuple | None], source: str
) -> _Raw:
    """The given streams as float arrays, ``{stream: (times, (main values, [rr]))}``."""
    raw: _Raw = {}
    if hr is not None:
        t_hr, bpm, *rest = hr
        rr = rest[0] if rest else None
        values = (_as_float(bpm),) + (() if rr is None else (_as_float(rr),))
        raw["hr"] = (_as_float(t_hr), values)
    if acc is not None:
        xyz = _as_float(acc[1], np.float32)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise InputError(f"acceleration must have 3 columns, got shape {xyz.shape}",
                             source=source)
        raw["acc"] = (_as_float(acc[0]), (xyz,))
    for stream, given in others.items():
        if given is not None:
            raw[stream] = (_as_float(given[0]), (_as_float(given[1]),))
    return raw


def _check_columns(raw: _Raw, source: str) -> None:
    """Refuse streams that are not one time and one value (three for acceleration) per row."""
    for stream, (t, values) in raw.items():
        # One time per row, and per row one value (three for acceleration): arrays of
        # other shapes (a table passed whole, a scalar) are refused, not broadcast.
        if t.ndim != 1 or any(v.ndim != (2 if stream == "acc" and k == 0 else 1)
                              for k, v in enumerate(values)):
            shapes = ", ".join(str(a.shape) for a in (t, *values))
            raise InputError(f"{stream}: times and values must be columns (shapes: {shapes})",
                             source=source, hint="pass one-dimensional arrays of numbers")
        for v in values:
            if len(v) != len(t):
                raise InputError(
                    f"{stream}: {len(t)} times but {len(v)} values", source=source,
                    hint="every row needs a time and a value",
                )


def _clean_stream(
    stream: str, t: NDArray[np.float64], values: tuple[NDArray, ...], notes: list[str]
) -> tuple[NDArray[np.float64], tuple[NDArray, ...]]:
    """One stream sorted, de-duplicated, without missing values and stray end samples;
    every change noted in ``notes``."""
    index, t_clean = _clean_times(t, stream, notes)
    values = tuple(v[index] for v in values)
    # A sample whose main value is missing is a gap, not a zero.
    main = values[0]
    if all_finite(main):  # one flat pass; per-row only when something is missing
        ok = None
    else:
        ok = np.isfinite(main).all(axis=1) if main.ndim == 2 else np.isfinite(main)
    if ok is not None:
        n_bad = int((~ok).sum())
        notes.append(f"{stream}: dropped {n_bad} samples with a missing value (left as gaps)")
        t_clean = t_clean[ok]
        values = tuple(v[ok] for v in values)
    if t_clean.size:
        keep = _cut_strays(t_clean, stream, notes)
        if keep != slice(None):
            t_clean, values = t_clean[keep], tuple(v[keep] for v in values)
    return t_clean, values


# Streams a session's intensity can be read from (cadence alone cannot: it says nothing
# of speed or power).
INTENSITY_STREAMS = ("hr", "acc", "speed", "power")


def _require_intensity_stream(cleaned: _Raw, source: str) -> None:
    """Refuse a session with no usable sample, or with no stream its intensity can be read
    from (:data:`INTENSITY_STREAMS`)."""
    if not cleaned:
        raise InputError(
            "no usable heart-rate, acceleration, speed, cadence or power samples",
            source=source,
            hint="a session needs heart rate or acceleration with at least one valid row",
        )
    if not any(stream in cleaned for stream in INTENSITY_STREAMS):
        raise InputError(
            "the session has neither heart rate, acceleration, speed nor power",
            source=source,
            hint="add hr.csv or acc.csv (cadence alone cannot give relative intensity)",
        )


def _session_origin(
    cleaned: _Raw, start_time: datetime | None, source: str, notes: list[str]
) -> tuple[float, datetime | None]:
    """The input time that becomes 0 (the earliest sample) and the absolute start: the
    given one, or the first time when it is Unix-epoch seconds; left unknown when it is
    not plausible. Refuses a span longer than :data:`MAX_SPAN_S`."""
    for stream, (t, _) in cleaned.items():
        _check_time_base(stream, t, source)
    _check_dense_hr(cleaned, source)
    _check_dense_acc(cleaned, source)
    t0 = min(float(t[0]) for t, _ in cleaned.values())
    span = max(float(t[-1]) for t, _ in cleaned.values()) - t0
    if span > MAX_SPAN_S:
        raise InputError(
            f"the samples span {span / 86_400:.4g} days; a session spans at most "
            f"{MAX_SPAN_S / 86_400:g} days", source=source,
            hint="split the recording into sessions, or check the times (a clock error, or "
            "times that are not seconds)")
    if start_time is None and t0 > UNIX_EPOCH_THRESHOLD:
        try:
            start_time = datetime.fromtimestamp(t0, UTC)
        except (OverflowError, OSError, ValueError):
            raise InputError(
                f"first time {t0:.6g} s is not a date a clock can show (beyond year 9999)",
                source=source,
                hint="times must be seconds; divide milliseconds by 1000",
            ) from None
    return t0, _plausible_start(start_time, notes)


def _contiguous(xyz: NDArray[np.float32]) -> NDArray[np.float32]:
    """``xyz`` as it is when it is one block of memory in row or column order, else copied
    in row order."""
    return xyz if xyz.flags.c_contiguous or xyz.flags.f_contiguous else np.ascontiguousarray(xyz)


def _typed_streams(cleaned: _Raw) -> dict[str, object]:
    """The cleaned arrays as the session's typed streams, each with its nominal rate."""
    streams: dict[str, object] = {}
    if "hr" in cleaned:
        t, (bpm, *rr) = cleaned["hr"]
        streams["hr"] = HeartRate(t=t, bpm=bpm, rr_ms=rr[0] if rr else None, fs=_rate(t))
    if "acc" in cleaned:
        t, (xyz,) = cleaned["acc"]
        streams["acc"] = Acceleration(t=t, xyz=_contiguous(xyz), fs=_rate(t))
    if "speed" in cleaned:
        t, (mps,) = cleaned["speed"]
        streams["speed"] = Speed(t=t, mps=mps, fs=_rate(t))
    for stream in ("cadence", "power", "altitude", "grade"):
        if stream in cleaned:
            t, (values,) = cleaned[stream]
            streams[stream] = Series(t=t, values=values, fs=_rate(t))
    return streams


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
    device_profile: tuple[str, ...] = (),
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
        device_profile: which of ``profile``'s fields the file itself stored (see
            :class:`Provenance`).

    Times may be unsorted, duplicated and gappy, in Unix-epoch seconds or from the start.
    Rows with a non-finite time are dropped; rows with a non-finite value are dropped from
    that stream (a gap). Every change is listed in ``provenance.repairs``.

    Raises:
        InputError: when no stream has any usable sample.
    """
    profile = (profile or Profile()).validate(source)
    notes = list(repairs)
    raw = _raw_streams(hr, acc, {"speed": speed, "cadence": cadence, "power": power,
                                 "altitude": altitude, "grade": grade}, source)
    _check_columns(raw, source)
    cleaned: _Raw = {}
    for stream, (t, values) in raw.items():
        t_clean, values = _clean_stream(stream, t, values, notes)
        if t_clean.size:
            cleaned[stream] = (t_clean, values)
    _require_intensity_stream(cleaned, source)
    given_notes = len(notes)
    t0, start_time = _session_origin(cleaned, start_time, source, notes)
    # An unset clock is a repair note and a decision to check (the console names it).
    notices = tuple(Notice("check", source, note, UNSET_CLOCK_HINT)
                    for note in notes[given_notes:] if _UNSET_CLOCK_NOTE.search(note))
    if t0 != 0.0:
        # A new array: the cleaned times may still be the caller's own (no copy was needed).
        cleaned = {k: (t - t0, values) for k, (t, values) in cleaned.items()}
    provenance = Provenance(
        source=source, format=format, start_time=start_time, repairs=tuple(notes),
        sport=sport, time_origin_s=t0, device_profile=tuple(device_profile),
        notices=notices,
    )
    return Session(name=name, profile=profile, provenance=provenance,
                   **_typed_streams(cleaned))
