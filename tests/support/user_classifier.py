"""A study's own classifier, as a user would write it in their own module, to test that
``dosewatch analyze --model support.user_classifier:EverythingConstant`` runs it serially
and on Dask. It is deliberately unlike the built-in ones (it never says intermediate or
accelerating), so a test can tell that it ran."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dosewatch.models.base import SOURCE_HR, EpochPrediction
from dosewatch.spec.labels import Label


@dataclass(frozen=True)
class EverythingConstant:
    """Measured %HRR as the intensity; every epoch with heart rate at or above
    ``light_from`` %HRR is *constant*, below it *rest*."""

    light_from: float = 20.0
    name: str = "everything-constant"

    def predict(self, features, info, config):  # noqa: ANN001, ANN201 - the protocol's
        intensity = np.asarray(features.values["pct_hrr"], dtype=np.float64)
        labels = np.full(features.n, Label.MISSING, dtype=np.int8)
        ok = np.isfinite(intensity)
        labels[ok] = np.where(intensity[ok] >= self.light_from, Label.CONSTANT, Label.REST)
        source = np.where(ok, SOURCE_HR, 0).astype(np.int8)
        return EpochPrediction(intensity=intensity, labels=labels, source=source)


class NotAClassifier:
    """Has no ``predict``: ``--model`` must refuse it clearly."""

    name = "nothing"
