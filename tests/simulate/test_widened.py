"""The widened simulator (issue 11): drift, the day's HR_rest, outdoors (hills, pacing,
stops, GPS, altitude and grade), cycling, watch-export modalities, the wide population,
multi-session participants and the protocols a real study meets. Each test checks a
number against what the module docstrings promise."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dosewatch.analysis import analyze_session
from dosewatch.simulate import (
    ALL_PROTOCOLS,
    CYCLE,
    PROTOCOLS,
    REST,
    RUN,
    WALK,
    WIDE_PROTOCOLS,
    Options,
    Outdoor,
    Person,
    Segment,
    build_workload,
    oracle,
    random_day,
    random_person,
    simulate,
    simulate_participant,
    workload_intensity,
)
from dosewatch.simulate.heart import true_heart_rate
from dosewatch.simulate.options import HEAT_TIME_CONSTANT_MIN
from dosewatch.simulate.outdoor import gps_speed, grade_from_altitude
from dosewatch.simulate.workload import bike_speed, cycling_power, effective_grade
from dosewatch.spec.labels import Label
from dosewatch.spec.trend import theil_sen

RUNNER = Person(
    id="runner", age=30.0, sex="female", hr_rest=52.0, hr_max=188.0, vo2max=54.0,
    tau_on_s=28.0, tau_off_s=55.0, drift_bpm_per_min=0.2, height_m=1.68,
    cadence_offset_spm=1.0,
)


def people(n: int, seed: int, population: str = "wide") -> list[Person]:
    rng = np.random.default_rng(seed)
    return [random_person(rng, id=f"w{seed}-{k}", population=population) for k in range(n)]


def per_minute(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    minute = (np.asarray(t) // 60).astype(int)
    return np.bincount(minute, x) / np.maximum(np.bincount(minute), 1)


def slope_per_min(x: np.ndarray) -> float:
    return float(theil_sen(x[None, :], np.arange(x.size, dtype=float))[0])


def runs_of(mask: np.ndarray) -> np.ndarray:
    padded = np.concatenate([[False], mask, [False]])
    return np.flatnonzero(padded[1:] != padded[:-1]).reshape(-1, 2)


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"options": Options(outdoor=Outdoor())}, "outdoors already"),
    ({"modality": "hr+speed", "options": Options(workload_channels=False)}, "workload"),
])
def test_options_a_protocol_cannot_take_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate("outdoor_run", RUNNER, **kwargs)
    with pytest.raises(TypeError, match="Options"):
        simulate("outdoor_run", RUNNER, options="heat")


def test_rides_stay_indoors():
    with pytest.raises(ValueError, match="bike"):
        simulate("steady_ride", RUNNER, options=Options(outdoor=Outdoor()))


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Options(drift_bpm_per_min=3.0), "drift_bpm_per_min"),
    (lambda: Options(hr_rest_shift_bpm=-20.0), "hr_rest_shift_bpm"),
    (lambda: Outdoor(pacing="cadence"), "effort, speed"),
    (lambda: Outdoor(hills=0.3), "hills"),
    (lambda: Outdoor(hill_length_m=(500.0, 100.0)), "hill_length_m"),
    (lambda: Outdoor(stops_per_hour=-1.0), "stops_per_hour"),
])
def test_bad_options_name_what_is_wrong(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_an_option_changes_only_what_it_is_about():
    """Each option draws from its own stream: the drift changes the heart rate and
    nothing else; the acceleration, speed and truth stay those of the same seed."""
    plain = simulate("steady_vigorous", RUNNER, seed=3, acc_fs=25.0)
    hot = simulate("steady_vigorous", RUNNER, seed=3, acc_fs=25.0,
                   options=Options(drift_bpm_per_min=0.8))
    np.testing.assert_array_equal(plain.session.acc.xyz, hot.session.acc.xyz)
    np.testing.assert_array_equal(plain.session.speed.mps, hot.session.speed.mps)
    np.testing.assert_array_equal(plain.truth.labels, hot.truth.labels)
    assert hot.truth.hr_bpm[-600:].mean() > plain.truth.hr_bpm[-600:].mean() + 5


# --- drift -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 1.0])
def test_drift_runs_at_the_asked_rate(rate):
    """At a constant 60 %HRR the heart rate rises at the asked bpm/min (slightly less as
    the 3-h time constant bends it) over minutes 10-40."""
    intensity = np.concatenate([np.full(300, 5.0), np.full(2700, 60.0)])
    slopes = []
    for k, p in enumerate(people(4, seed=11)):
        p = dataclasses.replace(p, hr_max=p.hr_rest + 160.0)  # room to drift
        hr = true_heart_rate(intensity, p, np.random.default_rng(k), rate,
                             HEAT_TIME_CONSTANT_MIN * 60.0)
        slopes.append(slope_per_min(per_minute(np.arange(hr.size), hr)[15:45]))
    assert np.mean(slopes) == pytest.approx(rate * 0.9, abs=0.05 + 0.1 * rate), slopes


def test_heat_drift_is_steady_in_truth_and_a_ramp_to_the_naive_eye():
    """The hard case the simulator must offer: 1 bpm/min at a constant workload rises
    faster than the accelerating threshold in %HRR, while the truth stays steady."""
    person = dataclasses.replace(RUNNER, hr_rest=60.0, hr_max=180.0)  # a 120-bpm reserve
    sim = simulate("steady_vigorous", person, modality="hr", placement="chest", seed=5,
                   options=Options(drift_bpm_per_min=1.0))
    truth = sim.truth
    assert truth.drift_bpm_per_min == 1.0 and truth.drift_time_constant_min == 180.0
    assert not np.any(truth.labels == Label.ACCELERATING)
    steady = np.flatnonzero(truth.intensity == truth.intensity.max())
    pct = 100 * (truth.hr_bpm - person.hr_rest) / (person.hr_max - person.hr_rest)
    first = steady[0] // 60 + 3
    minutes = per_minute(np.arange(pct.size), pct)[first: first + 20]
    assert slope_per_min(minutes) > 0.75


def test_random_days_keep_drift_and_hr_rest_in_range():
    days = [random_day(np.random.default_rng(k)) for k in range(300)]
    drift = np.array([d.drift_bpm_per_min for d in days])
    shift = np.array([d.hr_rest_shift_bpm for d in days])
    assert drift.min() >= 0 and drift.max() <= 1.0 and np.mean(drift > 0.3) == pytest.approx(
        0.3, abs=0.08)
    assert np.abs(shift).max() <= 3.0 and shift.std() > 1.2


def test_the_days_hr_rest_moves_the_heart_not_the_profile():
    sim = simulate("rest_only", RUNNER, modality="hr", placement="chest", seed=2,
                   options=Options(hr_rest_shift_bpm=6.0))
    base = simulate("rest_only", RUNNER, modality="hr", placement="chest", seed=2)
    assert sim.session.profile.hr_rest == RUNNER.hr_rest and sim.truth.hr_rest_day == 58.0
    assert np.median(sim.truth.hr_bpm - base.truth.hr_bpm) == pytest.approx(6.0 * 0.95, abs=0.6)


# --- outdoors ---------------------------------------------------------------------------------


def _outdoor(pacing: str, **kwargs) -> object:
    return simulate("steady_vigorous", RUNNER, modality="hr", seed=4,
                    options=Options(outdoor=Outdoor(pacing=pacing, **kwargs)))


def test_effort_pacing_holds_the_effort_and_varies_the_speed():
    sim = _outdoor("effort", hills=0.05)
    truth = sim.truth
    run = truth.gait == RUN
    plan = ALL_PROTOCOLS["steady_vigorous"](RUNNER, np.random.default_rng(
        np.random.SeedSequence(4).spawn(1)[0]))
    np.testing.assert_allclose(truth.intensity, plan.intensity, atol=0.01)
    assert truth.speed_mps[run].std() / truth.speed_mps[run].mean() > 0.05
    assert np.corrcoef(truth.speed_mps[run], truth.grade[run])[0, 1] < -0.8  # slower uphill
    assert truth.setting == "outdoor" and np.abs(truth.grade).max() == pytest.approx(0.05, 0.05)


def test_speed_pacing_holds_the_speed_and_varies_the_effort_within_the_swing():
    sim = _outdoor("speed", hills=0.05, max_effort_swing=5.0)
    truth = sim.truth
    run = truth.gait == RUN
    assert np.ptp(truth.speed_mps[run]) < 1e-9
    level = truth.intensity[run]
    assert 2.0 < np.ptp(level) <= 10.0 + 1e-6
    # Harder uphill, exactly as the equations say (downhill grades counting half).
    assert np.corrcoef(level, effective_grade(truth.grade[run]))[0, 1] > 0.9999


def test_the_truth_is_the_demand_of_the_workload_done_outdoors():
    for k, p in enumerate(people(8, seed=21)):
        for pacing in ("effort", "speed"):
            work = simulate("walk_then_run", p, modality="hr", seed=k, options=Options(
                outdoor=Outdoor(pacing=pacing, hills=0.06))).truth
            moving = work.gait > 0
            np.testing.assert_allclose(
                workload_intensity(work.gait, work.speed_mps, work.grade, p)[moving],
                work.intensity[moving], atol=1e-9)


def test_altitude_rises_as_grade_times_speed_and_the_grade_channel_follows_it():
    sim = _outdoor("effort", hills=0.05)
    truth = sim.truth
    # Exact: the altitude's change each second is the grade times the distance covered.
    mid_speed = 0.5 * (truth.speed_mps[1:] + truth.speed_mps[:-1])
    mid_grade = 0.5 * (truth.grade[1:] + truth.grade[:-1])
    np.testing.assert_allclose(np.diff(truth.altitude_m), mid_grade * mid_speed, atol=2e-3)
    # The recorded (barometric) altitude gives the true grade back, with the distance.
    altitude = sim.session.altitude
    assert sim.session.grade is None  # a watch records altitude, not grade
    np.testing.assert_array_equal(altitude.t, truth.t_s)
    grade = grade_from_altitude(altitude.values, np.cumsum(truth.speed_mps))
    moving = (truth.gait == RUN) & np.isfinite(grade)
    assert np.median(np.abs(grade[moving] - truth.grade[moving])) < 0.01
    assert np.corrcoef(grade[moving], truth.grade[moving])[0, 1] > 0.8
    # The altimeter: 0.2-m steps, within a few metres of the route plus its start height.
    alt = altitude.values
    assert np.allclose(np.round(alt / 0.2) * 0.2, alt)
    assert np.ptp(alt - truth.altitude_m) < 8.0


def test_grade_from_altitude_on_a_known_slope():
    distance = np.cumsum(np.full(200, 3.0))
    grade = grade_from_altitude(0.04 * distance, distance)
    assert np.isnan(grade[:10]).all() and np.isnan(grade[-10:]).all()
    np.testing.assert_allclose(grade[10:-10], 0.04)
    standing = grade_from_altitude(np.zeros(50), np.zeros(50))
    assert np.isnan(standing).all()


def test_stops_at_crossings():
    sim = simulate("steady_vigorous", RUNNER, modality="hr", seed=6, placement="chest",
                   options=Options(outdoor=Outdoor(stops_per_hour=12.0)))
    truth = sim.truth
    moving = np.flatnonzero(truth.gait > 0)
    inside = np.zeros(truth.gait.size, bool)
    inside[moving[0]:moving[-1]] = True
    stops = runs_of((truth.gait == REST) & inside)
    lengths = stops[:, 1] - stops[:, 0]
    assert len(stops) >= 2 and lengths.min() >= 10 and lengths.max() <= 60
    for a, b in stops:
        assert np.all(truth.speed_mps[a:b] == 0) and truth.intensity[a:b].max() < 10
        # The heart lags: at the end of a stop it is still far above standing's level.
        standing = RUNNER.hr_rest + truth.intensity[a] / 100 * (RUNNER.hr_max - RUNNER.hr_rest)
        assert truth.hr_bpm[b - 1] > standing + 20


def test_gps_speed_has_noise_spikes_and_dropouts():
    true = np.concatenate([np.zeros(120), np.full(3600, 3.2), np.zeros(120)])
    errors, spikes, dropouts = [], 0, []
    for k in range(6):
        t, v, artefacts = gps_speed(true, np.random.default_rng(k))
        clean = np.ones(true.size, bool)
        for a in artefacts:
            clean[int(a.start_s):int(a.end_s) + 4] = False
            if a.kind == "gps_spike":
                spikes += 1
                span = np.arange(a.start_s, a.end_s).astype(int)
                inside = np.isin(t, span)
                assert np.all(v[inside] > true[t[inside].astype(int)] + 0.7)
            else:
                dropouts.append(a.end_s - a.start_s)
                assert not np.isin(np.arange(a.start_s, a.end_s), t).any()
        idx = t.astype(int)
        ok = clean[idx] & (true[idx] > 0) & (idx > 125)
        errors.append(np.abs(v[ok] - 3.2))
        assert v.min() >= 0 and np.allclose(np.round(v, 3), v)
        assert np.median(v[(idx < 115) & clean[idx]]) < 0.3  # standing still: jitter only
    err = np.concatenate(errors)
    assert 0.02 < np.median(err) < 0.2 and np.percentile(err, 99) < 0.8
    assert 12 <= spikes <= 45 and 6 <= len(dropouts) and min(dropouts) >= 10
    assert max(dropouts) <= 60


def test_outdoor_sessions_carry_gps_and_their_artefacts_reach_the_truth():
    sim = simulate("outdoor_run", RUNNER, modality="hr+speed", seed=1)
    kinds = {a.kind for a in sim.truth.artefacts}
    assert kinds & {"gps_spike", "gps_dropout"}
    assert sim.session.speed.t.size < sim.truth.t_s.size or "gps_spike" in kinds
    exact = simulate("outdoor_run", RUNNER, modality="hr+speed", seed=1,
                     options=Options(gps=False))
    np.testing.assert_allclose(exact.session.speed.mps, exact.truth.speed_mps, atol=5e-4)


# --- cycling ---------------------------------------------------------------------------------


def test_power_follows_intensity_by_the_persons_efficiency():
    for k, p in enumerate(people(10, seed=31)):
        truth = simulate("steady_ride", p, modality="hr", seed=k).truth
        ride = truth.gait == CYCLE
        assert ride.sum() > 30 * 60 and truth.setting == "trainer"
        expected = (3.5 + truth.intensity / 100 * (p.vo2max - 3.5) - 7.0) * p.weight_kg / (
            10.8 * p.cycling_cost)
        np.testing.assert_allclose(truth.power_w[ride], expected[ride], rtol=1e-9)
        np.testing.assert_allclose(workload_intensity(truth.gait, truth.speed_mps, 0.0, p,
                                                      truth.power_w)[ride],
                                   truth.intensity[ride], atol=1e-9)
        assert 70 <= truth.cadence_spm[ride].min() and truth.cadence_spm[ride].max() <= 100
        assert np.all(truth.power_w[~ride] == 0)


def test_power_is_plausible_and_so_is_the_speed_it_gives():
    p = dataclasses.replace(RUNNER, vo2max=45.0, weight_kg=70.0)
    watts = cycling_power(60.0, p)
    assert 120 < watts < 160  # about 140 W at 60 %HRR
    speeds = bike_speed(np.array([0.0, 100.0, 200.0, 300.0]), p)
    assert speeds[0] == 0 and 6.5 < speeds[1] < 8 and 8.5 < speeds[2] < 10 and speeds[3] < 11.5


def test_ride_streams_power_and_cadence_and_little_acceleration():
    sim = simulate("steady_ride", RUNNER, modality="hr+acc", seed=2, acc_fs=25.0)
    s, truth = sim.session, sim.truth
    assert s.provenance.sport == "cycling" and s.power is not None and s.cadence is not None
    ride = truth.gait[s.power.t.astype(int)] == CYCLE
    rel = s.power.values[ride] / truth.power_w[s.power.t.astype(int)][ride] - 1
    assert abs(np.median(rel)) < 0.02 and np.std(rel) < 0.1
    assert np.all(s.power.values == np.round(s.power.values))
    xyz = s.acc.xyz.astype(float)
    enmo = np.maximum(np.linalg.norm(xyz, axis=1) - 1, 0)
    on_bike = truth.gait[np.minimum(s.acc.t.astype(int), truth.gait.size - 1)] == CYCLE
    assert np.mean(enmo[on_bike]) < 0.05


def test_build_workload_rides():
    work = build_workload([Segment(60, 5.0), Segment(600, 50.0, mode="ride")], RUNNER)
    assert work.power_w is not None and (work.gait == CYCLE).sum() == 600
    assert work.speed_mps[60:].min() > 5 and work.power_w[:60].max() == 0


# --- modalities ------------------------------------------------------------------------------


def test_watch_export_modalities():
    both = simulate("rest_only", RUNNER, modality="hr+speed", seed=1).session
    assert both.hr is not None and both.acc is None and both.speed is not None
    assert both.speed.t.size == both.hr.t.size + 0 or both.speed.t.size >= 20 * 60
    alone = simulate("steady_intermediate", RUNNER, modality="speed", seed=1).session
    assert alone.hr is None and alone.acc is None and alone.speed.t.size > 0
    # The watch without its strap: a session of its own, analysed from the speed with the
    # reference person's fitness, and marked uncertain for it.
    result = analyze_session(alone)
    assert result.intensity_source == "workload" and result.certainty.level == "low"
    assert not result.info.has_hr and result.info.relation.source == "population"
    bare = simulate("steady_intermediate", RUNNER, modality="hr", seed=1,
                    options=Options(workload_channels=False))
    assert bare.session.speed is None and bare.session.grade is None
    assert bare.truth.speed_mps.max() > 0


def test_treadmill_sessions_carry_the_incline_when_asked():
    unfit = dataclasses.replace(RUNNER, vo2max=30.0)
    plain = simulate("ramp", unfit, modality="hr", seed=2).session
    assert plain.grade is None and plain.altitude is None  # as before: speed alone
    sim = simulate("ramp", unfit, modality="hr", seed=2, options=Options(incline=True))
    np.testing.assert_allclose(sim.session.grade.values, sim.truth.grade, atol=5e-4)
    assert sim.session.grade.values.max() > 0  # an unfit person walks uphill
    np.testing.assert_array_equal(sim.session.hr.bpm, plain.hr.bpm)


# --- people ----------------------------------------------------------------------------------


def test_the_wide_population_spans_walkers_to_fast_runners():
    ps = people(500, seed=41)
    vo2 = np.array([p.vo2max for p in ps])
    assert vo2.min() >= 25 and vo2.max() <= 75 and np.percentile(vo2, 3) < 30
    assert np.percentile(vo2, 97) > 62
    fast = [p for p in ps if p.vo2max > 65]
    vigorous_speed = [(0.7 * (p.vo2max - 3.5)) / 12.0 for p in fast]
    assert min(vigorous_speed) > 3.5  # fast runners at 70 %HRR
    walkers = [p for p in ps if workload_intensity(RUN, 2.0, 0.0, p) > 80]
    assert walkers  # people who cannot jog at vigorous intensity
    for p in ps:
        assert 40 <= p.hr_rest <= 90 and 15 <= p.tau_on_s <= 55 and 0 <= p.drift_bpm_per_min <= 0.4
        assert 0.9 <= p.cycling_cost <= 1.1 and 75 <= p.pedal_rpm <= 95


def test_typical_people_get_cycling_traits_without_drawing_more():
    """Existing seeds keep their people (``test_defaults.py`` pins them): the cycling
    traits come from a generator of their own, so the caller's stream moves on exactly as
    it did, and the same seed gives the same traits."""
    rng = np.random.default_rng(5)
    a = random_person(rng, id="x")
    after = rng.random()
    rng = np.random.default_rng(5)
    b = random_person(rng, id="x", population="typical")
    assert a == b and rng.random() == after
    assert 0.9 <= a.cycling_cost <= 1.1 and 75 <= a.pedal_rpm <= 95
    others = {random_person(np.random.default_rng(k)).pedal_rpm for k in range(20)}
    assert len(others) > 15
    with pytest.raises(ValueError, match="typical, wide"):
        random_person(np.random.default_rng(0), population="athletes")


# --- multi-session participants ---------------------------------------------------------------


def test_a_participant_is_one_person_on_different_days():
    person = people(1, seed=51)[0]
    plan = [("steady_intermediate", "hr"), ("walk_then_run", "acc"), ("steady_vigorous", "hr"),
            ("bout_30plus", "hr+acc"), ("outdoor_run", "hr+speed")]
    sims = simulate_participant(person, plan, seed=9, placement="chest")
    assert [s.truth.protocol for s in sims] == [p for p, _ in plan]
    assert len({s.session.name for s in sims}) == len(plan)
    days = [s.truth.hr_rest_day - person.hr_rest for s in sims]
    assert max(map(abs, days)) <= 3.0 and len(set(days)) == len(days)
    for sim in sims:
        assert sim.truth.person == person and sim.session.profile.hr_rest == person.hr_rest
        assert 0.0 <= sim.truth.drift_bpm_per_min <= 1.0
        # Shared physiology: early in each effort the heart sits where the person's reserve
        # (with the day's HR_rest) puts it, whatever the session.
        truth = sim.truth
        settled = np.flatnonzero((truth.gait == RUN) & (truth.intensity > 40))[150:450]
        if settled.size:
            reserve = person.hr_max - truth.hr_rest_day
            predicted = truth.hr_rest_day + truth.intensity[settled] / 100 * reserve
            assert np.median(truth.hr_bpm[settled] - predicted) == pytest.approx(1.0, abs=4.0)
    again = simulate_participant(person, plan[:2], seed=9, placement="chest")
    np.testing.assert_array_equal(again[1].session.acc.xyz, sims[1].session.acc.xyz)


def test_without_day_variation_every_session_is_the_persons_own_day():
    person = people(1, seed=52)[0]
    sims = simulate_participant(person, [("rest_only", "hr")] * 2, day_variation=False)
    assert all(s.truth.hr_rest_day == person.hr_rest for s in sims)
    assert all(s.truth.drift_bpm_per_min is None for s in sims)


# --- protocols a real study meets ---------------------------------------------------------------


def test_wide_protocols_are_kept_apart_from_the_classic_ones():
    assert set(WIDE_PROTOCOLS) == {"intervals", "ramp_to_exhaustion", "outdoor_run",
                                   "steady_ride"}
    assert not set(WIDE_PROTOCOLS) & set(PROTOCOLS)
    assert ALL_PROTOCOLS == {**PROTOCOLS, **WIDE_PROTOCOLS}


@pytest.mark.parametrize(("protocol", "classes"), [
    ("intervals", {"constant"}),
    ("ramp_to_exhaustion", {"accelerating"}),
    ("outdoor_run", {"constant", "intermediate"}),
    ("steady_ride", {"constant", "intermediate"}),
])
def test_wide_protocols_give_their_session_class(protocol, classes):
    accelerating = total = 0
    for k, p in enumerate(people(30, seed=61) + people(10, seed=62, population="typical")):
        ref = oracle.reference(WIDE_PROTOCOLS[protocol](p, np.random.default_rng(k)).intensity)
        assert ref.session_class in classes, (protocol, p, k)
        accelerating += int(np.sum(ref.labels == Label.ACCELERATING))
        total += ref.labels.size
    if protocol in ("intervals", "steady_ride"):
        assert accelerating == 0  # up and down, or steady: never a ramp
    elif protocol == "outdoor_run":
        assert accelerating < 0.02 * total  # a hill after the warm-up, now and then


def test_ramp_to_exhaustion_recovers_with_a_high_heart_rate_that_does_not_qualify():
    for k, p in enumerate(people(6, seed=71)):
        truth = simulate("ramp_to_exhaustion", p, modality="hr", seed=k).truth
        peak = int(np.flatnonzero(truth.intensity == truth.intensity.max())[-1])
        assert truth.intensity[peak] >= 87  # 95-100, a staircase's last step up to 8 short
        after = slice(peak + 1, truth.intensity.size)
        assert truth.intensity[after].max() < 30
        first_after = (peak + 1) // 60 + 1  # the first whole minute after the drop
        assert not np.any(truth.labels[first_after:] >= Label.CONSTANT) or np.all(
            truth.epoch_intensity[first_after:] < 40)
        assert all(b.end_s <= peak + 60 for b in truth.bouts)
        # Three minutes into recovery the heart is still well above what the walk asks.
        at = peak + 180
        easy = truth.hr_rest_day + truth.intensity[at] / 100 * (p.hr_max - truth.hr_rest_day)
        assert truth.hr_bpm[at] > easy + 15, (p, truth.hr_bpm[at], easy)


def test_intervals_alternate_hard_work_and_recovery():
    truth = simulate("intervals", RUNNER, modality="hr", seed=3).truth
    hard = runs_of(truth.intensity >= 65)
    assert len(hard) >= 4
    assert len({b - a for a, b in hard}) == 1 and (hard[0, 1] - hard[0, 0]) % 60 == 0


def test_outdoor_run_is_outdoors_with_heat_drift_and_gps():
    seen_stops = seen_speed_pacing = 0
    for k, p in enumerate(people(10, seed=81)):
        sim = simulate("outdoor_run", p, modality="hr+speed", seed=k)
        truth = sim.truth
        assert truth.setting == "outdoor" and sim.session.altitude is not None
        assert 0.0 <= truth.drift_bpm_per_min <= 1.0
        assert truth.drift_time_constant_min == HEAT_TIME_CONSTANT_MIN
        assert sim.session.provenance.sport == "running"
        moving = np.flatnonzero(truth.gait > 0)
        seen_stops += bool(np.any(truth.gait[moving[0]:moving[-1]] == REST))
        main = truth.gait == truth.gait[moving[len(moving) // 2]]
        seen_speed_pacing += np.ptp(truth.speed_mps[main & (truth.speed_mps > 0)]) < 1e-9
    assert seen_stops >= 3 and 1 <= seen_speed_pacing <= 9


def test_outdoor_run_walks_when_the_person_cannot_run_slowly():
    walker = dataclasses.replace(RUNNER, vo2max=26.0)
    truth = simulate("outdoor_run", walker, modality="hr", seed=2).truth
    assert np.any(truth.gait == WALK) and not np.any(truth.gait == RUN)


def test_the_evaluation_example_in_the_docstring_runs():
    """``dosewatch.simulate``'s "How to simulate a study for evaluation", on 2 people."""
    import textwrap

    import dosewatch.simulate as package

    doc = package.__doc__
    code = doc.split("every session with its truth::")[1].split("For one session")[0]
    code = textwrap.dedent(code).replace("range(40)", "range(2)")
    namespace: dict = {}
    exec(compile(code, "dosewatch.simulate docstring", "exec"), namespace)  # noqa: S102
    study = namespace["study"]
    assert len(study) == 10 and {s.truth.person.id for s in study} == {"E00", "E01"}
    assert sum(s.session.acc is None for s in study) == 4  # hr and hr+speed, per person
    assert all(s.truth.labels.size > 0 for s in study)
