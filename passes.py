"""Whole-stream passes over long recordings, shared between the cores.

A week of acceleration at 100 Hz is 60 million times and 180 million values. One pass
over it (a sum, a minimum, a comparison of neighbours) takes 0.03 to 0.1 s, bounded by
what one core can pull from memory; a file goes through a dozen such checks between its
read and its minutes. NumPy lets go of the interpreter inside these loops, so threads
on parts of the array run them side by side: two parts on two cores take about half as
long. Arrays shorter than :data:`PARALLEL_MIN` are done in one call, where starting
threads would cost more than they save.

Every function answers exactly as the one-call NumPy expression in its text would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import pairwise
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from .errors import address_space_limit_mb

__all__ = ["all_finite", "first_argmin", "map_parts", "nan_span", "strictly_increasing",
           "usable_cpus"]

PARALLEL_MIN = 1 << 22
"""Rows (elements of a 1-D array) from which a pass is split into parts (4 million:
16–48 MB)."""
MAX_THREADS = 4
"""Parts at most, the calling thread's included: beyond a few cores, a pass is limited
by the memory bus, not by the cores."""
BLOCK = 1 << 18
"""Elements per step of a pass that needs a temporary array (a comparison of
neighbours): its temporaries stay in the cache instead of a 60-million-element
boolean array that is written to memory and read back."""

T = TypeVar("T")


def usable_cpus() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _bounds(n: int) -> list[int]:
    """Where the parts of ``n`` rows begin (and the last ends). One part under an
    address-space limit: each thread costs 8 MB of stack and a 64 MB malloc arena of
    address space, which such a limit would rather give to the data."""
    parts = min(MAX_THREADS, usable_cpus(), max(1, n // (PARALLEL_MIN // 2)))
    if parts > 1 and address_space_limit_mb() is not None:
        parts = 1
    return [n * i // parts for i in range(parts + 1)]


def _map(fn: Callable[[NDArray], T], a: NDArray, bounds: list[int], overlap: int) -> list[T]:
    pieces = [a[lo:hi + overlap] for lo, hi in pairwise(bounds)]
    if len(pieces) == 1:
        return [fn(pieces[0])]
    # The first part runs here, the others on threads (one thread fewer to start).
    futures: list[Future[T]] = []
    with ThreadPoolExecutor(max_workers=len(pieces) - 1,
                            thread_name_prefix="dosewatch-pass") as ex:
        try:
            for piece in pieces[1:]:
                futures.append(ex.submit(fn, piece))
        except RuntimeError:  # no thread to be had (a process or memory limit): the
            pass  # parts without one run here
        first = fn(pieces[0])
    done = [future.result() for future in futures]
    return [first, *done, *(fn(piece) for piece in pieces[1 + len(futures):])]


def map_parts(fn: Callable[[NDArray], T], a: NDArray, overlap: int = 0) -> list[T]:
    """``fn`` of consecutive parts of ``a`` (along its first axis), in order; the parts
    run side by side (this thread and others) when ``a`` is long. Each part but the last
    also holds the first ``overlap`` rows of the next (for passes over neighbours)."""
    return _map(fn, a, _bounds(len(a)), overlap)


def all_finite(a: NDArray) -> bool:
    """``np.isfinite(a).all()``, without a boolean array the size of ``a``: a sum is NaN
    or infinite when any value is; only a sum that overflows (huge finite values) needs
    the element-wise check. Sums are in ``a``'s own type: float32 acceleration summed as
    float64 took twice as long, and its sums stay far from float32's limit. Parts are
    rows, so an array in column order is not copied."""

    def part(p: NDArray) -> bool:
        with np.errstate(over="ignore", invalid="ignore"):
            return bool(np.isfinite(p.sum()))

    if a.ndim > 0 and all(map_parts(part, a)):
        return True
    return bool(np.isfinite(a).all())


def nan_span(a: NDArray) -> tuple[float, float]:
    """``(np.fmin.reduce(a), np.fmax.reduce(a))`` over all of ``a``: the lowest and
    highest value, NaN left out (NaN when all are NaN). ``a`` must not be empty."""
    parts = map_parts(lambda p: (np.fmin.reduce(p, axis=None), np.fmax.reduce(p, axis=None)),
                      a.reshape(-1) if a.ndim == 0 else a)
    return (float(np.fmin.reduce([lo for lo, _ in parts])),
            float(np.fmax.reduce([hi for _, hi in parts])))


def strictly_increasing(t: NDArray) -> bool:
    """``(t[1:] > t[:-1]).all()``: every value above the one before (False at a NaN)."""

    def part(p: NDArray) -> bool:
        for lo in range(0, len(p) - 1, BLOCK):
            hi = min(len(p), lo + BLOCK + 1)
            if not (p[lo + 1:hi] > p[lo:hi - 1]).all():
                return False
        return True

    return all(map_parts(part, t, overlap=1))


def first_argmin(t: NDArray) -> int:
    """``int(np.argmin(t))`` of a 1-D array: the first NaN when there is one, else the
    first of the lowest values."""
    bounds = _bounds(len(t))
    found = _map(lambda p: int(np.argmin(p)), t, bounds, 0)
    best = None
    for start, i in zip(bounds[:-1], found, strict=True):
        v = t[start + i]
        if np.isnan(v):
            return start + i  # the first part's NaN is the first NaN
        if best is None or v < t[best]:
            best = start + i
    assert best is not None
    return best
