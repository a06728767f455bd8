"""The learned model's input matrix: epoch features plus their neighbours.

Both training (:mod:`dosewatch.models.train`) and inference
(:mod:`dosewatch.models.learned`) build the model's inputs with :func:`model_inputs`, from
the same :class:`~dosewatch.features.epochs.EpochFeatures`, so the two cannot drift apart.
The shipped ONNX file records :data:`INPUT_NAMES`; a model trained on another list is
refused when it is loaded.

Per epoch the inputs are:

- the epoch features of :data:`MODEL_FEATURES`;
- the main signals of the epochs just before and after (:data:`CONTEXT_OFFSETS`): heart
  rate needs a minute or two to meet a new workload, and the epochs after a change of
  pace show where it was going;
- which streams the session has, and how HR_rest and HR_max were found.

Missing values (no heart rate, no speed, the session's edges) become :data:`MISSING`,
with the ``has_*`` flags beside them, so that tree ensembles split them off cleanly and
the ONNX graph needs no NaN handling.

Live use looks :data:`LOOKAHEAD` epochs ahead, so a live label is final that many epochs
after its epoch ends.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..features.epochs import EpochFeatures, FeatureInfo

# The epoch features the model reads (a fixed list: features added later do not change the
# shipped model's inputs).
MODEL_FEATURES: tuple[str, ...] = (
    "hr_bpm", "hr_coverage", "hr_artefact", "hr_sd_bpm", "pct_hrr",
    "enmo_g", "mad_g", "cadence_spm", "step_fraction", "step_power", "low_power",
    "acc_coverage", "speed_mps",
    "pct_hrr_slope", "enmo_g_slope", "cadence_spm_slope", "speed_mps_slope",
)
CONTEXT_SIGNALS = ("pct_hrr", "hr_bpm", "enmo_g", "cadence_spm", "speed_mps", "step_fraction")
CONTEXT_OFFSETS = (-3, -2, -1, 1, 2)
LOOKAHEAD = max(0, *CONTEXT_OFFSETS)
MISSING = -1.0

_SOURCES = {
    "hr_rest": ("profile", "estimated", "default"),
    "hr_max": ("profile", "age", "default", "observed"),
}


def _offset_name(signal: str, offset: int) -> str:
    return f"{signal}_{'m' if offset < 0 else 'p'}{abs(offset)}"


INPUT_NAMES: tuple[str, ...] = (
    MODEL_FEATURES
    + tuple(_offset_name(s, o) for s in CONTEXT_SIGNALS for o in CONTEXT_OFFSETS)
    + ("has_hr", "has_acc", "has_speed", "hr_rest", "hr_max")
    + tuple(f"{p}_from_{src}" for p, sources in _SOURCES.items() for src in sources)
)


def shifted(values: NDArray[np.float64], offset: int) -> NDArray[np.float64]:
    """``values`` moved so that row ``i`` holds ``values[i + offset]`` (NaN past the ends)."""
    out = np.full(values.size, np.nan)
    if offset > 0:
        out[:-offset] = values[offset:]
    elif offset < 0:
        out[-offset:] = values[:offset]
    else:
        out[:] = values
    return out


def model_inputs(features: EpochFeatures, info: FeatureInfo) -> NDArray[np.float32]:
    """``(n_epochs, len(INPUT_NAMES))`` float32 inputs of the learned model."""
    n = features.n
    v = features.values
    columns: list[NDArray[np.float64] | float] = [v[name] for name in MODEL_FEATURES]
    for signal in CONTEXT_SIGNALS:
        columns.extend(shifted(v[signal], o) for o in CONTEXT_OFFSETS)
    hp = info.hr_params
    columns.extend([
        float(info.has_hr), float(info.has_acc), float(info.has_speed),
        np.nan if hp is None else hp.hr_rest,
        np.nan if hp is None else hp.hr_max,
    ])
    for param, sources in _SOURCES.items():
        found = None if hp is None else getattr(hp, f"{param}_source")
        columns.extend(float(found == src) for src in sources)
    x = np.empty((n, len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        x[:, j] = column
    x[~np.isfinite(x)] = MISSING
    return x
