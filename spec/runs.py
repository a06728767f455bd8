"""Runs of True in a boolean series, and back: the one place both directions are written.

Bouts (runs of qualifying epochs), heart-rate cleaning (cadence-lock stretches) and gap
filling (runs of missing epochs) all work on runs, never on single samples in a loop.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def runs(mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """``(n_runs, 2)``: start and end (exclusive) of each run of True."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    return np.flatnonzero(m[1:] != m[:-1]).reshape(-1, 2)


def spans_mask(spans: NDArray[np.intp], n: int) -> NDArray[np.bool_]:
    """A length-``n`` mask that is True inside the half-open ``spans`` (``(k, 2)``): +1 at
    each start, -1 at each end, and a cumulative sum."""
    marks = np.zeros(n + 1, dtype=np.int32)
    spans = np.asarray(spans, dtype=np.intp).reshape(-1, 2)
    np.add.at(marks, spans[:, 0], 1)
    np.add.at(marks, spans[:, 1], -1)
    return np.cumsum(marks[:-1]) > 0
