"""Bouts and the 30-minute dose (SPEC, 'Bouts and the 30-minute dose').

A bout is built left to right from runs of qualifying epochs: a run joins the bout before
it when the gap is at most ``max_break_min`` and the joined bout's breaks stay within
``max_break_fraction`` of its length; otherwise it starts a new bout. The loop is over
runs of qualifying epochs (a handful per session), never over epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from .labels import Label
from .runs import runs


@dataclass(frozen=True, slots=True)
class Bout:
    """One bout. Epoch indices are half-open: ``[start_epoch, end_epoch)``.

    Attributes:
        start_s, end_s: seconds from the session start.
        qualifying_minutes: minutes at intermediate intensity or above inside the bout.
        mean_pct_hrr: mean %HRR over the bout's epochs (breaks included).
        minutes: minutes of each label inside the bout.
        dose_met: the bout holds at least the dose's qualifying minutes.
        dose_met_at_s: when the dose was reached (end of the epoch that completed it).
    """

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
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "qualifying_minutes": self.qualifying_minutes,
            "mean_pct_hrr": None if np.isnan(self.mean_pct_hrr) else round(self.mean_pct_hrr, 2),
            "minutes": self.minutes,
            "dose_met": self.dose_met,
            "dose_met_at_s": self.dose_met_at_s,
        }


def bout_spans(qualifying: NDArray[np.bool_], config: Config) -> list[tuple[int, int]]:
    """Half-open epoch spans of the bouts in a qualifying mask, by the greedy SPEC rule."""
    max_gap = int(np.floor(config.bouts.max_break_min / config.epoch_min + 1e-9))
    max_fraction = config.bouts.max_break_fraction
    spans: list[tuple[int, int]] = []
    start = end = breaks = -1
    for run_start, run_end in runs(qualifying).tolist():
        gap = run_start - end
        if start >= 0 and gap <= max_gap and breaks + gap <= max_fraction * (run_end - start):
            end, breaks = run_end, breaks + gap
            continue
        if start >= 0:
            spans.append((start, end))
        start, end, breaks = run_start, run_end, 0
    if start >= 0:
        spans.append((start, end))
    return spans


def find_bouts(
    intensity: NDArray[np.floating],
    labels: NDArray[np.integer],
    config: Config,
    qualifying: NDArray[np.bool_] | None = None,
) -> list[Bout]:
    """Bouts of a session from its epoch intensities (%HRR) and labels.

    ``qualifying`` marks the epochs that count towards a bout when a classifier decides
    it; by default an epoch qualifies when its intensity is at least
    ``bouts.qualifying_from`` (SPEC).
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    labels = np.asarray(labels)
    if qualifying is None:
        with np.errstate(invalid="ignore"):
            qualifying = np.isfinite(intensity) & (intensity >= config.bouts.qualifying_from)
    else:
        qualifying = np.asarray(qualifying, dtype=bool)
    epoch_s, epoch_min = config.epochs.epoch_s, config.epoch_min
    dose_epochs = int(np.ceil(config.bouts.dose_min / epoch_min - 1e-9))
    bouts = []
    for start, end in bout_spans(qualifying, config):
        q = qualifying[start:end]
        n_qual = int(q.sum())
        dose_met = n_qual >= dose_epochs
        dose_at = None
        if dose_met:
            completing = start + int(np.flatnonzero(np.cumsum(q) == dose_epochs)[0])
            dose_at = float((completing + 1) * epoch_s)
        span = intensity[start:end]
        finite = span[np.isfinite(span)]
        minutes = {
            label.name.lower(): float(np.sum(labels[start:end] == label) * epoch_min)
            for label in Label
            if label is not Label.MISSING
        }
        bouts.append(
            Bout(
                start_epoch=start,
                end_epoch=end,
                start_s=float(start * epoch_s),
                end_s=float(end * epoch_s),
                qualifying_minutes=float(n_qual * epoch_min),
                mean_pct_hrr=float(finite.mean()) if finite.size else float("nan"),
                minutes=minutes,
                dose_met=dose_met,
                dose_met_at_s=dose_at,
            )
        )
    return bouts
