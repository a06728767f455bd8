"""The terminal view: a status line that fits, a counter that explains itself, the dose
announced at its moment."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from dosewatch.device.live import LiveStatus
from dosewatch.device.view import LiveView, bout_change, format_status


def status(**changes: object) -> LiveStatus:
    base = LiveStatus(
        update=3, now=0.0, start_unix_s=0.0, elapsed_s=2399.0, hr_bpm=152.0, pct_hrr=73.6,
        label="intermediate", level="vigorous", bout_minutes=29.0, longest_bout_minutes=29.0,
        label_epoch_s=2340.0, bout_start_s=480.0, dose_minutes=30.0, dose_met=False,
        dose_met_at_s=None, dose_announced=False, session_class="constant", minutes={},
        intensity_source="heart_rate", compute_s=0.01, final=False,
        result=None,  # type: ignore[arg-type]
    )
    return replace(base, **changes)


@pytest.mark.parametrize("unicode", [True, False])
@pytest.mark.parametrize("width", [79, 60, 40])
def test_the_status_line_fits_and_drops_whole_fields(unicode: bool, width: int) -> None:
    met = status(dose_met=True, dose_met_at_s=2400.0, elapsed_s=3599.0 + 3600,
                 label="accelerating", bout_minutes=33.0, hr_bpm=188.0, pct_hrr=101.0)
    for s in (status(), met):
        line = format_status(s, unicode=unicode, width=width)
        assert len(line) <= width
        assert "/30" in line  # the counter is always there
    # The widest case: %HRR goes first, as a whole.
    assert format_status(met, unicode=True, width=79) == (
        "1:59:59  ♥ 188  accelerating @39:00  [██████████] bout 33.0/30  dose ✓ 40:00")
    assert format_status(status(), unicode=True, width=79) == (
        "39:59  ♥ 152  74%HRR  intermediate @39:00  [██████████] bout 29.0/30")


def test_the_final_line_shows_the_longest_bout() -> None:
    line = format_status(status(final=True, bout_minutes=0.0, longest_bout_minutes=33.0,
                                bout_start_s=None))
    assert "longest 33.0/30" in line and "@" not in line


def test_every_decrease_of_the_counter_has_its_reason() -> None:
    before = status(bout_minutes=33.0)
    assert bout_change(before, status(bout_minutes=34.0)) is None
    assert "revised from 33.0 to 32.0" in bout_change(before, status(bout_minutes=32.0))
    assert "ended" in bout_change(before, status(bout_minutes=0.0, bout_start_s=None))
    assert "a new bout began at 45:00" in bout_change(
        before, status(bout_minutes=2.0, bout_start_s=2700.0))
    assert bout_change(before, status(final=True, bout_minutes=0.0)) is None

    out = io.StringIO()
    view = LiveView(out, plain=True)
    for s in (before, status(bout_minutes=32.0, elapsed_s=2410.0),
              status(bout_minutes=33.0, elapsed_s=2420.0)):
        view.status(s)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[1].startswith("[40:10] bout revised from 33.0 to 32.0")
    assert [line.split("bout=")[1][:4] for line in lines if "bout=" in line] == [
        "33.0", "32.0", "33.0"]


def test_the_dose_is_announced_with_its_own_moment() -> None:
    out = io.StringIO()
    view = LiveView(out, plain=True, name="p2")
    view.status(status(elapsed_s=2401.0, dose_met=True, dose_met_at_s=2400.0,
                       dose_announced=True, bout_minutes=30.0))
    first = out.getvalue().splitlines()[0]
    assert first == "p2: [40:00] Dose met: 30 qualifying minutes in one bout."


def test_terminal_mode_keeps_one_line_within_the_terminal(monkeypatch) -> None:
    monkeypatch.setattr("shutil.get_terminal_size", lambda fallback: __import__("os")
                        .terminal_size((80, 24)))
    out = io.StringIO()
    view = LiveView(out, plain=False)
    view.status(status(dose_met=True, dose_met_at_s=2400.0, bout_minutes=31.0))
    view.close()
    line = out.getvalue().split("\r\x1b[K")[-1].rstrip("\n")
    assert 0 < len(line) <= 79 and "\n" not in line
