"""Loading an analysis folder: typed rows, summaries, failures, configuration and the
adherence tables — read, never written (writing is write_report's explicit step)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dosewatch.adherence import AdherenceRules, compute_adherence
from dosewatch.config import Config
from dosewatch.errors import InputError
from dosewatch.report import load_study, write_report
from dosewatch.rows import read_rows


def at(day: str, hour: int = 7) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def with_adherence(config: Config, **changes: object) -> Config:
    return replace(config, adherence=replace(config.adherence, **changes))


def listing(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns)
                  for p in folder.rglob("*"))


@pytest.fixture
def rows(make_row):
    return [make_row(0, "P01", at("2026-09-07")), make_row(1, "P01", at("2026-09-07", 18)),
            make_row(2, "P02", at("2026-09-09"), dose=False), make_row(3, "P02", None)]


def test_load_reads_the_typed_rows_summaries_and_failures(study_folder, rows):
    failures = [{"status": "failed", "input": "a.fit", "error": "InputError", "reason": "r"},
                {"input": "b.fit", "error": "InputError", "reason": "before statuses"}]
    skipped = [{"status": "skipped", "input": "notes.txt", "reason": "not an input"}]
    out = study_folder(rows, failures=[failures[0], *skipped, "not an entry", failures[1]])
    data = load_study(out)
    assert data.skipped == skipped
    assert data.rows == read_rows(out) == rows
    assert [s["warnings"] for s in data.summaries] == [
        [f"warning {k} of {r.session}" for k in range(r.n_warnings)] for r in rows]
    assert data.failures == failures
    assert data.notes == []
    assert data.adherence == compute_adherence(rows, AdherenceRules.from_config(Config()))


def test_loading_writes_nothing_and_write_report_writes_the_tables_first(study_folder, rows):
    out = study_folder(rows, failures=[])
    before = listing(out)
    load_study(out)
    assert listing(out) == before
    page = write_report(out)
    written = {p.name for p in out.iterdir()} - {p for p, _ in before}
    assert written == {"adherence.csv", "adherence.parquet", "participants.csv",
                       "participants.parquet", "report.html"}
    html = page.read_text(encoding="utf-8")
    for name in ("adherence.csv", "participants.csv", "participants.parquet"):
        assert f'<a href="{name}">{name}</a>' in html  # written before the page: linked


def test_unreadable_parts_become_notes_not_errors(study_folder, rows):
    out = study_folder(rows, summaries=False)
    data = load_study(out)
    assert data.summaries == [None] * len(rows) and data.failures == []
    assert sum("summary.json: not readable" in n for n in data.notes) == len(rows)
    assert any("failures.json: missing" in n for n in data.notes)
    for text, note in (("{broken", "not valid JSON"), ('{"a": 1}', "not a list")):
        (out / "failures.json").write_text(text, encoding="utf-8")
        data = load_study(out)
        assert data.failures == [] and any(note in n for n in data.notes), text


def test_the_configuration_comes_from_the_folder_the_caller_or_the_defaults(
        study_folder, rows, tmp_path):
    out = study_folder(rows)
    assert "no config.toml" in load_study(out).config_note
    config = with_adherence(Config(), dose_sessions_per_week=2)
    (out / "config.toml").write_text(config.to_toml(), encoding="utf-8")
    data = load_study(out)
    assert "recorded by the analysis" in data.config_note
    assert data.adherence.rules.dose_sessions_per_week == 2
    assert data.config_text == config.to_toml()
    elsewhere = tmp_path / "other.toml"
    elsewhere.write_text(with_adherence(config, dose_sessions_per_week=1).to_toml(),
                         encoding="utf-8")
    data = load_study(out, elsewhere)
    assert data.config_note == f"from {elsewhere} (given to the report)"
    assert data.adherence.rules.dose_sessions_per_week == 1
    rules = AdherenceRules(dose_sessions_per_week=4, count_same_day_once=True)
    assert load_study(out, config, rules).adherence.rules == rules


def test_a_folder_without_sessions_is_a_clear_error(tmp_path):
    with pytest.raises(InputError) as missing:
        load_study(tmp_path / "nowhere")
    assert "no such folder" in str(missing.value) and missing.value.hint
    with pytest.raises(InputError) as empty:
        load_study(tmp_path)
    assert "no sessions table" in str(empty.value)
    assert json.dumps(list(tmp_path.iterdir()), default=str) == "[]"  # nothing written
