"""What one session tells about its participant (:class:`~dosewatch.calibration.Evidence`),
read off its epoch features.

It needs the features only, never a classifier's verdict, so the analysis
(:meth:`dosewatch.analysis.SessionResult.evidence`) and the learned model's training
(:mod:`dosewatch.models.train`, which must not import the analysis above it) give the same
evidence for the same session.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..calibration import Evidence
from ..config import Config
from .epochs import EpochFeatures, FeatureInfo
from .workload import settled_epochs


def session_evidence(features: EpochFeatures, info: FeatureInfo, config: Config,
                     session: str, participant: str | None) -> Evidence:
    """The evidence of the session named ``session`` (see :class:`Evidence`): heart rates
    in bpm and the workload, which no calibration changes."""
    hp = info.hr_params
    v = features.values
    both = np.isfinite(v["hr_demand_bpm"]) & np.isfinite(v["enmo_g"]) & \
        after_no_drop(v["enmo_g"])
    use, minutes = settled_epochs(v["hr_demand_bpm"], v["workload_ref"], v["moving"],
                                  config.epoch_min)
    return Evidence(
        participant=participant,
        session=session,
        hr_held_max=None if hp is None else hp.held_max,
        hr_max_prior=None if hp is None else hp.prior_max,
        hr_max_profile=None if hp is None else hp.profile_max,
        hr_rest_stretch=None if hp is None else hp.rest_stretch,
        hr_rest_session=None if hp is None else hp.own_rest,
        hr_rest_default=config.heart_rate.hr_rest_default,
        hr_max_given=None if hp is None else hp.given_max,
        hr_rest_given=None if hp is None else hp.given_rest,
        relation_bpm=_rounded(v["hr_demand_bpm"][use], 2),
        relation_workload=_rounded(v["workload_ref"][use], 3),
        relation_minutes=_rounded(minutes[use], 2),
        placement=info.placement if info.has_acc else None,
        demand_bpm=_rounded(v["hr_demand_bpm"][both], 2),
        enmo_g=_rounded(v["enmo_g"][both], 5),
        step_fraction=_rounded(v["step_fraction"][both], 3),
        cadence_spm=_rounded(v["cadence_spm"][both], 2),
        run_paces_mps=_rounded(v["speed_mps"][v["jog_by_hr"] == 1], 2),
        walk_paces_mps=_rounded(v["speed_mps"][v["jog_by_hr"] == 0], 2),
    )


# Movement counts as dropped when the two epochs before held more than this share of ENMO
# above the epoch's own (plus a margin for stillness).
DROP_RATIO, DROP_MARGIN_G = 1.25, 0.01


def after_no_drop(enmo_g: NDArray[np.float64], epochs: int = 2) -> NDArray[np.bool_]:
    """Epochs whose movement is not well below that of the ``epochs`` before them. After
    a hard effort heart rate takes minutes to come down (its slow component outlasts the
    lag the demand estimate inverts), so the walk or rest just after a run holds a heart
    rate that belongs to the run: pairing it with the walk's movement would teach the
    acceleration mapping that walking is harder than it is."""
    enmo = np.nan_to_num(np.asarray(enmo_g, dtype=np.float64))
    before = np.zeros_like(enmo)
    for lag in range(1, epochs + 1):  # a couple of shifted copies, not a loop over epochs
        before[lag:] = np.maximum(before[lag:], enmo[:-lag])
    return before <= DROP_RATIO * enmo + DROP_MARGIN_G


def _rounded(values: NDArray[np.float64], decimals: int) -> tuple[float, ...]:
    return tuple(np.round(values, decimals).tolist())
