"""Acceleration features, vectorised over windows.

The acceleration stream is cut into short *sub-windows* (10 s by default, or the epoch if
shorter) holding a fixed number of samples. Sub-windows are gathered into a 2-D array
``(n_windows, n_samples)`` of the vector magnitude, and every feature is one array
operation along the sample axis. Work proceeds in chunks of about a day, so memory stays
bounded for week-long recordings; there is no Python loop over windows.

Features of a window (vector magnitude ``r = |a|`` in g, orientation-free):

- ``enmo_g``: mean of ``max(r - 1, 0)`` (Euclidean norm minus one, van Hees et al. 2013).
- ``mad_g``: mean amplitude deviation, mean ``|r - mean(r)|`` (Vähä-Ypyä et al. 2015).
- ``cadence_spm``: 60 × the dominant frequency of ``r`` in the step band (1.3–4 Hz),
  read between the FFT's bins (Jacobsen's estimator), 0 when the window is not rhythmic
  stepping (too little movement or too little power in the band).
- ``step_power``: the fraction of movement power (0.3 Hz up to 10 Hz or Nyquist) in the
  step band; ``low_power``: the fraction below it (arm swing, posture).

A window with a gap (fewer samples than its length needs) is NaN throughout.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.fft import rfft, rfftfreq
from numpy.typing import NDArray

from ..config import Config
from ..session import Acceleration, Session
from ..spec.trend import nan_median_rows
from .base import EpochGrid, FeatureContext, StreamFeatures, per_epoch, row_mean

STEP_BAND_HZ = (1.3, 4.0)
MOVEMENT_BAND_HZ = (0.3, 10.0)
# Windows whose MAD is below this are "still": no cadence.
STILL_MAD_G = 0.01
# ...and stepping needs at least this share of movement power in the step band.
MIN_STEP_POWER = 0.3

WINDOW_FEATURES = ("enmo_g", "mad_g", "cadence_spm", "step_power", "low_power")


@dataclass(frozen=True, slots=True)
class WindowFeatures:
    """Features of consecutive sub-windows starting at ``start_s`` (every ``window_s``)."""

    start_s: NDArray[np.float64]
    window_s: float
    values: dict[str, NDArray[np.float64]]


def magnitude(xyz: NDArray[np.floating]) -> NDArray[np.float32]:
    """Vector magnitude of ``(..., 3)`` acceleration, float32."""
    xyz = np.asarray(xyz, dtype=np.float32)
    # Axis by axis into one output: a third less CPU than einsum on (n, 3) rows.
    out = np.square(xyz[..., 0])
    out += np.square(xyz[..., 1])
    out += np.square(xyz[..., 2])
    return np.sqrt(out, out=out)


def fast_fft_length(n: int) -> int:
    """The smallest 5-smooth number (2^a 3^b 5^c) at least ``n``: a length the FFT
    handles fast, as ``scipy.fft.next_fast_len(n, real=True)`` gives."""
    best, p5 = None, 1
    while p5 < 2 * max(n, 1):
        p35 = p5
        while p35 < 2 * max(n, 1):
            m = p35
            while m < n:
                m *= 2
            best = m if best is None else min(best, m)
            p35 *= 3
        p5 *= 5
    assert best is not None
    return best


def window_features_from_matrix(r: NDArray[np.floating], fs: float) -> dict[str, NDArray]:
    """Features of each row of ``r`` (shape ``(n_windows, n_samples)``, magnitude in g).

    Rows containing NaN give NaN features.
    """
    r = np.asarray(r, dtype=np.float32)
    n = r.shape[1]
    mean = r.mean(axis=1, dtype=np.float64)
    work = np.subtract(r, np.float32(1.0))  # one scratch array, reused below
    np.maximum(work, 0.0, out=work)
    enmo = work.mean(axis=1, dtype=np.float64)
    centred = np.subtract(r, mean[:, None].astype(np.float32))
    np.abs(centred, out=work)
    mad = work.mean(axis=1, dtype=np.float64)
    del work

    # NumPy's FFT, not SciPy's: slower on these windows (about 3 µs a window against
    # 1.2), but importing scipy.fft took 0.12 s of every run.
    n_fft = fast_fft_length(n)
    spectrum = rfft(centred, n=n_fft, axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    freqs = rfftfreq(n_fft, d=1.0 / fs)
    movement = (freqs >= MOVEMENT_BAND_HZ[0]) & (freqs <= MOVEMENT_BAND_HZ[1])
    step = (freqs >= STEP_BAND_HZ[0]) & (freqs <= STEP_BAND_HZ[1])
    low = movement & (freqs < STEP_BAND_HZ[0])
    total = power[:, movement].sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        step_power = power[:, step].sum(axis=1, dtype=np.float64) / total
        low_power = power[:, low].sum(axis=1, dtype=np.float64) / total
    step_power = np.where(total > 0, step_power, 0.0)
    low_power = np.where(total > 0, low_power, 0.0)
    peak = _step_peak_hz(spectrum, power, freqs, step)
    stepping = (mad >= STILL_MAD_G) & (step_power >= MIN_STEP_POWER)
    cadence = np.where(stepping, 60.0 * peak, 0.0)

    bad = ~np.isfinite(mean)
    values = {
        "enmo_g": enmo,
        "mad_g": mad,
        "cadence_spm": cadence,
        "step_power": step_power,
        "low_power": low_power,
    }
    for v in values.values():
        v[bad] = np.nan
    return values


def _step_peak_hz(spectrum: NDArray[np.complexfloating], power: NDArray[np.float64],
                  freqs: NDArray[np.float64], step: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The step band's dominant frequency of each row, read between the FFT's bins with
    Jacobsen's estimator on the complex spectrum at the peak bin and its two neighbours
    (nearly unbiased for an unwindowed spectrum). A 10-s window's bins are 0.1 Hz, 6
    steps a minute, apart: too coarse for a cadence that rises by 3-5 steps a minute over
    a treadmill ramp's ten minutes."""
    if not step.any():
        return np.zeros(power.shape[0])
    lo = int(np.flatnonzero(step)[0])
    k = lo + np.argmax(power[:, step], axis=1)
    rows = np.arange(power.shape[0])
    inner = (k > 0) & (k < power.shape[1] - 1)
    kk = np.clip(k, 1, power.shape[1] - 2)
    left, mid, right = (spectrum[rows, kk + d] for d in (-1, 0, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = -np.real((right - left) / (2.0 * mid - left - right))
    shift = np.where(inner & np.isfinite(shift), np.clip(shift, -0.5, 0.5), 0.0)
    return freqs[k] + shift * (freqs[1] - freqs[0])


def window_features(
    acc: Acceleration,
    duration_s: float,
    window_s: float = 10.0,
    chunk_windows: int = 8640,
    threads: int = 2,
) -> WindowFeatures:
    """Features of every ``window_s`` window from 0 to ``duration_s``.

    Each window takes ``round(fs * window_s)`` consecutive samples from the first sample at
    or after its start; it is valid when those samples all fall inside the window (no gap).
    Work goes ``chunk_windows`` windows at a time (a day of 10-s windows), chunks on
    ``threads`` threads (NumPy and the FFT release the GIL; chunks write disjoint slices).
    """
    fs = acc.fs
    length = max(4, int(round(fs * window_s)))
    n_windows = max(0, int(np.ceil(duration_s / window_s - 1e-9)))
    starts_s = np.arange(n_windows) * window_s
    out = {name: np.full(n_windows, np.nan) for name in WINDOW_FEATURES}
    t = acc.t
    first = np.searchsorted(t, starts_s - 0.25 / fs)
    offsets = np.arange(length)

    def chunk(lo: int) -> None:
        hi = min(n_windows, lo + chunk_windows)
        idx0 = first[lo:hi]
        last = idx0 + length - 1
        inside = last < t.size
        last_t = t[np.minimum(last, t.size - 1)]
        valid = inside & (last_t < starts_s[lo:hi] + window_s - 0.25 / fs)
        rows = np.flatnonzero(valid)
        if rows.size == 0:
            return
        starts = idx0[rows]
        s0, s1 = int(starts[0]), int(starts[-1]) + length
        r = magnitude(acc.xyz[s0:s1])
        if rows.size * length == s1 - s0 and (np.diff(starts) == length).all():
            matrix = r.reshape(rows.size, length)  # back-to-back windows: a view, no copy
        else:
            matrix = r[(starts - s0)[:, None] + offsets[None, :]]
        feats = window_features_from_matrix(matrix, fs)
        for name in WINDOW_FEATURES:
            out[name][lo + rows] = feats[name]

    chunk_starts = range(0, n_windows, chunk_windows)
    if threads > 1 and len(chunk_starts) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(chunk, chunk_starts))
    else:
        for lo in chunk_starts:
            chunk(lo)
    return WindowFeatures(start_s=starts_s, window_s=window_s, values=out)


def acceleration_intensity(
    enmo_g: NDArray[np.float64], placement: str, config: Config
) -> NDArray[np.float64]:
    """%HRR estimated from ENMO with the placement's cut-points (the definitions:
    intensity from acceleration when there is no heart rate and no calibration). Linear
    between (0 g, 0 %), the three cut-points (20, 40, 60 %) and beyond the last one with
    the last segment's slope."""
    knots = np.array(getattr(config.acceleration, f"{placement}_enmo_g"), dtype=np.float64)
    lv = config.levels
    xs = np.concatenate([[0.0], knots])
    ys = np.array([0.0, lv.light_from, lv.intermediate_from, lv.vigorous_from])
    out = np.interp(enmo_g, xs, ys)
    slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    above = enmo_g > xs[-1]
    out[above] = ys[-1] + slope * (enmo_g[above] - xs[-1])
    return np.clip(out, 0.0, 100.0)



ACC_COLUMNS = ("enmo_g", "mad_g", "cadence_spm", "step_fraction", "step_power", "low_power",
               "acc_coverage", "pct_hrr_acc")


def acc_epoch_features(acc: Acceleration, session: Session, grid: EpochGrid, config: Config,
                       ctx: FeatureContext) -> dict[str, NDArray[np.float64]]:
    """Per epoch: mean ENMO and MAD, median cadence of the stepping sub-windows (0 when
    none), the fraction of sub-windows stepping, mean step- and low-band power shares,
    and coverage. An epoch with less than ``acceleration.min_coverage`` of its
    sub-windows complete has no value. Leaves the 1 Hz cadence and the still minutes in
    ``ctx`` for the heart-rate features."""
    epoch_s = grid.epoch_s
    window_s = 10.0 if epoch_s % 10 == 0 else epoch_s
    wf = window_features(acc, grid.span_s, window_s=window_s)
    per = int(round(epoch_s / window_s))
    w = {name: per_epoch(v, per, grid.n) for name, v in wf.values.items()}
    valid = np.isfinite(w["enmo_g"])
    coverage = valid.mean(axis=1)
    enough = coverage >= config.acceleration.min_coverage
    stepping = valid & (w["cadence_spm"] > 0)
    cadence = nan_median_rows(np.where(stepping, w["cadence_spm"], np.nan))
    values = {
        "enmo_g": np.where(enough, row_mean(w["enmo_g"]), np.nan),
        "mad_g": np.where(enough, row_mean(w["mad_g"]), np.nan),
        "cadence_spm": np.where(enough, np.nan_to_num(cadence, nan=0.0), np.nan),
        "step_fraction": np.where(
            enough, stepping.sum(axis=1) / np.maximum(valid.sum(axis=1), 1), np.nan),
        "step_power": np.where(enough, row_mean(w["step_power"]), np.nan),
        "low_power": np.where(enough, row_mean(w["low_power"]), np.nan),
        "acc_coverage": coverage,
    }
    ctx.cadence_1hz = np.repeat(np.nan_to_num(wf.values["cadence_spm"], nan=0.0),
                                int(round(window_s)))
    per_minute = max(1, int(round(60.0 / window_s)))
    n_min = wf.values["enmo_g"].size // per_minute
    enmo_min = row_mean(wf.values["enmo_g"][: n_min * per_minute].reshape(n_min, per_minute))
    ctx.still_minutes = enmo_min < config.heart_rate.still_enmo_g
    enmo = values["enmo_g"]
    mapping = None if ctx.calibration is None else ctx.calibration.acc_map(ctx.placement)
    if mapping is not None:
        values["pct_hrr_acc"] = np.where(np.isfinite(enmo), mapping.intensity(
            enmo, values["cadence_spm"], values["step_fraction"]), np.nan)
        ctx.acc_intensity_source = "calibration"
    else:
        cut = acceleration_intensity(np.nan_to_num(enmo, nan=0.0), ctx.placement, config)
        values["pct_hrr_acc"] = np.where(np.isfinite(enmo), cut, np.nan)
        ctx.acc_intensity_source = "cut-points"
    return values


ACC_FEATURES = StreamFeatures("acc", ACC_COLUMNS, acc_epoch_features,
                              fill={"acc_coverage": 0.0})
