"""A synthetic ECG with known beats, for the R-peak detector's tests and benchmark.

Each beat is one template (P, Q, R, S and T waves as Gaussians, in mV, the shape of a
lead II) placed at known times by convolving an impulse train with it, so that a day of
ECG is built with array operations.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# (centre s from the R peak, width s, amplitude mV): P, Q, R, S, T
WAVES = ((-0.18, 0.025, 0.15), (-0.025, 0.010, -0.12), (0.0, 0.011, 1.0),
         (0.03, 0.012, -0.25), (0.26, 0.045, 0.30))


def beat_times(duration_s: float, bpm: float = 70.0, seed: int = 0,
               variability: float = 0.02) -> NDArray[np.float64]:
    """Beat times over ``duration_s``: a rate of ``bpm`` with slow swings (8 %) and a
    little beat-to-beat variability (``variability``: the fraction of an RR interval; 2 %
    is an RMSSD of about 20 ms at rest, as in healthy adults)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * bpm / 60 * 1.3) + 10
    slow = 1 + 0.08 * np.sin(np.arange(n) / 40.0)
    rr = 60.0 / bpm * slow * (1 + variability * rng.standard_normal(n))
    t = 0.5 + np.cumsum(rr)
    return t[t < duration_s - 0.5]


def synthetic_ecg(beats: NDArray[np.float64], duration_s: float, fs: float,
                  t_wave: float = 0.30) -> NDArray[np.float64]:
    """The ECG (mV) sampled at ``fs`` with an R peak at each of ``beats`` (seconds)."""
    from scipy.signal import oaconvolve

    n = round(duration_s * fs)
    train = np.zeros(n)
    np.add.at(train, np.clip(np.rint(beats * fs).astype(np.intp), 0, n - 1), 1.0)
    half = int(0.4 * fs)
    k = np.arange(-half, half + 1) / fs
    template = np.zeros(k.size)
    for centre, width, amplitude in WAVES:
        if centre > 0.2:
            amplitude = t_wave
        template += amplitude * np.exp(-0.5 * ((k - centre) / width) ** 2)
    return oaconvolve(train, template, mode="same")
