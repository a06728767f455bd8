"""Robust trends over centred windows, vectorised over all windows at once.

``centred_windows`` turns a series of ``n`` epochs into an ``(n, 2h+1)`` matrix (NaN beyond
the ends), and ``theil_sen`` takes the median of all pairwise slopes of every row in one
array operation. A window of 11 epochs has 55 pairs, so a week of minutes (10,080 rows) is
a ``(10080, 55)`` array: no Python loop over windows anywhere.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def centred_windows(values: NDArray[np.floating], half: int) -> NDArray[np.float64]:
    """Rows ``values[i - half : i + half + 1]``, NaN-padded at both ends. Shape ``(n, 2h+1)``."""
    values = np.asarray(values, dtype=np.float64)
    padded = np.full(values.size + 2 * half, np.nan)
    padded[half : half + values.size] = values
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)


def nan_median_rows(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Median of each row ignoring NaN; NaN for a row with no finite value (no warning)."""
    a = np.sort(a, axis=1)  # NaN sort last
    n_valid = np.isfinite(a).sum(axis=1)
    lo = np.clip((n_valid - 1) // 2, 0, None)
    hi = np.clip(n_valid // 2, 0, a.shape[1] - 1)
    rows = np.arange(a.shape[0])
    median = 0.5 * (a[rows, lo] + a[rows, hi])
    median[n_valid == 0] = np.nan
    return median


def theil_sen(y: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Theil–Sen slope of each row of ``y`` (shape ``(n, k)``) against ``x`` (shape ``(k,)``).

    NaN entries of ``y`` are left out, pairs and all; a row with fewer than two finite
    points gives NaN.
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    i, j = np.triu_indices(x.size, k=1)
    slopes = (y[:, j] - y[:, i]) / (x[j] - x[i])
    return nan_median_rows(slopes)
