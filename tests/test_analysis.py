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
    (line,) = [x for x in ax.lines if x.get_color() == "black"]
    drawn = line.get_ydata()  # the intensity, the same numbers as epochs.csv
    np.testing.assert_array_equal(drawn, result.prediction.intensity)
    assert np.nanmin(drawn) == 0.0
    # The axis goes as low as the measured %HRR, so heart rate below HR_rest is seen.
    measured = np.nanmin(result.features.values["pct_hrr"])
    assert ax.get_ylim()[0] <= measured < -5
