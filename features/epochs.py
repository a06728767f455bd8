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

from ..config import Config
from ..spec.labels import trend_half_width
from ..session import Session
from . import hr as hrmod
from .acc import window_features
from ..spec.trend import centred_windows, nan_median_rows, theil_sen

BASE_FEATURES = (
    "hr_bpm",
    "hr_coverage",
    "hr_artefact",
    "hr_sd_bpm",
    "pct_hrr",
    "enmo_g",
    "mad_g",
    "cadence_spm",
    "step_fraction",
    "step_power",
    "low_power",
    "acc_coverage",
    "speed_mps",
)
TREND_OF = ("pct_hrr", "enmo_g", "cadence_spm", "speed_mps")
FEATURE_NAMES = BASE_FEATURES + tuple(f"{name}_slope" for name in TREND_OF)


@dataclass(frozen=True, slots=True)
class FeatureInfo:
    """What feature extraction used and noticed.

    Attributes:
        hr_params: HR_rest/HR_max and their sources; None without heart rate.
        placement: accelerometer placement used for acceleration cut-points.
        placement_source: ``profile`` or ``default``.
        has_hr, has_acc, has_speed: which streams the session had.
        hr_removed: seconds of heart rate removed by cleaning, per reason.
        warnings: degradations a reader of the results should know about.
    """

    hr_params: hrmod.HeartRateParams | None
    placement: str
    placement_source: str
    has_hr: bool
    has_acc: bool
    has_speed: bool
    hr_removed: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


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


def _per_epoch(series: NDArray[np.float64], per: int, n_epochs: int) -> NDArray[np.float64]:
    """Reshape a regular series into ``(n_epochs, per)``, NaN-padding the end."""
    need = n_epochs * per
    out = np.full(need, np.nan)
    take = min(need, series.size)
    out[:take] = series[:take]
    return out.reshape(n_epochs, per)


def _row_mean(m: NDArray[np.float64]) -> NDArray[np.float64]:
    count = np.isfinite(m).sum(axis=1)
    total = np.where(np.isfinite(m), m, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _trend(values: NDArray[np.float64], config: Config) -> NDArray[np.float64]:
    h = trend_half_width(config)
    x = np.arange(-h, h + 1) * config.epoch_min
    return theil_sen(centred_windows(values, h), x)


def extract(session: Session, config: Config | None = None) -> tuple[EpochFeatures, FeatureInfo]:
    """Epoch features of a session (see the module text)."""
    config = config or Config()
    epoch_s = config.epochs.epoch_s
    n_epochs = epoch_count(session.duration_s, epoch_s)
    span_s = n_epochs * epoch_s
    per_s = int(round(epoch_s))
    values = {name: np.full(n_epochs, np.nan) for name in BASE_FEATURES}
    warnings: list[str] = []

    placement = session.profile.placement
    placement_source = "profile"
    if placement is None:
        placement, placement_source = config.acceleration.default_placement, "default"
        if session.acc is not None:
            warnings.append(
                f"accelerometer placement unknown: assumed {placement}; set placement in the profile"
            )

    cadence_1hz = None
    still_minutes = None
    if session.acc is not None:
        window_s = 10.0 if epoch_s % 10 == 0 else epoch_s
        wf = window_features(session.acc, span_s, window_s=window_s)
        per = int(round(epoch_s / window_s))
        w = {name: _per_epoch(v, per, n_epochs) for name, v in wf.values.items()}
        valid = np.isfinite(w["enmo_g"])
        coverage = valid.mean(axis=1)
        enough = coverage >= config.acceleration.min_coverage
        stepping = valid & (w["cadence_spm"] > 0)
        cadence = nan_median_rows(np.where(stepping, w["cadence_spm"], np.nan))
        values["enmo_g"] = np.where(enough, _row_mean(w["enmo_g"]), np.nan)
        values["mad_g"] = np.where(enough, _row_mean(w["mad_g"]), np.nan)
        values["cadence_spm"] = np.where(enough, np.nan_to_num(cadence, nan=0.0), np.nan)
        values["step_fraction"] = np.where(
            enough, stepping.sum(axis=1) / np.maximum(valid.sum(axis=1), 1), np.nan
        )
        values["step_power"] = np.where(enough, _row_mean(w["step_power"]), np.nan)
        values["low_power"] = np.where(enough, _row_mean(w["low_power"]), np.nan)
        values["acc_coverage"] = coverage
        repeat = int(round(window_s))
        cadence_1hz = np.repeat(np.nan_to_num(wf.values["cadence_spm"], nan=0.0), repeat)
        per_minute = max(1, int(round(60.0 / window_s)))
        n_min = wf.values["enmo_g"].size // per_minute
        enmo_min = _row_mean(wf.values["enmo_g"][: n_min * per_minute].reshape(n_min, per_minute))
        still_minutes = enmo_min < config.heart_rate.still_enmo_g
    else:
        values["acc_coverage"] = np.zeros(n_epochs)

    hr_params = None
    removed: dict[str, int] = {}
    if session.hr is not None:
        lag = max(0, int(round(config.heart_rate.lag_s)))
        n_seconds = int(np.ceil(session.duration_s)) + lag
        wrist_acc = session.acc is not None and placement == "wrist"
        cleaned = hrmod.clean(
            session.hr, n_seconds, config, cadence_spm=cadence_1hz if wrist_acc else None
        )
        removed = cleaned.n_removed
        bpm = cleaned.bpm
        hr_params = hrmod.resolve_params(bpm, session.profile, config, still_minutes)
        warnings.extend(hr_params.warnings)
        now = _per_epoch(bpm, per_s, n_epochs)
        later = _per_epoch(bpm[lag:], per_s, n_epochs)
        cover_now = np.isfinite(now).mean(axis=1)
        cover_later = np.isfinite(later).mean(axis=1)
        # Read the epoch's heart rate lag_s later; at the end of the data, fall back to now.
        use_later = cover_later >= 0.5
        chosen = np.where(use_later[:, None], later, now)
        coverage = np.where(use_later, cover_later, cover_now)
        level = nan_median_rows(chosen)
        level[coverage < 0.5] = np.nan
        values["hr_bpm"] = level
        values["hr_coverage"] = coverage
        values["hr_artefact"] = _row_mean(
            _per_epoch(cleaned.artefact.astype(np.float64), per_s, n_epochs)
        )
        with np.errstate(invalid="ignore"), hrmod.quiet_nan_warnings():
            values["hr_sd_bpm"] = np.where(coverage >= 0.5, np.nanstd(chosen, axis=1), np.nan)
        values["pct_hrr"] = hrmod.pct_hrr(level, hr_params)
    else:
        values["hr_coverage"] = np.zeros(n_epochs)
        values["hr_artefact"] = np.zeros(n_epochs)

    if session.speed is not None:
        index = np.minimum((session.speed.t // epoch_s).astype(np.int64), n_epochs - 1)
        counts = np.bincount(index, minlength=n_epochs)
        sums = np.bincount(index, weights=session.speed.mps, minlength=n_epochs)
        with np.errstate(invalid="ignore", divide="ignore"):
            values["speed_mps"] = np.where(counts > 0, sums / counts, np.nan)

    for name in TREND_OF:
        values[f"{name}_slope"] = _trend(values[name], config)

    features = EpochFeatures(
        start_s=np.arange(n_epochs) * epoch_s, epoch_s=epoch_s, values=values
    )
    info = FeatureInfo(
        hr_params=hr_params,
        placement=placement,
        placement_source=placement_source,
        has_hr=session.hr is not None,
        has_acc=session.acc is not None,
        has_speed=session.speed is not None,
        hr_removed=removed,
        warnings=tuple(warnings),
    )
    return features, info
