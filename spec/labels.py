"""The SPEC's epoch labels, levels and session class, written once.

The same functions label the simulator's true intensity (the *reference* labels) and a
classifier's estimated intensity, so the two can only differ in the intensity they are
given, never in how the rules are read.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from .trend import centred_windows, theil_sen


class Label(IntEnum):
    """Epoch labels. Codes are ordered so that a higher code wins a session-class tie
    (accelerating, then intermediate, then constant). MISSING marks an epoch with no data."""

    MISSING = -1
    REST = 0
    CONSTANT = 1
    INTERMEDIATE = 2
    ACCELERATING = 3


LABEL_NAMES = {label: label.name.lower() for label in Label}
LEVEL_NAMES = ("rest", "light", "intermediate", "vigorous")


def label_names(codes: NDArray[np.integer]) -> NDArray[np.str_]:
    """Codes to their lower-case names (``missing``, ``rest``, ``constant``, ...)."""
    table = np.array([LABEL_NAMES[Label(c)] for c in range(-1, 4)])
    return table[np.asarray(codes) + 1]


def levels(intensity: NDArray[np.floating], config: Config) -> NDArray[np.str_]:
    """The level name of each epoch's %HRR ('' where the intensity is missing)."""
    lv = config.levels
    bins = np.array([lv.light_from, lv.intermediate_from, lv.vigorous_from])
    index = np.digitize(np.nan_to_num(intensity, nan=-1.0), bins)
    out = np.asarray(LEVEL_NAMES, dtype=object)[index].astype(str)
    out[~np.isfinite(intensity)] = ""
    return out


def trend_half_width(config: Config) -> int:
    """Epochs either side of the centre in the trend window (5 for 10 min of 1-min epochs)."""
    return max(1, int(round(config.trend.window_min / config.epoch_min / 2)))


def without_largest_change(windows: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row of ``windows`` (NaN = not a non-rest epoch) with its largest single change
    of pace taken out: the largest rise between consecutive non-rest epochs, or over two
    in a row (a change in the middle of an epoch splits between two epochs), every later
    epoch lowered by it and the epoch inside a two-step change flattened to where it
    started. A row without a rise is unchanged. Vectorised over rows; the order of the
    search (earlier first, one step before two) decides ties, as the reference does."""
    n, w = windows.shape
    if w < 2:
        return windows.copy()
    order = np.argsort(np.isnan(windows), axis=1, kind="stable")  # non-rest first, in time
    c = np.take_along_axis(windows, order, axis=1)
    one = c[:, 1:] - c[:, :-1]
    two = np.full((n, w - 1), np.nan)
    two[:, : w - 2] = c[:, 2:] - c[:, :-2]
    candidates = np.stack([one, two], axis=2).reshape(n, 2 * (w - 1))  # (k, width) order
    candidates = np.where(np.isfinite(candidates), candidates, -np.inf)
    best_at = np.argmax(candidates, axis=1)
    rise = candidates[np.arange(n), best_at]
    first, width = best_at // 2, best_at % 2 + 1
    last = first + width - 1
    j = np.arange(w)[None, :]
    start = c[np.arange(n), first][:, None]
    adjusted = np.where(j <= first[:, None], c,
                        np.where(j <= last[:, None], start, c - rise[:, None]))
    adjusted = np.where((rise > 0)[:, None], adjusted, c)
    out = np.empty_like(windows)
    np.put_along_axis(out, order, adjusted, axis=1)
    return out


def accelerating_mask(
    intensity: NDArray[np.floating],
    config: Config,
    trend_intensity: NDArray[np.floating] | None = None,
) -> NDArray[np.bool_]:
    """Where the workload is ramping up (the definitions' *accelerating*).

    The window holds the epoch and ``h`` epochs either side. Over its non-rest part, the
    Theil–Sen slope must reach ``accelerating_slope``; at least ``min_nonrest_fraction`` of
    the window must be non-rest; the epoch itself must be non-rest; and the rise must not
    be a single change of pace: with the window's largest change of pace taken out
    (:func:`without_largest_change`), what is left must still rise at
    ``single_change_fraction`` of the threshold. A staircase (a step every 1–3 minutes)
    still rises once one step is taken out; one change of pace does not.

    ``trend_intensity``, when given, is what the window's slopes are computed from (NaN =
    leave the epoch out of the trend); a classifier uses it to leave out epochs it knows
    to be unreliable for a trend, or to take the trend from another signal (a workload).
    The epoch's own rest/non-rest comes from ``intensity``.
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    trend = config.trend
    nonrest = np.isfinite(intensity) & (intensity >= config.levels.light_from)
    source = intensity if trend_intensity is None else np.asarray(trend_intensity, np.float64)
    h = trend_half_width(config)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(source) & (source >= config.levels.light_from)
    windows = centred_windows(np.where(usable, source, np.nan), h)
    x = np.arange(-h, h + 1) * config.epoch_min
    full = theil_sen(windows, x)
    enough = np.isfinite(windows).sum(axis=1) >= trend.min_nonrest_fraction * (2 * h + 1)
    with np.errstate(invalid="ignore"):
        ramp = nonrest & enough & (full >= trend.accelerating_slope)
    if trend.single_change_fraction > 0 and ramp.any():
        rows = np.flatnonzero(ramp)
        rest_of_rise = theil_sen(without_largest_change(windows[rows]), x)
        with np.errstate(invalid="ignore"):
            ramp[rows] = rest_of_rise >= trend.single_change_fraction * trend.accelerating_slope
    return ramp


def label_epochs(
    intensity: NDArray[np.floating],
    config: Config,
    trend_intensity: NDArray[np.floating] | None = None,
) -> NDArray[np.int8]:
    """SPEC labels of a series of epoch intensities (%HRR; NaN = no data).
    ``trend_intensity``: see :func:`accelerating_mask` (the reference labels never use it)."""
    intensity = np.asarray(intensity, dtype=np.float64)
    lv = config.levels
    labels = np.full(intensity.size, Label.MISSING, dtype=np.int8)
    finite = np.isfinite(intensity)
    labels[finite] = Label.CONSTANT
    labels[finite & (intensity < lv.light_from)] = Label.REST
    labels[finite & (intensity >= lv.intermediate_from) & (intensity < lv.vigorous_from)] = (
        Label.INTERMEDIATE
    )
    labels[accelerating_mask(intensity, config, trend_intensity)] = Label.ACCELERATING
    return labels


def session_class(labels: NDArray[np.integer]) -> str:
    """The most frequent non-rest label; ties go to accelerating, intermediate, constant.
    ``none`` when no epoch is exercise."""
    counts = np.bincount(np.asarray(labels)[np.asarray(labels) > 0], minlength=4)[1:]
    if counts.sum() == 0:
        return "none"
    # Highest count; among equal counts the highest code (argmax of the reversed array).
    best = len(counts) - 1 - int(np.argmax(counts[::-1]))
    return LABEL_NAMES[Label(best + 1)]
