"""Every configuration number is checked (issue 14): a value that cannot be meant (nan,
inf, a trend window of a billion minutes, a list of text) is a ConfigError naming the key,
never an internal error in every session or gigabytes of memory."""

from __future__ import annotations

import pytest

from dosewatch.config import RANGES, Config
from dosewatch.errors import ConfigError


@pytest.mark.parametrize(("data", "message"), [
    ({"heart_rate": {"lag_s": float("nan")}}, "[heart_rate] lag_s = nan is not a finite"),
    ({"bouts": {"dose_min": float("inf")}}, "[bouts] dose_min = inf is not a finite"),
    ({"trend": {"window_min": 1e9}}, "[trend] window_min = 1000000000.0 is outside 1–240"),
    ({"epochs": {"epoch_s": 86400.0}}, "[epochs] epoch_s = 86400.0 is outside 1–3600"),
    ({"bouts": {"max_break_fraction": 1.5}}, "max_break_fraction = 1.5 is outside"),
    ({"acceleration": {"wrist_enmo_g": [0.1, "x", 0.3]}}, "must be a list of numbers"),
    ({"acceleration": {"wrist_enmo_g": [0.1, float("nan"), 0.3]}}, "is not a finite number"),
    ({"adherence": {"target_weeks": 2.5}}, "[adherence] target_weeks must be a whole number"),
    ({"adherence": {"count_same_day_once": 1}}, "must be true or false"),
    ({"heart_rate": {"valid_min_bpm": 200.0, "valid_max_bpm": 100.0}},
     "valid_min_bpm must be below valid_max_bpm"),
    ({"batch": {"input_memory_mb": 1.0}}, "[batch] input_memory_mb = 1.0 is outside"),
])
def test_impossible_values_are_refused_naming_the_key(data, message):
    with pytest.raises(ConfigError) as err:
        Config.from_dict(data, source="study.toml")
    assert message in str(err.value) and "study.toml" in str(err.value)


def test_every_default_is_inside_its_range():
    Config().check()
    for section, key in RANGES:
        assert hasattr(getattr(Config(), section), key), (section, key)


def test_the_batch_budgets_round_trip_through_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[batch]\ninput_memory_mb = 512\ninput_time_s = 60\n"
                    "[heart_rate]\nmax_gap_s = 5\n")
    config = Config.load(path)
    assert config.batch.input_memory_mb == 512.0 and config.batch.input_time_s == 60.0
    assert config.heart_rate.max_gap_s == 5.0
