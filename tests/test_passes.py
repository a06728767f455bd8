"""Whole-stream passes split between threads answer as the one-call NumPy expressions."""

from __future__ import annotations

import numpy as np
import pytest

from dosewatch import passes
from dosewatch.passes import all_finite, first_argmin, map_parts, nan_span, strictly_increasing


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split arrays of a few dozen elements into 4 parts, on threads, as a week's are."""
    monkeypatch.setattr(passes, "PARALLEL_MIN", 16)
    monkeypatch.setattr(passes, "BLOCK", 5)
    monkeypatch.setattr(passes, "usable_cpus", lambda: 4)


def test_the_parts_cover_the_array_once_in_order(small_parts) -> None:
    a = np.arange(37)
    parts = map_parts(lambda p: p.copy(), a)
    assert len(parts) == 4
    assert np.array_equal(np.concatenate(parts), a)
    with_next = map_parts(lambda p: p.copy(), a, overlap=1)
    assert [p[-1] for p in with_next[:-1]] == [p[0] for p in parts[1:]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_finite_check_is_exact_when_the_quick_sum_overflows(dtype) -> None:
    """Values whose sum overflows are still finite; one NaN or infinity anywhere is not."""
    huge = np.full((1000, 3), np.finfo(dtype).max / 2, dtype=dtype)
    assert all_finite(huge)
    for bad in (np.nan, np.inf, -np.inf):
        spoiled = huge.copy()
        spoiled[567, 1] = bad
        assert not all_finite(spoiled)
        small = np.ones(10, dtype=dtype)
        small[3] = bad
        assert not all_finite(small)


@pytest.mark.parametrize("where", [0, 15, 16, 17, 38, 39])
def test_split_passes_find_a_bad_value_in_any_part_and_at_every_seam(small_parts,
                                                                     where) -> None:
    t = np.arange(40, dtype=float)
    assert strictly_increasing(t) and all_finite(t)
    assert first_argmin(t) == 0 and nan_span(t) == (0.0, 39.0)

    back = t.copy()
    if where:
        back[where] = back[where - 1]  # a repeated time: not strictly increasing
        assert not strictly_increasing(back)
    nan = t.copy()
    nan[where] = np.nan
    assert not all_finite(nan)
    assert first_argmin(nan) == int(np.argmin(nan)) == where
    assert nan_span(nan) == (float(np.fmin.reduce(nan)), float(np.fmax.reduce(nan)))
    assert not strictly_increasing(nan)
    low = t + 100
    low[where] = -5
    low[-1] = -5  # a tie later: the first is the answer
    assert first_argmin(low) == int(np.argmin(low)) == where


def test_split_passes_agree_with_numpy_on_random_arrays(small_parts) -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        t = np.cumsum(rng.integers(0, 3, n)).astype(float)
        t[rng.random(n) < 0.05] = np.nan
        assert strictly_increasing(t) == bool((t[1:] > t[:-1]).all())
        assert first_argmin(t) == int(np.argmin(t))
        assert all_finite(t) == bool(np.isfinite(t).all())
        with np.errstate(invalid="ignore"):
            want = (float(np.fmin.reduce(t)), float(np.fmax.reduce(t)))
        assert nan_span(t) == pytest.approx(want, nan_ok=True)


def test_without_threads_to_be_had_the_parts_run_one_at_a_time(small_parts, monkeypatch) -> None:
    """Under a process or memory limit a thread may not start ("can't start new
    thread"); the pass still answers, part by part."""
    import concurrent.futures

    def refuse(self, fn, /, *args, **kwargs):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "submit", refuse)
    t = np.arange(40, dtype=float)
    assert strictly_increasing(t) and first_argmin(t) == 0 and nan_span(t) == (0.0, 39.0)
    t[25] = np.nan
    assert not all_finite(t) and first_argmin(t) == 25


def test_an_error_inside_a_part_reaches_the_caller(small_parts) -> None:
    """A part that fails (MemoryError under an input's memory budget) fails the pass,
    as the one-call expression would, rather than being taken for a missing thread."""
    def fail(p):
        raise MemoryError

    with pytest.raises(MemoryError):
        map_parts(fail, np.arange(40))


def test_under_an_address_space_limit_a_pass_starts_no_thread(monkeypatch) -> None:
    """Each thread costs a stack and a malloc arena of address space, which a
    ``ulimit -v`` would rather give to the data: one part then."""
    monkeypatch.setattr(passes, "usable_cpus", lambda: 4)
    long = 4 * passes.PARALLEL_MIN
    assert len(passes._bounds(long)) == 5
    monkeypatch.setattr(passes, "address_space_limit_mb", lambda: 1500.0)
    assert passes._bounds(long) == [0, long]


def test_acceleration_in_column_order_is_checked_without_a_copy(small_parts) -> None:
    """A table's three axes often arrive in column order (Fortran order); the checks
    take rows of the array as it is instead of flattening it into a copy."""
    import tracemalloc

    xyz = np.asfortranarray(np.ones((200_000, 3), dtype=np.float32))
    tracemalloc.start()
    try:
        assert all_finite(xyz)
        assert nan_span(xyz) == (1.0, 1.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < xyz.nbytes / 4  # a flattened copy is the array's size
