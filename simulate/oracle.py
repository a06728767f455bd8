"""The reference labels, session class and bouts, written a second time from SPEC.md.

The simulator's truth comes from here, not from the product's ``dosewatch.spec``: this
module imports nothing of dosewatch, so a misreading of the SPEC in the product cannot
hide in the truth it is measured against. It is written to be read, not to be fast:
plain loops over epochs, Theil–Sen as the median of explicitly listed pairwise slopes,
bouts built left to right exactly as the SPEC words them. It runs on minute epochs (a
one-hour session has 60), so clarity costs nothing that matters.

How the oracle reads the SPEC where the words leave a choice:

- **Epochs.** 1-minute epochs (``epoch_s``) from the first second; the last, partial
  epoch counts when at least half of it is there (README, "Where the code reads the
  SPEC"; the SPEC itself does not say).
- **The 10-minute window centred on the epoch** holds the epochs whose centres lie at most
  5 minutes from the epoch's centre: the epoch and 5 either side, so the window spans
  10 minutes from its first epoch's centre to its last's. Epochs beyond the session's
  ends are not there, and are not non-rest.
- **At least half of that window non-rest:** at least half of the window's 11 epochs, so
  6 or more, are non-rest.
- **A single change of pace does not count** (nor does starting to exercise). The SPEC
  states the intent, not a formula. The oracle reads it directly: it takes the largest
  single change of pace out of the window's non-rest part and asks whether what is left
  still rises. A change of pace is one rise between consecutive non-rest epochs, or two
  in a row (a change in the middle of an epoch splits between the epoch it falls in and
  the next). Taking it out means lowering every later epoch by its size. What is left
  must still have a Theil–Sen slope of at least ``single_change_fraction`` of the
  threshold (0.5 by default: the SPEC gives no number; 0.5 lets a staircase with a step
  every 3 minutes at 0.75 %HRR/min count, which the SPEC asks for, and keeps the
  slope of a hilly run from hiding a single step). Starting to exercise needs no rule
  of its own: the trend is taken over non-rest epochs only, so rest followed by a
  steady effort is flat. The product reads the same sentence differently (each half of
  the window must rise too); ``tests/simulate/test_oracle.py`` shows where the two
  readings part.
- **Epochs without data** (NaN) are neither rest nor exercise: labelled ``missing``
  (code -1), left out of the trend, the session class and the qualifying epochs (so they
  are breaks inside a bout).
- **Ties in the session class** go to accelerating, then intermediate, then constant;
  ``none`` when no epoch is exercise.

Label codes are those of ``dosewatch.spec.labels.Label`` (-1 missing, 0 rest,
1 constant, 2 intermediate, 3 accelerating) so arrays compare directly; the agreement
test checks that they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

MISSING, REST, CONSTANT, INTERMEDIATE, ACCELERATING = -1, 0, 1, 2, 3
LABEL_NAMES = {MISSING: "missing", REST: "rest", CONSTANT: "constant",
               INTERMEDIATE: "intermediate", ACCELERATING: "accelerating"}
CLASS_TIE_ORDER = (ACCELERATING, INTERMEDIATE, CONSTANT)
"""Who wins a tie for the most frequent label."""


@dataclass(frozen=True)
class Definitions:
    """The SPEC's numbers (defaults as in SPEC.md). :meth:`from_config` reads a study's
    own from a ``dosewatch.config.Config``."""

    epoch_s: float = 60.0
    light_from: float = 20.0
    intermediate_from: float = 40.0
    vigorous_from: float = 60.0
    window_min: float = 10.0
    accelerating_slope: float = 0.75
    min_nonrest_fraction: float = 0.5
    single_change_fraction: float = 0.5
    qualifying_from: float = 40.0
    max_break_min: float = 2.0
    max_break_fraction: float = 0.2
    dose_min: float = 30.0

    @property
    def epoch_min(self) -> float:
        return self.epoch_s / 60.0

    @classmethod
    def from_config(cls, config: Any) -> Definitions:
        """The numbers of a ``Config`` (read by name, so nothing of dosewatch is imported).
        ``trend.single_change_fraction`` sets how much rise must remain once a single change
        of pace is taken out (0 turns the check off, as it turns off the product's)."""
        return cls(
            epoch_s=config.epochs.epoch_s,
            light_from=config.levels.light_from,
            intermediate_from=config.levels.intermediate_from,
            vigorous_from=config.levels.vigorous_from,
            window_min=config.trend.window_min,
            accelerating_slope=config.trend.accelerating_slope,
            min_nonrest_fraction=config.trend.min_nonrest_fraction,
            single_change_fraction=config.trend.single_change_fraction,
            qualifying_from=config.bouts.qualifying_from,
            max_break_min=config.bouts.max_break_min,
            max_break_fraction=config.bouts.max_break_fraction,
            dose_min=config.bouts.dose_min,
        )


# ---------------------------------------------------------------------------------------
# Epochs


def epoch_means(intensity_1hz: ArrayLike, epoch_s: float = 60.0) -> NDArray[np.float64]:
    """Mean of a 1-Hz series (one value per second from t = 0) over each epoch; a last
    partial epoch counts when it holds at least half an epoch of seconds."""
    values = [float(v) for v in np.asarray(intensity_1hz, dtype=np.float64)]
    if epoch_s < 1.0:
        raise ValueError(f"epoch_s must be at least 1 s for a 1-Hz series, got {epoch_s}")
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for second, value in enumerate(values):
        epoch = math.floor(second / epoch_s + 1e-9)
        sums[epoch] = sums.get(epoch, 0.0) + value
        counts[epoch] = counts.get(epoch, 0) + 1
    kept = [e for e in sorted(counts) if counts[e] >= epoch_s / 2.0]
    return np.array([sums[e] / counts[e] for e in kept], dtype=np.float64)


def _present(value: float) -> bool:
    return not math.isnan(value)


def _nonrest(value: float, d: Definitions) -> bool:
    return _present(value) and value >= d.light_from


# ---------------------------------------------------------------------------------------
# The accelerating rule


def theil_sen(points: list[tuple[float, float]]) -> float:
    """Median of the slopes of every pair of points (x, y); NaN with fewer than two."""
    slopes = []
    for a in range(len(points)):
        for b in range(a + 1, len(points)):
            (x1, y1), (x2, y2) = points[a], points[b]
            slopes.append((y2 - y1) / (x2 - x1))
    return median(slopes) if slopes else math.nan


def without_largest_change(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``points`` (in time order) with their largest change of pace taken out: the largest
    rise over one step or two consecutive steps, every later point lowered by it."""
    best_rise, first, last = 0.0, -1, -1  # steps first..last (inclusive) are the change
    for k in range(len(points) - 1):
        for width in (1, 2):
            if k + width < len(points):
                rise = points[k + width][1] - points[k][1]
                if rise > best_rise:
                    best_rise, first, last = rise, k, k + width - 1
    if first < 0:
        return list(points)
    out = []
    for j, (x, y) in enumerate(points):
        if j <= first:
            out.append((x, y))
        elif j <= last:  # inside a two-step change: flattened to where it started
            out.append((x, points[first][1]))
        else:
            out.append((x, y - best_rise))
    return out


def is_accelerating(epochs: list[float], i: int, d: Definitions) -> bool:
    """SPEC: the epoch is not rest, at least half of the centred window is non-rest, the
    Theil–Sen slope over its non-rest part is at least the threshold, and the rise is not
    a single change of pace (see the module docstring)."""
    if not _nonrest(epochs[i], d):
        return False
    half = max(1, round(d.window_min / d.epoch_min / 2))
    window = range(i - half, i + half + 1)
    points = [((j - i) * d.epoch_min, epochs[j]) for j in window
              if 0 <= j < len(epochs) and _nonrest(epochs[j], d)]
    if len(points) < d.min_nonrest_fraction * len(window):
        return False
    if not theil_sen(points) >= d.accelerating_slope:
        return False
    if d.single_change_fraction <= 0:
        return True
    rest_of_rise = theil_sen(without_largest_change(points))
    return rest_of_rise >= d.single_change_fraction * d.accelerating_slope


# ---------------------------------------------------------------------------------------
# Labels and the session class


def label(epochs: ArrayLike, d: Definitions | None = None) -> NDArray[np.int8]:
    """The SPEC's label of every epoch of true intensity (%HRR; NaN = no data)."""
    d = d or Definitions()
    values = [float(v) for v in np.asarray(epochs, dtype=np.float64)]
    out = []
    for i, value in enumerate(values):
        if not _present(value):
            out.append(MISSING)
        elif value < d.light_from:
            out.append(REST)
        elif is_accelerating(values, i, d):
            out.append(ACCELERATING)
        elif d.intermediate_from <= value < d.vigorous_from:
            out.append(INTERMEDIATE)
        else:
            out.append(CONSTANT)
    return np.array(out, dtype=np.int8)


def session_class(labels: ArrayLike) -> str:
    """The most frequent non-rest label (ties: accelerating, intermediate, constant);
    ``none`` when no epoch is exercise."""
    counts = {code: 0 for code in CLASS_TIE_ORDER}
    for code in np.asarray(labels).tolist():
        if code in counts:
            counts[code] += 1
    best = max(counts.values())
    if best == 0:
        return "none"
    return next(LABEL_NAMES[code] for code in CLASS_TIE_ORDER if counts[code] == best)


# ---------------------------------------------------------------------------------------
# Bouts and the dose


@dataclass(frozen=True)
class ReferenceBout:
    """A bout, epochs ``[start_epoch, end_epoch)``; the fields of the SPEC's bout output
    (same names as the product's ``Bout``)."""

    start_epoch: int
    end_epoch: int
    start_s: float
    end_s: float
    qualifying_minutes: float
    mean_pct_hrr: float
    minutes: dict[str, float]
    dose_met: bool
    dose_met_at_s: float | None

    def as_dict(self) -> dict[str, object]:
        mean = None if math.isnan(self.mean_pct_hrr) else round(self.mean_pct_hrr, 2)
        return {"start_s": self.start_s, "end_s": self.end_s,
                "qualifying_minutes": self.qualifying_minutes, "mean_pct_hrr": mean,
                "minutes": self.minutes, "dose_met": self.dose_met,
                "dose_met_at_s": self.dose_met_at_s}


def qualifying_runs(qualifying: list[bool]) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of qualifying epochs, in order."""
    runs: list[tuple[int, int]] = []
    for e, q in enumerate(qualifying):
        if q and (e == 0 or not qualifying[e - 1]):
            runs.append((e, e + 1))
        elif q:
            runs[-1] = (runs[-1][0], e + 1)
    return runs


def bout_spans(qualifying: list[bool], d: Definitions) -> list[tuple[int, int]]:
    """SPEC: built left to right; each run of qualifying epochs joins the bout before it
    when the gap is at most the longest break and the joined bout still has at most the
    allowed share of breaks; otherwise it starts a new bout."""
    longest_break = math.floor(d.max_break_min / d.epoch_min + 1e-9)
    spans: list[list[int]] = []  # [start, end, break epochs]
    for start, end in qualifying_runs(qualifying):
        if spans:
            bout = spans[-1]
            gap = start - bout[1]
            if gap <= longest_break and bout[2] + gap <= d.max_break_fraction * (end - bout[0]):
                bout[1], bout[2] = end, bout[2] + gap
                continue
        spans.append([start, end, 0])
    return [(s, e) for s, e, _ in spans]


def _bout(epochs: list[float], labels: list[int], qualifying: list[bool], start: int, end: int,
          d: Definitions) -> ReferenceBout:
    dose_epochs = math.ceil(d.dose_min / d.epoch_min - 1e-9)
    count, dose_at = 0, None
    for e in range(start, end):
        count += qualifying[e]
        if qualifying[e] and count == dose_epochs:
            dose_at = (e + 1) * d.epoch_s
    present = [v for v in epochs[start:end] if _present(v)]
    minutes = {LABEL_NAMES[code]: sum(lab == code for lab in labels[start:end]) * d.epoch_min
               for code in (REST, CONSTANT, INTERMEDIATE, ACCELERATING)}
    return ReferenceBout(
        start_epoch=start, end_epoch=end, start_s=start * d.epoch_s, end_s=end * d.epoch_s,
        qualifying_minutes=count * d.epoch_min,
        mean_pct_hrr=sum(present) / len(present) if present else math.nan,
        minutes=minutes, dose_met=count >= dose_epochs, dose_met_at_s=dose_at)


def bouts(epochs: ArrayLike, labels: ArrayLike, d: Definitions | None = None
          ) -> list[ReferenceBout]:
    """The bouts of a session: qualifying epochs are those at intermediate intensity or
    above (any exercise label with ``I >= qualifying_from``)."""
    d = d or Definitions()
    values = [float(v) for v in np.asarray(epochs, dtype=np.float64)]
    codes = [int(c) for c in np.asarray(labels)]
    qualifying = [_present(v) and v >= d.qualifying_from and c > REST
                  for v, c in zip(values, codes, strict=True)]
    return [_bout(values, codes, qualifying, s, e, d) for s, e in bout_spans(qualifying, d)]


# ---------------------------------------------------------------------------------------
# All of it


@dataclass(frozen=True, eq=False)
class Reference:
    """The SPEC's verdict on a true intensity."""

    epoch_intensity: NDArray[np.float64]
    labels: NDArray[np.int8]
    session_class: str
    bouts: list[ReferenceBout]

    @property
    def dose_met(self) -> bool:
        return any(b.dose_met for b in self.bouts)


def reference_for_epochs(epochs: ArrayLike, d: Definitions | None = None) -> Reference:
    """Labels, class and bouts of a series of epoch intensities (%HRR; NaN = no data)."""
    d = d or Definitions()
    epochs = np.asarray(epochs, dtype=np.float64)
    labels = label(epochs, d)
    return Reference(epoch_intensity=epochs, labels=labels,
                     session_class=session_class(labels), bouts=bouts(epochs, labels, d))


def reference(intensity_1hz: ArrayLike, d: Definitions | None = None) -> Reference:
    """Labels, class and bouts of a true intensity given once a second from t = 0."""
    d = d or Definitions()
    return reference_for_epochs(epoch_means(intensity_1hz, d.epoch_s), d)
