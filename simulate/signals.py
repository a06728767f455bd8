"""Small signal tools the simulator's physiology and sensors share: stationary noise, an
asymmetric first-order lag, random event spans, and the record of an artefact."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal


def ar1(rng: np.random.Generator, n: int, tau: float, sd: float) -> NDArray[np.float64]:
    """Stationary AR(1) noise with time constant ``tau`` samples and standard deviation ``sd``."""
    if n == 0:
        return np.zeros(0)
    a = float(np.exp(-1.0 / tau))
    white = rng.standard_normal(n)
    zi = [a * rng.standard_normal()]  # a stationary start
    out, _ = signal.lfilter([np.sqrt(1.0 - a * a)], [1.0, -a], white, zi=zi)
    return sd * out


def asymmetric_lag(u: NDArray[np.float64], x0: float, tau_up: float, tau_down: float,
                   deadband: float = 0.0) -> NDArray[np.float64]:
    """First-order lag of ``u`` (1 sample per second) with time constant ``tau_up`` while
    the target is above the output and ``tau_down`` while below.

    Exact: one linear filter runs until the first sample where the direction changes
    (beyond ``deadband``), then the next starts from there. The loop is over changes of
    direction (a few per protocol segment), each filter over a chunk that doubles while
    no change occurs.
    """
    n = u.size
    out = np.empty(n)
    a_up, a_down = float(np.exp(-1.0 / tau_up)), float(np.exp(-1.0 / tau_down))
    s, x = 0, float(x0)
    rising = bool(n and u[0] >= x)
    chunk = 256
    while s < n:
        e = min(n, s + chunk)
        a = a_up if rising else a_down
        y, _ = signal.lfilter([1.0 - a], [1.0, -a], u[s:e], zi=[a * x])
        prev = np.concatenate(([x], y[:-1]))
        diff = u[s:e] - prev
        wrong = diff < -deadband if rising else diff > deadband
        k = int(np.argmax(wrong)) if wrong.any() else e - s
        if k == 0:
            rising = not rising
            continue
        out[s:s + k] = y[:k]
        x = float(y[k - 1])
        if s + k < e:
            rising = not rising
            chunk = 256
        else:
            chunk = min(chunk * 2, 1 << 16)
        s += k
    return out


def events(rng: np.random.Generator, allowed: NDArray[np.bool_], rate_per_s: float,
           dur_range: tuple[float, float], at_least: int = 0) -> list[tuple[int, int]]:
    """Random ``[start, end)`` second spans starting inside ``allowed`` seconds, Poisson
    count, durations uniform in ``dur_range`` and clipped to the allowed stretch."""
    where = np.flatnonzero(allowed)
    if where.size == 0:
        return []
    count = max(at_least, int(rng.poisson(rate_per_s * where.size)))
    if count == 0:
        return []
    starts = np.sort(rng.choice(where, size=min(count, where.size), replace=False))
    durations = np.round(rng.uniform(*dur_range, size=starts.size)).astype(int)
    # End of the allowed stretch that holds each start.
    padded = np.concatenate([allowed, [False]])
    stretch_end = np.flatnonzero(padded[1:] < padded[:-1]) + 1  # exclusive ends
    ends = np.minimum(starts + durations, stretch_end[np.searchsorted(stretch_end, starts,
                                                                      side="right")])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b > a]


def smooth_seconds(x: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    """Centred moving average over ``width`` samples, the ends held."""
    padded = np.concatenate([np.full(width // 2, x[0]), x, np.full(width - 1 - width // 2, x[-1])])
    return np.convolve(padded, np.ones(width) / width, mode="valid")


@dataclass(frozen=True)
class Artefact:
    """A sensor artefact the simulator put in: ``kind`` over ``[start_s, end_s)``."""

    kind: str
    start_s: float
    end_s: float

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "start_s": self.start_s, "end_s": self.end_s}
