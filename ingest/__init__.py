"""Readers of recorded sessions.

:func:`read_session` is the one entry point: it looks at what a path is and hands it to
the reader for that kind of input: a session folder (:func:`read_session_folder`), an
activity file exported by a watch (FIT, TCX, GPX) or the tool's own recording of a live
session (see :data:`FILE_READERS`).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from ..errors import InputError
from ..session import Profile, Session
from .interchange import (
    FORMATS,
    STREAMS,
    ParquetSessionWriter,
    read_session_folder,
    write_session_folder,
)
from .profile import (
    parse_profile_options,
    parse_profile_string,
    profile_to_toml,
    read_profile,
    write_profile,
)

RECORDING_SUFFIX = ".dwrec"

__all__ = [
    "FILE_READERS",
    "FORMATS",
    "RECORDING_SUFFIX",
    "STREAMS",
    "ParquetSessionWriter",
    "parse_profile_options",
    "parse_profile_string",
    "profile_to_toml",
    "read_profile",
    "file_kind",
    "read_session",
    "read_session_folder",
    "write_profile",
    "write_session_folder",
]

# Single-file inputs, by the end of their name (lower case). Each reader has the
# signature ``reader(path, *, profile=None, name=None) -> Session`` and is imported only
# when a file of its kind is read, so analysing CSV never pays for the FIT parser.
FILE_READERS: dict[str, tuple[str, str]] = {
    ".fit": ("fit", "read_fit"),
    ".fit.gz": ("fit", "read_fit"),
    ".tcx": ("tcx", "read_tcx"),
    ".tcx.gz": ("tcx", "read_tcx"),
    ".gpx": ("gpx", "read_gpx"),
    ".gpx.gz": ("gpx", "read_gpx"),
    RECORDING_SUFFIX: ("recording", "read_recording"),
}

_SQLITE_MAGIC = b"SQLite format 3\x00"


def file_kind(path: Path) -> tuple[str, str] | None:
    """The (module, function) that reads the file ``path``, or None when none does.

    The name decides; a file with another name that starts like an SQLite database is
    taken for a dosewatch recording (people rename them ``.db`` or ``.sqlite``).
    """
    lower = path.name.lower()
    for suffix in sorted(FILE_READERS, key=len, reverse=True):
        if lower.endswith(suffix):
            return FILE_READERS[suffix]
    try:
        with open(path, "rb") as fh:
            if fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC:
                return FILE_READERS[RECORDING_SUFFIX]
    except OSError:
        return None
    return None


def read_session(
    path: str | os.PathLike[str],
    *,
    profile: Profile | None = None,
    name: str | None = None,
) -> Session:
    """Read one session from ``path``, whatever kind of input it is.

    Args:
        path: a session folder (hr/acc/speed files, optional ``profile.toml``), an
            activity file (``.fit``, ``.tcx``, ``.gpx``, optionally gzipped) or a
            dosewatch recording (``.dwrec``).
        profile: fields overriding the input's own profile.
        name: the session's name; defaults to the folder's or file's name.

    Raises:
        InputError: the path does not exist, is not a supported kind of input, or cannot
            be read (each reader says why).
        ProfileError: the profile is invalid.
    """
    p = Path(path)
    if p.is_dir():
        return read_session_folder(p, profile=profile, name=name)
    if not p.exists():
        raise InputError("no such file or folder", source=p, hint="check the path")
    kind = file_kind(p)
    if kind is not None:
        module, function = kind
        reader = getattr(importlib.import_module(f"{__name__}.{module}"), function)
        return reader(p, profile=profile, name=name)
    lower = p.name.lower()
    stream_files = {f"{s}.{fmt}" for s in STREAMS for fmt in FORMATS}
    if lower in stream_files:
        hint = "pass the folder that holds it, not the file itself"
    else:
        hint = (
            "pass a session folder holding hr.csv and/or acc.csv (or .csv.gz, .parquet), "
            "an activity file (.fit, .tcx, .gpx) or a dosewatch recording (.dwrec)"
        )
    raise InputError("unsupported input", source=p, hint=hint)
