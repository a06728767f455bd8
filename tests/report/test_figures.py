"""The inline SVG figures: a participant's weeks and the session classes, drawn from the
adherence tables and the rows' classes, with a text alternative."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from dosewatch.adherence import AdherenceRules, compute_adherence
from dosewatch.report.figures import class_figure, participant_figure


def at(day: str, hour: int = 7) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@pytest.fixture
def rows(make_row):
    # P01: 2026-W37 three dose sessions on two days; W38 none; W39 one dose, one without.
    plan = [("2026-09-07", 7, True), ("2026-09-07", 18, True), ("2026-09-09", 7, True),
            ("2026-09-21", 7, True), ("2026-09-23", 7, False)]
    return [make_row(i, "P01", at(day, hour), dose=dose)
            for i, (day, hour, dose) in enumerate(plan)] + [make_row(9, "P01", None)]


def values(svg: str) -> list[int]:
    return [int(v) for v in re.findall(r'class="val">(\d+)</text>', svg)]


@pytest.mark.parametrize("same_day_once", [False, True])
def test_bars_are_the_weekly_tables_counts(rows, same_day_once):
    rules = AdherenceRules(dose_sessions_per_week=2, target_weeks=2,
                           count_same_day_once=same_day_once)
    adherence = compute_adherence(rows, rules)
    (person,) = adherence.participants
    weeks = adherence.weeks_of("P01")
    svg = participant_figure(person, weeks, rules)
    want = [w.dose_days if same_day_once else w.dose_sessions for w in weeks]
    assert values(svg) == want == ([2, 0, 1] if same_day_once else [3, 0, 1])
    assert svg.count('fill="#0072B2"') == sum(w.week_met for w in weeks) == 1
    assert svg.count('fill="url(#hatch-notmet)"') == 1  # W39; W38 is a hairline at zero
    name = "dose days" if same_day_once else "dose sessions"
    assert (f'aria-label="P01: {name} per ISO week, 1 of 3 weeks with at least 2; '
            f'longest run 1 of 2 weeks"') in svg
    assert ">1 week in a row</text>" in svg and "1 undated" in svg
    assert re.findall(r'class="tick">(W\d+)</text>', svg) == ["W37", "W38", "W39"]


def test_a_participant_without_dated_sessions_gets_a_note_not_an_empty_chart(make_row):
    rules = AdherenceRules()
    adherence = compute_adherence([make_row(0, "P9", None), make_row(1, "P9", None)], rules)
    (person,) = adherence.participants
    html = participant_figure(person, adherence.weeks_of("P9"), rules)
    assert "<svg" not in html and 'role="img"' in html
    assert "no dated sessions (2 undated)" in html


def test_many_weeks_label_every_few_and_drop_the_values(make_row):
    rows = [make_row(i, "P01", at("2026-01-05") + timedelta(weeks=i)) for i in range(30)]
    rules = AdherenceRules(dose_sessions_per_week=1, target_weeks=6)
    adherence = compute_adherence(rows, rules)
    (person,) = adherence.participants
    svg = participant_figure(person, adherence.weeks_of("P01"), rules)
    assert values(svg) == []  # 30 slots are too narrow for a number over each bar
    assert len(re.findall(r'class="tick">W\d+</text>', svg)) == 8  # every 4th of 30
    assert ">30 weeks in a row</text>" in svg and "target met" in svg


def test_class_bars_are_the_counts_with_their_share():
    svg = class_figure(Counter({"constant": 3, "accelerating": 1}), 4)
    assert 'aria-label="session classes: accelerating 1, intermediate 0, constant 3, none 0"' \
        in svg
    widths = [float(w) for w in re.findall(r'<rect x="110" y="\d+" width="([\d.]+)"', svg)]
    assert widths == [pytest.approx(340 / 3, abs=0.05), 0.0, 340.0, 0.0]
    assert ">3 (75 %)</text>" in svg and ">0 (0 %)</text>" in svg
    assert "–" in class_figure(Counter(), 0)  # no sessions: no share
