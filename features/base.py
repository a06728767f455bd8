"""What the per-stream feature functions share: the epoch grid they fill, the context in
which one stream leaves results for another, and the small array helpers they use.

Each stream (acceleration, heart rate, speed, ...) has one function in its own module,
registered in :data:`dosewatch.features.epochs.STREAM_FEATURES` with the columns it
fills. :func:`dosewatch.features.epochs.extract` runs them in order on the session's
epoch grid; a stream the session lacks leaves its columns at their declared fill value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..calibration import Calibration
from ..config import Config
from ..session import Session

if TYPE_CHECKING:
    from .hr import HeartRateParams


@dataclass(frozen=True, slots=True)
class EpochGrid:
    """The epochs of a session: ``n`` epochs of ``epoch_s`` seconds from the start."""

    n: int
    epoch_s: float

    @property
    def span_s(self) -> float:
        return self.n * self.epoch_s

    @property
    def per_s(self) -> int:
        """Whole seconds per epoch (heart rate is on a 1 Hz grid)."""
        return int(round(self.epoch_s))


@dataclass
class FeatureContext:
    """What a stream's features leave for the streams after it, and for the output.

    Attributes:
        placement, placement_source: accelerometer placement and where it came from.
        cadence_1hz: step cadence at each second (0 when not stepping), from acceleration,
            for the heart-rate cleaning (cadence lock at the wrist).
        still_minutes: per whole minute, whether the body was still (from acceleration),
            for finding a resting heart rate.
        hr_params: HR_rest/HR_max and their sources (from the heart-rate features).
        calibration: the participant's calibration, when there is one.
        acc_intensity_source: how acceleration became %HRR: ``calibration`` (the
            participant's own mapping) or ``cut-points`` (the placement's).
        hr_removed: seconds of heart rate removed by cleaning, per reason.
        warnings: degradations a reader of the results should know about.
        workload_doubts: why the workload's price may be wrong (a pace that is a run or a
            ride when the file names no sport); reasons of the verdict's certainty when
            the workload decides it.
    """

    placement: str
    placement_source: str
    cadence_1hz: NDArray[np.float64] | None = None
    still_minutes: NDArray[np.bool_] | None = None
    hr_params: HeartRateParams | None = None
    calibration: Calibration | None = None
    acc_intensity_source: str | None = None
    hr_removed: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    workload_doubts: list[str] = field(default_factory=list)


Compute = Callable[[Any, Session, EpochGrid, Config, FeatureContext], Mapping[str, NDArray]]


@dataclass(frozen=True)
class StreamFeatures:
    """One stream's epoch features.

    Attributes:
        stream: the session attribute it reads (``acc``, ``hr``, ``speed``, ...), or
            several (it runs when the session has any of them, and gets the first).
        columns: the feature columns it fills, in output order.
        compute: ``compute(stream, session, grid, config, context) -> {column: (n,)
            array}``, called only when the session has the stream (``stream`` is it).
        fill: the value of each column when the session lacks the stream (NaN unless
            given: coverages are 0, not unknown).
    """

    stream: str | tuple[str, ...]
    columns: tuple[str, ...]
    compute: Compute
    fill: Mapping[str, float] = field(default_factory=dict)

    def present(self, session: Session) -> object | None:
        """The session's stream this function reads (the first present), or None."""
        names = (self.stream,) if isinstance(self.stream, str) else self.stream
        return next((s for s in (getattr(session, n) for n in names) if s is not None), None)


def per_epoch(series: NDArray[np.float64], per: int, n_epochs: int) -> NDArray[np.float64]:
    """Reshape a regular series into ``(n_epochs, per)``, NaN-padding the end."""
    need = n_epochs * per
    out = np.full(need, np.nan)
    take = min(need, series.size)
    out[:take] = series[:take]
    return out.reshape(n_epochs, per)


def row_mean(m: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean of each row ignoring NaN; NaN for a row with no finite value (no warning)."""
    count = np.isfinite(m).sum(axis=1)
    total = np.where(np.isfinite(m), m, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
