"""Messages quote at most a short, printable piece of an input, and say in plain words
what a library's error means (issue 14)."""

from __future__ import annotations

from dosewatch.errors import plain_reason, quote, sanitise


def test_quoted_text_is_short_printable_ascii():
    text = sanitise("root:x:0:0:\x1b[31m" + "é" * 100 + "\n\tend")
    assert text.startswith("root:x:0:0:?[31m??") and len(text) == 40 and text.endswith("...")
    assert all(" " <= c <= "~" for c in text)
    assert quote(b"\xff\xfeab") == "'??ab'"


def test_library_jargon_is_said_in_plain_words():
    jargon = ValueError("straddling object straddles two block boundaries (try to increase "
                        "block size?)")
    assert plain_reason(jargon).startswith("a line is longer than the reader's block")
    row = ValueError("CSV parse error: Expected 2 columns, got 1: root:x:0:0:root:/root")
    assert plain_reason(row) == "CSV parse error: Expected 2 columns, got 1"
    assert plain_reason(OSError(28, "No space left on device")) == "the disk is full"
    assert plain_reason(KeyError()) == "KeyError"
