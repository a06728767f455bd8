"""Heart rate from a raw ECG: R-peak detection, RR intervals and their checks.

Files from research devices (EDF Holters, chest straps' ECG exports) often hold an ECG and
no heart-rate channel. dosewatch's analysis needs heart rate, so a reader may turn an ECG
into beats here, and beats into ``(t, bpm, rr_ms)``.

The detector is a vectorised energy detector in the family of Pan & Tompkins (1985), with
every step an array operation (no Python loop per sample or per beat):

1. **Band-pass 5-20 Hz** (Butterworth, zero phase, ``scipy.signal.sosfiltfilt``): the QRS
   complex holds most of its energy there, the P and T waves, baseline wander and mains
   hum mostly do not.
2. **Energy envelope**: the squared derivative, smoothed over 100 ms (about one QRS). It is
   positive whatever the lead's polarity, so an inverted lead is detected like any other.
3. **Adaptive threshold**: the envelope's maximum in each 2-s block, and the running median
   of those maxima over 5 blocks (10 s); the threshold is a fraction of that level. A beat
   is in nearly every 2-s block down to 30 bpm, and a median ignores a short artefact and a
   block without a beat. Blocks far above the level of the 5 minutes around them
   (movement, electrode pops) are marked as artefact and their beats are not used.
4. **Peaks**: ``scipy.signal.find_peaks`` above the threshold, at least 250 ms apart (the
   refractory period; 220 bpm is 273 ms).
5. **Extra beats removed**: a beat closer than 60 % of the local median RR to its
   neighbour (a T wave or a noise spike taken for a beat) loses to the one with the larger
   envelope. Two vectorised passes.
6. **R-peak time**: the extremum of the band-passed signal, with the lead's polarity (the
   sign of the larger deflection over all beats), within 80 ms of the envelope peak.

Beats become RR intervals and instantaneous heart rate ``60 / RR``. Intervals that are not
physiological are **removed and counted**, never smoothed over: across a gap in the samples,
outside 30-220 bpm, more than 30 % from the running median of the 9 intervals around them
(a missed or an extra beat), a short and a long interval in turn that differ by more than
15 % of it (one beat out of place: a premature beat, or noise taken for the beat), or
touching an artefact block. When too few beats remain, or
too many intervals were removed, no heart rate is given and :attr:`EcgHeartRate.reason`
says why: a wrong heart rate is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EcgHeartRate", "detect_r_peaks", "heart_rate_from_ecg"]

BAND_HZ = (5.0, 20.0)
ENVELOPE_S = 0.10
BLOCK_S = 2.0
LEVEL_BLOCKS = 5  # running median of block maxima: 10 s
ARTEFACT_BLOCKS = 151  # the level an artefact block is judged against: about 5 minutes
ARTEFACT_RATIO = 8.0
THRESHOLD = 0.2  # of the running level of the envelope's block maxima
REFRACTORY_S = 0.25
EXTRA_BEAT_RATIO = 0.6
SEARCH_S = 0.08
MIN_FS = 100.0
FLAT_S = 0.25
BPM_RANGE = (30.0, 220.0)
MAX_JUMP = 0.30
ZIGZAG = 0.15
RR_MEDIAN_BEATS = 9
MIN_INTERVALS = 10
MAX_REJECTED = 0.25


@dataclass(frozen=True, slots=True)
class RPeaks:
    """R peaks found in an ECG.

    Attributes:
        index: sample index of each R peak, increasing.
        polarity: +1 when the R wave points up, -1 for an inverted lead.
        artefact: per beat, True when it lies in a block marked as artefact.
        reason: why no beats could be looked for (a flat lead, too short, a rate too low
            for the band-pass), else None.
        across_gap: per interval between consecutive beats, True when a gap (non-finite
            or still samples) lies inside it.
    """

    index: NDArray[np.intp]
    polarity: int
    artefact: NDArray[np.bool_]
    reason: str | None = None
    across_gap: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass(frozen=True, slots=True)
class EcgHeartRate:
    """Heart rate derived from an ECG, and what was removed on the way.

    Attributes:
        t: time of each kept interval's closing beat (the clock of the times given).
        bpm: instantaneous heart rate, ``60 / RR``.
        rr_ms: the RR interval, milliseconds.
        beats: times of every R peak found (kept intervals or not).
        n_beats: number of R peaks found.
        n_intervals: number of intervals between consecutive beats.
        n_rejected: intervals removed (``rejected`` says why, by cause).
        rejected: ``{"gap": across a pause in the times or non-finite samples, "rate":
            outside 30-220 bpm, "jump": more than 30 % from the running median, or one of a
            short-long (long-short) pair 15 % of it apart, "artefact":
            touching an artefact block}``; an interval counts under its first cause.
        polarity: +1, or -1 for an inverted lead.
        reason: why no heart rate is given (then ``t``, ``bpm``, ``rr_ms`` are empty),
            else None.
    """

    t: NDArray[np.float64]
    bpm: NDArray[np.float64]
    rr_ms: NDArray[np.float64]
    beats: NDArray[np.float64]
    n_beats: int
    n_intervals: int
    n_rejected: int
    rejected: dict[str, int]
    polarity: int
    reason: str | None

    @property
    def ok(self) -> bool:
        """Whether a heart rate was derived."""
        return self.reason is None


def _blocks(values: NDArray, size: int) -> NDArray:
    """Maximum of each run of ``size`` samples (the last block may be shorter), without a
    padded copy of the recording."""
    whole = values.size // size
    maxima = values[: whole * size].reshape(whole, size).max(axis=1)
    if values.size > whole * size:
        maxima = np.append(maxima, values[whole * size :].max())
    return maxima


def _running_median(values: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Centred running median over ``size`` values (odd) that skips NaN: the windows are
    rows of a strided view, sorted (NaN last), and each row's median is taken among its
    finite values. NaN where a window holds none. Windows past the ends are shorter (no
    reflection, which would count an edge twice)."""
    from numpy.lib.stride_tricks import sliding_window_view

    half = size // 2
    padded = np.full(values.size + 2 * half, np.nan)
    padded[half : half + values.size] = values
    rows = np.sort(sliding_window_view(padded, 2 * half + 1), axis=1)
    count = np.isfinite(rows).sum(axis=1)
    lo, hi = np.maximum((count - 1) // 2, 0), np.maximum(count // 2, 0)
    pick = np.arange(values.size)
    median = 0.5 * (rows[pick, lo] + rows[pick, hi])
    return np.where(count > 0, median, np.nan)


def _still(x: NDArray[np.float64], length: int) -> NDArray[np.bool_]:
    """Samples inside a run of at least ``length`` equal values (a living lead's noise
    makes such runs rare, so they are found from the run boundaries)."""
    still = np.zeros(x.size, dtype=bool)
    same = np.zeros(x.size + 1, dtype=np.int8)
    same[1:-1] = x[1:] == x[:-1]  # same[i]: sample i equals sample i - 1
    edges = np.flatnonzero(np.diff(same))
    starts, ends = edges[::2], edges[1::2]  # runs of equal samples: starts..ends
    long = ends - starts + 1 >= length
    if long.any():
        marks = np.zeros(x.size + 1, dtype=np.int32)
        np.add.at(marks, starts[long], 1)
        np.add.at(marks, ends[long] + 1, -1)
        still = np.cumsum(marks[:-1]) > 0
    return still


def _drop_extra_beats(index: NDArray[np.intp], height: NDArray[np.float64]
                      ) -> NDArray[np.bool_]:
    """Which beats to keep: of two beats closer than ``EXTRA_BEAT_RATIO`` of the local
    median RR, the one with the smaller envelope goes."""
    keep = np.ones(index.size, dtype=bool)
    if index.size < 3:
        return keep
    rr = np.diff(index).astype(np.float64)
    local = _running_median(rr, RR_MEDIAN_BEATS)
    close = rr < EXTRA_BEAT_RATIO * local  # interval k joins beats k and k + 1
    smaller_is_first = height[:-1] < height[1:]
    keep[:-1][close & smaller_is_first] = False
    keep[1:][close & ~smaller_is_first] = False
    return keep


def detect_r_peaks(ecg: ArrayLike, fs: float) -> RPeaks:
    """R peaks of a single-lead ECG sampled at ``fs`` Hz (any unit, any polarity).

    Gaps are non-finite samples and stretches where the lead holds one value for 0.25 s or
    more (a lead off, or an amplifier at its rail: a living ECG is never that still). They
    are filtered as the lead's median value, no beat is taken within 0.5 s of one (the
    edges of a gap look like a QRS to a band-pass), and :attr:`RPeaks.across_gap` marks
    the intervals that span one. Returns no beats, with a reason, for a lead
    that is flat, shorter than 5 s, or sampled below 100 Hz.
    """
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import butter, find_peaks, sosfiltfilt

    x = np.asarray(ecg, dtype=np.float64).ravel()
    none = np.empty(0, dtype=np.intp)

    def nothing(reason: str) -> RPeaks:
        return RPeaks(none, 1, np.empty(0, dtype=bool), reason)

    if not (np.isfinite(fs) and fs >= MIN_FS):
        return nothing(f"sampled at {fs:g} Hz; R peaks need at least {MIN_FS:g} Hz")
    if x.size < 5 * fs:
        return nothing(f"only {x.size / fs:.1f} s of ECG; at least 5 s are needed")
    finite = np.isfinite(x)
    if finite.sum() < 5 * fs:
        return nothing("fewer than 5 s of finite ECG samples")
    finite &= ~_still(x, int(FLAT_S * fs))
    # Scaled to at most 1 first (any unit, any size, no overflow), then centred.
    x = np.where(finite, x, 0.0)
    scale = max(float(x.max()), -float(x.min()))
    if not scale > 0:
        return nothing("the lead is flat (no signal in the QRS band)")
    x /= scale
    step = max(x.size // 1_000_000, 1)  # the median and the flat check on a subsample
    x -= np.median(x[::step][finite[::step]])
    x[~finite] = 0.0
    sos = butter(3, BAND_HZ, btype="bandpass", fs=fs, output="sos")
    y = sosfiltfilt(sos, x)
    # A flat lead: nothing in the QRS band compared with the signal's own size.
    if float(np.percentile(np.abs(y[::step]), 99.9)) < 1e-6:
        return nothing("the lead is flat (no signal in the QRS band)")
    slope = np.gradient(y)
    np.square(slope, out=slope)
    envelope = uniform_filter1d(slope, size=max(int(ENVELOPE_S * fs), 1))
    del slope
    block = max(int(BLOCK_S * fs), 1)
    maxima = _blocks(envelope, block)
    # Blocks touching a gap say nothing of the lead's level (a filled gap is flat).
    reference = maxima if finite.all() else np.where(_blocks(~finite, block), np.nan, maxima)
    level = _running_median(reference, LEVEL_BLOCKS)
    wide = _running_median(reference, ARTEFACT_BLOCKS)
    level = np.where(np.isfinite(level), level, wide)
    if not np.isfinite(level).any():
        return nothing("no stretch of the lead without gaps")
    level = np.where(np.isfinite(level), level, np.nanmin(level))
    artefact_block = maxima > ARTEFACT_RATIO * np.where(np.isfinite(wide), wide, np.inf)
    # The threshold: the level of each block, linear between block centres. Peaks are
    # found above its lowest value and then held to it where they are (the same peaks as a
    # threshold per sample: a lower peak never hides a higher one), without an array of
    # thresholds as long as the recording.
    centres = (np.arange(maxima.size) + 0.5) * block
    lowest = max(THRESHOLD * float(level.min()), 1e-12 * float(level.max()), 1e-300)
    index, props = find_peaks(envelope, height=lowest,
                              distance=max(int(REFRACTORY_S * fs), 1))
    above = props["peak_heights"] >= THRESHOLD * np.interp(index, centres, level)
    index, props = index[above], {k: v[above] for k, v in props.items()}
    gaps = not finite.all()
    if index.size and gaps:
        near = uniform_filter1d((~finite).astype(np.float32), size=int(1.0 * fs) | 1) > 0
        ok = ~near[index]
        index, props = index[ok], {k: v[ok] for k, v in props.items()}
    height = props.get("peak_heights", np.empty(0))
    for _ in range(2):
        keep = _drop_extra_beats(index, height)
        index, height = index[keep], height[keep]
    if index.size == 0:
        return nothing("no beats found") if gaps and not finite.any() else \
            RPeaks(none, 1, np.empty(0, dtype=bool), None)
    # Polarity and the R-peak time: the extremum of the band-passed signal near each peak.
    half = max(int(SEARCH_S * fs), 1)
    window = np.clip(index[:, None] + np.arange(-half, half + 1)[None, :], 0, x.size - 1)
    segment = y[window]
    up, down = np.median(segment.max(axis=1)), np.median(-segment.min(axis=1))
    polarity = 1 if up >= down else -1
    r = window[np.arange(index.size), np.argmax(polarity * segment, axis=1)]
    r, first = np.unique(r, return_index=True)  # two envelope peaks, one R wave
    # A beat within half a second of an artefact block is not trusted either: the noise's
    # envelope spreads beyond the block, and a block starts wherever the clock says.
    margin = int(0.5 * fs)
    at = index[first]
    artefact = (artefact_block[np.maximum(at - margin, 0) // block]
                | artefact_block[at // block]
                | artefact_block[np.minimum(at + margin, x.size - 1) // block])
    across_gap = np.zeros(max(r.size - 1, 0), dtype=bool)
    if gaps:
        missing = np.concatenate([[0], np.cumsum(~finite)])
        across_gap = np.diff(missing[r]) > 0
    return RPeaks(r.astype(np.intp), polarity, artefact, None, across_gap)


def heart_rate_from_ecg(ecg: ArrayLike, fs: float, t: ArrayLike | None = None
                        ) -> EcgHeartRate:
    """Beats, RR intervals and instantaneous heart rate of a single-lead ECG.

    Args:
        ecg: the samples (any unit, either polarity); NaN marks a gap.
        fs: the nominal sampling rate, Hz.
        t: each sample's time, seconds (default ``index / fs``). Where consecutive samples
            are further apart than 1.5 sample periods (a pause in the recording), the
            interval across the pause is not used.

    Returns:
        The kept intervals' heart rate, the counts of what was found and removed, and
        ``reason`` when the ECG gives no trustworthy heart rate.
    """
    x = np.asarray(ecg, dtype=np.float64).ravel()
    times = (np.arange(x.size) / fs if t is None
             else np.asarray(t, dtype=np.float64).ravel())
    peaks = detect_r_peaks(x, fs)
    empty = np.empty(0)
    beats = times[peaks.index] if times.size == x.size else empty
    n = int(beats.size)
    causes = {"gap": 0, "rate": 0, "jump": 0, "artefact": 0}

    def result(reason: str | None, keep: NDArray[np.bool_] | None = None,
               rr: NDArray[np.float64] = empty) -> EcgHeartRate:
        if reason is not None or keep is None:
            t_kept, rr_kept = empty, empty
        else:
            t_kept, rr_kept = beats[1:][keep], rr[keep]
        return EcgHeartRate(t_kept, 60.0 / rr_kept if rr_kept.size else empty,
                            1000.0 * rr_kept, beats, n, max(n - 1, 0),
                            sum(causes.values()), dict(causes), peaks.polarity, reason)

    if times.size != x.size:
        return result(f"{times.size} times for {x.size} samples")
    if peaks.reason:
        return result(peaks.reason)
    if n < MIN_INTERVALS + 1:
        return result(f"only {n} beats found; at least {MIN_INTERVALS + 1} are needed")
    rr = np.diff(beats)
    samples_apart = np.diff(peaks.index) / fs
    gap = (np.abs(rr - samples_apart) > 1.5 / fs) | peaks.across_gap
    with np.errstate(invalid="ignore", divide="ignore"):
        bpm = 60.0 / rr
        rate = ~((bpm >= BPM_RANGE[0]) & (bpm <= BPM_RANGE[1]))
        # The reference: the running median of the intervals that are not already out
        # (a pause or a burst of noise does not drag its neighbours' reference).
        local = _running_median(np.where(rate | gap, np.nan, rr), RR_MEDIAN_BEATS)
        deviation = rr / local - 1.0
        jump = ~(np.abs(deviation) <= MAX_JUMP)  # NaN: nothing to judge it by
        # A beat out of place (a noise spike taken for the beat, or a premature beat)
        # makes one interval short and the next long, or the other way round: both go
        # when they differ by more than 15 % of the median, though each is within 30 % of
        # it. Sinus rhythm changes gradually: successive intervals of a healthy heart
        # differ by a few per cent (RMSSD 20-50 ms at rest).
        zigzag = (deviation[:-1] * deviation[1:] < 0) & (
            np.abs(deviation[:-1] - deviation[1:]) > ZIGZAG)
        jump[:-1] |= zigzag
        jump[1:] |= zigzag
        # An interval without a usable neighbour on one side (the recording's first or
        # last, or beside a gap) cannot be checked for a zigzag: it must be within 15 %.
        alone = np.ones(rr.size, dtype=bool)
        alone[1:-1] = (rate | gap)[:-2] | (rate | gap)[2:]
        jump |= alone & (np.abs(deviation) > ZIGZAG)
    artefact = peaks.artefact[1:] | peaks.artefact[:-1]
    seen = np.zeros(rr.size, dtype=bool)
    for name, mask in (("gap", gap), ("rate", rate), ("jump", jump), ("artefact", artefact)):
        causes[name] = int((mask & ~seen).sum())
        seen |= mask
    keep = ~seen
    n_kept = int(keep.sum())
    if n_kept < MIN_INTERVALS:
        return result(f"only {n_kept} of {rr.size} RR intervals are plausible")
    if (rr.size - n_kept) > MAX_REJECTED * rr.size:
        return result(f"{rr.size - n_kept} of {rr.size} RR intervals "
                      f"({(rr.size - n_kept) / rr.size:.0%}) are not plausible (more than "
                      f"{MAX_REJECTED:.0%}): the ECG is too noisy to trust")
    return result(None, keep, rr)
