"""auto: physio with heart rate, learned with acceleration alone."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.models.auto import AutoClassifier
from dosewatch.models.registry import DEFAULT_CLASSIFIER, classifier_identity, get_classifier


def test_auto_is_named_not_default_and_survives_a_trip_to_a_worker() -> None:
    auto = get_classifier("auto")
    assert DEFAULT_CLASSIFIER == "physio" and isinstance(auto, AutoClassifier)
    again = pickle.loads(pickle.dumps(auto))
    assert classifier_identity(again) == classifier_identity(auto)
    assert "learned:" in classifier_identity(auto)


def test_heart_rate_goes_to_physio_and_acceleration_alone_to_learned(simulated) -> None:
    sim = simulated("steady_then_ramp", person_seed=5, placement="wrist", modality="hr+acc",
                    acc_fs=25.0, seed=3)
    auto = AutoClassifier()
    both = analyze_session(sim.session, classifier=auto)
    physio = analyze_session(sim.session, classifier="physio")
    np.testing.assert_array_equal(both.epoch_columns()["label"],
                                  physio.epoch_columns()["label"])

    acc_only = replace(sim.session, hr=None, speed=None)
    chosen = analyze_session(acc_only, classifier=auto)
    learned = analyze_session(acc_only, classifier="learned")
    np.testing.assert_array_equal(chosen.epoch_columns()["label"],
                                  learned.epoch_columns()["label"])
    assert any("learned model" in note for note in chosen.summary()["warnings"])
