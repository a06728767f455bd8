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

import pytest
from support.paths import REAL

from dosewatch.analysis import analyze_session
from dosewatch.batch import run_batch
from dosewatch.calibration import learn
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
