"""Per-participant calibration: learning from evidence, the readable file a researcher can
override, and a batch that learns it and analyses each participant's sessions with it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dosewatch.analysis import analyze_session
from dosewatch.batch import run_batch
from dosewatch.calibration import (
    LOW_HR_MAX_CAUTION,
    AccMap,
    Calibration,
    Evidence,
    Value,
    calibration_toml,
    learn,
    read_calibration,
)
from dosewatch.config import Config
from dosewatch.errors import InputError
from dosewatch.ingest import write_session_folder
from dosewatch.session import Profile
from dosewatch.spec.labels import Label


def evidence(session: str, held: float | None = None, rest: float | None = None,
             prior: float = 190.0, k: float | None = None, n: int = 0,
             placement: str | None = None, pairs: list[tuple[float, float]] = ()
             ) -> Evidence:
    """Evidence of one session; with ``k``, ``n`` steady epochs of a run whose heart rate
    followed the workload with fitness ``k`` (HR_rest 60, HR_max ``prior``, a typical
    drift of 0.1 %HRR a minute)."""
    w, t = np.linspace(40.0, 70.0, n), np.arange(n, dtype=float)
    bpm = 60.0 + (prior - 60.0) * ((k or 0.0) * w + 0.1 * t) / 100.0
    return Evidence(participant="P01", session=session, hr_held_max=held, hr_max_prior=prior,
                    hr_rest_stretch=rest, hr_rest_session=rest, placement=placement,
                    relation_bpm=tuple(bpm), relation_workload=tuple(w),
                    relation_minutes=tuple(t),
                    demand_bpm=tuple(b for b, _ in pairs), enmo_g=tuple(e for _, e in pairs))


def test_learning_takes_the_highest_held_rate_and_the_median_rest() -> None:
    cal = learn("P01", [evidence("a", held=176, rest=55), evidence("b", held=193, rest=51),
                        evidence("c", rest=58)])
    assert cal.hr_max.value == 193 and "in b" in cal.hr_max.detail
    assert cal.hr_rest.value == 55 and cal.sessions == 3


def test_sessions_that_teach_nothing_are_not_counted_as_learned_from() -> None:
    # Review 2026-11-25b item 8: a runner's 6 sessions with heart rate and 2 without gave
    # "learned from 8 sessions" / sessions = 8, while the highest rate was held "in 6
    # sessions". A session without heart rate (its evidence holds only what the profile
    # or age predicts) teaches nothing; it is analysed with the calibration, not counted
    # as its source.
    strapless = [Evidence(participant="P01", session=s, hr_max_prior=185.0,
                          hr_rest_session=None) for s in ("x", "y")]
    cal = learn("P01", [evidence("a", held=176, rest=55), evidence("b", held=180), *strapless])
    assert cal.sessions == 2 and cal.hr_max.value == 180
    text = calibration_toml(cal)
    assert "learned from 2 sessions." in text and "\nsessions = 2\n" in text
    # Acceleration and heart rate without a workload still teach (the movement mapping).
    moving = replace(evidence("c", placement="wrist", pairs=[(120.0, 0.1), (150.0, 0.3)]),
                     hr_held_max=None,
                     hr_rest_stretch=None, relation_bpm=(), relation_workload=(),
                     relation_minutes=())
    assert learn("P01", [moving, *strapless]).sessions == 1
    assert learn("P01", strapless).sessions == 0


def test_a_highest_rate_well_below_the_prediction_is_used_with_a_caution() -> None:
    # The definitions take the highest held rate for HR_max; when it is well below what
    # age predicts the file says so (the sessions may all have been easy).
    cal = learn("P01", [evidence(s, held=150, prior=185) for s in "abc"])
    assert cal.hr_max.value == 150 and "overestimated" in cal.hr_max.detail
    assert "overestimated" not in learn("P01", [evidence("a", held=180, prior=185)]
                                        ).hr_max.detail


def test_fitness_is_the_epoch_weighted_mean_of_the_sessions() -> None:
    cal = learn("P01", [evidence("a", k=1.0, n=30), evidence("b", k=1.6, n=10),
                        evidence("c")])
    assert cal.fitness_k.value == pytest.approx((30 * 1.0 + 10 * 1.6) / 40, abs=0.02)


def test_fitness_is_read_on_the_calibrated_heart_rate_reserve() -> None:
    # Fitness is %HRR per unit of workload: with a learned HR_max of 160 instead of the
    # prior 190, the same heart rates are a larger share of the reserve.
    runs = [evidence(s, k=1.0, n=30, held=150) for s in "ab"]
    assert learn("P01", runs).hr_max.value == 150
    assert learn("P01", runs).fitness_k.value == pytest.approx(1.0 * 130 / 90, abs=0.03)
    fixed = [replace(e, hr_max_profile=190.0) for e in runs]  # the profile's HR_max stands
    assert learn("P01", fixed).fitness_k.value == pytest.approx(1.0, abs=0.02)


def test_learning_again_from_its_own_outputs_changes_nothing(tmp_path: Path, simulated) -> None:
    """Evidence does not depend on the calibration it was analysed with, so a batch run
    again learns the same calibration and redoes nothing (it used to relearn fitness from
    the calibrated %HRR and analyse everything a third time)."""
    folders = []
    for k, protocol in enumerate(("ramp", "walk_then_run", "steady_intermediate")):
        sim = simulated(protocol, person_seed=21, person_id="P08", placement="wrist",
                        modality="hr+speed", seed=k, profile="none")
        folders.append(write_session_folder(sim.session, tmp_path / "P08" / f"s{k}"))
    out = tmp_path / "out"
    run_batch(folders, out, classifier="physio", pictures=False, progress=False)
    first = (out / "calibration" / "P08.toml").read_text()
    assert "[fitness_k]" in first
    analysed: list[str] = []
    again = run_batch(folders, out, classifier="physio", pictures=False, progress=False,
                      on_result=lambda status, payload: analysed.append(status))
    assert again.skipped == 3 and analysed == []
    assert (out / "calibration" / "P08.toml").read_text() == first


def test_evidence_resolves_heart_rate_as_the_analysis_does(simulated) -> None:
    """Learning re-reads each session's %HRR under a new calibration from its evidence
    alone: the evidence must resolve HR_rest and HR_max as the analysis does, with a
    researcher's values, a learned calibration's and a watch's stored settings, and it
    must not depend on the calibration the session was analysed with."""
    from dosewatch.session import build_session

    rests = simulated("walk_then_run", person_seed=5, modality="hr+speed", seed=1,
                      profile="none").session  # holds a resting stretch
    t = np.arange(0.0, 1800.0)
    runs = build_session("r", hr=(t, 130.0 + 10 * np.sin(t / 300)))  # holds none
    bases = []
    for session in (rests, runs):
        watch = replace(session, profile=replace(session.profile, hr_rest=48.0,
                                                 hr_max=185.0),
                        provenance=replace(session.provenance,
                                           device_profile=("hr_rest", "hr_max")))
        given = replace(session, profile=replace(session.profile, hr_rest=52.0,
                                                 hr_max=183.0))
        bases += [session, watch, given]
    cals = (None, Calibration("p0", hr_max=Value(201.0), hr_rest=Value(44.0)),
            Calibration("p0", hr_max=Value(120.0)),
            Calibration("p0", hr_max=Value(201.0, "researcher"),
                        hr_rest=Value(44.0, "researcher")))
    sources = set()
    for s in bases:
        alone = analyze_session(s, classifier="physio").evidence()
        for cal in cals:
            result = analyze_session(s, classifier="physio", calibration=cal)
            hp = result.info.hr_params
            sources.add((hp.hr_rest_source, hp.hr_max_source))
            assert result.evidence() == alone
            values = (None, None) if cal is None else (cal.hr_max, cal.hr_rest)
            assert alone.karvonen(*values) == (hp.hr_rest, hp.hr_max)
    rest_sources, max_sources = (set(x) for x in zip(*sources, strict=True))
    assert {"device", "researcher", "profile", "estimated", "calibration"} <= rest_sources
    assert {"device", "researcher", "profile", "calibration"} <= max_sources


def test_acceleration_mapping_rises_with_movement() -> None:
    rng = np.random.default_rng(0)
    enmo = rng.uniform(0.0, 0.4, 300)
    bpm = 55 + (185 - 55) * np.clip(enmo / 0.4, 0, 1) * 0.9 + rng.normal(0, 3, 300)
    cal = learn("P01", [evidence("a", held=185, rest=55, prior=185, placement="wrist",
                                 pairs=list(zip(bpm, enmo, strict=True)))])
    m = cal.acc_map("wrist")
    assert m is not None and m.epochs == 300
    assert np.all(np.diff(m.pct_hrr) >= 0) and np.all(np.diff(m.enmo_g) > 0)
    assert m.intensity(np.array([0.2]))[0] == pytest.approx(45, abs=6)
    # Too few exercising epochs: no mapping rather than a guess.
    still = learn("P01", [evidence("a", held=185, rest=55, prior=185, placement="wrist",
                                   pairs=[(60.0, 0.01)] * 100)])
    assert still.acc_map("wrist") is None


def test_a_profile_giving_hr_rest_and_hr_max_still_yields_a_mapping() -> None:
    """A participant whose profile gives HR_rest and HR_max has no *learned* HR_rest (the
    profile's is used, so no resting stretch is looked for); the mapping reads their
    heart rate with the profile's values instead of being left out. A session whose
    HR_rest would only be the default adds nothing."""
    rng = np.random.default_rng(1)
    enmo = rng.uniform(0.0, 0.4, 300)
    bpm = 70 + (170 - 70) * np.clip(enmo / 0.4, 0, 1) * 0.9 + rng.normal(0, 3, 300)
    profiled = replace(evidence("a", held=168, prior=170, placement="chest",
                                pairs=list(zip(bpm, enmo, strict=True))),
                       hr_rest_session=70.0, hr_max_profile=170.0)
    cal = learn("P01", [profiled])
    assert cal.hr_rest is None
    m = cal.acc_map("chest")
    assert m is not None and m.sessions == 1
    assert m.intensity(np.array([0.2]))[0] == pytest.approx(45, abs=6)
    unknown_rest = evidence("b", held=168, prior=170, placement="chest",
                            pairs=list(zip(bpm, enmo, strict=True)))
    assert learn("P01", [unknown_rest]).acc_map("chest") is None
def _walks_and_runs(rng: np.random.Generator, n: int = 200
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Stepping epochs whose heart rate follows the movement: ENMO 0.05-0.5 g, bpm from
    55 (HR_rest) to 185 (HR_max) along it."""
    enmo = rng.uniform(0.05, 0.5, n)
    return 55 + (185 - 55) * (0.2 + 1.4 * (enmo - 0.05)) + rng.normal(0, 2, n), enmo


def test_a_profiles_hr_rest_is_enough_for_the_acceleration_mapping() -> None:
    # A participant whose profile gives HR_rest leaves no resting stretch of their own:
    # their sessions' %HRR still follows from it, so they get a mapping.
    bpm, enmo = _walks_and_runs(np.random.default_rng(1))
    e = replace(evidence("a", held=185, prior=185, placement="chest",
                         pairs=list(zip(bpm, enmo, strict=True))),
                hr_rest_stretch=None, hr_rest_session=55.0)
    cal = learn("P01", [e])
    assert cal.hr_rest is None
    m = cal.acc_map("chest")
    assert m is not None
    assert m.intensity(np.array([0.3]))[0] == pytest.approx(55, abs=6)


def test_a_ride_does_not_teach_that_stillness_is_hard_work() -> None:
    # On a bike heart rate is high while the wrist barely moves; only stepping epochs say
    # how this person's movement maps to effort, so stillness stays rest.
    rng = np.random.default_rng(2)
    bpm, enmo = _walks_and_runs(rng)
    run = replace(evidence("run", held=185, rest=55, prior=185, placement="wrist",
                           pairs=list(zip(bpm, enmo, strict=True))),
                  step_fraction=(1.0,) * enmo.size)
    ride_enmo = rng.uniform(0.003, 0.01, 300)
    for rhythm in (0.0, 1.0):  # the pedalling rhythm is in the step band at the chest
        ride = replace(evidence("ride", held=185, rest=55, prior=185, placement="wrist",
                                pairs=[(160.0, x) for x in ride_enmo]),
                       step_fraction=(rhythm,) * ride_enmo.size,
                       cadence_spm=(170.0 * rhythm,) * ride_enmo.size)
        m = learn("P01", [run, ride]).acc_map("wrist")
        assert m is not None
        assert m.intensity(np.array([0.008]))[0] < 10
        assert m.intensity(np.array([0.008]), np.array([170.0]), np.array([1.0]))[0] < 10
        assert m.intensity(np.array([0.3]))[0] == pytest.approx(55, abs=6)


def test_minutes_just_after_a_drop_of_movement_teach_nothing() -> None:
    # Heart rate still holds the run for a while after it: the walk's first minutes are
    # left out of the evidence, a rise of movement is not.
    from dosewatch.features.evidence import after_no_drop

    enmo = np.array([0.005, 0.4, 0.4, 0.4, 0.1, 0.1, 0.1, 0.1, 0.5, 0.0, np.nan, 0.0])
    assert after_no_drop(enmo).tolist() == [True, True, True, True, False, False, True,
                                            True, True, False, False, True]


def test_the_mapping_keeps_rising_beyond_the_fastest_movement_seen() -> None:
    bpm, enmo = _walks_and_runs(np.random.default_rng(3))
    m = learn("P01", [evidence("a", held=185, rest=55, prior=185, placement="wrist",
                               pairs=list(zip(bpm, enmo, strict=True)))]).acc_map("wrist")
    top = float(enmo.max())
    faster = m.intensity(np.array([top, top + 0.05, top + 0.1]))
    assert faster[1] > faster[0] + 3 and faster[2] > faster[1] + 3
    assert m.intensity(np.array([5.0]))[0] == 100.0


def _runs_with_cadence(rng: np.random.Generator, n: int = 240) -> Evidence:
    """Stepping epochs of walks and runs whose %HRR follows the speed: cadence tracks the
    speed closely (walking 78 + 26 v, running 140 + 9 v steps a minute), ENMO loosely (its
    arm swing and impact wander by 15 % from minute to minute). HR_rest 55, HR_max 185."""
    v = np.concatenate([rng.uniform(0.9, 1.8, n // 2), rng.uniform(2.2, 4.0, n - n // 2)])
    running = v >= 2.0
    pct = np.where(running, 25 + 14 * v, 5 + 15 * v)
    cadence = np.where(running, 140 + 9 * v, 78 + 26 * v) + rng.normal(0, 0.5, n)
    enmo = np.where(running, 0.1 + 0.12 * v, 0.04 * v) * rng.lognormal(0, 0.15, n)
    bpm = 55 + (185 - 55) * pct / 100 + rng.normal(0, 2, n)
    e = evidence("runs", held=185, rest=55, prior=185, placement="wrist",
                 pairs=list(zip(bpm, enmo, strict=True)))
    return replace(e, step_fraction=(1.0,) * n, cadence_spm=tuple(cadence))


def test_cadence_and_enmo_together_follow_heart_rate_better_than_enmo_alone() -> None:
    rng = np.random.default_rng(5)
    cal = learn("P01", [_runs_with_cadence(rng)])
    m = cal.acc_map("wrist")
    assert m is not None and len(m.cadence_spm) >= 2
    assert 0 < m.cadence_sd < m.enmo_sd  # cadence was the closer of the two
    fresh = _runs_with_cadence(np.random.default_rng(6))
    rest, top = 55.0, 185.0
    truth = 100 * (np.asarray(fresh.demand_bpm) - rest) / (top - rest)
    enmo, cadence = np.asarray(fresh.enmo_g), np.asarray(fresh.cadence_spm)
    alone = m.intensity(enmo)
    both = m.intensity(enmo, cadence, np.ones_like(enmo))
    assert np.median(np.abs(both - truth)) < 0.7 * np.median(np.abs(alone - truth))
    # An epoch that is not stepping (a few steps in a minute of fidgeting) reads its
    # ENMO only: a spurious step rate must not make stillness a run.
    still = m.intensity(np.array([0.008]), np.array([178.0]), np.array([1 / 3]))
    assert still[0] == pytest.approx(m.intensity(np.array([0.008]))[0]) and still[0] < 10


def test_the_cadence_map_round_trips_and_a_bad_one_is_clear(tmp_path: Path) -> None:
    cal = learn("P01", [_runs_with_cadence(np.random.default_rng(7))])
    path = tmp_path / "P01.toml"
    text = calibration_toml(cal)
    path.write_text(text, encoding="utf-8")
    assert read_calibration(path) == cal
    assert "cadence_spm = [" in text
    line = next(x for x in text.splitlines() if x.startswith("cadence_spm = ["))
    path.write_text(text.replace(line, "cadence_spm = [120.0, 110.0]"), encoding="utf-8")
    with pytest.raises(InputError, match="cadence_spm must rise"):
        read_calibration(path)


def test_a_researchers_values_are_kept(tmp_path: Path) -> None:
    mine = Calibration("P01", hr_max=Value(181.0, "researcher", "lab test 2026-09-01"),
                       acceleration={"wrist": AccMap((0.0, 0.1, 0.3), (0.0, 40.0, 70.0),
                                                     source="researcher")})
    cal = learn("P01", [evidence("a", held=195, rest=50)], previous=mine)
    assert cal.hr_max == mine.hr_max and cal.acc_map("wrist") == mine.acc_map("wrist")
    assert cal.hr_rest.value == 50  # learned: nobody set it


def test_the_file_round_trips_and_bad_files_are_clear(tmp_path: Path) -> None:
    cal = learn("P 01/x", [evidence("a", held=190, rest=52, k=1.1, n=20)])
    path = tmp_path / "P01.toml"
    path.write_text(calibration_toml(cal), encoding="utf-8")
    assert read_calibration(path) == cal
    text = path.read_text()
    assert "# dosewatch calibration of participant P 01/x" in text
    path.write_text(text.replace("value = 190.0", 'value = "fast"'))
    with pytest.raises(InputError, match=r"\[hr_max\] value must be a number"):
        read_calibration(path)
    path.write_text("participant = 'P1'\n[hr_max]\nvalue = 110.0\n[hr_rest]\nvalue = 115\n")
    with pytest.raises(InputError, match=r"\[hr_rest\] value = 115 is not below \[hr_max\]"):
        read_calibration(path)


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    """A learned calibration file with one researcher's edit (``old`` replaced by
    ``new``)."""
    cal = learn("P01", [evidence("a", held=172, rest=48, k=1.0, n=20),
                        evidence("b", held=165, rest=50)])
    text = calibration_toml(cal)
    assert old in text
    path = tmp_path / "P01.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "message", "hint"), [
    # Out of the range a profile allows: refused as --profile hr_max=1900 is.
    ('value = 172.0\nsource = "sessions"', 'value = 1900\nsource = "researcher"',
     r"\[hr_max\] value = 1900 is not possible \(expected 100–240 bpm\)", "correct"),
    # A negative HR_max is out of range, not "swapped" with HR_rest.
    ("value = 172.0", "value = -5", r"\[hr_max\] value = -5 is not possible", "correct"),
    ("value = 49.0", "value = 200",
     r"\[hr_rest\] value = 200 is not possible \(expected 25–120 bpm\)", "correct"),
    ("value = 49.0", "value = nan", r"\[hr_rest\] value = nan is not a finite number",
     "value = 55.0"),
    ("value = 172.0", 'value = "190"', r"\[hr_max\] value must be a number, got the text",
     "without quotes, e.g. value = 190.0"),
    ('source = "sessions"', 'source = "reseacher"',
     r"\[hr_max\] source = 'reseacher' is not one of sessions, researcher",
     'source = "researcher"'),
    # A misspelt section or key: named with the file and the nearest valid name.
    ("[hr_max]", "[hrmax]", r"unknown section \[hrmax\] in the calibration file",
     r"did you mean \[hr_max\]\?"),
    ("detail =", "detial =", r"unknown key 'detial' in \[hr_max\]", "did you mean 'detail'"),
    ("sessions = 2", "sesions = 2", r"unknown key 'sesions'", "did you mean 'sessions'"),
    ("value = 172.0", "value = 190.0.0", "not a readable calibration file", "fix the TOML"),
])
def test_a_researchers_bad_edit_is_refused_with_what_to_do(
        tmp_path: Path, old: str, new: str, message: str, hint: str) -> None:
    """The calibration file is held to what a profile is held to (review 2026-11-25,
    item 3: HR_max 1900 was used, a misspelt section deleted on rewrite)."""
    from dosewatch.errors import ProfileError

    path = _edited(tmp_path, old, new)
    with pytest.raises(ProfileError, match=message) as caught:
        read_calibration(path)
    assert caught.value.source == str(path)
    assert re.search(hint, caught.value.hint or "")


def test_the_limits_are_the_profiles_own() -> None:
    """One set of limits for a profile and a calibration (changing one changes both)."""
    from dosewatch.calibration import VALUE_LIMITS
    from dosewatch.session import PROFILE_LIMITS

    assert VALUE_LIMITS["hr_max"] is PROFILE_LIMITS["hr_max"]
    assert VALUE_LIMITS["hr_rest"] is PROFILE_LIMITS["hr_rest"]


def test_a_source_is_read_in_any_case_and_the_researchers_value_kept(tmp_path: Path) -> None:
    path = _edited(tmp_path, 'value = 172.0\nsource = "sessions"',
                   'value = 190.0\nsource = " Researcher"')
    cal = read_calibration(path)
    assert cal.hr_max == Value(190.0, "researcher", cal.hr_max.detail)
    again = learn("P01", [evidence("c", held=175, rest=47)], previous=cal)
    assert again.hr_max.value == 190.0 and again.hr_max.source == "researcher"
    assert 'source = "researcher"' in calibration_toml(again)


def test_what_is_learned_always_reads_back(tmp_path: Path) -> None:
    """A learned value that no profile may hold, or that contradicts a researcher's, is
    not written: the next run would refuse the file."""
    mine = Calibration("P01", hr_rest=Value(112.0, "researcher"))
    cal = learn("P01", [evidence("a", held=108.0), evidence("b", held=104.0)], previous=mine)
    assert cal.hr_max is None and cal.hr_rest == mine.hr_rest
    assert learn("P01", [evidence("a", held=250.0, rest=20.0)]).hr_max is None
    assert learn("P01", [evidence("a", held=250.0, rest=20.0)]).hr_rest is None
    path = tmp_path / "P01.toml"
    path.write_text(calibration_toml(cal), encoding="utf-8")
    assert read_calibration(path) == cal


def test_two_files_for_one_participant_are_refused(tmp_path: Path) -> None:
    """A copy of P01.toml left beside it (or copied for P02 without changing its
    participant) is refused by name: one of the two would be used without a word."""
    from dosewatch.calibration import read_calibrations
    from dosewatch.errors import ProfileError

    path = _edited(tmp_path, "value = 172.0", "value = 172.0")
    assert set(read_calibrations(tmp_path)) == {"P01"}
    (tmp_path / "P02.toml").write_text(path.read_text(), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"participant 'P01' has a calibration in "
                       r"P01.toml too") as caught:
        read_calibrations(tmp_path)
    assert caught.value.source == str(tmp_path / "P02.toml")


def test_a_bad_calibration_file_stops_the_command_with_the_profiles_exit_status(
        tmp_path: Path, capsys) -> None:
    """On the console: the file, the key and what to do; exit status 3, as for a bad
    --profile, and nothing analysed."""
    from dosewatch.cli import main

    inputs = tmp_path / "P01"
    run = _runs(inputs / "runs.tcx", 1)
    cal_dir = tmp_path / "cal"
    cal_dir.mkdir()
    bad = _edited(cal_dir, "[hr_max]", "[hrmax]")
    code = main(["analyze", str(run), "--out", str(tmp_path / "out"), "-q", "--no-pictures",
                 "--calibration", str(cal_dir)])
    err = capsys.readouterr().err
    assert code == 3
    assert str(bad) in err and "[hrmax]" in err and "did you mean [hr_max]" in err
    assert main(["analyze", str(run), "--out", str(tmp_path / "out2"), "-q",
                 "--no-pictures", "--profile", "hr_max=1900"]) == code
    assert bad.read_text().count("[hrmax]") == 1  # not rewritten: the edit is not lost
    assert not (tmp_path / "out" / "sessions.csv").exists()


def test_a_researchers_hr_rest_beats_the_one_a_watch_stored(tmp_path: Path) -> None:
    """A FIT file's own resting heart rate (30 bpm, junk, as in a real Garmin export)
    gave way to nothing; a researcher's calibration value comes before it, and each
    session says which it used (review 2026-11-25, item 8)."""
    from support.activity_files import fit_activity, steady_records, write

    from dosewatch.ingest.formats.fit import read_fit

    watch = [(8, "uint8", 30)]  # user profile: resting_heart_rate
    (tmp_path / "P02").mkdir()
    files = [write(tmp_path / "P02" / f"run{k}.fit",
                   fit_activity(steady_records(1200, hr=140.0 + 5 * k, start=1.7e9 + 86400 * k),
                                user_profile=watch, zones_max_hr=185))
             for k in range(2)]
    session = read_fit(files[0])
    assert session.provenance.device_profile == ("hr_rest", "hr_max")
    given = read_fit(files[0], profile=Profile(hr_rest=50.0))
    assert given.provenance.device_profile == ("hr_max",)

    out = tmp_path / "out"
    report = run_batch(files, out, classifier="physio", pictures=False, progress=False)
    assert {(r.hr_rest, r.hr_rest_source, r.hr_max_source) for r in report.rows} == {
        (30.0, "device", "device")}
    path = out / "calibration" / "P02.toml"
    path.write_text(path.read_text() + '\n[hr_rest]\nvalue = 55\nsource = "researcher"\n',
                    encoding="utf-8")
    report = run_batch(files, out, classifier="physio", pictures=False, progress=False)
    assert {(r.hr_rest, r.hr_rest_source, r.hr_max, r.hr_max_source)
            for r in report.rows} == {(55.0, "researcher", 185.0, "device")}
    for row in report.rows:
        summary = json.loads((Path(row.output) / "summary.json").read_text())
        assert (summary["hr_rest"], summary["hr_rest_source"]) == (55.0, "researcher")
    assert read_calibration(path).hr_rest == Value(55.0, "researcher", "")


def test_a_researchers_hr_max_is_reported_as_such_and_not_doubted() -> None:
    """The caution on a low HR_max is for a learned one, judged on the value used, never
    on the detail text (a researcher's 190 kept a stale "below what age predicts" detail
    and was called the highest rate held)."""
    from dosewatch.plot import draw_session
    from dosewatch.rows import SessionRow
    from dosewatch.session import Profile, build_session

    low = learn("P01", [evidence("a", held=137.0, rest=55.0, prior=190.0),
                        evidence("b", held=130.0, rest=57.0, prior=190.0)])
    assert LOW_HR_MAX_CAUTION in low.hr_max.detail
    t = np.arange(0.0, 1800.0)
    run = build_session("r", hr=(t, 120.0 + 10 * np.sin(t / 300)),
                        profile=Profile(id="P01", hr_rest=55))
    mine = replace(low, hr_max=replace(low.hr_max, value=150.0, source="researcher"))
    result = analyze_session(run, calibration=mine)
    hp = result.info.hr_params
    assert (hp.hr_max, hp.hr_max_source) == (150.0, "researcher")
    assert not any("HR_max" in r for r in result.certainty.reasons)
    assert result.summary()["hr_max_source"] == "researcher"
    assert SessionRow.from_result(result, "out").hr_max_source == "researcher"
    assert any("HR max 150 bpm (researcher)" in t.get_text()
               for t in draw_session(result).texts)
    # A learned value as low is doubted even with its detail text gone...
    learned = replace(low, hr_max=Value(150.0, "sessions", ""))
    assert any("well below" in r for r in
               analyze_session(run, calibration=learned).certainty.reasons)
    # ...and a learned value near the prediction is not, whatever its detail says.
    fine = replace(low, hr_max=replace(low.hr_max, value=185.0))
    assert not any("well below" in r for r in
                   analyze_session(run, calibration=fine).certainty.reasons)


def test_calibration_is_used_in_the_order_the_definitions_give(simulated) -> None:
    session = simulated("steady_intermediate", person_seed=5, modality="hr", seed=1,
                        profile="none").session
    cal = Calibration("p0", hr_max=Value(201.0), hr_rest=Value(44.0))
    hp = analyze_session(session, classifier="physio", calibration=cal).info.hr_params
    assert (hp.hr_max, hp.hr_max_source) == (201.0, "calibration")
    # A resting stretch in the session itself comes before the calibration's HR_rest.
    assert hp.hr_rest_source in ("estimated", "calibration")
    given = replace(session, profile=replace(session.profile, hr_max=180.0, hr_rest=50.0))
    hp = analyze_session(given, classifier="physio", calibration=cal).info.hr_params
    assert (hp.hr_max_source, hp.hr_rest_source) == ("profile", "profile")


def _study(root: Path, simulated) -> list[Path]:
    """One participant: two sessions with heart rate and acceleration, one without."""
    folders = []
    for k, (protocol, modality) in enumerate((("ramp", "hr+acc"), ("walk_then_run", "hr+acc"),
                                              ("steady_intermediate", "acc"))):
        sim = simulated(protocol, person_seed=21, person_id="P07", placement="wrist",
                        modality=modality, acc_fs=25.0, seed=k, profile="none")
        folders.append(write_session_folder(sim.session, root / "P07" / f"s{k}"))
    return folders


@pytest.mark.e2e
def test_a_batch_learns_the_calibration_and_uses_it(tmp_path: Path, simulated) -> None:
    inputs = _study(tmp_path / "study", simulated)
    out = tmp_path / "out"
    report = run_batch(inputs, out, classifier="physio", pictures=False, progress=False)
    assert not report.failures and len(report.rows) == 3
    cal = read_calibration(out / "calibration" / "P07.toml")
    # Learned from the two with heart rate; the one with acceleration alone teaches
    # nothing (it is analysed with the calibration).
    assert cal.sessions == 2 and cal.acc_map("wrist") is not None
    acc_only = json.loads((out / "s2" / "summary.json").read_text())
    assert acc_only["calibration"]["participant"] == "P07"
    assert acc_only["calibration"]["acceleration"] == "calibration"
    # No longer population cut-points (low), but still no heart rate: medium, and why.
    assert acc_only["certainty"]["level"] == "medium"
    assert any("participant's own mapping" in r for r in acc_only["certainty"]["reasons"])
    # A rerun with nothing changed redoes nothing; a researcher's edit is used as written.
    again = run_batch(inputs, out, classifier="physio", pictures=False, progress=False)
    assert again.skipped == 3
    edited = calibration_toml(replace(cal, hr_max=Value(199.0, "researcher", "lab test")))
    (out / "calibration" / "P07.toml").write_text(edited, encoding="utf-8")
    third = run_batch(inputs, out, classifier="physio", pictures=False, progress=False)
    assert third.skipped == 0
    for k in (0, 1):
        summary = json.loads((out / f"s{k}" / "summary.json").read_text())
        assert (summary["hr_max"], summary["hr_max_source"]) == (199.0, "researcher")
    assert read_calibration(out / "calibration" / "P07.toml").hr_max.value == 199.0


def test_without_calibration_an_acceleration_only_verdict_says_it_is_unsure(simulated) -> None:
    sim = simulated("steady_intermediate", person_seed=21, placement="wrist", modality="acc",
                    acc_fs=25.0, seed=2)
    result = analyze_session(replace(sim.session, speed=None), classifier="physio")
    assert result.certainty.level == "low"
    assert "population cut-points" in result.certainty.reasons[0]
    # ... and so do its row of sessions.csv and its picture's header.
    from dosewatch.plot import draw_session
    from dosewatch.rows import SessionRow

    assert SessionRow.from_result(result, "out").certainty == "low"
    texts = [t.get_text() for t in draw_session(result).texts]
    assert any(t.startswith("certainty low  ·  ") for t in texts)


def _runs(path: Path, days: int) -> Path:
    """A TCX file of 15-minute runs of P01 at a steady 150 bpm, one a day for ``days``
    days."""
    from support.activity_files import points, tcx_text

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tcx_text([points(900, hr=150.0)], activities=days), encoding="utf-8")
    return path


def test_an_input_holding_a_participants_sessions_is_calibrated_in_one_pass(
        tmp_path: Path) -> None:
    """Two runs of P01 in one file: the task learns P01's calibration from them, and the
    batch's calibration round, learning the same from the same evidence, analyses nothing
    again. Two runs in two files are analysed twice: neither file alone holds them all."""
    def batch(inputs: list[Path], out: Path) -> tuple[list[str], object]:
        analysed: list[str] = []
        report = run_batch(inputs, out, classifier="physio", pictures=False, progress=False,
                           on_result=lambda status, payload: analysed.append(status))
        return analysed, report

    analysed, report = batch([_runs(tmp_path / "a" / "P01" / "runs.tcx", 2)],
                             tmp_path / "out-a")
    assert not report.failures and len(report.rows) == 2 and analysed == ["ok"]
    cal = read_calibration(tmp_path / "out-a" / "calibration" / "P01.toml")
    assert cal.sessions == 2 and cal.hr_max is not None
    for row in report.rows:
        summary = json.loads((Path(row.output) / "summary.json").read_text())
        assert summary["calibration"]["participant"] == "P01"
        assert summary["hr_max"] == cal.hr_max.value

    one = _runs(tmp_path / "b" / "P01" / "one.tcx", 1)
    two = tmp_path / "b" / "P01" / "two.tcx"
    two.write_text(one.read_text().replace("2023-11-14", "2023-11-13"), encoding="utf-8")
    analysed, report = batch([one, two], tmp_path / "out-b")
    assert not report.failures and len(report.rows) == 2 and analysed == ["ok"] * 4
    split = read_calibration(tmp_path / "out-b" / "calibration" / "P01.toml")
    assert (split.sessions, split.hr_max.value) == (2, cal.hr_max.value)


def _week(folder: Path, week: int, hrs: tuple[float, ...]) -> Path:
    """A week of P01's 15-minute runs, one TCX file a day at the given heart rates."""
    from support.activity_files import T0, points, tcx_text

    for day, hr in enumerate(hrs):
        start = T0 + 86_400.0 * (7 * (week - 1) + day)
        path = folder / "P01" / f"w{week}d{day}.tcx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tcx_text([points(900, hr=hr, start=start)]), encoding="utf-8")
    return folder


def test_the_calibration_grows_across_runs_into_the_same_folder(tmp_path: Path,
                                                                 capsys) -> None:
    """Week 2 given alone learns from week 1's sessions already in the output folder too
    (HR_max 172 used to become 169, review 2026-11-25 item 1); keyed by input and session,
    a session analysed again counts once, and all weeks given together give the same file
    to the byte. Week 1 stays out of week 2's table, and the command says so."""
    from dosewatch.cli import main
    from dosewatch.ingest.discover import discover

    w1, w2 = _week(tmp_path / "w1", 1, (170.0, 160.0)), _week(tmp_path / "w2", 2, (150.0, 152.0))
    out = tmp_path / "out"
    path = out / "calibration" / "P01.toml"
    first = run_batch(discover([w1]), out, classifier="physio", pictures=False, progress=False)
    top = read_calibration(path).hr_max.value
    assert len(first.rows) == 2 and top >= 170 and not first.elsewhere

    second = run_batch(discover([w2]), out, classifier="physio", pictures=False, progress=False)
    cal = read_calibration(path)
    assert (cal.sessions, cal.hr_max.value) == (4, top)  # not relearned from week 2 alone
    assert sorted(Path(r.output).name for r in second.rows) == ["w2d0", "w2d1"]
    assert sorted(Path(e["output"]).name for e in second.elsewhere) == ["w1d0", "w1d1"]
    assert all(e["counted"] for e in second.elsewhere)
    for row in second.rows:  # week 2 analysed with the calibration of all four
        summary = json.loads((Path(row.output) / "summary.json").read_text())
        assert summary["hr_max"] == top and summary["calibration"]["sessions"] == 4
    text = path.read_text()

    again = run_batch(discover([w2]), out, classifier="physio", pictures=False, progress=False)
    assert again.skipped == 2 and path.read_text() == text  # week 2 not counted twice
    both = run_batch(discover([w1, w2]), out, classifier="physio", pictures=False, progress=False)
    assert len(both.rows) == 4 and not both.elsewhere and path.read_text() == text
    assert read_calibration(path).sessions == 4

    assert main(["analyze", str(w2), "--out", str(out), "-q", "--no-pictures"]) == 0
    err = capsys.readouterr().err
    assert f"{out} also holds 2 sessions from 2 inputs not given in this run" in err
    assert "not in sessions.csv nor in the adherence" in err
    assert "give all inputs together" in err and str(w1 / "P01" / "w1d0.tcx") in err
    assert path.read_text() == text
    # A file deleted from the study (or exported again) no longer speaks for them.
    (w1 / "P01" / "w1d0.tcx").unlink()
    gone = run_batch(discover([w2]), out, classifier="physio", pictures=False,
                     progress=False)
    assert sorted(e["counted"] for e in gone.elsewhere) == [False, True]
    assert read_calibration(path).sessions == 3
    # The command to have every session in the tables names no input that is gone, and
    # the console says what to do with the session whose input is (review 2026-11-25c).
    assert main(["analyze", str(w2), "--out", str(out), "-q", "--no-pictures"]) == 0
    err = capsys.readouterr().err
    assert (f"the input of {out / 'w1d0'} ({w1 / 'P01' / 'w1d0.tcx'}) no longer exists "
            f"(deleted or moved): delete {out / 'w1d0'}") in err
    command = next(line for line in err.splitlines() if "give all inputs together" in line)
    assert "w1d0.tcx" not in command and str(w1 / "P01" / "w1d1.tcx") in command


def test_analyze_names_the_report_and_tables_an_earlier_report_wrote_when_the_table_changes(
        tmp_path: Path, capsys) -> None:
    """`dosewatch report` writes report.html and the adherence tables from sessions.csv;
    a later `analyze` that changes the table says they are from before it (review
    2026-11-25c, item 4), and a rerun that changes nothing says nothing."""
    from dosewatch.cli import main

    w1, w2 = _week(tmp_path / "w1", 1, (170.0, 160.0)), _week(tmp_path / "w2", 2, (150.0,))
    out = tmp_path / "out"
    assert main(["analyze", str(w1), "--out", str(out), "-q", "--no-pictures"]) == 0
    assert main(["report", str(out)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(w1), "--out", str(out), "-q", "--no-pictures"]) == 0
    assert "from before this run" not in capsys.readouterr().out
    assert main(["analyze", str(w1), str(w2), "--out", str(out), "-q", "--no-pictures"]) == 0
    said = capsys.readouterr().out
    assert (f"note: report.html, adherence.csv, adherence.parquet, participants.csv, "
            f"participants.parquet in {out} are from before this run: dosewatch report "
            f"{out} writes them again") in said


def test_an_earlier_session_replaced_by_one_of_the_same_name_is_said_and_still_counts(
        tmp_path: Path, capsys) -> None:
    """study/a/P01/run.tcx, then study/b/P01/run.tcx: the second takes the folder `run`
    over. The command says whose session it held, and its evidence still counts."""
    from dosewatch.cli import main

    for week, hr in (("a", 170.0), ("b", 150.0)):
        _week(tmp_path / week, 1, (hr,))
        (tmp_path / week / "P01" / "w1d0.tcx").rename(tmp_path / week / "P01" / "run.tcx")
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / "a"), "--out", str(out), "-q",
                 "--no-pictures"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(tmp_path / "b"), "--out", str(out), "-q",
                 "--no-pictures"]) == 0
    err = capsys.readouterr().err
    assert f"{out / 'run'} held the session of {tmp_path / 'a' / 'P01' / 'run.tcx'}" in err
    assert "1 earlier session of the same participants counts" in err
    assert "inputs of the same name then get names of their own" in err
    cal = read_calibration(out / "calibration" / "P01.toml")
    assert cal.sessions == 2 and cal.hr_max.value >= 170


RUNNER = "corriporai__runpandas"
"""One runner's real TCX exports: 2 and 8 December hold 169 and 172 bpm for 30 s, 16
and 26 December less (166 at most)."""


def _real_weeks(root: Path) -> tuple[Path, Path]:
    """Week 1 (2 and 8 December) and week 2 (16 and 26 December, and 2 December again,
    gzipped under another name) of the runner, each in a folder P01."""
    import gzip
    import shutil

    from support.paths import REAL

    real = REAL / RUNNER
    weeks = []
    for week, days in ((1, ("02T06_08_29", "08T06_36_12")), (2, ("16T05_44_18",
                                                                 "26T06_03_49"))):
        folder = root / f"week{week}" / "P01"
        folder.mkdir(parents=True)
        for day in days:
            shutil.copyfile(real / f"2020-12-{day}-300_Running.tcx", folder / f"{day}.tcx")
        weeks.append(folder.parent)
    again = (real / "2020-12-02T06_08_29-300_Running.tcx").read_bytes()
    (weeks[1] / "P01" / "again.tcx.gz").write_bytes(gzip.compress(again))
    return weeks[0], weeks[1]


@pytest.mark.e2e
def test_runs_into_other_output_folders_pool_their_shared_calibration(tmp_path: Path,
                                                                       capsys) -> None:
    """Week 1 into A, week 2 into B, one --calibration C: C ends as the calibration of
    both weeks at once (to the byte; week 2 alone used to overwrite it, losing week 1's
    172 bpm), week 2's sessions are analysed with it, and week 2's gzipped copy of a week
    1 run counts once and is named as a copy."""
    from dosewatch.adherence import compute_adherence
    from dosewatch.cli import main
    from dosewatch.ingest.discover import discover
    from dosewatch.rows import read_rows

    week1, week2 = _real_weeks(tmp_path)
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    assert main(["analyze", str(week1), "--out", str(a), "--calibration", str(c), "-q",
                 "--no-pictures"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(week2), "--out", str(b), "--calibration", str(c), "-q",
                 "--no-pictures"]) == 0
    said = capsys.readouterr().out
    cal = read_calibration(c / "P01.toml")
    assert (cal.sessions, cal.hr_max.value) == (4, 172.0)
    run_batch(discover([week1, week2]), tmp_path / "D", pictures=False, progress=False)
    pooled = (c / "P01.toml").read_text()
    assert pooled == (tmp_path / "D" / "calibration" / "P01.toml").read_text()
    assert f"again is a copy of {a / '02T06_08_29'}" in said
    assert f"2 sessions that earlier runs analysed into {a} count in the calibration" in said
    for row in read_rows(b):
        summary = json.loads((Path(row.output) / "summary.json").read_text())
        assert summary["hr_max"] == 172.0 and summary["calibration"]["sessions"] == 4
    (person,) = compute_adherence(read_rows(b)).participants
    # B's own two; the copy of A's run is counted in A, not again in B (review
    # 2026-11-25b, item 5): A's and B's tables together count it once.
    assert (person.sessions, person.copies) == (2, 1)
    assert {r.session: r.duplicate_of for r in read_rows(b)}["again"] == "../A/02T06_08_29"
    # Week 2 again: nothing counted twice, nothing analysed again, the copy still marked.
    again = run_batch(discover([week2]), b, pictures=False, progress=False,
                      calibration_dir=c)
    assert again.skipped == 3 and (c / "P01.toml").read_text() == pooled
    assert again.copies.earlier == {"again": "../A/02T06_08_29"}


@pytest.mark.e2e
def test_a_shared_calibration_keeps_a_researchers_value_and_forgets_deleted_inputs(
        tmp_path: Path) -> None:
    """Week 2 into another output folder pools with week 1's evidence, keeps the HR_max a
    researcher wrote after week 1, counts week 1 once when it is given again into a third
    folder, and no longer counts a week 1 file deleted since."""
    from dosewatch.ingest.discover import discover

    w1, w2 = _week(tmp_path / "w1", 1, (170.0, 160.0)), _week(tmp_path / "w2", 2, (150.0, 152.0))
    cal_dir = tmp_path / "C"
    options = {"classifier": "physio", "pictures": False, "progress": False,
               "calibration_dir": cal_dir}
    run_batch(discover([w1]), tmp_path / "A", **options)
    path = cal_dir / "P01.toml"
    text = path.read_text().replace('source = "sessions"', 'source = "researcher"', 1)
    text = re.sub(r"(\[hr_max\][^\n]*\nvalue = )[0-9.]+", r"\g<1>185.0", text)
    path.write_text(text)
    run_batch(discover([w2]), tmp_path / "B", **options)
    cal = read_calibration(path)
    assert cal.sessions == 4 and (cal.hr_max.value, cal.hr_max.source) == (185.0, "researcher")
    entries = json.loads((cal_dir / "evidence" / "P01.json").read_text())["sessions"]
    assert sorted(e["session"] for e in entries) == ["w1d0", "w1d1", "w2d0", "w2d1"]
    both = run_batch(discover([w1, w2]), tmp_path / "E", **options)  # given again: once
    assert read_calibration(path).sessions == 4 and not any(e["counted"] for e in both.pooled)
    (w1 / "P01" / "w1d0.tcx").unlink()
    run_batch(discover([w2]), tmp_path / "B", **options)
    assert read_calibration(path).sessions == 3


def test_a_calibration_folder_another_run_uses_is_refused(tmp_path: Path) -> None:
    """Two runs sharing one calibration folder at once would each write what they saw,
    the later dropping the other's sessions: the second is refused, with what to do."""
    import fcntl
    import os

    from dosewatch.errors import OutputError
    from dosewatch.ingest.discover import discover

    w1 = _week(tmp_path / "w1", 1, (170.0,))
    cal_dir = tmp_path / "C"
    cal_dir.mkdir()
    fd = os.open(cal_dir / ".lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputError) as caught:
            run_batch(discover([w1]), tmp_path / "A", classifier="physio", pictures=False,
                      progress=False, calibration_dir=cal_dir)
    finally:
        os.close(fd)
    assert "another dosewatch run is using this calibration folder" in caught.value.reason
    assert caught.value.hint.startswith("wait for it to finish")
    report = run_batch(discover([w1]), tmp_path / "A", classifier="physio", pictures=False,
                       progress=False, calibration_dir=cal_dir)
    assert len(report.rows) == 1 and (cal_dir / "evidence" / "P01.json").is_file()


def test_a_damaged_evidence_file_stops_the_run_with_what_to_do(tmp_path: Path) -> None:
    from dosewatch.errors import ProfileError
    from dosewatch.ingest.discover import discover

    w1 = _week(tmp_path / "w1", 1, (170.0, 160.0))
    cal_dir = tmp_path / "C"
    (cal_dir / "evidence").mkdir(parents=True)
    (cal_dir / "evidence" / "P01.json").write_text('{"sessions": [{"input": 1}]}')
    with pytest.raises(ProfileError) as caught:
        run_batch(discover([w1]), tmp_path / "A", classifier="physio", pictures=False,
                  progress=False, calibration_dir=cal_dir)
    assert "not an evidence file dosewatch wrote" in caught.value.reason
    assert caught.value.hint.startswith("delete it")


def test_a_verdict_without_data_or_on_a_low_calibrated_hr_max_says_it_is_unsure() -> None:
    from dosewatch.session import Profile, build_session

    t = np.arange(0.0, 1800.0)
    empty = analyze_session(build_session("s", hr=(t, np.full(t.size, 25.0))))
    assert empty.certainty.level == "low"
    assert "no epoch has heart rate" in empty.certainty.reasons[0]

    low = learn("P01", [evidence("a", held=137.0, rest=55.0, prior=190.0),
                        evidence("b", held=130.0, rest=57.0, prior=190.0)])
    run = build_session("r", hr=(t, 120.0 + 10 * np.sin(t / 300)),
                        profile=Profile(id="P01", hr_rest=55))
    result = analyze_session(run, calibration=low)
    assert result.info.hr_params.hr_max_source == "calibration"
    assert result.certainty.level == "medium"
    assert any("well below what their age (or, without one, the default) predicts" in r
               for r in result.certainty.reasons)
    fine = learn("P01", [evidence("a", held=185.0, rest=55.0, prior=190.0),
                         evidence("b", held=180.0, rest=57.0, prior=190.0)])
    assert not any("well below" in r
                   for r in analyze_session(run, calibration=fine).certainty.reasons)


def test_a_calibrated_workload_relation_does_not_overrule_a_sessions_own_heart_rate() -> None:
    """A real indoor Conconi test (heart rate 97 -> 190 bpm) whose GPS speed says the
    runner stood still nearly all the time: its heart rate cannot confirm the speed channel,
    so the participant's calibrated fitness is not used to call the still minutes rest.
    A session without heart rate still gets the calibrated relation."""
    from support.paths import REAL

    from dosewatch.ingest.registry import read_one

    path = REAL / "lwaldron__ConconiAnaerobicThresholdTest" / "2022-01-10.tcx.gz"
    session = read_one(path)
    cal = Calibration("runner", fitness_k=Value(0.81))
    result = analyze_session(session, classifier="physio", calibration=cal)
    assert result.info.relation is None
    minutes = result.prediction.labels
    assert (minutes == int(Label.REST)).sum() <= 5
    assert (minutes == int(Label.ACCELERATING)).sum() >= 10
    no_hr = replace(session, hr=None)
    relation = analyze_session(no_hr, classifier="physio", calibration=cal).info.relation
    assert relation is not None and relation.source == "calibration"


def test_pictures_of_a_folder_of_inputs_are_drawn_once_in_the_second_round(
        tmp_path: Path, simulated) -> None:
    """Small inputs that share a folder (the participant) are analysed without pictures
    first, since the calibration round analyses them again and draws them then. Those
    that round does not analyse again for a calibration (here: two people, by their
    profile's id, in one folder) are analysed again for their pictures; an input alone in
    its folder is drawn in the first round. Every session ends with its picture, and a
    batch stopped between the rounds is finished by the next run."""
    one = _runs(tmp_path / "study" / "P01" / "one.tcx", 1)
    two = tmp_path / "study" / "P01" / "two.tcx"
    two.write_text(one.read_text().replace("2023-11-14", "2023-11-13"), encoding="utf-8")
    solo = _runs(tmp_path / "study" / "P02" / "solo.tcx", 1)
    mixed = []
    for k, who in enumerate(("A", "B")):
        sim = simulated("steady_intermediate", person_seed=k, modality="hr", seed=k)
        folder = write_session_folder(sim.session, tmp_path / "study" / "mixed" / who)
        (folder / "profile.toml").write_text(f'id = "{who}"\n', encoding="utf-8")
        mixed.append(folder)
    inputs = [one, two, solo, *mixed]
    drawn: dict[str, list[bool]] = {}

    def batch(out: Path, pictures: bool = True) -> tuple[dict[str, int], object]:
        analysed: dict[str, int] = {}

        def seen(status: str, payload: object) -> None:
            name = Path(payload.input).name  # type: ignore[attr-defined]
            analysed[name] = analysed.get(name, 0) + 1
            drawn.setdefault(name, []).append(all(
                (Path(row.output) / "session.png").is_file()
                for row in payload.rows))  # type: ignore[attr-defined]

        report = run_batch(inputs, out, classifier="physio", pictures=pictures,
                           progress=False, on_result=seen)
        assert not report.failures and len(report.rows) == 5
        return analysed, report

    out = tmp_path / "out"
    analysed, report = batch(out)
    assert analysed == {"one.tcx": 2, "two.tcx": 2, "solo.tcx": 1, "A": 2, "B": 2}
    # Drawn once: not in the first round, in the second (the solo input: in the first).
    assert drawn == {"one.tcx": [False, True], "two.tcx": [False, True], "solo.tcx": [True],
                     "A": [False, True], "B": [False, True]}
    assert not (out / "calibration" / "A.toml").exists()  # A and B: nothing to calibrate
    for row in report.rows:
        folder = Path(row.output)
        assert (folder / "session.png").stat().st_size > 10_000
        assert json.loads((folder / "run.json").read_text())["fingerprint"]["pictures"]
    again, report = batch(out)
    assert again == {} and report.skipped == 5

    # Stopped after the first round: its session folders lack their pictures.
    stopped = tmp_path / "stopped"
    batch(stopped, pictures=False)
    assert not list(stopped.rglob("session.png"))
    analysed, report = batch(stopped)
    assert analysed == {"one.tcx": 1, "two.tcx": 1, "solo.tcx": 1, "A": 1, "B": 1}
    assert len(list(stopped.rglob("session.png"))) == 5
    # Each was analysed again (for its pictures): none may be reported as skipped.
    assert report.skipped == 0


def test_an_input_without_sessions_is_not_analysed_again_for_pictures(tmp_path: Path) -> None:
    """A free-living recording in which no exercise was found has no picture to draw:
    the second round must not read and analyse it again for its pictures."""
    rng = np.random.default_rng(9)
    day = tmp_path / "study" / "P09" / "day"
    day.mkdir(parents=True)
    config = Config()  # a recording from half an hour on: a short one will do
    config = replace(config, free_living=replace(config.free_living, min_recording_h=0.5))
    seconds = np.arange(3600)
    bpm = 62 + 4 * rng.random(seconds.size)
    (day / "hr.csv").write_text("time,hr\n" + "".join(
        f"{t},{b:.1f}\n" for t, b in zip(seconds, bpm, strict=True)), encoding="utf-8")
    run = _runs(tmp_path / "study" / "P09" / "run.tcx", 1)
    analysed: dict[str, int] = {}

    def seen(status: str, payload: object) -> None:
        name = Path(payload.input).name  # type: ignore[attr-defined]
        analysed[name] = analysed.get(name, 0) + 1

    report = run_batch([day, run], tmp_path / "out", config=config, classifier="physio",
                       progress=False, on_result=seen)
    assert not report.failures and len(report.recordings) == 1
    assert report.recordings[0]["sessions"] == [] and len(report.rows) == 1
    assert analysed == {"day": 1, "run.tcx": 2}
    assert (Path(report.rows[0].output) / "session.png").is_file()


class _FailsWithACalibration:
    """Physio, failing whenever HR_max comes from a participant's calibration."""

    name = "fails-with-a-calibration"

    def predict(self, features, info, config):  # noqa: ANN001, ANN201 - the protocol's
        from dosewatch.errors import ModelError
        from dosewatch.models.physio import PhysioClassifier

        if info.hr_params is not None and info.hr_params.hr_max_source == "calibration":
            raise ModelError("cannot use a calibration", hint="a test's classifier")
        return PhysioClassifier().predict(features, info, config)


def test_an_input_failing_in_the_second_round_says_its_first_round_verdicts_stand(
        tmp_path: Path) -> None:
    """Analysed once, then failing when analysed again with the participant's
    calibration: its sessions stay in the tables, and its failure says so."""
    one = _runs(tmp_path / "study" / "P01" / "one.tcx", 1)
    two = tmp_path / "study" / "P01" / "two.tcx"
    two.write_text(one.read_text().replace("2023-11-14", "2023-11-13"), encoding="utf-8")
    report = run_batch([one, two], tmp_path / "out", classifier=_FailsWithACalibration(),
                       pictures=False, progress=False)
    assert len(report.rows) == 2 and len(report.failures) == 2
    for failure in report.failures:
        assert failure["reason"] == (
            "1 session in the tables, analysed without its participant's calibration: "
            "analysing it again failed (cannot use a calibration)")


def test_the_pace_a_participant_runs_from_is_learned_kept_and_checked(tmp_path: Path) -> None:
    # Heart rate told their jogs from their walks at 1.5-2.2 m/s (no cadence): walks at
    # 1.6-1.7, runs from 1.9, and one slow minute read as a run as they slowed down.
    a = replace(Evidence("P01", "a"), walk_paces_mps=(1.6, 1.6, 1.7, 1.7),
                run_paces_mps=(1.5, 1.9, 2.0, 2.0))
    b = replace(Evidence("P01", "b"), walk_paces_mps=(1.6,), run_paces_mps=(2.1, 2.1))
    cal = learn("P01", [a, b])
    assert cal.runs_from_mps.value == 1.9 and cal.runs_from_mps.source == "sessions"
    assert "6 epochs run and 5 walked" in cal.runs_from_mps.detail
    assert learn("P01", [replace(a, run_paces_mps=())]).runs_from_mps is None
    path = tmp_path / "P01.toml"
    path.write_text(calibration_toml(cal), encoding="utf-8")
    assert read_calibration(path) == cal
    # A researcher's value is kept; an impossible one is refused with the limits.
    theirs = replace(cal, runs_from_mps=Value(2.1, "researcher", "observed on video"))
    assert learn("P01", [a, b], previous=theirs).runs_from_mps == theirs.runs_from_mps
    from dosewatch.errors import ProfileError

    path.write_text(calibration_toml(cal).replace("value = 1.9", "value = 19.0"))
    with pytest.raises(ProfileError, match=r"\[runs_from_mps\] value = 19 is not possible "
                                           r"\(expected 1–3 m/s\)"):
        read_calibration(path)


def test_a_session_without_heart_rate_runs_from_the_participants_pace() -> None:
    # 2.0 m/s without a cadence: a brisk walk to speed alone, a jog for a participant
    # whose heart rate showed they run from 1.9 m/s; the jog costs twice the walk.
    from dosewatch.session import build_session

    t = np.arange(30 * 60, dtype=np.float64)
    session = build_session("strapless", speed=(t, np.full(t.size, 2.0)))
    cal = Calibration("P01", fitness_k=Value(1.0, "sessions", ""))
    walked = analyze_session(session, calibration=cal).features.values["pct_hrr_workload"]
    ran = analyze_session(session, calibration=replace(
        cal, runs_from_mps=Value(1.9, "sessions", ""))).features.values["pct_hrr_workload"]
    moving = np.isfinite(walked) & (walked > 0)
    assert moving.sum() > 25
    np.testing.assert_allclose(ran[moving], 2 * walked[moving], rtol=1e-6)
