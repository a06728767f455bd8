"""Small HTML pieces the report's tables, figures and page share: cells, headings, class
badges, relative links, and how a number from a table is shown.

A cell shows a number rounded for reading and carries the value of the table it came
from in ``data-value`` (what the page sorts by and what the tests compare), so the page
never holds a number of its own.
"""

from __future__ import annotations

import math
import os
from html import escape
from pathlib import Path

CLASSES = ("accelerating", "intermediate", "constant", "none")
"""The session classes, in the order the page lists them."""


def _float(text: object) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def fmt_number(text: object, scale: float = 1.0, digits: int = 0) -> str:
    """A number for reading (``value / scale`` to ``digits`` places); empty if none."""
    value = _float(text)
    return "" if value is None else f"{value / scale:.{digits}f}"


def cell_value(value: float | None) -> str:
    """A number as the data-value the page sorts by (as sessions.csv writes it)."""
    return "" if value is None else f"{value:.6g}"


def td(text: str, value: object | None = None, col: str | None = None,
       cls: str | None = None, title: str | None = None) -> str:
    """A table cell showing ``text`` (already HTML), with its table value and column."""
    attrs = ""
    if col is not None:
        attrs += f' data-col="{escape(col)}"'
    if value is not None:
        attrs += f' data-value="{escape(str(value))}"'
    if cls:
        attrs += f' class="{cls}"'
    if title:
        attrs += f' title="{escape(title)}"'
    return f"<td{attrs}>{text}</td>"


def th(key: str, label: str, numeric: bool, title: str | None = None) -> str:
    """A sortable column heading (a button, so it works from the keyboard)."""
    kind = "number" if numeric else "text"
    tip = f' title="{escape(title)}"' if title else ""
    return (f'<th scope="col" data-key="{key}" data-type="{kind}" aria-sort="none"{tip}>'
            f'<button type="button">{escape(label)}</button></th>')


def class_badge(session_class: str) -> str:
    """A session class with its swatch (the swatch is decoration: the name is the text)."""
    name = session_class if session_class in CLASSES else "none"
    return (f'<span class="swatch sw-{name}" aria-hidden="true"></span>'
            f"{escape(session_class)}")


def relative_href(path: Path, report_dir: Path) -> str:
    """``path`` as an escaped link relative to the report's folder (the page opens
    offline and keeps working when the folder is moved as a whole)."""
    return escape(Path(os.path.relpath(path, report_dir)).as_posix())
