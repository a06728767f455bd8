"""Which sessions a list of command-line paths stands for.

A path that is a session folder (it holds ``hr`` or ``acc`` in a supported format) is one
session; any other folder stands for every session folder and every activity file or
recording (by name: ``.fit``, ``.tcx``, ``.gpx``, ``.dwrec``, see ``FILE_READERS``) below
it; a file given by name is taken as it is (the reader decides whether it can read it).
Order is stable (sorted), so output names and tables are the same from run to run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from .interchange import FORMATS

# The streams that make a folder a session (speed alone does not), named as the reader
# names them: any case.
SESSION_FILES = frozenset(f"{stream}.{fmt}" for stream in ("hr", "acc") for fmt in FORMATS)


def _is_session_file(name: str) -> bool:
    from . import FILE_READERS

    lower = name.lower()
    return any(lower.endswith(suffix) for suffix in FILE_READERS)


def is_session_folder(path: Path) -> bool:
    try:
        return path.is_dir() and any(
            p.name.lower() in SESSION_FILES and p.is_file() for p in path.iterdir()
        )
    except OSError:
        return False


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand command-line paths into session inputs (see the module text).

    Raises:
        InputError: a path does not exist, or a folder holds no session at all.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError("no such file or folder", source=path,
                             hint="check the path; quote it if it holds spaces")
        if path.is_file() or is_session_folder(path):
            found.append(path)
            continue
        below = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            here = Path(root)
            if here != path and is_session_folder(here):
                below.append(here)
                dirs[:] = []  # a session folder's subfolders are not sessions
                continue
            below.extend(
                here / f for f in files if not f.startswith(".") and _is_session_file(f)
            )
        if not below:
            raise InputError(
                "folder holds no session",
                source=path,
                hint="a session folder needs hr.csv or acc.csv (or .csv.gz / .parquet); "
                "activity files end in .fit, .tcx or .gpx, recordings in .dwrec",
            )
        found.extend(sorted(below))
    return found
