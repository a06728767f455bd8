"""Workload -> heart rate: the physiology, then the sensor (chest strap or wrist optical).

Steady state ``HR_rest + I/100 (HR_max - HR_rest)`` plus cardiac drift, followed by a
first-order lag with the person's ``tau_on_s`` when the target is above the heart rate and
``tau_off_s`` when below (exact piecewise solution, one linear filter per change of
direction). Drift is a slow first-order state whose target grows with intensity above
20 %HRR (the drift rate is its initial slope at 60 %HRR; it rises with the drift's time
constant, 45 min by default, and decays with 8 min at lower intensity). The person's own
drift (0.1-0.3 bpm/min) gives 2-10 bpm over a 40-min run, well under the 0.75 %HRR/min of
the accelerating rule; a heat-like drift (a rate up to 1 bpm/min with a 3-h time constant,
nearly linear over a session) does not. After exhaustion (true intensity above
86 %HRR, which only ``ramp_to_exhaustion`` reaches) a slow recovery component holds the
heart rate up: 3 bpm per %HRR above 86 (up to 42 bpm), building with a 2-min and fading
with a 6-min time constant, so three minutes after the test the heart rate is still
15-30 bpm above what the cool-down walk asks, although the workload has dropped. HR
variability: respiratory sinus arrhythmia
(0.2-0.3 Hz, 1-3.5 bpm at rest falling with age, shrinking with intensity), a fast
component (1.5 bpm, 4 s) and a slow wander (1.5 bpm, 90 s), both smaller at higher
intensity. The HR is capped 2 bpm below ``hr_max``.

*Chest strap*: beats are placed by integrating HR (a beat every time the phase passes an
integer), each RR gets beat-to-beat jitter, and the strap reports once a second the
integer HR of its last three RR intervals and the RR (ms, 1/1024-s resolution) of the last
beat of that second (NaN when no beat ended in it: only one RR per notification is kept).
Rare artefacts: a falsely detected extra beat (an RR split in two, a one-to-three-second
HR spike), a missed beat (two RR merged), short contact losses (rows missing, 2-8 s).

*Wrist optical*: a 5-s causal average of HR plus tracking noise, integer bpm, no RR
(``rr_ms`` is None). Artefacts: cadence lock while running (30-120 s in which the reading
equals the step cadence in spm, about one per 10 min of running, at least one when there
are three or more minutes of running), dropouts (rows missing, 5-60 s, about one per
20 min, at least one), and spikes (1-3 s, +-15-40 bpm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .options import check_placement
from .people import Person
from .signals import Artefact, ar1, asymmetric_lag, events

DRIFT_TAU_UP_S = 45 * 60.0
"""Time constant of the person's own drift while it rises."""
DRIFT_TAU_DOWN_S = 8 * 60.0
"""Time constant of the drift's decay at lower intensity."""
EXHAUSTION_FROM = 86.0
"""%HRR above which the slow recovery component builds (no older protocol reaches it)."""


@dataclass(frozen=True, eq=False)
class HeartRateSim:
    """What :func:`simulate_heart_rate` made: the sensor's rows (``t``, ``bpm``, ``rr_ms``),
    the physiological heart rate per second and the artefacts put in."""

    t: NDArray[np.float64]
    bpm: NDArray[np.float64]
    rr_ms: NDArray[np.float64] | None
    true_bpm: NDArray[np.float64]
    artefacts: tuple[Artefact, ...]


def true_heart_rate(intensity: NDArray[np.float64], person: Person, rng: np.random.Generator,
                    drift_bpm_per_min: float | None = None,
                    drift_tau_s: float = DRIFT_TAU_UP_S) -> NDArray[np.float64]:
    """Physiological HR per second: kinetics, drift and variability, no sensor.
    ``drift_bpm_per_min`` (default: the person's) is the drift's initial slope at 60 %HRR,
    ``drift_tau_s`` its time constant while it rises."""
    n = intensity.size
    i_clip = np.clip(intensity, 0.0, 100.0)
    reserve = person.hr_max - person.hr_rest
    rate = person.drift_bpm_per_min if drift_bpm_per_min is None else drift_bpm_per_min
    drift_target = rate * np.clip((intensity - 20.0) / 40.0, 0.0, 1.3) * (drift_tau_s / 60.0)
    drift = asymmetric_lag(drift_target, 0.0, drift_tau_s, DRIFT_TAU_DOWN_S, 0.01)
    if np.any(intensity > EXHAUSTION_FROM):
        slow = 3.0 * np.clip(intensity - EXHAUSTION_FROM, 0.0, 14.0)
        drift = drift + asymmetric_lag(slow, 0.0, 120.0, 360.0, 0.01)
    target = np.minimum(person.hr_rest + intensity / 100.0 * reserve + drift, person.hr_max - 2.0)
    hr = asymmetric_lag(target, float(target[0]), person.tau_on_s, person.tau_off_s, 0.3)
    # Variability, all shrinking with intensity.
    damp = 1.0 - i_clip / 100.0
    rsa_amp = float(np.clip(3.5 - 0.04 * (person.age - 20.0), 1.0, 4.0))
    f_resp = np.clip(0.25 + ar1(rng, n, 60.0, 0.03), 0.15, 0.35)
    rsa = rsa_amp * damp**2 * np.sin(2.0 * np.pi * np.cumsum(f_resp) + rng.uniform(0, 2 * np.pi))
    lf = ar1(rng, n, 4.0, 1.5) * damp
    vlf = ar1(rng, n, 90.0, 1.5) * (0.4 + 0.6 * damp)
    return np.clip(hr + rsa + lf + vlf, 30.0, person.hr_max - 1.0)


def _beat_errors(rr: NDArray[np.float64], start: float, duration_min: float,
                 rng: np.random.Generator) -> tuple[NDArray[np.float64], list[Artefact]]:
    """A falsely detected extra beat splits one RR in two; a missed beat merges two RR."""
    n_extra = int(rng.poisson(duration_min / 30.0))
    n_missed = int(rng.poisson(duration_min / 60.0))
    if not (rr.size > 20 and n_extra + n_missed):
        return rr, []
    beat_end = start + np.cumsum(rr)
    candidates = np.arange(0, rr.size - 1, 2)  # even beats: no two events touch
    n_extra = min(n_extra, candidates.size // 2)
    n_missed = min(n_missed, candidates.size // 2)
    chosen = rng.choice(candidates, size=n_extra + n_missed, replace=False)
    extra, missed = np.sort(chosen[:n_extra]), np.sort(chosen[n_extra:])
    first = rr[extra] * rng.uniform(0.35, 0.65, extra.size)
    merged = rr.copy()
    merged[extra] -= first
    merged[missed + 1] += merged[missed]
    keep_rr = np.ones(rr.size, dtype=bool)
    keep_rr[missed] = False
    keys = np.concatenate([np.flatnonzero(keep_rr).astype(np.float64), extra - 0.5])
    values = np.concatenate([merged[keep_rr], first])
    artefacts = [Artefact("extra_beat", float(beat_end[k] - first[i] - 1.0),
                          float(beat_end[k] + 3.0)) for i, k in enumerate(extra)]
    artefacts += [Artefact("missed_beat", float(beat_end[k] - 1.0),
                           float(beat_end[k + 1] + 3.0)) for k in missed]
    return values[np.argsort(keys, kind="stable")], artefacts


def _chest_strap(true_bpm: NDArray[np.float64], rng: np.random.Generator
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[Artefact]]:
    """Beats from the heart rate, then once-a-second HR and RR rows as a strap sends them."""
    n = true_bpm.size
    # Beats where the integrated HR passes an integer; beat-to-beat jitter on each RR.
    phase = np.concatenate([[0.0], np.cumsum(true_bpm / 60.0)])
    levels = np.arange(rng.uniform(0.0, 1.0), phase[-1], 1.0)
    beat_t = np.interp(levels, phase, np.arange(n + 1, dtype=np.float64))
    if beat_t.size < 5:  # a few seconds: no beat process to speak of
        return np.round(true_bpm), np.full(n, np.nan), []
    rr = np.diff(beat_t)
    rr = np.clip(rr + rng.standard_normal(rr.size) * (0.004 + 0.010 * rr**2), 0.25, 2.5)
    start = float(beat_t[0])
    rr, artefacts = _beat_errors(rr, start, n / 60.0, rng)
    beat_t = start + np.concatenate([[0.0], np.cumsum(rr)])
    rr_end = np.concatenate([[np.nan], rr])  # RR that ends at each beat, seconds
    # Once a second: HR from the last three RR, the last beat's RR if it ended in that second.
    s = np.arange(n, dtype=np.float64)
    j = np.searchsorted(beat_t, s, side="right") - 1
    csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(rr_end))])
    ok = j >= 3
    jj = np.where(ok, j, 3)
    mean3 = (csum[jj + 1] - csum[jj - 2]) / 3.0
    bpm = np.where(ok, 60.0 / mean3, true_bpm)
    fresh = ok & (beat_t[np.maximum(j, 0)] > s - 1.0)
    rr_ms = np.where(fresh, np.round(rr_end[jj] * 1024.0) * 1000.0 / 1024.0, np.nan)
    return np.round(bpm), rr_ms, artefacts


def _wrist_optical(true_bpm: NDArray[np.float64], cadence: NDArray[np.float64],
                   rng: np.random.Generator
                   ) -> tuple[NDArray[np.float64], list[Artefact], list[tuple[int, int]]]:
    """Optical HR: a 5-s causal average with tracking noise larger in motion, cadence
    lock while running, spikes; returns the readings, artefacts and dropout spans."""
    n = true_bpm.size
    artefacts: list[Artefact] = []
    padded = np.concatenate([np.full(4, true_bpm[0]), true_bpm])
    smooth = np.convolve(padded, np.ones(5) / 5.0, mode="valid")
    moving = cadence > 0
    bpm = smooth + ar1(rng, n, 5.0, 1.0) * np.where(moving, 2.0, 1.0)
    running = cadence >= 140.0
    locks = events(rng, running, 1.0 / 600.0, (30.0, 120.0),
                   at_least=1 if running.sum() >= 180 else 0)
    for a, b in locks:
        bpm[a:b] = cadence[a:b] + rng.normal(0.0, 0.5, b - a)
        artefacts.append(Artefact("cadence_lock", float(a), float(b)))
    for a, b in events(rng, np.ones(n, bool), 1.0 / 900.0, (1.0, 3.0)):
        bpm[a:b] += rng.choice([-1.0, 1.0]) * rng.uniform(15.0, 40.0)
        artefacts.append(Artefact("spike", float(a), float(b)))
    dropouts = events(rng, np.ones(n, bool), 1.0 / 1200.0, (5.0, 60.0),
                      at_least=1 if n / 60.0 >= 10 else 0)
    return np.round(np.clip(bpm, 30.0, 230.0)), artefacts, dropouts


def simulate_heart_rate(intensity: ArrayLike, cadence: ArrayLike, person: Person,
                        placement: str, rng: np.random.Generator,
                        drift_bpm_per_min: float | None = None,
                        drift_tau_s: float = DRIFT_TAU_UP_S) -> HeartRateSim:
    """The physiological heart rate of a workload and the sensor's rows, with artefacts
    (see the module docstring; drift arguments as in :func:`true_heart_rate`)."""
    check_placement(placement)
    intensity = np.asarray(intensity, dtype=np.float64)
    cadence = np.asarray(cadence, dtype=np.float64)
    if intensity.ndim != 1 or cadence.shape != intensity.shape or intensity.size == 0:
        raise ValueError("intensity and cadence must be 1-D arrays of the same, non-zero length")
    n = intensity.size
    true_bpm = true_heart_rate(intensity, person, rng, drift_bpm_per_min, drift_tau_s)
    rr_ms: NDArray[np.float64] | None
    if placement == "chest":
        bpm, rr_ms, artefacts = _chest_strap(true_bpm, rng)
        dropouts = events(rng, np.ones(n, bool), 1.0 / 2700.0, (2.0, 8.0))
    else:
        rr_ms = None
        bpm, artefacts, dropouts = _wrist_optical(true_bpm, cadence, rng)
    keep = np.ones(n, dtype=bool)
    for a, b in dropouts:
        keep[a:b] = False
    artefacts += [Artefact("dropout", float(a), float(b)) for a, b in dropouts]
    artefacts.sort(key=lambda x: x.start_s)
    t = np.arange(n, dtype=np.float64)[keep]
    return HeartRateSim(t=t, bpm=bpm[keep], rr_ms=None if rr_ms is None else rr_ms[keep],
                        true_bpm=true_bpm, artefacts=tuple(artefacts))


def synth_heart_rate(
    intensity_1hz: ArrayLike,
    cadence_spm_1hz: ArrayLike,
    person: Person,
    placement: str,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    """Heart rate as a device reports it, once a second.

    Args:
        intensity_1hz: true intensity, %HRR, one value per second from t = 0.
        cadence_spm_1hz: step cadence per second (0 at rest); running is cadence >= 140,
            where a wrist sensor may lock onto it.
        person, placement (``wrist`` or ``chest``), rng.

    Returns:
        ``(t, bpm, rr_ms)``: times in seconds (rows missing in dropouts), integer bpm, and
        for the chest one RR interval per row in ms (NaN when no beat ended in that
        second); ``rr_ms`` is None at the wrist (optical sensors give no RR).
    """
    sim = simulate_heart_rate(intensity_1hz, cadence_spm_1hz, person, placement, rng)
    return sim.t, sim.bpm, sim.rr_ms
