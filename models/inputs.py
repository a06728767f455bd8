"""The learned model's input matrix (model format 2): quantities that mean the same for
every person and every device, per epoch, with their neighbours.

Both training (:mod:`dosewatch.models.train`) and inference
(:mod:`dosewatch.models.learned`) build the inputs with :func:`model_inputs`, from the
same :class:`~dosewatch.features.epochs.EpochFeatures`, so the two cannot drift apart.
The shipped ONNX files and their manifest record :data:`INPUT_NAMES`; a model trained on
another list is refused when it is loaded.

What is deliberately *not* an input (issue 11): absolute speed, power and heart rate,
HR_rest and HR_max and where they came from, and flags saying which streams or channels a
session has. On the simulator those let a model recognise the protocol or the population
instead of the physiology (the first learned model called steady real runs with cardiac
drift "accelerating" from them). A missing signal is :data:`MISSING` in its own columns:
the model may know that heart rate or a workload is absent, not which simulator made it.

The inputs, by family (:data:`FAMILIES`; ``scripts/real_eval.py --ablation`` measures
each family's effect on real recordings):

- ``heart_rate``: the heart-rate demand as %HRR (``pct_hrr_demand``: first-order kinetics
  inverted), the lag-compensated %HRR, the demand less the drift the session's
  heart-rate–workload relation found, the SD of heart rate as %HRR of the reserve, and
  the share of the epoch with a clean heart rate and removed as artefact;
- ``workload``: the workload as this person's %HRR (``pct_hrr_workload``, through the
  relation), whether the person moved, the relation's R² and cardiac drift;
- ``acceleration``: %HRR from acceleration (the participant's own mapping, or the
  placement's cut-points, and which of the two), ENMO, step cadence and stepping share,
  and the share of the epoch with acceleration;
- ``trend``: for each intensity signal, the SPEC's trend: the Theil–Sen slope over the
  non-rest part of the centred window (:func:`dosewatch.spec.labels.trend_half_width`),
  the same with the window's largest single change of pace taken out
  (:func:`dosewatch.spec.labels.without_largest_change`), and the non-rest share of the
  window; the heart-rate trends leave out the first epochs of exercise, as the rules do;
  and the Theil–Sen slopes of ENMO and step cadence (movement that changes, or not);
- ``context``: the main signals of the epochs just before and after
  (:data:`CONTEXT_OFFSETS`, at most :data:`LOOKAHEAD` ahead);
- ``physio``: what the physiological classifier (:mod:`dosewatch.models.physio`) decides
  for the epoch: its intensity, its label and whether the epoch qualifies. The learned
  model corrects it where the data say it is wrong, rather than starting from nothing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..features.epochs import EpochFeatures, FeatureInfo
from ..spec.labels import Label, trend_half_width, without_largest_change
from ..spec.trend import centred_windows, theil_sen
from .base import EpochPrediction
from .physio import MIN_RELATION_R2
from .rules import fill_short_gaps, onset_masked

MISSING = -1000.0
"""The value of an input whose signal the session does not have (or an epoch beyond the
session's ends): far below every real value, so a tree splits it off at once."""
FILL_EPOCHS = 2  # heart-rate dropouts bridged, as the rules and physio do
ONSET_EPOCHS = 2  # epochs after the start of exercise left out of heart-rate trends

CONTEXT_SIGNALS = ("pct_hrr_demand", "pct_hrr", "pct_hrr_workload", "pct_hrr_acc")
CONTEXT_OFFSETS = (-3, -2, -1, 1, 2)
LOOKAHEAD = max(0, *CONTEXT_OFFSETS)
"""Epochs of look-ahead beyond the SPEC's own trend window (its centred half-width)."""
TREND_SIGNALS = ("hr_trend", "pct_hrr_demand", "pct_hrr_workload", "pct_hrr_acc")
PHYSIO_LABELS = (Label.REST, Label.CONSTANT, Label.INTERMEDIATE, Label.ACCELERATING)


def _offset_name(signal: str, offset: int) -> str:
    return f"{signal}_{'m' if offset < 0 else 'p'}{abs(offset)}"


FAMILIES: dict[str, tuple[str, ...]] = {
    "heart_rate": ("pct_hrr_demand", "pct_hrr", "pct_hrr_dedrifted", "hr_sd_pct",
                   "hr_coverage", "hr_artefact"),
    "workload": ("pct_hrr_workload", "moving", "relation_r2", "relation_drift"),
    "acceleration": ("pct_hrr_acc", "acc_calibrated", "enmo_g", "cadence_spm",
                     "step_fraction", "acc_coverage"),
    "trend": tuple(f"{s}_{kind}" for s in TREND_SIGNALS
                   for kind in ("slope", "slope_single_out", "nonrest"))
    + ("enmo_g_slope", "cadence_spm_slope"),
    "context": tuple(_offset_name(s, o) for s in CONTEXT_SIGNALS for o in CONTEXT_OFFSETS),
    "physio": ("physio_intensity", "physio_qualifying",
               *(f"physio_is_{Label(c).name.lower()}" for c in PHYSIO_LABELS)),
}
INPUT_NAMES: tuple[str, ...] = tuple(name for names in FAMILIES.values() for name in names)


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


def spec_trend(values: NDArray[np.float64], config: Config
               ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The SPEC's trend of one intensity signal per epoch: the Theil–Sen slope (%HRR/min)
    over the non-rest epochs of the centred window, the same with the window's largest
    single change of pace taken out, and the window's non-rest share."""
    h = trend_half_width(config)
    with np.errstate(invalid="ignore"):
        usable = np.where(values >= config.levels.light_from, values, np.nan)
    windows = centred_windows(usable, h)
    x = np.arange(-h, h + 1) * config.epoch_min
    slope = theil_sen(windows, x)
    single_out = theil_sen(without_largest_change(windows), x)
    nonrest = np.isfinite(windows).mean(axis=1)
    return slope, single_out, nonrest


def _trusted(info: FeatureInfo) -> bool:
    relation = info.relation
    return relation is not None and not relation.r2 < MIN_RELATION_R2


def physio_prediction(features: EpochFeatures, info: FeatureInfo,
                      config: Config) -> EpochPrediction:
    """What the physiological classifier decides (the ``physio`` inputs): physio with its
    defaults, the kinetics-aware single-change rule (:mod:`dosewatch.models.drift`)
    included, as the shipped model was trained on it."""
    from .physio import PhysioClassifier

    return PhysioClassifier().predict(features, info, config)


def input_columns(features: EpochFeatures, info: FeatureInfo, config: Config,
                  physio: EpochPrediction | None = None
                  ) -> dict[str, NDArray[np.float64] | float]:
    """Every input by name (NaN where a signal is missing), before :func:`model_inputs`
    puts them in a matrix. ``physio``: :func:`physio_prediction`, when already made."""
    v = features.values
    n = features.n
    cols: dict[str, NDArray[np.float64] | float] = {}
    hp = info.hr_params
    relation = info.relation
    demand = fill_short_gaps(v["pct_hrr_demand"], FILL_EPOCHS)
    pct = fill_short_gaps(v["pct_hrr"], FILL_EPOCHS)
    workload = v["pct_hrr_workload"] if relation is not None else np.full(n, np.nan)
    drift = (relation.drift_at(v["moving"], config.epoch_min) if _trusted(info)
             else np.zeros(n))
    reserve = np.nan if hp is None else max(hp.hr_max - hp.hr_rest, 1.0)
    cols["pct_hrr_demand"] = demand
    cols["pct_hrr"] = pct
    cols["pct_hrr_dedrifted"] = demand - drift
    cols["hr_sd_pct"] = 100.0 * v["hr_sd_bpm"] / reserve
    cols["hr_coverage"] = v["hr_coverage"] if info.has_hr else np.full(n, np.nan)
    cols["hr_artefact"] = v["hr_artefact"] if info.has_hr else np.full(n, np.nan)

    cols["pct_hrr_workload"] = workload
    cols["moving"] = np.where(np.isfinite(workload), v["moving"], np.nan)
    cols["relation_r2"] = np.nan if relation is None else relation.r2
    cols["relation_drift"] = np.nan if relation is None else relation.drift

    acc = info.has_acc
    cols["pct_hrr_acc"] = v["pct_hrr_acc"]
    cols["acc_calibrated"] = (float(info.acc_intensity_source == "calibration") if acc
                              else np.nan)
    for name in ("enmo_g", "cadence_spm", "step_fraction", "acc_coverage"):
        cols[name] = v[name] if acc else np.full(n, np.nan)

    trend_of = {
        "hr_trend": onset_masked(pct, config.levels.light_from, ONSET_EPOCHS),
        "pct_hrr_demand": onset_masked(demand, config.levels.light_from, ONSET_EPOCHS),
        "pct_hrr_workload": workload,
        "pct_hrr_acc": v["pct_hrr_acc"],
    }
    for signal, values in trend_of.items():
        slope, single_out, nonrest = spec_trend(values, config)
        known = np.isfinite(values).any()
        cols[f"{signal}_slope"] = slope
        cols[f"{signal}_slope_single_out"] = single_out
        cols[f"{signal}_nonrest"] = nonrest if known else np.full(n, np.nan)

    for name in ("enmo_g_slope", "cadence_spm_slope"):
        cols[name] = v[name] if acc else np.full(n, np.nan)

    for signal in CONTEXT_SIGNALS:
        for offset in CONTEXT_OFFSETS:
            cols[_offset_name(signal, offset)] = shifted(np.asarray(cols[signal]), offset)

    physio = physio or physio_prediction(features, info, config)
    cols["physio_intensity"] = physio.intensity
    known = physio.labels != Label.MISSING
    cols["physio_qualifying"] = np.where(
        known, physio.qualifying if physio.qualifying is not None else np.zeros(n), np.nan)
    for code in PHYSIO_LABELS:
        cols[f"physio_is_{Label(code).name.lower()}"] = np.where(
            known, (physio.labels == code).astype(np.float64), np.nan)
    return cols


def model_inputs(features: EpochFeatures, info: FeatureInfo, config: Config | None = None,
                 drop: tuple[str, ...] = (), physio: EpochPrediction | None = None
                 ) -> NDArray[np.float32]:
    """``(n_epochs, len(INPUT_NAMES))`` float32 inputs of the learned model; missing
    values are :data:`MISSING`. ``drop``: families (:data:`FAMILIES`) whose inputs are
    all set to :data:`MISSING` (to train a model without them, for the ablation).
    ``physio``: :func:`physio_prediction`, when already made."""
    config = config or Config()
    cols = input_columns(features, info, config, physio)
    gone = {name for family in drop for name in FAMILIES[family]}
    x = np.empty((features.n, len(INPUT_NAMES)), dtype=np.float32)
    for j, name in enumerate(INPUT_NAMES):
        x[:, j] = MISSING if name in gone else cols[name]
    x[~np.isfinite(x)] = MISSING
    return x
