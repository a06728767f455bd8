"""The rule classifier: the transparent baseline.

%HRR as measured (heart rate where it is clean, short dropouts bridged; acceleration
cut-points where there is no heart rate), then the SPEC rules of :mod:`dosewatch.spec`.
The helpers that read the measured intensity are shared with the learned model, which
takes the same decision of which stream gives an epoch its intensity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..features.epochs import EpochFeatures, FeatureInfo
from ..spec.labels import label_epochs
from ..spec.runs import runs, spans_mask
from .base import SOURCE_ACC, SOURCE_HR, SOURCE_WORKLOAD, EpochPrediction


def fill_short_gaps(x: NDArray[np.float64], max_gap: int) -> NDArray[np.float64]:
    """Linearly fill NaN runs of at most ``max_gap`` samples that have data on both sides."""
    x = np.asarray(x, dtype=np.float64).copy()
    finite = np.isfinite(x)
    if finite.all() or not finite.any():
        return x
    idx = np.arange(x.size)
    filled = np.interp(idx, idx[finite], x[finite])
    # Runs of NaN that are short and bounded by data on both sides.
    gaps = runs(~finite)
    lengths = gaps[:, 1] - gaps[:, 0]
    inner = (gaps[:, 0] > 0) & (gaps[:, 1] < x.size)
    fill = spans_mask(gaps[(lengths <= max_gap) & inner], x.size)
    x[fill] = filled[fill]
    return x


def onset_masked(intensity: NDArray[np.float64], light_from: float, onset: int) -> NDArray:
    """``intensity`` with the first ``onset`` exercise epochs after rest (or no data) set
    to NaN: while heart rate is still catching up with a new effort, its rise says nothing
    about the workload's trend (SPEC: starting to exercise is not a ramp)."""
    out = np.asarray(intensity, dtype=np.float64).copy()
    if onset <= 0 or out.size == 0:
        return out
    with np.errstate(invalid="ignore"):
        active = np.isfinite(out) & (out >= light_from)
    # Epochs since the run of activity began: reset at every inactive epoch.
    index = np.arange(out.size)
    last_inactive = np.maximum.accumulate(np.where(~active, index, -1))
    since = index - last_inactive  # 1 for the first active epoch
    out[active & (since <= onset) & (last_inactive >= 0)] = np.nan
    return out


def measured_intensity(
    features: EpochFeatures, info: FeatureInfo, config: Config, fill_epochs: int = 2
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """%HRR as measured, and its source per epoch: heart rate where it is clean (short
    dropouts of up to ``fill_epochs`` bridged, so an optical dropout does not switch
    source mid-run), acceleration cut-points elsewhere, NaN where neither stream covers
    the epoch; in a session with neither stream, the workload's intensity."""
    v = features.values
    intensity = np.full(features.n, np.nan)
    source = np.zeros(features.n, dtype=np.int8)
    if info.has_hr:
        hr_i = fill_short_gaps(v["pct_hrr"], fill_epochs)
        ok = np.isfinite(hr_i)
        intensity[ok] = hr_i[ok]
        source[ok] = SOURCE_HR
    if info.has_acc:
        acc_i = v["pct_hrr_acc"]
        use = ~np.isfinite(intensity) & np.isfinite(v["enmo_g"])
        intensity[use] = acc_i[use]
        source[use] = SOURCE_ACC
    if not (info.has_hr or info.has_acc):
        # The workload alone (speed, power): its intensity through the participant's
        # calibrated fitness, else the reference person's.
        work = v["pct_hrr_workload"]
        use = np.isfinite(work)
        intensity[use] = work[use]
        source[use] = SOURCE_WORKLOAD
    return intensity, source


@dataclass(frozen=True)
class RuleClassifier:
    """Transparent baseline: %HRR from heart rate where it is clean, acceleration
    cut-points elsewhere, then the SPEC rules.

    Short heart-rate dropouts (up to ``fill_epochs`` epochs) are bridged by interpolation
    before acceleration is used, so an optical dropout does not switch source mid-run.
    The first ``onset_epochs`` of exercise after rest are left out of the trend window,
    because heart rate is still rising to meet the effort there.
    """

    fill_epochs: int = 2
    onset_epochs: int = 2
    name: str = "rules"

    @property
    def identity(self) -> str:
        """What its outputs depend on (a batch's resume check compares it)."""
        return f"rules(fill_epochs={self.fill_epochs}, onset_epochs={self.onset_epochs})"

    def predict(self, features: EpochFeatures, info: FeatureInfo,
                config: Config) -> EpochPrediction:
        intensity, source = measured_intensity(features, info, config, self.fill_epochs)
        trend = onset_masked(intensity, config.levels.light_from, self.onset_epochs)
        labels = label_epochs(intensity, config, trend_intensity=trend)
        return EpochPrediction(intensity=intensity, labels=labels, source=source)
