"""The session model: normalisation at the boundary, profile validation, configuration."""

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dosewatch.config import Config
from dosewatch.errors import ConfigError, InputError, ProfileError
from dosewatch.session import Profile, build_session, unset_clock


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


def test_needs_a_stream_intensity_can_be_read_from():
    with pytest.raises(InputError, match="neither heart rate, acceleration, speed nor power"):
        build_session("x", cadence=(np.arange(3.0), np.full(3, 170.0)))
    with pytest.raises(InputError, match="no usable"):
        build_session("x", hr=(np.array([np.nan]), np.array([60.0])))


@pytest.mark.parametrize("stream", ["speed", "power"])
def test_a_workload_alone_is_a_session(stream):
    # SPEC: without heart rate, intensity is estimated from a workload channel.
    s = build_session("x", **{stream: (np.arange(3.0), np.ones(3))})
    assert s.hr is None and s.acc is None and getattr(s, stream) is not None


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


# --------------------------------------------------------------------------- issue 14


def test_stray_samples_at_the_ends_are_cut_off_with_a_note():
    t = 1.7e9 + np.arange(1000.0)
    t[0], t[-1] = 0.0, 1.7e9 + 40 * 86_400  # a zero time, and one far in the future
    near = t.copy()
    near[-1] = 1.7e9 + 2 * 86_400  # two days later: real data after a gap, kept
    assert build_session("s", hr=(near, np.full(1000, 120.0))).hr.t.size == 999
    session = build_session("s", hr=(t, np.full(1000, 120.0)))
    assert session.hr.t.size == 998 and session.duration_s < 1000
    assert session.provenance.start_time.timestamp() == 1.7e9 + 1
    assert any("cut off 2 samples" in r for r in session.provenance.repairs)


def test_a_session_spanning_more_than_31_days_is_refused():
    t = np.array([0.0, 1.0, 2.0, 32 * 86_400.0])  # too few samples for one to be "stray"
    with pytest.raises(InputError, match="span 32 days; a session spans at most 31 days"):
        build_session("s", hr=(t, np.full(4, 120.0)))


def test_sparse_readings_are_a_gap_not_a_day_of_data():
    session = build_session("s", hr=(np.array([0.0, 86_400.0]), np.array([150.0, 150.0])))
    assert session.duration_s == 86_410.0  # not two days: one sample period is at most 10 s


@pytest.mark.parametrize(("stream", "scale", "unit"), [
    ("hr", 1e3, "milliseconds"), ("hr", 1e6, "microseconds"), ("hr", 1e9, "nanoseconds"),
    ("acc", 1e3, "milliseconds"), ("acc", 1e9, "nanoseconds")])
def test_relative_times_in_other_units_are_refused_with_the_unit(stream, scale, unit):
    step = 1.0 if stream == "hr" else 0.02
    t = np.arange(500) * step * scale
    values = np.full(500, 120.0) if stream == "hr" else np.tile([0, 0, 1.0], (500, 1))
    with pytest.raises(InputError, match=f"the times look like {unit} from the start"):
        build_session("s", **{stream: (t, values)})


def test_heart_rate_sampled_every_five_minutes_is_too_sparse():
    t = np.arange(50) * 300.0
    with pytest.raises(InputError, match="too sparse to analyse minute by minute"):
        build_session("s", hr=(t, np.full(50, 120.0)))


def test_implausible_values_become_gaps_and_the_callers_arrays_stay():
    from dosewatch.session import drop_implausible

    speed = np.array([2.0, 9e7, -5.0, 3.0])
    session = drop_implausible(build_session("s", hr=(np.arange(4.0), np.full(4, 100.0)),
                                             speed=(np.arange(4.0), speed)))
    assert session.speed.mps.tolist() == [2.0, 3.0] and session.speed.t.tolist() == [0, 3]
    assert speed[1] == 9e7  # the caller's array is not changed
    assert any("speed: 2 values outside 0–50 m/s" in r for r in session.provenance.repairs)
    with pytest.raises(InputError, match="no plausible heart rate, acceleration, speed or power"):
        drop_implausible(build_session("s", hr=(np.arange(4.0), np.full(4, 5000.0))))


@pytest.mark.parametrize("year_s", [4_665_600_000.0, 3.2e8])  # 2117, 1980
def test_an_impossible_start_date_is_left_unknown(year_s):
    session = build_session("s", hr=(year_s + np.arange(60.0), np.full(60, 100.0)))
    assert session.provenance.start_time is None
    assert any("is not plausible" in r for r in session.provenance.repairs)


Y2K_S = 946_684_800.0  # 2000-01-01 00:00:00 UTC


@pytest.mark.parametrize("offset_s", [0.0, 1.0, 14 * 60.0])
def test_an_unset_clock_at_2000_is_an_unknown_start_with_a_check(offset_s):
    """Review 2026-11-25c, item 3: an EDF starting 2000-01-01 00:00:01 is a clock that was
    never set, not a recording from 2000."""
    session = build_session("s", hr=(Y2K_S + offset_s + np.arange(60.0), np.full(60, 100.0)),
                            source="rec.edf")
    assert session.provenance.start_time is None
    note = "the start time 2000-01-01 is not plausible (the device's clock was not set)"
    assert any(note in r for r in session.provenance.repairs)
    (notice,) = session.provenance.notices
    assert (notice.kind, notice.source) == ("check", "rec.edf") and note in notice.reason


@pytest.mark.parametrize("start", [Y2K_S + 20 * 60.0, Y2K_S - 3600.0, Y2K_S + 86_400.0])
def test_a_start_near_but_outside_the_placeholder_is_kept(start):
    session = build_session("s", hr=(start + np.arange(60.0), np.full(60, 100.0)))
    assert session.provenance.start_time is not None
    assert session.provenance.notices == ()
    assert not unset_clock(session.provenance.start_time)


def test_profile_messages_quote_a_short_printable_value():
    with pytest.raises(ProfileError) as err:
        Profile(placement="\x1b[31m" + "w" * 200).validate("p.toml")
    message = str(err.value)
    assert "\x1b" not in message and len(message) < 250


_ARRAYS = st.one_of(
    hnp.arrays(st.sampled_from([np.float64, np.float32]), st.integers(0, 120),
               elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
    hnp.arrays(np.int64, st.integers(0, 30)),
    st.lists(st.one_of(st.floats(), st.integers(-10**20, 10**20), st.text(max_size=3),
                       st.none()), max_size=12),
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, max_side=5)),
)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(t=_ARRAYS, values=_ARRAYS,
       streams=st.sampled_from(["hr", "acc", "speed", "cadence", "power", "hr+acc"]))
def test_any_arrays_give_a_session_or_dosewatchs_error(t, values, streams):
    """Through the Python API, nothing but dosewatch's own error escapes (issue 14: 146 of
    17,026 fuzzed calls escaped as ValueError or TypeError)."""
    from dosewatch.errors import DosewatchError

    try:
        build_session("x", **{s: (t, values) for s in streams.split("+")})
    except DosewatchError:
        pass


def _varying_hr(n: int, seed: int = 0) -> np.ndarray:
    """Heart rate that changes from sample to sample, as real 1-s recordings do."""
    return 120.0 + np.round(np.random.default_rng(seed).normal(0, 3, n))


@pytest.mark.parametrize(("scale", "first", "expect"), [
    (1 / 60, 0.0, "time_unit=min"),  # minutes from the start
    (1 / 3600, 0.0, "time_unit=h"),
    (1 / 86_400, 46_082.4166, "time_unit=excel"),  # spreadsheet serial days (2026)
])
def test_heart_rate_denser_and_faster_changing_than_a_heart_is_refused_with_the_unit(
        scale, first, expect):
    t = first + np.arange(3000) * scale  # a 1-s recording in another unit
    with pytest.raises(InputError, match="faster than a heart beats") as err:
        build_session("s", hr=(t, _varying_hr(3000)))
    assert expect in err.value.hint


def test_dense_heart_rate_that_a_heart_could_give_is_kept():
    # Heart rate repeated on the rows of 100-Hz acceleration (one table for both)...
    t = np.arange(60_000) / 100.0
    bpm = np.repeat(_varying_hr(600), 100)
    session = build_session("s", hr=(t, bpm), acc=(t, np.tile([0, 0, 1.0], (t.size, 1))))
    assert session.duration_s == pytest.approx(600.0, abs=0.1)
    # ...or held at 25 Hz without acceleration (changes once a second): kept too.
    t = np.arange(15_000) / 25.0
    assert build_session("s", hr=(t, np.repeat(_varying_hr(600), 25))).hr is not None
    # Beat-by-beat heart rate at 180 bpm (0.33 s apart) is not dense at all.
    t = np.cumsum(np.full(2000, 1 / 3))
    assert build_session("s", hr=(t, _varying_hr(2000))).hr.fs == pytest.approx(3.0)


@pytest.mark.parametrize(("values", "first"), [
    (np.round(60_000 / _varying_hr(600)), "RR intervals"),  # RR in ms under 'hr'
    (_varying_hr(600) * 10, "heart rate in tenths of bpm"),  # whole bpm times ten
])
def test_heart_rate_that_is_not_bpm_is_refused_with_what_it_looks_like(values, first):
    from dosewatch.session import drop_implausible

    session = build_session("s", hr=(np.arange(600.0), values))
    with pytest.raises(InputError, match="heart rates a person can have") as err:
        drop_implausible(session)
    assert err.value.hint.startswith(f"they look like {first}")


def test_heart_rate_with_some_artefacts_is_left_to_the_analysis():
    from dosewatch.session import drop_implausible

    bpm = _varying_hr(600)
    bpm[::3] = 600.0  # a third of the samples are artefacts: the analysis removes them
    session = drop_implausible(build_session("s", hr=(np.arange(600.0), bpm)))
    assert session.hr.bpm.size == 600


def test_acceleration_denser_than_any_accelerometer_is_refused_with_the_unit():
    t = np.arange(6000) / 100.0 / 60.0  # 100 Hz with its times in minutes
    xyz = np.tile([0, 0, 1.0], (t.size, 1))
    with pytest.raises(InputError, match="more than any accelerometer records") as err:
        build_session("s", acc=(t, xyz))
    assert "time_unit=min" in err.value.hint
    assert build_session("s", acc=(t * 60, xyz)).acc.fs == pytest.approx(100.0)
