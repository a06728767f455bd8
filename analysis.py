"""Session in, verdict out: features → classifier → labels → bouts → dose.

:func:`analyze_session` is the one function the command line, the batch runner, the demo
and the evaluation all call. Its :class:`SessionResult` is the single result object from
which ``summary.json``, ``epochs.csv``, ``sessions.csv`` and the picture are all written,
so no number is computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from . import __version__
from .calibration import Calibration, Evidence
from .certainty import Certainty, assess, gap_reasons
from .config import Config
from .errors import InputError
from .features.epochs import FEATURE_NAMES, EpochFeatures, FeatureInfo, extract
from .models.base import SOURCE_NAMES, SOURCE_NONE, Classifier, EpochPrediction
from .models.registry import get_classifier
from .session import Session, truncation
from .spec.bouts import Bout, find_bouts
from .spec.labels import LEVEL_NAMES, Label, label_names, levels, session_class


@dataclass(frozen=True)
class SessionResult:
    """Everything known about one analysed session (the session's samples are not kept)."""

    name: str
    participant: str | None
    source: str
    format: str
    sport: str | None
    start_time: str | None
    duration_s: float
    features: EpochFeatures
    info: FeatureInfo
    prediction: EpochPrediction
    bouts: list[Bout]
    session_class: str
    classifier: str
    config: Config
    repairs: tuple[str, ...]

    @property
    def dose_met(self) -> bool:
        return any(b.dose_met for b in self.bouts)

    @property
    def longest_bout_qualifying_minutes(self) -> float:
        """Qualifying minutes of the longest bout (0 without bouts)."""
        return max((b.qualifying_minutes for b in self.bouts), default=0.0)

    @property
    def qualifying(self) -> np.ndarray:
        """Per epoch, whether it counts towards a bout (the classifier's decision, else
        the SPEC rule on ``intensity``): what the bouts were found from."""
        p = self.prediction
        if p.qualifying is not None:
            return np.asarray(p.qualifying, dtype=bool)
        with np.errstate(invalid="ignore"):
            return np.isfinite(p.intensity) & (
                p.intensity >= self.config.bouts.qualifying_from)

    @property
    def dose_met_at_s(self) -> float | None:
        times = [b.dose_met_at_s for b in self.bouts if b.dose_met_at_s is not None]
        return min(times) if times else None

    @property
    def intensity_source(self) -> str:
        """Where most epochs' intensity came from: ``heart_rate``, ``workload`` (the
        workload through its relation to heart rate) or ``acceleration``."""
        counts = np.bincount(self.prediction.source.astype(np.int64), minlength=4)
        if counts[1:].sum() == 0:
            return "heart_rate" if self.info.has_hr else "acceleration"
        # Ties go to heart rate, then the workload (the order of SOURCE_NAMES).
        return str(SOURCE_NAMES[1 + int(np.argmax(counts[1:]))])

    @property
    def minutes(self) -> dict[str, float]:
        epoch_min = self.config.epoch_min
        labels = self.prediction.labels
        return {
            label.name.lower(): float(np.sum(labels == label) * epoch_min) for label in Label
        }

    @property
    def minutes_by_level(self) -> dict[str, float]:
        """Minutes at each intensity level (rest, light, intermediate, vigorous), from the
        same per-epoch levels as the ``level`` column of ``epochs.csv``; epochs without an
        intensity are in no level."""
        epoch_min = self.config.epoch_min
        epoch_levels = levels(self.prediction.intensity, self.config)
        return {name: float(np.sum(epoch_levels == name) * epoch_min) for name in LEVEL_NAMES}

    @property
    def minutes_at_or_above_intermediate(self) -> float:
        """Minutes at the intermediate or vigorous level (what weekly adherence adds up)."""
        by_level = self.minutes_by_level
        return by_level["intermediate"] + by_level["vigorous"]

    @property
    def warnings(self) -> list[str]:
        out = list(self.info.warnings) + list(self.prediction.notes)
        if self.intensity_source == "acceleration":
            out.append("intensity estimated from acceleration alone (no heart rate)")
        elif not (self.info.has_hr or self.info.has_acc):
            out.append("intensity estimated from the workload (speed or power) alone (no "
                       "heart rate)")
        elif self.info.has_acc and (self.prediction.source == 2).any():
            n = int((self.prediction.source == 2).sum())
            out.append(f"{n} epochs without usable heart rate: intensity from acceleration")
        for reason, seconds in self.info.hr_removed.items():
            out.append(f"heart rate: {seconds} s removed as artefact ({reason})")
        coverage = self.data_coverage
        if coverage < self.config.epochs.min_data_fraction:
            out.append(
                f"data covers {100 * coverage:.0f} % of the session's "
                f"{self.duration_s / 3600:.3g} h ({round(coverage * self.features.n)} of "
                f"{self.features.n} epochs): epochs without data are missing, never part of "
                "a bout or the dose")
        return out

    @property
    def certainty(self) -> Certainty:
        """How sure the verdict is, and why not (see :mod:`dosewatch.certainty`)."""
        return assess(self.info, self.prediction, self.minutes,
                      self.longest_bout_qualifying_minutes, self.config.bouts.dose_min,
                      truncation(self.repairs),
                      gap_reasons(self.prediction, self.qualifying, self.config),
                      self.config.epoch_min)

    def evidence(self) -> Evidence:
        """What this session tells about its participant, for their calibration."""
        from .features.evidence import session_evidence

        return session_evidence(self.features, self.info, self.config, self.name,
                                self.participant)

    def _calibration_summary(self) -> dict[str, object] | None:
        cal = self.info.calibration
        relation = self.info.relation
        out: dict[str, object] = {}
        if cal is not None:
            out.update(participant=cal.participant, sessions=cal.sessions,
                       digest=cal.digest)
        if relation is not None:
            out["workload"] = {"fitness_k": round(relation.k, 3),
                               "drift_pct_hrr_per_min": round(relation.drift, 3),
                               "source": relation.source, "epochs": relation.n}
        if self.info.acc_intensity_source is not None:
            out["acceleration"] = self.info.acc_intensity_source
        return out or None

    @property
    def data_coverage(self) -> float:
        """Fraction of the epochs with data (:func:`epochs_with_data`; issue 14: a session
        of two readings a day apart is mostly missing, and says so)."""
        measured = epochs_with_data(self.features)
        return float(measured.mean()) if measured.size else 0.0

    def hr_used(self) -> dict[str, object]:
        """HR_rest and HR_max the verdict used, with their sources (docs/definitions.md):
        the same four keys and values in ``summary.json``, the row of ``sessions.csv`` and
        every other output that names them (a free-living recording's record)."""
        hp = self.info.hr_params
        return {
            "hr_rest": None if hp is None else round(hp.hr_rest, 1),
            "hr_rest_source": None if hp is None else hp.hr_rest_source,
            "hr_max": None if hp is None else round(hp.hr_max, 1),
            "hr_max_source": None if hp is None else hp.hr_max_source,
        }

    def summary(self) -> dict[str, object]:
        """The content of ``summary.json``."""
        return {
            "session": self.name,
            "participant": self.participant,
            "source": self.source,
            "format": self.format,
            "sport": self.sport,
            "start_time": self.start_time,
            "session_class": self.session_class,
            "dose_met": self.dose_met,
            "dose_met_at_s": self.dose_met_at_s,
            "duration_s": round(self.duration_s, 3),
            "data_coverage": round(self.data_coverage, 4),
            "intensity_source": self.intensity_source,
            **self.hr_used(),
            "placement": self.info.placement,
            "placement_source": self.info.placement_source,
            "epoch_s": self.config.epochs.epoch_s,
            "minutes": self.minutes,
            "longest_bout_qualifying_minutes": self.longest_bout_qualifying_minutes,
            "bouts": [b.as_dict() for b in self.bouts],
            "warnings": self.warnings,
            "repairs": list(self.repairs),
            "classifier": self.classifier,
            "dosewatch_version": __version__,
            "minutes_by_level": self.minutes_by_level,
            "minutes_at_or_above_intermediate": self.minutes_at_or_above_intermediate,
            "certainty": self.certainty.as_dict(),
            "calibration": self._calibration_summary(),
            # Whether the session is a copy of another is known to the batch only (see
            # dosewatch.duplicates.mark_summaries, which rewrites these for a copy).
            "duplicate_of": None,
            "counted": True,
        }

    def epoch_times(self) -> np.ndarray | None:
        """Wall-clock start of each epoch (``datetime64[ms]``, UTC), or None when the
        session's absolute start is unknown."""
        if self.start_time is None:
            return None
        start = datetime.fromisoformat(self.start_time).astimezone(UTC).replace(tzinfo=None)
        offsets = np.round(self.features.start_s * 1000.0).astype("timedelta64[ms]")
        return np.datetime64(start, "ms") + offsets

    def epoch_columns(self) -> dict[str, np.ndarray]:
        """The columns of ``epochs.csv``, in order: ``start_s`` (seconds from the start),
        ``time`` (wall clock, UTC, ISO 8601; empty when unknown), ``label``, ``level`` (of
        ``intensity``), ``intensity`` (the classifier's estimate of the true relative
        intensity, from which ``level``, the label and the bouts follow),
        ``intensity_source``, then every feature (``pct_hrr`` is the %HRR measured from
        heart rate; ``pct_hrr_demand`` and ``hr_demand_bpm``, the demand estimate, stop at
        rest as the intensity does: see :data:`INTENSITY_FLOOR`)."""
        p = self.prediction
        times = self.epoch_times()
        time_text = (np.full(self.features.n, "", dtype=object) if times is None
                     else np.char.add(np.datetime_as_string(times, unit="s"), "Z"))
        columns: dict[str, np.ndarray] = {
            "start_s": self.features.start_s,
            "time": np.asarray(time_text, dtype=str),
            "label": label_names(p.labels),
            "level": levels(p.intensity, self.config),
            "intensity": p.intensity,
            "intensity_source": SOURCE_NAMES[p.source],
        }
        for name in FEATURE_NAMES:
            columns[name] = self.features.values[name]
        hp = self.info.hr_params
        if hp is not None:  # the demand as the outputs state it: never below rest
            with np.errstate(invalid="ignore"):
                for name, floor in (("pct_hrr_demand", INTENSITY_FLOOR),
                                    ("hr_demand_bpm", hp.hr_rest)):
                    column = columns[name]
                    columns[name] = np.where(column < floor, floor, column)
        return columns

    def epochs(self) -> Any:
        """The epochs as a pandas DataFrame, one row per epoch: ``time`` (wall clock,
        UTC, ``NaT`` when the start is unknown) as the index, then the columns of
        ``epochs.csv``."""
        import pandas as pd

        times = self.epoch_times()
        if times is None:
            index = pd.DatetimeIndex([pd.NaT] * self.features.n, tz="UTC", name="time")
        else:
            index = pd.DatetimeIndex(times, name="time").tz_localize("UTC")
        data = {k: v for k, v in self.epoch_columns().items() if k != "time"}
        return pd.DataFrame(data, index=index)


INTENSITY_FLOOR = 0.0
"""The lowest intensity (%HRR) a verdict states: ``I`` is what the workload demands, and no
workload demands less than rest. Below it, a classifier's estimate is overshoot (a fast
fall of heart rate inverted through its lag), and it would pull a bout's mean down. The
heart-rate demand feature is floored the same way in ``epochs.csv`` only: the classifiers
read it as computed (the shipped learned model was trained on it), and every epoch below
20 %HRR is rest either way."""


def floored(prediction: EpochPrediction) -> EpochPrediction:
    """``prediction`` with its intensity floored at :data:`INTENSITY_FLOOR` (NaN stays
    NaN). Labels, levels and qualifying minutes do not change: below 20 %HRR is rest."""
    with np.errstate(invalid="ignore"):
        if not (prediction.intensity < INTENSITY_FLOOR).any():
            return prediction
        intensity = np.where(prediction.intensity < INTENSITY_FLOOR, INTENSITY_FLOOR,
                             prediction.intensity)
    return replace(prediction, intensity=intensity)


def epochs_with_data(features: EpochFeatures) -> np.ndarray:
    """Per epoch, whether a stream the verdict reads an intensity from covers it: heart
    rate in the epoch itself (``hr_demand_bpm``: at least half of its seconds; ``hr_bpm``
    is read ``lag_s`` later and may reach past the end of a gap), acceleration, or a
    workload channel with a price (``pct_hrr_workload``). An epoch without is *missing*
    (SPEC: gaps are missing), whatever a classifier bridged there."""
    v = features.values
    return (np.isfinite(v["hr_demand_bpm"]) | np.isfinite(v["enmo_g"])
            | np.isfinite(v["pct_hrr_workload"]))


def without_data_missing(prediction: EpochPrediction,
                         features: EpochFeatures) -> EpochPrediction:
    """``prediction`` with every epoch without data (:func:`epochs_with_data`) missing: no
    intensity, label or source, and never qualifying. The classifiers bridge short
    heart-rate dropouts so that a dropout does not flip the labels around it (SPEC); the
    bridged minutes themselves were labelled and counted towards the dose, where the same
    minutes read without heart rate were missing (review 2026-11-25b, item 11: a watch's
    auto-pause). Here, the one place every classifier and every input goes through, a
    minute with no data becomes a break that a bout may bridge (up to 2 minutes, SPEC),
    never a qualifying minute."""
    empty = ~epochs_with_data(features)
    if not empty.any():
        return prediction
    qualifying = prediction.qualifying
    if qualifying is not None:
        qualifying = np.asarray(qualifying, dtype=bool) & ~empty
    probabilities = prediction.probabilities
    if probabilities is not None:
        probabilities = np.where(empty[:, None], np.nan, probabilities).astype(
            probabilities.dtype)
    return replace(
        prediction,
        intensity=np.where(empty, np.nan, prediction.intensity),
        labels=np.where(empty, Label.MISSING, prediction.labels).astype(np.int8),
        source=np.where(empty, SOURCE_NONE, prediction.source).astype(np.int8),
        qualifying=qualifying, probabilities=probabilities)


def no_data_error(result: SessionResult) -> InputError:
    """The refusal of a session in which no epoch has heart rate or acceleration to judge
    by (all of it missing or removed as artefacts): such a session has no verdict, and must
    not count as one (in adherence) with the class ``none``."""
    cfg = result.config.heart_rate
    if result.duration_s < 60:
        return InputError(f"the session lasts {result.duration_s:.3g} s: no minute to "
                          "analyse", source=result.source,
                          hint="a session needs at least a few minutes of heart rate or "
                          "acceleration; check that the times are seconds (--columns "
                          "time_unit=...)")
    removed = "; ".join(f"{seconds} s of heart rate removed as {reason}"
                        for reason, seconds in result.info.hr_removed.items())
    return InputError(
        "no minute has heart rate or acceleration to analyse"
        + (f" ({removed})" if removed else ""), source=result.source,
        hint=f"check that the heart-rate column is beats per minute ({cfg.valid_min_bpm:g}–"
        f"{cfg.valid_max_bpm:g}) and the times are seconds; name columns and units with "
        "--columns (hr=..., time_unit=...)")


def analyze_session(
    session: Session, config: Config | None = None, classifier: Classifier | str | None = None,
    calibration: Calibration | None = None,
) -> SessionResult:
    """Analyse one session by the definitions (docs/definitions.md), with the default
    classifier unless another is given (an instance, or anything
    :func:`~dosewatch.models.registry.get_classifier` accepts). ``calibration``: the
    participant's (see :mod:`dosewatch.calibration`): HR_max, HR_rest, fitness and
    movement mapping learned across their sessions."""
    config = config or Config()
    classifier = get_classifier(classifier)
    features, info = extract(session, config, calibration)
    prediction = without_data_missing(
        floored(classifier.predict(features, info, config)), features)
    bouts = find_bouts(prediction.intensity, prediction.labels, config, prediction.qualifying)
    start = session.provenance.start_time
    return SessionResult(
        name=session.name,
        participant=session.profile.id,
        source=session.provenance.source,
        format=session.provenance.format,
        sport=session.provenance.sport,
        start_time=None if start is None else start.isoformat(),
        duration_s=session.duration_s,
        features=features,
        info=info,
        prediction=prediction,
        bouts=bouts,
        session_class=session_class(prediction.labels),
        classifier=classifier.name,
        config=config,
        repairs=session.provenance.repairs,
    )
