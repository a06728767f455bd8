"""Live classification: the batch analysis on the samples so far.

The live session must be the very session the batch reader builds from the recording, so
that the live verdict at the end is the batch one, and the dose moment announced live is
the batch one within an epoch.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest

from dosewatch.analysis import analyze_session
from dosewatch.device.live import LiveAnalysis, LiveStatus, current_bout
from dosewatch.models.registry import get_classifier
from dosewatch.recording import RecordingWriter, read_recording
from dosewatch.session import Profile, Session

T0 = 1_800_000_000.0  # host Unix time of the session start


def assert_same_session(a: Session, b: Session) -> None:
    for stream in ("hr", "acc", "speed", "cadence", "grade"):
        sa, sb = getattr(a, stream), getattr(b, stream)
        assert (sa is None) == (sb is None), stream
        if sa is None:
            continue
        for name in sa.__dataclass_fields__:
            va, vb = getattr(sa, name), getattr(sb, name)
            if isinstance(va, np.ndarray):
                assert va.dtype == vb.dtype, (stream, name)
                np.testing.assert_array_equal(va, vb, err_msg=f"{stream}.{name}")
            else:
                assert va == vb, (stream, name)
    assert a.provenance.start_time == b.provenance.start_time
    assert a.profile == b.profile


def test_live_session_is_the_recordings_session(tmp_path: Path) -> None:
    """The same samples given to the writer and to the live analysis make the same Session
    (device choice per stream, RR, NaN, speed without cadence, unsorted arrivals)."""
    rng = np.random.default_rng(0)
    profile = Profile(age=40, hr_rest=55, placement="wrist")
    path = tmp_path / "same.dwrec"
    writer = RecordingWriter(path, profile=profile)
    live = LiveAnalysis(profile=profile, classifier="rules")
    strap = writer.add_device("AA", "strap", [], "heart_rate,acc")
    watch = writer.add_device("BB", "watch", [], "heart_rate,treadmill")
    pod = writer.add_device("CC", "pod", [], "rsc")
    # The strap has fewer HR values than the watch: the watch's are used.
    for i in range(30):
        t = T0 + i + rng.uniform(0, 0.05)
        rr = [] if i % 4 == 0 else [float(rng.integers(600, 900)) * 1000 / 1024]
        writer.add_hr(strap, None, t, 120.0 + i, rr)
        live.add_hr(strap, t, 120.0 + i, rr[-1] if rr else None)
    for i in range(40):
        t = T0 + 0.5 * i
        writer.add_hr(watch, None, t, 100.0 + i, [])
        live.add_hr(watch, t, 100.0 + i, None)
    t_acc = T0 + np.arange(2000) / 50.0
    t_acc[100:110] = t_acc[100:110][::-1].copy()  # arrives out of order
    xyz = rng.normal(0, 0.3, (2000, 3))
    xyz[500] = np.nan
    for a in range(0, 2000, 37):
        writer.add_acc(strap, None, t_acc[a:a + 37], xyz[a:a + 37])
        live.add_acc(strap, t_acc[a:a + 37], xyz[a:a + 37])
    for i in range(25):
        writer.add_speed(pod, None, T0 + i, 2.0 + 0.01 * i, 150.0 + i)
        live.add_speed(pod, T0 + i, 2.0 + 0.01 * i, 150.0 + i)
    for i in range(10):
        writer.add_speed(watch, None, T0 + i, 3.0, None)
        live.add_speed(watch, T0 + i, 3.0, None)
    writer.close()

    batch = read_recording(path)
    got = live.session()
    assert got is not None
    assert_same_session(got, batch)
    assert got.hr is not None and got.hr.rr_ms is None  # the watch sent no RR
    assert got.cadence is not None  # the pod's cadence


def test_a_treadmills_incline_is_recorded_and_read_as_live_sees_it(tmp_path: Path) -> None:
    """FTMS sends the incline with the speed: the recording keeps it (``speed.grade``) and
    both the file and the live analysis give it as the session's grade stream, which the
    workload needs to see an incline ramp at a steady belt speed."""
    path = tmp_path / "incline.dwrec"
    writer = RecordingWriter(path, profile=Profile(age=40))
    live = LiveAnalysis(profile=Profile(age=40), classifier="rules")
    mill = writer.add_device("DD", "treadmill", [], "heart_rate,treadmill")
    for i in range(120):
        t = T0 + i
        grade = None if i < 10 else 0.01 * (i // 30)  # the first records lack the field
        writer.add_hr(mill, None, t, 100.0 + 0.3 * i, [])
        live.add_hr(mill, t, 100.0 + 0.3 * i, None)
        writer.add_speed(mill, None, t, 1.5, None, grade)
        live.add_speed(mill, t, 1.5, None, grade)
    writer.close()
    batch = read_recording(path)
    assert batch.grade is not None
    np.testing.assert_allclose(batch.grade.values, 0.01 * (np.arange(10, 120) // 30))
    got = live.session()
    assert got is not None
    assert_same_session(got, batch)


def feed(live: LiveAnalysis, session: Session, until_s: float, since_s: float) -> None:
    """Give the live analysis the session's samples in (since, until], as a recorder would."""
    hr, acc, speed = session.hr, session.acc, session.speed
    assert acc is not None
    if hr is not None:
        for i in np.flatnonzero((hr.t > since_s) & (hr.t <= until_s)):
            rr = None if hr.rr_ms is None else float(hr.rr_ms[i])
            live.add_hr(1, T0 + float(hr.t[i]), float(hr.bpm[i]), rr)
    keep = (acc.t > since_s) & (acc.t <= until_s)
    live.add_acc(1, T0 + acc.t[keep], acc.xyz[keep])
    if speed is not None:
        for i in np.flatnonzero((speed.t > since_s) & (speed.t <= until_s)):
            live.add_speed(1, T0 + float(speed.t[i]), float(speed.mps[i]), None)


@pytest.mark.parametrize("classifier", ["rules", "learned", None])
@pytest.mark.asyncio
async def test_live_dose_moment_matches_batch(classifier: str | None, simulated) -> None:
    """Fed minute by minute, the live analysis announces the dose within one epoch of the
    batch analysis of the whole session, counts the bout up to it, and ends on exactly the
    batch verdict. ``None``: the default classifier."""
    sim = simulated("bout_30plus", person_seed=11, placement="chest", acc_fs=25, seed=11)
    session = sim.session
    live = LiveAnalysis(profile=session.profile, classifier=classifier, interval_s=60.0)
    statuses: list[LiveStatus] = []
    live.subscribe(statuses.append)
    step = 60.0
    t = 0.0
    while t < session.duration_s:
        feed(live, session, t + step, t)
        t += step
        assert live.due(T0 + t)
        await live.update(T0 + t)
    final = await live.finish()
    assert final is not None and final.final

    whole = live.session()
    assert whole is not None
    batch = analyze_session(whole, classifier=get_classifier(classifier))
    assert batch.dose_met and sim.truth.dose_met
    assert final.session_class == batch.session_class
    assert final.dose_met_at_s == batch.dose_met_at_s
    np.testing.assert_array_equal(final.result.prediction.labels, batch.prediction.labels)

    assert live.dose_met_at_s is not None
    assert abs(live.dose_met_at_s - batch.dose_met_at_s) <= 60.0
    announced = [s for s in statuses if s.dose_announced]
    assert len(announced) == 1
    first = announced[0]
    assert first.bout_minutes >= 30.0
    # Announced soon after it happened (the look-ahead of the heart rate and the model),
    # or, as batch would on a file ending there, while its last epoch is over half full.
    assert -30.0 <= first.elapsed_s - first.dose_met_at_s <= 5 * 60.0
    # The bout counted up to the dose: before the announcement its minutes rise.
    before = [s.bout_minutes for s in statuses[: statuses.index(first)]]
    assert before[0] == 0.0 and max(before) >= 20.0
    assert all(s.dose_met for s in statuses[statuses.index(first):])
    # Status values: the newest heart rate and its %HRR with the profile's HR_rest/HR_max.
    last = statuses[-2]
    hp = last.result.info.hr_params
    assert hp is not None and hp.hr_rest_source == "profile"
    assert last.hr_bpm is not None and last.pct_hrr is not None
    assert math.isclose(last.pct_hrr, 100 * (last.hr_bpm - hp.hr_rest) / (hp.hr_max - hp.hr_rest))
    assert math.isclose(last.start_unix_s, T0)


@pytest.mark.asyncio
async def test_poke_runs_one_update_per_interval(simulated) -> None:
    sim = simulated("steady_light", person_seed=2, placement="chest", acc_fs=25, seed=2)
    live = LiveAnalysis(profile=sim.session.profile, classifier="rules", interval_s=10.0)
    statuses: list[LiveStatus] = []
    live.subscribe(statuses.append)
    assert not live.due(T0)  # nothing to analyse yet
    live.poke(T0)
    assert live._task is None
    feed(live, sim.session, 120.0, -1.0)
    live.poke(T0 + 120.0)
    live.poke(T0 + 121.0)  # one update at a time
    await asyncio.sleep(0)
    await live._wait_running()
    assert len(statuses) == 1 and statuses[0].now == T0 + 120.0
    live.poke(T0 + 125.0)  # not due: 10 s since the last one have not passed
    assert live._task is None
    live.poke(T0 + 130.0)
    await live._wait_running()
    assert len(statuses) == 2
    assert statuses[1].update == 2 and not statuses[1].final
    assert math.isclose(statuses[1].elapsed_s, 130.0, abs_tol=1.0)
    assert live.compute_times and all(c > 0 for c in live.compute_times)
    live.close()


@pytest.mark.asyncio
async def test_current_bout_ends_after_a_long_break(simulated) -> None:
    sim = simulated("bout_just_short", person_seed=4, placement="chest", acc_fs=25, seed=4)
    result = analyze_session(sim.session, classifier=get_classifier("rules"))
    assert result.bouts
    last = result.bouts[-1]
    # The session ends with a cool-down longer than the tolerated break: no current bout.
    assert result.features.n - last.end_epoch > 2
    assert current_bout(result) is None
    live = LiveAnalysis(profile=sim.session.profile, classifier="rules")
    end_s = (last.end_epoch - 1) * 60.0 + 30.0  # in the bout's last epoch
    feed(live, sim.session, end_s, -1.0)
    status = await live.update(T0 + end_s)
    assert status is not None and status.bout_minutes > 0
    live.close()


@pytest.mark.asyncio
async def test_live_and_batch_use_the_same_calibration(tmp_path, simulated) -> None:
    """Recorded live with the participant's calibration file, the final live verdict is the
    batch verdict of the recording with the same file (acceleration only, so the
    calibration's movement mapping decides the intensity)."""
    from dataclasses import replace

    from dosewatch.calibration import AccMap, Calibration, Value, calibration_toml
    from dosewatch.device.commands import calibration_for
    from dosewatch.session import Profile

    sim = simulated("steady_intermediate", person_seed=8, placement="wrist", modality="acc",
                    acc_fs=25, seed=3)
    session = replace(sim.session, speed=None)
    cal = Calibration("P09", sessions=3, hr_max=Value(185.0), hr_rest=Value(55.0),
                      acceleration={"wrist": AccMap((0.0, 0.05, 0.12, 0.3),
                                                    (0.0, 25.0, 50.0, 75.0))})
    (tmp_path / "P09.toml").write_text(calibration_toml(cal), encoding="utf-8")
    profile = Profile(id="P09", placement="wrist")
    from_folder = calibration_for(str(tmp_path), profile)
    assert from_folder == cal
    live = LiveAnalysis(profile=profile, classifier="physio", interval_s=600.0,
                        calibration=from_folder)
    feed(live, session, session.duration_s + 1, -1.0)
    final = await live.finish()
    whole = live.session()
    batch = analyze_session(whole, classifier="physio", calibration=cal)
    uncalibrated = analyze_session(whole, classifier="physio")
    assert final is not None and final.result.info.acc_intensity_source == "calibration"
    np.testing.assert_array_equal(final.result.prediction.labels, batch.prediction.labels)
    assert final.session_class == batch.session_class
    assert final.result.certainty == batch.certainty
    # The calibration changed the verdict's intensity (not a no-op).
    assert not np.allclose(batch.prediction.intensity, uncalibrated.prediction.intensity,
                           equal_nan=True)


@pytest.mark.asyncio
async def test_a_treadmill_without_a_strap_is_analysed_live_as_in_batch() -> None:
    """Only a treadmill's speed arrives (no heart-rate sensor worn): the live analysis
    runs on the workload, as the batch reads the recording, and ends on its verdict."""
    from dosewatch.simulate import Person, simulate

    runner = Person(id="P7", age=30.0, sex="female", hr_rest=52.0, hr_max=188.0,
                    vo2max=54.0, tau_on_s=28.0, tau_off_s=55.0, drift_bpm_per_min=0.2,
                    height_m=1.68)
    speed = simulate("steady_vigorous", runner, modality="speed", seed=5).session.speed
    live = LiveAnalysis(profile=Profile(), classifier="physio", interval_s=60.0)
    assert not live.has_data
    step, t = 60.0, 0.0
    while t < speed.t[-1]:
        for i in np.flatnonzero((speed.t > t) & (speed.t <= t + step)):
            live.add_speed(1, T0 + float(speed.t[i]), float(speed.mps[i]), None)
        t += step
        assert live.has_data and live.due(T0 + t)
        await live.update(T0 + t)
    final = await live.finish()
    assert final is not None and final.final
    batch = analyze_session(live.session(), classifier=get_classifier("physio"))
    assert batch.intensity_source == "workload" and batch.dose_met
    assert (final.session_class, final.dose_met_at_s) == (batch.session_class,
                                                          batch.dose_met_at_s)
