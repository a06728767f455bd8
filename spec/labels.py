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


def accelerating_mask(
    intensity: NDArray[np.floating],
    config: Config,
    trend_intensity: NDArray[np.floating] | None = None,
) -> NDArray[np.bool_]:
    """Where the workload is ramping up, per SPEC plus the half-window condition.

    The window holds the epoch and ``h`` epochs either side. Over its non-rest part, the
    Theil–Sen slope must reach ``accelerating_slope``; at least ``min_nonrest_fraction`` of
    the window must be non-rest; the epoch itself must be non-rest; and each half of the
    window (centre included) must rise at ``half_slope_fraction`` of the threshold, which
    keeps a single change of pace from reading as a ramp.

    ``trend_intensity``, when given, is what the window's slopes are computed from (NaN =
    leave the epoch out of the trend); a classifier uses it to leave out epochs it knows
    to be unreliable for a trend. The epoch's own rest/non-rest comes from ``intensity``.
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
    left = theil_sen(windows[:, : h + 1], x[: h + 1])
    right = theil_sen(windows[:, h:], x[h:])
    enough = np.isfinite(windows).sum(axis=1) >= trend.min_nonrest_fraction * (2 * h + 1)
    half_threshold = trend.half_slope_fraction * trend.accelerating_slope
    with np.errstate(invalid="ignore"):
        return (
            nonrest
            & enough
            & (full >= trend.accelerating_slope)
            & (left >= half_threshold)
            & (right >= half_threshold)
        )


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
