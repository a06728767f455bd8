"""What every classifier is: the protocol, and the prediction it returns.

A classifier turns the epoch features of a session into an :class:`EpochPrediction`:
per epoch an intensity estimate (%HRR), a SPEC label, where the intensity came from,
and which epochs count towards a bout. It implements :class:`Classifier` (a ``name``
and ``predict(features, info, config)``); nothing else is asked of it, so a study's own
model plugs in through ``--model module:Class`` (see :mod:`dosewatch.models.registry`).

This module imports no classifier, so every classifier can import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..features.epochs import EpochFeatures, FeatureInfo

SOURCE_NONE, SOURCE_HR, SOURCE_ACC, SOURCE_WORKLOAD = 0, 1, 2, 3
SOURCE_NAMES = np.array(["", "heart_rate", "acceleration", "workload"])


@dataclass(frozen=True, slots=True)
class EpochPrediction:
    """A classifier's answer for every epoch.

    Attributes:
        intensity: estimated %HRR (NaN where no stream covers the epoch).
        labels: :class:`~dosewatch.spec.labels.Label` codes.
        source: per epoch, 1 = from heart rate, 2 = from acceleration, 3 = from the
            workload (through its relation to heart rate), 0 = none.
        probabilities: ``(n, 4)`` label probabilities (rest, constant, intermediate,
            accelerating) for models that have them, else None.
        qualifying: which epochs count towards a bout, when the classifier decides it;
            None means ``intensity >= bouts.qualifying_from`` (the SPEC rule).
        notes: what the classifier wants the reader of the output to know.
        doubts: why the classifier is less than sure of this session's labels (they
            lower the verdict's certainty; see :mod:`dosewatch.certainty`).
    """

    intensity: NDArray[np.float64]
    labels: NDArray[np.int8]
    source: NDArray[np.int8]
    probabilities: NDArray[np.float32] | None = None
    qualifying: NDArray[np.bool_] | None = None
    notes: tuple[str, ...] = ()
    doubts: tuple[str, ...] = ()


@runtime_checkable
class Classifier(Protocol):
    """A classifier: a ``name`` for the outputs, and ``predict``. Instances must be
    picklable (a batch sends them to worker processes and Dask workers)."""

    name: str

    def predict(
        self, features: EpochFeatures, info: FeatureInfo, config: Config
    ) -> EpochPrediction: ...
