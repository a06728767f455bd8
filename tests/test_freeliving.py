"""Free-living recordings (issue 12, item 4): non-wear is found, and exactly the exercise
sessions inside a multi-day recording come out, each within 2 minutes at each end,
analysed with its own class and dose, and counted per ISO week.

The recording is three simulated days (``support/freeliving.py``): five exercise sessions
(four runs, one brisk walk), errands on foot, sleep, sitting, and the band taken off three
times (two of them long enough to be seen as non-wear)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from support.freeliving import START, recording

from dosewatch.adherence import compute_adherence
from dosewatch.analysis import analyze_session
from dosewatch.config import Config
from dosewatch.errors import ConfigError
from dosewatch.freeliving import (
    MINUTE_S,
    is_free_living,
    minute_summary,
    nonwear_minutes,
    slice_session,
    split,
    split_free_living,
)
from dosewatch.rows import SessionRow
from dosewatch.session import Profile, build_session
from dosewatch.spec.runs import runs

TOLERANCE_MIN = 2.0


@pytest.fixture(scope="module")
def found():
    rec = recording()
    return rec, split(rec.session(), Config())


def _ends(found_sessions, truth_sessions):
    """(minutes off at the start, at the end) of each found session against the truth."""
    return [((f.start_min * MINUTE_S - t.start_s) / 60, (f.end_min * MINUTE_S - t.end_s) / 60)
            for f, t in zip(found_sessions, truth_sessions, strict=True)]


def test_exactly_the_exercise_sessions_are_found(found) -> None:
    rec, result = found
    truth = rec.truth.sessions
    assert [t.kind for t in truth] == ["run", "walk", "run", "run", "run"]
    assert len(result.found) == len(truth), [(f.start_min, f.end_min) for f in result.found]
    for start_off, end_off in _ends(result.found, truth):
        assert abs(start_off) <= TOLERANCE_MIN and abs(end_off) <= TOLERANCE_MIN


def test_each_session_is_a_slice_with_margins_its_start_and_a_dated_name(found) -> None:
    rec, result = found
    for f, session, t in zip(result.found, result.sessions, rec.truth.sessions, strict=True):
        assert f.slice_start_min <= f.start_min and f.slice_end_min >= f.end_min
        assert f.start_min - f.slice_start_min <= 5 and f.slice_end_min - f.end_min <= 5
        start = session.provenance.start_time
        assert abs((start - (START + timedelta(seconds=t.start_s))).total_seconds()) <= 7 * 60
        assert session.name == f"week-{start:%Y-%m-%d-%H%M}"
        assert session.profile == rec.profile
        assert session.hr.t[0] >= 0 and session.acc.t[0] >= 0
        assert min(session.hr.t[0], session.acc.t[0]) == 0.0
        assert session.duration_s == pytest.approx(
            (f.slice_end_min - f.slice_start_min) * MINUTE_S, abs=2.0)
        assert any("free-living recording week" in r for r in session.provenance.repairs)
        assert any(r.startswith("session ") for r in session.provenance.repairs)


def test_nonwear_is_found_and_never_exercise(found) -> None:
    rec, result = found
    window = Config().free_living.nonwear_window_min * 60
    long_ones = [(a, b) for a, b in rec.truth.nonwear if b - a >= window]
    assert len(long_ones) == 2
    detected = runs(result.nonwear) * MINUTE_S
    assert len(detected) == len(long_ones)
    for (a, b), (da, db) in zip(long_ones, detected, strict=True):
        assert abs(da - a) <= TOLERANCE_MIN * 60 and abs(db - b) <= TOLERANCE_MIN * 60
    assert not (result.nonwear & result.active).any()
    summary = result.summary()
    assert summary["nonwear_minutes"] == int(result.nonwear.sum()) > 500
    assert len(summary["nonwear"]) == 2 and summary["nonwear"][0]["start_time"]


def test_each_session_gets_its_own_class_and_dose(found) -> None:
    rec, result = found
    results = [analyze_session(s) for s in result.sessions]
    assert [r.dose_met for r in results] == [t.dose_met for t in rec.truth.sessions] == [
        True, False, True, True, False]
    assert [r.session_class for r in results] == [
        "intermediate", "constant", "intermediate", "intermediate", "intermediate"]


def test_adherence_counts_the_dose_sessions_per_iso_week(found) -> None:
    _, result = found
    rows = [SessionRow.from_result(analyze_session(s), s.name) for s in result.sessions]
    weeks = compute_adherence(rows).weeks
    assert [(w.week, w.sessions, w.dose_sessions) for w in weeks] == [
        ("2026-W10", 3, 2), ("2026-W11", 2, 1)]


def test_acceleration_alone_finds_the_same_sessions(found) -> None:
    """Without heart rate the placement's light cut-point of ENMO decides; the errands on
    foot reach it too, but for a few minutes only."""
    rec, _ = found
    result = split(rec.session(hr=False), Config())
    assert result.hr_params is None
    assert len(result.found) == len(rec.truth.sessions)
    for start_off, end_off in _ends(result.found, rec.truth.sessions):
        assert abs(start_off) <= TOLERANCE_MIN and abs(end_off) <= TOLERANCE_MIN


def test_heart_rate_alone_finds_the_same_sessions_and_the_long_nonwear(found) -> None:
    """A week of heart rate without acceleration (a watch's export): active minutes by
    %HRR alone; non-wear is an hour or more without heart rate."""
    rec, with_acc = found
    result = split(build_session("hr", hr=rec.hr, profile=rec.profile), Config())
    assert len(result.found) == len(rec.truth.sessions)
    for start_off, end_off in _ends(result.found, rec.truth.sessions):
        assert abs(start_off) <= TOLERANCE_MIN and abs(end_off) <= TOLERANCE_MIN
    assert np.array_equal(runs(result.nonwear), runs(with_acc.nonwear)) or \
        np.abs(runs(result.nonwear) - runs(with_acc.nonwear)).max() <= TOLERANCE_MIN


def test_without_a_profile_hr_rest_and_max_come_from_the_recording(found) -> None:
    rec, with_profile = found
    result = split(rec.session(profile=Profile(id="P01")), Config())
    assert result.hr_params is not None and result.hr_params.hr_rest_source == "estimated"
    ends = [m for f in result.found for m in (f.start_min, f.end_min)]
    assert ends == pytest.approx([m for f in with_profile.found for m in (f.start_min, f.end_min)],
                                 abs=TOLERANCE_MIN)


def test_a_recording_without_exercise_gives_no_session_and_says_so(found) -> None:
    rec, _ = found
    whole = rec.session()
    # Saturday evening to Sunday noon: sleep, sitting, errands, the charger; no exercise.
    quiet = slice_session(whole, 12 * 3600, 36 * 3600, "quiet", ())
    assert is_free_living(quiet, Config())
    result = split(quiet, Config())
    assert result.found == () and result.sessions == ()
    assert result.summary()["sessions"] == []
    assert "no exercise session found" in result.summary()["note"]
    assert split_free_living([quiet], Config())[0] == []


def test_short_sessions_and_activity_files_pass_unchanged(simulated) -> None:
    session = simulated("bout_30plus", placement="wrist").session
    out, recordings = split_free_living([session], Config())
    assert out == [session] and recordings == []
    long = recording().session()
    assert not is_free_living(replace(long, provenance=replace(long.provenance,
                                                               sport="running")), Config())
    assert not is_free_living(replace(long, provenance=replace(long.provenance,
                                                               format="fit")), Config())
    off = Config.from_dict({"free_living": {"enabled": False}})
    assert split_free_living([long], off) == ([long], [])


def test_the_thresholds_are_checked() -> None:
    with pytest.raises(ConfigError, match="free_living"):
        Config.from_dict({"free_living": {"nonwear_axes": 4}})
    with pytest.raises(ConfigError, match="unknown key"):
        Config.from_dict({"free_living": {"gap": 2}})
    assert Config.from_dict({"free_living": {"min_active_min": 20}}).free_living \
        .min_active_min == 20.0


def _reference_nonwear(xyz: np.ndarray, per_second: int, hr_minutes: np.ndarray,
                       config: Config) -> np.ndarray:
    """Non-wear the slow, obvious way, for regular samples from t = 0: for each window
    start, the standard deviation of each axis over its samples and the range of its 1-s
    means, one window at a time."""
    fl = config.free_living
    w = int(fl.nonwear_window_min)
    per_minute = 60 * per_second
    n_min = int(np.ceil(len(xyz) / per_minute))
    seconds = xyz[: len(xyz) // per_second * per_second].astype(np.float64)
    means = seconds.reshape(-1, per_second, 3).mean(axis=1)
    out = np.zeros(n_min, dtype=bool)
    for i in range(n_min - w + 1):
        x = xyz[i * per_minute:(i + w) * per_minute].astype(np.float64)
        m = means[i * 60:(i + w) * 60]
        still = 0
        for axis in range(3):
            if x[:, axis].std(ddof=1) < fl.nonwear_sd_g and np.ptp(m[:, axis]) < \
                    fl.nonwear_range_g:
                still += 1
        if still >= fl.nonwear_axes:
            out[i:i + w] = True
    return out & ~hr_minutes


@pytest.mark.parametrize("fs", [10.0, 20.0])
def test_nonwear_matches_a_slow_reference(fs: float) -> None:
    """Three and a half hours: moving, then the band still for 80 minutes (one axis
    wobbling), then moving; heart rate in a few minutes of the still part. Windows of 20
    minutes keep the reference quick."""
    rng = np.random.default_rng(3)
    n = int(3.5 * 3600 * fs)
    t = np.arange(n) / fs
    xyz = rng.normal(0.0, 0.2, (n, 3)).astype(np.float32)
    still = (t >= 3600) & (t < 3600 + 80 * 60)
    xyz[still] = np.array([0.0, 0.0, 1.0]) + rng.normal(0.0, 0.004, (int(still.sum()), 3))
    xyz[still, 0] += (0.05 * np.sin(t[still] / 30.0)).astype(np.float32)
    config = Config.from_dict({"free_living": {"nonwear_window_min": 20.0}})
    hr_t = np.arange(100 * 60, 104 * 60, 1.0)
    session = build_session("s", acc=(t, xyz), hr=(hr_t, np.full(hr_t.size, 70.0)))
    minutes = minute_summary(session, config)
    got = nonwear_minutes(minutes, config)
    want = _reference_nonwear(xyz, int(fs), minutes.has_hr, config)  # every sample
    assert got.any() and np.array_equal(got, want)


def test_a_recordings_record_states_the_hr_values_each_verdict_used(tmp_path) -> None:
    """The recording's own HR_rest/HR_max only found its active minutes; each session
    found is analysed on its own slice (and with its participant's calibration), so the
    record gives, per session, the values of that session's verdict (review 2026-11-25:
    the record said HR_max 190 'default' while the sessions used 136.9 'calibration')."""
    import json

    from dosewatch.batch import run_batch

    day = tmp_path / "P05" / "day"
    day.mkdir(parents=True)
    t = np.arange(0.0, 3600.0)
    bpm = np.where((t >= 900) & (t < 2100), 150.0, 58.0) + np.sin(t / 7.0)
    (day / "hr.csv").write_text("time,hr\n" + "".join(
        f"{a:.0f},{b:.1f}\n" for a, b in zip(t, bpm, strict=True)), encoding="utf-8")
    config = replace(Config(), free_living=replace(Config().free_living, min_recording_h=0.5))
    report = run_batch([day], tmp_path / "out", config=config, pictures=False,
                       progress=False)
    assert not report.failures and len(report.rows) == 1
    record = json.loads((tmp_path / "out" / "recordings" / "day.json").read_text())
    (rec,) = record["recordings"]
    (found,) = rec["sessions"]
    summary = json.loads((tmp_path / "out" / found["session"] / "summary.json").read_text())
    keys = ("hr_rest", "hr_rest_source", "hr_max", "hr_max_source")
    assert {k: found[k] for k in keys} == {k: summary[k] for k in keys}
    assert "hr_max" not in rec  # the recording's own are named for what they did
    assert rec["to_find_sessions"]["hr_max_source"] in ("default", "observed")


def test_the_recordings_note_says_how_long_it_had_no_data(found) -> None:
    """Hours with neither stream (the logger stopped) are neither worn nor non-wear: the
    note every session of the recording carries says them apart (review 2026-11-25c: a
    recording with 42 h without data said only 'non-wear 0.0 h')."""
    rec, result = found
    whole = rec.session()
    assert f"no data {result.no_data.sum() / 60:.1f} h" in result.sessions[0].provenance.repairs[-2]
    cut = (20 * 3600.0, 23 * 3600.0)  # three hours of an evening without any sample

    def outside(t):
        return (t < cut[0]) | (t >= cut[1])

    hr, acc = whole.hr, whole.acc
    gappy = replace(whole, hr=replace(hr, t=hr.t[outside(hr.t)], bpm=hr.bpm[outside(hr.t)],
                                      rr_ms=None if hr.rr_ms is None else
                                      hr.rr_ms[outside(hr.t)]),
                    acc=replace(acc, t=acc.t[outside(acc.t)], xyz=acc.xyz[outside(acc.t)]))
    split_gappy = split(gappy, Config())
    hours = split_gappy.no_data.sum() / 60
    assert hours >= 2.9 + result.no_data.sum() / 60
    about = split_gappy.sessions[0].provenance.repairs[-2]
    assert about.startswith(f"free-living recording {gappy.name}:")
    assert f"no data {hours:.1f} h;" in about


def test_the_minutes_without_data_are_kept_as_periods() -> None:
    """A recording (its first 13 hours) with a hole (a flat battery): the summary says
    where the no-data minutes are, for the report's wear per day."""
    rec = recording()
    hole = (10 * 3600.0, 10.5 * 3600.0)  # half an hour without any sample

    t0 = min(rec.hr[0][0], rec.acc[0][0])  # the recording's times are Unix seconds

    def cut(t, v):
        keep = ((t - t0 < hole[0]) | (t - t0 >= hole[1])) & (t - t0 < 13 * 3600)
        return t[keep], v[keep]

    session = build_session("holed", hr=cut(*rec.hr), acc=cut(*rec.acc), profile=rec.profile,
                            source="holed", format="simulated")
    summary = split(session, Config()).summary()
    periods = summary["no_data"]
    # Whole minutes (the last, partly recorded, is clipped to the recording's end).
    assert sum(int(np.ceil(p["end_s"] / 60)) - int(p["start_s"] // 60)
               for p in periods) == summary["no_data_minutes"] > 0
    inside = [p for p in periods if p["minutes"] >= 1]
    assert len(inside) == 1
    assert abs(inside[0]["start_s"] - hole[0]) <= 60 and abs(inside[0]["end_s"] - hole[1]) <= 60
