"""Empatica E4 folders (FLIRT's real E4 excerpt, checked against Python's csv module and
Empatica's documented layout) and Apple Health exports (a real export excerpt, checked
against ElementTree, and exports in Apple's layout with workouts, routes and hostile XML)."""

from __future__ import annotations

import csv
import shutil
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from support.paths import DATA, REAL

from dosewatch.errors import InputError
from dosewatch.ingest import read_session, read_sessions
from dosewatch.ingest.formats.apple_health import parse_health
from dosewatch.ingest.registry import reader_for

E4 = DATA / "e4"
HEALTH = DATA / "apple_health"


# --------------------------------------------------------------------------- Empatica E4


def e4_rows(path: Path) -> list[list[float]]:
    with path.open(newline="") as fh:
        return [[float(v) for v in row] for row in csv.reader(fh)]


def test_e4_folder_matches_the_documented_layout() -> None:
    """Empatica's info.txt: row 1 start (Unix s, UTC), row 2 rate, then samples; ACC in
    1/64 g; IBI rows are (seconds since start, interval s). Reference: the csv module."""
    assert reader_for(E4).name == "e4"  # not the interchange folder (acc.csv, hr.csv)
    session = read_session(E4)
    acc, hr = e4_rows(E4 / "ACC.csv"), e4_rows(E4 / "HR.csv")
    acc_start, acc_fs = acc[0][0], acc[1][0]
    hr_start, hr_fs = hr[0][0], hr[1][0]
    t0 = min(acc_start, hr_start)
    assert session.provenance.start_time == datetime.fromtimestamp(t0, UTC)
    xyz = np.array(acc[2:]) / 64
    np.testing.assert_allclose(session.acc.xyz, xyz, rtol=1e-6)
    np.testing.assert_allclose(session.acc.t, acc_start - t0 + np.arange(len(xyz)) / acc_fs,
                               atol=1e-6)
    bpm = np.array(hr[2:])[:, 0]
    np.testing.assert_array_equal(session.hr.bpm, bpm)
    np.testing.assert_allclose(session.hr.t, hr_start - t0 + np.arange(bpm.size) / hr_fs,
                               atol=1e-9)
    with (E4 / "IBI.csv").open(newline="") as fh:
        intervals = {round(float(r[1]) * 1000, 3) for r in list(csv.reader(fh))[1:]}
    rr = session.hr.rr_ms[np.isfinite(session.hr.rr_ms)]
    assert rr.size >= 100 and set(np.round(rr, 3)) <= intervals  # E4 finds beats in stretches
    assert session.acc.fs == pytest.approx(32.0)


def test_e4_full_excerpt_from_the_shared_data() -> None:
    session = read_session(REAL / "im-ethz__flirt" / "empatica")
    assert session.acc.xyz.shape == (9998, 3) and session.hr.bpm.size == 4998
    norms = np.linalg.norm(session.acc.xyz, axis=1)
    assert np.median(norms) == pytest.approx(1.0, abs=0.05)  # at rest: 1 g
    assert not any("converted to g" in n for n in session.provenance.repairs)


def test_e4_folder_without_acc_or_hr(tmp_path: Path) -> None:
    folder = tmp_path / "e4"
    folder.mkdir()
    shutil.copy(E4 / "HR.csv", folder)
    (folder / "HR.csv").write_text("1560279835.000000\n1.000000\n")
    with pytest.raises(InputError):
        read_session(folder)


# --------------------------------------------------------------------------- Apple Health


def test_real_export_excerpt_matches_elementtree_and_is_refused_without_workouts() -> None:
    root = ET.parse(HEALTH / "export.xml").getroot()
    expected = [(datetime.strptime(r.get("startDate"), "%Y-%m-%d %H:%M:%S %z").timestamp(),
                 float(r.get("value"))) for r in root.iter("Record")
                if r.get("type") == "HKQuantityTypeIdentifierHeartRate"]
    with (HEALTH / "export.xml").open("rb") as fh:
        export = parse_health(fh, "export.xml")
    np.testing.assert_array_equal(export.hr_t, [t for t, _ in expected])
    np.testing.assert_array_equal(export.hr_bpm, [v for _, v in expected])
    for path in (HEALTH / "export.xml", HEALTH / "export.zip"):
        with pytest.raises(InputError) as info:
            read_sessions(path)
        assert "holds no workout (2 heart-rate samples" in info.value.reason
        assert "record the exercise as a workout" in info.value.hint
        assert info.value.source == str(path)


DTD = """<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Workout)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT Record ((MetadataEntry)*)>
<!ATTLIST Record type CDATA #REQUIRED unit CDATA #IMPLIED value CDATA #IMPLIED
  sourceName CDATA #REQUIRED startDate CDATA #REQUIRED endDate CDATA #REQUIRED>
]>
"""
TZ = timezone(timedelta(hours=2))
START = datetime(2024, 5, 1, 7, 0, tzinfo=TZ)


def apple(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S %z")


def health_xml(*, doctype: str = DTD, route: str | None = None) -> str:
    rows = []
    for i in range(0, 40 * 60, 5):
        t = START + timedelta(seconds=i)
        rows.append(f'<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" '
                    f'unit="count/min" startDate="{apple(t)}" endDate="{apple(t)}" '
                    f'value="{120 + i // 60}"><MetadataEntry key="k" value="1"/></Record>')
        rows.append(f'<Record type="HKQuantityTypeIdentifierDistanceWalkingRunning" '
                    f'sourceName="W" unit="km" startDate="{apple(t)}" '
                    f'endDate="{apple(t + timedelta(seconds=5))}" value="0.015"/>')
    later = START + timedelta(hours=5)
    ref = (f'<WorkoutRoute sourceName="W" startDate="{apple(START)}" endDate="{apple(START)}">'
           f'<FileReference path="{route}"/></WorkoutRoute>') if route else ""
    rows.append(f'<Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="40" '
                f'durationUnit="min" sourceName="W" startDate="{apple(START)}" '
                f'endDate="{apple(START + timedelta(minutes=40))}">{ref}</Workout>')
    rows.append(f'<Workout workoutActivityType="HKWorkoutActivityTypeYoga" sourceName="W" '
                f'startDate="{apple(later)}" endDate="{apple(later + timedelta(minutes=20))}"/>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + doctype
            + '<HealthData locale="en_US"><ExportDate value="2024-06-01 08:00:00 +0200"/>'
            '<Me HKCharacteristicTypeIdentifierDateOfBirth="1990-05-20" '
            'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>'
            + "\n".join(rows) + "</HealthData>\n")


def test_each_workout_with_heart_rate_is_a_session(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(health_xml())
    (session,) = read_sessions(path)
    assert session.provenance.sport == "running"
    assert session.provenance.start_time == START.astimezone(UTC)
    assert session.hr.bpm.size == 480 and session.hr.bpm[0] == 120
    np.testing.assert_allclose(session.speed.mps, 3.0)  # 15 m every 5 s
    assert session.profile.age == pytest.approx(34.0, abs=0.1)
    assert session.profile.sex == "female"
    repairs = " | ".join(session.provenance.repairs)
    assert "left out 1 workouts without enough heart rate" in repairs and "yoga" in repairs


GPX_ROUTE = """<?xml version="1.0"?><gpx version="1.1" creator="Apple Health Export"
 xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{points}</trkseg></trk></gpx>"""


def test_export_zip_streams_the_xml_and_reads_the_route(tmp_path: Path) -> None:
    def point(i: int) -> str:
        when = (START + timedelta(seconds=i)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f'<trkpt lat="47.0" lon="8.0"><time>{when}</time><extensions>'
                "<speed>2.5</speed></extensions></trkpt>")

    points = "".join(point(i) for i in range(0, 2400, 2))
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("apple_health_export/export.xml",
                    health_xml(route="/workout-routes/route_1.gpx"))
        zf.writestr("apple_health_export/workout-routes/route_1.gpx",
                    GPX_ROUTE.format(points=points))
        zf.writestr("__MACOSX/apple_health_export/._export.xml", b"\x00\x05\x16\x07")
    (session,) = read_sessions(path)
    np.testing.assert_allclose(session.speed.mps, 2.5)
    assert any("from the workout's route" in n for n in session.provenance.repairs)
    assert session.provenance.source == f"{path}!apple_health_export/export.xml"


@pytest.mark.parametrize(("doctype", "message"), [
    ('<!DOCTYPE HealthData [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n',
     "declares entities"),
    ('<!DOCTYPE HealthData SYSTEM "http://example.com/evil.dtd">\n', "declares entities"),
    ('<!DOCTYPE HealthData [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n',
     "declares entities"),
])
def test_hostile_xml_is_refused(tmp_path: Path, doctype: str, message: str) -> None:
    path = tmp_path / "export.xml"
    path.write_text(health_xml(doctype=doctype))
    with pytest.raises(InputError, match=message):
        read_sessions(path)


def test_e4_files_whose_start_times_disagree_are_refused(tmp_path: Path) -> None:
    """Found by fuzzing: one damaged digit of HR.csv's start put its heart rate 32 years
    before the acceleration, a session stretched over decades. Heart rate and acceleration
    of one input must overlap."""
    folder = tmp_path / "e4"
    shutil.copytree(E4, folder)
    text = (folder / "HR.csv").read_text()
    (folder / "HR.csv").write_text("\t" + text[1:])  # 1560279835 -> 560279835 (1987)
    with pytest.raises(InputError, match="heart rate and acceleration lie 11574 days apart"):
        read_session(folder)
