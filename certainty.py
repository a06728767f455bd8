"""How sure a verdict is, and why not, in words a participant or researcher can act on.

Every analysed session gets a :class:`Certainty`: ``high``, ``medium`` or ``low``, and the
reasons that lowered it. A reason names what was missing or ambiguous and what would
settle it. The rules, weakest evidence first:

- **low**: intensity from acceleration with the placement's population cut-points (the
  participant's own mapping unknown: the same speed of movement is easy for one person and
  hard for another);
- **low** also when no epoch has data to judge by, and when intensity comes from a
  workload channel (speed, power) without heart rate and without the participant's
  calibrated fitness (the reference person's is used);
- **low** when the workload decides and its price may be wrong: a file that names no
  sport holding a pace that is a fast run or a slow ride
  (:func:`dosewatch.features.workload.run_or_ride`), or a workload read through the
  reference person's fitness as more than 100 %HRR for 10 minutes in a row or more
  (:func:`above_max_reason`: no heart rate can show more than HR_max, and no one holds
  more than their maximal aerobic effort that long, so the sport, the fitness or the
  speed is wrong for this participant); through the participant's own fitness, the same
  is a **medium** reason (the price overshoots the top of their range);
- **medium**:
  - intensity from a workload channel without heart rate, through the participant's
    calibrated (or a researcher's) fitness: heat or fatigue change what a pace costs;
  - intensity from acceleration through the participant's own mapping: a wrist or chest
    cannot see a hill, an incline or a ride (on simulated lab sessions such verdicts get
    about 8 session classes in 10 right, against 9 or more with heart rate);
  - HR_max or HR_rest is a default (no profile, no calibration, nothing in the data), so
    every level may be off by several %HRR;
  - HR_max is the participant's learned highest held rate (source ``calibration``), far
    below what their age (or the default) predicts; a researcher's value (source
    ``researcher``) is never doubted this way;
  - data cover less than half of the session's minutes;
  - the classifier's own doubts (for example heart rate rising at a rate cardiac drift
    can also explain, with no workload channel to tell them apart, or rising at the
    recorded workload almost as fast as a ramp: heat, or an unrecorded incline);
  - the session class is a near tie between two labels;
  - the longest bout is within 2 minutes of the dose;
  - the input is truncated (a file cut short, analysed for what it holds): the activity
    may have gone on, and the verdict covers only its first part;
  - heart rate is missing (a dropout too long to bridge) inside or at the edge of a bout,
    and the gap could decide the dose (the longest bout meets it if the effort went on
    through the gap, and not if it stopped) or the session class (the gap's minutes
    outnumber the lead of the most frequent label): :func:`gap_reasons`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .calibration import LOW_HR_MAX_BPM
from .config import Config
from .features.epochs import FeatureInfo
from .models.base import SOURCE_ACC, SOURCE_HR, SOURCE_NONE, SOURCE_WORKLOAD, EpochPrediction
from .spec.bouts import bout_spans
from .spec.labels import Label
from .spec.runs import runs, spans_mask

LEVELS = ("high", "medium", "low")
NEAR_TIE_FRACTION = 0.1
DOSE_MARGIN_MIN = 2.0


@dataclass(frozen=True, slots=True)
class Certainty:
    """``level`` (high, medium, low) and the ``reasons`` that lowered it."""

    level: str
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"level": self.level, "reasons": list(self.reasons)}


def assess(info: FeatureInfo, prediction: EpochPrediction, minutes: Mapping[str, float],
           longest_bout_min: float, dose_min: float, truncated: str | None = None,
           gaps: Sequence[str] = (), epoch_min: float = 1.0) -> Certainty:
    """The certainty of a session's verdict (see the module text); ``truncated``: the
    repair note saying the input was cut short, if it was; ``gaps``: the reasons of
    :func:`gap_reasons`; ``epoch_min``: the epoch length in minutes."""
    low: list[str] = []
    medium: list[str] = []
    n_acc = int((prediction.source == SOURCE_ACC).sum())
    n_known = int((prediction.source > 0).sum())
    if n_acc and n_acc >= n_known / 2 and info.acc_intensity_source != "calibration":
        low.append("intensity comes from acceleration with population cut-points for the "
                   f"{info.placement}: how hard a movement is for this participant is "
                   "unknown (analyse their sessions with heart rate in the same batch, or "
                   "give a calibration)")
    elif n_acc and n_acc >= n_known / 2:
        medium.append("intensity comes from acceleration through the participant's own "
                      "mapping, without heart rate: a wrist or chest cannot see a hill, a "
                      "treadmill's incline or a ride, and heat or fatigue change what a "
                      "movement costs (wear a heart-rate sensor)")
    n_workload = int((prediction.source == SOURCE_WORKLOAD).sum())
    if n_workload and n_workload >= n_known / 2:
        relation = info.relation
        fitness = "population" if relation is None else relation.source
        whose = {"researcher": "participant's fitness as a researcher set it",
                 "session": "fitness this session's minutes with heart rate showed"}.get(
            fitness, "participant's calibrated fitness")
        without = "without heart rate" if not info.has_hr else \
            f"heart rate covering only {n_known - n_workload} of {n_known} minutes"
        if fitness == "population":
            low.append("intensity comes from the workload (speed or power) with the "
                       f"reference person's fitness, {without}: how hard that pace is for "
                       "this participant is unknown (analyse their sessions with heart "
                       "rate in the same batch, or give a calibration)")
        else:
            medium.append("intensity comes from the workload (speed or power) through the "
                          f"{whose}, {without}: heat, fatigue or wind change the effort of "
                          "a pace, and only heart rate would show it (wear a heart-rate "
                          "sensor)")
        low.extend(info.workload_doubts)
    fitness = fitness_source(info)
    beyond = above_max_reason(prediction, fitness, epoch_min)
    if beyond is not None:
        # Through the reference person's fitness, nothing vouches for the price; through
        # the participant's own (fitted to their heart rate), the linear price overshoots
        # the top of their range: a simulated calibrated ramp reads 122 %HRR where its
        # truth peaks at 83 %, with the class and dose right.
        (low if fitness in (None, "population") else medium).append(beyond)
    if n_known == 0:
        low.append("no epoch has heart rate or acceleration to judge it by: the data are "
                   "missing, out of range or not what the columns were taken for")
    elif n_known < prediction.source.size / 2:
        medium.append(f"data cover only {100 * n_known / prediction.source.size:.0f} % of "
                      "the session's minutes")
    hp = info.hr_params
    # Judged on the value used and where it came from, never on the calibration file's
    # detail text: a researcher's value (source "researcher") is theirs to choose, and a
    # detail left from an earlier value would say nothing about the current one.
    if (hp is not None and hp.hr_max_source == "calibration" and hp.prior_max is not None
            and hp.hr_max < hp.prior_max - LOW_HR_MAX_BPM):
        medium.append(f"HR_max {hp.hr_max:.0f} bpm is the highest rate held in the "
                      "participant's sessions, well below what their age (or, without one, the "
                      "default) predicts: if none "
                      "came near their maximum, every level is overestimated (give hr_max "
                      "in the profile)")
    if hp is not None and n_known > n_acc:
        defaults = [name for name, source in (("HR_max", hp.hr_max_source),
                                              ("HR_rest", hp.hr_rest_source))
                    if source == "default"]
        if defaults:
            verb = "are defaults" if len(defaults) > 1 else "is a default"
            medium.append(f"{' and '.join(defaults)} {verb}"
                          ": levels may be off by several %HRR (give them in the profile, "
                          "or analyse several sessions of the participant together)")
    medium.extend(prediction.doubts)
    exercise = {k: v for k, v in minutes.items() if k in ("constant", "intermediate",
                                                          "accelerating")}
    total = sum(exercise.values())
    ranked = sorted(exercise.items(), key=lambda kv: -kv[1])
    if total > 0 and ranked[1][1] > 0 and \
            ranked[0][1] - ranked[1][1] <= max(1.0, NEAR_TIE_FRACTION * total):
        medium.append(f"the session class is a near tie: {ranked[0][1]:g} minutes "
                      f"{ranked[0][0]}, {ranked[1][1]:g} minutes {ranked[1][0]}")
    if abs(longest_bout_min - dose_min) <= DOSE_MARGIN_MIN:
        medium.append(f"the longest bout holds {longest_bout_min:g} qualifying minutes, "
                      f"within {DOSE_MARGIN_MIN:g} of the {dose_min:g}-minute dose")
    medium.extend(gaps)
    if truncated is not None:
        medium.append(f"the input is truncated ({truncated.split(';')[0]}): the verdict "
                      "covers what it holds, and the activity may have gone on (export it "
                      "again)")
    if low:
        return Certainty("low", tuple(low + medium))
    if medium:
        return Certainty("medium", tuple(medium))
    return Certainty("high")


ABOVE_MAX_PCT = 100.0
# Above the maximal aerobic effort a person lasts minutes: time to exhaustion at the speed
# of VO2max is 4-8 minutes (Billat et al., Med Sci Sports Exerc 1994), and the last minutes
# of a ramp test demand more than it (a real Conconi test, read through its runner's
# calibrated fitness: 7 minutes above 100 %). Held for 10 minutes, it cannot be right.
ABOVE_MAX_MIN = 10.0


def fitness_source(info: FeatureInfo) -> str | None:
    """Where the fitness that turned the workload into %HRR came from (``session``,
    ``calibration``, ``researcher``, ``population``), or None without a relation."""
    return None if info.relation is None else info.relation.source


def above_max_reason(prediction: EpochPrediction, fitness: str | None,
                     epoch_min: float = 1.0) -> str | None:
    """Why the workload's %HRR cannot be right, or None: for :data:`ABOVE_MAX_MIN`
    minutes in a row or more the workload stands for heart rate above
    :data:`ABOVE_MAX_PCT` %HRR, more than any heart rate can show (HR_max is 100 %). The
    price of the workload is wrong for this participant: not the sport it was priced as
    (a ride read as a run), a fitter person than the fitness used, or a wrong speed.
    Shorter spells say nothing: a GPS speed spike, an interval, the end of a ramp test."""
    source = np.asarray(prediction.source)
    intensity = np.asarray(prediction.intensity, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        above = (source == SOURCE_WORKLOAD) & (intensity > ABOVE_MAX_PCT)
    spans = runs(above)
    held = spans[(spans[:, 1] - spans[:, 0]) * epoch_min >= ABOVE_MAX_MIN - 1e-9]
    above = spans_mask(held, above.size)
    minutes = float(above.sum()) * epoch_min
    if minutes < ABOVE_MAX_MIN:
        return None
    whose = {"population": "the reference person's fitness",
             "session": "the fitness this session's heart rate showed",
             "researcher": "the fitness a researcher set"}.get(fitness or "",
                                                               "their calibrated fitness")
    return (f"for {minutes:g} minutes (spells of {ABOVE_MAX_MIN:g} or more) the workload "
            f"reads above {ABOVE_MAX_PCT:g} %HRR (up to {float(intensity[above].max()):.0f} "
            "%), more than any heart rate can show: "
            "its price is wrong for this participant (another sport than it was priced "
            f"as, a participant fitter than {whose} assumes, or a wrong speed), so its "
            "levels are too high (give the sport in the file when it names none; analyse "
            "their sessions with heart rate in the same batch, or give a calibration)")


def _longest(qualifying: NDArray[np.bool_], config: Config) -> int:
    """Qualifying epochs of the longest bout the SPEC's bout rule finds in ``qualifying``."""
    return max((int(qualifying[a:b].sum()) for a, b in bout_spans(qualifying, config)),
               default=0)


def _span_text(start: int, end: int, epoch_min: float) -> str:
    return f"minutes {start * epoch_min:g}–{end * epoch_min:g} of the session"


def gap_reasons(prediction: EpochPrediction, qualifying: NDArray[np.bool_],
                config: Config) -> tuple[str, ...]:
    """Why a heart-rate gap makes the verdict uncertain, if one does.

    A gap is a run of epochs without heart rate (a dropout longer than the classifier
    bridges; acceleration may stand in for it, or nothing). A gap inside or at the edge
    of a bout (within a tolerated break of it) is judged both ways: had the effort gone on
    through it (every epoch of it qualifying), and had it stopped (none qualifying). When
    the longest bout meets the dose one way and not the other, the gap decides the dose
    (a 10-minute dropout halfway through a 40-minute run leaves two bouts of 15 minutes).
    When the gap's minutes are at least the lead of the most frequent exercise label over
    the next (counting neither in the gap), it could decide the class. Epochs a workload
    channel covers through the session's relation are no gap; in a session with the
    workload alone, its own gaps are judged the same way. The loop is over gaps, a handful
    per session."""
    source = np.asarray(prediction.source)
    if (source == SOURCE_HR).any():
        # A workload channel through the session's own relation covers a dropout (the
        # definitions' level and trend for those minutes); acceleration alone does not.
        gap, missing = ~np.isin(source, (SOURCE_HR, SOURCE_WORKLOAD)), "heart rate"
    elif (source == SOURCE_WORKLOAD).any():
        gap, missing = source == SOURCE_NONE, "the speed or power"
    else:
        return ()
    qualifying = np.asarray(qualifying, dtype=bool)
    epoch_min = config.epoch_min
    dose = int(np.ceil(config.bouts.dose_min / epoch_min - 1e-9))
    reach = int(np.floor(config.bouts.max_break_min / epoch_min + 1e-9))
    spans = bout_spans(qualifying, config)
    labels = np.asarray(prediction.labels)
    reasons: list[str] = []
    near: list[tuple[int, int]] = []
    for start, end in runs(gap).tolist():
        if not any(start <= b + reach and end >= a - reach for a, b in spans):
            continue
        near.append((start, end))
        went_on, stopped = qualifying.copy(), qualifying.copy()
        went_on[start:end], stopped[start:end] = True, False
        best, worst = _longest(went_on, config), _longest(stopped, config)
        where = _span_text(start, end, epoch_min)
        minutes = (end - start) * epoch_min
        if (best >= dose) != (worst >= dose):
            reasons.append(
                f"{missing} is missing for {minutes:g} minutes ({where}) inside or at the "
                f"edge of a bout: had the effort gone on through the gap, the longest bout "
                f"would hold {best * epoch_min:g} qualifying minutes, had it stopped "
                f"{worst * epoch_min:g}, so the gap decides the "
                f"{config.bouts.dose_min:g}-minute dose (check the sensor's contact, "
                "battery or signal)")
            continue
        outside = np.ones(labels.size, dtype=bool)
        outside[start:end] = False
        counts = sorted(((int(np.sum(outside & (labels == label))), label.name.lower())
                         for label in (Label.CONSTANT, Label.INTERMEDIATE,
                                       Label.ACCELERATING)), reverse=True)
        (first, first_name), (second, second_name) = counts[0], counts[1]
        if first > 0 and end - start >= first - second:
            reasons.append(
                f"{missing} is missing for {minutes:g} minutes ({where}) inside or at the "
                f"edge of a bout: outside the gap, {first * epoch_min:g} minutes are "
                f"{first_name} and {second * epoch_min:g} {second_name}, so what the gap "
                "held could decide the session class")
    if not reasons and len(near) > 1:
        went_on, stopped = qualifying.copy(), qualifying.copy()
        for start, end in near:
            went_on[start:end], stopped[start:end] = True, False
        best, worst = _longest(went_on, config), _longest(stopped, config)
        if (best >= dose) != (worst >= dose):
            total = sum(end - start for start, end in near) * epoch_min
            where = ", ".join(_span_text(a, b, epoch_min).removesuffix(" of the session")
                              for a, b in near)
            reasons.append(
                f"{missing} is missing for {total:g} minutes in {len(near)} gaps in or at "
                f"the edges of bouts ({where} of the session): had the effort gone on "
                f"through them, the longest bout would hold {best * epoch_min:g} qualifying "
                f"minutes, had it stopped {worst * epoch_min:g}, so the gaps decide the "
                f"{config.bouts.dose_min:g}-minute dose")
    return tuple(reasons)
