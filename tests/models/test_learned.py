"""The learned model: ONNX equals scikit-learn, the shipped files are checked when loaded,
its inputs hold nothing that names a person, device or simulator protocol, the HMM
smoothing is a true Viterbi path, labels agree with the intensity, the standing-still
rule holds, and the classifier plugs into the analysis."""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dosewatch.analysis import analyze_session
from dosewatch.config import Config
from dosewatch.errors import ModelError
from dosewatch.features.epochs import extract
from dosewatch.models import learned
from dosewatch.models.inputs import FAMILIES, INPUT_NAMES, MISSING, model_inputs, shifted
from dosewatch.models.learned import (
    DEFAULT_MODEL_DIR,
    LearnedClassifier,
    load_model,
    smooth_labels,
)
from dosewatch.simulate import Options, random_person, simulate
from dosewatch.spec.labels import Label, label_epochs


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Fit the tiny test models on one thread: on a busy two-core machine scikit-learn's
    OpenMP threads wait for each other, and the cross-validation took 16 s instead of
    0.4 s."""
    import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime that is limited
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory):
    """A small model trained here (3 simulated people), exported to ONNX, plus its
    training data."""
    from dosewatch.models import train

    data = train.simulate_training_set(3, seed=5, sessions=6, progress=False)
    classifier, regressor = train.fit(data, seed=1, max_iter=8, max_leaf_nodes=15)
    matrix, prior = train.transitions(data)
    folder = tmp_path_factory.mktemp("model")
    train.export_onnx(classifier, regressor, folder, {
        "training": {"people": 3, "seed": 5},
        "label_codes": list(learned.LABEL_CODES),
        "transitions": matrix.tolist(),
        "prior": prior.tolist(),
        "smoothing_weight": 2.0,
        "prior_power": learned.PRIOR_POWER,
        "reference_config": learned.reference_config(Config()),
    })
    return folder, classifier, regressor, data


def test_onnx_matches_scikit_learn(small_model) -> None:
    folder, classifier, regressor, data = small_model
    model = load_model(folder)
    rng = np.random.default_rng(0)
    x = data.x[rng.choice(data.n, size=min(3000, data.n), replace=False)]
    proba, intensity = model.run(x)
    np.testing.assert_allclose(proba, classifier.predict_proba(x), atol=1e-5, rtol=0)
    np.testing.assert_allclose(intensity, regressor.predict(x), atol=1e-3, rtol=1e-6)
    np.testing.assert_array_equal(classifier.classes_[proba.argmax(axis=1)],
                                  classifier.predict(x))


def test_thresholds_round_down_to_float32() -> None:
    from dosewatch.models.train import _float32_at_most

    t = np.array([0.1, 1.0, -0.3, 40.000001, 1e-9])
    t32 = _float32_at_most(t)
    assert (t32.astype(np.float64) <= t).all()
    # The next float32 up is above the threshold: float32 inputs compare as in float64.
    assert (np.nextafter(t32, np.float32(np.inf)).astype(np.float64) > t).all()


def test_training_refuses_the_held_out_seed() -> None:
    from dosewatch.models import train

    with pytest.raises(ModelError, match="held-out"):
        train.simulate_training_set(1, seed=train.HELD_OUT_SEED, progress=False)


def test_training_leaves_out_the_export_without_incline(small_model) -> None:
    from dosewatch.models import train

    data = small_model[3]
    seen = {train.VIEWS[v] for v in np.unique(data.view)}
    assert seen <= set(train.TRAIN_VIEWS)
    assert "hr+speed, incline unrecorded" not in seen
    assert {"hr", "hr+workload", "acc"} <= seen
    assert data.calibrated.any() and (~data.calibrated).any()


def test_cross_validation_holds_out_whole_people(small_model) -> None:
    from dosewatch.models import train

    data = small_model[3]
    scores = train.cross_validate(data, folds=3, max_iter=8, max_leaf_nodes=15)
    assert {"hr+acc", "hr", "acc"} <= set(scores)
    # Trained on two people, tested on the third, the model beats always guessing the
    # most frequent label; with heart rate its intensity is closer than without.
    labels = data.labels[data.labels >= 0]
    majority = np.bincount(labels).max() / labels.size
    assert scores["hr"]["epoch_accuracy"] > majority
    assert scores["hr+acc"]["intensity_mae"] < scores["acc"]["intensity_mae"]


def test_manifest_and_onnx_carry_the_inputs(small_model) -> None:
    folder = small_model[0]
    manifest = json.loads((folder / "learned.json").read_text())
    assert manifest["input_names"] == list(INPUT_NAMES)
    assert manifest["format"] == "2"
    model = load_model(folder)
    meta = model.labels_session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["input_names"]) == list(INPUT_NAMES)
    assert meta["dosewatch_model"] == learned.MODEL_KIND


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return target


def test_changed_file_is_refused(small_model, tmp_path: Path) -> None:
    folder = _copy(small_model[0], tmp_path)
    with open(folder / "labels.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="does not match its checksum"):
        load_model(folder)


def test_other_feature_list_is_refused(small_model, tmp_path: Path) -> None:
    folder = _copy(small_model[0], tmp_path)
    manifest = json.loads((folder / "learned.json").read_text())
    manifest["input_names"] = manifest["input_names"][:-1] + ["something_else"]
    (folder / "learned.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="other inputs"):
        load_model(folder)


def test_a_format_1_model_is_refused(small_model, tmp_path: Path) -> None:
    folder = _copy(small_model[0], tmp_path)
    manifest = json.loads((folder / "learned.json").read_text())
    manifest["format"] = "1"
    (folder / "learned.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="model format 1"):
        load_model(folder)


def test_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a dosewatch model folder") as caught:
        load_model(tmp_path)
    assert caught.value.hint and "retrain" in caught.value.hint


def test_inputs_name_no_person_device_or_protocol() -> None:
    # Issue 11: no absolute speed or heart rate, no HR_rest/HR_max or their sources, no
    # flags saying which streams a session has.
    forbidden = ("hr_bpm", "speed_mps", "power_w", "workload_ref", "hr_rest", "hr_max",
                 "has_", "_from_", "hr_demand_bpm")
    assert not [n for n in INPUT_NAMES if any(f in n for f in forbidden)]
    assert len(set(INPUT_NAMES)) == len(INPUT_NAMES)
    assert sorted(n for names in FAMILIES.values() for n in names) == sorted(INPUT_NAMES)


def test_shipped_model_loads_and_matches_this_code() -> None:
    from dosewatch.models.train import HELD_OUT_SEED, input_check

    model = load_model(DEFAULT_MODEL_DIR)
    manifest = model.manifest
    assert manifest["format"] == "2" and manifest["input_names"] == list(INPUT_NAMES)
    assert manifest["reference_config"] == learned.reference_config(Config())
    assert manifest["training"]["seed"] != HELD_OUT_SEED
    assert manifest["training"]["dropped_families"] == []
    assert model.transitions.shape == (4, 4)
    np.testing.assert_allclose(model.transitions.sum(axis=1), 1.0, atol=1e-4)
    size = sum((DEFAULT_MODEL_DIR / f["file"]).stat().st_size
               for f in manifest["files"].values())
    assert size < 8e6  # the repository ships it
    # The inputs this code computes on the golden sessions are the ones the model was
    # trained on: a change to features, physio or the relation fails here until the model
    # is retrained (python -m dosewatch.models.train).
    trained_on = manifest["input_check"]
    now = input_check()
    assert len(now) >= 2 and sorted(trained_on) == sorted(now)
    for name, means in now.items():
        moved = [f"{n}: {a:g} -> {b:g}" for n, a, b in
                 zip(INPUT_NAMES, trained_on[name], means, strict=True) if abs(a - b) > 1e-3]
        assert not moved, f"{name}: inputs changed since training ({'; '.join(moved)})"


def _brute_force(proba: np.ndarray, transitions: np.ndarray, prior: np.ndarray,
                 weight: float) -> tuple[int, ...]:
    emit = np.log(np.clip(proba, 1e-6, 1)) - np.log(prior)
    best, arg = -np.inf, None
    for path in itertools.product(range(proba.shape[1]), repeat=proba.shape[0]):
        score = np.log(prior[path[0]]) + emit[0, path[0]]
        for i in range(1, len(path)):
            score += weight * np.log(transitions[path[i - 1], path[i]]) + emit[i, path[i]]
        if score > best:
            best, arg = score, path
    return arg


@pytest.mark.parametrize("seed", range(6))
def test_smoothing_is_the_viterbi_path(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 6, 4
    proba = rng.dirichlet(np.ones(k), size=n)
    transitions = rng.dirichlet(np.ones(k) * 2, size=k) + np.eye(k)
    transitions /= transitions.sum(axis=1, keepdims=True)
    prior = rng.dirichlet(np.ones(k))
    path = smooth_labels(proba, transitions, prior, weight=1.5)
    assert tuple(path.tolist()) == _brute_force(proba, transitions, prior, 1.5)


def test_smoothing_removes_a_lone_flip_and_weight_zero_keeps_argmax() -> None:
    transitions = np.full((4, 4), 0.02) + np.eye(4) * 0.92
    prior = np.full(4, 0.25)
    proba = np.tile([0.05, 0.8, 0.1, 0.05], (9, 1))
    proba[4] = [0.05, 0.35, 0.55, 0.05]  # one minute looks intermediate
    assert smooth_labels(proba, transitions, prior).tolist() == [1] * 9
    assert smooth_labels(proba, transitions, prior, weight=0.0)[4] == 2
    assert smooth_labels(np.zeros((0, 4)), transitions, prior).size == 0


def test_shifted_and_inputs_of_an_acceleration_only_session(simulated) -> None:
    v = np.arange(5.0)
    np.testing.assert_array_equal(shifted(v, 2), [2, 3, 4, np.nan, np.nan])
    np.testing.assert_array_equal(shifted(v, -1), [np.nan, 0, 1, 2, 3])
    sim = simulated("steady_intermediate", person_seed=3, modality="acc", seed=2)
    features, info = extract(replace(sim.session, speed=None), Config())
    x = model_inputs(features, info)
    assert x.shape == (features.n, len(INPUT_NAMES)) and x.dtype == np.float32
    assert np.isfinite(x).all()
    for name in FAMILIES["heart_rate"] + FAMILIES["workload"]:
        assert (x[:, INPUT_NAMES.index(name)] == MISSING).all(), name
    assert (x[:, INPUT_NAMES.index("enmo_g")] >= 0).all()


def test_dropping_a_family_leaves_only_its_inputs_missing(simulated) -> None:
    sim = simulated("ramp", person_seed=4, modality="hr+acc", seed=3)
    features, info = extract(sim.session, Config())
    full = model_inputs(features, info)
    dropped = model_inputs(features, info, drop=("trend",))
    gone = [INPUT_NAMES.index(n) for n in FAMILIES["trend"]]
    kept = [j for j in range(len(INPUT_NAMES)) if j not in gone]
    assert (dropped[:, gone] == MISSING).all()
    np.testing.assert_array_equal(dropped[:, kept], full[:, kept])
    assert (full[:, gone] != MISSING).any()


@pytest.fixture(scope="module")
def steady_session(simulated):
    return simulated("steady_intermediate", person_seed=11, person_id="p11", placement="chest",
                     seed=21)


def test_learned_classifier_on_a_clear_session(steady_session) -> None:
    result = analyze_session(steady_session.session, classifier=LearnedClassifier())
    assert result.classifier == "learned"
    p = result.prediction
    assert p.probabilities is not None and p.probabilities.shape == (p.labels.size, 4)
    assert result.session_class == steady_session.truth.session_class == "intermediate"
    n = min(p.labels.size, steady_session.truth.labels.size)
    assert np.mean(p.labels[:n] == steady_session.truth.labels[:n]) > 0.85
    assert result.dose_met == steady_session.truth.dose_met


@pytest.mark.parametrize("modality", ["hr+acc", "acc"])
def test_labels_and_bouts_follow_the_intensity(modality: str, small_model, simulated) -> None:
    # Every epoch not called accelerating carries the label of its intensity's level,
    # and an epoch qualifies exactly when its intensity is at the qualifying level (no
    # workload channel here): level, label, bouts and dose come from one number. With
    # acceleration alone the label stands and the intensity is moved into its band.
    config = Config()
    sim = simulated("bout_30plus", person_seed=6, modality=modality, seed=8)
    session = replace(sim.session, speed=None, power=None, cadence=None, altitude=None)
    for classifier in (LearnedClassifier(model_dir=small_model[0]), LearnedClassifier()):
        p = analyze_session(session, config, classifier).prediction
        assert (p.labels != Label.MISSING).all()
        steady = p.labels != Label.ACCELERATING
        ramp_free = label_epochs(p.intensity, replace(config, trend=replace(
            config.trend, accelerating_slope=np.inf)))
        np.testing.assert_array_equal(p.labels[steady], ramp_free[steady])
        np.testing.assert_array_equal(p.qualifying, p.intensity >= 40.0)
        assert (p.intensity[p.labels == Label.ACCELERATING] >= 20.0).all()


def test_agree_moves_acceleration_only_intensity_into_the_label_band() -> None:
    config = Config()
    labels = np.array([0, 1, 1, 1, 2, 2, 3, 0, 1], dtype=np.int8)
    intensity = np.array([25.0, 45.0, 55.0, 10.0, 30.0, 70.0, 12.0, 25.0, 45.0])
    from_acc = np.array([True] * 7 + [False] * 2)
    out_labels, out = learned.agree(labels, intensity, from_acc, config)
    np.testing.assert_allclose(out[:7], [19.9, 39.9, 60.0, 20.0, 40.0, 59.9, 20.0])
    np.testing.assert_array_equal(out_labels[:7], labels[:7])
    # With heart rate the intensity stands and the label follows its level.
    np.testing.assert_array_equal(out[7:], intensity[7:])
    assert out_labels[7:].tolist() == [Label.CONSTANT, Label.INTERMEDIATE]


def test_standing_still_with_a_workload_never_qualifies() -> None:
    # A treadmill ramp to exhaustion of someone for whom even a slow walk is hard: after
    # it they stand and sit, heart rate still high; with the treadmill's speed those
    # minutes are not exercise.
    person = random_person(np.random.default_rng(4), id="ramp", population="wide")
    sim = simulate("ramp_to_exhaustion", person, modality="hr+speed", seed=1,
                   options=Options(incline=True))
    result = analyze_session(sim.session, classifier=LearnedClassifier())
    v, p = result.features.values, result.prediction
    still = np.isfinite(v["pct_hrr_workload"]) & (v["moving"] == 0)
    with np.errstate(invalid="ignore"):
        heart_high = still & (v["pct_hrr"] >= 40)
    assert heart_high.any()  # where heart rate alone would qualify
    assert not p.qualifying[still].any()
    assert result.session_class == sim.truth.session_class == "accelerating"
    # The rule itself, whatever intensity a model estimates.
    strong = np.full(result.features.n, 60.0)
    qualifying = learned._qualifying(strong, result.features, result.info, Config())
    np.testing.assert_array_equal(qualifying, ~still)


def test_changed_label_definitions_use_rules_on_learned_intensity(steady_session) -> None:
    config = Config.from_dict({"levels": {"intermediate_from": 35.0}})
    result = analyze_session(steady_session.session, config, LearnedClassifier())
    assert any("SPEC rules applied to the learned intensity" in w for w in result.warnings)
    np.testing.assert_array_equal(result.prediction.labels,
                                  label_epochs(result.prediction.intensity, config))


def test_other_epoch_length_is_a_clear_error(steady_session) -> None:
    config = Config.from_dict({"epochs": {"epoch_s": 30.0}})
    with pytest.raises(ModelError, match="60-s epochs"):
        analyze_session(steady_session.session, config, LearnedClassifier())


def test_epochs_without_data_stay_missing(steady_session) -> None:
    s = steady_session.session
    keep = (s.hr.t < 600) | (s.hr.t > 1500)
    hr = replace(s.hr, t=s.hr.t[keep], bpm=s.hr.bpm[keep],
                 rr_ms=None if s.hr.rr_ms is None else s.hr.rr_ms[keep])
    keep_acc = (s.acc.t < 600) | (s.acc.t > 1500)
    acc = replace(s.acc, t=s.acc.t[keep_acc], xyz=s.acc.xyz[keep_acc])
    result = analyze_session(replace(s, hr=hr, acc=acc, speed=None),
                             classifier=LearnedClassifier())
    labels = result.prediction.labels
    assert (labels[11:24] == Label.MISSING).all()
    assert np.isnan(result.prediction.intensity[11:24]).all()
    assert (labels[:9] != Label.MISSING).all()
