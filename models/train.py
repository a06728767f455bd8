"""Training the learned intensity model on simulated people (needs ``dosewatch[train]``).

Two estimators learn from each epoch's features and its neighbours'
(:mod:`dosewatch.models.inputs`): a classifier gives the probability of each SPEC label
(rest, constant, intermediate, accelerating), smoothed over time by a hidden Markov model
whose transitions are counted on the training labels; a regressor estimates the *true*
relative intensity ``I`` (the steady-state %HRR the workload demands), which decides
which epochs qualify for a bout. The labels are learned for the default definitions; a
study that changes them in its configuration gets the SPEC rules applied to the learned
intensity instead (see :mod:`dosewatch.models.learned`).

Training data: every protocol of :mod:`dosewatch.simulate` for many simulated people,
chest and wrist, 25-100 Hz, and each modality (heart rate and acceleration, heart rate
only, acceleration only), with the speed stream dropped from half of the sessions so the
model does not lean on a treadmill or footpod being there. The profile given away varies
(full, age only, nothing) so HR_rest/HR_max come from every source.

Honesty: people are split, never epochs. ``cross_validate`` holds out whole people
(GroupKFold); the shipped model's figures come from ``scripts/evaluate.py`` on a seed
never used for training or development.

    python -m dosewatch.models.train --people 160 --seed 7     (writes models/learned/)
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
from ..features.epochs import extract
from ..simulate import PROTOCOLS, random_person, simulate
from .inputs import INPUT_NAMES, model_inputs
from .learned import (
    DEFAULT_MODEL_DIR,
    LABEL_CODES,
    MANIFEST_NAME,
    MODEL_FORMAT,
    MODEL_KIND,
    SMOOTHING_WEIGHT,
    reference_config,
)

MODALITIES = ("hr+acc", "hr", "acc")
PROFILE_KINDS = ("full", "age", "none")


@dataclass(frozen=True)
class TrainingSet:
    """One row per epoch. ``person`` and ``session`` are integer groups for splitting."""

    x: NDArray[np.float32]
    intensity: NDArray[np.float32]
    labels: NDArray[np.int8]
    person: NDArray[np.int32]
    session: NDArray[np.int32]
    modality: NDArray[np.int8]
    chest: NDArray[np.bool_]

    @property
    def n(self) -> int:
        return int(self.intensity.size)


@dataclass(frozen=True)
class _Job:
    person_index: int
    person_seed: int
    config: Config


def _person_rows(job: _Job) -> list[tuple[np.ndarray, ...]]:
    """Every protocol and modality for one simulated person (runs in a worker)."""
    rng = np.random.default_rng(job.person_seed)
    person = random_person(rng, id=f"train{job.person_index:04d}")
    rows = []
    for protocol in PROTOCOLS:
        placement = "chest" if rng.random() < 0.4 else "wrist"
        acc_fs = float(rng.choice([25.0, 50.0, 100.0]))
        profile = str(rng.choice(PROFILE_KINDS, p=[0.4, 0.4, 0.2]))
        seed = int(rng.integers(2**31))
        drop_speed = bool(rng.random() < 0.5)
        for m, modality in enumerate(MODALITIES):
            sim = simulate(protocol, person, placement=placement, acc_fs=acc_fs,
                           modality=modality, profile=profile, seed=seed, config=job.config)
            session = replace(sim.session, speed=None) if drop_speed else sim.session
            features, info = extract(session, job.config)
            n = min(features.n, sim.truth.labels.size)
            rows.append((
                model_inputs(features, info)[:n],
                sim.truth.epoch_intensity[:n].astype(np.float32),
                sim.truth.labels[:n],
                np.full(n, m, dtype=np.int8),
                np.full(n, placement == "chest"),
            ))
    return rows


def simulate_training_set(
    people: int, seed: int, config: Config | None = None, workers: int = 1,
    progress: bool | None = None,
) -> TrainingSet:
    """Simulate ``people`` people (every protocol, every modality) into a training set."""
    config = config or Config()
    seeds = np.random.SeedSequence(seed).generate_state(people)
    jobs = [_Job(i, int(s), config) for i, s in enumerate(seeds)]
    parts: list[tuple[np.ndarray, ...]] = []
    person_of: list[int] = []
    bar = tqdm(total=people, unit="person", desc="simulating",
               disable=None if progress is None else not progress)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(_person_rows, jobs, chunksize=2)
            for job, rows in zip(jobs, results, strict=True):
                parts.extend(rows)
                person_of.extend([job.person_index] * len(rows))
                bar.update()
    else:
        for job in jobs:
            rows = _person_rows(job)
            parts.extend(rows)
            person_of.extend([job.person_index] * len(rows))
            bar.update()
    bar.close()
    sizes = [p[1].size for p in parts]
    return TrainingSet(
        x=np.concatenate([p[0] for p in parts]),
        intensity=np.concatenate([p[1] for p in parts]),
        labels=np.concatenate([p[2] for p in parts]),
        person=np.repeat(np.array(person_of, dtype=np.int32), sizes),
        session=np.repeat(np.arange(len(parts), dtype=np.int32), sizes),
        modality=np.concatenate([p[3] for p in parts]),
        chest=np.concatenate([p[4] for p in parts]),
    )


ESTIMATOR_PARAMS = {
    "n_estimators": 40,
    "max_leaf_nodes": 2000,
    "min_samples_leaf": 5,
    "max_features": 0.7,
}


def make_estimators(seed: int = 0, **params) -> tuple[object, object]:
    """The two estimators: extremely randomised trees of bounded size for the label
    probabilities and for the intensity (the shipped files stay small and a week of
    epochs is scored in milliseconds). Tree ensembles convert to ONNX exactly."""
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    kw = {**ESTIMATOR_PARAMS, **params, "n_jobs": 2, "random_state": seed}
    return ExtraTreesClassifier(**kw), ExtraTreesRegressor(**kw)


def transitions(data: TrainingSet) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Label transition matrix (epoch to next epoch, add-one smoothed) and label prior,
    counted on the training sessions' reference labels."""
    k = len(LABEL_CODES)
    counts = np.ones((k, k))
    for s in np.unique(data.session):
        labels = data.labels[data.session == s]
        labels = labels[labels >= 0]
        np.add.at(counts, (labels[:-1], labels[1:]), 1)
    known = data.labels[data.labels >= 0]
    prior = np.bincount(known, minlength=k) / known.size
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
    absolute intensity error, per modality. A quick check while training; the figures
    that count come from ``scripts/evaluate.py``."""
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
        for s in np.unique(data.session[test]):
            idx = np.flatnonzero(data.session == s)
            smoothed[idx] = smooth_labels(proba[idx], matrix, prior)
    for m, name in enumerate(MODALITIES):
        sel = (data.modality == m) & (data.labels >= 0)
        err = np.abs(intensity[sel] - data.intensity[sel])
        out[name] = {
            "epoch_accuracy": float(np.mean(smoothed[sel] == data.labels[sel])),
            "intensity_mae": float(np.nanmean(err)),
        }
    return out


def _subset(data: TrainingSet, rows: NDArray[np.intp]) -> TrainingSet:
    return TrainingSet(*(getattr(data, f)[rows] for f in TrainingSet.__dataclass_fields__))


def _to_onnx(model: object, path: Path, meta: dict[str, str], doc: str) -> str:
    """Convert and write one estimator; returns the file's SHA-256."""
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
    onx = convert_sklearn(
        model,
        initial_types=[("inputs", FloatTensorType([None, len(INPUT_NAMES)]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
        options=options,
    )
    for key, value in meta.items():
        entry = onx.metadata_props.add()
        entry.key, entry.value = key, value
    onx.doc_string = doc
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


def train(people: int, seed: int, out: Path, workers: int = 2, folds: int = 0,
          progress: bool | None = None) -> dict[str, object]:
    """Simulate, (optionally) cross-validate by person, fit, export to the folder
    ``out``. Returns a report."""
    try:
        import skl2onnx  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise ModelError(
            f"training needs scikit-learn and skl2onnx ({exc.name} is missing)",
            hint="pip install 'dosewatch[train]'",
        ) from None
    started = time.perf_counter()
    data = simulate_training_set(people, seed, workers=workers, progress=progress)
    report: dict[str, object] = {"people": people, "seed": seed, "epochs": data.n,
                                 "sessions": int(data.session.max()) + 1}
    if folds:
        report["cross_validation_by_person"] = cross_validate(data, folds=folds)
    classifier, regressor = fit(data, seed=seed)
    matrix, prior = transitions(data)
    config = Config()
    report["manifest"] = export_onnx(classifier, regressor, out, {
        "training": {
            "people": people, "seed": seed, "epochs": data.n,
            "sessions": report["sessions"],
            "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "estimator": {type(classifier).__name__: ESTIMATOR_PARAMS,
                          type(regressor).__name__: ESTIMATOR_PARAMS},
        },
        "label_codes": list(LABEL_CODES),
        "transitions": np.round(matrix, 6).tolist(),
        "prior": np.round(prior, 6).tolist(),
        "smoothing_weight": SMOOTHING_WEIGHT,
        "reference_config": reference_config(config),
    })
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=160)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR,
                        help="folder for labels.onnx, intensity.onnx and learned.json")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folds", type=int, default=0,
                        help="also cross-validate by person with this many folds")
    args = parser.parse_args(argv)
    report = train(args.people, args.seed, args.out, args.workers, args.folds)
    print(json.dumps({k: v for k, v in report.items() if k != "manifest"}, indent=2))
    print(f"model written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
