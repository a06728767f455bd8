"""Reference labels for real recordings, from the workload alone (never heart rate).

Real watch exports have no ground truth, but most carry a workload channel: speed (GPS,
footpod or treadmill), altitude (hence grade) and, on bikes and some running watches,
power. The workload is what the SPEC's true intensity ``I`` is made of: "the
steady-state %HRR that the workload demands". This module turns the workload into a
reference intensity for a *reference person* and applies the SPEC's definitions to it,
with its own small implementation of them (it imports nothing of dosewatch's
classification code, only the session reader). The method, in full:

1. **Workload per minute** (mean of the minute's samples; a minute needs samples covering
   half of it):
   - running and walking (speed ``v`` m/s, grade ``i`` from the altitude change over the
     distance run in the minute, clipped to ±30 %): metabolic power ``C(i) · v`` W/kg with
     the energy cost of running or walking on a slope ``C(i)`` of Minetti et al. (J Appl
     Physiol 2002) — running when the step cadence is 140 a minute or more, or (without
     cadence) at 2.0 m/s or faster; walking otherwise;
   - cycling with power ``P`` (W): ``P`` itself; cycling with speed only: the power of a
     reference rider on the road (84 kg with the bike, rolling resistance 0.005, CdA
     0.35 m², air 1.2 kg/m³, no wind) at that speed and grade.
2. **Reference intensity**: the workload as %VO2 reserve of a reference person, which
   stands in for %HRR (Swain): running/walking ``net VO2 = C(i) · v · 60 / 20.9`` ml/kg/min
   (1 ml O2 = 20.9 J) over a VO2 reserve of 46.5 ml/kg/min (VO2max 50); cycling ``P``
   over 300 W (the reference rider's maximal aerobic power). A minute without movement
   (speed below 0.5 m/s, power below 10 W) is rest (0).
3. **Labels**: the SPEC's rules on that intensity: rest below 20; accelerating where the
   Theil–Sen slope over the non-rest minutes of the centred 10-minute window is at least
   0.75 per minute with half the window non-rest, and (the product's reading of "a single
   change of pace is not a ramp", applied here too) each half of the window rises at half
   that; intermediate 40–59, constant otherwise. Qualifying minutes: intensity at least
   40; bouts and the 30-minute dose by the SPEC's greedy rule.
4. **What is compared**, per session:
   - *accelerating or steady*: accelerating when at least half of the moving minutes are
     accelerating; steady when fewer than a third are (then accelerating cannot be the
     most frequent label); between the two the session class depends on how the steady
     minutes split between the intermediate and constant levels, which the workload of a
     reference person cannot say: **undecided**;
   - *dose*: whether a bout holds 30 qualifying minutes.
   Both are computed again for a fitter and a less fit reference person (intensities
   ×0.75 and ×1.4: VO2max about 66 and 37 ml/kg/min, 400 and 215 W); where the answer changes with fitness, the reference is
   **undecided** for that question. Undecided sessions are listed with their reason and
   left out of the agreement percentages.

Files whose workload channel is absent, or too sparse to tell (fewer than 10 moving
minutes), have no reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

RUN_VO2_RESERVE = 46.5  # ml/kg/min: VO2max 50 minus 3.5 at rest
RIDE_MAX_POWER_W = 300.0
J_PER_ML_O2 = 20.9
RUN_FROM_MPS = 2.0
RUN_FROM_SPM = 140.0
MOVING_MPS = 0.5
MOVING_W = 10.0
FITNESS_SCALES = (0.75, 1.4)  # VO2max about 66 and 37; 400 and 215 W


def _minetti_run(i: NDArray[np.float64]) -> NDArray[np.float64]:
    return 155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6


def _minetti_walk(i: NDArray[np.float64]) -> NDArray[np.float64]:
    return 280.5 * i**5 - 58.7 * i**4 - 76.8 * i**3 + 51.9 * i**2 + 19.6 * i + 2.5


def per_minute(t: NDArray, v: NDArray, minutes: int) -> NDArray[np.float64]:
    """Mean of the finite samples in each minute; NaN for a minute whose samples cover
    less than half of it (each sample stands for the time to the next one, at most
    10 s: a longer gap is a pause)."""
    ok = np.isfinite(t) & np.isfinite(v)
    t, v = t[ok], v[ok]
    if t.size < 2:
        return np.full(minutes, np.nan)
    span = np.minimum(np.diff(t, append=t[-1] + 1.0), 10.0)
    index = np.clip((t // 60).astype(np.int64), 0, minutes - 1)
    covered = np.bincount(index, weights=span, minlength=minutes)
    counts = np.bincount(index, minlength=minutes)
    sums = np.bincount(index, weights=v, minlength=minutes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(covered >= 30.0, sums / np.maximum(counts, 1), np.nan)


@dataclass(frozen=True)
class Workload:
    """A session's workload per minute and what it was read from."""

    channel: str  # "speed+grade", "speed", "power", "speed (cycling)"
    intensity: NDArray[np.float64]  # reference %VO2R per minute (NaN: no data)
    moving: NDArray[np.bool_]


def workload(session, sport: str | None) -> Workload | None:  # noqa: ANN001 - a Session
    """The reference intensity per minute of a session (see the module text), or None
    when the session has no workload channel."""
    minutes = max(1, int(math.ceil(session.duration_s / 60.0)))
    cycling = sport == "cycling" or (sport is None and session.speed is not None
                                     and np.nanmedian(session.speed.mps) > 6.0)
    speed = None if session.speed is None else per_minute(session.speed.t, session.speed.mps,
                                                          minutes)
    grade = np.zeros(minutes)
    has_grade = False
    if session.altitude is not None and speed is not None:
        alt = per_minute(session.altitude.t, session.altitude.values, minutes)
        rise = np.diff(alt, prepend=np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            g = rise / (speed * 60.0)
        g = np.where(np.isfinite(g) & (speed >= MOVING_MPS), np.clip(g, -0.3, 0.3), 0.0)
        grade, has_grade = g, bool(np.any(g != 0.0))
    power = None
    if session.power is not None and np.nanmax(session.power.values, initial=0.0) > MOVING_W:
        power = per_minute(session.power.t, session.power.values, minutes)
    if cycling and power is not None:
        intensity = 100.0 * power / RIDE_MAX_POWER_W
        moving = np.isfinite(power) & (power >= MOVING_W)
        channel = "power"
    elif cycling and speed is not None:
        mass, crr, cda, rho = 84.0, 0.005, 0.35, 1.2
        watts = mass * 9.81 * speed * (crr + grade) + 0.5 * rho * cda * speed**3
        intensity = 100.0 * np.clip(watts, 0.0, None) / RIDE_MAX_POWER_W
        moving = np.isfinite(speed) & (speed >= MOVING_MPS)
        channel = "speed (cycling)" + (" + grade" if has_grade else "")
    elif speed is not None and np.nanmax(speed, initial=0.0) >= MOVING_MPS:
        running = speed >= RUN_FROM_MPS
        if session.cadence is not None:
            cadence = per_minute(session.cadence.t, session.cadence.values, minutes)
            running = np.where(np.isfinite(cadence), cadence >= RUN_FROM_SPM, running)
        cost = np.where(running, _minetti_run(grade), _minetti_walk(grade))
        net_vo2 = np.clip(cost, 0.0, None) * speed * 60.0 / J_PER_ML_O2
        intensity = 100.0 * net_vo2 / RUN_VO2_RESERVE
        moving = np.isfinite(speed) & (speed >= MOVING_MPS)
        channel = "speed" + (" + grade" if has_grade else "")
    else:
        return None
    intensity = np.where(moving, intensity, np.where(np.isfinite(intensity), 0.0, np.nan))
    return Workload(channel, intensity, moving)


# ------------------------------------------------------------- the SPEC, written again


def _theil_sen(x: list[float], y: list[float]) -> float:
    slopes = [(y[b] - y[a]) / (x[b] - x[a]) for a in range(len(x)) for b in range(a + 1, len(x))]
    return float(np.median(slopes)) if slopes else math.nan


def accelerating(intensity: NDArray[np.float64], half: int = 5, slope: float = 0.75,
                 light: float = 20.0) -> NDArray[np.bool_]:
    """Per minute: the SPEC's accelerating rule (see the module text, step 3)."""
    n = intensity.size
    out = np.zeros(n, dtype=bool)
    for c in range(n):
        if not (math.isfinite(intensity[c]) and intensity[c] >= light):
            continue
        window = [(k - c, float(intensity[k])) for k in range(c - half, c + half + 1)
                  if 0 <= k < n and math.isfinite(intensity[k]) and intensity[k] >= light]
        if len(window) < 0.5 * (2 * half + 1):
            continue
        xs, ys = [w[0] for w in window], [w[1] for w in window]
        left = [(x, y) for x, y in window if x <= 0]
        right = [(x, y) for x, y in window if x >= 0]
        whole = _theil_sen(xs, ys)
        lhs = _theil_sen([p[0] for p in left], [p[1] for p in left])
        rhs = _theil_sen([p[0] for p in right], [p[1] for p in right])
        out[c] = (whole >= slope and lhs >= slope / 2 and rhs >= slope / 2)
    return out


def longest_bout(qualifying: NDArray[np.bool_], max_gap: int = 2,
                 max_fraction: float = 0.2) -> int:
    """Qualifying minutes of the longest bout, by the SPEC's greedy left-to-right rule."""
    runs, start = [], None
    for k, q in enumerate(list(qualifying) + [False]):
        if q and start is None:
            start = k
        elif not q and start is not None:
            runs.append((start, k))
            start = None
    best, bout = 0, None  # bout: [start, end, breaks, qualifying]
    for a, b in runs:
        if bout is not None:
            gap = a - bout[1]
            if gap <= max_gap and bout[2] + gap <= max_fraction * (b - bout[0]):
                bout = [bout[0], b, bout[2] + gap, bout[3] + (b - a)]
                best = max(best, bout[3])
                continue
        bout = [a, b, 0, b - a]
        best = max(best, bout[3])
    return best


@dataclass(frozen=True)
class Reference:
    """What the workload says about a session."""

    channel: str
    moving_minutes: int
    accelerating_fraction: float
    kind: str  # "accelerating", "steady" or "undecided"
    kind_reason: str
    dose: bool | None  # None: undecided
    dose_reason: str
    longest_bout: int


def _kind(fraction: float) -> str:
    if fraction >= 0.5:
        return "accelerating"
    if fraction < 1 / 3:
        return "steady"
    return "undecided"


def reference(session, sport: str | None) -> Reference | None:  # noqa: ANN001
    """The workload reference of a session, or None without a usable workload channel."""
    w = workload(session, sport)
    if w is None or int(w.moving.sum()) < 10:
        return None
    moving = int(w.moving.sum())
    kinds, doses, fractions, bouts = [], [], [], []
    for scale in (1.0, *FITNESS_SCALES):
        intensity = w.intensity * scale
        acc = accelerating(intensity)
        fraction = float(acc[w.moving].mean()) if moving else 0.0
        with np.errstate(invalid="ignore"):
            bout = longest_bout(np.isfinite(intensity) & (intensity >= 40.0))
        kinds.append(_kind(fraction))
        fractions.append(fraction)
        doses.append(bout >= 30)
        bouts.append(bout)
    kind, kind_reason = kinds[0], f"{100 * fractions[0]:.0f} % of moving minutes ramp"
    if kind == "undecided":
        kind_reason += " (between a third and a half: the class depends on the levels)"
    elif len(set(kinds)) > 1:
        kind, kind_reason = "undecided", (
            f"{kind_reason}; for a fitter/less fit reference person: "
            f"{100 * fractions[1]:.0f} %/{100 * fractions[2]:.0f} %")
    dose: bool | None = doses[0]
    dose_reason = f"longest bout {bouts[0]} qualifying min"
    if len(set(doses)) > 1:
        dose = None
        dose_reason += (f"; {bouts[1]} / {bouts[2]} min for a fitter / less fit reference "
                        "person")
    return Reference(w.channel, moving, fractions[0], kind, kind_reason, dose, dose_reason,
                     bouts[0])
