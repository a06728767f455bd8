"""The learned classifier: two ONNX tree ensembles run with onnxruntime, then an HMM.

The files ship in ``models/learned/`` and are written by :mod:`dosewatch.models.train`
(model format 2: gradient-boosted trees on the inputs of :mod:`dosewatch.models.inputs`,
which hold no absolute speed, heart rate or stream flags):

- ``labels.onnx`` gives, per epoch, the probability of rest, constant, intermediate and
  accelerating;
- ``intensity.onnx`` estimates the true relative intensity (%HRR);
- ``learned.json`` (the manifest) holds each file's SHA-256, the input names the model
  expects, the label transition matrix and the configuration its labels were made with.

At run time only onnxruntime is needed (scikit-learn trains, it does not analyse).
Loading checks everything the manifest promises; any mismatch is a :class:`ModelError`
that says what to do, never a silent wrong answer.

Per session:

1. the physiological classifier's decision (:mod:`dosewatch.models.physio`), which also
   says which stream gives each epoch its intensity and where there is none;
2. inputs from the epoch features and that decision
   (:func:`dosewatch.models.inputs.model_inputs`);
3. label probabilities and intensity from the two ONNX graphs;
4. temporal smoothing (:func:`smooth_labels`): the most likely label sequence given the
   probabilities and the transition matrix (Viterbi), so that a lone minute does not flip
   between labels. The same function runs in batch and live;
5. labels and intensity made to agree (:func:`agree`): with heart rate, an epoch the
   smoothing calls accelerating stays so and every other epoch takes the label of its
   intensity's level; with acceleration alone, the label stands and the intensity is
   moved into its band. So ``level``, label, bouts and dose follow from the same
   numbers;
6. bouts: an epoch qualifies at an intensity of ``bouts.qualifying_from`` or more, never
   while a trusted workload channel says the person stands still (physio's rule: the
   recovery after a ramp test, heart rate still high, is not exercise).

The labels were learned for the configuration in the manifest. When a study changes the
label definitions (levels, trend window or slope, epoch length) the learned labels would
no longer mean what the configuration says, so the SPEC rules are applied to the learned
intensity instead, and the output says so in its warnings.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..errors import ModelError
from ..features.epochs import EpochFeatures, FeatureInfo
from ..spec.labels import Label, label_epochs
from .base import SOURCE_ACC, EpochPrediction
from .inputs import INPUT_NAMES, model_inputs, physio_prediction
from .physio import MIN_RELATION_R2

DEFAULT_MODEL_DIR = Path(__file__).with_name("learned")
MANIFEST_NAME = "learned.json"
MODEL_KIND = "dosewatch-epochs"
MODEL_FORMAT = 2  # bump when the meaning of the files changes
LABEL_CODES = (int(Label.REST), int(Label.CONSTANT), int(Label.INTERMEDIATE),
               int(Label.ACCELERATING))
SMOOTHING_WEIGHT = 2.0
JUST_BELOW = 0.1  # %HRR: how far under a level's boundary an intensity is moved (agree)
PRIOR_POWER = 0.5
WORKLOAD_ONLY_NOTE = ("speed or power alone: labels and intensity from the physiological "
                      "classifier (the learned model was not trained on sessions without "
                      "heart rate or acceleration)")
"""The label prior divides the classifier's probabilities to this power in the HMM's
emissions: 1 is the textbook scaled likelihood, which favours the rarer labels so much
that a short session with a few likely-ramping minutes becomes all accelerating; 0.5 was
better for session class and epoch label on simulated people held out by cross-validation
(and no worse for epochs)."""


def reference_config(config: Config) -> dict[str, object]:
    """The part of a configuration that defines the epoch labels."""
    return {
        "epoch_s": config.epochs.epoch_s,
        "levels": asdict(config.levels),
        "trend": asdict(config.trend),
    }


def smooth_labels(
    proba: NDArray[np.floating],
    transitions: NDArray[np.floating],
    prior: NDArray[np.floating],
    weight: float = SMOOTHING_WEIGHT,
) -> NDArray[np.int8]:
    """Viterbi path of a hidden Markov model over the epochs' labels.

    Emissions are the classifier's probabilities divided by the label prior (a scaled
    likelihood); ``weight`` scales the log transition probabilities (0 = no smoothing).
    The recursion is sequential by nature, so it is one short loop over epochs on four
    states in plain floats (a week of epochs in a few tens of milliseconds).

    Returns:
        Row indices into the label order of ``proba`` (0 .. k-1) as int8.
    """
    proba = np.asarray(proba, dtype=np.float64)
    n, k = proba.shape
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    log_prior = np.log(np.clip(prior, 1e-12, 1.0))
    emit = (np.log(np.clip(proba, 1e-6, 1.0)) - log_prior).tolist()
    trans = (weight * np.log(np.clip(transitions, 1e-12, 1.0))).tolist()
    states = range(k)
    score = [e + p for e, p in zip(emit[0], log_prior.tolist(), strict=True)]
    back = [[0] * k for _ in range(n)]
    for i in range(1, n):
        row = emit[i]
        new = [0.0] * k
        ptr = back[i]
        for j in states:
            best, arg = -math.inf, 0
            for s in states:
                v = score[s] + trans[s][j]
                if v > best:
                    best, arg = v, s
            new[j] = best + row[j]
            ptr[j] = arg
        score = new
    path = np.empty(n, dtype=np.int8)
    state = max(states, key=score.__getitem__)
    for i in range(n - 1, -1, -1):
        path[i] = state
        state = back[i][state]
    return path


@dataclass(frozen=True)
class LearnedModel:
    """The loaded model: two onnxruntime sessions and the manifest's numbers."""

    folder: Path
    manifest: dict
    labels_session: object
    intensity_session: object
    transitions: NDArray[np.float64] = field(repr=False)
    prior: NDArray[np.float64] = field(repr=False)

    @property
    def version(self) -> str:
        t = self.manifest.get("training", {})
        return f"format {self.manifest['format']}, trained {t.get('trained_at', '?')}"

    def run(self, x: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Label probabilities ``(n, 4)`` and intensity ``(n,)`` for an input matrix."""
        if x.shape[0] == 0:
            return np.zeros((0, len(LABEL_CODES)), np.float32), np.zeros(0, np.float32)
        proba = self.labels_session.run(["probabilities"], {"inputs": x})[0]
        intensity = self.intensity_session.run(None, {"inputs": x})[0]
        return np.asarray(proba, np.float32), np.asarray(intensity, np.float32).reshape(-1)


def _bad(folder: Path, message: str) -> ModelError:
    return ModelError(message, source=folder,
                      hint="reinstall dosewatch, or retrain with `python -m "
                      "dosewatch.models.train --out FOLDER` and pass --model FOLDER")


def read_manifest(folder: str | Path = DEFAULT_MODEL_DIR) -> dict:
    """The model folder's manifest alone (no ONNX file is loaded: no onnxruntime).

    Raises:
        ModelError: no readable manifest in ``folder``.
    """
    return _read_manifest(Path(folder).resolve())


@lru_cache(maxsize=4)
def _read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(folder, f"no {MANIFEST_NAME}: not a dosewatch model folder") from None
    except (OSError, ValueError) as exc:
        raise _bad(folder, f"{MANIFEST_NAME} cannot be read ({exc})") from None


def reference_epoch_s(folder: str | Path = DEFAULT_MODEL_DIR) -> float:
    """The epoch length the model in ``folder`` was trained for, in seconds."""
    return float(read_manifest(folder)["reference_config"]["epoch_s"])


def load_model(folder: str | Path = DEFAULT_MODEL_DIR) -> LearnedModel:
    """Load and check the model in ``folder`` (see the module text).

    Raises:
        ModelError: a file is missing, damaged or changed since training, or the model
            expects other inputs than this version of dosewatch computes.
    """
    folder = Path(folder)
    return _load(folder.resolve())


@lru_cache(maxsize=4)
def _load(folder: Path) -> LearnedModel:
    import onnxruntime as ort

    manifest_path = folder / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(folder, f"no {MANIFEST_NAME}: not a dosewatch model folder") from None
    except (OSError, ValueError) as exc:
        raise _bad(folder, f"{MANIFEST_NAME} cannot be read ({exc})") from None
    if manifest.get("dosewatch_model") != MODEL_KIND:
        raise _bad(folder, f"{MANIFEST_NAME} does not describe a dosewatch epoch model")
    if str(manifest.get("format")) != str(MODEL_FORMAT):
        raise _bad(folder, f"model format {manifest.get('format')} is not the format "
                   f"{MODEL_FORMAT} this dosewatch reads")
    if list(manifest.get("input_names", [])) != list(INPUT_NAMES):
        raise _bad(folder, "the model expects other inputs than this dosewatch computes "
                   "(its feature list differs)")
    sessions = {}
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    for role in ("labels", "intensity"):
        entry = manifest.get("files", {}).get(role, {})
        path = folder / str(entry.get("file", f"{role}.onnx"))
        try:
            data = path.read_bytes()
        except OSError:
            raise _bad(folder, f"{path.name} is missing") from None
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            raise _bad(folder, f"{path.name} does not match its checksum in {MANIFEST_NAME} "
                       "(damaged, or replaced without retraining)")
        try:
            session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise _bad(folder, f"{path.name} cannot be loaded by onnxruntime ({exc})") from None
        meta = session.get_modelmeta().custom_metadata_map
        if json.loads(meta.get("input_names", "[]")) != list(INPUT_NAMES):
            raise _bad(folder, f"{path.name} was built for other inputs than {MANIFEST_NAME} "
                       "lists")
        sessions[role] = session
    transitions = np.asarray(manifest["transitions"], dtype=np.float64)
    prior = np.asarray(manifest["prior"], dtype=np.float64) ** float(
        manifest.get("prior_power", 1.0))
    prior /= prior.sum()
    return LearnedModel(folder, manifest, sessions["labels"], sessions["intensity"],
                        transitions, prior)


@dataclass(frozen=True)
class LearnedClassifier:
    """The learned classifier (see the module text). ``model_dir`` selects another
    trained model folder."""

    model_dir: Path = DEFAULT_MODEL_DIR
    smoothing_weight: float | None = None
    name: str = "learned"

    @property
    def identity(self) -> str:
        """The model's files, by checksum (what a batch's resume check compares)."""
        files = read_manifest(self.model_dir)["files"]
        digest = hashlib.sha256("".join(f["sha256"] for f in files.values()).encode())
        weight = "" if self.smoothing_weight is None else f",w={self.smoothing_weight:g}"
        return f"learned:{digest.hexdigest()[:16]}{weight}"

    def predict(self, features: EpochFeatures, info: FeatureInfo,
                config: Config) -> EpochPrediction:
        model = load_model(self.model_dir)
        if config.epochs.epoch_s != model.manifest["reference_config"]["epoch_s"]:
            raise ModelError(
                f"the learned model works on {model.manifest['reference_config']['epoch_s']:g}-s "
                f"epochs, the configuration asks for {config.epochs.epoch_s:g}-s epochs",
                hint="use --classifier physio or rules for other epoch lengths",
            )
        # Which stream gives each epoch its intensity, and where there is none at all,
        # is the physiological classifier's decision: the learned model does not invent
        # data.
        physio = physio_prediction(features, info, config)
        if not (info.has_hr or info.has_acc):
            # The model never saw a session with a workload channel alone: what it would
            # say is untested, and the physiological classifier's reading is the
            # definitions' own (the workload's intensity and trend).
            return replace(physio, notes=(*physio.notes, WORKLOAD_ONLY_NOTE))
        available = np.isfinite(physio.intensity)
        proba, intensity = model.run(model_inputs(features, info, config, physio=physio))
        intensity = np.where(available, np.clip(intensity, 0.0, 100.0), np.nan)
        labels = np.full(features.n, Label.MISSING, dtype=np.int8)
        notes: tuple[str, ...] = physio.notes
        if reference_config(config) == model.manifest["reference_config"]:
            codes = np.asarray(LABEL_CODES, dtype=np.int8)
            weight = model.manifest["smoothing_weight"] if self.smoothing_weight is None \
                else self.smoothing_weight
            # Smooth each stretch of epochs with data on its own: a gap breaks the chain.
            for start, end in _stretches(available):
                path = smooth_labels(proba[start:end], model.transitions, model.prior, weight)
                labels[start:end] = codes[path]
            labels, intensity = agree(labels, intensity, physio.source == SOURCE_ACC, config)
        else:
            labels = label_epochs(intensity, config)
            notes += ("the configuration changes the label definitions the learned model "
                      "was trained on: labels are the SPEC rules applied to the learned "
                      "intensity",)
        qualifying = _qualifying(intensity, features, info, config)
        return EpochPrediction(
            intensity=intensity, labels=labels, source=physio.source,
            probabilities=np.where(available[:, None], proba, np.nan).astype(np.float32),
            qualifying=qualifying, notes=notes, doubts=physio.doubts,
        )


def agree(labels: NDArray[np.int8], intensity: NDArray[np.float64],
          from_acc: NDArray[np.bool_], config: Config
          ) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """The smoothed labels and the estimated intensity made to agree, so that ``level``,
    label, bouts and dose all follow from the same numbers:

    - where heart rate (or the workload) gives the intensity, the intensity decides the
      level: an epoch the smoothing calls accelerating stays so when its intensity is
      not rest, every other epoch takes the label of its intensity's level;
    - where only acceleration does, the classifier's label is the better guess (on
      simulated people held out by cross-validation it gets 10 points more sessions'
      class right than the levels of the estimated intensity, whose error is twice
      heart rate's), so the intensity is moved into the label's band: at most 19.9 for
      rest, 40-59.9 for intermediate, at least 20 and outside 40-60 (to the nearer
      side: 39.9 or 60) for constant, at least 20 for accelerating (the default levels;
      :data:`JUST_BELOW` under a boundary).

    Returns the labels and the intensity to write."""
    lv = config.levels
    steady = label_epochs(intensity, replace(config, trend=replace(
        config.trend, accelerating_slope=np.inf)))
    with np.errstate(invalid="ignore"):
        ramp = (labels == Label.ACCELERATING) & (intensity >= lv.light_from)
    by_level = np.where(ramp, labels, steady).astype(np.int8)

    below, band_top = lv.light_from - JUST_BELOW, lv.vigorous_from - JUST_BELOW
    middle = 0.5 * (lv.intermediate_from + lv.vigorous_from)
    moved = intensity.copy()
    rest, inter = labels == Label.REST, labels == Label.INTERMEDIATE
    const, accel = labels == Label.CONSTANT, labels == Label.ACCELERATING
    with np.errstate(invalid="ignore"):
        moved[rest] = np.minimum(intensity[rest], below)
        moved[inter] = np.clip(intensity[inter], lv.intermediate_from, band_top)
        in_band = const & (intensity >= lv.intermediate_from) & (intensity < lv.vigorous_from)
        moved[in_band] = np.where(intensity[in_band] < middle,
                                  lv.intermediate_from - JUST_BELOW, lv.vigorous_from)
        moved[const | accel] = np.maximum(moved[const | accel], lv.light_from)
    use = from_acc & (labels != Label.MISSING)
    return (np.where(use, labels, by_level).astype(np.int8),
            np.where(use, moved, intensity))


def _qualifying(intensity: NDArray[np.float64], features: EpochFeatures, info: FeatureInfo,
                config: Config) -> NDArray[np.bool_]:
    """Epochs that count towards a bout: intensity at the qualifying level (the labels
    follow the same intensity, so such an epoch is never rest), and, as the
    physiological classifier rules, never while a trusted workload channel says the
    person stands still (the recovery after a ramp test, heart rate still high)."""
    with np.errstate(invalid="ignore"):
        qualifying = intensity >= config.bouts.qualifying_from
    relation = info.relation
    if relation is not None and not relation.r2 < MIN_RELATION_R2:
        workload = features.values["pct_hrr_workload"]
        still = np.isfinite(workload) & ~(np.nan_to_num(features.values["moving"]) > 0)
        qualifying &= ~still
    return qualifying


def _stretches(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    from ..spec.runs import runs

    return [(int(a), int(b)) for a, b in runs(mask)]
