"""Heart rate alone: a change of pace followed by cardiac drift is not a ramp, while slow
ramps and staircases stay ramps (``models/drift.py``). Hand-made heart rate, one sample a
second: the target of each second through a first-order fast phase, as the heart does."""

from __future__ import annotations

import numpy as np
import pytest

from dosewatch.analysis import analyze_session
from dosewatch.config import Config
from dosewatch.models.drift import largest_rise, without_largest_rise
from dosewatch.models.physio import PhysioClassifier
from dosewatch.session import Profile, build_session
from dosewatch.spec.labels import Label, without_largest_change

HR_REST, HR_MAX = 60.0, 190.0  # a reserve of 130 bpm: 1 bpm/min is 0.77 %HRR/min


def _heart(target_bpm: np.ndarray, tau_s: float, seed: int) -> np.ndarray:
    """Heart rate following ``target_bpm`` (per second) with a fast phase of ``tau_s``
    (the exact first-order response, vectorised) and 1 bpm of beat-to-beat noise."""
    a = np.exp(-1.0 / tau_s)
    k = np.arange(target_bpm.size)
    # y[n] = a y[n-1] + (1-a) x[n] from y[-1] = x[0]: a discounted cumulative sum.
    y = a ** k * (target_bpm[0] * a + np.cumsum((1.0 - a) * target_bpm * a ** (-k)))
    return y + np.random.default_rng(seed).normal(0.0, 1.0, y.size)


def _labels(target_bpm: np.ndarray, hr_rest: float = HR_REST, tau_s: float = 45.0,
            seed: int = 1, classifier: PhysioClassifier | None = None
            ) -> tuple[str, np.ndarray]:
    """Session class and epoch labels of ``target_bpm`` as heart rate alone, analysed by
    physio with the person's true HR_rest and HR_max."""
    bpm = _heart(target_bpm, tau_s, seed)
    session = build_session("hand-made", hr=(np.arange(bpm.size, dtype=float), bpm),
                            profile=Profile(hr_rest=hr_rest, hr_max=HR_MAX))
    result = analyze_session(session, Config(), classifier or PhysioClassifier())
    return result.session_class, result.prediction.labels


def _minutes(*pieces: np.ndarray) -> np.ndarray:
    return np.concatenate([np.repeat(np.asarray(p, dtype=float), 60) for p in pieces])


def _run_after_warm_up(hr_rest: float, drift_bpm_per_min: float) -> np.ndarray:
    """5 min seated, a 6-min warm-up walk (25 %HRR), then a change of pace into a
    40-min run at 65 %HRR whose heart rate drifts up ``drift_bpm_per_min`` from its first
    minute (as in the heat), and 5 min seated."""
    reserve = HR_MAX - hr_rest
    run = hr_rest + 0.65 * reserve + drift_bpm_per_min * np.arange(40.0)
    return _minutes(np.full(5, hr_rest), np.full(6, hr_rest + 0.25 * reserve), run,
                    np.full(5, hr_rest))


@pytest.mark.parametrize(("hr_rest", "drift", "seed"),
                         [(60.0, 0.5, 1), (60.0, 0.5, 2), (50.0, 1.0, 1), (50.0, 1.0, 2)])
def test_a_steady_run_with_drift_after_a_change_of_pace_stays_constant(
        hr_rest: float, drift: float, seed: int) -> None:
    """Drift of 0.5 bpm/min (reserve 130) or 1 bpm/min in the heat (reserve 140: 0.71
    %HRR/min). The change of pace from the warm-up, spread by heart rate's fast phase,
    and the drift after it read as 8–11 minutes of ramp without the kinetics-aware rule;
    with it, at most 2 (the last of a slow fast phase, on top of a drift at 95 % of the
    ramp threshold, can still tip a window over it)."""
    target = _run_after_warm_up(hr_rest, drift)
    session_class, labels = _labels(target, hr_rest, seed=seed)
    assert session_class == "constant"
    assert (labels == Label.ACCELERATING).sum() <= 2, labels
    _, before = _labels(target, hr_rest, seed=seed,
                        classifier=PhysioClassifier(change_of_pace=0))
    assert (before == Label.ACCELERATING).sum() >= 6, before


def test_a_slow_ramp_from_a_warm_up_stays_accelerating() -> None:
    """A ramp of 1.3 bpm/min (1 %HRR/min, the slowest the simulator draws) after a
    warm-up walk reached by a change of pace from rest."""
    ramp = 100.0 + 1.3 * np.arange(35.0)
    session_class, labels = _labels(_minutes(np.full(5, HR_REST), np.full(5, 100.0), ramp,
                                             np.full(5, HR_REST)))
    assert session_class == "accelerating"
    assert (labels[12:38] == Label.ACCELERATING).mean() >= 0.9, labels


@pytest.mark.parametrize("step_min", [2, 3])
def test_a_staircase_of_large_steps_stays_accelerating(step_min: int) -> None:
    """A lactate test: steps of 13 bpm (10 %HRR, a change of pace each) every 2–3 min
    from 80 to 184 bpm; taking one step out with its fast phase leaves the others."""
    steps = np.repeat(80.0 + 13.0 * np.arange(9), step_min)
    session_class, labels = _labels(_minutes(np.full(5, HR_REST), steps,
                                             np.full(5, HR_REST)))
    exercise = labels[5:5 + steps.size]
    assert session_class == "accelerating"
    assert (exercise == Label.ACCELERATING).mean() >= 0.6, exercise


def test_taking_out_a_rise_of_two_epochs_is_the_spec_single_change_rule() -> None:
    rng = np.random.default_rng(3)
    windows = np.cumsum(rng.normal(0.5, 3.0, (200, 11)), axis=1)
    windows[rng.random(windows.shape) < 0.15] = np.nan
    np.testing.assert_allclose(without_largest_rise(windows, 2),
                               without_largest_change(windows), equal_nan=True)


def test_the_largest_rise_spans_the_fast_phase() -> None:
    """A step of 20 spread over three epochs (12, 6, 2) is found whole with a span of 3;
    with the SPEC's two epochs, 2 of it are left behind."""
    window = np.array([[50.0, 50.0, 62.0, 68.0, 70.0, 70.0, 70.0]])
    rise, first, width = largest_rise(window, 3)
    assert (rise[0], first[0], width[0]) == (20.0, 1, 3)
    np.testing.assert_allclose(without_largest_rise(window, 3)[0], np.full(7, 50.0))
    assert largest_rise(window, 2)[0][0] == 18.0


def test_a_rise_across_a_gap_is_no_change_of_pace():
    """Two epochs either side of a five-minute dropout are not "within two epochs": the
    rise between them is no change of pace; the same rise from one epoch to the next is."""
    gap = np.array([[50.0, 50.0, np.nan, np.nan, np.nan, np.nan, np.nan, 65.0, 65.0]])
    step = np.array([[50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 65.0, 65.0]])
    assert largest_rise(gap, 2, near_in_time=True)[0][0] == 0.0  # only the flat neighbours count
    assert largest_rise(step, 2, near_in_time=True)[0][0] == 15.0
