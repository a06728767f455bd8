"""How heart rate follows a workload: the fit of one session's heart-rate demand
against its workload, ``demand ≈ k · workload + c · t_moving`` (see
:mod:`dosewatch.features.workload` for the workload's scale, and ``docs/method.md``).

It sits below both the features, which fit it per session, and the calibration, which
fits it again on a participant's sessions under their calibrated HR_rest and HR_max.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MAX_DRIFT = 1.0  # %HRR per minute of movement: about 1 bpm/min, heat at its worst
DRIFT_PRIOR = 0.1  # %HRR per minute: typical cardiac drift in temperate conditions
DRIFT_PRIOR_WEIGHT = 20.0


@dataclass(frozen=True, slots=True)
class WorkloadRelation:
    """How heart rate followed the workload in one session (see :func:`fit_relation`).

    Attributes:
        k: the person's fitness factor: %HRR per unit of reference intensity.
        drift: %HRR gained per minute of movement at a constant workload.
        n: epochs the fit used.
        r2: the share of the heart-rate demand's variance the relation explains.
        source: ``session`` (fitted here), ``calibration`` (the participant's, learned)
            or ``researcher`` (set by a researcher in the participant's calibration file).
        rmse: the fit's root-mean-square error, %HRR: how far the heart-rate demand
            strays from the relation, whether or not the workload varied.
    """

    k: float
    drift: float
    n: int
    r2: float
    source: str = "session"
    rmse: float = float("nan")

    def intensity(self, workload_ref: NDArray[np.float64]) -> NDArray[np.float64]:
        """%HRR the workload demands of this person, without drift (0 when still)."""
        return self.k * workload_ref

    def drift_at(self, moving: NDArray[np.float64], epoch_min: float) -> NDArray[np.float64]:
        """%HRR of drift accumulated at each epoch."""
        return self.drift * moving_minutes(moving, epoch_min)


def moving_minutes(moving: NDArray[np.float64], epoch_min: float) -> NDArray[np.float64]:
    """Minutes of movement before each epoch (the drift clock)."""
    done = np.cumsum(np.nan_to_num(moving)) * epoch_min
    return np.concatenate([[0.0], done[:-1]]) if done.size else done


def fit_relation(y: NDArray[np.float64], w: NDArray[np.float64], t: NDArray[np.float64],
                 min_epochs: int = 8) -> WorkloadRelation | None:
    """Fit ``y ≈ k · w + c · t`` (``y`` the heart-rate demand as %HRR, ``w`` the workload
    as reference intensity, ``t`` minutes of movement) robustly (soft-L1 loss: a GPS
    glitch or a heart-rate artefact does not pull the fit), with ``0.4 ≤ k ≤ 2.5`` and
    ``0 ≤ c ≤ MAX_DRIFT``, ``c`` drawn towards a typical drift (:data:`DRIFT_PRIOR`).
    There is no intercept: %HRR tracks %VO2 reserve (Swain), and the workload is a %VO2
    reserve. None with fewer than ``min_epochs`` epochs."""
    from scipy.optimize import least_squares

    y, w, t = (np.asarray(a, dtype=np.float64) for a in (y, w, t))
    n = int(y.size)
    if n < min_epochs:
        return None
    k0 = float(np.clip(np.median(y / w), 0.4, 2.5))
    # Drift and a workload that rises over the session explain a rising heart rate
    # equally well; a prior on typical drift (DRIFT_PRIOR, weighed as DRIFT_PRIOR_WEIGHT √n
    # epochs' worth of evidence) lets the steady stretches, not the ramps, decide it.
    weight = DRIFT_PRIOR_WEIGHT * np.sqrt(n)

    def residuals(p: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.append(p[0] * w + p[1] * t - y, weight * (p[1] - DRIFT_PRIOR))

    fit = least_squares(residuals, x0=[k0, DRIFT_PRIOR], loss="soft_l1", f_scale=5.0,
                        bounds=([0.4, 0.0], [2.5, MAX_DRIFT]))
    k, c = (float(v) for v in fit.x)
    residual = y - (k * w + c * t)
    var = float(np.var(y))
    r2 = 1.0 - float(np.var(residual)) / var if var > 1e-9 else 0.0
    rmse = float(np.sqrt(np.mean(residual**2)))
    return WorkloadRelation(k=k, drift=c, n=n, r2=r2, rmse=rmse)


def runs_from(walked: NDArray[np.float64], ran: NDArray[np.float64]) -> float | None:
    """The pace from which a person runs: the speed that best separates the paces read as
    walks (``walked``) from those read as runs (``ran``), counting each misread minute
    (a walk at or above it, a run below it), "never" (infinity) among the choices; ties go
    to the faster. None when nothing says they ran.

    One pace with a slow minute read as a run (the heart rate still high as the person
    slows down after a hard stretch) then does not make every faster pace a run."""
    walked = np.asarray(walked, dtype=np.float64)
    ran = np.asarray(ran, dtype=np.float64)
    if ran.size == 0:
        return None
    candidates = np.append(np.unique(ran), np.inf)
    wrong = (walked[None, :] >= candidates[:, None]).sum(axis=1) + (
        ran[None, :] < candidates[:, None]).sum(axis=1)
    best = candidates[np.flatnonzero(wrong == wrong.min())[-1]]
    return None if np.isinf(best) else float(best)
