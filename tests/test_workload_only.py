"""Sessions with a workload channel and no heart rate (a GPS watch worn without its strap).

SPEC: "Without heart rate, intensity is estimated ... from a workload channel (speed,
grade, power): with the participant's own mapping, learned from their sessions with heart
rate, when there is one; else ... the verdict is marked uncertain." Issue 11.3: "learn how
their speed ... map[s] to %HRR from their sessions with heart rate, and apply that mapping
to their sessions without it."
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from support.paths import REAL

from dosewatch.analysis import analyze_session
from dosewatch.batch import run_batch
from dosewatch.calibration import learn
from dosewatch.features.workload import run_or_ride
from dosewatch.ingest import read_sessions
from dosewatch.ingest.discover import discover
from dosewatch.simulate import Person, simulate

RUNNER = Person(
    id="P7", age=30.0, sex="female", hr_rest=52.0, hr_max=188.0, vo2max=54.0,
    tau_on_s=28.0, tau_off_s=55.0, drift_bpm_per_min=0.2, height_m=1.68,
    cadence_offset_spm=1.0,
)


def _calibration():
    """The runner's calibration from three treadmill sessions with heart rate and speed."""
    evidence = []
    for seed, protocol in enumerate(("steady_intermediate", "ramp", "steady_vigorous")):
        sim = simulate(protocol, RUNNER, modality="hr+speed", seed=seed, profile="full")
        evidence.append(analyze_session(sim.session).evidence())
    return learn(RUNNER.id, evidence)


@pytest.mark.parametrize(("protocol", "truth"), [("steady_vigorous", "constant"),
                                               ("ramp", "accelerating")])
def test_the_participants_fitness_reads_a_session_without_heart_rate(protocol, truth):
    calibration = _calibration()
    assert calibration.fitness_k is not None
    sim = simulate(protocol, RUNNER, modality="speed", seed=5, profile="full")
    session = sim.session
    assert session.hr is None and session.speed is not None

    alone = analyze_session(session)
    assert alone.info.relation.source == "population"
    assert alone.certainty.level == "low"
    assert "reference person's fitness" in alone.certainty.reasons[0]

    calibrated = analyze_session(session, calibration=calibration)
    assert calibrated.info.relation.source == "calibration"
    assert calibrated.info.relation.k == pytest.approx(calibration.fitness_k.value)
    assert calibrated.intensity_source == "workload"
    assert calibrated.session_class == sim.truth.session_class == truth
    assert calibrated.dose_met == sim.truth.dose_met is True
    assert calibrated.certainty.level == "medium"
    assert any("calibrated fitness" in r for r in calibrated.certainty.reasons)
    assert "no heart rate" in " ".join(calibrated.warnings)
    # Every epoch with a workload has an intensity: coverage is the workload's.
    assert calibrated.data_coverage > 0.9


def test_a_researchers_fitness_is_named_as_theirs():
    calibration = _calibration()
    researcher = replace(calibration, fitness_k=replace(calibration.fitness_k,
                                                        source="researcher"))
    session = simulate("steady_intermediate", RUNNER, modality="speed", seed=3).session
    result = analyze_session(session, calibration=researcher)
    assert result.info.relation.source == "researcher"
    assert any("as a researcher set it" in r for r in result.certainty.reasons)


@pytest.mark.parametrize("classifier", ["learned", "rules"])
def test_every_classifier_reads_the_workload_alone(classifier):
    sim = simulate("ramp", RUNNER, modality="speed", seed=5)
    calibration = _calibration()
    result = analyze_session(sim.session, classifier=classifier, calibration=calibration)
    physio = analyze_session(sim.session, classifier="physio", calibration=calibration)
    assert result.session_class == physio.session_class == "accelerating"
    assert result.certainty.level == "medium"
    if classifier == "learned":  # never trained on it: physio's reading, said so
        assert any("not trained on sessions without heart rate" in w
                   for w in result.warnings)


def _without_heart_rate(tcx: Path, to: Path) -> Path:
    text = tcx.read_text(encoding="utf-8")
    stripped = re.sub(r"<HeartRateBpm>.*?</HeartRateBpm>", "", text, flags=re.S)
    assert stripped != text
    to.write_text(stripped, encoding="utf-8")
    return to


def test_a_batch_applies_the_participants_fitness_to_their_file_without_heart_rate(
        tmp_path: Path) -> None:
    # One runner's exports (runpandas): two with heart rate, and a third whose strap was
    # not worn. Its verdict must be the one the strap would have given, and say how sure.
    runs = REAL / "corriporai__runpandas"
    folder = tmp_path / "P01"
    folder.mkdir()
    for name in ("2020-12-02T06_08_29-300_Running.tcx", "2020-12-16T05_44_18-300_Running.tcx"):
        (folder / name).write_bytes((runs / name).read_bytes())
    strapless = _without_heart_rate(runs / "2020-12-26T06_03_49-300_Running.tcx",
                                    folder / "no_strap.tcx")
    report = run_batch(discover([folder]), tmp_path / "out", pictures=False, progress=False)
    assert report.ok and len(report.rows) == 3
    summary = json.loads((tmp_path / "out" / "no_strap" / "summary.json").read_text())
    assert summary["intensity_source"] == "workload"
    assert summary["calibration"]["workload"]["source"] == "calibration"
    assert summary["certainty"]["level"] == "medium"
    assert summary["repairs"][0].startswith("no heart rate in this file")
    # The console's "check:" line names the file and the reading.
    (check,) = report.checks
    assert check["input"] == str(strapless) and "read the speed alone" in check["reason"]
    # The same run with its heart rate: class and dose agree.
    with_hr = analyze_session(read_sessions(runs / "2020-12-26T06_03_49-300_Running.tcx")[0])
    assert (summary["session_class"], summary["dose_met"]) == (with_hr.session_class,
                                                               with_hr.dose_met)
    calibration = (tmp_path / "out" / "calibration" / "P01.toml").read_text()
    assert "[fitness_k]" in calibration and "from 2 sessions with heart rate" in calibration


def test_a_strap_that_drops_out_early_leaves_the_speed_to_tell(tmp_path: Path) -> None:
    # Heart rate for the first 4 minutes only, speed throughout: the speed gives the
    # minutes without heart rate, as it would with no strap at all (review 2026-11-25b,
    # item 2: 39 minutes were missing and the dose lost), and the verdict says how sure.
    sim = simulate("steady_vigorous", RUNNER, modality="hr+speed", seed=5, profile="full")
    hr = sim.session.hr
    early = hr.t < 240
    session = replace(sim.session, hr=replace(
        hr, t=hr.t[early], bpm=hr.bpm[early],
        rr_ms=None if hr.rr_ms is None else hr.rr_ms[early]))
    alone = analyze_session(replace(sim.session, hr=None))
    result = analyze_session(session)
    assert result.dose_met == alone.dose_met == sim.truth.dose_met is True
    assert result.data_coverage > 0.9
    assert result.certainty.level == "low"
    assert any("heart rate covering only" in r for r in result.certainty.reasons)
    assert not any("data covers" in w for w in result.warnings)


# --------------------------------------------------------------------------- no sport


def _squeezed_gpx(to: Path, median_mps: float, sport: str | None = None) -> Path:
    """A real GPS track (sports-lib's amazfit.gpx, a run at 3.4 m/s) without its heart
    rate and its ``<type>``, its times squeezed so that it moves at ``median_mps``: a
    slow commute ride at 4.8 m/s (review 2026-11-25b, item 4). ``sport``: a ``<type>``
    to give it instead."""
    from datetime import UTC, datetime, timedelta

    text = (REAL / "sports-alliance__sports-lib" / "amazfit.gpx").read_text(encoding="utf-8")
    text = re.sub(r"<heartrate>.*?</heartrate>|<ns3:hr>.*?</ns3:hr>", "", text)
    text = re.sub(r"<type>.*?</type>", f"<type>{sport}</type>" if sport else "", text)
    stamps = re.findall(r"<trkpt.*?<time>(.*?)</time>", text, flags=re.S)
    times = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
    factor = 3.44 / median_mps  # the run's median pace while moving
    start = times[0]

    def squeeze(match: re.Match[str]) -> str:
        t = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        if t < start:  # the metadata's time
            return match.group(0)
        moved = start + timedelta(seconds=(t - start).total_seconds() * factor)
        return f"<time>{moved.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z</time>"

    to.write_text(re.sub(r"<time>(.*?)</time>", squeeze, text), encoding="utf-8")
    assert len(times) > 1000
    return to


def test_a_file_without_a_sport_at_a_ride_s_pace_says_it_may_be_a_ride(tmp_path: Path) -> None:
    # A GPX that names no sport, moving at 17 km/h: a fast run or a slow ride. Read as a
    # run with the reference person's fitness, it was 34 vigorous minutes at 122-137 %HRR
    # with only the generic reason. The console and the certainty must say what is
    # unknown, what to do, and that more than 100 %HRR from a workload cannot be right.
    folder = tmp_path / "in"
    folder.mkdir()
    gpx = _squeezed_gpx(folder / "commute_ride.gpx", 4.8)
    (session,) = read_sessions(gpx)
    assert session.provenance.sport is None and session.hr is None
    report = run_batch(discover([folder]), tmp_path / "out", pictures=False, progress=False)
    assert report.ok
    reasons = [c["reason"] for c in report.checks]
    assert len(reasons) == 2 and "read the speed alone" in reasons[0]
    assert "fast run or a slow ride" in reasons[1] and "17 km/h" in reasons[1]
    assert "<type>cycling</type>" in report.checks[1]["hint"]
    summary = json.loads((tmp_path / "out" / "commute_ride" / "summary.json").read_text())
    certainty = summary["certainty"]
    assert certainty["level"] == "low"
    assert "reference person's fitness" in certainty["reasons"][0]
    assert any("fast run or a slow ride" in r and "<type>cycling</type>" in r
               for r in certainty["reasons"])
    (above,) = [r for r in certainty["reasons"] if "more than any heart rate" in r]
    assert re.search(r"for \d+ minutes .* above 100 %HRR", above)


def test_a_declared_sport_is_priced_as_declared_without_the_doubt(tmp_path: Path) -> None:
    ride = analyze_session(read_sessions(_squeezed_gpx(tmp_path / "r.gpx", 4.8, "cycling"))[0])
    run = analyze_session(read_sessions(_squeezed_gpx(tmp_path / "u.gpx", 4.8, "running"))[0])
    unknown = analyze_session(read_sessions(_squeezed_gpx(tmp_path / "n.gpx", 4.8))[0])
    for result in (ride, run):
        assert not any("slow ride" in r for r in result.certainty.reasons)
    # The ride is priced with the reference rider: far below HR_max, nothing to doubt.
    assert np.nanmax(ride.prediction.intensity) < 60
    assert not any("more than any heart rate" in r for r in ride.certainty.reasons)
    # A declared run is priced as before (a run, as the file without a sport is): 4.8 m/s
    # is beyond the reference person, and the verdict says so.
    np.testing.assert_allclose(run.prediction.intensity, unknown.prediction.intensity)
    assert any("more than any heart rate" in r for r in run.certainty.reasons)


def test_a_run_s_pace_or_a_stepping_cadence_is_no_doubt() -> None:
    speed = np.full(40, 4.8)
    assert "fast run or a slow ride" in run_or_ride(speed, None)
    assert "fast run or a slow ride" in run_or_ride(speed, np.full(40, 85.0))  # pedal rate?
    assert run_or_ride(speed, np.full(40, 172.0)) is None  # steps: a run
    assert run_or_ride(np.full(40, 3.4), None) is None  # a run's pace, or a bike's crawl
    assert run_or_ride(np.full(40, 6.5), None) is None  # priced as a ride
    stops = np.concatenate([np.full(20, 4.5), np.zeros(20)])
    assert run_or_ride(stops, None) is not None  # its moving pace decides


def test_only_a_held_workload_above_hr_max_is_doubted() -> None:
    from dosewatch.certainty import above_max_reason
    from dosewatch.models.base import SOURCE_HR, SOURCE_WORKLOAD, EpochPrediction

    def prediction(intensity, source=SOURCE_WORKLOAD):
        n = len(intensity)
        return EpochPrediction(np.asarray(intensity, float), np.zeros(n, np.int8),
                               np.full(n, source, np.int8))

    # GPS spikes, an interval, the end of a ramp: nine minutes above at most.
    short = [80, 130, 140, 80] + [105] * 9 + [80]
    assert above_max_reason(prediction(short), "calibration") is None
    held = [80] + [105, 110, 108, 104, 106] * 2 + [80]
    reason = above_max_reason(prediction(held), "calibration")
    assert reason is not None and "for 10 minutes" in reason and "up to 110 %" in reason
    assert "their calibrated fitness" in reason
    assert above_max_reason(prediction(held, SOURCE_HR), "session") is None
    # Half-minute epochs: ten of them are five minutes, twenty are ten.
    assert above_max_reason(prediction(held), "population", 0.5) is None
    twenty = [80] + [105] * 20 + [80]
    assert "for 10 minutes" in above_max_reason(prediction(twenty), "population", 0.5)


def test_the_workload_evaluation_reports_rides_apart(tmp_path: Path) -> None:
    # scripts/workload_only_eval.py on a road ride with a power meter (sports-lib) and a
    # run: the ride is counted apart, and measured against the reference rider.
    import sys

    from support.paths import REPO

    for name in ("sports-alliance__sports-lib/7445393868.fit",
                 "corriporai__runpandas/2020-12-02T06_08_29-300_Running.tcx"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((REAL / name).read_bytes())
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import workload_only_eval as evaluation
    finally:
        sys.path.remove(str(REPO / "scripts"))
    rows = evaluation.collect(tmp_path)
    run, ride = sorted(rows, key=lambda r: r.activity)  # "on foot" < "ride"
    assert (ride.activity, run.activity) == ("ride", "on foot") and run.ride is None
    # The power it measured is the reference rider's at its speed, within a few per cent
    # (a steady ride at 27 km/h); its heart rate says it was harder than the reference
    # person's fitness reads it.
    assert ride.ride.power_ratio == pytest.approx(1.04, abs=0.05)
    assert ride.ride.k_speed > 1.1 and ride.ride.k_power > 1.1
    assert ride.ride.speed_alone.dose is False and ride.full.dose is True
    text = evaluation.report(rows)
    assert "| uncalibrated, the rides | 1 |" in text
    assert "| uncalibrated, the sessions on foot | 1 |" in text
    assert "Rides (1 with speed and heart rate; 1 on a road, 0 with" in text
    assert re.search(r"\| `sports-lib/7445393868.fit` \| road \| 7\.4 \| 1\.0\d \|", text)


def test_a_treadmill_s_incline_says_the_pace_was_on_foot() -> None:
    # A treadmill recorded live without a strap names no sport, but its incline stream
    # (FTMS) says it was run: a fast run at 4.8 m/s is no doubt there. The same speeds
    # from a file without an incline are.
    from dosewatch.session import build_session

    t = np.arange(0.0, 40 * 60.0)
    speed = (t, np.full(t.size, 4.8))
    treadmill = build_session("treadmill", speed=speed, grade=(t, np.zeros(t.size)))
    track = build_session("track", speed=speed)
    assert treadmill.provenance.sport is None is track.provenance.sport
    assert not any("slow ride" in r for r in analyze_session(treadmill).certainty.reasons)
    assert any("slow ride" in r for r in analyze_session(track).certainty.reasons)
