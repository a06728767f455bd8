"""Spreadsheet-safe CSV cells (issue 14): text that a spreadsheet would run as a formula
gets a leading quote, and reading the CSV back takes it off again."""

from __future__ import annotations

import pytest

from dosewatch.rows import from_spreadsheet_safe, spreadsheet_safe


@pytest.mark.parametrize("text", ["=1+1", "+49 30", "-x", "@SUM(A1)", "\tx", "\rx",
                                  "'quoted", '=HYPERLINK("http://x","y")'])
def test_formula_starts_are_neutralised_and_round_trip(text):
    safe = spreadsheet_safe(text)
    assert safe.startswith("'") and from_spreadsheet_safe(safe) == text


@pytest.mark.parametrize("text", ["P01", "", "2026-W37", "a=b", "run 1"])
def test_ordinary_text_is_left_alone(text):
    assert spreadsheet_safe(text) == text == from_spreadsheet_safe(text)
