"""The physiological classifier's doubt about a slow heart-rate rise says what would
settle it."""

from __future__ import annotations

import numpy as np

from dosewatch.config import Config
from dosewatch.models.base import SOURCE_HR
from dosewatch.models.physio import PhysioClassifier
from dosewatch.spec.labels import Label


def _slow_rise() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """40 minutes of heart rate rising 0.6 %HRR a minute from 45 %HRR: drift or a ramp."""
    trend = 45.0 + 0.6 * np.arange(40.0)
    labels = np.full(40, Label.INTERMEDIATE, dtype=np.int8)
    source = np.full(40, SOURCE_HR, dtype=np.int8)
    return trend, labels, source


def test_a_slow_rise_with_heart_rate_alone_asks_for_a_workload_channel() -> None:
    (doubt,) = PhysioClassifier()._drift_doubt(*_slow_rise(), Config())
    assert "cannot tell them apart" in doubt
    assert "a speed, power or footpod channel would settle it" in doubt


def test_a_slow_rise_beside_an_untrusted_channel_asks_to_check_that_channel() -> None:
    (doubt,) = PhysioClassifier()._drift_doubt(*_slow_rise(), Config(),
                                              untrusted_workload=True)
    assert "did not follow the heart rate" in doubt and "would settle it" not in doubt


def test_a_steady_heart_rate_raises_no_doubt() -> None:
    trend, labels, source = _slow_rise()
    assert PhysioClassifier()._drift_doubt(np.full(40, 50.0), labels, source, Config()) == ()


def test_a_steady_workload_that_heart_rate_follows_closely_is_trusted() -> None:
    """At a steady workload there is no variance for the relation to explain (R² near or
    below 0), but a heart rate within a few %HRR of it vouches for the channel; one that
    strays far from it (an unrecorded incline, a broken channel) does not."""
    from types import SimpleNamespace

    from dosewatch.relation import WorkloadRelation

    def gate(r2: float, rmse: float) -> tuple[bool, list[str]]:
        notes: list[str] = []
        info = SimpleNamespace(relation=WorkloadRelation(k=0.8, drift=0.1, n=40, r2=r2,
                                                         rmse=rmse))
        return PhysioClassifier()._relation(info, notes) is not None, notes

    assert gate(-0.9, 2.3) == (True, [])
    assert gate(0.7, 12.0) == (True, [])
    trusted, notes = gate(0.03, 17.0)
    assert not trusted and "strayed 17 %HRR" in notes[0]


def _acc_labels(intensity: np.ndarray) -> np.ndarray:
    from dosewatch.models.base import SOURCE_ACC

    source = np.full(intensity.size, SOURCE_ACC, dtype=np.int8)
    return PhysioClassifier()._labels_from_measured(intensity, intensity, source, Config())


def test_a_running_ramp_seen_by_acceleration_alone_stays_accelerating() -> None:
    """Intensity from acceleration scatters from minute to minute: a ramp of 1 %HRR a
    minute with ±4 %HRR of scatter is still a ramp, not a single change of pace made of
    its highest minute."""
    minutes = np.arange(24.0)
    scatter = 4.0 * np.where(np.arange(24) % 3 == 1, 1.0, -0.5)  # one high minute in three
    ramp = np.concatenate([np.full(4, 5.0), 65.0 + minutes + scatter, np.full(4, 5.0)])
    labels = _acc_labels(ramp)
    assert (labels[8:24] == Label.ACCELERATING).mean() >= 0.8
    # A step of the same size (one change of pace), with the same scatter, is no ramp.
    step = np.concatenate([np.full(4, 5.0), 65.0 + 12.0 * (minutes >= 12) + scatter,
                           np.full(4, 5.0)])
    assert not (_acc_labels(step) == Label.ACCELERATING).any()


def test_the_acceleration_trend_median_leaves_out_what_is_missing() -> None:
    from dosewatch.models.physio import centred_median

    values = np.array([1.0, np.nan, 3.0, 5.0, 40.0, 6.0, np.nan, np.nan, np.nan, 9.0])
    np.testing.assert_allclose(
        centred_median(values, 3), [1.0, 2.0, 4.0, 5.0, 6.0, 23.0, 6.0, np.nan, 9.0, 9.0])


def test_a_relation_that_needs_nearly_a_ramps_drift_is_doubted() -> None:
    """Heart rate that rose, at the recorded workload, almost as fast as a ramp would
    raise it (an unrecorded incline, or heat) makes the verdict less than sure; ordinary
    drift does not."""
    from dosewatch.relation import WorkloadRelation

    def doubt(drift: float) -> tuple[str, ...]:
        relation = WorkloadRelation(k=0.8, drift=drift, n=40, r2=0.6, rmse=3.0)
        return PhysioClassifier._hidden_ramp_doubt(relation, Config())

    assert doubt(0.1) == () and doubt(0.55) == ()
    (text,) = doubt(0.95)
    assert "0.95 %HRR a minute" in text and "incline" in text


def test_a_treadmill_ramp_by_incline_with_speed_alone_is_not_called_sure(simulated) -> None:
    """The reviewer's case: a ramp by incline, the incline not recorded. The speed is
    steady, so the verdict is constant — and it says it may be a hidden ramp."""
    from dosewatch.analysis import analyze_session

    sim = simulated("ramp", person_seed=0, modality="hr+speed", seed=0)
    result = analyze_session(sim.session, Config(), "physio")
    assert result.info.relation is not None and result.info.relation.drift >= 0.6
    assert result.certainty.level != "high"
    assert any("workload channel explains" in r for r in result.certainty.reasons)
