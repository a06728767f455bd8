"""Per-participant calibration, learned across their sessions and kept as a readable file.

One session alone often cannot say who the person is: a run recorded from the start line
has no resting heart rate in it, HR_max comes from age or a default, and an
acceleration-only session has only population cut-points to turn movement into effort.
Several sessions of the same participant can say much more:

- **HR_max**: the highest heart rate they held for 30 s or more in any session
  (artefacts removed). When it is well below what their age (or the default) predicts,
  the file says so: a participant whose sessions were all easy never came near their
  maximum, and then every %HRR is overestimated (on the simulator, where studies hold
  hard sessions too, this estimate beats age and the default by far: see
  ``models/MODEL_CARD.md``);
- **HR_rest**: the median of the real resting stretches found in their sessions;
- **fitness**: how their heart rate follows the workload (``k``, %HRR per unit of the
  reference intensity; see :mod:`dosewatch.features.workload`), from their sessions with
  heart rate and a speed or power channel;
- **movement**: how their acceleration (ENMO) maps to %HRR at each placement, from their
  sessions with both heart rate and acceleration, applied to their sessions without heart
  rate;
- **the pace they run from** (``runs_from_mps``): from their sessions with heart rate and
  speed but no cadence, where heart rate told a jog from a brisk walk at 1.5-2.2 m/s;
  applied to their sessions with speed alone (a watch without its strap), which nothing
  else could tell.

Each analysed session leaves its :class:`Evidence` (small: a few numbers per minute);
:func:`learn` turns a participant's evidence into a :class:`Calibration`, written as
``<out>/calibration/<participant>.toml`` (:func:`calibration_toml`). The next run reads
it again, and a researcher may edit it: a value whose ``source`` is set to
``"researcher"`` is kept as written, never relearned. Every session's ``summary.json``
says which values it used and where they came from.

Beside it, ``evidence/<participant>.json`` keeps the evidence the calibration was learned
from, one entry per session: which input and session it was, the input's fingerprint, the
configuration's, and the activity's identity (start and content digest, see
:mod:`dosewatch.duplicates`). A later run that writes to the same calibration folder,
whatever its output folder, learns from these sessions as well as from its own, so the
calibration pools every session of the participant, each activity counted once
(:func:`read_evidence`, :func:`evidence_json`).
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .errors import ProfileError, plain_reason, quote, sanitise
from .session import PLACEMENTS, PROFILE_LIMITS

RESEARCHER = "researcher"
LEARNED = "sessions"
SOURCES = (LEARNED, RESEARCHER)
"""What a calibration file's ``source`` may say (read in any case)."""
FITNESS_LIMITS = (0.05, 20.0)
"""Possible fitness factors k (%HRR per unit of reference intensity: about 1 for most
people); beyond them a value is a typing error."""
RUNS_FROM_LIMITS = (1.0, 3.0)
"""Possible paces (m/s) from which a person runs rather than walks; the gait of paces from
1.5 to 2.2 m/s is what a session without cadence cannot tell (see
:func:`dosewatch.features.workload.resolve_gait`)."""
VALUE_LIMITS = {"hr_max": PROFILE_LIMITS["hr_max"], "hr_rest": PROFILE_LIMITS["hr_rest"],
                "fitness_k": FITNESS_LIMITS, "runs_from_mps": RUNS_FROM_LIMITS}
VALUE_UNITS = {"hr_max": " bpm", "hr_rest": " bpm", "fitness_k": "", "runs_from_mps": " m/s"}
_EXAMPLES = {"hr_max": 184.0, "hr_rest": 55.0, "fitness_k": 1.0, "runs_from_mps": 2.0}
TOP_KEYS = ("participant", "sessions", "hr_max", "hr_rest", "fitness_k", "runs_from_mps",
            "acceleration")
VALUE_KEYS = ("value", "source", "detail")
MAP_KEYS = ("enmo_g", "pct_hrr", "epochs", "sessions", "source", "cadence_spm",
            "cadence_pct_hrr", "enmo_sd", "cadence_sd")
# The acceleration mapping: ENMO quantiles at which %HRR is read, and how many epochs a
# placement needs before its mapping is used.
MAP_QUANTILES = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97)
MIN_MAP_EPOCHS = 30
MIN_MAP_EXERCISE_EPOCHS = 10
STEPPING_FRACTION = 2 / 3  # an epoch at least this much stepping is walking or running
MIN_STEP_ENMO_G = 0.02
"""...and moves the body at least this much: the slowest walk's footfalls do, while the
rhythm of pedalling (the trunk bobbing at twice the pedal rate, in the step band) and a
few steps about a room do not."""
LOW_HR_MAX_BPM = 15.0  # a learned HR_max this far below the prediction gets a caution
LOW_HR_MAX_CAUTION = "below what age or the default predicts"
"""The words of that caution in the value's detail (for the reader of the file; the
verdict's certainty judges the value itself, see :mod:`dosewatch.certainty`)."""


@dataclass(frozen=True)
class Value:
    """One calibrated number and where it came from (``sessions``: learned;
    ``researcher``: written by hand, never relearned), with a line saying how."""

    value: float
    source: str = LEARNED
    detail: str = ""


@dataclass(frozen=True)
class AccMap:
    """Acceleration to %HRR for one placement: piecewise linear through the knots
    (``enmo_g`` rising, ``pct_hrr`` not falling), extended flat beyond the ends.

    When it also holds cadence knots (``cadence_spm`` rising, ``cadence_pct_hrr`` not
    falling: how this person's step rate maps to %HRR, learned like the ENMO knots), an
    epoch spent stepping takes the mean of the two estimates weighted by how closely each
    followed the person's heart rate (``enmo_sd``, ``cadence_sd``: robust SDs of their
    residuals, %HRR). Cadence is the steadier of the two: a runner's step rate barely
    wanders from minute to minute while the impact and arm swing that ENMO adds up do,
    and a ramp's few steps a minute faster show in it.
    """

    enmo_g: tuple[float, ...]
    pct_hrr: tuple[float, ...]
    epochs: int = 0
    sessions: int = 0
    source: str = LEARNED
    cadence_spm: tuple[float, ...] = ()
    cadence_pct_hrr: tuple[float, ...] = ()
    enmo_sd: float = 0.0
    cadence_sd: float = 0.0

    def intensity(self, enmo_g: NDArray[np.float64],
                  cadence_spm: NDArray[np.float64] | None = None,
                  step_fraction: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """%HRR of each epoch's ENMO; with cadence knots, ``cadence_spm`` and
        ``step_fraction``, stepping epochs combine it with their cadence's."""
        from_enmo = np.interp(enmo_g, self.enmo_g, self.pct_hrr)
        if cadence_spm is None or step_fraction is None or len(self.cadence_spm) < 2 \
                or self.enmo_sd <= 0 or self.cadence_sd <= 0:
            return from_enmo
        cadence = np.nan_to_num(np.asarray(cadence_spm, dtype=np.float64))
        stepping = _stepping(np.asarray(enmo_g, dtype=np.float64), step_fraction) & (
            cadence > 0)
        from_cadence = np.interp(cadence, self.cadence_spm, self.cadence_pct_hrr)
        we, wc = self.enmo_sd ** -2, self.cadence_sd ** -2
        both = (we * from_enmo + wc * from_cadence) / (we + wc)
        return np.where(stepping, both, from_enmo)


@dataclass(frozen=True)
class Calibration:
    """What is known of one participant across their sessions (see the module text)."""

    participant: str
    sessions: int = 0
    hr_max: Value | None = None
    hr_rest: Value | None = None
    fitness_k: Value | None = None
    acceleration: Mapping[str, AccMap] = field(default_factory=dict)
    runs_from_mps: Value | None = None

    def acc_map(self, placement: str) -> AccMap | None:
        return self.acceleration.get(placement)

    @property
    def learned(self) -> bool:
        """Whether it holds anything (acceleration-only sessions teach nothing)."""
        return (self.hr_max, self.hr_rest, self.fitness_k, self.runs_from_mps) != (
            None, None, None, None) or bool(self.acceleration)

    @property
    def digest(self) -> str:
        """A short fingerprint of the values (for the batch's resume check)."""
        import hashlib

        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Evidence:
    """What one session tells about its participant. It does not depend on the
    calibration the session was analysed with (heart rates in bpm, not %HRR), so learning
    from it gives the same calibration however often a batch is run again.

    Attributes:
        participant, session: whose, and which.
        hr_held_max: the highest heart rate held for 30 s (artefacts removed), bpm.
        hr_max_prior: what HR_max would be without a calibration (profile, age or
            default), bpm.
        hr_max_profile: the profile's HR_max, when it gave one (a learned calibration
            value does not override it).
        hr_max_given: the profile's HR_max when a person gave it, not the input file (no
            calibration value, not even a researcher's, overrides it).
        hr_rest_stretch: the resting heart rate of a real resting stretch, if any, bpm.
        hr_rest_session: the HR_rest a learned calibration value does not override (the
            profile's, a resting stretch in the session, or the file's own), if any;
            ``hr_rest_default`` otherwise applies.
        hr_rest_given: the profile's HR_rest when a person gave it (no calibration value
            overrides it).
        relation_bpm, relation_workload, relation_minutes: the epochs the session's
            heart-rate–workload relation is fitted on (see
            :func:`dosewatch.features.workload.settled_epochs`): the heart-rate demand in
            bpm, the workload as reference intensity, and minutes of movement. Empty
            without both heart rate and a workload.
        placement: where the accelerometer was worn.
        demand_bpm, enmo_g: per exercise-or-rest epoch with both heart rate and
            acceleration: the heart-rate demand and the ENMO.
        step_fraction, cadence_spm: per epoch of ``enmo_g``, the share of it spent
            stepping and the median step rate while stepping (empty in evidence written
            before they were kept: then every epoch counts as stepping, and no cadence
            is learned).
        run_paces_mps, walk_paces_mps: the speeds of the moving epochs whose gait speed
            alone could not tell (no cadence, 1.5-2.2 m/s) that heart rate called a run
            or a walk (:func:`dosewatch.features.workload.resolve_gait`).
    """

    participant: str | None
    session: str
    hr_held_max: float | None = None
    hr_max_prior: float | None = None
    hr_max_profile: float | None = None
    hr_rest_stretch: float | None = None
    hr_rest_session: float | None = None
    hr_rest_default: float = 60.0
    hr_max_given: float | None = None
    hr_rest_given: float | None = None
    relation_bpm: tuple[float, ...] = ()
    relation_workload: tuple[float, ...] = ()
    relation_minutes: tuple[float, ...] = ()
    placement: str | None = None
    demand_bpm: tuple[float, ...] = ()
    enmo_g: tuple[float, ...] = ()
    step_fraction: tuple[float, ...] = ()
    cadence_spm: tuple[float, ...] = ()
    run_paces_mps: tuple[float, ...] = ()
    walk_paces_mps: tuple[float, ...] = ()

    def karvonen(self, hr_max: Value | None, hr_rest: Value | None) -> tuple[float, float]:
        """HR_rest and HR_max the session is analysed with under a calibration holding
        ``hr_max`` and ``hr_rest`` (None: not calibrated), in the definitions' order (as
        :func:`dosewatch.features.hr.resolve_params` resolves them): a researcher's value
        gives way only to the profile a person gave (and, for HR_rest, to a resting
        stretch in the session), a learned one also to the input file's own values."""
        if hr_max is not None and hr_max.source == RESEARCHER:
            top = self.hr_max_given if self.hr_max_given is not None else hr_max.value
        else:
            top = next(v for v in (self.hr_max_profile, None if hr_max is None else
                                   hr_max.value, self.hr_max_prior, 190.0) if v is not None)
        if self.hr_held_max is not None:
            top = max(top, self.hr_held_max)
        if hr_rest is not None and hr_rest.source == RESEARCHER:
            rest = next(v for v in (self.hr_rest_given, self.hr_rest_stretch, hr_rest.value)
                        if v is not None)
        else:
            rest = next(v for v in (self.hr_rest_session, None if hr_rest is None else
                                    hr_rest.value, self.hr_rest_default) if v is not None)
        return rest, top

    @property
    def teaches(self) -> bool:
        """Whether the session holds anything to learn from (heart rate held, a resting
        stretch, a heart-rate–workload relation, heart rate beside acceleration, paces
        heart rate called runs or walks): a session without heart rate holds only what
        the profile predicts, and is analysed with the calibration, not its source."""
        return (self.hr_held_max is not None or self.hr_rest_stretch is not None
                or bool(self.relation_bpm or self.demand_bpm or self.run_paces_mps
                        or self.walk_paces_mps))

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Evidence:
        values = dict(data)
        if "hr_max_given" not in values:  # written before device values were told apart
            values["hr_max_given"] = values.get("hr_max_profile")
            stretch = values.get("hr_rest_stretch")
            own = values.get("hr_rest_session")
            values["hr_rest_given"] = own if own is not None and own != stretch else None
        for key in ("demand_bpm", "enmo_g", "step_fraction", "cadence_spm", "relation_bpm",
                    "relation_workload", "relation_minutes", "run_paces_mps",
                    "walk_paces_mps"):
            values[key] = tuple(float(x) for x in values.get(key) or ())  # type: ignore[union-attr]
        return cls(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- learning


def _learned_or_kept(old: Value | None, new: Value | None) -> Value | None:
    """A researcher's value is kept; otherwise the newly learned one (or the old one when
    nothing new was learned)."""
    if old is not None and old.source == RESEARCHER:
        return old
    return new if new is not None else old


def learn(participant: str, evidence: Iterable[Evidence],
          previous: Calibration | None = None) -> Calibration:
    """The participant's calibration from their sessions' evidence (see the module
    text), keeping every value a researcher set in ``previous``."""
    evidence = [e for e in evidence]
    held = [(e.hr_held_max, e.session) for e in evidence if e.hr_held_max is not None]
    rests = [e.hr_rest_stretch for e in evidence if e.hr_rest_stretch is not None]
    hr_max = None
    if held:
        top, where = max(held)
        priors = [e.hr_max_prior for e in evidence if e.hr_max_prior is not None]
        prior = min(priors) if priors else None
        text = f"highest rate held 30 s in {len(held)} sessions: {top:.0f} bpm (in {where})"
        if prior is not None and top < prior - LOW_HR_MAX_BPM:
            text += (f"; {prior - top:.0f} bpm {LOW_HR_MAX_CAUTION}: if none of these "
                     "sessions came near the maximum, %HRR is overestimated")
        hr_max = Value(float(round(top, 1)), LEARNED, text)
    hr_rest = None
    if rests:
        hr_rest = Value(round(float(np.median(rests)), 1), LEARNED,
                        f"median of the resting stretches of {len(rests)} sessions")
    # A value no profile may hold is not learned either (a study's configuration may let
    # heart rate up to 300 bpm through): the file must read back.
    hr_max, hr_rest = (v if v is None or _possible(name, v.value) else None
                       for name, v in (("hr_max", hr_max), ("hr_rest", hr_rest)))
    old = previous or Calibration(participant)
    hr_max = _learned_or_kept(old.hr_max, hr_max)
    hr_rest = _learned_or_kept(old.hr_rest, hr_rest)
    if hr_max is not None and hr_rest is not None and hr_rest.value >= hr_max.value:
        # The file would not read back: a learned value gives way to a researcher's
        # (two learned ones hardly contradict: a resting stretch is flat and low, the
        # highest held rate no lower; if they do, HR_max is left to the other sources).
        if hr_max.source != RESEARCHER:
            hr_max = None
        else:
            hr_rest = None
    fitness = _fitness(evidence, hr_max, hr_rest)
    maps = dict(old.acceleration) if previous else {}
    for placement in sorted({e.placement for e in evidence if e.placement}):
        kept = maps.get(placement)
        if kept is not None and kept.source == RESEARCHER:
            continue
        learned = _acc_map([e for e in evidence if e.placement == placement],
                           hr_max, hr_rest)
        if learned is not None:
            maps[placement] = learned
    if fitness is not None and not _possible("fitness_k", fitness.value):
        fitness = None
    return Calibration(participant=participant, sessions=sum(e.teaches for e in evidence),
                       hr_max=hr_max,
                       hr_rest=hr_rest, fitness_k=_learned_or_kept(old.fitness_k, fitness),
                       acceleration=maps,
                       runs_from_mps=_learned_or_kept(old.runs_from_mps, _runs_from(evidence)))


def _runs_from(evidence: list[Evidence]) -> Value | None:
    """The pace from which the participant runs: the threshold that best separates the
    paces their heart rate called walks from those it called runs, in their sessions with
    heart rate and speed but no cadence (:func:`dosewatch.features.workload.resolve_gait`,
    :func:`dosewatch.relation.runs_from`). None without a pace called a run."""
    walks = np.concatenate([np.asarray(e.walk_paces_mps, dtype=np.float64) for e in evidence]
                           + [np.zeros(0)])
    runs = np.concatenate([np.asarray(e.run_paces_mps, dtype=np.float64) for e in evidence]
                          + [np.zeros(0)])
    from .relation import runs_from

    best = runs_from(walks, runs)
    if best is None:
        return None
    sessions = sum(1 for e in evidence if e.run_paces_mps or e.walk_paces_mps)
    return Value(round(best, 2), LEARNED,
                 f"from {runs.size} epochs run and {walks.size} walked at 1.5-2.2 m/s in "
                 f"{sessions} sessions with heart rate and no cadence")


def _fitness(evidence: list[Evidence], hr_max: Value | None,
             hr_rest: Value | None) -> Value | None:
    """The fitness factor ``k``: each session's heart-rate–workload relation fitted again
    on its %HRR under this calibration's HR_rest and HR_max (``k`` is %HRR per unit of
    workload, so it depends on them), averaged with the epochs each fit used as weights."""
    from .relation import fit_relation

    ks, ns = [], []
    for e in evidence:
        if not e.relation_bpm:
            continue
        rest, top = e.karvonen(hr_max, hr_rest)
        pct = 100.0 * (np.asarray(e.relation_bpm) - rest) / max(top - rest, 1.0)
        fitted = fit_relation(pct, np.asarray(e.relation_workload),
                              np.asarray(e.relation_minutes))
        if fitted is not None:
            ks.append(fitted.k)
            ns.append(fitted.n)
    if not ks:
        return None
    return Value(round(float(np.average(ks, weights=ns)), 3), LEARNED,
                 f"from {len(ks)} sessions with heart rate and a workload")


def _acc_map(evidence: list[Evidence], hr_max: Value | None,
             hr_rest: Value | None) -> AccMap | None:
    """ENMO (and cadence) -> %HRR knots for one placement, from the epochs with both
    heart rate and acceleration. None when there are too few epochs, or too few of them
    stepping at exercise intensity.

    - Each session's heart-rate demand (heart rate with its lag inverted, so the minutes
      after a change of pace read as the new pace) becomes %HRR under the HR_rest and
      HR_max that session is analysed with under this calibration
      (:meth:`Evidence.karvonen`): a profile's HR_rest counts as well as a learned one.
      A session whose HR_rest would only be the default is left out: its %HRR says too
      little.
    - Only *stepping* epochs (walking, running) place the knots: ENMO measures how the
      body moves when it carries itself, not the effort of a ride or of a recovery
      sitting down, where heart rate is high and the wrist or chest barely moves (one
      ride among a participant's sessions otherwise maps stillness to 80 %HRR). Stillness
      is anchored at 0 g, 0 %HRR: HR_rest is by definition the heart rate at rest.
    - Knots (:func:`_knots`): the median %HRR in quantile bins, made non-decreasing, and
      beyond the fastest movement seen a continued rise.
    - Cadence gets knots of its own the same way, when the evidence has it, and each
      map's robust residual SD weighs the two (:class:`AccMap`).
    """
    pcts, enmos, steps, cads = [], [], [], []
    for e in evidence:
        if not e.enmo_g or (e.hr_rest_session is None and hr_rest is None):
            continue
        rest, top = e.karvonen(hr_max, hr_rest)
        n = len(e.enmo_g)
        pcts.append(100.0 * (np.asarray(e.demand_bpm, float) - rest) / max(top - rest, 1.0))
        enmos.append(np.asarray(e.enmo_g, float))
        steps.append(np.asarray(e.step_fraction, float) if len(e.step_fraction) == n
                     else np.ones(n))
        cads.append(np.asarray(e.cadence_spm, float) if len(e.cadence_spm) == n
                    else np.full(n, np.nan))
    if not enmos:
        return None
    pct, enmo = np.concatenate(pcts), np.concatenate(enmos)
    step, cadence = np.concatenate(steps), np.concatenate(cads)
    ok = np.isfinite(pct) & np.isfinite(enmo)
    stepping = ok & _stepping(enmo, step)
    if int(ok.sum()) < MIN_MAP_EPOCHS or \
            int((stepping & (pct >= 20.0)).sum()) < MIN_MAP_EXERCISE_EPOCHS:
        return None
    knots = _knots(enmo[stepping], pct[stepping], anchor=(0.0, 0.0))
    if knots is None:
        return None
    x, y = knots
    result = AccMap(tuple(np.round(x, 4)), tuple(np.round(y, 1)),
                    epochs=int(ok.sum()), sessions=len(pcts))
    with_cadence = stepping & (np.nan_to_num(cadence) > 0)
    if int((with_cadence & (pct >= 20.0)).sum()) < MIN_MAP_EXERCISE_EPOCHS:
        return result
    cad_knots = _knots(cadence[with_cadence], pct[with_cadence])
    if cad_knots is None:
        return result
    cx, cy = cad_knots
    target = pct[with_cadence]
    enmo_sd = _robust_sd(target - np.interp(enmo[with_cadence], x, y))
    cadence_sd = _robust_sd(target - np.interp(cadence[with_cadence], cx, cy))
    return replace(result, cadence_spm=tuple(np.round(cx, 2)),
                   cadence_pct_hrr=tuple(np.round(cy, 1)),
                   enmo_sd=round(enmo_sd, 2), cadence_sd=round(cadence_sd, 2))


def _stepping(enmo_g: NDArray[np.float64], step_fraction: NDArray[np.float64]
              ) -> NDArray[np.bool_]:
    """Epochs of walking or running: stepping most of the time (:data:`STEPPING_FRACTION`)
    with the body moving as steps move it (:data:`MIN_STEP_ENMO_G`)."""
    with np.errstate(invalid="ignore"):
        return (np.nan_to_num(step_fraction) >= STEPPING_FRACTION) & (
            np.nan_to_num(enmo_g) >= MIN_STEP_ENMO_G)


def _robust_sd(residuals: NDArray[np.float64]) -> float:
    """1.4826 × the median absolute deviation (the SD of normal residuals), at least 1."""
    mad = float(np.median(np.abs(residuals - np.median(residuals))))
    return max(1.0, 1.4826 * mad)


def _knots(x_all: NDArray[np.float64], y_all: NDArray[np.float64],
           anchor: tuple[float, float] | None = None
           ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Knots of a non-decreasing map from ``x_all`` to %HRR ``y_all``: the median in
    quantile bins of ``x_all`` (:data:`MAP_QUANTILES`), with ``anchor`` as a first knot,
    made non-decreasing by pooling adjacent bins that fall (isotonic regression, so one
    noisy bin does not lift all above it). Beyond the largest ``x`` seen, the map keeps
    rising with the slope of a line fitted to the upper half of the points (a ramp that
    goes faster than any of the participant's other sessions is not capped at their
    hardest bin), up to 100 %HRR; without an anchor, below the smallest ``x`` seen it
    falls with the lower half's slope (a stroll slower than any walk in the sessions is
    easier than that walk, not as hard), down to 0 %HRR."""
    bins = len(MAP_QUANTILES)
    edges = np.quantile(x_all, np.linspace(0.0, 1.0, bins + 1))
    index = np.clip(np.searchsorted(edges, x_all, side="right") - 1, 0, bins - 1)
    xs, ys, ws = ([anchor[0]], [anchor[1]], [1.0]) if anchor else ([], [], [])
    for b in range(bins):
        inside = index == b
        if inside.sum() >= 3:
            xs.append(float(np.median(x_all[inside])))
            ys.append(float(np.clip(np.median(y_all[inside]), 0.0, 100.0)))
            ws.append(float(inside.sum()))
    order = np.argsort(xs, kind="stable")
    x = np.asarray(xs)[order]
    y = _isotonic(np.asarray(ys)[order], np.asarray(ws)[order])
    keep = np.concatenate([[True], np.diff(x) > 1e-6]) if x.size else np.zeros(0, bool)
    x, y = x[keep], y[keep]
    if x.size < 2:
        return None
    upper = x_all >= np.median(x_all)
    slope = _slope(x_all[upper], y_all[upper])
    if slope > 0 and y[-1] < 100.0:
        x, y = np.append(x, x[-1] + (100.0 - y[-1]) / slope), np.append(y, 100.0)
    if anchor is None:  # and below the slowest, it falls with the lower half's slope
        slope = _slope(x_all[~upper], y_all[~upper])
        if slope > 0 and y[0] > 0.0:
            x0 = max(0.0, x[0] - y[0] / slope)
            if x0 < x[0] - 1e-6:
                x, y = np.insert(x, 0, x0), np.insert(y, 0, y[0] - slope * (x[0] - x0))
    return x, y


def _slope(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Least-squares slope of ``y`` on ``x``, 0 when it falls or cannot be fitted."""
    if x.size < 5 or np.ptp(x) <= 0:
        return 0.0
    return max(0.0, float(np.polyfit(x, y, 1)[0]))


def _isotonic(y: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """The non-decreasing sequence nearest to ``y`` in weighted least squares (pool
    adjacent violators; a handful of knots, so a short loop)."""
    blocks: list[list[float]] = []  # [weighted mean, weight, count]
    for value, weight in zip(y.tolist(), w.tolist(), strict=True):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([np.full(int(n), v) for v, _, n in blocks])


# --------------------------------------------------------------------------- files


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def calibration_toml(cal: Calibration) -> str:
    """The calibration as a commented TOML file a researcher can read and edit."""
    lines = [
        f"# dosewatch calibration of participant {cal.participant}, learned from "
        f"{cal.sessions} sessions.",
        f"# What each of them showed is kept in {EVIDENCE_DIR}/"
        f"{calibration_file(Path('.'), cal.participant).stem}.json: every run that writes",
        "# here learns from those sessions too (as long as their inputs are unchanged).",
        "# To override a value, edit it and set its source to \"researcher\": dosewatch",
        "# then keeps it as written, and each session says it used a researcher's value.",
        "# Delete a section to have it learned again. Values are checked as a profile's",
        "# are (hr_max {}-{} bpm, hr_rest {}-{} bpm); a key dosewatch does not know is".format(
            *VALUE_LIMITS["hr_max"], *VALUE_LIMITS["hr_rest"]),
        "# refused. Comments are not kept when the file is rewritten: write notes in detail.",
        f"participant = {_toml_string(cal.participant)}",
        f"sessions = {cal.sessions}",
    ]
    for name, value, what in (("hr_max", cal.hr_max, "bpm"), ("hr_rest", cal.hr_rest, "bpm"),
                              ("fitness_k", cal.fitness_k,
                               "%HRR per unit of reference intensity"),
                              ("runs_from_mps", cal.runs_from_mps,
                               "m/s: the pace from which they run, not walk")):
        if value is None:
            continue
        lines += ["", f"[{name}]  # {what}", f"value = {value.value!r}",
                  f"source = {_toml_string(value.source)}",
                  f"detail = {_toml_string(value.detail)}"]
    for placement, m in sorted(cal.acceleration.items()):
        lines += ["", f"[acceleration.{placement}]  # ENMO (g) to %HRR, piecewise linear",
                  f"enmo_g = [{', '.join(repr(float(x)) for x in m.enmo_g)}]",
                  f"pct_hrr = [{', '.join(repr(float(y)) for y in m.pct_hrr)}]",
                  f"epochs = {m.epochs}", f"sessions = {m.sessions}",
                  f"source = {_toml_string(m.source)}"]
        if len(m.cadence_spm) >= 2:
            ys = m.cadence_pct_hrr
            lines += ["# steps a minute to %HRR while stepping, and how closely each map",
                      "# followed heart rate (robust SD of its residuals, %HRR)",
                      f"cadence_spm = [{', '.join(repr(float(x)) for x in m.cadence_spm)}]",
                      f"cadence_pct_hrr = [{', '.join(repr(float(y)) for y in ys)}]",
                      f"enmo_sd = {float(m.enmo_sd)!r}", f"cadence_sd = {float(m.cadence_sd)!r}"]
    return "\n".join(lines) + "\n"


def _unknown(key: str, known: Iterable[str], where: str, section: bool,
             source: str) -> ProfileError:
    """A key the calibration file may not hold: named, with the nearest valid name. It is
    refused, not dropped: the file is rewritten when the calibration changes, and a
    researcher's misspelt section would then be lost without a word."""
    known = list(known)
    shown = f"[{where}{key}]" if section else f"'{key}'" + (f" in [{where.rstrip('.')}]"
                                                            if where else "")
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    names = ", ".join(known)
    nearest = (f"[{where}{close[0]}]" if section else f"'{close[0]}'") if close else ""
    hint = (f"did you mean {nearest}? Rename it" if close else "remove it") + \
        f" (known here: {names})"
    what = "section" if section else "key"
    return ProfileError(f"unknown {what} {sanitise(shown)} in the calibration file",
                        source=source, hint=hint)


def _check_keys(table: Mapping[str, object], known: Iterable[str], where: str,
                source: str) -> None:
    known = tuple(known)
    for key, item in table.items():
        if key not in known:
            raise _unknown(key, known, where, isinstance(item, dict), source)


def _source(data: Mapping[str, object], where: str, source: str) -> str:
    """A value's ``source``, read case-insensitively (a section without one was written
    by hand: the researcher's)."""
    raw = data.get("source", RESEARCHER)
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text not in SOURCES:
        shown = quote(raw) if isinstance(raw, str) else sanitise(repr(raw))
        raise ProfileError(
            f"[{where}] source = {shown} is not one of {', '.join(SOURCES)}", source=source,
            hint=f'write source = "{RESEARCHER}" to keep your value as written, or '
            f'source = "{LEARNED}" to have it learned again from the sessions')
    return text


def _number(data: Mapping[str, object], key: str, where: str, source: str) -> float:
    """A finite number from a section (an integer is a number too; text is not)."""
    if key not in data:
        raise ProfileError(f"[{where}] has no {key}", source=source,
                           hint=f"add a line {key} = <number>, or delete the section to "
                           "have it learned again")
    raw = data[key]
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        shown = f"the text {quote(raw)}" if isinstance(raw, str) else sanitise(repr(raw))
        example = _EXAMPLES.get(where, 1.0)
        if isinstance(raw, str):
            try:
                parsed = float(raw.strip())
            except ValueError:
                parsed = math.nan
            example = parsed if math.isfinite(parsed) else example
        raise ProfileError(f"[{where}] {key} must be a number, got {shown}", source=source,
                           hint=f"write it without quotes, e.g. {key} = {example!r}")
    if not math.isfinite(raw):
        raise ProfileError(f"[{where}] {key} = {raw!r} is not a finite number",
                           source=source, hint=f"write a number, e.g. {key} = "
                           f"{_EXAMPLES.get(where, 1.0)!r}")
    return float(raw)


def _possible(name: str, value: float) -> bool:
    lo, hi = VALUE_LIMITS[name]
    return lo <= value <= hi


def _value(data: object, name: str, source: str) -> Value | None:
    """One ``[hr_max]``, ``[hr_rest]``, ``[fitness_k]`` or ``[runs_from_mps]`` section,
    checked as a profile's value is (:data:`VALUE_LIMITS`)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ProfileError(f"{name} must be a section [{name}] with a value, got "
                           f"{sanitise(repr(data))}", source=source,
                           hint=f"write [{name}] on a line of its own, then value = "
                           f"{_EXAMPLES[name]!r} and source = \"{RESEARCHER}\"")
    _check_keys(data, VALUE_KEYS, f"{name}.", source)
    number = _number(data, "value", name, source)
    lo, hi = VALUE_LIMITS[name]
    if not _possible(name, number):
        raise ProfileError(f"[{name}] value = {number:g} is not possible (expected "
                           f"{lo:g}–{hi:g}{VALUE_UNITS[name]})", source=source,
                           hint="correct the value, or delete the section to have it learned "
                           "again from the sessions")
    detail = data.get("detail", "")
    if not isinstance(detail, str):
        raise ProfileError(f"[{name}] detail must be text", source=source,
                           hint='quote it, e.g. detail = "lab test 2026-09-01"')
    return Value(number, _source(data, name, source), detail)


def _cadence_knots(m: Mapping[str, object], placement: str, source: str
                   ) -> tuple[tuple[float, ...], tuple[float, ...], float, float]:
    """The optional cadence part of an ``[acceleration.<placement>]`` section."""
    if "cadence_spm" not in m and "cadence_pct_hrr" not in m:
        return (), (), 0.0, 0.0
    try:
        x = tuple(float(v) for v in m["cadence_spm"])  # type: ignore[union-attr]
        y = tuple(float(v) for v in m["cadence_pct_hrr"])  # type: ignore[union-attr]
        sds = (float(m.get("enmo_sd", 0.0)), float(m.get("cadence_sd", 0.0)))  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        raise ProfileError(f"[acceleration.{placement}] needs cadence_spm and "
                           "cadence_pct_hrr lists, and numbers enmo_sd and cadence_sd",
                           source=source, hint="or delete the cadence lines") from None
    if len(x) != len(y) or len(x) < 2 or any(b <= a for a, b in pairwise(x)) \
            or not all(math.isfinite(v) and v >= 0 for v in sds):
        raise ProfileError(f"[acceleration.{placement}]: cadence_spm must rise, with one "
                           "cadence_pct_hrr each, and the SDs must be numbers >= 0",
                           source=source, hint="or delete the cadence lines")
    return x, y, *sds


def _acc_maps(data: object, source: str) -> dict[str, AccMap]:
    """The ``[acceleration.<placement>]`` sections."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProfileError("acceleration must hold [acceleration.<placement>] sections",
                           source=source, hint="or delete it")
    maps = {}
    for placement, m in data.items():
        if placement not in PLACEMENTS:
            raise _unknown(placement, PLACEMENTS, "acceleration.", True, source)
        if not isinstance(m, dict):
            raise ProfileError(f"acceleration.{placement} must be a section", source=source,
                               hint="or delete it")
        _check_keys(m, MAP_KEYS, f"acceleration.{placement}.", source)
        try:
            x = tuple(float(v) for v in m["enmo_g"])
            y = tuple(float(v) for v in m["pct_hrr"])
            epochs, sessions = int(m.get("epochs", 0)), int(m.get("sessions", 0))
        except (KeyError, TypeError, ValueError):
            raise ProfileError(f"[acceleration.{placement}] needs enmo_g and pct_hrr lists "
                               "(and whole numbers epochs and sessions)",
                               source=source, hint="or delete the section") from None
        if len(x) != len(y) or len(x) < 2 or any(b <= a for a, b in pairwise(x)) \
                or not all(math.isfinite(v) for v in x + y):
            raise ProfileError(f"[acceleration.{placement}]: enmo_g must rise, with one "
                               "pct_hrr each", source=source, hint="or delete the section")
        cadence = _cadence_knots(m, placement, source)
        maps[placement] = AccMap(x, y, epochs, sessions,
                                 _source(m, f"acceleration.{placement}", source), *cadence)
    return maps


def read_calibration(path: str | Path) -> Calibration:
    """A calibration file (see :func:`calibration_toml`), checked as a profile is: every
    key known (a misspelt one is named, with the nearest valid name), HR_max and HR_rest
    in the ranges a profile allows and HR_rest below HR_max, each ``source`` one of
    :data:`SOURCES` (in any case).

    Raises:
        ProfileError: the file is not valid TOML or holds something it must not (an
            :class:`~dosewatch.errors.InputError`, exit status 3, like a bad profile).
    """
    path = Path(path)
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError("calibration file not found", source=source) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ProfileError(f"not a readable calibration file ({plain_reason(exc)})",
                           source=source,
                           hint="fix the TOML, or delete the file to have it learned again"
                           ) from None
    _check_keys(data, TOP_KEYS, "", source)
    participant = data.get("participant")
    if not isinstance(participant, str) or not participant:
        raise ProfileError("calibration file has no participant", source=source,
                           hint='add participant = "P01"')
    sessions = data.get("sessions", 0)
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 0:
        raise ProfileError("sessions must be a whole number", source=source,
                           hint="write e.g. sessions = 3")
    cal = Calibration(participant=participant, sessions=sessions,
                      hr_max=_value(data.get("hr_max"), "hr_max", source),
                      hr_rest=_value(data.get("hr_rest"), "hr_rest", source),
                      fitness_k=_value(data.get("fitness_k"), "fitness_k", source),
                      acceleration=_acc_maps(data.get("acceleration"), source),
                      runs_from_mps=_value(data.get("runs_from_mps"), "runs_from_mps", source))
    if cal.hr_rest and cal.hr_max and cal.hr_rest.value >= cal.hr_max.value:
        raise ProfileError(f"[hr_rest] value = {cal.hr_rest.value:g} is not below [hr_max] "
                           f"value = {cal.hr_max.value:g}", source=source,
                           hint="check that the two values are not swapped")
    return cal


def calibration_file(folder: Path, participant: str) -> Path:
    """Where a participant's calibration lives in a calibration folder (the name made
    safe for a file system)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in participant).strip(".")
    return Path(folder) / f"{safe or 'participant'}.toml"


EVIDENCE_DIR = "evidence"
"""The calibration folder's sub-folder of evidence files (one per participant)."""
EVIDENCE_ENTRY_KEYS = ("input", "index", "files", "config", "participant", "session",
                       "source", "output", "start_time", "content_digest", "evidence")
"""What each session's entry in an evidence file holds (see the module text)."""


def evidence_file(folder: Path, participant: str) -> Path:
    """Where a calibration folder keeps the evidence a participant's calibration was
    learned from (beside :func:`calibration_file`, same name, ``.json``)."""
    name = calibration_file(folder, participant).stem
    return Path(folder) / EVIDENCE_DIR / f"{name}.json"


def evidence_json(participant: str, entries: Iterable[Mapping[str, object]]) -> str:
    """The evidence file of a participant: their sessions' entries (each with the keys of
    :data:`EVIDENCE_ENTRY_KEYS`), in the order given."""
    return json.dumps({
        "participant": participant,
        "about": "The sessions dosewatch learned this participant's calibration from, "
                 "and what each showed. Written by dosewatch; a run that writes to this "
                 "calibration folder learns from these sessions too while their inputs are "
                 "unchanged. Delete the file to have the calibration learned from the "
                 "next run's sessions only.",
        "sessions": [dict(e) for e in entries],
    }, indent=1, default=str) + "\n"


def read_evidence(folder: Path) -> list[tuple[Path, dict[str, object]]]:
    """Every session entry of the evidence files in a calibration folder (none without
    one), each with the file it is in. Only the files' shape is checked here: whether an
    entry still counts (its input unchanged, the same configuration) is the batch's to
    decide.

    Raises:
        ProfileError: a file is not an evidence file dosewatch wrote (damaged, edited).
    """
    found: list[tuple[Path, dict[str, object]]] = []
    for path in sorted((Path(folder) / EVIDENCE_DIR).glob("*.json")):
        hint = ("delete it: the participant's calibration is then learned from the next "
                "run's sessions (and its output folder's) only")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ProfileError(f"not a readable evidence file ({plain_reason(exc)})",
                               source=str(path), hint=hint) from None
        sessions = data.get("sessions") if isinstance(data, dict) else None
        if not isinstance(sessions, list) or not all(
                isinstance(e, dict) and set(EVIDENCE_ENTRY_KEYS) <= set(e)
                and isinstance(e["evidence"], dict) for e in sessions):
            raise ProfileError("not an evidence file dosewatch wrote (each session needs "
                               f"{', '.join(EVIDENCE_ENTRY_KEYS)})", source=str(path),
                               hint=hint)
        found.extend((path, e) for e in sessions)
    return found


def read_calibrations(folder: Path) -> dict[str, Calibration]:
    """Every calibration file in a folder, by participant (an absent folder: none).

    Raises:
        ProfileError: a file cannot be read (:func:`read_calibration`), or two files name
            the same participant (a copy a researcher made: which one holds their edits
            cannot be guessed, and the batch rewrites only one).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    found: dict[str, Calibration] = {}
    paths: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        cal = read_calibration(path)
        if cal.participant in found:
            raise ProfileError(
                f"participant {quote(cal.participant)} has a calibration in "
                f"{paths[cal.participant].name} too", source=str(path),
                hint=f"keep one file per participant (dosewatch reads and writes "
                f"{calibration_file(folder, cal.participant).name}): move the other away, "
                "or correct its participant")
        found[cal.participant] = cal
        paths[cal.participant] = path
    return found
