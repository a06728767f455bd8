"""The physiological classifier: the workload's trend decides *accelerating*, heart rate
sets the level, and nothing is learned from the simulator.

Per epoch it chooses where the true intensity ``I`` is read from (see
``docs/method.md`` for the reasoning and the figures behind each choice):

1. **Workload and heart rate** (a speed or power channel, and heart rate): the session's
   heart-rate–workload relation (:func:`dosewatch.features.workload.relate`) turns the
   workload into this person's %HRR without drift (``pct_hrr_workload``): its trend is
   the evidence for accelerating. Heart rate sets the level (the demand estimate). When
   the person stands still the workload is zero at once:
   the recovery minutes at a still-high heart rate are rest, not qualifying. A relation
   that explains little of the heart rate and that the heart rate strays far from (a
   broken speed channel, an unrecorded incline) is not trusted: heart rate alone is
   used, and the output says so.
2. **Heart rate alone**: the demand estimate (``pct_hrr_demand``: heart rate with its
   first-order lag inverted, so a step of workload is seen at once and falling heart
   rate after a stop reads as the lower demand it is). Cardiac drift cannot be told from
   a slow ramp by its rate alone (heat drift reaches about 1 bpm/min; the SPEC's ramp
   threshold is 0.75 %HRR/min); the output says the verdict is uncertain there. What
   heart rate's kinetics do separate is a change of pace followed by drift: where a
   window holds one, it is taken out with its fast phase and the rest must reach the
   ramp threshold (:mod:`dosewatch.models.drift`). ``drift_proof_slope`` can hold HR-only
   ramps to a stricter slope (off by default: it loses slow ramps).
3. **Acceleration alone**: ENMO with the participant's own mapping when there is one,
   else the placement's cut-points (uncertain); its trend is read from a 3-epoch median
   (:data:`ACC_TREND_EPOCHS`), since that intensity scatters from minute to minute.

Then the SPEC's rules label the epochs (:func:`dosewatch.spec.labels.label_epochs`) and
an epoch qualifies for a bout at 40 %HRR or more.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..features.epochs import EpochFeatures, FeatureInfo
from ..relation import WorkloadRelation
from ..spec.labels import Label, accelerating_mask, label_epochs
from ..spec.trend import centred_windows, nan_median_rows
from .base import SOURCE_ACC, SOURCE_HR, SOURCE_WORKLOAD, EpochPrediction
from .drift import single_change_with_kinetics
from .rules import fill_short_gaps, onset_masked

# A relation that explains less of the heart rate's variance than this is not used...
MIN_RELATION_R2 = 0.2
# ... unless the heart rate stays this close to it (%HRR, root mean square): at a steady
# workload there is little variance to explain, and a low R² says nothing against the
# channel. A workload that misses a real rise in effort (an unrecorded incline) leaves
# the heart rate far above the relation and fails both.
MAX_RELATION_RMSE = 6.0
# An HR-only rise below this (%HRR/min) is within reach of drift, heat or hills.
DRIFT_LIKE_SLOPE = 1.5
# A relation whose drift is at least this share of the accelerating slope says heart rate
# rose, at the recorded workload, almost as fast as a ramp would raise it: heat at a
# steady pace, the slow component of vigorous running, or a rising workload the recording
# does not hold (a treadmill's incline without FTMS, a climb without altitude). With the
# default slope the doubt starts at 0.6 %HRR/min. On simulated treadmill ramps by incline
# with speed alone the fitted drift is 0.85-1.0 %HRR/min; on the real recordings with a
# workload channel it is at most 0.79 (one race, which is doubted too).
HIDDEN_RAMP_DRIFT = 0.8
# Epochs of the centred median an acceleration-only trend is read from. Intensity from
# acceleration scatters by several %HRR from one minute to the next, where the heart-rate
# demand is smooth; one high minute in a running ramp became the window's "largest change
# of pace", and with it taken out the SPEC's single-change test found no ramp left. A
# median takes out such a minute and keeps a real change of pace as sharp as it was (a
# mean spreads it over three epochs, and the single-change test no longer takes it out
# whole: 4 false ramp minutes after one change of pace in the tests).
ACC_TREND_EPOCHS = 3


def centred_median(values: NDArray[np.float64], epochs: int) -> NDArray[np.float64]:
    """The median of the finite values among the ``epochs`` (odd) centred on each epoch;
    NaN where there are none."""
    return nan_median_rows(centred_windows(values, epochs // 2))


@dataclass(frozen=True)
class PhysioClassifier:
    """See the module text.

    Attributes:
        fill_epochs: heart-rate dropouts of up to this many epochs are bridged.
        onset_epochs: epochs after the start of exercise left out of an HR-only trend
            (heart rate is still catching up with the workload there).
        drift_proof_slope: %HRR/min an HR-only trend must reach to be a ramp.
        change_of_pace: a rise of heart rate of at least this many %HRR within two
            epochs is a change of pace, not a step of a staircase (see
            :mod:`dosewatch.models.drift`); 0 turns the kinetics-aware single-change
            rule off.
        kinetics_epochs: epochs over which heart rate's fast phase spreads a change of
            pace (taken out with it).
        name: as written in the outputs.
    """

    fill_epochs: int = 2
    onset_epochs: int = 2
    drift_proof_slope: float = 0.75
    change_of_pace: float = 10.0
    kinetics_epochs: int = 3
    name: str = "physio"

    @property
    def identity(self) -> str:
        return (f"physio(fill_epochs={self.fill_epochs}, onset_epochs={self.onset_epochs}, "
                f"drift_proof_slope={self.drift_proof_slope:g}, "
                f"change_of_pace={self.change_of_pace:g}, "
                f"kinetics_epochs={self.kinetics_epochs})")

    def predict(self, features: EpochFeatures, info: FeatureInfo,
                config: Config) -> EpochPrediction:
        v = features.values
        intensity, source = self._measured(v, info, config)
        notes: list[str] = []
        doubts: tuple[str, ...] = ()
        relation = self._relation(info, notes)
        if relation is not None:
            level, trend, moving = self._with_workload(v, intensity, source)
            source = np.where(np.isfinite(trend) & ~np.isfinite(intensity),
                              SOURCE_WORKLOAD, source).astype(np.int8)
            labels = label_epochs(level, config, trend_intensity=trend)
            with np.errstate(invalid="ignore"):
                qualifying = np.isfinite(level) & (level >= config.bouts.qualifying_from) & (
                    moving | ~np.isfinite(trend))
            intensity = level
            doubts = self._hidden_ramp_doubt(relation, config)
        else:
            trend = self._hr_trend(v, intensity)
            labels = self._labels_from_measured(intensity, trend, source, config)
            doubts = self._drift_doubt(trend, labels, source, config,
                                       untrusted_workload=info.relation is not None)
            with np.errstate(invalid="ignore"):
                qualifying = np.isfinite(intensity) & (
                    intensity >= config.bouts.qualifying_from)
        return EpochPrediction(intensity=intensity, labels=labels, source=source,
                               qualifying=qualifying, notes=tuple(notes), doubts=doubts)

    def _measured(self, v: dict[str, NDArray[np.float64]], info: FeatureInfo,
                  config: Config) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
        """Heart-rate demand where there is heart rate, acceleration elsewhere."""
        n = v["pct_hrr_demand"].size
        intensity = np.full(n, np.nan)
        source = np.zeros(n, dtype=np.int8)
        if info.has_hr:
            hr = fill_short_gaps(v["pct_hrr_demand"], self.fill_epochs)
            ok = np.isfinite(hr)
            intensity[ok], source[ok] = hr[ok], SOURCE_HR
        if info.has_acc:
            acc = v["pct_hrr_acc"]
            use = ~np.isfinite(intensity) & np.isfinite(v["enmo_g"])
            intensity[use], source[use] = acc[use], SOURCE_ACC
        return intensity, source

    def _relation(self, info: FeatureInfo, notes: list[str]) -> WorkloadRelation | None:
        """The session's heart-rate–workload relation, when it can be trusted."""
        relation = info.relation
        if relation is None:
            return None
        if relation.r2 < MIN_RELATION_R2 and not relation.rmse <= MAX_RELATION_RMSE:
            notes.append(f"heart rate did not follow the workload channel (it strayed "
                         f"{relation.rmse:.0f} %HRR from it, R² {relation.r2:.2f}): "
                         "intensity and trend from heart rate")
            return None
        return relation

    @staticmethod
    def _with_workload(v: dict[str, NDArray[np.float64]], measured: NDArray[np.float64],
                       source: NDArray[np.int8]
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """Level: the heart-rate demand (heart rate sets the level); where there is no
        heart rate, the workload's intensity, then acceleration; rest while the person
        stands still. Trend: the workload's intensity (drift-free)."""
        trend = v["pct_hrr_workload"]
        moving = np.nan_to_num(v["moving"]) > 0
        level = np.where(source == SOURCE_HR, measured, np.nan)
        level = np.where(np.isfinite(level), level, trend)
        level = np.where(np.isfinite(level), level, measured)
        known = np.isfinite(trend)
        level = np.where(known & ~moving, np.minimum(level, trend), level)
        return level, trend, moving

    def _hr_trend(self, v: dict[str, NDArray[np.float64]],
                  intensity: NDArray[np.float64]) -> NDArray[np.float64]:
        """What an HR-only trend is read from: the lag-compensated %HRR (smoother than
        the demand estimate, whose derivative adds noise), where there is one."""
        smooth = fill_short_gaps(v["pct_hrr"], self.fill_epochs)
        return np.where(np.isfinite(smooth), smooth, intensity)

    @staticmethod
    def _hidden_ramp_doubt(relation: WorkloadRelation, config: Config) -> tuple[str, ...]:
        """A doubt when the relation needed nearly a ramp's rise as drift (see
        :data:`HIDDEN_RAMP_DRIFT`)."""
        ramp = config.trend.accelerating_slope
        if not relation.drift >= HIDDEN_RAMP_DRIFT * ramp:
            return ()
        return (f"heart rate rose {relation.drift:.2f} %HRR a minute more than the "
                f"workload channel explains, close to a ramp's {ramp:g}: heat or a long "
                "hard effort at a steady pace, or a rising workload the recording does "
                "not hold (a treadmill's incline, a climb without altitude) — recording "
                "the incline or altitude would settle it",)

    def _drift_doubt(self, trend: NDArray[np.float64], labels: NDArray[np.int8],
                     source: NDArray[np.int8], config: Config,
                     untrusted_workload: bool = False) -> tuple[str, ...]:
        """A doubt when heart rate alone rose, for a while, at a rate that cardiac drift,
        heat or hills at a steady workload could also explain; what would settle it
        depends on whether the session had a workload channel that heart rate did not
        follow (``untrusted_workload``)."""
        from ..spec.labels import trend_half_width
        from ..spec.trend import centred_windows, theil_sen

        h = trend_half_width(config)
        with np.errstate(invalid="ignore"):
            usable = np.where(trend >= config.levels.light_from, trend, np.nan)
        slope = theil_sen(centred_windows(usable, h), np.arange(-h, h + 1) * config.epoch_min)
        exercise = (source == SOURCE_HR) & (labels > Label.REST)
        with np.errstate(invalid="ignore"):
            ambiguous = exercise & (slope >= 0.5 * config.trend.accelerating_slope) & (
                slope < DRIFT_LIKE_SLOPE)
        minutes = float(ambiguous.sum() * config.epoch_min)
        if minutes < 5 or minutes < 0.2 * float(exercise.sum() * config.epoch_min):
            return ()
        settle = ("the session's speed or power channel did not follow the heart rate, so "
                  "it could not settle it: check that channel (a treadmill's incline, a "
                  "footpod's calibration)" if untrusted_workload else
                  "a speed, power or footpod channel would settle it")
        return (f"heart rate alone rose slowly ({0.5 * config.trend.accelerating_slope:g}–"
                f"{DRIFT_LIKE_SLOPE:g} %HRR/min) for {minutes:g} minutes: a slow ramp of "
                "the workload, or cardiac drift, heat or hills at a steady one — heart rate "
                f"alone cannot tell them apart ({settle})",)

    def _labels_from_measured(self, intensity: NDArray[np.float64],
                              trend_source: NDArray[np.float64],
                              source: NDArray[np.int8], config: Config) -> NDArray[np.int8]:
        """SPEC labels on heart-rate demand (or acceleration), with the HR-only trend held
        to the drift-proof slope and the acceleration trend read from a 3-epoch median."""
        from_acc = source == SOURCE_ACC
        if from_acc.any():
            smooth = centred_median(np.where(from_acc, trend_source, np.nan), ACC_TREND_EPOCHS)
            trend_source = np.where(from_acc, smooth, trend_source)
        trend = onset_masked(trend_source, config.levels.light_from, self.onset_epochs)
        labels = label_epochs(intensity, config, trend_intensity=trend)
        from_hr = source == SOURCE_HR
        demote = np.zeros(labels.size, dtype=bool)
        if from_hr.any() and self.drift_proof_slope > config.trend.accelerating_slope:
            strict = replace(config, trend=replace(
                config.trend, accelerating_slope=self.drift_proof_slope))
            ramps = accelerating_mask(intensity, strict, trend_intensity=trend)
            demote |= from_hr & (labels == Label.ACCELERATING) & ~ramps
        if from_hr.any() and self.change_of_pace > 0:
            demote |= single_change_with_kinetics(
                trend, from_hr & (labels == Label.ACCELERATING) & ~demote, config,
                self.change_of_pace, self.kinetics_epochs)
        if demote.any():
            steady = label_epochs(intensity, replace(config, trend=replace(
                config.trend, accelerating_slope=np.inf)))
            labels = np.where(demote, steady, labels).astype(np.int8)
        return labels
