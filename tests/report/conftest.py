"""An analysis folder written in-process (typed rows, summaries, failures), so the report's
parts can be tested in milliseconds; ``test_report.py`` runs the real commands.

Fixtures: ``make_row(i, participant, start, dose=, session_class=, session=)`` a typed
session row; ``study_folder(rows, failures=, summaries=)`` the folder; ``hostile`` text
that would run or load something if it reached the page unescaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from dosewatch.outputs import write_rows
from dosewatch.rows import SessionRow


def row(i: int, participant: str | None = "P01", start: datetime | None = None, *,
        dose: bool = True, session_class: str = "constant", session: str | None = None
        ) -> SessionRow:
    """A plausible session row; ``i`` makes its name, output and numbers distinct."""
    return SessionRow(
        session=session or f"s{i}", participant=participant, source=f"/in/s{i}.fit",
        sport=None, start_time=start, duration_s=1800.0 + 61.5 * i,
        session_class=session_class, dose_met=dose,
        dose_met_at_s=1700.0 + i if dose else None, certainty=("high", "medium", "low")[i % 3],
        longest_bout_qualifying_minutes=30.0 + i if dose else 12.0,
        n_bouts=1 + i % 2, intensity_source="heart_rate", hr_rest=60.0,
        hr_rest_source="profile", hr_max=180.0, hr_max_source="age", placement="wrist",
        minutes_rest=5.0, minutes_constant=25.0, minutes_intermediate=10.0,
        minutes_accelerating=0.0, minutes_missing=0.0, n_warnings=i % 3,
        minutes_at_or_above_intermediate=35.0 + i, output=f"out-{i}")


@pytest.fixture
def make_row() -> Callable[..., SessionRow]:
    return row


@pytest.fixture
def hostile() -> str:
    return '<script>alert("x")</script> & <img src=x onerror=alert(1)> "q" \'a\''


@pytest.fixture
def study_folder(tmp_path: Path) -> Callable[..., Path]:
    """``study_folder(rows, failures=[...], summaries=True)``: an analysis folder as
    ``dosewatch analyze`` writes it (``sessions.csv``/``.parquet``, each session's
    ``summary.json``, ``failures.json``), without running an analysis."""

    def make(rows: Sequence[SessionRow], failures: list | None = None,
             summaries: bool = True, name: str = "results") -> Path:
        out = tmp_path / name
        out.mkdir()
        write_rows(list(rows), out)
        for r in rows if summaries else ():
            folder = out / r.output
            folder.mkdir()
            summary = {"dosewatch_version": "0.1.0", "classifier": "rules",
                       "warnings": [f"warning {k} of {r.session}" for k in range(r.n_warnings)]}
            (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        if failures is not None:
            (out / "failures.json").write_text(json.dumps(failures), encoding="utf-8")
        return out

    return make
