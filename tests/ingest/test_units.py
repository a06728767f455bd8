"""Units checked on input, once for every reader (:mod:`dosewatch.ingest.units`, run by
``read_all`` on every session): acceleration in g, milli-g or m/s² told by the magnitude
at rest, speed in km/h told by plausibility or by the distance."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from support.paths import REAL

from dosewatch.analysis import analyze_session
from dosewatch.errors import InputError
from dosewatch.ingest import read_session, write_session_folder
from dosewatch.ingest.units import check_units, speed_factor_from_distance
from dosewatch.models.registry import get_classifier
from dosewatch.session import build_session

G = 9.80665


def wrist(seconds: float = 600.0, fs: float = 50.0, seed: int = 0) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """A wrist at rest most of the time (gravity on a tilted axis) with moving stretches."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / fs)
    tilt = np.array([0.3, -0.2, 0.93])
    xyz = np.tile(tilt / np.linalg.norm(tilt), (t.size, 1))
    moving = (t % 60) < 20
    xyz[moving] += rng.normal(0, 0.4, (int(moving.sum()), 3))
    xyz += rng.normal(0, 0.005, xyz.shape)
    return t, xyz.astype(np.float32)


@pytest.mark.parametrize(("scale", "what"), [(1.0, None), (1000.0, "milli-g"), (G, "m/s²")])
def test_acceleration_unit_is_told_by_the_magnitude_at_rest(scale: float, what: str | None
                                                            ) -> None:
    t, xyz = wrist()
    session = build_session("s", acc=(t, xyz * scale), source="acc.csv")
    checked = check_units(session)
    np.testing.assert_allclose(checked.acc.xyz, xyz, rtol=1e-5, atol=1e-5)
    notes = [n for n in checked.provenance.repairs if n.startswith("acceleration")]
    if what is None:
        assert checked is session and not notes
    else:
        assert len(notes) == 1 and f"the values are {what}: converted to g" in notes[0]


@pytest.mark.parametrize(("scale", "message"), [
    (64.0, "neither g (1 at rest), milli-g (1000) nor m/s² (9.81)"),  # raw 1/64 g counts
    (4.0, "neither g"),
])
def test_acceleration_of_no_known_unit_is_refused(scale: float, message: str) -> None:
    t, xyz = wrist()
    with pytest.raises(InputError, match="cannot tell its unit") as info:
        check_units(build_session("s", acc=(t, xyz * scale), source="acc.csv"))
    assert message in info.value.hint
    assert info.value.source == "acc.csv"


def test_acceleration_without_gravity_is_refused() -> None:
    t, xyz = wrist()
    linear = xyz - xyz.mean(axis=0)
    with pytest.raises(InputError) as info:
        check_units(build_session("s", acc=(t, linear), source="acc.csv"))
    assert "gravity seems removed" in info.value.hint


def test_milli_g_read_as_g_no_longer_meets_the_dose(simulated, tmp_path: Path) -> None:
    """The issue's bug: a light session whose acceleration is written in milli-g under
    interchange headers (which say g) came out "dose met". Now the unit check reads it as
    milli-g and the verdict is the simulator's truth."""
    sim = simulated("steady_light", modality="acc")
    assert not sim.truth.dose_met
    session = sim.session
    in_mg = replace(session, acc=replace(session.acc, xyz=session.acc.xyz * 1000.0))
    classifier = get_classifier("rules")
    # What happened before: milli-g analysed as g meet the dose.
    assert analyze_session(in_mg, None, classifier).dose_met
    folder = write_session_folder(in_mg, tmp_path / "light", format="parquet")
    read = read_session(folder)
    assert any("milli-g: converted to g" in note for note in read.provenance.repairs)
    np.testing.assert_allclose(read.acc.xyz, session.acc.xyz, rtol=1e-5, atol=1e-6)
    result = analyze_session(read, None, classifier)
    assert result.dose_met is False and result.session_class == sim.truth.session_class


def test_km_per_hour_read_as_metres_per_second_is_converted() -> None:
    t = np.arange(3600.0)
    run = build_session("run", hr=(t, np.full(t.size, 150.0)), speed=(t, np.full(t.size,
                        12.0)), sport="running", source="run.csv")
    checked = check_units(run)
    np.testing.assert_allclose(checked.speed.mps, 12.0 / 3.6)
    assert any("read as km/h" in n for n in checked.provenance.repairs)
    # 12 m/s is possible on a bike: kept as it is.
    ride = replace(run, provenance=replace(run.provenance, sport="cycling"))
    assert check_units(ride) is ride
    # 100 "m/s" for an hour is no unit a runner can have.
    fast = build_session("run", hr=(t, np.full(t.size, 150.0)), speed=(t, np.full(t.size,
                         100.0)), sport="running", source="run.csv")
    with pytest.raises(InputError, match="still too fast as km/h"):
        check_units(fast)


def test_speed_unit_from_the_distance() -> None:
    t = np.arange(0.0, 600.0)
    mps = 3.0 + 0.5 * np.sin(t / 30)
    distance = np.concatenate([[0.0], np.cumsum(mps[1:] * np.diff(t))])
    assert speed_factor_from_distance(t, mps, distance) is None
    factor, note = speed_factor_from_distance(t, mps * 3.6, distance)
    assert factor == pytest.approx(1 / 3.6) and "km/h" in note
    factor, note = speed_factor_from_distance(t, mps / 0.44704, distance)
    assert factor == pytest.approx(0.44704) and "mph" in note


def _speed_table(path: Path, kmh: np.ndarray, *, header: str = "speed",
                 cadence: float | None = None) -> Path:
    """A 1-s table of heart rate and a speed column written in km/h."""
    lines = [f"time,hr,{header}" + (",cadence" if cadence is not None else "")]
    for s, v in enumerate(kmh):
        lines.append(f"{1_700_000_000 + s},{130 + s % 5},{v:.2f}"
                     + (f",{cadence:g}" if cadence is not None else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def _pace(kmh: float, n: int = 1800, seed: int = 0) -> np.ndarray:
    return kmh + np.random.default_rng(seed).normal(0, 0.3, n)


def test_a_unitless_speed_only_a_person_holds_in_km_h_is_read_as_km_h(tmp_path):
    """49 km/h written as 13.6 under a plain 'speed' header (issue 12 review item 6: read
    as m/s, a 49 km/h hour): as m/s no one holds it under their own power."""
    session = read_session(_speed_table(tmp_path / "run.csv", _pace(13.6)))
    assert np.median(session.speed.mps) == pytest.approx(13.6 / 3.6, rel=0.02)
    assert any("read as km/h" in r and "speed_unit=m/s" in r
               for r in session.provenance.repairs)
    assert not session.provenance.notices


def test_steps_cadence_says_on_foot_so_a_cycling_pace_is_km_h(tmp_path):
    session = read_session(_speed_table(tmp_path / "run.csv", _pace(11.0), cadence=172))
    assert np.median(session.speed.mps) == pytest.approx(11.0 / 3.6, rel=0.02)
    assert any("172 steps a minute" in r for r in session.provenance.repairs)


def test_a_speed_that_fits_both_units_is_read_as_m_s_with_a_check(tmp_path):
    session = read_session(_speed_table(tmp_path / "ride.csv", _pace(11.0)))
    assert np.median(session.speed.mps) == pytest.approx(11.0, rel=0.02)
    [notice] = session.provenance.notices
    assert notice.kind == "check" and "fits m/s" in notice.reason
    assert "--columns speed_unit=km/h" in notice.hint


@pytest.mark.parametrize("header", ["Speed (m/s)", "speed_mps"])
def test_a_stated_unit_is_never_second_guessed(tmp_path, header):
    session = read_session(_speed_table(tmp_path / "tt.csv", _pace(13.6), header=header))
    assert np.median(session.speed.mps) == pytest.approx(13.6, rel=0.02)
    assert not session.provenance.notices


def test_a_running_pace_in_m_s_is_kept_with_a_check(tmp_path):
    """3.5 with the heart at 130: a 12.6 km/h run or a 3.5 km/h walk (review: this was
    read as m/s without a word, and a walk in km/h with it)."""
    session = read_session(_speed_table(tmp_path / "run.csv", _pace(3.5)))
    assert np.median(session.speed.mps) == pytest.approx(3.5, rel=0.02)
    [notice] = session.provenance.notices
    assert notice.kind == "check" and "--columns speed_unit=km/h" in notice.hint
    assert any("read as m/s" in r for r in session.provenance.repairs)


def _table_from_real(path: Path, out: Path, *, speed_scale: float = 1.0,
                     cadence_scale: float | None = None) -> Path:
    """A real activity file as a table of time, hr and a unitless speed (× speed_scale),
    with the file's cadence (× cadence_scale) when asked."""
    session = read_session(path)
    t = session.speed.t
    columns = {"time": t - t[0], "hr": np.interp(t, session.hr.t, session.hr.bpm),
               "speed": session.speed.mps * speed_scale}
    if cadence_scale is not None:
        columns["cadence"] = np.interp(t, session.cadence.t, session.cadence.values
                                       ) * cadence_scale
    rows = np.column_stack(list(columns.values()))
    out.write_text(",".join(columns) + "\n"
                   + "\n".join(",".join(f"{v:.3f}" for v in row) for row in rows) + "\n")
    return out


WALK = REAL / "firefly-cpp__sport-activities-features" / "walking_activity_1.tcx"
RUN = REAL / "corriporai__runpandas" / "11km.tcx"


def test_a_real_walk_in_km_h_is_read_as_km_h_with_a_check(tmp_path):
    """Review: km/h at walking pace (median ~3.5) was read as m/s (a 12.6 km/h run with
    the heart at 87 bpm) without a word."""
    table = _table_from_real(WALK, tmp_path / "walk.csv", speed_scale=3.6)
    session = read_session(table)
    original = read_session(WALK)
    assert np.median(session.speed.mps) == pytest.approx(np.median(original.speed.mps),
                                                         rel=0.01)
    [notice] = session.provenance.notices
    assert notice.kind == "check" and "read as km/h" in notice.reason
    assert "87 bpm is too low for a run" in notice.reason
    assert "--columns speed_unit=m/s" in notice.hint
    assert any("read as km/h" in r for r in session.provenance.repairs)


def test_a_real_run_in_m_s_stays_m_s_with_a_check(tmp_path):
    """The same question for a run written in m/s (11 km, heart at 147): a run in m/s
    and a slow walk in km/h both fit, so m/s is kept and the user is asked to check."""
    session = read_session(_table_from_real(RUN, tmp_path / "run.csv"))
    assert np.median(session.speed.mps) == pytest.approx(
        np.median(read_session(RUN).speed.mps), rel=0.01)
    [notice] = session.provenance.notices
    assert "fits m/s (on foot at 9 km/h)" in notice.reason and "read as m/s" in notice.reason
    assert "--columns speed_unit=km/h" in notice.hint


def test_a_step_cadence_settles_a_real_run_in_m_s(tmp_path):
    """176 steps a minute fits the run (1.1-m steps) and no walk at 2.6 km/h, as steps or
    strides: m/s for certain, a note and no check."""
    session = read_session(_table_from_real(RUN, tmp_path / "run.csv", cadence_scale=1.0))
    assert np.median(session.speed.mps) == pytest.approx(
        np.median(read_session(RUN).speed.mps), rel=0.01)
    assert not session.provenance.notices
    assert any("fits no walk" in r and "read as m/s" in r for r in session.provenance.repairs)


@pytest.mark.parametrize("cadence", [108.0, 54.0])  # steps or strides a minute
def test_a_walking_cadence_settles_a_walk_in_km_h(tmp_path, cadence):
    """5 km/h with a walking cadence: as m/s an 18 km/h run at 108 steps (or 216 steps
    counted as 54 strides, 1.4-m steps at a sprint's cadence) does not fit: km/h."""
    session = read_session(_speed_table(tmp_path / "walk.csv", _pace(5.0), cadence=cadence))
    assert np.median(session.speed.mps) == pytest.approx(5.0 / 3.6, rel=0.02)
    assert not session.provenance.notices
    assert any("read as km/h" in r for r in session.provenance.repairs)


def test_a_slow_unitless_speed_is_m_s_for_certain(tmp_path):
    """A median of 1.4 is a walk in m/s; as km/h (0.4 m/s) nobody walks a session."""
    session = read_session(_speed_table(tmp_path / "walk.csv", _pace(1.4)))
    assert np.median(session.speed.mps) == pytest.approx(1.4, rel=0.03)
    assert not session.provenance.notices
