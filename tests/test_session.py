"""The session model: normalisation at the boundary, profile validation, configuration."""

from datetime import UTC, datetime

import numpy as np
import pytest

from dosewatch.config import Config
from dosewatch.errors import ConfigError, InputError, ProfileError
from dosewatch.session import Profile, build_session


def test_unsorted_duplicated_gappy_times_are_normalised():
    t = np.array([3.0, 1.0, 2.0, 2.0, 10.0, np.nan, 0.0])
    bpm = np.array([63.0, 61, 62, 99, 70, 80, 60])
    s = build_session("x", hr=(t, bpm))
    assert s.hr.t.tolist() == [0, 1, 2, 3, 10]
    assert s.hr.bpm.tolist() == [60, 61, 62, 63, 70]  # first of the duplicates kept
    text = " ".join(s.provenance.repairs)
    assert "sorted" in text and "duplicated" in text and "non-finite time" in text
    assert s.hr.fs == pytest.approx(1.0)


def test_sorted_input_is_not_copied_or_changed():
    t = np.arange(5.0)
    s = build_session("x", hr=(t, np.full(5, 60.0)))
    assert s.provenance.repairs == ()
    assert t.tolist() == [0, 1, 2, 3, 4]  # the caller's array is untouched


def test_missing_values_become_gaps():
    t = np.arange(6.0)
    s = build_session("x", hr=(t, np.array([60, np.nan, 62, 63, np.nan, 65.0])))
    assert s.hr.t.tolist() == [0, 2, 3, 5]
    assert any("missing value" in r for r in s.provenance.repairs)


def test_unix_times_give_start_time_and_a_common_origin():
    t0 = 1_700_000_000.0
    s = build_session(
        "x",
        hr=(t0 + np.arange(10.0), np.full(10, 60.0)),
        acc=(t0 - 2 + np.arange(100) / 10, np.zeros((100, 3))),
    )
    assert s.provenance.start_time == datetime.fromtimestamp(t0 - 2, UTC)
    assert s.acc.t[0] == 0 and s.hr.t[0] == pytest.approx(2.0)
    assert s.acc.xyz.dtype == np.float32 and s.acc.fs == pytest.approx(10.0)
    assert s.duration_s == pytest.approx(12.0)


def test_needs_heart_rate_or_acceleration():
    with pytest.raises(InputError, match="neither heart rate nor acceleration"):
        build_session("x", speed=(np.arange(3.0), np.ones(3)))
    with pytest.raises(InputError, match="no usable"):
        build_session("x", hr=(np.array([np.nan]), np.array([60.0])))


def test_length_mismatch_is_an_input_error():
    with pytest.raises(InputError, match="3 times but 2 values"):
        build_session("x", hr=(np.arange(3.0), np.ones(2)), source="hr.csv")


@pytest.mark.parametrize(
    ("profile", "match"),
    [
        (Profile(age=400), "age"),
        (Profile(hr_rest=110, hr_max=105), "not below hr_max"),
        (Profile(hr_max=500), "hr_max"),
        (Profile(placement="ankle"), "placement"),
        (Profile(age=float("nan")), "age"),
    ],
)
def test_nonsense_profiles(profile, match):
    with pytest.raises(ProfileError, match=match):
        profile.validate("profile.toml")


def test_profile_merge():
    merged = Profile(age=30, hr_rest=50).merged(Profile(hr_rest=55, placement="chest"))
    assert merged == Profile(age=30, hr_rest=55, placement="chest")


def test_config_from_dict_and_errors(tmp_path):
    cfg = Config.from_dict({"bouts": {"dose_min": 20}, "levels": {"vigorous_from": 65}})
    assert cfg.bouts.dose_min == 20.0 and cfg.levels.vigorous_from == 65.0
    with pytest.raises(ConfigError, match="unknown key"):
        Config.from_dict({"bouts": {"dose": 20}})
    with pytest.raises(ConfigError, match="unknown section"):
        Config.from_dict({"bout": {}})
    with pytest.raises(ConfigError, match="levels must rise"):
        Config.from_dict({"levels": {"intermediate_from": 70}})
    with pytest.raises(ConfigError, match="must be a number"):
        Config.from_dict({"bouts": {"dose_min": "thirty"}})
    path = tmp_path / "c.toml"
    path.write_text("[bouts\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.load(path)


def test_config_toml_round_trip(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(Config().to_toml())
    assert Config.load(path) == Config()


def test_times_beyond_year_9999_are_an_input_error():
    with pytest.raises(InputError, match="beyond year 9999"):
        build_session("x", hr=(np.array([1e15, 1e15 + 1]), np.array([60.0, 61.0])), source="hr.csv")


def test_discovery_ignores_case_and_finds_nested_sessions(tmp_path):
    from dosewatch.ingest.discover import discover

    (tmp_path / "study" / "p1" / "monday").mkdir(parents=True)
    (tmp_path / "study" / "p1" / "monday" / "HR.csv").write_text("time,hr\n0,60\n")
    (tmp_path / "study" / "p2").mkdir()
    (tmp_path / "study" / "p2" / "acc.parquet").write_bytes(b"")
    (tmp_path / "study" / "notes").mkdir()
    found = discover([tmp_path / "study"])
    assert [p.relative_to(tmp_path).as_posix() for p in found.inputs] == [
        "study/p1/monday", "study/p2"]
    assert found.failed == [] and found.skipped == []
    empty = discover([tmp_path / "study" / "notes"])
    assert empty.inputs == [] and len(empty.failed) == 1
    assert "holds no session" in empty.failed[0].reason


def test_shipped_default_config_equals_the_code_defaults():
    from importlib.resources import files

    shipped = files("dosewatch") / "default_config.toml"
    assert Config.from_dict(__import__("tomllib").loads(shipped.read_text())) == Config()
