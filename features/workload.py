"""Workload channels — speed (treadmill, footpod or GPS), grade (from altitude, or a
treadmill's incline), power (bike or running power) — and the relation that ties the
workload to heart rate in one session.

Per epoch the workload is expressed as a **reference intensity** ``workload_ref``: the
%VO2 reserve that the workload would demand of a reference person (VO2max 50 ml/kg/min
running; a rider whose maximal aerobic power is 300 W). So one scale serves runners and
riders, and a person's own intensity is that times a factor for their fitness:

- on foot (speed ``S`` m/min, grade ``G``): the ACSM metabolic equations, net VO2 =
  ``0.2 S + 0.9 S G`` running and ``0.1 S + 1.8 S G`` walking (ml/kg/min), running when
  stepping at 140 a minute or more (without a cadence: at 2.2 m/s or faster, where the
  ACSM running equation starts to hold; brisk walking reaches 2.1 m/s), over a VO2 reserve of
  46.5; downhill, where the ACSM equations say nothing, the flat cost scaled by the ratio
  of the energy cost of running or walking on that slope to the flat one (Minetti et al.,
  J Appl Physiol 2002), which falls to about half at −20 %;
- on a bike: power over 300 W; without a power meter, the power of a reference rider
  (84 kg with the bike, rolling resistance 0.005, CdA 0.35 m², still air) at the speed
  and grade (:func:`rider_watts`);
- without a sport: on foot, unless the median speed is above 6 m/s (a ride). A pace of
  4 m/s or more held by a file without a sport is a fast run or a slow ride
  (:func:`run_or_ride`); the verdict says so (:mod:`dosewatch.certainty`).

:func:`relate` then fits, per session, the heart-rate demand (``pct_hrr_demand``) against
the workload: ``pct_hrr_demand ≈ k · workload_ref + c · t_moving``, where ``k`` is the
person's fitness factor and ``t_moving`` counts the minutes of movement so far (cardiac
drift grows with exercise, not with the clock; ``0 ≤ c ≤ MAX_DRIFT``). The
session's **workload intensity** ``pct_hrr_workload = k · workload_ref`` is what the
workload demands of *this* person, without drift: its trend is the evidence for
*accelerating*, and it drops the moment the workload drops (no heart-rate lag, no recovery
minutes counted).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..relation import WorkloadRelation, fit_relation, moving_minutes, runs_from
from ..session import Session, Speed
from .base import EpochGrid, FeatureContext, StreamFeatures

RUN_VO2_RESERVE = 46.5
RIDE_MAX_POWER_W = 300.0
RUN_FROM_MPS = 2.2  # without a cadence: ACSM's running equation holds from 134 m/min
# Without a cadence, speeds from here up to RUN_FROM_MPS may be a brisk walk or a jog (a
# person who runs from 1.7 m/s, another who walks at 2.1): heart rate decides
# (:func:`resolve_gait`).
EITHER_GAIT_FROM_MPS = 1.5
RUN_FROM_SPM = 140.0
MOVING_MPS = 0.5
MOVING_W = 10.0
MAX_GRADE = 0.3

SPEED_COLUMNS = ("speed_mps",)
WORKLOAD_COLUMNS = ("grade", "power_w", "workload_ref", "moving")


def speed_epoch_features(speed: Speed, session: Session, grid: EpochGrid, config: Config,
                         ctx: FeatureContext) -> dict[str, NDArray[np.float64]]:
    """Per epoch: the mean speed of the samples in it (NaN where there are none)."""
    return {"speed_mps": epoch_mean(speed.t, speed.mps, grid)}


SPEED_FEATURES = StreamFeatures("speed", SPEED_COLUMNS, speed_epoch_features)


MAX_SAMPLE_SPAN_S = 10.0  # a sample stands for at most this long (as heart rate's gaps)


def epoch_mean(t: NDArray[np.float64], v: NDArray[np.float64],
               grid: EpochGrid, min_coverage: float = 0.5) -> NDArray[np.float64]:
    """Mean of the finite samples in each epoch; NaN where the samples cover less than
    ``min_coverage`` of the epoch (each sample stands for the time to the next one, at
    most :data:`MAX_SAMPLE_SPAN_S`: a longer gap is a pause, as for heart rate)."""
    ok = np.isfinite(v)
    t, v = t[ok], v[ok]
    if t.size == 0:
        return np.full(grid.n, np.nan)
    span = np.minimum(np.diff(t, append=t[-1] + 1.0), MAX_SAMPLE_SPAN_S)
    index = np.minimum((t // grid.epoch_s).astype(np.int64), grid.n - 1)
    covered = np.bincount(index, weights=span, minlength=grid.n)
    counts = np.bincount(index, minlength=grid.n)
    sums = np.bincount(index, weights=v, minlength=grid.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(covered >= min_coverage * grid.epoch_s,
                        sums / np.maximum(counts, 1), np.nan)


def minetti_run(i: NDArray[np.float64]) -> NDArray[np.float64]:
    """Energy cost of running on slope ``i`` (J/kg/m), Minetti et al. 2002."""
    return 155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6


def minetti_walk(i: NDArray[np.float64]) -> NDArray[np.float64]:
    """Energy cost of walking on slope ``i`` (J/kg/m), Minetti et al. 2002."""
    return 280.5 * i**5 - 58.7 * i**4 - 76.8 * i**3 + 51.9 * i**2 + 19.6 * i + 2.5


def foot_vo2(speed_mps: NDArray[np.float64], grade: NDArray[np.float64],
             running: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Net VO2 (ml/kg/min) of running or walking at ``speed_mps`` on ``grade`` (see the
    module text)."""
    s = speed_mps * 60.0
    up = np.clip(grade, 0.0, None)
    flat_cost = np.where(running, 0.2, 0.1)
    climb = np.where(running, 0.9, 1.8)
    down = np.clip(grade, None, 0.0)
    ratio = np.where(running, minetti_run(down) / minetti_run(np.zeros(1)),
                     minetti_walk(down) / minetti_walk(np.zeros(1)))
    return s * (flat_cost * np.clip(ratio, 0.3, 1.0) + climb * up)


def _grade(session: Session, speed: NDArray[np.float64], grid: EpochGrid
           ) -> NDArray[np.float64]:
    """Rise over run per epoch: the incline stream where there is one, else the change of
    the epoch-mean altitude (centred) over the distance covered; 0 where unknown."""
    if session.grade is not None:
        g = epoch_mean(session.grade.t, session.grade.values, grid)
    elif session.altitude is not None:
        alt = epoch_mean(session.altitude.t, session.altitude.values, grid)
        rise = np.full(grid.n, np.nan)
        if grid.n >= 3:
            rise[1:-1] = 0.5 * (alt[2:] - alt[:-2])
        with np.errstate(invalid="ignore", divide="ignore"):
            g = rise / (speed * grid.epoch_s)
        g = np.where(speed >= MOVING_MPS, g, np.nan)
    else:
        return np.zeros(grid.n)
    return np.clip(np.nan_to_num(g, nan=0.0), -MAX_GRADE, MAX_GRADE)


RIDE_FROM_MPS = 6.0  # without a sport, a median speed above this is a ride
# Without a sport, a pace held in this band is a fast run or a slow ride (17 km/h is a
# 3:32 min/km run and a commute ride): priced as a run it costs up to nine times what it
# costs a rider, so the verdict cannot tell how hard it was (review 2026-11-25b, item 4).
EITHER_SPORT_FROM_MPS = 4.0
SPORT_HINT = ("give the sport in the file: export the activity with its sport, or name "
              "it (a GPX track's <type>cycling</type> or <type>running</type>, a TCX "
              "Activity's Sport=\"Biking\" or \"Running\")")


def _cycling(session: Session, speed: NDArray[np.float64]) -> bool:
    sport = session.provenance.sport
    if sport is not None:
        return sport == "cycling"
    return bool(np.nanmedian(speed) > RIDE_FROM_MPS) if np.isfinite(speed).any() else \
        session.power is not None


def run_or_ride(speed_mps: NDArray[np.float64], cadence_spm: NDArray[np.float64] | None
                ) -> str | None:
    """Why a session that names no sport, priced on foot (the median speed at most
    :data:`RIDE_FROM_MPS`), may have been a ride; None when it cannot have been, or is
    priced as a ride. It may when its moving speeds' median is at least
    :data:`EITHER_SPORT_FROM_MPS` and no stepping cadence (:data:`RUN_FROM_SPM` or more,
    as recorded) says it was a run: a pedal rate (60-100 a minute) says nothing either
    way, it is a stride rate too.

    ``speed_mps``: per sample or per epoch (NaN where unknown); ``cadence_spm``: the
    cadence as the file recorded it (not doubled from strides), or None."""
    speed = np.asarray(speed_mps, dtype=np.float64)
    known = speed[np.isfinite(speed)]
    moving = known[known >= MOVING_MPS]
    if moving.size == 0 or float(np.median(known)) > RIDE_FROM_MPS:  # priced as a ride
        return None
    median = float(np.median(moving))
    if median < EITHER_SPORT_FROM_MPS:
        return None
    if cadence_spm is not None:
        steps = np.asarray(cadence_spm, dtype=np.float64)
        steps = steps[np.isfinite(steps) & (steps > 0)]
        if steps.size and float(np.median(steps)) >= RUN_FROM_SPM:
            return None
    s = np.array([median])
    run = float(100.0 * foot_vo2(s, np.zeros(1), np.ones(1, bool))[0] / RUN_VO2_RESERVE)
    ride = float(100.0 * rider_watts(s, np.zeros(1))[0] / RIDE_MAX_POWER_W)
    return (f"the file names no sport, and its pace (median {median:.1f} m/s, "
            f"{3.6 * median:.0f} km/h while moving) is a fast run or a slow ride: it is "
            f"priced as a run ({run:.0f} % of the reference person's reserve; as a ride "
            f"{ride:.0f} %), so how hard it was is unknown")


def run_or_ride_of_samples(t: NDArray[np.float64], speed_mps: NDArray[np.float64],
                           cadence_spm: NDArray[np.float64] | None) -> str | None:
    """:func:`run_or_ride` of speed samples at times ``t`` (s): judged on their minute
    means, as the features see them (a GPS track with times to the whole second gives
    samples that swing between half and twice the pace)."""
    ok = np.isfinite(t) & np.isfinite(speed_mps)
    if not ok.any():
        return None
    t, v = t[ok] - t[ok].min(), speed_mps[ok]
    grid = EpochGrid(int(t.max() // 60.0) + 1, 60.0)
    return run_or_ride(epoch_mean(t, v, grid), cadence_spm)


def rider_watts(speed: NDArray[np.float64], grade: NDArray[np.float64]
                ) -> NDArray[np.float64]:
    """The reference rider's power at ``speed`` (m/s) on ``grade`` (see the module text)."""
    return 84.0 * 9.81 * speed * (0.005 + grade) + 0.5 * 1.2 * 0.35 * speed**3


def _step_cadence(session: Session, grid: EpochGrid, ctx: FeatureContext
                  ) -> NDArray[np.float64]:
    """Steps per minute in each epoch, to tell running from walking: the cadence channel
    (a footpod, a watch), else the steps the accelerometer found (``ctx.cadence_1hz``,
    over the epoch's stepping seconds when it stepped half the epoch); NaN where neither
    says. A jog at 1.9 m/s is running, which speed alone (below 2.2 m/s) would call a
    brisk walk and price at half its cost."""
    if session.cadence is not None:
        c = epoch_mean(session.cadence.t, session.cadence.values, grid)
        return np.where(c > 0, c, np.nan)
    if ctx.cadence_1hz is None or grid.epoch_s != round(grid.epoch_s):
        return np.full(grid.n, np.nan)
    per = int(grid.epoch_s)
    seconds = np.zeros(grid.n * per)
    take = min(seconds.size, ctx.cadence_1hz.size)
    seconds[:take] = ctx.cadence_1hz[:take]
    seconds = seconds.reshape(grid.n, per)
    stepping = (seconds > 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(stepping >= per / 2, seconds.sum(axis=1) / stepping, np.nan)


def _recorded_cadence(session: Session) -> NDArray[np.float64] | None:
    """The session's cadence as its file recorded it; None without one, or when the
    reader doubled it from strides (a doubled pedal rate looks like a run's steps)."""
    doubled = any(r.startswith("cadence:") and "doubled" in r
                  for r in session.provenance.repairs)
    return None if session.cadence is None or doubled else session.cadence.values


def workload_features(session: Session, grid: EpochGrid, config: Config,
                      ctx: FeatureContext) -> dict[str, NDArray[np.float64]]:
    """Per epoch: grade, power, the reference intensity of the workload and whether the
    person moved (see the module text). All NaN (``moving`` 0) without a workload."""
    nan = np.full(grid.n, np.nan)
    speed = nan if session.speed is None else epoch_mean(session.speed.t, session.speed.mps,
                                                         grid)
    power = nan if session.power is None else epoch_mean(session.power.t,
                                                         session.power.values, grid)
    grade = _grade(session, speed, grid)
    has_power = bool(np.nanmax(power, initial=0.0) > MOVING_W)
    has_speed = bool(np.nanmax(speed, initial=0.0) >= MOVING_MPS)
    run_ref = None  # on foot without a cadence: the run's price of an uncertain pace
    if _cycling(session, speed) and has_power:
        ref, moving = 100.0 * power / RIDE_MAX_POWER_W, power >= MOVING_W
    elif _cycling(session, speed) and has_speed:
        watts = rider_watts(speed, grade)
        ref, moving = 100.0 * np.clip(watts, 0.0, None) / RIDE_MAX_POWER_W, speed >= MOVING_MPS
    elif has_speed:
        if session.provenance.sport is None and session.grade is None:  # no treadmill's
            doubt = run_or_ride(speed, _recorded_cadence(session))  # incline says foot
            if doubt is not None:
                ctx.workload_doubts.append(f"{doubt} ({SPORT_HINT})")
        cadence = _step_cadence(session, grid, ctx)
        running = np.where(np.isfinite(cadence), cadence >= RUN_FROM_SPM, speed >= RUN_FROM_MPS)
        net_vo2 = foot_vo2(speed, grade, running)
        ref, moving = 100.0 * net_vo2 / RUN_VO2_RESERVE, speed >= MOVING_MPS
        with np.errstate(invalid="ignore"):
            either = ~np.isfinite(cadence) & (speed >= EITHER_GAIT_FROM_MPS) & ~running
        run_ref = np.where(either, 100.0 * foot_vo2(speed, grade, either) / RUN_VO2_RESERVE,
                           np.nan)
    else:
        return {"grade": grade, "power_w": power, "workload_ref": nan,
                "moving": np.zeros(grid.n)}
    with np.errstate(invalid="ignore"):
        moving = np.where(np.isfinite(ref), moving, False)
    ref = np.where(moving, ref, np.where(np.isfinite(ref), 0.0, np.nan))
    out = {"grade": grade, "power_w": power, "workload_ref": ref,
           "moving": moving.astype(np.float64)}
    if run_ref is not None and np.any(np.isfinite(run_ref) & moving):
        out["workload_ref_run"] = np.where(moving, run_ref, np.nan)
    return out


def _workload_compute(_: object, session: Session, grid: EpochGrid, config: Config,
                      ctx: FeatureContext) -> dict[str, NDArray[np.float64]]:
    return workload_features(session, grid, config, ctx)


WORKLOAD_FEATURES = StreamFeatures(("speed", "power"), WORKLOAD_COLUMNS, _workload_compute,
                                   fill={"moving": 0.0, "grade": 0.0})


def has_workload(session: Session) -> bool:
    """Whether the session carries a workload channel (speed or power)."""
    return session.speed is not None or session.power is not None


# --------------------------------------------------------------------------- relation


def settled_epochs(demand: NDArray[np.float64], workload_ref: NDArray[np.float64],
                   moving: NDArray[np.float64], epoch_min: float
                   ) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """The epochs a heart-rate–workload relation is fitted on, and the minutes of movement
    at each epoch: moving with a workload and a heart-rate ``demand`` (bpm or %HRR), but
    not the first two moving epochs of each stretch (heart rate still rising to meet the
    workload)."""
    on = np.nan_to_num(moving) > 0
    settled = on & np.concatenate([[False, False], on[1:-1] & on[:-2]]) if on.size > 2 else on
    use = settled & np.isfinite(demand) & np.isfinite(workload_ref) & (workload_ref > 0)
    return use, moving_minutes(moving, epoch_min)


GAIT_SPEED_STEP_MPS = 0.1  # speeds within one step are one pace: one gait
# Only near-flat epochs vote on a pace's gait: there a jog costs about twice a walk (ACSM),
# while on a climb the walk's steeper grade term closes the gap (equal at 11 %), and heart
# rate raised by the climb would read as a jog.
GAIT_VOTE_MAX_GRADE = 0.02


def resolve_gait(pct_hrr_demand: NDArray[np.float64], workload_ref: NDArray[np.float64],
                 run_ref: NDArray[np.float64] | None, speed_mps: NDArray[np.float64],
                 grade: NDArray[np.float64], moving: NDArray[np.float64], epoch_min: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``workload_ref`` with the paces whose gait speed alone cannot tell (``run_ref``
    finite: no cadence, 1.5-2.2 m/s) priced as a run where the heart rate says they were.

    Speed alone calls 2.0 m/s a brisk walk, at half the cost of a jog at that speed; a
    person who runs from 1.7 m/s (a treadmill protocol that raises the incline, then
    switches to running) then seems to slow down as the belt speeds up, and a ramp's trend
    breaks. The heart rate knows. The relation is fitted on the epochs whose gait is
    certain (with too few of them, on every epoch with the uncertain ones read as walks);
    each uncertain epoch on the flat (:data:`GAIT_VOTE_MAX_GRADE`) votes for the gait whose
    workload, through that relation, is closer to its heart-rate demand, and the pace from
    which the person runs is the one that best separates the votes
    (:func:`dosewatch.relation.runs_from`, paces in steps of :data:`GAIT_SPEED_STEP_MPS`):
    one slow minute read as a jog does not make every faster pace a jog. Flat epochs at or
    above that pace are priced as runs; on a climb the two readings cost nearly the same,
    and a treadmill protocol that walks a 4 % incline at 2.0 m/s before it runs on the
    flat at 2.02 m/s keeps its walk. Without heart rate, paces keep the walk.

    Returns:
        The workload, and per epoch what heart rate said of an uncertain one: 1 a jog, 0
        a walk (NaN for the others: gait certain, or no heart rate to tell)."""
    unknown = np.full(np.shape(workload_ref), np.nan)
    if run_ref is None or not np.isfinite(pct_hrr_demand).any():
        return workload_ref, unknown
    either = np.isfinite(run_ref) & np.isfinite(speed_mps)
    if not either.any():
        return workload_ref, unknown
    demand = np.asarray(pct_hrr_demand, dtype=np.float64)
    pace = np.floor(np.nan_to_num(speed_mps) / GAIT_SPEED_STEP_MPS) * GAIT_SPEED_STEP_MPS
    # On the epochs whose gait is certain, when there are enough of them: read as walks,
    # a run of jogs at the end of a session looks like drift.
    relation = relate(demand, np.where(either, np.nan, workload_ref), moving, epoch_min) \
        or relate(demand, workload_ref, moving, epoch_min)
    if relation is None:
        return workload_ref, unknown
    drift = relation.drift * moving_minutes(moving, epoch_min)
    with np.errstate(invalid="ignore"):
        closer = np.abs(relation.k * run_ref + drift - demand) < \
            np.abs(relation.k * workload_ref + drift - demand)
        flat = np.abs(grade) <= GAIT_VOTE_MAX_GRADE
    voting = either & np.isfinite(demand) & flat
    threshold = runs_from(pace[voting & ~closer], pace[voting & closer])
    run = either & flat & (pace >= (np.inf if threshold is None else threshold))
    said = np.where(voting, run.astype(np.float64), np.nan)
    return np.where(run, run_ref, workload_ref), said


def relate(pct_hrr_demand: NDArray[np.float64], workload_ref: NDArray[np.float64],
           moving: NDArray[np.float64], epoch_min: float,
           min_epochs: int = 8) -> WorkloadRelation | None:
    """The relation of one session: :func:`fit_relation` on its
    :func:`settled_epochs`."""
    use, t = settled_epochs(pct_hrr_demand, workload_ref, moving, epoch_min)
    return fit_relation(pct_hrr_demand[use], workload_ref[use], t[use], min_epochs)
