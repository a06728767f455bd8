"""How sure a verdict is: heart-rate gaps that could decide the dose or the class."""

from __future__ import annotations

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.session import Profile, build_session

PROFILE = Profile(hr_rest=60, hr_max=180)  # not defaults: nothing else lowers certainty


def _session(levels: list[tuple[float, float, float]], gap: tuple[float, float] | None,
             minutes: float):
    """Heart rate at 1 Hz: 62 bpm, except ``(from_min, to_min, bpm)`` stretches; the
    samples of the ``gap`` (minutes) dropped, as a strap that loses contact."""
    t = np.arange(0.0, minutes * 60)
    bpm = np.full(t.size, 62.0)
    for lo, hi, level in levels:
        bpm[(t >= lo * 60) & (t < hi * 60)] = level
    bpm += np.random.default_rng(1).normal(0, 1.5, t.size)
    keep = np.ones(t.size, dtype=bool) if gap is None else ~(
        (t >= gap[0] * 60) & (t < gap[1] * 60))
    return build_session("gap", hr=(t[keep], bpm[keep]), profile=PROFILE)


RUN = [(5, 45, 120.0)]  # 40 minutes at 50 %HRR: the dose, with minutes to spare


def test_a_dropout_that_splits_the_longest_bout_lowers_certainty_and_says_where():
    whole = analyze_session(_session(RUN, None, 50))
    assert whole.dose_met and whole.certainty.level == "high"
    cut = analyze_session(_session(RUN, (20, 30), 50))
    assert not cut.dose_met  # two bouts of 15 minutes: the gap flipped the dose
    # 40 of 50 minutes hold heart rate (coverage alone, far above the 50 % warning,
    # would not lower it)
    assert cut.data_coverage == 0.8
    assert cut.certainty.level == "medium"
    (reason,) = [r for r in cut.certainty.reasons if "missing" in r]
    assert "10 minutes (minutes 20–30 of the session)" in reason
    assert "40 qualifying minutes" in reason and "had it stopped 15" in reason
    assert "30-minute dose" in reason


def test_a_dropout_that_cannot_decide_the_verdict_leaves_it_high():
    # Far from the bout (rest after it), and a bridged 2-minute one inside it.
    for gap in ((50, 58), (20, 22)):
        result = analyze_session(_session(RUN, gap, 60))
        assert result.dose_met
        assert result.certainty.level == "high", (gap, result.certainty)


def test_a_dropout_that_could_decide_the_class_lowers_certainty():
    # 6 minutes intermediate, 8 minutes without heart rate, 12 minutes vigorous: no dose
    # either way (26 < 30), but the gap could hold enough intermediate to outnumber.
    levels = [(5, 11, 120.0), (11, 31, 150.0)]
    result = analyze_session(_session(levels, (11, 19), 40))
    assert result.session_class == "constant" and not result.dose_met
    (reason,) = result.certainty.reasons
    assert "8 minutes (minutes 11–19 of the session)" in reason
    assert "12 minutes are constant and 6 intermediate" in reason
    assert "session class" in reason


def test_a_dropout_the_speed_covered_is_no_gap_but_a_speed_gap_without_heart_rate_is():
    # Review 2026-11-25b, item 3: a run at a steady 3 m/s with its speed throughout.
    t = np.arange(0.0, 50 * 60)
    speed = np.where((t >= 5 * 60) & (t < 45 * 60), 3.0, 0.0)
    bpm = np.interp(t, [0, 300, 420, 2700, 2820, 3000], [62, 62, 125, 125, 62, 62])
    keep = ~((t >= 20 * 60) & (t < 30 * 60))
    with_speed = build_session("run", hr=(t[keep], bpm[keep]), speed=(t, speed),
                               profile=PROFILE)
    covered = analyze_session(with_speed)
    assert covered.dose_met and not any("missing" in r for r in covered.certainty.reasons)
    # The same run without heart rate, its speed lost for 10 minutes: that gap is judged.
    strapless = build_session("run", speed=(t[keep], speed[keep]), profile=PROFILE)
    result = analyze_session(strapless)
    (reason,) = [r for r in result.certainty.reasons if "missing" in r]
    assert reason.startswith("the speed or power is missing for 10 minutes")
