"""Free-living recordings: a band worn for days is not one exercise session.

A research accelerometer worn for a week (or a week of heart rate and acceleration in a
session folder) holds sleep, sitting, walks to the shop, the band lying on the charger, and
now and then a run. Analysed whole it would give one class and one row, and weekly
adherence would count one session where the participant ran four times. This module finds
what the recording holds, minute by minute, and cuts the exercise out as sessions of their
own, each analysed with its own class and bouts.

The steps (thresholds in ``[free_living]`` of the configuration):

1. **A minute summary**, vectorised, from blocks of about a second of the acceleration,
   each of every k-th sample (about 20 Hz: every 5th at 100 Hz; a mean and a standard
   deviation need no more, and a week at 100 Hz takes about a third of a second of CPU):
   per minute the mean ENMO (the vector magnitude above 1 g, as the epoch features define
   it), per axis the sums for a standard deviation and the lowest and highest block mean;
   and the median of the cleaned 1 Hz heart rate.
2. **Non-wear** (GGIR's 2013 rule, van Hees et al. 2013): a window of
   ``nonwear_window_min`` minutes (default 60) in which at least ``nonwear_axes`` axes
   have a standard deviation below ``nonwear_sd_g`` (13 mg) and a range below
   ``nonwear_range_g`` (50 mg) is non-wear, every minute of it. Windows slide by a minute
   (computed from cumulative sums, no loop over windows). The range is taken over 1-s
   means, so that a sensor's noise (a few mg on single samples, 8 mg on the simulator's)
   does not decide; orientation changes and movement do. A minute with heart rate is
   worn whatever the acceleration says. Without acceleration, a stretch of that length
   without heart rate is non-wear. Non-wear is never exercise, and is reported.
3. **Active minutes**: at least light intensity (``[levels] light_from``, 20 %HRR) by
   heart rate with the body moving (ENMO at least ``moving_enmo_g``); without heart rate
   in the minute, ENMO at or above the placement's light cut-point (``[acceleration]``,
   the ENMO of 20 %HRR). Sleep and sitting are not active; a raised heart rate in a
   still body is not either. HR_rest and HR_max for %HRR are resolved over the whole
   recording as the definitions say (profile, else a resting stretch, else defaults).
4. **Sessions**: runs of active minutes joined across breaks of at most ``join_gap_min``
   minutes, kept when they hold at least ``min_active_min`` active minutes (a session
   worth analysing holds exercise of at least light intensity for a sustained period;
   walking to the shop for a few minutes is not one). Each is extended by ``margin_min``
   minutes at both ends (the rest before, the warm-up and the cool-down), within worn
   time and short of its neighbours, and becomes a :class:`~dosewatch.session.Session`:
   the recording's streams in that span, the recording's profile, its own start time,
   named ``<recording>-<YYYY-MM-DD>-<HHMM>`` (local time of the study's time zone when
   ``[adherence] timezone`` is set).

A recording is free-living when it lasts at least ``min_recording_h`` hours (6) and is not
an activity file (:data:`ACTIVITY_FORMATS`, or any file that names its sport): those are
exercise sessions as recorded.
:func:`split_free_living` is the step ``batch.run_task`` and ``api.read_all`` take
between reading and analysis; each :class:`Recording` says what was found
(:meth:`Recording.summary`, written as ``recordings/<input>.json`` by the batch), and each
session's repairs name its recording, its non-wear and the other sessions found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from .config import Config
from .features.hr import HeartRateParams, clean, minute_stats, pct_hrr, resolve_params
from .session import Acceleration, HeartRate, Series, Session, Speed
from .spec.runs import runs, spans_mask

MINUTE_S = 60
SUMMARY_HZ = 20.0
"""Acceleration is summarised from samples taken at about this rate (every k-th)."""
MIN_COVERAGE = 0.5
"""A minute has a stream's value when at least this fraction of it is covered."""
ACTIVITY_FORMATS = frozenset({"fit", "fitcsv", "tcx", "gpx", "hrm", "pwx", "apple-health"})
"""Formats of activity files: a watch recorded them as one exercise session, however long
(an ultra with its stops is one session, not several)."""
RECORDINGS_DIR = "recordings"
"""Where the batch writes one summary per free-living input (beside the sessions)."""


@dataclass(frozen=True, eq=False)
class MinuteSummary:
    """What each minute of a recording holds (minute ``i`` is ``[60 i, 60 i + 60)`` s).

    Attributes:
        n: minutes.
        acc_coverage: fraction of the minute's acceleration present (0 without any).
        enmo_g: mean ENMO (NaN without acceleration).
        axis_n, axis_sum, axis_sumsq: samples per minute, and per axis (``(n, 3)``) the
            sums of values and squares of the summary's samples (g, g²).
        axis_lo, axis_hi: per axis the lowest and highest 1-s mean (NaN without data).
        hr_bpm: median of the cleaned heart rate (NaN below :data:`MIN_COVERAGE`).
        hr_1hz: the cleaned heart rate at each second (None without heart rate).
    """

    n: int
    acc_coverage: NDArray[np.float64]
    enmo_g: NDArray[np.float64]
    axis_n: NDArray[np.float64]
    axis_sum: NDArray[np.float64]
    axis_sumsq: NDArray[np.float64]
    axis_lo: NDArray[np.float64]
    axis_hi: NDArray[np.float64]
    hr_bpm: NDArray[np.float64]
    hr_1hz: NDArray[np.float64] | None

    @property
    def has_acc(self) -> NDArray[np.bool_]:
        return self.acc_coverage >= MIN_COVERAGE

    @property
    def has_hr(self) -> NDArray[np.bool_]:
        return np.isfinite(self.hr_bpm)


@dataclass(frozen=True)
class Found:
    """One exercise session found in a recording, in minutes from its start: the active
    span ``[start_min, end_min)`` and the analysed span with its margins."""

    start_min: int
    end_min: int
    active_min: int
    slice_start_min: int
    slice_end_min: int


@dataclass(frozen=True, eq=False)
class Recording:
    """What a free-living recording held.

    Attributes:
        name: the recording's session name (the input's stem).
        source, format: the input.
        start_time: absolute start, when known.
        duration_s: the recording's length.
        minutes: its minute summary.
        nonwear: per minute, non-wear.
        active: per minute, active (see the module text).
        found: the sessions found, in order.
        sessions: the sessions (one per ``found``), ready for analysis.
        hr_params: HR_rest and HR_max that found the active minutes (None without heart
            rate); each session's verdict resolves its own.
        placement: the sensor's placement the light cut-point was taken for.
        config: the thresholds used.
    """

    name: str
    source: str
    format: str
    start_time: datetime | None
    duration_s: float
    minutes: MinuteSummary
    nonwear: NDArray[np.bool_]
    active: NDArray[np.bool_]
    found: tuple[Found, ...]
    sessions: tuple[Session, ...]
    hr_params: HeartRateParams | None
    placement: str
    config: Config

    @property
    def no_data(self) -> NDArray[np.bool_]:
        """Minutes with neither acceleration nor heart rate (and not non-wear)."""
        return no_data_minutes(self.minutes, self.nonwear)

    def summary(self, used: Mapping[str, Mapping[str, object]] | None = None
                ) -> dict[str, object]:
        """The recording's summary (``recordings/<input>.json``): its length, worn time,
        non-wear and no-data periods and the sessions found, with the thresholds used.
        ``used``: per session name, the HR_rest and HR_max (with their sources) its
        verdict used, shown with each session; the recording's own
        (``to_find_sessions``) only found its active minutes, before any calibration of
        the participant was applied."""
        fl = self.config.free_living
        used = used or {}
        hp = self.hr_params
        nonwear = runs(self.nonwear)
        worn_min = int(self.minutes.n - self.nonwear.sum() - self.no_data.sum())
        out: dict[str, object] = {
            "recording": self.name,
            "source": self.source,
            "format": self.format,
            "start_time": None if self.start_time is None else self.start_time.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "worn_minutes": worn_min,
            "nonwear_minutes": int(self.nonwear.sum()),
            "no_data_minutes": int(self.no_data.sum()),
            "active_minutes": int(self.active.sum()),
            "nonwear": [self._span(int(a), int(b)) for a, b in nonwear],
            # The minutes without data, as periods too: the study report's wear per day
            # needs where they are, not only how many (review 2026-11-25c, item 5).
            "no_data": [self._span(int(a), int(b)) for a, b in runs(self.no_data)],
            "sessions": [
                {"session": s.name, **self._span(f.slice_start_min, f.slice_end_min),
                 "exercise": self._span(f.start_min, f.end_min),
                 "active_minutes": f.active_min, **used.get(s.name, {})}
                for f, s in zip(self.found, self.sessions, strict=True)
            ],
            "placement": self.placement,
            "to_find_sessions": {
                "hr_rest": None if hp is None else round(hp.hr_rest, 1),
                "hr_rest_source": None if hp is None else hp.hr_rest_source,
                "hr_max": None if hp is None else round(hp.hr_max, 1),
                "hr_max_source": None if hp is None else hp.hr_max_source,
                "note": "HR_rest and HR_max that found the active minutes of the whole "
                        "recording; each session's verdict used its own (with the "
                        "participant's calibration), given with the session",
            },
            "free_living": {k: getattr(fl, k) for k in fl.__dataclass_fields__},
        }
        if not self.found:
            out["note"] = ("no exercise session found: no stretch of at least "
                           f"{fl.min_active_min:g} active minutes (at least light intensity)")
        return out

    def _span(self, start_min: int, end_min: int) -> dict[str, object]:
        start_s = float(start_min * MINUTE_S)
        end_s = min(float(end_min * MINUTE_S), self.duration_s)
        span: dict[str, object] = {"start_s": start_s, "end_s": round(end_s, 3),
                                   "minutes": round((end_s - start_s) / MINUTE_S, 2)}
        if self.start_time is not None:
            span["start_time"] = (self.start_time + timedelta(seconds=start_s)).isoformat()
            span["end_time"] = (self.start_time + timedelta(seconds=end_s)).isoformat()
        return span


# --------------------------------------------------------------------------- summary


def _block_sums(xyz: NDArray[np.float32], step: int, per_block: int, chunk: int = 2048,
                threads: int = 2
                ) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Per block of ``per_block`` samples taken every ``step``-th: the sums of each axis
    and of its squares (``(3, n_blocks)``), and the sum of ENMO. A chunk of blocks at a
    time is copied axis-major, so every sum runs along contiguous memory (a block's sum
    is a matrix-vector product); the two halves of the recording go to ``threads``
    threads (NumPy releases the GIL; they write disjoint slices)."""
    k = step * per_block
    n_blocks = xyz.shape[0] // k
    s1 = np.empty((3, n_blocks), np.float32)
    s2 = np.empty((3, n_blocks), np.float32)
    enmo = np.empty(n_blocks, np.float32)
    ones = np.ones(per_block, np.float32)

    def part(first: int, last: int) -> None:
        x_buf = np.empty((3, chunk * per_block), np.float32)
        sq_buf = np.empty_like(x_buf)
        r_buf = np.empty(chunk * per_block, np.float32)
        for lo in range(first, last, chunk):
            hi = min(last, lo + chunk)
            b, m = hi - lo, (hi - lo) * per_block
            x, sq, r = x_buf[:, :m], sq_buf[:, :m], r_buf[:m]
            np.copyto(x, xyz[lo * k:hi * k:step].T)
            s1[:, lo:hi] = (x.reshape(3 * b, per_block) @ ones).reshape(3, b)
            np.square(x, out=sq)
            s2[:, lo:hi] = (sq.reshape(3 * b, per_block) @ ones).reshape(3, b)
            np.add(sq[0], sq[1], out=r)
            r += sq[2]
            np.sqrt(r, out=r)
            r -= 1.0
            np.maximum(r, 0.0, out=r)
            enmo[lo:hi] = r.reshape(b, per_block) @ ones

    bounds = np.linspace(0, n_blocks, max(1, threads) + 1).astype(int)
    if threads > 1 and n_blocks > 4 * chunk:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(part, bounds[:-1], bounds[1:]))
    else:
        part(0, n_blocks)
    return s1, s2, enmo


def _acc_minutes(acc: Acceleration, n_min: int) -> dict[str, NDArray[np.float64]]:
    """Per-minute acceleration summary from blocks of about a second, each of every
    ``step``-th sample (about :data:`SUMMARY_HZ`). A block whose samples span a gap is
    left out; a block belongs to the minute of its first sample."""
    fs = acc.fs
    step = max(1, int(fs // SUMMARY_HZ))
    per_block = max(1, round(fs / step))
    k = step * per_block
    s1, s2, enmo = _block_sums(acc.xyz, step, per_block)
    n_blocks = enmo.size
    t_first = acc.t[:n_blocks * k:k]
    t_last = acc.t[k - 1:n_blocks * k:k]
    valid = (t_last - t_first) <= 1.5 * k / fs
    minute = np.minimum(t_first // MINUTE_S, n_min).astype(np.int64)
    minute[~valid] = n_min  # an overflow bin, dropped

    def per_minute(values: NDArray[np.floating]) -> NDArray[np.float64]:
        return np.bincount(minute, weights=values, minlength=n_min + 1)[:n_min]

    blocks = per_minute(np.ones(n_blocks))
    count = blocks * per_block
    means = s1 / np.float32(per_block)
    lo = np.full((n_min, 3), np.nan)
    hi = np.full((n_min, 3), np.nan)
    order_ok = minute < n_min
    if order_ok.any():
        # Blocks are in time order: each minute's blocks are one contiguous run.
        used = np.flatnonzero(order_ok)
        m_used = minute[used]
        first = np.flatnonzero(np.diff(np.concatenate([[-1], m_used])) != 0)
        for axis in range(3):
            lo[m_used[first], axis] = np.minimum.reduceat(means[axis, used], first)
            hi[m_used[first], axis] = np.maximum.reduceat(means[axis, used], first)
    with np.errstate(invalid="ignore", divide="ignore"):
        enmo_m = np.where(count > 0, per_minute(enmo) / count, np.nan)
    return {
        "acc_coverage": np.minimum(count / (fs / step * MINUTE_S), 1.0),
        "enmo_g": enmo_m,
        "axis_n": count,
        "axis_sum": np.stack([per_minute(s1[a]) for a in range(3)], axis=1),
        "axis_sumsq": np.stack([per_minute(s2[a]) for a in range(3)], axis=1),
        "axis_lo": lo,
        "axis_hi": hi,
    }


def minute_summary(session: Session, config: Config) -> MinuteSummary:
    """The minute summary of a recording (see the module text)."""
    n_min = max(1, int(np.ceil(session.duration_s / MINUTE_S)))
    if session.acc is not None:
        acc = _acc_minutes(session.acc, n_min)
    else:
        nan3 = np.full((n_min, 3), np.nan)
        acc = {"acc_coverage": np.zeros(n_min), "enmo_g": np.full(n_min, np.nan),
               "axis_n": np.zeros(n_min), "axis_sum": np.zeros((n_min, 3)),
               "axis_sumsq": np.zeros((n_min, 3)), "axis_lo": nan3, "axis_hi": nan3.copy()}
    hr_1hz = None
    hr_bpm = np.full(n_min, np.nan)
    if session.hr is not None:
        hr_1hz = clean(session.hr, n_min * MINUTE_S, config).bpm
        median, _, coverage = minute_stats(hr_1hz)
        hr_bpm = np.where(coverage >= MIN_COVERAGE, median, np.nan)
    return MinuteSummary(n=n_min, hr_bpm=hr_bpm, hr_1hz=hr_1hz, **acc)


# --------------------------------------------------------------------------- non-wear


def nonwear_minutes(minutes: MinuteSummary, config: Config) -> NDArray[np.bool_]:
    """Per minute, non-wear (see the module text): every minute of a window in which the
    sensor lay still, unless the minute has heart rate."""
    fl = config.free_living
    w = max(1, round(fl.nonwear_window_min))
    n = minutes.n
    if w > n:
        return np.zeros(n, dtype=bool)
    if not minutes.has_acc.any():
        # Heart rate alone: a window without any heart rate is taken off.
        silent = runs(~minutes.has_hr)
        long = silent[(silent[:, 1] - silent[:, 0]) >= w]
        return spans_mask(long, n)

    def window_sums(x: NDArray[np.float64]) -> NDArray[np.float64]:
        c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
        return c[w:] - c[:-w]

    count = window_sums(minutes.axis_n)[:, None]
    s1 = window_sums(minutes.axis_sum)
    s2 = window_sums(minutes.axis_sumsq)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / count) / np.maximum(count - 1.0, 1.0)
    sd = np.sqrt(np.maximum(var, 0.0))
    lo = np.fmin.reduce(np.lib.stride_tricks.sliding_window_view(minutes.axis_lo, w, axis=0),
                        axis=-1)
    hi = np.fmax.reduce(np.lib.stride_tricks.sliding_window_view(minutes.axis_hi, w, axis=0),
                        axis=-1)
    with np.errstate(invalid="ignore"):
        still_axes = (sd < fl.nonwear_sd_g) & ((hi - lo) < fl.nonwear_range_g)
    covered = window_sums(minutes.has_acc.astype(np.float64)) >= 0.9 * w
    still = (still_axes.sum(axis=1) >= fl.nonwear_axes) & covered
    starts = np.flatnonzero(still)
    nonwear = spans_mask(np.stack([starts, starts + w], axis=1), n)
    return nonwear & ~minutes.has_hr


# --------------------------------------------------------------------------- sessions


def no_data_minutes(minutes: MinuteSummary, nonwear: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Minutes with neither acceleration nor heart rate, and not non-wear."""
    return ~minutes.has_acc & ~minutes.has_hr & ~nonwear


def placement_of(session: Session, config: Config) -> str:
    return session.profile.placement or config.acceleration.default_placement


def active_minutes(minutes: MinuteSummary, nonwear: NDArray[np.bool_],
                   hr_params: HeartRateParams | None, placement: str,
                   config: Config) -> NDArray[np.bool_]:
    """Per minute, exercise of at least light intensity (see the module text)."""
    fl = config.free_living
    light = config.levels.light_from
    enmo = np.nan_to_num(minutes.enmo_g, nan=0.0)
    cut = getattr(config.acceleration, f"{placement}_enmo_g")[0]
    by_acc = minutes.has_acc & (enmo >= cut)
    if hr_params is None:
        active = by_acc
    else:
        with np.errstate(invalid="ignore"):
            heart = pct_hrr(minutes.hr_bpm, hr_params) >= light
        moving = ~minutes.has_acc | (enmo >= fl.moving_enmo_g)
        active = np.where(minutes.has_hr, heart & moving, by_acc)
    return active & ~nonwear


def find_sessions(active: NDArray[np.bool_], nonwear: NDArray[np.bool_],
                  config: Config) -> list[Found]:
    """Sustained activity: runs of active minutes joined across short breaks, with at
    least ``min_active_min`` active minutes, extended by the margins."""
    fl = config.free_living
    n = active.size
    spans = runs(active)
    if spans.size == 0:
        return []
    gaps = spans[1:, 0] - spans[:-1, 1]
    group = np.concatenate([[0], np.cumsum(gaps > fl.join_gap_min)])
    first = np.flatnonzero(np.diff(np.concatenate([[-1], group])) != 0)
    starts = spans[first, 0]
    ends = spans[np.concatenate([first[1:] - 1, [len(spans) - 1]]), 1]
    counts = np.add.reduceat(spans[:, 1] - spans[:, 0], first)
    keep = counts >= fl.min_active_min
    starts, ends, counts = starts[keep], ends[keep], counts[keep]
    if starts.size == 0:
        return []
    margin = round(fl.margin_min)
    # Margins stay in worn time and short of the neighbours (split at the middle).
    index = np.arange(n)
    worn_from = np.maximum.accumulate(np.where(nonwear, index + 1, 0))  # after last non-wear
    worn_to = np.minimum.accumulate(np.where(nonwear, index, n)[::-1])[::-1]  # next non-wear
    middle = (ends[:-1] + starts[1:]) // 2
    lower = np.concatenate([[0], middle])
    upper = np.concatenate([middle, [n]])
    slice_start = np.maximum.reduce([starts - margin, lower, worn_from[starts]])
    slice_end = np.minimum.reduce([ends + margin, upper, worn_to[ends - 1]])
    return [Found(int(a), int(b), int(c), int(sa), int(sb))
            for a, b, c, sa, sb in zip(starts, ends, counts, slice_start, slice_end,
                                       strict=True)]


def slice_session(session: Session, start_s: float, end_s: float, name: str,
                  repairs: tuple[str, ...]) -> Session:
    """The session's streams in ``[start_s, end_s)``, as a session of their own that
    starts at its first sample (copies: the recording's arrays can be freed)."""
    names = ("hr", "acc", "speed", "cadence", "power", "altitude", "grade")
    ranges = {}
    for stream_name in names:
        stream = getattr(session, stream_name)
        if stream is None:
            continue
        i, j = np.searchsorted(stream.t, [start_s, end_s])
        if j > i:
            ranges[stream_name] = (stream, int(i), int(j))
    t0 = min(float(s.t[i]) for s, i, _ in ranges.values())
    streams: dict[str, object] = dict.fromkeys(names)
    for stream_name, (s, i, j) in ranges.items():
        t = s.t[i:j] - t0
        if isinstance(s, HeartRate):
            rr = None if s.rr_ms is None else s.rr_ms[i:j].copy()
            streams[stream_name] = HeartRate(t=t, bpm=s.bpm[i:j].copy(), rr_ms=rr, fs=s.fs)
        elif isinstance(s, Acceleration):
            streams[stream_name] = Acceleration(t=t, xyz=s.xyz[i:j].copy(), fs=s.fs)
        elif isinstance(s, Speed):
            streams[stream_name] = Speed(t=t, mps=s.mps[i:j].copy(), fs=s.fs)
        elif isinstance(s, Series):
            streams[stream_name] = Series(t=t, values=s.values[i:j].copy(), fs=s.fs)
    prov = session.provenance
    start = None if prov.start_time is None else prov.start_time + timedelta(seconds=t0)
    provenance = replace(prov, start_time=start, repairs=prov.repairs + repairs,
                         time_origin_s=prov.time_origin_s + t0)
    return Session(name=name, profile=session.profile, provenance=provenance,
                   **streams)  # type: ignore[arg-type]


def _local(start: datetime, config: Config) -> datetime:
    zone = config.adherence.timezone
    return start.astimezone(ZoneInfo(zone)) if zone else start


def session_name(base: str, start_time: datetime | None, start_s: float,
                 config: Config) -> str:
    """``<base>-<YYYY-MM-DD>-<HHMM>`` of a session's start (``<base>-day<D>-<HHMM>``
    from the recording's start when its date is unknown)."""
    if start_time is not None:
        local = _local(start_time + timedelta(seconds=start_s), config)
        return f"{base}-{local:%Y-%m-%d-%H%M}"
    day, rest = divmod(int(start_s), 86_400)
    return f"{base}-day{day + 1}-{rest // 3600:02d}{rest % 3600 // 60:02d}"


def is_free_living(session: Session, config: Config) -> bool:
    """Whether a session is a free-living recording to split (see the module text)."""
    fl = config.free_living
    prov = session.provenance
    return (fl.enabled and prov.sport is None and prov.format not in ACTIVITY_FORMATS
            and session.duration_s >= fl.min_recording_h * 3600.0)


def _clock(recording_start: datetime | None, seconds: float, config: Config) -> str:
    if recording_start is None:
        day, rest = divmod(int(seconds), 86_400)
        return f"day {day + 1} {rest // 3600:02d}:{rest % 3600 // 60:02d}"
    return f"{_local(recording_start + timedelta(seconds=seconds), config):%Y-%m-%d %H:%M}"


def split(session: Session, config: Config | None = None) -> Recording:
    """Find non-wear and the exercise sessions of a free-living recording."""
    config = config or Config()
    minutes = minute_summary(session, config)
    nonwear = nonwear_minutes(minutes, config)
    placement = placement_of(session, config)
    hr_params = None
    if minutes.hr_1hz is not None and minutes.has_hr.any():
        still = np.nan_to_num(minutes.enmo_g, nan=1.0) < config.heart_rate.still_enmo_g
        hr_params = resolve_params(minutes.hr_1hz, session.profile, config,
                                   still if minutes.has_acc.any() else None,
                                   device=session.provenance.device_profile)
    active = active_minutes(minutes, nonwear, hr_params, placement, config)
    found = find_sessions(active, nonwear, config)
    start = session.provenance.start_time
    names = [session_name(session.name, start, f.slice_start_min * MINUTE_S, config)
             for f in found]
    nw_runs = runs(nonwear)
    # Minutes with neither stream (a recording that stopped, a strap out of range) are
    # neither worn nor non-wear: said apart (review 2026-11-25c: 42 h of a 1.9-day
    # recording had no data, and the note said only "non-wear 0.0 h").
    no_data = no_data_minutes(minutes, nonwear)
    about = (f"free-living recording {session.name}: {session.duration_s / 86_400:.1f} days, "
             f"non-wear {nonwear.sum() / 60:.1f} h in {len(nw_runs)} periods, "
             f"no data {no_data.sum() / 60:.1f} h; "
             f"{len(found)} exercise sessions found: {', '.join(names)}")
    sessions = []
    for k, (f, name) in enumerate(zip(found, names, strict=True), 1):
        note = (f"session {k} of {len(found)}: exercise "
                f"{_clock(start, f.start_min * MINUTE_S, config)} to "
                f"{_clock(start, f.end_min * MINUTE_S, config)} ({f.active_min} active "
                f"minutes), analysed with up to {config.free_living.margin_min:g} minutes "
                "before and after")
        sessions.append(slice_session(session, f.slice_start_min * MINUTE_S,
                                      f.slice_end_min * MINUTE_S, name, (about, note)))
    return Recording(name=session.name, source=session.provenance.source,
                     format=session.provenance.format, start_time=start,
                     duration_s=session.duration_s, minutes=minutes, nonwear=nonwear,
                     active=active, found=tuple(found), sessions=tuple(sessions),
                     hr_params=hr_params, placement=placement, config=config)


def split_free_living(sessions: list[Session], config: Config | None = None
                      ) -> tuple[list[Session], list[Recording]]:
    """Every free-living recording among ``sessions`` replaced by the exercise sessions
    found in it (other sessions pass as they are); and what each recording held."""
    config = config or Config()
    out: list[Session] = []
    recordings: list[Recording] = []
    for session in sessions:
        if is_free_living(session, config):
            recording = split(session, config)
            recordings.append(recording)
            out.extend(recording.sessions)
        else:
            out.append(session)
    return out, recordings


# --------------------------------------------------------------------------- the record


def record_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / RECORDINGS_DIR / f"{name}.json"


def write_record(out_dir: Path, name: str, recordings: list[Recording],
                 fingerprint: dict[str, object], outputs: list[str],
                 used: Mapping[str, Mapping[str, object]] | None = None) -> None:
    """Keep what a free-living input held in ``out_dir/recordings/<name>.json``: each
    recording's summary, the session folders it gave and the input's fingerprint (so a
    rerun can resume, even when no session was found). An input that is no longer
    free-living (a changed configuration) loses its stale record."""
    from .outputs import atomic_write_text, to_json

    path = record_path(out_dir, name)
    if not recordings:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, to_json({"recordings": [r.summary(used) for r in recordings],
                                     "outputs": outputs, "fingerprint": fingerprint}))


def read_record(out_dir: Path, name: str) -> dict | None:
    """The stored record of input ``name`` (None when there is none or it is damaged)."""
    try:
        record = json.loads(record_path(out_dir, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
