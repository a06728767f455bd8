"""Telling cardiac drift from a rising workload with heart rate alone.

After a change of pace heart rate rises in two phases: a fast phase (time constant 15–55
s) that carries most of the step, then a slow rise — the slow component of a hard effort
and cardiac drift, up to about 1 %HRR a minute in the heat — at the new, steady workload.
A ramp or a staircase keeps rising for as long as the workload does.

The SPEC's single-change rule (:func:`dosewatch.spec.labels.accelerating_mask`) takes a
window's largest change of pace out (over one epoch, or two when it falls mid-epoch) and
asks that what is left still rises at half the ramp threshold. Written for the true
intensity, it reads heart rate's two phases as a ramp: the fast phase spreads a step over
up to three one-minute epochs (the tail of the exponential, and heart rate read 30 s
later), so a two-epoch cut leaves part of the step behind, and the drift that follows
easily reaches half the threshold. So, for heart rate alone and only where a window holds
a change of pace (a rise larger than any step of a staircase), the change is taken out
with its fast phase (:func:`without_largest_rise` over ``kinetics_epochs``) and what is
left must rise at the full ramp threshold: faster than the slow phase after a single
change. A staircase keeps its other steps and a ramp its slope, so both stay ramps.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..spec.labels import trend_half_width
from ..spec.trend import centred_windows, theil_sen


def largest_rise(windows: NDArray[np.float64], span: int, near_in_time: bool = False
                 ) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]]:
    """Per row of ``windows`` (NaN = not a non-rest epoch, left out): the largest rise
    between non-rest epochs at most ``span`` apart, where it starts (index among the row's
    non-rest epochs, in time) and over how many epochs. Apart means among the non-rest
    epochs, whatever lies between them; with ``near_in_time``, also at most ``span``
    epochs apart in the window's time, so that a rise across a gap in the heart rate or a
    rest break does not count. Earlier and shorter rises win ties. Rows without two
    non-rest epochs give a rise of ``-inf``."""
    n, w = windows.shape
    order = np.argsort(np.isnan(windows), axis=1, kind="stable")  # non-rest first, in time
    c = np.take_along_axis(windows, order, axis=1)
    when = np.take_along_axis(np.broadcast_to(np.arange(w), (n, w)), order, axis=1)
    best = np.full(n, -np.inf)
    first = np.zeros(n, dtype=np.intp)
    width = np.ones(n, dtype=np.intp)
    for k in range(1, min(span, w - 1) + 1):  # a loop over the span (1–3), not over data
        d = np.full((n, w - 1), -np.inf)
        diff = c[:, k:] - c[:, :-k]
        ok = np.isfinite(diff)
        if near_in_time:
            ok &= (when[:, k:] - when[:, :-k]) <= span
        d[:, : w - k] = np.where(ok, diff, -np.inf)
        at = np.argmax(d, axis=1)
        rise = d[np.arange(n), at]
        better = rise > best
        best = np.where(better, rise, best)
        first = np.where(better, at, first)
        width = np.where(better, k, width)
    return best, first, width


def without_largest_rise(windows: NDArray[np.float64], span: int) -> NDArray[np.float64]:
    """Each row with its largest rise over at most ``span`` epochs taken out: every later
    epoch lowered by it, the epochs inside it flattened to where it started. With
    ``span=2`` this is the SPEC's :func:`~dosewatch.spec.labels.without_largest_change`
    (a tie between a one-epoch and a two-epoch rise of the same size can go the other way).
    A row without a rise is unchanged."""
    n, w = windows.shape
    if w < 2:
        return windows.copy()
    order = np.argsort(np.isnan(windows), axis=1, kind="stable")
    c = np.take_along_axis(windows, order, axis=1)
    rise, first, width = largest_rise(windows, span)
    rows = np.arange(n)
    j = np.arange(w)[None, :]
    start = c[rows, first][:, None]
    last = (first + width - 1)[:, None]
    adjusted = np.where(j <= first[:, None], c,
                        np.where(j <= last, start, c - rise[:, None]))
    adjusted = np.where((rise > 0)[:, None], adjusted, c)
    out = np.empty_like(windows)
    np.put_along_axis(out, order, adjusted, axis=1)
    return out


def single_change_with_kinetics(trend: NDArray[np.float64], candidates: NDArray[np.bool_],
                                config: Config, change_of_pace: float,
                                kinetics_epochs: int) -> NDArray[np.bool_]:
    """The ``candidates`` (epochs labelled accelerating from heart rate) whose window
    holds a change of pace (a rise of at least ``change_of_pace`` %HRR within two epochs;
    the window reaches back ``kinetics_epochs - 1`` epochs, whose fast phase still rises
    in it) and whose rise, with that change and its fast phase (``kinetics_epochs``)
    taken out, no longer reaches the ramp threshold: a step of pace and the slow rise
    after it, not a ramp. ``trend`` is the series the labels' trend was read from (NaN =
    left out)."""
    out = np.zeros(trend.size, dtype=bool)
    rows = np.flatnonzero(candidates)
    if rows.size == 0:
        return out
    h = trend_half_width(config)
    # The window, and the epochs before it that a change of pace's fast phase reaches into
    # it from (the tail of a step taken just before the window is still rising in it).
    before = max(0, kinetics_epochs - 1)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(trend) & (trend >= config.levels.light_from)
    reach = centred_windows(np.where(usable, trend, np.nan), h + before)[rows]
    reach = reach[:, : reach.shape[1] - before]
    step, _, _ = largest_rise(reach, 2, near_in_time=True)
    stepped = step >= change_of_pace
    if not stepped.any():
        return out
    x = np.arange(-h, h + 1) * config.epoch_min
    rest = theil_sen(without_largest_rise(reach[stepped], kinetics_epochs)[:, before:], x)
    with np.errstate(invalid="ignore"):
        out[rows[stepped]] = ~(rest >= config.trend.accelerating_slope)
    return out
