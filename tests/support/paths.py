"""Where the tests find the repository and the shared real recordings."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The repository's root (the ``dosewatch`` package's folder)."""


def _real_data() -> Path:
    """The shared real sessions: ``$DOSEWATCH_REAL_DATA``, else ``../shared/data/real``
    beside the repository, else the workplace's ``/work/shared/data/real``."""
    candidates = [REPO.parent / "shared" / "data" / "real", Path("/work/shared/data/real")]
    if os.environ.get("DOSEWATCH_REAL_DATA"):
        candidates.insert(0, Path(os.environ["DOSEWATCH_REAL_DATA"]))
    return next((c for c in candidates if c.is_dir()), candidates[0])


REAL = _real_data()
"""The real recorded sessions of ``../shared/data/real`` (see its SOURCES.md)."""

DATA = REPO / "tests" / "data"
"""Small real sample files committed with the tests (see ``tests/data/SOURCES.md``)."""
