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
   block without a beat. Blocks far above the level of the minute around them (movement,
   electrode pops) are marked as artefact and their beats are not used.
4. **Peaks**: ``scipy.signal.find_peaks`` above the threshold, at least 250 ms apart (the
   refractory period; 220 bpm is 273 ms).
5. **Extra beats removed**: a beat closer than 60 % of the local median RR to its
   neighbour (a T wave or a noise spike taken for a beat) loses to the one with the larger
   envelope. Two vectorised passes.
6. **R-peak time**: the extremum of the band-passed signal, with the lead's polarity (the
   sign of the larger deflection over all beats), within 80 ms of the envelope peak.

Beats become RR intervals and instantaneous heart rate ``60 / RR``. Intervals that are not
physiological are **removed and counted**, never smoothed over: outside 30-220 bpm, more than
30 % from the running median of the 9 intervals around them (a missed or an extra beat),
across a gap in the samples, or touching an artefact block. When too few beats remain, or
too many intervals were removed, no heart rate is given and :attr:`EcgHeartRate.reason`
says why: a wrong heart rate is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EcgHeartRate", "detect_r_peaks", "heart_rate_from_ecg"]

BAND_HZ = (5.0, 20.0)
ENVELOPE_S = 0.10
BLOCK_S = 2.0
LEVEL_BLOCKS = 5  # running median of block maxima: 10 s
ARTEFACT_BLOCKS = 31  # the level an artefact block is judged against: about a minute
ARTEFACT_RATIO = 8.0
THRESHOLD = 0.2  # of the running level of the envelope's block maxima
REFRACTORY_S = 0.25
EXTRA_BEAT_RATIO = 0.6
SEARCH_S = 0.08
MIN_FS = 100.0
BPM_RANGE = (30.0, 220.0)
MAX_JUMP = 0.30
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
    """

    index: NDArray[np.intp]
    polarity: int
    artefact: NDArray[np.bool_]
    reason: str | None = None


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
        rejected: ``{"rate": outside 30-220 bpm, "jump": > 30 % from the running median,
            "gap": across a pause in the times or non-finite samples, "artefact": in an artefact block}``; an
            interval is counted under its first cause in that order.
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


def _blocks(values: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Maximum of each run of ``size`` samples (the last block may be shorter)."""
    n_blocks = -(-values.size // size)
    padded = np.full(n_blocks * size, -np.inf)
    padded[: values.size] = values
    return padded.reshape(n_blocks, size).max(axis=1)


def _running_median(values: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Centred running median, ends by reflection (``scipy.ndimage.median_filter``)."""
    from scipy.ndimage import median_filter

    return median_filter(values, size=min(size, max(values.size, 1)), mode="reflect")


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

    Non-finite samples are gaps: they are filtered as the lead's median value, and no beat
    is taken within 0.3 s of one. Returns no beats, with a reason, for a lead
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
    step = max(x.size // 1_000_000, 1)  # the median and the flat check on a subsample
    x = np.where(finite, x - np.median(x[::step][finite[::step]]), 0.0)
    sos = butter(3, BAND_HZ, btype="bandpass", fs=fs, output="sos")
    y = sosfiltfilt(sos, x)
    # A flat lead: nothing in the QRS band compared with the signal's own size (or zero).
    scale = max(float(x.max()), -float(x.min()))
    if not scale > 0 or float(np.percentile(np.abs(y[::step]), 99.9)) < 1e-6 * scale:
        return nothing("the lead is flat (no signal in the QRS band)")
    slope = np.gradient(y)
    np.square(slope, out=slope)
    envelope = uniform_filter1d(slope, size=max(int(ENVELOPE_S * fs), 1))
    del slope
    block = max(int(BLOCK_S * fs), 1)
    maxima = _blocks(envelope, block)
    level = _running_median(maxima, LEVEL_BLOCKS)
    wide = _running_median(maxima, ARTEFACT_BLOCKS)
    artefact_block = maxima > ARTEFACT_RATIO * wide
    # The threshold: the level of each block, linear between block centres. Peaks are
    # found above its lowest value and then held to it where they are (the same peaks as a
    # threshold per sample: a lower peak never hides a higher one), without an array of
    # thresholds as long as the recording.
    centres = (np.arange(maxima.size) + 0.5) * block
    lowest = max(THRESHOLD * float(level.min()), 1e-12 * float(level.max()))
    index, props = find_peaks(envelope, height=lowest,
                              distance=max(int(REFRACTORY_S * fs), 1))
    above = props["peak_heights"] >= THRESHOLD * np.interp(index, centres, level)
    index, props = index[above], {k: v[above] for k, v in props.items()}
    if index.size and not finite.all():
        near = uniform_filter1d((~finite).astype(np.float32), size=int(0.6 * fs) | 1) > 0
        ok = ~near[index]
        index, props = index[ok], {k: v[ok] for k, v in props.items()}
    height = props.get("peak_heights", np.empty(0))
    for _ in range(2):
        keep = _drop_extra_beats(index, height)
        index, height = index[keep], height[keep]
    if index.size == 0:
        return RPeaks(none, 1, np.empty(0, dtype=bool), None)
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
    return RPeaks(r.astype(np.intp), polarity, artefact, None)


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
    causes = {"rate": 0, "jump": 0, "gap": 0, "artefact": 0}

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
    with np.errstate(invalid="ignore", divide="ignore"):
        bpm = 60.0 / rr
        rate = ~((bpm >= BPM_RANGE[0]) & (bpm <= BPM_RANGE[1]))
        # The running median of intervals held to the plausible range, so that a pause
        # or a burst of noise does not drag the reference of its neighbours.
        local = _running_median(np.clip(rr, 60.0 / BPM_RANGE[1], 60.0 / BPM_RANGE[0]),
                                RR_MEDIAN_BEATS)
        jump = np.abs(rr / local - 1.0) > MAX_JUMP
    gap = np.abs(rr - samples_apart) > 1.5 / fs
    if not np.isfinite(x).all():
        missing = np.concatenate([[0], np.cumsum(~np.isfinite(x))])
        gap |= np.diff(missing[peaks.index]) > 0
    artefact = peaks.artefact[1:] | peaks.artefact[:-1]
    seen = np.zeros(rr.size, dtype=bool)
    for name, mask in (("rate", rate), ("jump", jump), ("gap", gap), ("artefact", artefact)):
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
