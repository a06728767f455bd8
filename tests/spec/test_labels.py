"""SPEC epoch labels and session class on simple constructed intensity traces."""

import numpy as np
import pytest

from dosewatch.config import Config
from dosewatch.spec.labels import Label, label_epochs, label_names, levels, session_class

CFG = Config()


def trace(*parts: tuple[float, float, int]) -> np.ndarray:
    """Concatenate linear segments (start %HRR, end %HRR, epochs)."""
    return np.concatenate([np.linspace(a, b, n) for a, b, n in parts])


@pytest.mark.parametrize(
    ("level", "expected"),
    [(5.0, Label.REST), (19.9, Label.REST), (20.0, Label.CONSTANT), (30.0, Label.CONSTANT),
     (40.0, Label.INTERMEDIATE), (59.9, Label.INTERMEDIATE), (60.0, Label.CONSTANT),
     (75.0, Label.CONSTANT)],
)
def test_steady_levels(level, expected):
    labels = label_epochs(np.full(30, level), CFG)
    assert (labels == expected).all()


def test_levels_names():
    names = levels(np.array([10, 20, 39.9, 40, 59.9, 60, np.nan]), CFG)
    assert names.tolist() == ["rest", "light", "light", "intermediate", "intermediate",
                              "vigorous", ""]


def test_ramp_is_accelerating_in_its_middle():
    intensity = trace((5, 5, 5), (25, 75, 40), (5, 5, 5))  # 1.28 %HRR/min
    labels = label_epochs(intensity, CFG)
    assert (labels[12:38] == Label.ACCELERATING).all()
    assert session_class(labels) == "accelerating"


def test_slow_drift_is_not_accelerating():
    # 0.3 %HRR/min: cardiac drift on a long run, below the 0.75 threshold.
    labels = label_epochs(trace((45, 57, 40)), CFG)
    assert not (labels == Label.ACCELERATING).any()


def test_threshold_slope_is_inclusive():
    labels_at = label_epochs(trace((25, 25 + 0.75 * 39, 40)), CFG)
    labels_below = label_epochs(trace((25, 25 + 0.7 * 39, 40)), CFG)
    assert (labels_at[6:34] == Label.ACCELERATING).all()
    assert not (labels_below == Label.ACCELERATING).any()


def test_step_protocol_counts_as_ramp():
    # A higher speed every 3 minutes: +6 %HRR per step.
    steps = np.repeat(np.arange(25, 80, 6.0), 3)
    labels = label_epochs(np.concatenate([np.full(5, 5.0), steps, np.full(5, 5.0)]), CFG)
    core = labels[5 + 6 : 5 + steps.size - 6]
    assert (core == Label.ACCELERATING).all()


@pytest.mark.parametrize("interval", [1, 2, 3])
def test_step_protocols_every_1_to_3_minutes(interval):
    steps = np.repeat(np.arange(25, 85, 2.5 * interval), interval)
    labels = label_epochs(steps, CFG)
    middle = labels[6:-6]
    assert (middle == Label.ACCELERATING).mean() > 0.9


def test_single_change_of_pace_is_not_a_ramp():
    labels = label_epochs(trace((30, 30, 15), (50, 50, 15)), CFG)
    assert not (labels == Label.ACCELERATING).any()
    assert (labels[:15] == Label.CONSTANT).all() and (labels[15:] == Label.INTERMEDIATE).all()


def test_starting_to_exercise_is_not_a_ramp():
    labels = label_epochs(trace((5, 5, 10), (50, 50, 20)), CFG)
    assert not (labels == Label.ACCELERATING).any()


def test_rest_epoch_inside_ramp_stays_rest():
    intensity = trace((25, 70, 30))
    intensity[15] = 10.0
    labels = label_epochs(intensity, CFG)
    assert labels[15] == Label.REST
    assert labels[14] == Label.ACCELERATING and labels[16] == Label.ACCELERATING


def test_mostly_rest_window_is_not_accelerating():
    # A short rising spell with most of its window at rest: under half non-rest.
    intensity = np.full(30, 5.0)
    intensity[13:17] = [25, 30, 35, 40]
    labels = label_epochs(intensity, CFG)
    assert not (labels == Label.ACCELERATING).any()


def test_missing_epochs_are_missing():
    intensity = np.full(20, 50.0)
    intensity[5:8] = np.nan
    labels = label_epochs(intensity, CFG)
    assert (labels[5:8] == Label.MISSING).all()
    assert label_names(labels[4:6]).tolist() == ["intermediate", "missing"]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({Label.REST: 10}, "none"),
        ({Label.MISSING: 3, Label.REST: 2}, "none"),
        ({Label.REST: 50, Label.CONSTANT: 3}, "constant"),
        ({Label.CONSTANT: 5, Label.INTERMEDIATE: 6}, "intermediate"),
        ({Label.CONSTANT: 5, Label.INTERMEDIATE: 5}, "intermediate"),
        ({Label.CONSTANT: 5, Label.ACCELERATING: 5}, "accelerating"),
        ({Label.INTERMEDIATE: 4, Label.ACCELERATING: 4, Label.CONSTANT: 4}, "accelerating"),
        ({Label.INTERMEDIATE: 4, Label.ACCELERATING: 3, Label.CONSTANT: 5}, "constant"),
    ],
)
def test_session_class_and_ties(counts, expected):
    labels = np.concatenate([np.full(n, lab, dtype=np.int8) for lab, n in counts.items()])
    assert session_class(labels) == expected


def test_epoch_length_is_configurable():
    cfg = Config.from_dict({"epochs": {"epoch_s": 30.0}})
    # The same 1.28 %HRR/min ramp in 30-s epochs: still accelerating in the middle.
    intensity = trace((25, 75, 80))
    labels = label_epochs(intensity, cfg)
    assert (labels[25:55] == Label.ACCELERATING).all()


def test_trend_intensity_leaves_epochs_out_of_the_slope():
    # A rise over the first minutes of exercise (heart rate catching up) reads as a ramp...
    intensity = np.r_[np.full(5, 5.0), [25, 30, 33, 35], np.full(20, 36.0)]
    assert (label_epochs(intensity, CFG) == Label.ACCELERATING).any()
    # ...unless those epochs are left out of the trend; their own labels stay as they are.
    trend = intensity.copy()
    trend[5:7] = np.nan
    labels = label_epochs(intensity, CFG, trend_intensity=trend)
    assert not (labels == Label.ACCELERATING).any()
    assert (labels[5:] == Label.CONSTANT).all()


def test_onset_masking():
    from dosewatch.models.rules import onset_masked

    x = np.array([5, 30, 31, 32, 33, 5, np.nan, 40, 41, 42, 10.0])
    out = onset_masked(x, 20.0, 2)
    assert np.isnan(out[[1, 2, 6, 7, 8]]).all()
    assert out[[0, 3, 4, 5, 9, 10]].tolist() == [5, 32, 33, 5, 42, 10]
    # A session that starts mid-run has no onset inside it: nothing is masked.
    assert np.array_equal(onset_masked(np.array([50.0, 51, 52]), 20.0, 2), [50, 51, 52])
