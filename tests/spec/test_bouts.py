"""The bout rule's edge cases and the 30-minute dose."""

import numpy as np
import pytest

from dosewatch.config import Config
from dosewatch.spec.bouts import bout_spans, find_bouts
from dosewatch.spec.labels import label_epochs
from dosewatch.spec.runs import runs, spans_mask

CFG = Config()


def mask(*runs: tuple[bool, int]) -> np.ndarray:
    return np.concatenate([np.full(n, q) for q, n in runs])


def spans(*runs):
    return bout_spans(mask(*runs), CFG)


def test_runs_and_back():
    m = mask((False, 2), (True, 3), (False, 1), (True, 2))
    assert runs(m).tolist() == [[2, 5], [6, 8]]
    assert runs(np.zeros(5, bool)).size == 0
    assert np.array_equal(spans_mask(runs(m), m.size), m)
    assert not spans_mask(np.empty((0, 2), int), 4).any()


def test_two_minute_break_joins():
    assert spans((True, 15), (False, 2), (True, 15)) == [(0, 32)]


def test_three_minute_break_splits():
    assert spans((True, 15), (False, 3), (True, 15)) == [(0, 15), (18, 33)]


def test_twenty_percent_rule():
    # 4 + 1 + 4 + 1 ... : breaks 1 of 5 = 20 % exactly, allowed.
    assert spans((True, 4), (False, 1), (True, 4)) == [(0, 9)]
    # 3 + 2 + 3: breaks 2 of 8 = 25 % -> split although the break is only 2 minutes.
    assert spans((True, 3), (False, 2), (True, 3)) == [(0, 3), (5, 8)]


def test_breaks_add_up():
    # 8 + 2 + 2: breaks 2 of 12 (17 %) join; a further 2 + 2 would make 4 of 16 (25 %),
    # although that break alone (2 of 6 in the new run's terms) is never looked at alone.
    runs = [(True, 8), (False, 2), (True, 2), (False, 2), (True, 2)]
    assert spans(*runs) == [(0, 12), (14, 16)]
    # With a longer first run the same breaks stay within 20 %: one bout.
    runs = [(True, 16), (False, 2), (True, 2), (False, 2), (True, 2)]
    assert spans(*runs) == [(0, 24)]


def test_bout_starts_and_ends_on_qualifying_epochs():
    assert spans((False, 3), (True, 10), (False, 4)) == [(3, 13)]


def bouts_of(intensity):
    intensity = np.asarray(intensity, dtype=float)
    return find_bouts(intensity, label_epochs(intensity, CFG), CFG)


def test_29_vs_30_minutes():
    b29 = bouts_of(np.r_[np.full(5, 5.0), np.full(29, 50.0), np.full(5, 5.0)])
    b30 = bouts_of(np.r_[np.full(5, 5.0), np.full(30, 50.0), np.full(5, 5.0)])
    assert [b.qualifying_minutes for b in b29] == [29.0] and not b29[0].dose_met
    assert [b.qualifying_minutes for b in b30] == [30.0] and b30[0].dose_met
    assert b30[0].dose_met_at_s == 35 * 60
    assert b29[0].dose_met_at_s is None


def test_dose_counts_qualifying_minutes_not_length():
    # 28 + 2 break + 2 = 32 minutes long, 30 qualifying -> dose met.
    intensity = np.r_[np.full(28, 50.0), np.full(2, 30.0), np.full(2, 50.0)]
    (bout,) = bouts_of(intensity)
    assert bout.end_s - bout.start_s == 32 * 60
    assert bout.qualifying_minutes == 30 and bout.dose_met
    assert bout.dose_met_at_s == 32 * 60


def test_missing_epochs_are_breaks():
    intensity = np.r_[np.full(15, 50.0), np.full(2, np.nan), np.full(15, 50.0)]
    (bout,) = bouts_of(intensity)
    assert bout.qualifying_minutes == 30
    assert bout.minutes["intermediate"] == 30


def test_bout_summary_fields():
    intensity = np.r_[np.full(3, 5.0), np.full(10, 45.0), np.full(10, 65.0)]
    (bout,) = bouts_of(intensity)
    assert bout.start_s == 180 and bout.end_s == 23 * 60
    assert bout.mean_pct_hrr == pytest.approx(55.0)
    assert bout.minutes["intermediate"] + bout.minutes["constant"] == 20
    d = bout.as_dict()
    assert set(d) >= {"start_s", "end_s", "qualifying_minutes", "mean_pct_hrr", "dose_met"}


def test_light_exercise_is_no_bout():
    assert bouts_of(np.full(60, 35.0)) == []


def test_thirty_second_epochs():
    cfg = Config.from_dict({"epochs": {"epoch_s": 30.0}})
    q = mask((True, 30), (False, 4), (True, 30))  # 2-minute break = 4 epochs: joins
    assert bout_spans(q, cfg) == [(0, 64)]
    q = mask((True, 30), (False, 5), (True, 30))  # 2.5 minutes: splits
    assert bout_spans(q, cfg) == [(0, 30), (35, 65)]
    intensity = np.where(mask((True, 59), (False, 5)), 50.0, 5.0)
    (bout,) = find_bouts(intensity, label_epochs(intensity, cfg), cfg)
    assert bout.qualifying_minutes == 29.5 and not bout.dose_met
