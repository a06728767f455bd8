"""Weekly adherence on constructed session rows with known answers."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date, timedelta

import pyarrow.parquet as pq
import pytest

from dosewatch.adherence import (
    PARTICIPANT_COLUMNS,
    WEEKLY_COLUMNS,
    AdherenceRules,
    adherence_for,
    compute_adherence,
    write_adherence,
)
from dosewatch.config import Config
from dosewatch.errors import ConfigError, InputError
from dosewatch.rows import SessionRow, rows_csv_text, rows_from_records


def row(session, start, dose=True, participant="P01", minutes=35.0):
    """A session row as sessions.csv would give it (built from text, as it is read)."""
    record = {"session": session, "participant": participant, "start_time": start,
              "dose_met": str(dose), "minutes_at_or_above_intermediate": str(minutes),
              "source": f"{session}.fit", "duration_s": "3000", "session_class": "constant",
              "longest_bout_qualifying_minutes": "35", "n_bouts": "1",
              "intensity_source": "heart_rate", "placement": "wrist", "minutes_rest": "5",
              "minutes_constant": "35", "minutes_intermediate": "0",
              "minutes_accelerating": "0", "minutes_missing": "0", "n_warnings": "0",
              "output": session}
    return SessionRow.from_record(record)


def week_table(adherence, participant="P01"):
    return {w.week: w for w in adherence.weeks_of(participant)}


def test_year_turn_follows_iso_weeks():
    # 2026 has 53 ISO weeks: Mon 28 Dec 2026 .. Sun 3 Jan 2027 is 2026-W53.
    rows = [
        row("a", "2026-12-28T08:00:00+00:00"),
        row("b", "2027-01-01T08:00:00+00:00"),  # a Friday in 2026-W53
        row("c", "2027-01-03T23:30:00+00:00"),  # Sunday night: still 2026-W53
        row("d", "2027-01-04T06:00:00+00:00"),  # Monday: 2027-W01
    ]
    a = compute_adherence(rows)
    weeks = week_table(a)
    assert list(weeks) == ["2026-W53", "2027-W01"]
    assert weeks["2026-W53"].iso_year == 2026 and weeks["2026-W53"].iso_week == 53
    assert weeks["2026-W53"].week_start == date(2026, 12, 28)
    assert (weeks["2026-W53"].sessions, weeks["2026-W53"].dose_days) == (3, 3)
    assert weeks["2026-W53"].week_met
    assert (weeks["2027-W01"].sessions, weeks["2027-W01"].week_met) == (1, False)
    assert a.session_weeks == ("2026-W53", "2026-W53", "2026-W53", "2027-W01")


def test_a_week_is_read_in_the_start_times_own_zone():
    # 23:30 on Sunday in New York is Monday in UTC; the participant's Sunday counts.
    a = compute_adherence([row("late", "2026-09-13T23:30:00-04:00")])
    assert [w.week for w in a.weeks] == ["2026-W37"]


def test_the_study_time_zone_decides_the_day_and_week():
    # Sunday 22:30 in New York, recorded in UTC (as watch exports are): Monday in UTC.
    rows = [row("late", "2026-09-14T02:30:00+00:00")]
    assert [w.week for w in compute_adherence(rows).weeks] == ["2026-W38"]
    local = compute_adherence(rows, AdherenceRules(timezone="America/New_York"))
    assert [w.week for w in local.weeks] == ["2026-W37"]
    config = Config.from_dict({"adherence": {"timezone": "America/New_York"}})
    assert AdherenceRules.from_config(config).timezone == "America/New_York"
    with pytest.raises(ConfigError, match="not a known time zone"):
        Config.from_dict({"adherence": {"timezone": "Mars/Olympus"}})


def test_undated_sessions_are_counted_and_named_but_not_placed():
    rows = [row("dated", "2026-09-07T08:00:00+00:00"), row("lost1", ""),
            row("lost2", "", dose=False)]
    a = compute_adherence(rows)
    (p,) = a.participants
    assert (p.sessions, p.dated_sessions, p.undated_sessions) == (3, 1, 2)
    assert p.undated == ("lost1", "lost2")
    assert p.dose_sessions == 1  # only dated sessions are counted in weeks
    assert sum(w.sessions for w in a.weeks) == 1
    assert a.session_weeks == ("2026-W37", None, None)


def test_a_participant_with_only_undated_sessions_has_no_weeks():
    a = compute_adherence([row("x", "", participant="P09")])
    (p,) = a.participants
    assert (p.weeks, p.longest_streak_weeks, p.first_week, p.target_met) == (0, 0, None, False)
    assert a.weeks == ()


def test_two_doses_on_the_same_day_are_two_sessions_or_one_dose_day():
    rows = [
        row("mon-am", "2026-09-07T07:00:00+00:00"),
        row("mon-pm", "2026-09-07T18:00:00+00:00"),
        row("wed", "2026-09-09T07:00:00+00:00"),
        row("fri", "2026-09-11T07:00:00+00:00", dose=False),
    ]
    (week,) = compute_adherence(rows).weeks
    assert (week.sessions, week.dose_sessions, week.dose_days) == (4, 3, 2)
    assert week.week_met  # the issue counts dose sessions
    days = compute_adherence(rows, AdherenceRules(count_same_day_once=True))
    assert not days.weeks[0].week_met


def three_doses(monday: date, participant="P01"):
    return [row(f"{participant}-{monday}-{d}", f"{monday + timedelta(days=d)}T07:00",
                participant=participant, minutes=40.0 + d) for d in (0, 2, 4)]


MONDAYS = [date(2026, 8, 3), date(2026, 8, 10), date(2026, 8, 17), date(2026, 8, 24),
           date(2026, 8, 31), date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 21)]


def test_exactly_six_consecutive_weeks_meet_the_target():
    rows = [r for monday in MONDAYS[:6] for r in three_doses(monday)]
    (p,) = compute_adherence(rows).participants
    assert (p.weeks, p.weeks_met, p.longest_streak_weeks) == (6, 6, 6)
    assert (p.longest_streak_from, p.longest_streak_to) == ("2026-W32", "2026-W37")
    assert p.target_met and p.target_weeks == 6
    five = compute_adherence(rows[3:]).participants[0]  # without the first week
    assert (five.longest_streak_weeks, five.target_met) == (5, False)


def test_a_gap_week_breaks_the_streak_and_counts_as_not_met():
    # Weeks 1-3 met, week 4 without any session, weeks 5-8 met.
    rows = [r for i, monday in enumerate(MONDAYS) if i != 3 for r in three_doses(monday)]
    a = compute_adherence(rows)
    weeks = a.weeks_of("P01")
    assert len(weeks) == 8
    gap = weeks[3]
    assert (gap.week, gap.sessions, gap.dose_days, gap.week_met) == ("2026-W35", 0, 0, False)
    assert gap.minutes_at_or_above_intermediate == 0.0
    (p,) = a.participants
    assert (p.weeks_met, p.longest_streak_weeks, p.longest_streak_from) == (7, 4, "2026-W36")
    assert not p.target_met


def test_minutes_add_up_and_unknown_minutes_stay_unknown():
    rows = three_doses(MONDAYS[0])
    (week,) = compute_adherence(rows).weeks
    assert week.minutes_at_or_above_intermediate == pytest.approx(40 + 42 + 44)
    rows[1] = replace(rows[1], minutes_at_or_above_intermediate=None)
    (week,) = compute_adherence(rows).weeks
    assert week.minutes_at_or_above_intermediate is None


def test_participants_are_kept_apart_and_unknown_ones_grouped():
    rows = three_doses(MONDAYS[0], "P02") + three_doses(MONDAYS[1], "P01")
    rows.append(row("anon", "2026-08-05T07:00", participant=""))
    a = compute_adherence(rows)
    assert [p.participant for p in a.participants] == ["P01", "P02", "unassigned"]
    assert [w.week for w in a.weeks_of("P01")] == ["2026-W33"]
    assert [w.week for w in a.weeks_of("P02")] == ["2026-W32"]


def test_rules_come_from_the_configuration(tmp_path):
    toml = tmp_path / "study.toml"
    toml.write_text("[adherence]\ndose_sessions_per_week = 4\ntarget_weeks = 8\n"
                    "count_same_day_once = true\n")
    rules = AdherenceRules.from_config(Config.load(toml))
    assert (rules.dose_sessions_per_week, rules.target_weeks, rules.count_same_day_once) == \
        (4, 8, True)
    assert AdherenceRules.from_config(None) == AdherenceRules() == \
        AdherenceRules.from_config(Config())
    with pytest.raises(ValueError, match="at least 1"):
        AdherenceRules(dose_sessions_per_week=0)


def test_a_malformed_start_time_is_an_input_error():
    good = row("bad", "2026-09-14T08:00:00+00:00").to_record()
    with pytest.raises(InputError, match="'bad'"):
        rows_from_records([dict(good, start_time="last tuesday")], "sessions.csv")


def test_tables_are_written_as_csv_and_parquet_with_the_same_numbers(tmp_path):
    rows = [r for i, monday in enumerate(MONDAYS) if i != 3 for r in three_doses(monday)]
    rows.append(row("undated", ""))
    a = compute_adherence(rows)
    write_adherence(a, tmp_path)
    with (tmp_path / "adherence.csv").open(newline="") as f:
        weekly = list(csv.DictReader(f))
    assert list(weekly[0]) == list(WEEKLY_COLUMNS)
    assert [r["week"] for r in weekly] == [w.week for w in a.weeks]
    assert [r["week_met"] for r in weekly] == [str(w.week_met) for w in a.weeks]
    table = pq.read_table(tmp_path / "adherence.parquet").to_pydict()
    assert table["dose_days"] == [int(r["dose_days"]) for r in weekly]
    assert table["week_start"][0] == date(2026, 8, 3)
    assert table["week_met"] == [w.week_met for w in a.weeks]
    with (tmp_path / "participants.csv").open(newline="") as f:
        (person,) = list(csv.DictReader(f))
    assert list(person) == list(PARTICIPANT_COLUMNS)
    assert (person["longest_streak_weeks"], person["undated"]) == ("4", "undated")
    people = pq.read_table(tmp_path / "participants.parquet").to_pydict()
    assert people["undated"] == [["undated"]] and people["target_met"] == [False]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_adherence_for_reads_the_sessions_table(tmp_path):
    with pytest.raises(InputError, match="no sessions table"):
        adherence_for(tmp_path)
    rows = three_doses(MONDAYS[0])
    (tmp_path / "sessions.csv").write_text(rows_csv_text(rows), encoding="utf-8")
    a = adherence_for(tmp_path)
    assert a.weeks[0].week_met and (tmp_path / "participants.parquet").is_file()


def test_a_session_years_from_the_others_is_set_apart_not_stretching_the_weeks():
    """Review 2026-11-25c, item 3: one file dated 2000 gave a participant 940 weeks."""
    rows = [row("clock", "2000-01-03T10:00:00+00:00"), row("a", "2026-11-02T08:00:00+00:00"),
            row("b", "2026-11-04T08:00:00+00:00"), row("c", "2026-11-06T08:00:00+00:00")]
    a = compute_adherence(rows)
    (person,) = a.participants
    assert list(week_table(a)) == ["2026-W45"] and person.weeks == 1
    assert (person.dated_sessions, person.apart_sessions, person.apart) == (3, 1, ("clock",))
    assert person.dose_sessions == 3 and person.weeks_met == 1
    assert a.session_weeks[0] == "2000-W01"  # the session keeps its own week in its row


def test_groups_a_year_apart_are_kept_and_a_lone_participant_keeps_the_latest():
    # A baseline and a follow-up 13 months later: both groups are the study.
    rows = [row("b1", "2025-01-06T08:00:00+00:00"), row("b2", "2025-01-08T08:00:00+00:00"),
            row("f1", "2026-02-02T08:00:00+00:00"), row("f2", "2026-02-04T08:00:00+00:00")]
    (person,) = compute_adherence(rows).participants
    assert person.apart == () and person.first_week == "2025-W02"
    # Every session alone: the latest is kept, the others are set apart.
    lone = [row("x", "2012-05-01T08:00:00+00:00"), row("y", "2017-05-01T08:00:00+00:00")]
    (person,) = compute_adherence(lone).participants
    assert person.apart == ("x",) and person.first_week == person.last_week == "2017-W18"


def test_the_set_apart_sessions_are_columns_of_the_participants_files(tmp_path):
    rows = [row("clock", "2000-01-03T10:00:00+00:00"), row("a", "2026-11-02T08:00:00+00:00"),
            row("b", "2026-11-04T08:00:00+00:00")]
    write_adherence(compute_adherence(rows), tmp_path)
    with open(tmp_path / "participants.csv", newline="") as f:
        (written,) = list(csv.DictReader(f))
    assert (written["apart_sessions"], written["apart"]) == ("1", "clock")
    table = pq.read_table(tmp_path / "participants.parquet").to_pylist()
    assert table[0]["apart"] == ["clock"] and table[0]["apart_sessions"] == 1
