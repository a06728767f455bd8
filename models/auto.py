"""``auto``: ``physio`` for a session with heart rate, ``learned`` for a session with
acceleration alone (``--classifier auto``; not the default).

With heart rate, real recordings decide, and ``physio`` agrees with their workload
reference more often than ``learned`` (``models/MODEL_CARD.md``). With acceleration
alone no real recording has a reference, and the simulator gives two answers:

- **lab protocols** (ramps, step tests, steady levels; ``scripts/evaluate.py``):
  ``learned`` gets about 7 session classes in 10 right where ``physio``'s cut-points and
  mapping get 4 to 5 (the model reads the shape of the movement as well as its amount,
  and catches some ramps by cadence);
- **free-living days** (runs and brisk walks found in a day of wear;
  ``scripts/eval_freeliving_acc.py``): ``physio`` gets the dose flag right in 93 % of
  sessions, ``learned`` in 68 %.

Research accelerometers are mostly worn for days, so the default is ``physio``; ``auto``
is for acceleration-only lab protocols. The learned model is loaded only when a session
without heart rate comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..config import Config
from ..features.epochs import EpochFeatures, FeatureInfo
from .base import EpochPrediction
from .learned import LearnedClassifier, reference_epoch_s
from .physio import PhysioClassifier


@dataclass(frozen=True)
class AutoClassifier:
    """See the module text. ``physio`` and ``learned`` are the two classifiers it
    chooses between."""

    physio: PhysioClassifier = field(default_factory=PhysioClassifier)
    learned: LearnedClassifier = field(default_factory=LearnedClassifier)
    name: str = "auto"

    @property
    def identity(self) -> str:
        """Both classifiers' identities (the learned model's from its manifest, without
        loading it)."""
        return f"auto({self.physio.identity}|{self.learned.identity})"

    def chooses_learned(self, info: FeatureInfo, config: Config) -> bool:
        """Whether a session goes to the learned model: acceleration without heart rate,
        at the epoch length the model was trained for."""
        return (not info.has_hr and info.has_acc
                and config.epochs.epoch_s == reference_epoch_s(self.learned.model_dir))

    def predict(self, features: EpochFeatures, info: FeatureInfo,
                config: Config) -> EpochPrediction:
        if not self.chooses_learned(info, config):
            return self.physio.predict(features, info, config)
        prediction = self.learned.predict(features, info, config)
        note = ("acceleration only: labels and intensity from the learned model, which "
                "reads movement better than cut-points on simulated people")
        return replace(prediction, notes=(*prediction.notes, note))
