"""Units checked on input, once for every reader (:func:`check_units`, called by
:func:`~dosewatch.ingest.registry.read_all` on every session a reader returns).

A reader hands acceleration in g and speed in m/s; a file can still say otherwise without
saying so (a milli-g column under a plain ``x`` header, a km/h column called ``speed``).
Read as g, milli-g make every minute look vigorous and turn a session with no dose into
"dose met"; read as m/s, km/h make a jog a sprint. So the values themselves are checked:

- **Acceleration**: at rest an accelerometer measures gravity, 1 g. The vector magnitude
  of the mean over still 2-s stretches (per-axis spread under 5 % of the magnitude; all
  stretches when too few are still) tells the unit: about 1 is g, about 1000 is milli-g,
  about 9.81 is m/s². The stream is converted to g with a repair note. A magnitude that
  fits none (raw counts, or acceleration with gravity removed) is refused with an
  :class:`~dosewatch.errors.InputError` that says what it measured.
- **Speed**: the median of the moving samples (above 0.5 m/s) is compared with what people
  sustain: 7 m/s for running and other foot sports (faster than the marathon record),
  20 m/s otherwise (72 km/h). Above it, a km/h column read as m/s is the explanation when
  the value divided by 3.6 fits, and is converted with a note; otherwise the session is
  refused. Formats that carry distance too are checked more surely by
  :func:`speed_factor_from_distance` (the device's speed against the speed the distance
  gives: 3.6 times it is km/h, 2.24 times it is mph).

The check reads a few thousand stretches spread over the recording, never every sample,
so a week at 100 Hz costs milliseconds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..session import Acceleration, Session, Speed

__all__ = ["acc_factor", "check_units", "speed_factor", "speed_factor_from_distance",
           "table_speed_unit"]

G = 9.80665
# (factor to g, what the values were, band of the magnitude at rest in the file's unit)
_ACC_UNITS = (
    (1.0, "g", (0.6, 1.6)),
    (1e-3, "milli-g", (600.0, 1600.0)),
    (1.0 / G, "m/s²", (0.6 * G, 1.6 * G)),
)
_WINDOW_S = 2.0
_MAX_WINDOWS = 2000
_STILL_SPREAD = 0.05
_MIN_STILL = 5

FOOT_SPORT_LIMIT_MPS = 7.0
OTHER_LIMIT_MPS = 20.0
ON_FOOT_SESSION_MPS = 5.9
"""Nobody's median moving speed on foot over a session is above this (the marathon
record's pace, 21 km/h): above it, a unitless speed is a cycling pace in m/s or km/h."""
OWN_POWER_LIMIT_MPS = 12.5
"""A median moving speed above this (45 km/h) over a whole session is not a person
moving under their own power, whatever the sport (the cycling hour record is 56.8 km/h)."""
STEP_CADENCE = (130.0, 230.0)
"""A cadence in this range (per minute) is steps: the person is on foot (pedalling is
slower, 60 to 120 revolutions a minute)."""
KMH_WALK_FLOOR = 2.0
"""A unitless median moving speed below this is m/s: as km/h (0.56 m/s) it is slower than
any walk held for a session."""
WALK_MAX_MPS = 2.3
"""The fastest walk held for a session (8.3 km/h; race walkers aside)."""
RUN_MIN_MPS = 1.8
"""The slowest run (6.5 km/h: a shuffling jog)."""
RUN_MIN_HR = 105.0
"""A run held for a session keeps the heart above this (running costs at least 6 METs;
even trained runners' easy runs are above 110 bpm)."""
_GAIT_MPS = {"walk": (0.0, WALK_MAX_MPS), "run": (RUN_MIN_MPS, ON_FOOT_SESSION_MPS)}
_GAIT_STEPS = {"walk": ((70.0, 140.0), (0.3, 1.0)), "run": ((140.0, 215.0), (0.6, 2.3))}
"""Per gait: steps a minute, and metres a step."""
_MOVING_MPS = 0.5
_MIN_MOVING_S = 300.0
_FOOT = frozenset({"running", "walking", "hiking", "trail_running", "treadmill", "run",
                   "walk", "hike", "mountaineering", "snowshoeing"})


def rest_magnitude(t: NDArray[np.float64], xyz: NDArray[np.floating]) -> tuple[float, bool]:
    """The magnitude gravity has in this stream, and whether it came from still stretches
    (see the module text)."""
    n = xyz.shape[0]
    if n == 0:
        return float("nan"), False
    steps = np.diff(t[: min(n, 10_000)])
    step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1.0
    width = int(np.clip(round(_WINDOW_S / step), 2, 1000)) if n >= 2 else 1
    width = min(width, n)
    k = int(min(_MAX_WINDOWS, max(1, n // width)))
    starts = np.linspace(0, n - width, k).astype(np.int64)
    index = starts[:, None] + np.arange(width)[None, :]
    segments = np.asarray(xyz[index], dtype=np.float64)  # (k, width, 3)
    finite = np.isfinite(segments).all(axis=(1, 2))
    segments = segments[finite]
    if segments.shape[0] == 0:
        return float("nan"), False
    mean = segments.mean(axis=1)
    magnitude = np.linalg.norm(mean, axis=1)
    spread = segments.std(axis=1).max(axis=1)
    still = (spread <= _STILL_SPREAD * magnitude) & (magnitude > 0)
    if int(still.sum()) >= _MIN_STILL:
        return float(np.median(magnitude[still])), True
    return float(np.median(magnitude)), False


def acc_factor(session: Session) -> tuple[float, str, float]:
    """The factor that brings the session's acceleration to g, what the values were, and
    the magnitude at rest in the values as given.

    Raises:
        InputError: the magnitude at rest fits no unit.
    """
    acc = session.acc
    if acc is None:
        raise ValueError("the session has no acceleration")
    magnitude, still = rest_magnitude(acc.t, acc.xyz)
    for factor, what, (lo, hi) in _ACC_UNITS:
        if lo <= magnitude <= hi:
            return factor, what, magnitude
    where = "still stretches" if still else "the whole recording (no still stretch)"
    if magnitude < 0.3 or not np.isfinite(magnitude):
        hint = ("dosewatch needs raw acceleration that includes gravity (1 g at rest); "
                "gravity seems removed (\"linear\" or \"user\" acceleration): export the raw "
                "accelerometer, or give the unit with --columns acc_unit=g, mg or m/s2")
    else:
        hint = ("the values are neither g (1 at rest), milli-g (1000) nor m/s² (9.81): "
                "they may be raw sensor counts; convert them to g, or give the unit with "
                "--columns acc_unit=g, mg or m/s2")
    raise InputError(
        f"acceleration: cannot tell its unit: the magnitude at rest is {magnitude:.4g} "
        f"(median over {where})", source=session.provenance.source, hint=hint)


def speed_factor(session: Session) -> tuple[float, str] | None:
    """The factor that brings an implausibly fast speed to m/s (1/3.6), with the note, or
    None when the speed is plausible as it is.

    Raises:
        InputError: too fast even as km/h.
    """
    speed = session.speed
    if speed is None:
        return None
    mps = speed.mps
    moving = np.isfinite(mps) & (mps > _MOVING_MPS)
    if int(moving.sum()) / max(speed.fs, 1e-9) < _MIN_MOVING_S:
        return None
    median = float(np.median(mps[moving]))
    foot = session.provenance.sport in _FOOT
    limit = FOOT_SPORT_LIMIT_MPS if foot else OTHER_LIMIT_MPS
    if median <= limit:
        return None
    what = f"for {session.provenance.sport}" if session.provenance.sport else "for any sport"
    if median / 3.6 <= limit:
        return 1 / 3.6, (
            f"speed: the median moving speed {median:.3g} is not possible in m/s {what}: "
            f"read as km/h (divided by 3.6, median {median / 3.6:.3g} m/s)")
    raise InputError(
        f"speed: the median moving speed is {median:.4g}, impossible in m/s {what} and "
        "still too fast as km/h", source=session.provenance.source,
        hint="give the speed's unit with --columns speed_unit=m/s, km/h or mph, or leave "
        "the speed column out (--columns names the columns to read)")


def table_speed_unit(speed: NDArray[np.float64], cadence: NDArray[np.float64] | None,
                     step_s: float, hr: NDArray[np.float64] | None = None,
                     ) -> tuple[float, str, tuple[str, str] | None]:
    """The unit of a table's speed column whose header names none (and with no distance
    to check it against), told from the values: the factor to m/s, a repair note, and a
    warning ``(reason, hint)`` whenever the unit is not certain.

    The median moving speed is read both ways, as m/s and as km/h, and each reading is
    kept when it is a human pace:

    - above :data:`OWN_POWER_LIMIT_MPS` (45 km/h held) as m/s, or above
      :data:`ON_FOOT_SESSION_MPS` with a cadence of 130–230 steps a minute (on foot), it
      is km/h for certain;
    - below :data:`KMH_WALK_FLOOR` as km/h (0.56 m/s) it is no walk held for a session:
      m/s for certain;
    - between :data:`KMH_WALK_FLOOR` and :data:`ON_FOOT_SESSION_MPS` both readings are a
      pace on foot (a table names no sport, and the analysis prices a speed below 6 m/s
      as walking or running): a run in m/s, a walk in km/h (5 km/h read as m/s is an
      18 km/h run). Each reading is tested with the cadence, as steps or as strides a
      minute (:func:`_on_foot_misfit`), and with the heart rate's level (a run is not held
      with the heart below :data:`RUN_MIN_HR`); the reading that fits is taken;
    - otherwise (both fit, or a cycling pace in m/s against a run in km/h) it is read as
      m/s.

    Every reading not certain comes with the warning, which names ``--columns
    speed_unit``. ``step_s`` is the median time between rows; ``cadence`` and ``hr`` are
    the table's columns, row by row with ``speed``.
    """
    moving = np.isfinite(speed) & (speed > _MOVING_MPS)
    median = float(np.median(speed[moving])) if moving.any() else float("nan")
    as_mps = "if the column is m/s, say so with --columns speed_unit=m/s"
    as_kmh = "if the column is km/h, say so with --columns speed_unit=km/h"
    if int(moving.sum()) * step_s < _MIN_MOVING_S:
        note = "speed: the header gives no unit: read as m/s"
        if not KMH_WALK_FLOOR <= median <= OWN_POWER_LIMIT_MPS:
            return 1.0, note, None
        reason = (f"{note} (too little movement to tell it from km/h: median moving speed "
                  f"{median:.3g})")
        return 1.0, reason, (reason, as_kmh)
    if median > OTHER_LIMIT_MPS:
        # Impossible as m/s for any sport: check_units settles it.
        return 1.0, f"speed: the header gives no unit: read as m/s (median {median:.3g})", None
    if median < KMH_WALK_FLOOR:
        return 1.0, (f"speed: the header gives no unit: read as m/s (median moving speed "
                     f"{median:.3g}: as km/h no walk is that slow for a session)"), None
    steps = _median_where(cadence, moving, 0.0, np.inf)
    beats = _median_where(hr, moving, 25.0, 250.0)
    head = f"speed: the header gives no unit and the median moving speed is {median:.3g}"
    if median > ON_FOOT_SESSION_MPS:
        on_foot = steps is not None and STEP_CADENCE[0] <= steps <= STEP_CADENCE[1]
        if on_foot or median > OWN_POWER_LIMIT_MPS:
            why = (f"with a cadence of {steps:.0f} steps a minute the person is on foot, "
                   f"where {median:.3g} m/s is not held for a session" if on_foot else
                   f"as m/s that is {median * 3.6:.0f} km/h held for the whole session, "
                   "faster than people move under their own power")
            return 1 / 3.6, (f"{head}: {why}: read as km/h (divided by 3.6); {as_mps}"), None
        reason = (f"{head}: it fits m/s ({median * 3.6:.0f} km/h: a cycling pace) and km/h "
                  "(on foot) alike: read as m/s")
        return 1.0, reason, (reason, as_kmh)
    run = _on_foot_misfit(median, steps, beats)
    walk = _on_foot_misfit(median / 3.6, steps, beats)
    if run is not None and walk is None:
        why, certain = run
        reason = (f"{head}: as m/s ({median * 3.6:.0f} km/h on foot) {why}; as km/h it is "
                  "a walk: read as km/h (divided by 3.6)")
        return 1 / 3.6, f"{reason}; {as_mps}", None if certain else (reason, as_mps)
    if walk is not None and run is None:
        why, certain = walk
        reason = (f"{head}: as km/h ({median / 3.6:.2g} m/s on foot) {why}; as m/s it is a "
                  "run: read as m/s")
        return 1.0, f"{reason}; {as_kmh}", None if certain else (reason, as_kmh)
    fits = ("fits m/s (on foot at {:.0f} km/h) and km/h (a walk) alike" if run is None else
            "fits neither m/s (on foot at {:.0f} km/h) nor km/h (a walk) well").format(
                median * 3.6)
    reason = f"{head}: it {fits}: read as m/s"
    return 1.0, reason, (reason, as_kmh)


def _median_where(values: NDArray[np.float64] | None, rows: NDArray[np.bool_], lo: float,
                  hi: float) -> float | None:
    """The median of ``values`` on ``rows`` within ``(lo, hi)``; None without any."""
    if values is None:
        return None
    v = values[rows & np.isfinite(values) & (values > lo) & (values < hi)]
    return float(np.median(v)) if v.size else None


def _on_foot_misfit(mps: float, cadence: float | None, hr: float | None
                    ) -> tuple[str, bool] | None:
    """Why a median moving speed of ``mps`` m/s is no walk or run held for a session with
    this median cadence and heart rate, and whether that is certain (the cadence or the
    speed rules it out) or a judgement (only the heart rate's level does); None when it
    fits.

    A walk is up to :data:`WALK_MAX_MPS`, stepping 70 to 140 a minute with steps of 0.3 to
    1 m; a run is from :data:`RUN_MIN_MPS` to :data:`ON_FOOT_SESSION_MPS`, stepping 140 to
    215 a minute with steps of 0.6 to 2.3 m, and keeps the heart at :data:`RUN_MIN_HR` or
    above. A cadence is tried as steps and as strides (devices count either).
    """
    gaits = [g for g, (lo, hi) in _GAIT_MPS.items() if lo <= mps <= hi]
    if not gaits:
        return f"{mps * 3.6:.1f} km/h is no pace held on foot", True
    if cadence is not None:
        fitting = []
        for gait in gaits:
            (s_lo, s_hi), (l_lo, l_hi) = _GAIT_STEPS[gait]
            for per_minute in (cadence, 2 * cadence):
                step_m = mps * 60.0 / per_minute
                if s_lo <= per_minute <= s_hi and l_lo <= step_m <= l_hi:
                    fitting.append(gait)
                    break
        if not fitting:
            return ((f"a cadence of {cadence:.0f} a minute, as steps or as strides, fits no "
                     f"walk or run at {mps * 3.6:.1f} km/h"), True)
        gaits = fitting
    if hr is not None and gaits == ["run"] and hr < RUN_MIN_HR:
        return ((f"a heart rate of {hr:.0f} bpm is too low for a run held for a session "
                 f"(below {RUN_MIN_HR:.0f})"), False)
    return None


def speed_factor_from_distance(
    t: NDArray[np.float64], speed: NDArray[np.float64], distance: NDArray[np.float64],
    segment: NDArray[np.int64] | None = None,
) -> tuple[float, str] | None:
    """When a file's speed field is in km/h or mph while its distance is in metres, the
    factor to m/s and a note; None when they agree (or cannot be compared).

    Per row with a speed and a distance, the device's speed is compared with the speed
    between this row and the previous one (same segment, at most 10 s apart); the median
    ratio decides: 3.6 ± 8 % is km/h, 2.237 ± 8 % is mph.
    """
    ok = np.isfinite(t) & np.isfinite(speed) & np.isfinite(distance)
    idx = np.flatnonzero(ok)
    if idx.size < 30:
        return None
    idx = idx[np.argsort(t[idx], kind="stable")]
    tt, dd, ss = t[idx], distance[idx], speed[idx]
    dt = np.diff(tt)
    with np.errstate(all="ignore"):
        derived = np.diff(dd) / dt
        ratio = ss[1:] / derived
    valid = (dt > 0) & (dt <= 10) & (derived > 1.0) & (derived < 40) & np.isfinite(ratio)
    if segment is not None:
        seg = segment[idx]
        valid &= seg[1:] == seg[:-1]
    if int(valid.sum()) < 30:
        return None
    median = float(np.median(ratio[valid]))
    for expected, unit, factor in ((3.6, "km/h", 1 / 3.6), (1 / 0.44704, "mph", 0.44704)):
        if abs(median / expected - 1) <= 0.08:
            return factor, (f"speed: the speed field is in {unit} ({median:.3g} × the speed "
                            f"the distance gives): converted to m/s")
    return None


def _scaled_acc(acc: Acceleration, factor: float) -> Acceleration:
    return replace(acc, xyz=(acc.xyz * np.float32(factor)).astype(np.float32, copy=False))


def check_units(session: Session) -> Session:
    """The session with acceleration in g and speed in m/s, converted (with a repair
    note) where the values show another unit (see the module text).

    Raises:
        InputError: acceleration whose unit cannot be told, or an impossible speed.
    """
    notes: list[str] = []
    acc = session.acc
    if acc is not None and acc.xyz.shape[0]:
        factor, what, magnitude = acc_factor(session)
        if factor != 1.0:
            acc = _scaled_acc(acc, factor)
            notes.append(f"acceleration: the magnitude at rest is {magnitude:.4g}, so the "
                         f"values are {what}: converted to g (× {factor:.6g})")
    speed = session.speed
    if speed is not None and speed.mps.size:
        found = speed_factor(session)
        if found is not None:
            factor, note = found
            speed = Speed(t=speed.t, mps=speed.mps * factor, fs=speed.fs)
            notes.append(note)
    if not notes:
        return session
    return replace(session, acc=acc, speed=speed).with_repairs(notes)
