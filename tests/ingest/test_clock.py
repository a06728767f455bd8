"""Times recorded without a zone (review 2026-11-25c, item 2): read in the zone the study
names (``[adherence] naive_timezone``, else ``timezone``, else UTC), once, for every
reader that reads such times, with a note naming the zone and a ``check`` notice when it
is not the zone the study's days are read in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.paths import DATA

from dosewatch.adherence import AdherenceRules, compute_adherence
from dosewatch.batch import run_batch
from dosewatch.config import Config
from dosewatch.errors import ConfigError
from dosewatch.ingest.registry import ReadOptions, read_all

NEW_YORK = "America/New_York"
EDF = DATA / "edf" / "acc_hr_ecg.edf"  # header start 2024-05-06 07:08:09, no zone
PSL = DATA / "polar_sensor_logger" / "Polar_Sense_HR.txt"  # phone time 2022-04-25 11:39:02


def local_csv(path: Path, first: str, minutes: int = 45, zone: str = "") -> Path:
    """A phone app's export: ISO times (``first`` is the wall-clock start) without a zone
    (or with ``zone`` appended), heart rate rising a little."""
    start = datetime.fromisoformat(first)
    lines = ["time,hr"]
    for k in range(minutes * 60):
        stamp = datetime.fromtimestamp(start.replace(tzinfo=UTC).timestamp() + k, UTC)
        lines.append(f"{stamp.replace(tzinfo=None).isoformat()}{zone},{120 + k % 7}")
    path.write_text("\n".join(lines) + "\n")
    return path


def read(path: Path, naive_zone: str = "UTC", timezone: str = ""):
    return read_all(path, ReadOptions(naive_zone=naive_zone, timezone=timezone))[0]


def test_zone_less_csv_times_are_read_in_the_named_zone(tmp_path: Path) -> None:
    path = local_csv(tmp_path / "mon.csv", "2026-11-09T01:00:00")
    session = read(path, NEW_YORK, NEW_YORK)
    # Monday 01:00 in New York (EST, UTC-5) is 06:00 UTC: not Sunday night.
    assert session.provenance.start_time == datetime(2026, 11, 9, 6, 0, tzinfo=UTC)
    repairs = " | ".join(session.provenance.repairs)
    assert "taken as America/New_York local time (UTC-05:00)" in repairs
    assert "taken as UTC" not in repairs
    assert "the start 2026-11-09 01:00 local is 2026-11-09 06:00 UTC" in repairs
    assert session.provenance.notices == ()  # the zone is the study's: nothing to check


def test_by_default_zone_less_times_stay_utc_as_before(tmp_path: Path) -> None:
    session = read(local_csv(tmp_path / "mon.csv", "2026-11-09T01:00:00"))
    assert session.provenance.start_time == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)
    assert any("taken as UTC" in note for note in session.provenance.repairs)
    assert session.provenance.notices == ()


def test_times_with_their_own_zone_are_unchanged(tmp_path: Path) -> None:
    session = read(local_csv(tmp_path / "z.csv", "2026-11-09T01:00:00", zone="Z"),
                   NEW_YORK, NEW_YORK)
    assert session.provenance.start_time == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)
    assert not any("local time" in note for note in session.provenance.repairs)


@pytest.mark.parametrize(("naive_zone", "timezone", "study"), [
    ("UTC", NEW_YORK, NEW_YORK),  # the local times taken as UTC, the days read in New York
    ("Europe/Berlin", "", "UTC"),  # the other way: local times, days read in UTC
])
def test_a_zone_other_than_the_studys_is_a_check(tmp_path: Path, naive_zone: str,
                                                 timezone: str, study: str) -> None:
    session = read(local_csv(tmp_path / "mon.csv", "2026-11-09T01:00:00"), naive_zone,
                   timezone)
    (notice,) = session.provenance.notices
    assert notice.kind == "check"
    assert f"taken as {naive_zone} time, but days and weeks are read in {study}" in (
        notice.reason)
    assert "naive_timezone" in notice.hint


def test_the_edf_start_and_the_polar_logger_phone_time_are_local_times() -> None:
    edf = read(EDF, "Europe/Berlin", "Europe/Berlin")
    assert edf.provenance.start_time == datetime(2024, 5, 6, 5, 8, 9, tzinfo=UTC)  # CEST
    assert any("start 2024-05-06 07:08:09 taken as Europe/Berlin local time (UTC+02:00)"
               in note for note in edf.provenance.repairs)
    psl = read(PSL, "Europe/Berlin", "Europe/Berlin")
    assert psl.provenance.start_time.strftime("%Y-%m-%d %H:%M") == "2022-04-25 09:39"


def test_a_session_across_the_clock_change_says_so(tmp_path: Path) -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT: a session from 01:30 local for 100 minutes.
    session = read(local_csv(tmp_path / "dst.csv", "2026-03-08T01:30:00", minutes=100),
                   NEW_YORK, NEW_YORK)
    assert session.provenance.start_time == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert any("changed during the session (UTC-05:00 to UTC-04:00)" in note
               for note in session.provenance.repairs)


def test_the_setting_defaults_to_the_study_zone_and_is_checked() -> None:
    assert Config().adherence.naive_zone() == "UTC"
    zoned = Config.from_dict({"adherence": {"timezone": NEW_YORK}})
    assert zoned.adherence.naive_zone() == NEW_YORK
    own = Config.from_dict({"adherence": {"timezone": NEW_YORK, "naive_timezone": "UTC"}})
    assert own.adherence.naive_zone() == "UTC"
    with pytest.raises(ConfigError, match="naive_timezone 'Mars/Olympus'"):
        Config.from_dict({"adherence": {"naive_timezone": "Mars/Olympus"}})


def test_local_sessions_land_in_their_own_iso_weeks(tmp_path: Path) -> None:
    """The review's case: Sunday 20:00 and Monday 01:00 local, in New York."""
    folder = tmp_path / "P08"
    folder.mkdir()
    local_csv(folder / "sun.csv", "2026-11-08T20:00:00")
    local_csv(folder / "mon.csv", "2026-11-09T01:00:00")
    config = Config.from_dict({"adherence": {"timezone": NEW_YORK}})
    report = run_batch([folder / "sun.csv", folder / "mon.csv"], tmp_path / "out",
                       config=config, pictures=False, progress=False, calibrate=False)
    adherence = compute_adherence(report.rows, AdherenceRules.from_config(config))
    weeks = {w.week: (w.sessions, w.dose_days) for w in adherence.weeks}
    assert weeks == {"2026-W45": (1, 1), "2026-W46": (1, 1)}
