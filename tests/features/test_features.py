"""Feature functions against slow, obvious reference implementations."""

import numpy as np
import pytest
from scipy import stats

from dosewatch.config import Config
from dosewatch.features import hr as hrmod
from dosewatch.features.acc import magnitude, window_features, window_features_from_matrix
from dosewatch.features.epochs import FEATURE_NAMES, epoch_count, extract
from dosewatch.session import Acceleration, HeartRate, Profile, build_session
from dosewatch.spec.trend import centred_windows, nan_median_rows, theil_sen

CFG = Config()


# ----------------------------------------------------------------------------- trend


def test_theil_sen_matches_scipy_row_by_row():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(40, 11)).cumsum(axis=1)
    y[rng.random(y.shape) < 0.2] = np.nan
    x = np.arange(11.0) * 0.5
    fast = theil_sen(y, x)
    for row, value in zip(y, fast, strict=True):
        ok = np.isfinite(row)
        if ok.sum() < 2:
            assert np.isnan(value)
        else:
            assert value == pytest.approx(stats.theilslopes(row[ok], x[ok])[0], abs=1e-12)


def test_nan_median_rows_matches_nanmedian():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(50, 9))
    a[rng.random(a.shape) < 0.3] = np.nan
    a[0] = np.nan
    fast = nan_median_rows(a)
    assert np.isnan(fast[0])
    for row, value in zip(a[1:], fast[1:], strict=True):
        assert value == pytest.approx(np.median(row[np.isfinite(row)]))


def test_centred_windows():
    w = centred_windows(np.arange(5.0), 2)
    assert w.shape == (5, 5)
    assert np.array_equal(w[2], [0, 1, 2, 3, 4])
    assert np.isnan(w[0, :2]).all() and np.array_equal(w[0, 2:], [0, 1, 2])


# ----------------------------------------------------------------------- acceleration


def slow_window_features(row: np.ndarray, fs: float) -> dict[str, float]:
    row = row.astype(np.float64)
    enmo = float(np.mean([max(v - 1.0, 0.0) for v in row]))
    mad = float(np.mean(np.abs(row - row.mean())))
    n_fft = len(np.fft.rfftfreq(len(row)))  # not used: reference spectrum below
    del n_fft
    import scipy.fft

    n = scipy.fft.next_fast_len(len(row), real=True)
    complex_spec = np.fft.rfft(row - row.mean(), n=n)
    spec = np.abs(complex_spec) ** 2
    freqs = np.fft.rfftfreq(n, d=1 / fs)
    move = (freqs >= 0.3) & (freqs <= 10)
    step = (freqs >= 1.3) & (freqs <= 4)
    total = spec[move].sum()
    step_power = spec[step].sum() / total if total > 0 else 0.0
    k = int(np.flatnonzero(step)[0] + np.argmax(spec[step]))
    # Between bins: Jacobsen's estimator on the complex spectrum at k-1, k, k+1.
    left, mid, right = (complex(complex_spec[k + d]) for d in (-1, 0, 1))
    shift = -((right - left) / (2 * mid - left - right)).real
    peak = freqs[k] + min(max(shift, -0.5), 0.5) * (freqs[1] - freqs[0])
    cadence = 60 * peak if (mad >= 0.01 and step_power >= 0.3) else 0.0
    return {"enmo_g": enmo, "mad_g": mad, "cadence_spm": cadence, "step_power": step_power}


@pytest.mark.parametrize("fs", [25.0, 50.0, 100.0, 200.0])
@pytest.mark.parametrize("seconds", [5.0, 10.0])
def test_window_features_match_reference(fs, seconds):
    rng = np.random.default_rng(int(fs + seconds))
    n = int(fs * seconds)
    t = np.arange(n) / fs
    rows = []
    for k in range(6):
        f = [0, 1.6, 2.03, 2.66, 3.0, 0.9][k]  # on and between the FFT's bins
        amp = [0.0, 0.2, 0.4, 0.9, 1.2, 0.3][k]
        rows.append(1 + amp * np.sin(2 * np.pi * f * t) + rng.normal(0, 0.01, n))
    matrix = np.array(rows, dtype=np.float32)
    fast = window_features_from_matrix(matrix, fs)
    for i, row in enumerate(matrix):
        ref = slow_window_features(row, fs)
        for name, value in ref.items():
            assert fast[name][i] == pytest.approx(value, rel=1e-4, abs=1e-5), (name, i)


def test_the_fft_length_is_scipys_fast_length() -> None:
    """The windows are padded to the length SciPy would choose, so the spectrum's bins
    (and the step band's edges) are where the reference puts them."""
    from scipy.fft import next_fast_len

    from dosewatch.features.acc import fast_fft_length

    for n in [*range(1, 700), 1000, 1024, 1500, 2999, 3001, 6250, 10007]:
        assert fast_fft_length(n) == next_fast_len(n, real=True), n


def test_cadence_is_the_step_frequency():
    fs = 50.0
    t = np.arange(int(60 * fs)) / fs
    xyz = np.zeros((t.size, 3), np.float32)
    xyz[:, 2] = 1 + 0.9 * np.sin(2 * np.pi * 2.75 * t)  # 165 steps/min
    xyz[:, 0] = 0.3 * np.sin(2 * np.pi * 1.375 * t)  # stride frequency sway
    wf = window_features(Acceleration(t=t, xyz=xyz, fs=fs), 60.0)
    assert np.allclose(wf.values["cadence_spm"], 165, atol=6)


def test_cadence_is_read_between_the_spectrums_bins():
    # A 10-s window's spectrum has a bin every 6 steps a minute; a treadmill ramp moves
    # cadence by a few steps a minute, which the peak bin alone cannot see.
    fs = 50.0
    t = np.arange(int(60 * fs)) / fs
    rng = np.random.default_rng(4)
    for spm in (151.0, 163.5, 166.2, 178.8):
        xyz = np.zeros((t.size, 3), np.float32)
        xyz[:, 2] = 1 + 0.8 * np.sin(2 * np.pi * spm / 60 * t) + rng.normal(0, 0.01, t.size)
        wf = window_features(Acceleration(t=t, xyz=xyz, fs=fs), 60.0)
        assert np.abs(wf.values["cadence_spm"] - spm).max() < 1.0, spm


def test_window_with_gap_is_missing():
    fs = 50.0
    t = np.arange(int(60 * fs)) / fs
    keep = (t < 22) | (t >= 25)  # a 3-s gap in the third 10-s window
    xyz = np.zeros((t.size, 3), np.float32)
    xyz[:, 2] = 1.0
    acc = Acceleration(t=t[keep], xyz=xyz[keep], fs=fs)
    wf = window_features(acc, 60.0)
    assert np.isnan(wf.values["enmo_g"][2])
    assert np.isfinite(np.delete(wf.values["enmo_g"], 2)).all()


def test_window_features_chunking_does_not_change_results():
    rng = np.random.default_rng(3)
    fs = 25.0
    t = np.arange(int(600 * fs)) / fs
    xyz = rng.normal(0, 0.3, (t.size, 3)).astype(np.float32)
    acc = Acceleration(t=t, xyz=xyz, fs=fs)
    one = window_features(acc, 600.0, chunk_windows=1000)
    many = window_features(acc, 600.0, chunk_windows=7)
    for name in one.values:
        assert np.array_equal(one.values[name], many.values[name], equal_nan=True)


def test_magnitude():
    xyz = np.array([[3, 4, 0], [0, 0, 1]], np.float32)
    assert magnitude(xyz).tolist() == [5.0, 1.0]


# ------------------------------------------------------------------------ heart rate


def test_to_grid_matches_slow_reference():
    t = np.array([0.0, 1.0, 2.0, 5.0, 30.0, 31.0])
    v = np.array([60.0, 62, 64, 70, 100, 101])
    grid = hrmod.to_grid(HeartRate(t=t, bpm=v, rr_ms=None, fs=1.0), 35)
    for second in range(35):
        left = t[t <= second]
        right = t[t >= second]
        if second in t:
            expected = v[t == second][0]
        elif left.size and right.size and right[0] - left[-1] <= hrmod.MAX_GAP_S:
            expected = np.interp(second, t, v)
        elif not right.size and second - t[-1] <= 0.5:
            expected = v[-1]
        else:
            expected = np.nan
        assert grid[second] == pytest.approx(expected, nan_ok=True), second


def test_cleaning_removes_spikes_and_out_of_range():
    t = np.arange(300.0)
    bpm = 120 + 0.02 * t
    bpm[100] = 190  # spike
    bpm[200:203] = 250  # impossible
    cleaned = hrmod.clean(HeartRate(t=t, bpm=bpm, rr_ms=None, fs=1.0), 300, CFG)
    assert np.isnan(cleaned.bpm[100]) and np.isnan(cleaned.bpm[200:203]).all()
    assert np.isfinite(np.delete(cleaned.bpm, [100, 200, 201, 202])).all()
    assert cleaned.n_removed["out of range"] == 3


def test_cadence_lock_is_removed_but_true_equal_rate_kept():
    t = np.arange(600.0)
    cadence = np.full(600, 170.0)
    bpm = np.full(600, 150.0)
    bpm[200:290] = 170.0  # locked on cadence: a jump of 20 bpm
    cleaned = hrmod.clean(HeartRate(t=t, bpm=bpm, rr_ms=None, fs=1.0), 600, CFG, cadence)
    assert np.isnan(cleaned.bpm[200:290]).all()
    assert np.isfinite(cleaned.bpm[:195]).all()
    # A heart rate that climbs smoothly to the cadence is physiology, not lock.
    smooth = np.linspace(140, 172, 600)
    kept = hrmod.clean(HeartRate(t=t, bpm=smooth, rr_ms=None, fs=1.0), 600, CFG, cadence)
    assert np.isfinite(kept.bpm).all()


def test_plateau_without_acceleration_is_bridged_but_a_real_change_kept():
    """An optical reading that jumps 20 bpm in a second, sits there a minute and jumps
    back (cadence lock, with no acceleration to compare) is bridged from both sides; a
    heart rate that rises as fast as a heart can, and stays, is kept."""
    rng = np.random.default_rng(5)
    t = np.arange(600.0)
    steady = 150.0 + rng.normal(0, 0.7, t.size)
    locked = steady.copy()
    locked[200:290] = 171.0 + rng.normal(0, 0.5, 90)
    cleaned = hrmod.clean(HeartRate(t=t, bpm=locked, rr_ms=None, fs=1.0), 600, CFG)
    assert cleaned.n_removed.get("plateau", 0) >= 88
    assert np.isfinite(cleaned.bpm).all()
    assert np.abs(cleaned.bpm[200:290] - 150.0).max() < 4.0
    # A change of pace: heart rate climbs 25 bpm over half a minute and stays there.
    rise = np.clip((t - 200) / 30.0, 0.0, 1.0) * 25.0
    real = hrmod.clean(HeartRate(t=t, bpm=steady + rise, rr_ms=None, fs=1.0), 600, CFG)
    assert "plateau" not in real.n_removed
    assert np.nanmax(real.bpm) > 172.0


def test_a_calm_stretch_far_above_the_sessions_low_is_not_rest():
    """Without acceleration a steady easy walk at 98 bpm is as calm as rest; a session
    that sits near 72 bpm later (too briefly, or too unsettled, to be a resting stretch
    itself) shows the walk was not its resting rate."""
    rng = np.random.default_rng(6)
    walk = 98.0 + rng.normal(0, 1.0, 8 * 60)
    run = 150.0 + rng.normal(0, 1.0, 20 * 60)
    after = 72.0 + rng.normal(0, 1.0, 2 * 60)  # two quiet minutes: below rest_min_minutes
    bpm = np.concatenate([walk, run, after])
    assert hrmod.estimate_hr_rest(bpm, CFG) is None
    # The same walk with nothing lower in the session still reads as its rest.
    assert hrmod.estimate_hr_rest(np.concatenate([walk, run]), CFG) == pytest.approx(
        98.0, abs=1.0)


def rest_then_run(rest_min: float, hr_rest: float = 58.0) -> np.ndarray:
    rng = np.random.default_rng(4)
    t = np.arange(int((rest_min + 20) * 60))
    bpm = np.where(t < rest_min * 60, hr_rest, 150.0) + rng.normal(0, 1.0, t.size)
    return bpm


def test_hr_rest_estimated_from_a_resting_stretch():
    est = hrmod.estimate_hr_rest(rest_then_run(5), CFG)
    assert est == pytest.approx(58.0, abs=1.0)


def test_no_resting_stretch_in_a_file_that_starts_mid_run():
    bpm = rest_then_run(0)
    assert hrmod.estimate_hr_rest(bpm, CFG) is None
    params = hrmod.resolve_params(bpm, Profile(age=40), CFG)
    assert params.hr_rest_source == "default" and params.hr_rest == 60
    assert any("no resting stretch" in w for w in params.warnings)


def test_recovery_is_not_rest():
    # Heart rate falling after exercise: low but not flat.
    bpm = np.linspace(110, 80, 600)
    assert hrmod.estimate_hr_rest(bpm, CFG) is None


def test_hr_rest_needs_stillness_when_acceleration_says_so():
    bpm = rest_then_run(5)
    moving = np.zeros(bpm.size // 60, dtype=bool)
    assert hrmod.estimate_hr_rest(bpm, CFG, still_minutes=moving) is None


def test_easy_pedalling_is_not_rest():
    """A ride that starts at 60 W with an easy heart rate has no resting stretch there:
    the power says the legs work (a real kinomap file read 92 bpm as HR_rest)."""
    from dosewatch.analysis import analyze_session
    from dosewatch.session import build_session

    t = np.arange(25 * 60, dtype=np.float64)
    bpm = np.where(t < 6 * 60, 88.0, 140.0) + np.random.default_rng(1).normal(0, 0.8, t.size)
    power = np.where(t < 6 * 60, 60.0, 180.0)
    riding = build_session("ride", hr=(t, bpm), power=(t, power))
    assert analyze_session(riding).info.hr_params.hr_rest_source == "default"
    sitting = build_session("sit", hr=(t, bpm), power=(t, np.where(t < 6 * 60, 0.0, 180.0)))
    params = analyze_session(sitting).info.hr_params
    assert params.hr_rest_source == "estimated" and params.hr_rest == pytest.approx(88, abs=1)


@pytest.mark.parametrize(
    ("profile", "hr_max", "source"),
    [(Profile(hr_max=185), 185, "profile"), (Profile(age=40), 180, "age"),
     (Profile(), 190, "default")],
)
def test_hr_max_sources(profile, hr_max, source):
    params = hrmod.resolve_params(np.full(600, 100.0), profile, CFG)
    assert params.hr_max == pytest.approx(hr_max) and params.hr_max_source == source


def test_hr_max_raised_when_held_for_30_s():
    bpm = np.full(600, 120.0)
    bpm[100:135] = 196.0
    params = hrmod.resolve_params(bpm, Profile(age=40), CFG)
    assert params.hr_max == 196 and params.hr_max_source == "observed"
    assert any("raised" in w for w in params.warnings)
    bpm[100:125] = 196.0
    bpm[125:135] = 120.0  # only 25 s: not raised
    assert hrmod.resolve_params(bpm, Profile(age=40), CFG).hr_max == 180


# ---------------------------------------------------------------------- epoch table


def test_epoch_count():
    assert epoch_count(3600, 60) == 60
    assert epoch_count(3629, 60) == 60
    assert epoch_count(3630, 60) == 61
    assert epoch_count(5, 60) == 1


@pytest.mark.parametrize("fs", [25.0, 100.0])
def test_epoch_features_match_slow_loop(fs):
    rng = np.random.default_rng(5)
    minutes = 12
    t_hr = np.arange(minutes * 60.0)
    hr = 70 + 5 * np.sin(t_hr / 50) + rng.normal(0, 1, t_hr.size)
    t_acc = np.arange(int(minutes * 60 * fs)) / fs
    xyz = np.column_stack([
        rng.normal(0, 0.05, t_acc.size),
        rng.normal(0, 0.05, t_acc.size),
        1 + 0.5 * np.sin(2 * np.pi * 2.5 * t_acc) * (t_acc > 300),
    ]).astype(np.float32)
    session = build_session("s", hr=(t_hr, hr), acc=(t_acc, xyz),
                            profile=Profile(hr_rest=60, hr_max=180, placement="chest"))
    features, info = extract(session, CFG)
    assert features.n == minutes
    assert set(features.values) == set(FEATURE_NAMES)
    lag = int(CFG.heart_rate.lag_s)
    r = magnitude(xyz)
    for e in range(minutes):
        in_epoch = (t_acc >= e * 60) & (t_acc < (e + 1) * 60)
        enmo = np.maximum(r[in_epoch] - 1, 0).mean()
        assert features.values["enmo_g"][e] == pytest.approx(enmo, rel=1e-4, abs=1e-6)
        later = (t_hr >= e * 60 + lag) & (t_hr < (e + 1) * 60 + lag)
        window = hr[later] if later.sum() >= 30 else hr[(t_hr >= e * 60) & (t_hr < (e + 1) * 60)]
        assert features.values["hr_bpm"][e] == pytest.approx(np.median(window), abs=1e-9)
        expected_pct = 100 * (np.median(window) - 60) / 120
        assert features.values["pct_hrr"][e] == pytest.approx(expected_pct, abs=1e-9)
    assert (features.values["cadence_spm"][6:] == pytest.approx(150, abs=6))
    assert (features.values["cadence_spm"][:5] == 0).all()
    assert info.hr_params.hr_rest_source == "profile"


def test_epoch_features_without_streams_are_nan():
    t = np.arange(600.0)
    session = build_session("hr only", hr=(t, np.full(600, 100.0)))
    features, info = extract(session, CFG)
    assert np.isnan(features.values["enmo_g"]).all()
    assert (features.values["acc_coverage"] == 0).all()
    assert not info.has_acc and info.has_hr


@pytest.mark.parametrize("window", [5, 31, 61])
def test_quadratic_smoothing_is_savitzky_golay(window: int) -> None:
    """The demand's smoothing is SciPy's savgol_filter (order 2, mode 'interp'), written
    with NumPy so analysing does not pay for importing scipy.signal."""
    from scipy.signal import savgol_filter

    from dosewatch.features.hr import quadratic_smooth

    y = np.cumsum(np.random.default_rng(window).normal(size=400))
    smooth, slope = quadratic_smooth(y, window)
    np.testing.assert_allclose(smooth, savgol_filter(y, window, 2, mode="interp"), atol=1e-9)
    np.testing.assert_allclose(slope, savgol_filter(y, window, 2, deriv=1, mode="interp"),
                               atol=1e-9)


@pytest.mark.parametrize(("n", "size", "block"), [(400, 15, 1 << 20), (1000, 15, 97), (7, 15, 4),
                                                  (1, 3, 8)])
def test_moving_median_is_scipy_median_filter(n: int, size: int, block: int) -> None:
    """The spike filter's median is SciPy's median_filter (mode 'nearest'), across block
    boundaries and on series shorter than the window."""
    from scipy.ndimage import median_filter

    from dosewatch.features.hr import moving_median

    y = 120 + np.cumsum(np.random.default_rng(n).normal(size=n))
    y[n // 2] += 60  # a spike the filter must not follow
    np.testing.assert_array_equal(moving_median(y, size, block=block),
                                  median_filter(y, size=size, mode="nearest"))


def test_moving_median_of_a_window_with_nan_or_huge_values_is_np_median() -> None:
    """Sorting puts NaN last, so a window holding a NaN would get a made-up median from
    its other values; like np.median it has none. The middle of an odd window is taken as
    it is (halving twice a huge value overflowed to infinity)."""
    from dosewatch.features.hr import moving_median

    y = 120 + np.cumsum(np.random.default_rng(3).normal(size=60))
    y[30] = np.nan
    y[50] = 1e308
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(y, 7, mode="edge"), 15)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(moving_median(y, 15, block=16),
                                      np.median(windows, axis=1))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 30, 31, 64])
def test_moving_min_is_the_minimum_of_each_window(size: int) -> None:
    """HR_max's sustained rate: the lowest of each ``size`` seconds, every window (sizes on
    and off the powers of two, a window as long as the series)."""
    from dosewatch.features.hr import moving_min

    rng = np.random.default_rng(size)
    for n in (size, size + 1, 3 * size + 5, 200):
        y = rng.normal(150, 20, n)
        y[rng.random(n) < 0.1] = -1.0  # the gaps' stand-in
        windows = np.lib.stride_tricks.sliding_window_view(y, size)
        np.testing.assert_array_equal(moving_min(y, size), windows.min(axis=1))


def test_no_heart_rate_is_made_up_across_a_long_gap_or_past_the_ends():
    """Issue 14: two readings a day apart have a 'sample period' of a day; the grid holds
    them, not a day of heart rate."""
    hr = HeartRate(t=np.array([0.0, 86_400.0]), bpm=np.array([150.0, 150.0]), rr_ms=None,
                   fs=1 / 86_400)
    grid = hrmod.to_grid(hr, 86_420)
    # Each reading holds for at most half the longest gap filled (10 s) past the end.
    assert np.flatnonzero(np.isfinite(grid)).tolist() == [0, *range(86_400, 86_406)]


def test_the_longest_gap_filled_is_the_configured_one():
    from dataclasses import replace

    t = np.array([0.0, 1.0, 2.0, 8.0, 9.0])
    hr = HeartRate(t=t, bpm=np.full(5, 100.0), rr_ms=None, fs=1.0)
    strict = replace(CFG, heart_rate=replace(CFG.heart_rate, max_gap_s=5.0))
    assert np.isfinite(hrmod.clean(hr, 10, CFG).bpm[:10]).all()  # 6 s gap: filled at 10
    assert np.isnan(hrmod.clean(hr, 10, strict).bpm[3:8]).all()  # ...not at 5


@pytest.mark.parametrize(("steps_per_min", "gait_cost"), [(150.0, 0.2), (120.0, 0.1)])
def test_the_accelerometers_steps_tell_a_jog_from_a_brisk_walk(steps_per_min, gait_cost):
    """At 1.9 m/s speed alone would say walking; steps at 150 a minute say running, and the
    workload is priced as a run (ACSM: 0.2 ml/kg/min per m/min, walking 0.1)."""
    from dosewatch.features.base import EpochGrid, FeatureContext
    from dosewatch.features.workload import RUN_VO2_RESERVE, workload_features
    from dosewatch.session import build_session

    t = np.arange(10 * 60, dtype=np.float64)
    session = build_session("treadmill", hr=(t, np.full(t.size, 140.0)),
                            speed=(t, np.full(t.size, 1.9)))
    ctx = FeatureContext(placement="wrist", placement_source="profile",
                         cadence_1hz=np.full(t.size, steps_per_min))
    ref = workload_features(session, EpochGrid(10, 60.0), CFG, ctx)["workload_ref"]
    expected = 100.0 * gait_cost * 1.9 * 60.0 / RUN_VO2_RESERVE
    assert ref == pytest.approx(np.full(10, expected))
    still = FeatureContext(placement="wrist", placement_source="profile",
                           cadence_1hz=np.zeros(t.size))
    walked = workload_features(session, EpochGrid(10, 60.0), CFG, still)["workload_ref"]
    assert walked == pytest.approx(np.full(10, 100.0 * 0.1 * 1.9 * 60.0 / RUN_VO2_RESERVE))


def _walk_then_jog(jog_demand: float) -> tuple[np.ndarray, ...]:
    """40 epochs at 1.3 m/s (a walk: certain), then 20 at 2.0 m/s without a cadence
    (a walk or a jog: speed alone cannot tell), with the heart-rate demand each reading
    predicts for a person of fitness k = 1.2."""
    from dosewatch.features.workload import RUN_VO2_RESERVE, foot_vo2

    speed = np.r_[np.full(40, 1.3), np.full(20, 2.0)]
    flat = np.zeros(speed.size)
    walk = 100.0 * foot_vo2(speed, flat, np.zeros(speed.size, bool)) / RUN_VO2_RESERVE
    run = 100.0 * foot_vo2(speed, flat, np.ones(speed.size, bool)) / RUN_VO2_RESERVE
    run_ref = np.where(speed >= 1.5, run, np.nan)
    demand = 1.2 * walk
    demand[40:] = jog_demand
    return demand, walk, run_ref, np.ones(speed.size)


@pytest.mark.parametrize("jog", [True, False])
def test_heart_rate_tells_a_jog_from_a_brisk_walk_at_the_same_speed(jog):
    # At 2.0 m/s without a cadence the walking equation costs half the running one; the
    # heart rate says which it was (a treadmill protocol that switches from incline
    # walking to running, or a brisk walker).
    from dosewatch.features.workload import resolve_gait

    _, walk, run_ref, moving = _walk_then_jog(0.0)
    demand, *_ = _walk_then_jog(1.2 * (run_ref[-1] if jog else walk[-1]))
    speed = np.r_[np.full(40, 1.3), np.full(20, 2.0)]
    out, said = resolve_gait(demand, walk, run_ref, speed, 0 * speed, moving, 1.0)
    np.testing.assert_array_equal(out[:40], walk[:40])  # certain epochs never change
    np.testing.assert_allclose(out[40:], run_ref[40:] if jog else walk[40:])
    assert np.isnan(said[:40]).all() and (said[40:] == float(jog)).all()
    # Without heart rate nothing can tell: the walk stays.
    unknown, said = resolve_gait(np.full(demand.size, np.nan), walk, run_ref, speed,
                                 0 * speed, moving, 1.0)
    np.testing.assert_array_equal(unknown, walk)
    assert np.isnan(said).all()


def test_a_treadmill_protocol_that_starts_running_stays_a_ramp():
    # A person who runs from 1.7 m/s: the incline rises at a walk, then the belt speeds
    # up and they run at 2.0-2.3 m/s. Priced as a walk, the workload fell at the switch
    # and the ramp broke into "constant" (3 of 96 development sessions).
    from dosewatch.analysis import analyze_session
    from dosewatch.simulate import Options, Person, simulate

    person = Person(id="P", age=30.5, sex="female", hr_rest=81.0, hr_max=186.2,
                    vo2max=41.8, tau_on_s=37.5, tau_off_s=69.7, drift_bpm_per_min=0.14,
                    height_m=1.62, walk_max_mps=1.76)
    sim = simulate("steady_then_ramp", person, modality="hr+speed", seed=3, profile="full",
                   options=Options(incline=True))
    session = sim.session
    assert session.cadence is None and session.grade is not None
    result = analyze_session(session, classifier="physio")
    assert sim.truth.session_class == result.session_class == "accelerating"
    assert result.info.relation.r2 > 0.9
    labels = result.prediction.labels[: sim.truth.labels.size]
    ramp = sim.truth.labels == 3
    assert np.mean(labels[ramp] == 3) > 0.8


def test_an_incline_walk_stays_a_walk_when_a_slow_minute_reads_as_a_jog():
    # Walking at 1.62 m/s up a rising incline, then two minutes of jogging at 2.0 m/s and a
    # slow minute (1.59 m/s) while the heart rate is still high: that minute reads as a jog,
    # but the walking pace is a walk (its minutes on the flat say so), and the incline ramp
    # stays a ramp (priced as a run, its climb would cost half).
    from dosewatch.analysis import analyze_session
    from dosewatch.simulate import Options, Person, simulate

    person = Person(id="P", age=33.0, sex="male", hr_rest=70.0, hr_max=186.0, vo2max=36.0,
                    tau_on_s=50.0, tau_off_s=80.0, drift_bpm_per_min=0.2, height_m=1.80,
                    walk_max_mps=1.62)
    sim = simulate("ramp", person, modality="hr+speed", seed=2, profile="full",
                   options=Options(incline=True))
    result = analyze_session(sim.session, classifier="physio")
    v = result.features.values
    walking = np.isclose(v["speed_mps"], 1.62, atol=0.01)
    assert walking.sum() > 20 and (v["jog_by_hr"][walking & (v["grade"] < 0.02)] == 0).all()
    jogging = v["speed_mps"] > 2.0
    assert (v["jog_by_hr"][jogging] == 1).all()
    assert sim.truth.session_class == result.session_class == "accelerating"
