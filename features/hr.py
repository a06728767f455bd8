"""Heart rate: a clean 1 Hz series, HR_rest and HR_max, and %HRR.

Cleaning, in order, all as array operations on a 1 Hz grid:

1. samples are put on the grid by linear interpolation across gaps of at most
   ``max_gap_s`` (configured, ``[heart_rate] max_gap_s``); longer gaps stay missing (a
   dropout is a gap, not data);
2. values outside ``valid_min_bpm``–``valid_max_bpm`` are removed;
3. spikes (more than 20 bpm from the 15-s running median) and jumps faster than
   ``max_jump_bpm_per_s`` are removed;
4. with acceleration at the wrist, *cadence lock* is removed: a stretch where the reading
   sits within ``cadence_lock_tolerance_spm`` of the step cadence (or half of it) and
   jumped there from a level well away from it. A heart rate that truly equals the cadence,
   reached without a jump, is kept;
5. without acceleration (no cadence to compare with), a *plateau* is removed: a stretch of
   10 s to 3 min that the reading entered by a step of 10 bpm or more within 2 s and left
   by a step of about the same size back to where it had been, flat in between. The heart
   does not change rate that fast and come back (it takes tens of seconds to follow a
   change of pace); an optical sensor that locks onto the step cadence and lets go does.
   As the reading returns to where it was, the stretch is bridged from both sides (and
   counted as artefact) rather than left as a gap of minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..calibration import RESEARCHER, Calibration, Value
from ..config import Config
from ..session import HeartRate, Profile, Session
from ..spec.runs import runs, spans_mask
from ..spec.trend import nan_median_rows, theil_sen
from .base import EpochGrid, FeatureContext, StreamFeatures, per_epoch, row_mean

MAX_GAP_S = 10.0
SPIKE_BPM = 20.0
LOCK_JUMP_BPM = 8.0
PLATEAU_JUMP_BPM = 10.0
"""A step of heart rate at least this large within ``PLATEAU_STEP_S`` is not physiology..."""
PLATEAU_STEP_S = 2
PLATEAU_S = (10, 180)
"""... and a stretch of this many seconds between such a step and one back is an artefact."""
PLATEAU_RETURN_BPM = 6.0
PLATEAU_SD_BPM = 4.0
REST_ABOVE_LOW_BPM = 12.0
"""A calm stretch this far above the session's lowest minute is not a resting one."""


@dataclass(frozen=True, slots=True)
class CleanHeartRate:
    """Heart rate on a 1 Hz grid from 0: ``bpm[i]`` is the rate at second ``i`` (NaN =
    missing). ``artefact`` marks seconds removed by cleaning (not gaps in the input)."""

    bpm: NDArray[np.float64]
    artefact: NDArray[np.bool_]
    n_removed: dict[str, int]


@dataclass(frozen=True, slots=True)
class HeartRateParams:
    """HR_rest and HR_max used for %HRR, and where each came from.

    ``hr_rest_source``: ``profile`` | ``estimated`` (a resting stretch in the data) |
    ``default``. ``hr_max_source``: ``profile`` | ``age`` (Tanaka) | ``default`` |
    ``observed`` (raised to a rate the session held). Both may also be ``researcher`` (set
    by a researcher in the participant's calibration file), ``device`` (stored in the
    input file by the watch or app) or ``calibration`` (learned across the participant's
    sessions). :func:`resolve_params` gives the order.

    ``held_max`` (the highest rate held for ``hr_max_raise_s``) and ``rest_stretch`` (the
    level of a real resting stretch, if any) are what the session tells about the
    participant, whatever values were used; ``prior_max`` is the HR_max that age (or the
    default) predicts, for judging ``held_max``; ``profile_max`` the profile's HR_max, if
    it gave one (no learned calibration overrides it); ``given_max`` and ``given_rest``
    the profile's values that a person gave, not the file (no calibration overrides
    them); ``own_rest`` the HR_rest of the session without any calibration (the
    profile's, a resting stretch or the file's own), if not the default.
    """

    hr_rest: float
    hr_rest_source: str
    hr_max: float
    hr_max_source: str
    warnings: tuple[str, ...] = field(default=())
    held_max: float | None = None
    rest_stretch: float | None = None
    prior_max: float | None = None
    profile_max: float | None = None
    given_max: float | None = None
    own_rest: float | None = None
    given_rest: float | None = None


def to_grid(hr: HeartRate, n_seconds: int, max_gap_s: float = MAX_GAP_S) -> NDArray[np.float64]:
    """Heart rate at each whole second, interpolated across gaps up to ``max_gap_s``."""
    grid = np.arange(n_seconds, dtype=np.float64)
    t, v = hr.t, hr.bpm
    if t.size == 0:
        return np.full(n_seconds, np.nan)
    out = np.interp(grid, t, v)
    right = np.searchsorted(t, grid, side="left")
    left = right - 1
    exact = (right < t.size) & (t[np.minimum(right, t.size - 1)] == grid)
    has_left = left >= 0
    has_right = right < t.size
    span = np.where(
        has_left & has_right,
        t[np.minimum(right, t.size - 1)] - t[np.maximum(left, 0)],
        np.inf,
    )
    ok = exact | (span <= max_gap_s)
    # Half a sample period beyond the ends still belongs to the first/last sample, but
    # never more than half the longest gap that is filled: two readings a day apart have
    # a "sample period" of a day, and must not become a day of heart rate (issue 14).
    edge = min(0.5 / max(hr.fs, 1e-9), 0.5 * max_gap_s)
    ok |= (~has_left) & (t[0] - grid <= edge)
    ok |= (~has_right) & (grid - t[-1] <= edge)
    out[~ok] = np.nan
    return out


def moving_median(x: NDArray[np.float64], size: int,
                  block: int = 1 << 14) -> NDArray[np.float64]:
    """The median of the ``size`` samples centred on each one (odd ``size``), edges
    repeated: ``scipy.ndimage.median_filter(x, size, mode="nearest")`` for finite ``x``.

    Written with NumPy because it is the only thing the analysis needed from
    ``scipy.ndimage``, whose import alone cost a quarter of a second of every run.
    Works ``block`` samples at a time, so the sorted windows stay in the cache (a
    million at a time took 0.16 s more for a week at 1 Hz, most of it spent mapping
    fresh memory for the copy). Each block's windows are sorted and the middle taken:
    for windows this short, four times faster than ``np.median`` (a partition per row),
    and the same numbers.
    """
    half = size // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)
    out = np.empty(len(x))
    below, above = (size - 1) // 2, size // 2  # the middle one, or the middle two
    for lo in range(0, len(x), block):  # 37 blocks for a week at 1 Hz, not one per window
        ordered = np.sort(windows[lo : lo + block], axis=1)
        middle = ordered[:, below] if below == above else 0.5 * (
            ordered[:, below] + ordered[:, above])
        # NaN sorts last: a window holding one has no median (as np.median says).
        holes = np.isnan(ordered[:, -1])
        if holes.any():
            middle[holes] = np.nan
        out[lo : lo + block] = middle
    return out


def moving_min(x: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """The lowest of each ``size`` consecutive samples (``len(x) - size + 1`` windows,
    ``1 <= size <= len(x)``): ``sliding_window_view(x, size).min(axis=1)``, from minima
    over spans that double (a few passes over ``x``, not ``size`` per sample)."""
    low = np.array(x, dtype=np.float64)
    span, n = 1, len(low)
    while 2 * span <= size:  # low[i] is the minimum of x[i : i + span], i < n
        n -= span
        np.minimum(low[:n], low[span:span + n], out=low[:n])  # forward: reads ahead
        span *= 2
    low = low[:n]
    # Two overlapping spans cover each window exactly.
    return np.minimum(low[: len(x) - size + 1], low[size - span:])


def _fill_nan(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Linear fill of NaN for filtering; all-NaN stays NaN."""
    finite = np.isfinite(x)
    if finite.all() or not finite.any():
        return x.copy()
    idx = np.arange(x.size)
    return np.interp(idx, idx[finite], x[finite])


def clean(
    hr: HeartRate,
    n_seconds: int,
    config: Config,
    cadence_spm: NDArray[np.float64] | None = None,
) -> CleanHeartRate:
    """The cleaned 1 Hz heart rate (see the module text). ``cadence_spm`` is the step
    cadence at each second (0 when not stepping), when acceleration is available."""
    cfg = config.heart_rate
    bpm = to_grid(hr, n_seconds, cfg.max_gap_s)  # the configured longest gap (issue 14)
    artefact = np.zeros(n_seconds, dtype=bool)
    removed: dict[str, int] = {}

    def drop(mask: NDArray[np.bool_], why: str) -> None:
        mask = mask & np.isfinite(bpm)
        if mask.any():
            removed[why] = removed.get(why, 0) + int(mask.sum())
            bpm[mask] = np.nan
            artefact[mask] = True

    def bridge(mask: NDArray[np.bool_]) -> None:
        """Like ``drop``, but the seconds are filled in from the clean heart rate on both
        sides (a plateau ends where it began: the heart went on beating in between)."""
        drop(mask, "plateau")
        if mask.any():
            bpm[mask] = _fill_nan(bpm)[mask]

    with np.errstate(invalid="ignore"):
        drop((bpm < cfg.valid_min_bpm) | (bpm > cfg.valid_max_bpm), "out of range")
        filled = _fill_nan(bpm)
        if np.isfinite(filled).any():
            smooth = moving_median(filled, 15)
            jump = np.zeros(n_seconds, dtype=bool)
            jump[1:] = np.abs(np.diff(filled)) > cfg.max_jump_bpm_per_s
            drop((np.abs(bpm - smooth) > SPIKE_BPM) | (jump & (np.abs(bpm - smooth) > 5)), "spike")

        if cadence_spm is not None and np.isfinite(bpm).any():
            cad = np.zeros(n_seconds)
            take = min(n_seconds, cadence_spm.size)
            cad[:take] = np.nan_to_num(cadence_spm[:take], nan=0.0)
            tol = cfg.cadence_lock_tolerance_spm
            near = (cad > 0) & (
                (np.abs(bpm - cad) <= tol) | (np.abs(bpm - cad / 2) <= tol)
            )
            stretches = runs(near)
            if stretches.size:
                filled = _fill_nan(bpm)
                # The level on each side of a stretch: 10 s before it and after it.
                before = np.clip(stretches[:, 0] - 10, 0, n_seconds - 1)
                after = np.clip(stretches[:, 1] + 10, 0, n_seconds - 1)
                mid = (stretches[:, 0] + stretches[:, 1] - 1) // 2
                outside = 0.5 * (filled[before] + filled[after])
                jumped = np.abs(filled[mid] - outside) > LOCK_JUMP_BPM
                drop(spans_mask(stretches[jumped], n_seconds), "cadence lock")
        elif np.isfinite(bpm).sum() > 2 * PLATEAU_STEP_S:
            bridge(plateaus(_fill_nan(bpm)))
    return CleanHeartRate(bpm=bpm, artefact=artefact, n_removed=removed)


def plateaus(bpm: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Seconds inside a plateau (see the module text, step 5) of a gap-free 1 Hz series:
    each step up (or down) is paired with the first step the other way after it."""
    n = bpm.size
    k = PLATEAU_STEP_S
    change = np.full(n, 0.0)
    change[: n - k] = bpm[k:] - bpm[: n - k]  # change over the next k seconds
    out = np.zeros(n, dtype=bool)
    for sign in (1.0, -1.0):
        into = runs(sign * change >= PLATEAU_JUMP_BPM)[:, 0]  # first second of each step
        back = runs(-sign * change >= PLATEAU_JUMP_BPM)[:, 0]
        if not (into.size and back.size):
            continue
        nxt = np.searchsorted(back, into + k)
        ok = nxt < back.size
        a, b = into[ok], back[nxt[ok]]
        length = b - a
        ok = (length >= PLATEAU_S[0]) & (length <= PLATEAU_S[1])
        a, b = a[ok], b[ok]
        step_in = bpm[a + k] - bpm[a]
        step_out = bpm[b] - bpm[np.minimum(b + k, n - 1)]
        returns = np.abs(bpm[np.minimum(b + k, n - 1)] - bpm[a]) <= PLATEAU_RETURN_BPM
        similar = np.abs(step_in - step_out) <= 0.5 * np.maximum(np.abs(step_in),
                                                                 np.abs(step_out))
        keep = returns & similar
        if not keep.any():
            continue
        spans = np.column_stack([a[keep] + 1, np.minimum(b[keep] + k, n)])
        inside = spans_mask(spans, n)
        # Flat in between: the SD of each plateau's interior (by cumulative sums).
        c1 = np.concatenate([[0.0], np.cumsum(bpm)])
        c2 = np.concatenate([[0.0], np.cumsum(bpm**2)])
        lo, hi = a[keep] + k, b[keep]
        m = np.maximum(hi - lo, 1)
        mean = (c1[hi] - c1[lo]) / m
        sd = np.sqrt(np.maximum((c2[hi] - c2[lo]) / m - mean**2, 0.0))
        flat = sd <= PLATEAU_SD_BPM
        out |= spans_mask(spans[flat], n) & inside
    return out


def minute_stats(bpm: NDArray[np.float64]) -> tuple[NDArray, NDArray, NDArray]:
    """Per whole minute of a 1 Hz series: median, SD and coverage (fraction finite)."""
    n_min = bpm.size // 60
    m = bpm[: n_min * 60].reshape(n_min, 60)
    coverage = np.isfinite(m).mean(axis=1)
    with np.errstate(invalid="ignore"), quiet_nan_warnings():
        median = np.nanmedian(m, axis=1)
        sd = np.nanstd(m, axis=1)
    return median, sd, coverage


class quiet_nan_warnings:
    """Silence numpy's 'All-NaN slice' warnings inside a block (NaN is the right answer)."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def estimate_hr_rest(
    bpm: NDArray[np.float64],
    config: Config,
    still_minutes: NDArray[np.bool_] | None = None,
) -> float | None:
    """HR_rest from the lowest plausible resting stretch, or None when there is none.

    A resting stretch is ``rest_min_minutes`` consecutive minutes, each well covered, with
    low variability, a median at most ``rest_max_bpm``, the body still (when acceleration
    says so), and a flat level (Theil–Sen slope within ``rest_max_slope_bpm_min``), which
    excludes the recovery after exercise. The estimate is the stretch's mean minute median.
    Files that start mid-run have no such stretch, so their lowest heart rate is not used.
    A calm stretch more than ``REST_ABOVE_LOW_BPM`` above the session's lowest
    well-covered minute is not rest either: without acceleration to say the body was
    still, a steady easy walk (as flat as rest, and under ``rest_max_bpm``) looks calm,
    and a session that later sits 25 bpm lower shows it was not its resting rate.
    """
    cfg = config.heart_rate
    median, sd, coverage = minute_stats(bpm)
    k = max(2, int(round(cfg.rest_min_minutes)))
    if median.size < k:
        return None
    calm = (coverage >= 0.8) & (sd <= cfg.rest_max_sd_bpm) & (median <= cfg.rest_max_bpm)
    calm &= median >= cfg.valid_min_bpm
    if still_minutes is not None:
        n = min(calm.size, still_minutes.size)
        calm[:n] &= still_minutes[:n]
        calm[n:] = False
    windows = np.lib.stride_tricks.sliding_window_view(median, k)
    all_calm = np.lib.stride_tricks.sliding_window_view(calm, k).all(axis=1)
    if not all_calm.any():
        return None
    slopes = theil_sen(windows[all_calm], np.arange(k, dtype=np.float64))
    flat = np.abs(slopes) <= cfg.rest_max_slope_bpm_min
    if not flat.any():
        return None
    levels = windows[all_calm][flat].mean(axis=1)
    lowest = float(median[(coverage >= 0.8) & np.isfinite(median)].min())
    if levels.min() > lowest + REST_ABOVE_LOW_BPM:
        return None
    return float(levels.min())


def resolve_params(
    bpm: NDArray[np.float64] | None,
    profile: Profile,
    config: Config,
    still_minutes: NDArray[np.bool_] | None = None,
    calibration: Calibration | None = None,
    device: tuple[str, ...] = (),
) -> HeartRateParams:
    """HR_rest and HR_max per the definitions ('Relative intensity'), with their sources
    and warnings.

    The definitions' order (profile, [resting stretch,] calibration, [age,] default),
    with a researcher's calibration value before the input file's own setting (a watch's
    stored resting or maximum heart rate, often never set: ``device`` names the profile
    fields the file stored, see :class:`~dosewatch.session.Provenance`), and that before
    a value the calibration learned:

    - HR_max: the profile's (``profile``), else a researcher's value in the calibration
      (``researcher``), else the file's own (``device``), else the calibration's learned
      value (``calibration``), else age (``age``), else the default (``default``); then
      raised to a rate the session held (``observed``).
    - HR_rest: the profile's, else a resting stretch in the session (``estimated``), else
      a researcher's calibration value, else the file's own, else the learned calibration
      value, else the default.
    """
    cfg = config.heart_rate
    warnings: list[str] = []

    def split(value: Value | None) -> tuple[float | None, float | None]:
        """A calibration value as (the researcher's, the learned one)."""
        if value is None:
            return None, None
        return (value.value, None) if value.source == RESEARCHER else (None, value.value)

    researcher_max, learned_max = split(None if calibration is None else calibration.hr_max)
    researcher_rest, learned_rest = split(None if calibration is None else calibration.hr_rest)
    device_max = profile.hr_max if "hr_max" in device else None
    device_rest = profile.hr_rest if "hr_rest" in device else None
    given_max = None if device_max is not None else profile.hr_max
    given_rest = None if device_rest is not None else profile.hr_rest
    prior_max = (cfg.tanaka_intercept - cfg.tanaka_slope * profile.age
                 if profile.age is not None else cfg.hr_max_default)
    hr_max, max_source = next((float(v), source) for v, source in (
        (given_max, "profile"), (researcher_max, "researcher"), (device_max, "device"),
        (learned_max, "calibration"), (None if profile.age is None else prior_max, "age"),
        (cfg.hr_max_default, "default")) if v is not None)

    # A resting stretch is looked for whatever the calibration or the file says: it is
    # what the session tells about the participant (their calibration's evidence).
    estimate = None if bpm is None or given_rest is not None else \
        estimate_hr_rest(bpm, config, still_minutes)
    hr_rest, rest_source = next((float(v), source) for v, source in (
        (given_rest, "profile"), (estimate, "estimated"), (researcher_rest, "researcher"),
        (device_rest, "device"), (learned_rest, "calibration"),
        (cfg.hr_rest_default, "default")) if v is not None)
    if rest_source == "default":
        warnings.append(
            f"no resting stretch in the data and no hr_rest in the profile: "
            f"HR_rest = {hr_rest:g} bpm (default); give hr_rest for accurate %HRR"
        )

    sustained = None
    if bpm is not None:
        hold = max(1, int(round(cfg.hr_max_raise_s)))
        if bpm.size >= hold:
            sustained = float(moving_min(np.nan_to_num(bpm, nan=-1.0), hold).max())
            sustained = sustained if sustained >= cfg.valid_min_bpm else None
            if sustained is not None and sustained > hr_max:
                warnings.append(
                    f"heart rate held {sustained:.0f} bpm for {hold} s, above HR_max "
                    f"{hr_max:.0f} ({max_source}): HR_max raised to {sustained:.0f}"
                )
                hr_max, max_source = sustained, "observed"
    if hr_rest >= hr_max - 20:
        warnings.append(
            f"HR_rest {hr_rest:.0f} is within 20 bpm of HR_max {hr_max:.0f}: %HRR is unreliable"
        )
    return HeartRateParams(hr_rest, rest_source, hr_max, max_source, tuple(warnings),
                           held_max=sustained,
                           rest_stretch=estimate,
                           prior_max=float(profile.hr_max) if profile.hr_max is not None
                           else prior_max,
                           profile_max=None if profile.hr_max is None else float(profile.hr_max),
                           given_max=None if given_max is None else float(given_max),
                           own_rest=next((float(v) for v in (given_rest, estimate,
                                                             device_rest)
                                          if v is not None), None),
                           given_rest=None if given_rest is None else float(given_rest))


def pct_hrr(bpm: NDArray[np.float64], params: HeartRateParams) -> NDArray[np.float64]:
    """Karvonen: 100 × (HR − HR_rest) / (HR_max − HR_rest)."""
    return 100.0 * (bpm - params.hr_rest) / max(params.hr_max - params.hr_rest, 1.0)


def demand(bpm: NDArray[np.float64], config: Config) -> NDArray[np.float64]:
    """The heart rate the current workload demands, second by second: first-order HR
    kinetics inverted, ``D = HR + τ · dHR/dt`` (τ = ``tau_on_s`` while heart rate rises,
    ``tau_off_s`` while it falls), on heart rate smoothed over ``demand_window_s``
    (Savitzky–Golay). A step of workload is seen within seconds instead of after the
    heart rate's lag, and the minutes of recovery after the workload drops read as the
    lower demand they are, not as the still-high heart rate. NaN where ``bpm`` is."""
    cfg = config.heart_rate
    finite = np.isfinite(bpm)
    window = max(5, int(round(cfg.demand_window_s)) | 1)
    if finite.sum() < window:
        return np.full(bpm.size, np.nan)
    smooth, slope = quadratic_smooth(_fill_nan(bpm), window)
    tau = np.where(slope > 0, cfg.tau_on_s, cfg.tau_off_s)
    out = smooth + tau * slope
    out[~finite] = np.nan
    return out


def quadratic_smooth(y: NDArray[np.float64], window: int
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Savitzky–Golay smoothing of order 2: the value and the slope (per sample) of a
    least-squares parabola through the ``window`` samples centred on each sample; the
    first and last half-windows are read off the parabola of the first and last full
    window. Two correlations with fixed weights: linear in the series' length."""
    half = window // 2
    x = np.arange(-half, half + 1, dtype=np.float64)
    fit = np.linalg.pinv(np.vander(x, 3, increasing=True))  # rows: a0, a1, a2 weights
    smooth = np.correlate(y, fit[0], mode="valid")
    slope = np.correlate(y, fit[1], mode="valid")
    edges = np.arange(-half, 0, dtype=np.float64)
    out_smooth = np.empty_like(y)
    out_slope = np.empty_like(y)
    out_smooth[half:-half], out_slope[half:-half] = smooth, slope
    for side, block, at in ((slice(0, half), y[:window], edges),
                            (slice(y.size - half, y.size), y[-window:], -edges[::-1])):
        a0, a1, a2 = fit @ block
        out_smooth[side] = a0 + a1 * at + a2 * at**2
        out_slope[side] = a1 + 2 * a2 * at
    return out_smooth, out_slope


HR_COLUMNS = ("hr_bpm", "hr_coverage", "hr_artefact", "hr_sd_bpm", "pct_hrr",
              "hr_demand_bpm", "pct_hrr_demand")


def _still_minutes(from_acc: NDArray[np.bool_] | None, session: Session,
                   n_minutes: int) -> NDArray[np.bool_] | None:
    """Per whole minute, whether the body was still: by acceleration where there is
    some, and never in a minute whose speed or power shows work (a rider pedalling at
    60 W with an easy heart rate is not resting)."""
    from .workload import MOVING_MPS, MOVING_W

    working = np.zeros(n_minutes, dtype=bool)
    channels = [(session.speed.t, session.speed.mps, MOVING_MPS)] if session.speed else []
    if session.power is not None:
        channels.append((session.power.t, session.power.values, MOVING_W))
    if not channels:
        return from_acc
    for t, values, threshold in channels:
        minute = (t // 60).astype(np.int64)
        inside = (minute >= 0) & (minute < n_minutes)
        moving = inside & (values >= threshold)
        working |= np.bincount(minute[moving], minlength=n_minutes)[:n_minutes] > 0
    if from_acc is None:
        return ~working
    still = np.zeros(n_minutes, dtype=bool)
    n = min(n_minutes, from_acc.size)
    still[:n] = from_acc[:n]
    return still & ~working


def hr_epoch_features(hr: HeartRate, session: Session, grid: EpochGrid, config: Config,
                      ctx: FeatureContext) -> dict[str, NDArray[np.float64]]:
    """Per epoch: the median clean heart rate read ``lag_s`` later (heart rate lags
    effort; at the end of the data, the epoch's own), its coverage, the share removed as
    artefact, its SD, and %HRR with HR_rest/HR_max resolved as SPEC says (left in
    ``ctx``)."""
    lag = max(0, int(round(config.heart_rate.lag_s)))
    n_seconds = int(np.ceil(session.duration_s)) + lag
    wrist_acc = ctx.cadence_1hz is not None and ctx.placement == "wrist"
    cleaned = clean(hr, n_seconds, config, cadence_spm=ctx.cadence_1hz if wrist_acc else None)
    ctx.hr_removed = cleaned.n_removed
    bpm = cleaned.bpm
    still = _still_minutes(ctx.still_minutes, session, bpm.size // 60)
    params = resolve_params(bpm, session.profile, config, still, ctx.calibration,
                            session.provenance.device_profile)
    ctx.hr_params = params
    ctx.warnings.extend(params.warnings)
    per_s, n = grid.per_s, grid.n
    now = per_epoch(bpm, per_s, n)
    later = per_epoch(bpm[lag:], per_s, n)
    cover_now = np.isfinite(now).mean(axis=1)
    cover_later = np.isfinite(later).mean(axis=1)
    use_later = cover_later >= 0.5
    chosen = np.where(use_later[:, None], later, now)
    coverage = np.where(use_later, cover_later, cover_now)
    level = nan_median_rows(chosen)
    level[coverage < 0.5] = np.nan
    with np.errstate(invalid="ignore"), quiet_nan_warnings():
        sd = np.where(coverage >= 0.5, np.nanstd(chosen, axis=1), np.nan)
    demand_now = per_epoch(demand(bpm, config), per_s, n)
    demand_bpm = nan_median_rows(demand_now)
    demand_bpm[cover_now < 0.5] = np.nan
    return {
        "hr_bpm": level,
        "hr_coverage": coverage,
        "hr_artefact": row_mean(per_epoch(cleaned.artefact.astype(np.float64), per_s, n)),
        "hr_sd_bpm": sd,
        "pct_hrr": pct_hrr(level, params),
        "hr_demand_bpm": demand_bpm,
        "pct_hrr_demand": pct_hrr(demand_bpm, params),
    }


HR_FEATURES = StreamFeatures("hr", HR_COLUMNS, hr_epoch_features,
                             fill={"hr_coverage": 0.0, "hr_artefact": 0.0})
