"""TrainingPeaks PWX files (real files from Runalyze and GoldenCheetah, checked against
Runalyze's PwxTest and the device's own summary in the file) and FIT files with several
sessions (a real Fenix 2 multisport file, checked against fitdecode)."""

from __future__ import annotations

import gzip
from datetime import UTC
from pathlib import Path

import fitdecode
import numpy as np
import pytest
from support.activity_files import CYCLING, RUNNING, T0, fit_file, fit_message, fit_stamp
from support.paths import DATA, REAL

from dosewatch.errors import InputError
from dosewatch.ingest import read_session, read_sessions
from dosewatch.ingest.formats.pwx import parse_pwx_workouts

INTERVALS = REAL / "Runalyze__Runalyze" / "intervals.pwx"
TIMEX = REAL / "GoldenCheetah__GoldenCheetah" / "lgulseth_Timex_Global_Trainer_2013_03_28_11_50_25.pwx"
MULTISPORT = DATA / "fit" / "activity-large-fenxi2-multisport.fit.gz"
SWIM = 5  # FIT sport: swimming


def test_pwx_matches_runalyze() -> None:
    """Runalyze's PwxTest::testIntervals: 2015-08-05, 15.00 km (±0.1); the summary's
    duration 4813.47 s (the samples span it to within a few seconds)."""
    session = read_session(INTERVALS)
    assert session.provenance.start_time.strftime("%Y-%m-%d") == "2015-08-05"
    (workout,) = parse_pwx_workouts(INTERVALS)
    assert np.nanmax(workout.distance) / 1000 == pytest.approx(15.00, abs=0.1)
    assert session.duration_s == pytest.approx(4813.47, abs=5)
    assert session.provenance.sport == "running"


def test_pwx_matches_its_own_summary() -> None:
    """The Timex device agent's <summarydata>: hr avg 136 / max 159, 8228 m, 3112.17 s of
    which 150 s stopped (the samples end when the watch stopped moving)."""
    session = read_session(TIMEX)
    assert session.hr.bpm.mean() == pytest.approx(136, abs=1)
    assert session.hr.bpm.max() == 159
    (workout,) = parse_pwx_workouts(TIMEX)
    assert np.nanmax(workout.distance) == pytest.approx(8228, abs=10)
    assert session.duration_s == pytest.approx(3112.17 - 150, abs=5)
    assert session.provenance.start_time.tzinfo is UTC
    assert any("no time zone: taken as UTC" in n for n in session.provenance.repairs)


def pwx(workouts: list[str]) -> str:
    return ('<?xml version="1.0"?><pwx xmlns="http://www.peaksware.com/PWX/1/0" '
            'version="1.0">' + "".join(workouts) + "</pwx>")


def workout(sport: str, start: str, n: int, hr: int) -> str:
    samples = "".join(f"<sample><timeoffset>{i}</timeoffset><hr>{hr}</hr><spd>3.0</spd>"
                      f"<dist>{3 * i}</dist></sample>" for i in range(n))
    return f"<workout><sportType>{sport}</sportType><time>{start}</time>{samples}</workout>"


def test_pwx_with_several_workouts_gives_one_session_each(tmp_path: Path) -> None:
    path = tmp_path / "two.pwx"
    path.write_text(pwx([workout("Run", "2024-05-01T10:00:00Z", 600, 140),
                         workout("Bike", "2024-05-02T10:00:00Z", 900, 120)]))
    first, second = read_sessions(path)
    assert (first.provenance.sport, second.provenance.sport) == ("running", "cycling")
    assert first.hr.t.size == 600 and second.hr.t.size == 900
    assert second.provenance.start_time.day == 2
    np.testing.assert_allclose(first.speed.mps, 3.0)


@pytest.mark.parametrize(("text", "message"), [
    ('<?xml version="1.0"?><!DOCTYPE pwx [<!ENTITY a "aaaa">]><pwx>&a;</pwx>', "DOCTYPE"),
    ("<pwx><workout><time>2024-05-01T10:00:00Z</time></workout></pwx>",
     "holds no workout samples"),
    ("<gpx></gpx>", "not a PWX file"),
])
def test_pwx_refusals(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.pwx"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_session(path)


def fitdecode_legs() -> list[tuple[str | None, int]]:
    """Per FIT session message (fitdecode): the sport and how many distinct record times
    with a heart rate lie from its start to the next session's."""
    starts, records = [], {}
    with fitdecode.FitReader(gzip.open(MULTISPORT)) as reader:
        for frame in reader:
            if not isinstance(frame, fitdecode.FitDataMessage):
                continue
            if frame.name == "session":
                starts.append((frame.get_value("start_time").timestamp(),
                               frame.get_value("sport")))
            elif frame.name == "record" and frame.get_value("heart_rate", fallback=None):
                records.setdefault(frame.get_value("timestamp").timestamp(), True)
    starts.sort()
    bounds = np.array([s for s, _ in starts])
    times = np.array(sorted(records))
    leg = np.clip(np.searchsorted(bounds, times, side="right") - 1, 0, None)
    return [(sport, int((leg == k).sum())) for k, (_, sport) in enumerate(starts)]


def test_fit_with_several_sessions_gives_one_each_and_leaves_out_legs_without_hr(
        tmp_path: Path) -> None:
    legs = [(T0, SWIM, False, 300), (T0 + 300, CYCLING, True, 600),
            (T0 + 900, RUNNING, True, 600)]
    messages = [fit_message(0, [(0, "enum", 4), (1, "uint16", 1),
                                (4, "uint32", fit_stamp(T0))])]
    for start, _, with_hr, n in legs:
        for i in range(n):
            fields = [(253, "uint32", fit_stamp(start + i)), (5, "uint32", 100 * i)]
            if with_hr:
                fields.append((3, "uint8", 120 + i % 10))
            messages.append(fit_message(20, fields))
    for start, sport, _, n in legs:
        messages.append(fit_message(18, [(253, "uint32", fit_stamp(start + n)),
                                         (2, "uint32", fit_stamp(start)), (5, "enum", sport)]))
    path = tmp_path / "tri.fit"
    path.write_bytes(fit_file(messages))
    bike, run = read_sessions(path)
    assert (bike.provenance.sport, run.provenance.sport) == ("cycling", "running")
    assert bike.hr.t.size == 600 and run.hr.t.size == 600
    assert run.provenance.start_time.timestamp() == T0 + 900
    note = bike.provenance.repairs[-1]
    assert note.startswith("left out session 1 of 3 in the file (swimming)")
    assert "no heart rate" in note and "the speed of swimming does not say" in note


@pytest.mark.e2e  # a 1 MB file decoded twice (by dosewatch and by fitdecode): ~3 s
def test_multisport_fit_gives_one_session_per_fit_session() -> None:
    sessions = read_sessions(MULTISPORT)
    legs = fitdecode_legs()
    # The 5-s transition (5 heart-rate samples) is no session: left out with a note.
    assert len(legs) == 7 and len(sessions) == 6
    note = sessions[0].provenance.repairs[-1]
    assert note.startswith("left out session 4 of 7 in the file (transition)")
    assert note.endswith(": under 30 s of samples")
    legs = [leg for leg in legs if leg[1] >= 10]
    for session, (sport, n_hr) in zip(sessions, legs, strict=True):
        expected = None if sport == "generic" else sport
        assert session.provenance.sport == expected
        assert session.hr.t.size == n_hr
    assert [s.name for s in sessions][:2] == ["activity-large-fenxi2-multisport-1",
                                              "activity-large-fenxi2-multisport-2"]
    starts = [s.provenance.start_time for s in sessions]
    assert starts == sorted(starts)
