"""Workload channels: the speed (treadmill, footpod or GPS) a session carries."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..session import Session, Speed
from .base import EpochGrid, FeatureContext, StreamFeatures

SPEED_COLUMNS = ("speed_mps",)


def speed_epoch_features(speed: Speed, session: Session, grid: EpochGrid, config: Config,
                         ctx: FeatureContext) -> dict[str, NDArray[np.float64]]:
    """Per epoch: the mean speed of the samples in it (NaN where there are none)."""
    index = np.minimum((speed.t // grid.epoch_s).astype(np.int64), grid.n - 1)
    counts = np.bincount(index, minlength=grid.n)
    sums = np.bincount(index, weights=speed.mps, minlength=grid.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"speed_mps": np.where(counts > 0, sums / counts, np.nan)}


SPEED_FEATURES = StreamFeatures("speed", SPEED_COLUMNS, speed_epoch_features)
