"""dosewatch: wearable heart rate, acceleration and workload in; what kind of exercise it
was, its bouts, and whether it reached the 30-minute dose out.

The Python API (see the README, "Python")::

    import dosewatch
    result = dosewatch.analyze("run.fit", profile={"age": 34})
    result.epochs()                       # pandas DataFrame, one row per minute
    dosewatch.analyze_batch("study/", "results/", workers=2)

Names are loaded on first use, so ``import dosewatch`` (and the command line) stays fast.
The terms (relative intensity, the labels, bouts, the dose) are defined in
``docs/definitions.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.4.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "read": "api",
    "read_all": "api",
    "analyze": "api",
    "analyze_batch": "api",
    "Session": "session",
    "Profile": "session",
    "build_session": "session",
    "Config": "config",
    "SessionResult": "analysis",
    "SessionRow": "rows",
    "read_rows": "rows",
    "BatchReport": "batch",
    "get_classifier": "models.registry",
    "readers": "ingest.registry",
    "DosewatchError": "errors",
    "InputError": "errors",
    "ProfileError": "errors",
    "ConfigError": "errors",
    "OutputError": "errors",
    "ModelError": "errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .analysis import SessionResult
    from .api import analyze, analyze_batch, read, read_all
    from .batch import BatchReport
    from .config import Config
    from .errors import (
        ConfigError,
        DosewatchError,
        InputError,
        ModelError,
        OutputError,
        ProfileError,
    )
    from .ingest.registry import readers
    from .models.registry import get_classifier
    from .rows import SessionRow, read_rows
    from .session import Profile, Session, build_session


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dosewatch' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
