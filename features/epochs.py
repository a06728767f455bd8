"""One row of features per epoch: the single table every classifier reads.

:func:`extract` turns a :class:`~dosewatch.session.Session` into :class:`EpochFeatures`
(named columns, one value per epoch, NaN where a stream is missing) and
:class:`FeatureInfo` (what it noticed: HR_rest/HR_max and their sources, placement,
artefacts removed, warnings). The same function serves batch analysis, training and
live classification, so features cannot drift apart between them.

Columns (units in the name):

================  ===========================================================
``hr_bpm``        median clean heart rate, read ``lag_s`` later (HR lags effort)
``hr_coverage``   fraction of the epoch with a clean heart rate
``hr_artefact``   fraction of the epoch removed as artefact
``hr_sd_bpm``     SD of clean heart rate in the epoch
``pct_hrr``       %HRR of ``hr_bpm`` (Karvonen)
``enmo_g``        mean ENMO
``mad_g``         mean amplitude deviation
``cadence_spm``   median step cadence of stepping sub-windows, 0 if none
``step_fraction`` fraction of sub-windows with rhythmic stepping
``step_power``    mean share of movement power in the step band
``low_power``     mean share of movement power below the step band
``acc_coverage``  fraction of sub-windows with complete acceleration
``speed_mps``     mean speed, where a speed stream exists
``*_slope``       Theil–Sen slope per minute of ``pct_hrr``, ``enmo_g``,
                  ``cadence_spm`` and ``speed_mps`` over the centred trend window
================  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..calibration import RESEARCHER, Calibration
from ..config import Config
from ..relation import DRIFT_PRIOR, WorkloadRelation
from ..session import Session
from ..spec.labels import trend_half_width
from ..spec.trend import centred_windows, theil_sen
from . import hr as hrmod
from .acc import ACC_FEATURES
from .base import EpochGrid, FeatureContext, StreamFeatures
from .hr import HR_FEATURES
from .workload import (
    GAIT_VOTE_MAX_GRADE,
    SPEED_FEATURES,
    WORKLOAD_FEATURES,
    relate,
    resolve_gait,
)

# The feature functions, one per stream, in the order they run (acceleration first: it
# leaves the cadence and the still minutes that heart-rate cleaning uses).
STREAM_FEATURES: tuple[StreamFeatures, ...] = (ACC_FEATURES, HR_FEATURES, SPEED_FEATURES,
                                               WORKLOAD_FEATURES)

BASE_FEATURES: tuple[str, ...] = (
    "hr_bpm", "hr_coverage", "hr_artefact", "hr_sd_bpm", "pct_hrr",
    "enmo_g", "mad_g", "cadence_spm", "step_fraction", "step_power", "low_power",
    "acc_coverage", "speed_mps",
    "hr_demand_bpm", "pct_hrr_demand", "grade", "power_w", "workload_ref", "moving",
    "jog_by_hr", "pct_hrr_workload", "pct_hrr_acc",
)
TREND_OF = ("pct_hrr", "enmo_g", "cadence_spm", "speed_mps")
FEATURE_NAMES = BASE_FEATURES + tuple(f"{name}_slope" for name in TREND_OF)


@dataclass(frozen=True, slots=True)
class FeatureInfo:
    """What feature extraction used and noticed.

    Attributes:
        hr_params: HR_rest/HR_max and their sources; None without heart rate.
        placement: accelerometer placement used for acceleration cut-points.
        placement_source: ``profile``, ``device`` (the device implies it: a chest
            strap) or ``default``.
        has_hr, has_acc, has_speed: which streams the session had.
        has_workload: whether it had a workload channel (speed or power) with movement.
        relation: how heart rate followed the workload (see :func:`_relation`).
        acc_intensity_source: how acceleration became %HRR (``calibration`` or
            ``cut-points``); None without acceleration.
        calibration: the participant's calibration the features used, if any.
        hr_removed: seconds of heart rate removed by cleaning, per reason.
        warnings: degradations a reader of the results should know about.
        workload_doubts: why the workload's price may be wrong (see
            :class:`~dosewatch.features.base.FeatureContext`).
    """

    hr_params: hrmod.HeartRateParams | None
    placement: str
    placement_source: str
    has_hr: bool
    has_acc: bool
    has_speed: bool
    has_workload: bool = False
    relation: WorkloadRelation | None = None
    acc_intensity_source: str | None = None
    calibration: Calibration | None = None
    hr_removed: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    workload_doubts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EpochFeatures:
    """Feature columns of equal length, one value per epoch starting at ``start_s``."""

    start_s: NDArray[np.float64]
    epoch_s: float
    values: dict[str, NDArray[np.float64]]

    @property
    def n(self) -> int:
        return int(self.start_s.size)

    def matrix(self, names: tuple[str, ...] = FEATURE_NAMES) -> NDArray[np.float32]:
        """``(n_epochs, len(names))`` float32 matrix of the named columns."""
        return np.column_stack([self.values[name] for name in names]).astype(np.float32)


def epoch_count(duration_s: float, epoch_s: float) -> int:
    """Epochs in a session: a last partial epoch counts when at least half full."""
    return max(1, int(np.floor(duration_s / epoch_s + 0.5)))


def _trend(values: NDArray[np.float64], config: Config) -> NDArray[np.float64]:
    h = trend_half_width(config)
    x = np.arange(-h, h + 1) * config.epoch_min
    return theil_sen(centred_windows(values, h), x)


def _placement(session: Session, config: Config, warnings: list[str]) -> tuple[str, str]:
    if session.profile.placement is not None:
        device = "placement" in session.provenance.device_profile  # a chest strap's
        return session.profile.placement, "device" if device else "profile"
    placement = config.acceleration.default_placement
    if session.acc is not None:
        warnings.append(f"accelerometer placement unknown: assumed {placement}; "
                        "set placement in the profile")
    return placement, "default"


def _relation(values: dict[str, NDArray[np.float64]], session: Session, config: Config,
              calibration: Calibration | None) -> WorkloadRelation | None:
    """The session's heart-rate–workload relation: fitted on the session when it has heart
    rate and enough movement; else the participant's calibrated fitness; else, without
    heart rate (or with heart rate for less than half its moving minutes), the reference
    person's (``k = 1``, ``source = "population"``).

    A session whose heart rate covers most of its moving minutes but does not confirm the
    workload (too few settled minutes to fit) gets none: its heart rate decides, rather
    than a channel it cannot vouch for. An indoor run whose GPS says "standing still"
    while the heart rate climbs to 190 would otherwise be rest by the calibration's
    relation (a real Conconi test was: 51 of 56 minutes)."""
    moving = np.nan_to_num(values["moving"]) > 0
    if not moving.any():
        return None
    fitted = relate(values["pct_hrr_demand"], values["workload_ref"], values["moving"],
                    config.epoch_min)
    if fitted is not None:
        return fitted
    with_hr = np.isfinite(values["pct_hrr_demand"])
    if session.hr is not None and with_hr[moving].sum() >= 0.5 * moving.sum():
        return None
    if calibration is not None and calibration.fitness_k is not None:
        researcher = calibration.fitness_k.source == RESEARCHER
        return WorkloadRelation(k=calibration.fitness_k.value, drift=DRIFT_PRIOR, n=0,
                                r2=float("nan"),
                                source="researcher" if researcher else "calibration")
    # Without heart rate, or with heart rate for less than half the moving minutes (a
    # strap that dropped out early): the reference person's, and the verdict says so.
    return WorkloadRelation(k=1.0, drift=DRIFT_PRIOR, n=0, r2=float("nan"),
                            source="population")


def extract(session: Session, config: Config | None = None,
            calibration: Calibration | None = None) -> tuple[EpochFeatures, FeatureInfo]:
    """Epoch features of a session (see the module text): every stream's registered
    feature function (:data:`STREAM_FEATURES`) on one epoch grid, then the relation of
    heart rate to the workload, then the trends. ``calibration``: the participant's (see
    :mod:`dosewatch.calibration`), when there is one."""
    config = config or Config()
    grid = EpochGrid(epoch_count(session.duration_s, config.epochs.epoch_s),
                     config.epochs.epoch_s)
    warnings: list[str] = []
    placement, placement_source = _placement(session, config, warnings)
    ctx = FeatureContext(placement=placement, placement_source=placement_source,
                         warnings=warnings, calibration=calibration)
    values: dict[str, NDArray[np.float64]] = {}
    for features in STREAM_FEATURES:
        stream = features.present(session)
        if stream is None:
            for name in features.columns:
                values[name] = np.full(grid.n, features.fill.get(name, np.nan))
        else:
            values.update(features.compute(stream, session, grid, config, ctx))
    has_workload = bool(np.nansum(values["moving"]) > 0)
    run_ref = values.pop("workload_ref_run", None)
    values["workload_ref"], values["jog_by_hr"] = resolve_gait(
        values["pct_hrr_demand"], values["workload_ref"], run_ref, values["speed_mps"],
        values["grade"], values["moving"], config.epoch_min)
    if session.hr is None and run_ref is not None and calibration is not None \
            and calibration.runs_from_mps is not None:
        # No heart rate to tell a jog from a brisk walk: the participant's own pace from
        # which they run does (learned from their sessions with heart rate); on the flat,
        # as resolve_gait prices it.
        with np.errstate(invalid="ignore"):
            jog = np.isfinite(run_ref) & (values["speed_mps"] >= calibration.runs_from_mps.value) \
                & (np.abs(values["grade"]) <= GAIT_VOTE_MAX_GRADE)
        values["workload_ref"] = np.where(jog, run_ref, values["workload_ref"])
    relation = _relation(values, session, config, calibration)
    values["pct_hrr_workload"] = (np.full(grid.n, np.nan) if relation is None
                                  else relation.intensity(values["workload_ref"]))
    for name in TREND_OF:
        values[f"{name}_slope"] = _trend(values[name], config)
    features_out = EpochFeatures(start_s=np.arange(grid.n) * grid.epoch_s,
                                 epoch_s=grid.epoch_s,
                                 values={name: values[name] for name in FEATURE_NAMES})
    info = FeatureInfo(
        hr_params=ctx.hr_params,
        placement=placement,
        placement_source=placement_source,
        has_hr=session.hr is not None,
        has_acc=session.acc is not None,
        has_speed=session.speed is not None,
        has_workload=has_workload,
        relation=relation,
        acc_intensity_source=ctx.acc_intensity_source,
        calibration=calibration,
        hr_removed=ctx.hr_removed,
        warnings=tuple(ctx.warnings),
        workload_doubts=tuple(ctx.workload_doubts),
    )
    return features_out, info
