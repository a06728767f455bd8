"""Wear time of free-living recordings in the report (review 2026-11-25c, item 5): per
recording and per calendar day, from ``recordings/<input>.json``, with the valid days."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dosewatch.report import html as page
from dosewatch.report import load_study
from dosewatch.report.wear import VALID_DAY_WORN_H, per_day, read_wear


def span(start_min: int, end_min: int) -> dict:
    return {"start_s": start_min * 60.0, "end_s": end_min * 60.0,
            "minutes": float(end_min - start_min)}


# 2026-03-04 18:00 UTC for 36 h: 6 h on the 4th, 24 h on the 5th, 6 h on the 6th.
# Non-wear 20:00-23:00 on the 4th (3 h), no data 02:00-14:00 on the 5th (12 h).
RECORDING = {
    "recording": "week", "start_time": "2026-03-04T18:00:00+00:00",
    "duration_s": 36 * 3600.0, "worn_minutes": (36 - 3 - 12) * 60,
    "nonwear_minutes": 180, "no_data_minutes": 720,
    "nonwear": [span(120, 300)], "no_data": [span(480, 1200)],
    "sessions": [{"session": "week-a", **span(1300, 1360), "exercise": span(1305, 1355)},
                 {"session": "week-b", **span(1900, 1960), "exercise": span(1905, 1955)}],
}


def test_hours_are_placed_on_the_days_they_fall_on():
    days = per_day(RECORDING)
    assert [d.day for d in days] == ["2026-03-04", "2026-03-05", "2026-03-06"]
    assert [d.covered_min for d in days] == [360, 1440, 360]
    assert [d.nonwear_min for d in days] == [180, 0, 0]
    assert [d.no_data_min for d in days] == [0, 720, 0]
    assert [d.worn_min for d in days] == [180, 720, 360]
    assert sum(d.worn_min for d in days) == RECORDING["worn_minutes"]
    assert [d.sessions for d in days] == [0, 1, 1]  # 03-05 15:45 and 03-06 01:45 UTC
    # Valid: 12 h worn on the 5th reaches 10 h; the partial days do not.
    assert [d.valid(VALID_DAY_WORN_H) for d in days] == [False, True, False]
    assert [d.valid(2.5) for d in days] == [True, True, True]


def test_days_are_the_study_time_zones_calendar_days():
    # In UTC+9 the recording starts 2026-03-05 03:00: 21 h on the 5th, 15 h on the 6th.
    days = per_day(RECORDING, ZoneInfo("Asia/Tokyo"))
    assert [(d.day, d.covered_min) for d in days] == [("2026-03-05", 1260),
                                                      ("2026-03-06", 900)]
    assert [d.nonwear_min for d in days] == [180, 0]
    assert sum(d.no_data_min for d in days) == 720


def test_a_recording_without_a_start_is_cut_in_24_hour_days():
    days = per_day({**RECORDING, "start_time": None})
    assert [(d.day, d.covered_min) for d in days] == [("day 1", 1440), ("day 2", 720)]
    assert days[0].nonwear_min == 180 and days[0].no_data_min == 720


def test_no_data_minutes_that_cannot_be_placed_give_no_days():
    older = {k: v for k, v in RECORDING.items() if k != "no_data"}
    assert per_day(older) is None
    assert per_day({**older, "no_data_minutes": 0}) is not None  # nothing to place


def test_the_page_shows_each_recording_and_day_with_the_threshold(tmp_path, study_folder,
                                                                  make_row):
    out = study_folder([make_row(0, "P07", datetime(2026, 3, 5, 15, 45, tzinfo=UTC),
                                 session="week-a")])
    (out / "recordings").mkdir()
    record = {"recordings": [RECORDING]}
    (out / "recordings" / "week.json").write_text(json.dumps(record), encoding="utf-8")
    (out / "recordings" / "broken.json").write_text("{", encoding="utf-8")
    data = load_study(out, valid_day_h=2.5)
    assert any("broken.json: not readable" in n for n in data.notes)
    html = page._wear_section(data)
    assert 'data-col="valid_days" data-value="3">3 of 3<' in html
    assert "≥ 2.5 h" in html and "calendar days in UTC" in html
    assert 'data-col="participant">P07<' in html  # from the session found in it
    assert 'data-col="no_data_minutes" data-value="720">12.0<' in html
    assert 'data-col="nonwear_minutes" data-value="180">3.0 (1)<' in html
    assert html.count('data-col="day"') == 3 and "<details open>" in html
    assert "2026-03-04 20:00–23:00 UTC (180 min)" in html
    assert '<a href="#wear-section">' in page._header(data, "t")
    assert 'id="card-valid-days">valid days<b>3</b><small>of 3, worn ≥ 2.5 h<' \
        in page._cards(data)
    ten = page._wear_section(load_study(out))
    assert 'data-value="1">1 of 3<' in ten and "≥ 10 h" in ten


def test_no_recordings_no_section(study_folder, make_row):
    data = load_study(study_folder([make_row(0)]))
    assert read_wear(data.out_dir).recordings == []
    assert page._wear_section(data) == "" and "#wear-section" not in page._header(data, "t")
    assert "valid days" not in page._cards(data)
