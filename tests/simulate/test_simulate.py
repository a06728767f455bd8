"""Tests of dosewatch.simulate: the truth it claims, its protocols, its physiology and its
sensors. Every test can fail: each checks a number against the SPEC or the module's
documented model, not only that something runs."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest

from dosewatch.simulate import (
    PROTOCOLS,
    RUN,
    WALK,
    Person,
    Segment,
    build_workload,
    cadence_spm,
    epoch_means,
    oracle,
    random_person,
    simulate,
    synth_acceleration,
    synth_heart_rate,
    workload_intensity,
)
from dosewatch.simulate.acceleration import simulate_acceleration
from dosewatch.simulate.signals import asymmetric_lag
from dosewatch.spec.labels import Label
from dosewatch.spec.trend import theil_sen

# A fit runner: can run at intermediate and vigorous intensity, so the gait is running.
RUNNER = Person(
    id="runner", age=30.0, sex="female", hr_rest=52.0, hr_max=188.0, vo2max=54.0,
    tau_on_s=28.0, tau_off_s=55.0, drift_bpm_per_min=0.2, height_m=1.68,
    cadence_offset_spm=1.0, arm_swing=1.0, trunk_bounce=1.0,
)


def people(n: int, seed: int = 0) -> list[Person]:
    rng = np.random.default_rng(seed)
    return [random_person(rng, id=f"t{seed}-{k}") for k in range(n)]


def enmo_per_second(t: np.ndarray, xyz: np.ndarray, n_s: int) -> np.ndarray:
    enmo = np.maximum(np.linalg.norm(xyz.astype(np.float64), axis=1) - 1.0, 0.0)
    sec = np.minimum(t.astype(int), n_s - 1)
    return np.bincount(sec, enmo, minlength=n_s) / np.maximum(np.bincount(sec, minlength=n_s), 1)


def longest_run(mask: np.ndarray) -> int:
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1]).reshape(-1, 2)
    return int((edges[:, 1] - edges[:, 0]).max()) if edges.size else 0


# --- determinism and options --------------------------------------------------------------


def test_same_seed_same_session_other_seed_other_session():
    a = simulate("walk_then_run", RUNNER, acc_fs=25.0, seed=5)
    b = simulate("walk_then_run", RUNNER, acc_fs=25.0, seed=5)
    c = simulate("walk_then_run", RUNNER, acc_fs=25.0, seed=6)
    for x, y in ((a.session.hr.t, b.session.hr.t), (a.session.hr.bpm, b.session.hr.bpm),
                 (a.session.acc.xyz, b.session.acc.xyz), (a.truth.intensity, b.truth.intensity)):
        np.testing.assert_array_equal(x, y)
    assert a.truth.as_dict() == b.truth.as_dict()
    assert a.truth.intensity.size != c.truth.intensity.size or not np.array_equal(
        a.truth.intensity, c.truth.intensity)


def test_truth_does_not_depend_on_placement_modality_or_rate():
    a = simulate("bout_30plus", RUNNER, placement="wrist", modality="hr+acc", acc_fs=25.0, seed=3)
    b = simulate("bout_30plus", RUNNER, placement="chest", modality="hr", acc_fs=200.0, seed=3)
    np.testing.assert_array_equal(a.truth.intensity, b.truth.intensity)
    np.testing.assert_array_equal(a.truth.labels, b.truth.labels)


@pytest.mark.parametrize(("modality", "has_hr", "has_acc"),
                         [("hr+acc", True, True), ("hr", True, False), ("acc", False, True)])
def test_modality_gives_the_right_streams(modality, has_hr, has_acc):
    sim = simulate("steady_light", RUNNER, modality=modality, acc_fs=25.0, seed=1)
    assert (sim.session.hr is not None) == has_hr
    assert (sim.session.acc is not None) == has_acc
    assert sim.session.speed is not None  # a walking protocol has a treadmill speed
    assert sim.session.name == f"steady_light-wrist-{modality.replace('+', 'plus')}-s1"
    assert sim.session.provenance.source == "simulated:steady_light:seed1"
    assert sim.session.provenance.format == "simulated"
    assert sim.truth.modality == modality


def test_speed_stream_only_when_moving_and_matches_truth():
    for seed in range(6):
        sim = simulate("rest_only", RUNNER, modality="hr", seed=seed)
        assert (sim.session.speed is None) == (not sim.truth.gait.any())
    sim = simulate("steady_vigorous", RUNNER, modality="hr", seed=2)
    np.testing.assert_allclose(sim.session.speed.mps, sim.truth.speed_mps, atol=1e-3)


@pytest.mark.parametrize(("profile", "present", "absent"), [
    ("full", ("id", "age", "hr_rest", "hr_max", "placement", "sex"), ()),
    ("age", ("id", "age", "placement"), ("hr_rest", "hr_max", "sex")),
    ("none", ("placement",), ("id", "age", "hr_rest", "hr_max", "sex")),
])
def test_profile_option_gives_the_right_fields(profile, present, absent):
    prof = simulate("rest_only", RUNNER, placement="chest", modality="hr", profile=profile,
                    seed=0).session.profile
    for name in present:
        assert getattr(prof, name) is not None, name
    for name in absent:
        assert getattr(prof, name) is None, name
    assert prof.placement == "chest"
    if profile == "full":
        assert (prof.hr_rest, prof.hr_max, prof.age) == (RUNNER.hr_rest, RUNNER.hr_max, RUNNER.age)


@pytest.mark.parametrize("fs", [25.0, 200.0])
def test_acc_fs_is_honoured(fs):
    sim = simulate("rest_only", RUNNER, modality="acc", acc_fs=fs, seed=4)
    acc = sim.session.acc
    assert acc.fs == pytest.approx(fs, rel=1e-3)
    assert acc.xyz.dtype == np.float32 and acc.xyz.shape[1] == 3
    assert acc.xyz.shape[0] == round(sim.truth.t_s.size * fs)
    assert np.all(np.diff(acc.t) > 0)


@pytest.mark.parametrize(("kwargs", "names"), [
    ({"protocol": "marathon"}, "rest_only"),
    ({"placement": "ankle"}, "wrist, chest"),
    ({"modality": "ecg"}, "hr+acc, hr, acc"),
    ({"profile": "some"}, "full, age, none"),
    ({"acc_fs": 10.0}, "25"),
    ({"acc_fs": 400.0}, "200"),
    ({"seed": -1}, "non-negative"),
])
def test_bad_arguments_raise_value_error_naming_the_allowed_values(kwargs, names):
    args = {"protocol": "rest_only", "person": RUNNER, **kwargs}
    with pytest.raises(ValueError, match=names.replace("+", r"\+")):
        simulate(args.pop("protocol"), args.pop("person"), **args)


def test_person_rejects_impossible_values():
    with pytest.raises(ValueError, match="hr_rest"):
        dataclasses.replace(RUNNER, hr_rest=190.0)
    with pytest.raises(ValueError, match="tau_on_s"):
        dataclasses.replace(RUNNER, tau_on_s=0.0)


def test_random_person_ranges():
    ps = people(400, seed=9)
    age = np.array([p.age for p in ps])
    hr_max = np.array([p.hr_max for p in ps])
    vo2 = np.array([p.vo2max for p in ps])
    assert age.min() >= 18 and age.max() <= 70
    assert np.abs(hr_max - (208 - 0.7 * age)).max() <= 14.1  # +-2 SD, ages rounded
    assert 4 < np.std(hr_max - (208 - 0.7 * age)) < 9
    assert vo2.min() >= 28 and vo2.max() <= 60
    assert np.corrcoef(age, vo2)[0, 1] < -0.2  # fitness falls with age
    for p in ps:
        assert 45 <= p.hr_rest <= 80 and 20 <= p.tau_on_s <= 45 <= p.tau_off_s + 5
        assert p.tau_on_s < p.tau_off_s <= 80 and 0.1 <= p.drift_bpm_per_min <= 0.3
        assert p.sex in ("female", "male")


def test_truth_as_dict_is_json():
    truth = simulate("bout_just_short", RUNNER, modality="hr", seed=8).truth
    data = json.loads(json.dumps(truth.as_dict()))
    assert data["protocol"] == "bout_just_short" and data["person"]["id"] == "runner"
    assert data["labels"][0] == "rest" and len(data["labels"]) == truth.labels.size
    assert len(data["epoch_intensity"]) == truth.epoch_intensity.size
    assert data["dose_met"] is False and data["session_class"] == truth.session_class
    assert data["bouts"][0]["qualifying_minutes"] == truth.bouts[0].qualifying_minutes


# --- the truth --------------------------------------------------------------------------


def test_epoch_means_keep_a_last_partial_epoch_only_when_half_full():
    np.testing.assert_allclose(epoch_means(np.arange(120.0), 60), [29.5, 89.5])
    np.testing.assert_allclose(epoch_means(np.arange(149.0), 60), [29.5, 89.5])  # 29 s: dropped
    np.testing.assert_allclose(epoch_means(np.arange(150.0), 60), [29.5, 89.5, 134.5])  # half
    np.testing.assert_allclose(epoch_means(np.arange(45.0), 30), [14.5, 37.0])


EXPECTED_CLASS = {
    "rest_only": "none",
    "steady_light": "constant",
    "steady_intermediate": "intermediate",
    "steady_vigorous": "constant",
    "ramp": "accelerating",
    "step_test": "accelerating",
    "steady_then_ramp": "accelerating",
}


@pytest.mark.parametrize("protocol", list(EXPECTED_CLASS))
def test_protocol_gives_its_session_class(protocol):
    for k, p in enumerate(people(6, seed=hash(protocol) % 1000)):
        truth = simulate(protocol, p, modality="hr", seed=k).truth
        assert truth.session_class == EXPECTED_CLASS[protocol], (p, k)
        if protocol.startswith("steady_") and protocol != "steady_then_ramp":
            assert not np.any(truth.labels == Label.ACCELERATING)  # steps are not ramps
        if protocol == "rest_only":
            assert truth.intensity.max() < 15 and not truth.bouts


def test_protocol_classes_hold_over_many_people():
    """The same through the protocol functions alone, over many more people and draws."""
    for k, p in enumerate(people(60, seed=77)):
        for protocol, expected in EXPECTED_CLASS.items():
            work = PROTOCOLS[protocol](p, np.random.default_rng(k))
            assert oracle.reference(work.intensity).session_class == expected, (protocol, p, k)


def test_walk_then_run_is_one_change_of_pace_not_a_ramp():
    for k, p in enumerate(people(6, seed=12)):
        truth = simulate("walk_then_run", p, modality="hr", seed=k).truth
        assert truth.session_class in ("constant", "intermediate")
        assert not np.any(truth.labels == Label.ACCELERATING)
        assert np.any(truth.gait == WALK)


def _steady_levels(intensity: np.ndarray, min_s: int = 60) -> np.ndarray:
    change = np.flatnonzero(np.diff(intensity) != 0) + 1
    bounds = np.concatenate([[0], change, [intensity.size]])
    long = np.diff(bounds) >= min_s
    return intensity[bounds[:-1][long]]


@pytest.mark.parametrize("protocol", ["steady_light", "steady_intermediate", "steady_vigorous",
                                      "walk_then_run", "bout_30plus", "bout_just_short"])
def test_steady_levels_stay_clear_of_the_level_boundaries(protocol):
    for k, p in enumerate(people(30, seed=5)):
        levels = _steady_levels(PROTOCOLS[protocol](p, np.random.default_rng(k)).intensity)
        distance = np.abs(levels[:, None] - np.array([20.0, 40.0, 60.0])).min(axis=1)
        assert distance.min() >= 2.0, (protocol, levels)


def test_bout_30plus_meets_the_dose():
    for k, p in enumerate(people(8, seed=30)):
        truth = simulate("bout_30plus", p, modality="hr", seed=k).truth
        assert truth.dose_met
        assert truth.qualifying_minutes >= 30
        assert sum(b.dose_met for b in truth.bouts) == 1


def test_bout_just_short_falls_short():
    for k, p in enumerate(people(8, seed=31)):
        truth = simulate("bout_just_short", p, modality="hr", seed=k).truth
        assert not truth.dose_met
        assert len(truth.bouts) == 1
        assert 26 <= truth.bouts[0].qualifying_minutes <= 29


def test_speed_and_grade_demand_exactly_the_true_intensity():
    for k, p in enumerate(people(10, seed=40)):
        for protocol in ("ramp", "walk_then_run", "steady_light"):
            work = PROTOCOLS[protocol](p, np.random.default_rng(k))
            moving = work.gait > 0
            np.testing.assert_allclose(
                workload_intensity(work.gait, work.speed_mps, work.grade, p)[moving],
                work.intensity[moving], atol=1e-9)
            assert np.all(work.speed_mps[work.gait == RUN] >= 2.0 - 1e-9)
            assert np.all(work.speed_mps[work.gait == WALK] <= p.walk_max_mps + 1e-9)
            assert np.all(work.grade >= 0) and np.all(work.grade < 0.25)
            assert np.all(work.speed_mps[work.gait == 0] == 0)


def test_fitter_people_move_faster_at_the_same_intensity():
    unfit = dataclasses.replace(RUNNER, vo2max=32.0)
    segments = [Segment(600, 70.0, mode="run")]
    fast = build_workload(segments, RUNNER)
    slow = build_workload(segments, unfit)
    assert fast.gait[0] == RUN and fast.speed_mps[0] > slow.speed_mps[0]


# --- heart rate -------------------------------------------------------------------------


def _step_times(bpm: np.ndarray, t: np.ndarray, start: float, level0: float,
                level1: float) -> float:
    """Seconds after ``start`` until the (5-s median-smoothed) HR has covered 63 % of the
    way from ``level0`` to ``level1``."""
    from scipy.ndimage import median_filter

    smooth = median_filter(bpm, 5, mode="nearest")
    target = level0 + 0.632 * (level1 - level0)
    after = t >= start
    crossed = (smooth - target) * np.sign(level1 - level0) >= 0
    return float(t[after & crossed][0] - start)


def test_heart_rate_follows_the_persons_time_constants():
    intensity = np.concatenate([np.full(300, 5.0), np.full(600, 60.0), np.full(900, 5.0)])
    for k, p in enumerate(people(6, seed=50)):
        t, bpm, _rr = synth_heart_rate(intensity, np.zeros_like(intensity), p, "chest",
                                      np.random.default_rng(k))
        rest = p.hr_rest + 0.05 * (p.hr_max - p.hr_rest)
        work = p.hr_rest + 0.60 * (p.hr_max - p.hr_rest)
        tau_on = _step_times(bpm, t, 300.0, rest, work)
        before_off = np.median(bpm[(t >= 860) & (t < 900)])
        tau_off = _step_times(bpm, t, 900.0, before_off, rest)
        assert tau_on == pytest.approx(p.tau_on_s, rel=0.35, abs=5), p
        assert tau_off == pytest.approx(p.tau_off_s, rel=0.35, abs=5), p


def test_asymmetric_lag_matches_a_slow_loop():
    rng = np.random.default_rng(0)
    u = np.repeat(rng.uniform(60, 180, 40), rng.integers(5, 300, 40)).astype(float)
    u[500:900] = np.linspace(u[500], u[500] + 50, 400)
    fast = asymmetric_lag(u, 70.0, 30.0, 60.0)
    x, slow = 70.0, np.empty_like(u)
    for i, target in enumerate(u):
        a = np.exp(-1 / (30.0 if target >= x else 60.0))
        x = a * x + (1 - a) * target
        slow[i] = x
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9)


def test_drift_on_a_40_minute_steady_run_stays_below_the_ramp_threshold():
    intensity = np.concatenate([np.full(300, 5.0), np.full(2400, 65.0), np.full(300, 5.0)])
    strongest = dataclasses.replace(RUNNER, drift_bpm_per_min=0.3)
    slopes, rises = [], []
    for k, p in enumerate([strongest, *people(5, seed=60)]):
        t, bpm, _ = synth_heart_rate(intensity, np.zeros_like(intensity), p, "chest",
                                     np.random.default_rng(k))
        pct = 100 * (bpm - p.hr_rest) / (p.hr_max - p.hr_rest)
        minute = (t // 60).astype(int)
        per_min = np.bincount(minute, pct) / np.maximum(np.bincount(minute), 1)
        steady = per_min[10:45]  # from 5 min into the run to its end
        slopes.append(float(theil_sen(steady[None, :], np.arange(steady.size, dtype=float))[0]))
        rises.append((steady[-5:].mean() - steady[:5].mean()) * (p.hr_max - p.hr_rest) / 100)
    assert max(slopes) < 0.5  # far from the 0.75 %HRR/min of a ramp
    assert slopes[0] > 0.1 and np.mean(slopes) > 0.04  # but drift is there
    assert 2.0 < np.mean(rises) < 10.0 and max(rises) < 15.0  # a few bpm


def test_wrist_sessions_hold_cadence_lock_and_dropouts_and_no_rr():
    for seed in range(4):
        sim = simulate("steady_vigorous", RUNNER, placement="wrist", modality="hr", seed=seed)
        hr, truth = sim.session.hr, sim.truth
        assert hr.rr_ms is None
        kinds = {a.kind for a in truth.artefacts}
        assert {"cadence_lock", "dropout"} <= kinds
        idx = hr.t.astype(int)
        cadence = truth.cadence_spm[idx]
        locked = (cadence >= 140) & (np.abs(hr.bpm - cadence) <= 2) & (
            np.abs(truth.hr_bpm[idx] - cadence) > 5)
        assert longest_run(locked) >= 25
        gaps = np.diff(hr.t)
        assert gaps.max() >= 5 and hr.t.size < truth.t_s.size
        # Outside artefacts the wrist reading follows the true heart rate.
        clean = np.ones(truth.t_s.size, bool)
        for a in truth.artefacts:
            clean[int(a.start_s):int(a.end_s) + 6] = False
        ok = clean[idx]
        assert np.median(np.abs(hr.bpm[ok] - truth.hr_bpm[idx][ok])) < 3


def test_chest_rr_intervals_match_heart_rate():
    for k, p in enumerate(people(4, seed=70)):
        sim = simulate("ramp", p, placement="chest", modality="hr", seed=k)
        hr = sim.session.hr
        assert hr.rr_ms is not None
        finite = np.isfinite(hr.rr_ms)
        assert finite.mean() > 0.9
        minute = (hr.t // 60).astype(int)
        rr_mean = np.bincount(minute[finite], hr.rr_ms[finite]) / np.maximum(
            np.bincount(minute[finite]), 1)
        hr_mean = np.bincount(minute, hr.bpm) / np.maximum(np.bincount(minute), 1)
        have = np.bincount(minute[finite]) > 30
        ratio = rr_mean[have] / (60000.0 / hr_mean[have])
        assert np.median(np.abs(ratio - 1)) < 0.01 and np.mean(np.abs(ratio - 1) < 0.03) > 0.95
        assert hr.t.size > 0.98 * sim.truth.t_s.size  # chest dropouts are rare and short


# --- acceleration -----------------------------------------------------------------------


@pytest.mark.parametrize("placement", ["wrist", "chest"])
def test_dominant_frequency_of_acceleration_is_the_step_frequency(placement):
    sim = simulate("steady_vigorous", RUNNER, placement=placement, modality="acc",
                   acc_fs=50.0, seed=1)
    truth, acc = sim.truth, sim.session.acc
    running = np.flatnonzero(truth.gait == RUN)
    assert running.size > 600
    mid = running[running.size // 2]
    window = (acc.t >= mid) & (acc.t < mid + 30)
    mag = np.linalg.norm(acc.xyz[window].astype(np.float64), axis=1)
    spectrum = np.abs(np.fft.rfft((mag - mag.mean()) * np.hanning(mag.size)))
    freq = np.fft.rfftfreq(mag.size, 1 / 50.0)
    band = (freq > 0.5) & (freq < 6.0)
    peak = freq[band][np.argmax(spectrum[band])]
    assert peak == pytest.approx(truth.cadence_spm[mid] / 60.0, abs=0.1)


def test_cadence_rises_with_speed_in_the_documented_ranges():
    walk = cadence_spm(np.full(5, WALK), np.linspace(0.9, 1.8, 5), dataclasses.replace(
        RUNNER, cadence_offset_spm=0.0))
    run = cadence_spm(np.full(5, RUN), np.linspace(2.2, 5.0, 5), dataclasses.replace(
        RUNNER, cadence_offset_spm=0.0))
    assert np.all(np.diff(walk) > 0) and np.all(np.diff(run) > 0)
    assert 100 <= walk[0] and walk[-1] <= 125 and 155 <= run[0] and run[-1] <= 186


def test_enmo_is_realistic_for_rest_walking_and_running():
    for k, p in enumerate(people(5, seed=80)):
        gait = np.repeat([0, WALK, WALK, RUN, RUN], 60)
        speed = np.repeat([0.0, 0.9, 1.8, 2.2, 4.0], 60)
        for placement in ("wrist", "chest"):
            t, xyz = synth_acceleration(gait, speed, p, placement, 50.0, np.random.default_rng(k))
            e = enmo_per_second(t, xyz, gait.size).reshape(5, 60)[:, 2:-2].mean(axis=1)
            walk_hi = 0.25 if placement == "wrist" else 0.15
            assert e[0] < 0.01, (placement, e)
            assert 0.03 < e[1] < e[2] < walk_hi, (placement, e)
            assert 0.25 < e[3] < e[4] < 1.1, (placement, e)


def test_rest_is_still_but_the_wrist_changes_posture():
    sim = simulate("rest_only", RUNNER, placement="wrist", modality="acc", acc_fs=25.0, seed=2)
    acc, truth = sim.session.acc, sim.truth
    e = enmo_per_second(acc.t, acc.xyz, truth.t_s.size)
    assert e[truth.gait == 0].mean() < 0.01
    # Gravity moves between the axes when the arm rests somewhere new.
    per_min = acc.xyz[: (acc.xyz.shape[0] // 1500) * 1500].reshape(-1, 1500, 3).mean(axis=1)
    assert np.ptp(per_min, axis=0).max() > 0.3


def test_chunks_join_without_a_seam():
    """Samples are made a chunk at a time: the gait must run on across chunk edges, so a
    tiny chunk gives the same signal as one chunk, up to the sensor noise."""
    gait, speed = np.repeat([WALK, RUN], 60), np.repeat([1.4, 3.0], 60)
    _, whole = simulate_acceleration(gait, speed, RUNNER, "wrist", 50.0, np.random.default_rng(3))
    _, small = simulate_acceleration(gait, speed, RUNNER, "wrist", 50.0, np.random.default_rng(3),
                                   chunk=777)
    diff = (whole.astype(np.float64) - small)[50:-50]
    assert np.sqrt(np.mean(diff**2)) < 0.02 and np.abs(diff).max() < 0.1


def test_steady_heart_rate_sits_at_the_true_intensity_plus_drift():
    for k, p in enumerate(people(6, seed=90)):
        truth = simulate("steady_intermediate", p, placement="chest", modality="hr",
                         seed=k).truth
        level = truth.intensity[truth.gait > 0].max()
        steady = np.flatnonzero(truth.intensity == level)
        late = steady[-600:]  # the last 10 min of the steady part
        pct = 100 * (truth.hr_bpm[late] - p.hr_rest) / (p.hr_max - p.hr_rest)
        assert level - 1.0 < np.median(pct) < level + 10.0, (p, level, np.median(pct))


def test_a_60_minute_session_at_100_hz_is_fast():
    person = RUNNER
    work = build_workload([Segment(300, 5.0), Segment(3000, 70.0, mode="run"),
                           Segment(300, 5.0)], person)
    cadence = cadence_spm(work.gait, work.speed_mps, person)
    synth_acceleration(work.gait[:60], work.speed_mps[:60], person, "wrist", 100.0,
                       np.random.default_rng(0))  # warm up
    start = time.perf_counter()
    synth_heart_rate(work.intensity, cadence, person, "wrist", np.random.default_rng(1))
    _t, xyz = synth_acceleration(work.gait, work.speed_mps, person, "wrist", 100.0,
                                np.random.default_rng(2))
    elapsed = time.perf_counter() - start
    assert xyz.shape == (360_000, 3)
    assert elapsed < 1.0
