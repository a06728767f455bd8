"""The session result: what summary.json, epochs.csv and the picture are all written from."""

from __future__ import annotations

import csv
import json

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.outputs import write_session
from dosewatch.session import Profile, build_session


def _run_then_fall_below_rest():
    """10 min at rest, 30 min at 75 %HRR, then heart rate falls fast to 52 bpm, below the
    profile's HR_rest of 60 (a fit person's real resting rate, or a wrong HR_rest)."""
    t = np.arange(0.0, 50 * 60.0)
    bpm = np.full(t.size, 60.0)
    run = (t >= 600) & (t < 2400)
    bpm[run] = 60 + 90 * (1 - np.exp(-(t[run] - 600) / 30))
    after = t >= 2400
    bpm[after] = 52 + 98 * np.exp(-(t[after] - 2400) / 25)
    return build_session("fall", hr=(t, bpm), profile=Profile(hr_rest=60, hr_max=180))


def test_intensity_is_never_below_rest_while_measured_hrr_may_be(tmp_path):
    # Inverting the lag of a fast fall (D = HR + τ·dHR/dt) read -44 %HRR here (-52 on a
    # real recording); no workload demands less than rest, so the model's intensity and
    # the demand stop at 0, while the measured %HRR honestly stays below 0.
    result = analyze_session(_run_then_fall_below_rest())
    folder = write_session(result, tmp_path, "fall", picture=False)
    with (folder / "epochs.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    intensity = np.array([float(r["intensity"]) for r in rows])
    demand = np.array([float(r["pct_hrr_demand"]) for r in rows])
    measured = np.array([float(r["pct_hrr"]) for r in rows])
    assert intensity.min() == 0.0 and demand.min() == 0.0
    assert measured.min() < -5  # HR 52 below HR_rest 60: -6.7 %HRR, as measured
    assert np.array_equal(intensity, np.round(result.prediction.intensity, 6))  # the picture's
    assert all(r["level"] == "rest" for r in rows[40:])  # below 20 %HRR either way
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["dose_met"] is True and summary["bouts"][0]["mean_pct_hrr"] > 70


def test_the_picture_draws_the_floored_intensity_and_the_measured_heart_rate():
    from dosewatch.plot import draw_session

    result = analyze_session(_run_then_fall_below_rest())
    fig = draw_session(result)
    ax = next(a for a in fig.axes if a.get_ylabel() == "intensity (%HRR)")
    from matplotlib.colors import to_rgba
    from matplotlib.patches import StepPatch

    (stairs,) = [p for p in ax.patches if isinstance(p, StepPatch)
                 and p.get_edgecolor() == to_rgba("black")]
    drawn = stairs.get_data().values  # the intensity, the same numbers as epochs.csv
    np.testing.assert_array_equal(drawn, result.prediction.intensity)
    assert np.nanmin(drawn) == 0.0
    # The axis goes as low as the measured %HRR, so heart rate below HR_rest is seen.
    measured = np.nanmin(result.features.values["pct_hrr"])
    assert ax.get_ylim()[0] <= measured < -5


def _run_with_auto_pause(with_hr: bool = True):
    """5 min at rest, 35 min running at 3 m/s (75 %HRR), 5 min at rest, and a watch
    auto-pause of minutes 20-21 of the run: no sample of any stream (the Runpandas
    2020-12-08 recording pauses so)."""
    t = np.arange(0.0, 45 * 60.0)
    run = (t >= 300) & (t < 2400)
    bpm = np.full(t.size, 60.0)
    bpm[run] = 60 + 90 * (1 - np.exp(-(t[run] - 300) / 30))
    bpm[t >= 2400] = 60 + 90 * np.exp(-(t[t >= 2400] - 2400) / 30)
    speed = np.where(run, 3.0, 0.0)
    kept = (t < 1200) | (t >= 1320)
    return build_session("pause", hr=(t[kept], bpm[kept]) if with_hr else None,
                         speed=(t[kept], speed[kept]),
                         profile=Profile(age=30, hr_rest=60, hr_max=180))


def test_a_pause_without_data_is_missing_and_bridged_never_qualifying_on_every_path():
    # Review 2026-11-25b item 11: with heart rate, the classifiers' bridging of short
    # heart-rate dropouts gave the two paused minutes an interpolated intensity, a label
    # and two qualifying minutes; without heart rate the same minutes were missing. A
    # minute with no data is missing (SPEC: gaps are missing) and a bout may bridge it as
    # a break of up to 2 minutes, but it never counts towards the dose.
    for with_hr in (True, False):
        for classifier in ("physio", "rules", "learned"):
            if classifier == "learned" and not with_hr:
                continue  # the learned model hands a workload-only session to physio
            result = analyze_session(_run_with_auto_pause(with_hr), classifier=classifier)
            label = result.epoch_columns()["label"]
            where = f"{classifier}, heart rate {with_hr}"
            assert label[20:22].tolist() == ["missing", "missing"], where
            assert np.isnan(result.prediction.intensity[20:22]).all(), where
            assert not result.qualifying[20:22].any(), where
            assert result.epoch_columns()["intensity_source"][20:22].tolist() == ["", ""]
            (bout,) = [b for b in result.bouts if b.qualifying_minutes >= 10]
            assert bout.start_epoch < 20 and bout.end_epoch > 22, where  # bridged
            assert bout.qualifying_minutes == bout.end_s / 60 - bout.start_s / 60 - 2, where
            assert result.data_coverage == 43 / 45, where
