"""Training the learned model on simulated studies (needs ``dosewatch[train]``).

Two estimators learn from each epoch's inputs (:mod:`dosewatch.models.inputs`: quantities
that mean the same for every person and device, the physiological classifier's decision
among them): a classifier gives the probability of each SPEC label (rest, constant,
intermediate, accelerating), smoothed over time by a hidden Markov model whose
transitions are counted on the training labels; a regressor estimates the *true*
relative intensity ``I`` (the steady-state %HRR the workload demands), which sets the
level and decides which epochs qualify for a bout.

Training data: simulated studies as ``scripts/evaluate.py`` draws them (:func:`plan_study`)
on development seeds, never the held-out one: participants of the ``wide`` population
with several sessions on different days (HR_rest of the day, cardiac drift up to heat's),
every protocol of ``ALL_PROTOCOLS``, on a treadmill (with its incline) or outdoors
(hills, stops, GPS speed), rides, chest or wrist, with a profile that gives everything,
the age only or nothing. Each session is seen in every view its devices allow
(:data:`TRAIN_VIEWS`: heart rate and acceleration, heart rate alone, heart rate and the
workload channels, acceleration alone), each alone and with the participant's
calibration learned from their heart-rate sessions (as a batch does). Labels are the
simulator's truth (its independent oracle).

Honesty: people are split, never epochs. ``cross_validate`` holds out whole people
(GroupKFold); the shipped model's figures come from ``scripts/evaluate.py`` on a seed
never used for training or development, and from ``scripts/real_eval.py`` on real
recordings.

    python -m dosewatch.models.train     (200 people, seed 7: the shipped model, in models/learned/)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from .. import __version__
from ..config import Config
from ..errors import ModelError
from ..session import Session
from .inputs import FAMILIES, INPUT_NAMES, model_inputs
from .learned import (
    DEFAULT_MODEL_DIR,
    LABEL_CODES,
    MANIFEST_NAME,
    MODEL_FORMAT,
    MODEL_KIND,
    PRIOR_POWER,
    SMOOTHING_WEIGHT,
    reference_config,
)

HELD_OUT_SEED = 90210
"""The seed of ``scripts/evaluate.py``'s held-out study: training refuses it."""
VIEWS = ("hr+acc", "hr", "hr+workload", "hr+speed, incline unrecorded", "acc")
TRAIN_VIEWS = ("hr+acc", "hr", "hr+workload", "acc")
"""The views the model learns from. Not a treadmill export without its incline: there
the workload channel is flat while an incline ramps, and a model taught that heart rate
may overrule a flat workload calls drift and hills on real runs ramps (docs/method.md:
with a workload channel, the workload's trend decides accelerating)."""
WORKLOAD = ("speed", "power", "cadence", "altitude", "grade")
INPUT_CHECK_DIR = Path(__file__).resolve().parents[1] / "tests" / "golden"
"""Committed sessions (the golden files: data that no change to the simulator moves) whose
inputs the manifest records as ``input_check`` (:func:`input_check`): a test recomputes
them, so a change to the code that computes the inputs (features, physio, the relation)
fails until the model is retrained on it."""


@dataclass(frozen=True)
class Planned:
    """One session of a simulated study: who, which protocol, where, what profile."""

    person: object
    protocol: str
    setting: str  # "treadmill", "outdoor", "bike"
    profile: str
    placement: str
    seed: int
    options: object


def plan_study(seed: int, people: int, sessions: int) -> list[Planned]:
    """A study of ``people`` participants (``wide`` population), ``sessions`` each on
    different days: a random protocol of ``ALL_PROTOCOLS`` each, on a treadmill with its
    incline, outdoors (hills up to 6 %, paced by effort or speed, 0-4 stops an hour) or on
    a bike; chest and wrist in turn; profiles full, age only, none in turn."""
    from ..simulate import ALL_PROTOCOLS, Options, Outdoor, random_person
    from ..simulate.study import day_options, session_seed

    rng = np.random.default_rng(seed)
    names = list(ALL_PROTOCOLS)
    plan = []
    for i in range(people):
        person = random_person(rng, id=f"E{i:02d}", population="wide")
        placement = "wrist" if i % 2 else "chest"
        profile = ("full", "age", "none")[i % 3]
        for k in range(sessions):
            protocol = names[int(rng.integers(len(names)))]
            if protocol in ("outdoor_run", "steady_ride"):
                setting, base = ("outdoor" if protocol == "outdoor_run" else "bike"), Options()
            elif rng.random() < 0.35:
                setting = "outdoor"
                base = Options(outdoor=Outdoor(hills=float(rng.uniform(0.0, 0.06)),
                                               pacing=str(rng.choice(["effort", "speed"])),
                                               stops_per_hour=float(rng.choice([0, 2, 4]))))
            else:
                setting, base = "treadmill", Options(incline=True)
            plan.append(Planned(person, protocol, setting, profile, placement,
                                session_seed(seed + i, k), day_options(base, seed + i, k)))
    return plan


def views(session: Session) -> dict[str, Session]:
    """The session as each device would record it (:data:`VIEWS`; the ones it allows)."""
    no_workload = dict.fromkeys(WORKLOAD)
    out = {"hr+acc": replace(session, **no_workload),
           "hr": replace(session, acc=None, **no_workload),
           "hr+workload": replace(session, acc=None)}
    if session.grade is not None:  # a treadmill whose incline the export left out
        out["hr+speed, incline unrecorded"] = replace(session, acc=None, grade=None)
    if session.acc is not None:
        out["acc"] = replace(session, hr=None, **no_workload)
    return {k: v for k, v in out.items() if v.hr is not None or v.acc is not None}


@dataclass(frozen=True)
class TrainingSet:
    """One row per epoch. ``person`` and ``session`` are integer groups for splitting;
    ``view`` indexes :data:`VIEWS`; ``calibrated``: analysed with the participant's
    calibration."""

    x: NDArray[np.float32]
    intensity: NDArray[np.float32]
    labels: NDArray[np.int8]
    person: NDArray[np.int32]
    session: NDArray[np.int32]
    view: NDArray[np.int8]
    calibrated: NDArray[np.bool_]

    @property
    def n(self) -> int:
        return int(self.intensity.size)


@dataclass(frozen=True)
class _Job:
    planned: tuple[Planned, ...]
    config: Config
    drop: tuple[str, ...]


def _person_rows(job: _Job) -> list[tuple[np.ndarray, ...]]:
    """Every session of one participant in every view, alone and calibrated (runs in a
    worker)."""
    from ..calibration import learn
    from ..features.epochs import extract
    from ..features.evidence import session_evidence
    from ..simulate import simulate

    config = job.config
    person_id = job.planned[0].person.id
    sims, sessions = [], []
    evidence = []
    for k, p in enumerate(job.planned):
        sim = simulate(p.protocol, p.person, placement=p.placement, modality="hr+acc",
                       profile=p.profile, seed=p.seed, options=p.options,
                       name=f"{person_id}-{k:02d}-{p.protocol}", config=config)
        sims.append(sim)
        seen = {}
        for name, session in views(sim.session).items():
            seen[name] = replace(session, profile=replace(session.profile, id=person_id,
                                                          placement=p.placement))
        sessions.append(seen)
        features, info = extract(seen["hr+acc"], config)
        evidence.append(session_evidence(features, info, config, sim.session.name, person_id))
    calibration = learn(person_id, evidence)
    rows = []
    for sim, seen in zip(sims, sessions, strict=True):
        truth = sim.truth
        for name, session in seen.items():
            if name not in TRAIN_VIEWS:
                continue
            for calibrated in (False, True):
                features, info = extract(session, config, calibration if calibrated else None)
                n = min(features.n, truth.labels.size)
                rows.append((
                    model_inputs(features, info, config, job.drop)[:n],
                    truth.epoch_intensity[:n].astype(np.float32),
                    truth.labels[:n].astype(np.int8),
                    np.full(n, VIEWS.index(name), dtype=np.int8),
                    np.full(n, calibrated),
                ))
    return rows


def simulate_training_set(people: int, seed: int, sessions: int = 6,
                          config: Config | None = None, workers: int = 1,
                          progress: bool | None = None, drop: tuple[str, ...] = ()
                          ) -> TrainingSet:
    """Simulate a study of ``people`` participants (:func:`plan_study`) into a training
    set (every view, alone and calibrated)."""
    if seed == HELD_OUT_SEED:
        raise ModelError(f"seed {seed} is the held-out seed of scripts/evaluate.py",
                         hint="train on another seed")
    config = config or Config()
    plan = plan_study(seed, people, sessions)
    by_person: dict[str, list[Planned]] = {}
    for p in plan:
        by_person.setdefault(p.person.id, []).append(p)
    jobs = [_Job(tuple(ps), config, drop) for ps in by_person.values()]
    parts: list[tuple[np.ndarray, ...]] = []
    person_of: list[int] = []
    bar = tqdm(total=len(jobs), unit="person", desc="simulating",
               disable=None if progress is None else not progress)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(_person_rows, jobs, chunksize=2)
            for i, rows in enumerate(results):
                parts.extend(rows)
                person_of.extend([i] * len(rows))
                bar.update()
    else:
        for i, job in enumerate(jobs):
            rows = _person_rows(job)
            parts.extend(rows)
            person_of.extend([i] * len(rows))
            bar.update()
    bar.close()
    sizes = [p[1].size for p in parts]
    return TrainingSet(
        x=np.concatenate([p[0] for p in parts]),
        intensity=np.concatenate([p[1] for p in parts]),
        labels=np.concatenate([p[2] for p in parts]),
        person=np.repeat(np.array(person_of, dtype=np.int32), sizes),
        session=np.repeat(np.arange(len(parts), dtype=np.int32), sizes),
        view=np.concatenate([p[3] for p in parts]),
        calibrated=np.concatenate([p[4] for p in parts]),
    )


ESTIMATOR_PARAMS = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
}


def make_estimators(seed: int = 0, **params) -> tuple[object, object]:
    """The two estimators: gradient-boosted trees on binned inputs (scikit-learn's
    histogram gradient boosting) for the label probabilities (softmax: probabilities an
    HMM can weigh) and for the intensity. Small (a few MB as ONNX), quick to train on
    hundreds of thousands of epochs, and exact in ONNX (:func:`hgb_to_onnx`)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    kw = {**ESTIMATOR_PARAMS, **params, "random_state": seed}
    return HistGradientBoostingClassifier(**kw), HistGradientBoostingRegressor(**kw)


def transitions(data: TrainingSet) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Label transition matrix (epoch to next epoch, add-one smoothed) and label prior,
    counted on the training sessions' reference labels."""
    k = len(LABEL_CODES)
    counts = np.ones((k, k))
    same = data.session[1:] == data.session[:-1]
    a, b = data.labels[:-1][same], data.labels[1:][same]
    known = (a >= 0) & (b >= 0)
    np.add.at(counts, (a[known], b[known]), 1)
    labelled = data.labels[data.labels >= 0]
    prior = np.bincount(labelled, minlength=k) / labelled.size
    return counts / counts.sum(axis=1, keepdims=True), prior


def fit(data: TrainingSet, seed: int = 0, **params) -> tuple[object, object]:
    """Fit both estimators: labels on epochs with a reference label, intensity on epochs
    with a true intensity."""
    classifier, regressor = make_estimators(seed, **params)
    labelled = data.labels >= 0
    classifier.fit(data.x[labelled], data.labels[labelled])
    if list(classifier.classes_) != list(LABEL_CODES):
        # The ONNX output's columns must be the labels in LABEL_CODES order.
        raise ModelError(
            f"the training data holds labels {list(classifier.classes_)}, not all of "
            f"{list(LABEL_CODES)}", hint="simulate more people (--people)")
    known = np.isfinite(data.intensity)
    regressor.fit(data.x[known], data.intensity[known])
    return classifier, regressor


def cross_validate(data: TrainingSet, folds: int = 4, **params) -> dict[str, dict[str, float]]:
    """Held-out *people* (GroupKFold): epoch-label accuracy after smoothing and mean
    absolute intensity error, per view. A quick check while training; the figures that
    count come from ``scripts/evaluate.py``."""
    from sklearn.model_selection import GroupKFold

    from .learned import smooth_labels

    proba = np.zeros((data.n, len(LABEL_CODES)))
    intensity = np.full(data.n, np.nan)
    smoothed = np.empty(data.n, dtype=np.int8)
    out: dict[str, dict[str, float]] = {}
    for train, test in GroupKFold(n_splits=folds).split(data.x, groups=data.person):
        part = _subset(data, train)
        classifier, regressor = fit(part, **params)
        proba[test] = classifier.predict_proba(data.x[test])
        intensity[test] = regressor.predict(data.x[test])
        # Transitions from the training people only: the held-out labels stay unseen.
        matrix, prior = transitions(part)
        prior = prior**PRIOR_POWER / np.sum(prior**PRIOR_POWER)
        for s in np.unique(data.session[test]):
            idx = np.flatnonzero(data.session == s)
            smoothed[idx] = smooth_labels(proba[idx], matrix, prior)
    for v, name in enumerate(VIEWS):
        for calibrated in (False, True):
            sel = (data.view == v) & (data.calibrated == calibrated) & (data.labels >= 0)
            if not sel.any():
                continue
            err = np.abs(intensity[sel] - data.intensity[sel])
            out[f"{name}{', calibrated' if calibrated else ''}"] = {
                "epoch_accuracy": float(np.mean(smoothed[sel] == data.labels[sel])),
                "intensity_mae": float(np.nanmean(err)),
            }
    return out


def _subset(data: TrainingSet, rows: NDArray[np.intp]) -> TrainingSet:
    return TrainingSet(*(getattr(data, f)[rows] for f in TrainingSet.__dataclass_fields__))


def _float32_at_most(values: NDArray[np.float64]) -> NDArray[np.float32]:
    """The largest float32 not above each value: ``x <= t`` then holds for a float32
    ``x`` exactly when it holds against the float64 threshold scikit-learn compares."""
    out = values.astype(np.float32)
    above = out.astype(np.float64) > values
    out[above] = np.nextafter(out[above], np.float32(-np.inf))
    return out


def hgb_to_onnx(model: object, n_inputs: int) -> object:
    """A fitted ``HistGradientBoostingClassifier`` (softmax over its classes) or
    ``HistGradientBoostingRegressor`` as one ONNX ``TreeEnsemble`` node, written here
    from the fitted trees (``_predictors``, ``_baseline_prediction``) because skl2onnx's
    converter fails with current onnx releases (it passes Python booleans where ONNX
    wants integers). Numerical splits only, no missing values (the inputs never hold
    NaN: :data:`dosewatch.models.inputs.MISSING`). The classifier's outputs are
    ``label`` and ``probabilities``; the regressor's ``variable``."""
    from onnx import TensorProto, helper

    classifier = hasattr(model, "classes_")
    predictors = model._predictors  # the fitted trees, per iteration
    per_iteration = len(predictors[0])
    nodes: dict[str, list] = {k: [] for k in (
        "treeids", "nodeids", "featureids", "modes", "values", "truenodeids",
        "falsenodeids", "missing_value_tracks_true")}
    leaves: dict[str, list] = {k: [] for k in ("treeids", "nodeids", "ids", "weights")}
    tree = 0
    for iteration in predictors:
        for k, predictor in enumerate(iteration):
            n = predictor.nodes
            if (n["is_categorical"] != 0).any():
                raise ModelError("categorical splits cannot be exported",
                                 hint="train on numerical inputs only")
            leaf = n["is_leaf"] != 0
            count = n.size
            nodes["treeids"] += [tree] * count
            nodes["nodeids"] += list(range(count))
            nodes["featureids"] += np.where(leaf, 0, n["feature_idx"]).astype(int).tolist()
            nodes["modes"] += ["LEAF" if f else "BRANCH_LEQ" for f in leaf.tolist()]
            nodes["values"] += np.where(leaf, 0.0, _float32_at_most(
                n["num_threshold"].astype(np.float64))).astype(np.float32).tolist()
            nodes["truenodeids"] += np.where(leaf, 0, n["left"]).astype(int).tolist()
            nodes["falsenodeids"] += np.where(leaf, 0, n["right"]).astype(int).tolist()
            nodes["missing_value_tracks_true"] += np.where(
                leaf, 0, n["missing_go_to_left"]).astype(int).tolist()
            where = np.flatnonzero(leaf)
            leaves["treeids"] += [tree] * where.size
            leaves["nodeids"] += where.astype(int).tolist()
            leaves["ids"] += [k] * where.size
            leaves["weights"] += n["value"][where].astype(np.float32).tolist()
            tree += 1
    base = np.asarray(model._baseline_prediction, np.float64).ravel()
    attrs = {f"nodes_{k}": v for k, v in nodes.items()}
    inputs = [helper.make_tensor_value_info("inputs", TensorProto.FLOAT, [None, n_inputs])]
    if classifier:
        if per_iteration < 3:
            raise ModelError("only a classifier of three or more classes can be exported",
                             hint="train on every label")
        op = helper.make_node(
            "TreeEnsembleClassifier", ["inputs"], ["label", "probabilities"],
            domain="ai.onnx.ml", post_transform="SOFTMAX", base_values=base.tolist(),
            classlabels_int64s=[int(c) for c in model.classes_],
            class_treeids=leaves["treeids"], class_nodeids=leaves["nodeids"],
            class_ids=leaves["ids"], class_weights=leaves["weights"], **attrs)
        outputs = [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
                   helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                                 [None, per_iteration])]
    else:
        op = helper.make_node(
            "TreeEnsembleRegressor", ["inputs"], ["variable"], domain="ai.onnx.ml",
            n_targets=1, aggregate_function="SUM", post_transform="NONE",
            base_values=base.tolist(), target_treeids=leaves["treeids"],
            target_nodeids=leaves["nodeids"], target_ids=leaves["ids"],
            target_weights=leaves["weights"], **attrs)
        outputs = [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])]
    graph = helper.make_graph([op], "dosewatch", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid("ai.onnx.ml", 3)],
                             producer_name="dosewatch")


def _to_onnx(model: object, path: Path, meta: dict[str, str], doc: str) -> str:
    """Convert and write one estimator; returns the file's SHA-256."""
    import onnx

    onx = hgb_to_onnx(model, len(INPUT_NAMES))
    for key, value in meta.items():
        entry = onx.metadata_props.add()
        entry.key, entry.value = key, value
    onx.doc_string = doc
    onnx.checker.check_model(onx)
    tmp = path.with_name(f".{path.name}.tmp")
    onnx.save(onx, str(tmp))
    tmp.replace(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_onnx(
    classifier: object, regressor: object, folder: Path, metadata: dict[str, object]
) -> dict[str, object]:
    """Write both estimators as ONNX (each carrying dosewatch's metadata: model kind,
    format, the input names) and the manifest ``learned.json`` that the loader checks:
    SHA-256 of each file, input names, the label transition matrix and the configuration
    the reference labels were made with."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "dosewatch_model": MODEL_KIND,
        "format": str(MODEL_FORMAT),
        "input_names": json.dumps(list(INPUT_NAMES)),
        "dosewatch_version": __version__,
    }
    files = {}
    for role, model, doc in (
        ("labels", classifier, "dosewatch: probabilities of rest/constant/intermediate/"
         "accelerating per epoch"),
        ("intensity", regressor, "dosewatch: true relative intensity (%HRR) per epoch"),
    ):
        path = folder / f"{role}.onnx"
        files[role] = {"file": path.name,
                       "sha256": _to_onnx(model, path, {**meta, "role": role}, doc)}
    manifest = {**meta, "input_names": list(INPUT_NAMES), "files": files, **metadata}
    path = folder / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return manifest


def input_check(folder: Path = INPUT_CHECK_DIR,
                config: Config | None = None) -> dict[str, list[float]]:
    """For each session folder in ``folder``, the mean of each input over its epochs as
    this code computes them (:func:`model_inputs`; a missing value counts as
    :data:`~dosewatch.models.inputs.MISSING`). Empty when ``folder`` does not exist (a
    model trained outside a checkout of the repository)."""
    from ..features.epochs import extract
    from ..ingest import read_session

    config = config or Config()
    out: dict[str, list[float]] = {}
    for sub in sorted(p for p in folder.glob("*") if p.is_dir()):
        features, info = extract(read_session(sub), config)
        x = model_inputs(features, info, config).astype(np.float64)
        out[sub.name] = np.round(x.mean(axis=0), 5).tolist()
    return out


def train(people: int, seed: int, out: Path, workers: int = 2, folds: int = 0,
          sessions: int = 6, drop: tuple[str, ...] = (),
          progress: bool | None = None) -> dict[str, object]:
    """Simulate, (optionally) cross-validate by person, fit, export to the folder
    ``out``. ``drop``: input families left out (their inputs all missing), for the
    ablation. Returns a report."""
    try:
        import onnx  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise ModelError(
            f"training needs scikit-learn and onnx ({exc.name} is missing)",
            hint="pip install 'dosewatch[train]'",
        ) from None
    unknown = set(drop) - set(FAMILIES)
    if unknown:
        raise ModelError(f"unknown input families {sorted(unknown)}",
                         hint=f"choose from {', '.join(FAMILIES)}")
    started = time.perf_counter()
    data = simulate_training_set(people, seed, sessions, workers=workers, progress=progress,
                                 drop=drop)
    simulated = time.perf_counter()
    report: dict[str, object] = {"people": people, "seed": seed, "epochs": data.n,
                                 "sessions": people * sessions,
                                 "views": int(data.session.max()) + 1}
    if folds:
        report["cross_validation_by_person"] = cross_validate(data, folds=folds)
    classifier, regressor = fit(data, seed=seed)
    matrix, prior = transitions(data)
    config = Config()
    report["simulate_seconds"] = round(simulated - started, 1)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["manifest"] = export_onnx(classifier, regressor, out, {
        "training": {
            "people": people, "sessions_per_person": sessions, "seed": seed,
            "epochs": data.n, "sessions": report["sessions"], "views": report["views"],
            "dropped_families": list(drop),
            "seconds": report["seconds"], "simulate_seconds": report["simulate_seconds"],
            "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "estimator": {type(classifier).__name__: ESTIMATOR_PARAMS,
                          type(regressor).__name__: ESTIMATOR_PARAMS},
        },
        "label_codes": list(LABEL_CODES),
        "transitions": np.round(matrix, 6).tolist(),
        "prior": np.round(prior, 6).tolist(),
        "smoothing_weight": SMOOTHING_WEIGHT,
        "prior_power": PRIOR_POWER,
        "reference_config": reference_config(config),
        "input_check": input_check(config=config),
    })
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=6, help="sessions per person")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR,
                        help="folder for labels.onnx, intensity.onnx and learned.json")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folds", type=int, default=0,
                        help="also cross-validate by person with this many folds")
    parser.add_argument("--drop", default="",
                        help=f"input families to leave out (ablation): {', '.join(FAMILIES)}")
    args = parser.parse_args(argv)
    drop = tuple(f.strip() for f in args.drop.split(",") if f.strip())
    report = train(args.people, args.seed, args.out, args.workers, args.folds,
                   args.sessions, drop)
    print(json.dumps({k: v for k, v in report.items() if k != "manifest"}, indent=2))
    print(f"model written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
