"""Readers of recorded sessions: the interchange layout (CSV, gzip CSV, Parquet).

:func:`read_session` is the one entry point: it looks at what a path is and hands it to
the reader for that kind of input. Today that is the session folder
(:func:`read_session_folder`); the tool's own recordings and FIT/TCX/GPX activity files
will be dispatched from here too.
"""

from __future__ import annotations

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

__all__ = [
    "FORMATS",
    "STREAMS",
    "ParquetSessionWriter",
    "parse_profile_options",
    "parse_profile_string",
    "profile_to_toml",
    "read_profile",
    "read_session",
    "read_session_folder",
    "write_profile",
    "write_session_folder",
]

_LATER_SUFFIXES = (".fit", ".tcx", ".gpx", ".fit.gz", ".tcx.gz", ".gpx.gz")


def read_session(
    path: str | os.PathLike[str],
    *,
    profile: Profile | None = None,
    name: str | None = None,
) -> Session:
    """Read one session from ``path``, whatever kind of input it is.

    Args:
        path: a session folder (hr/acc/speed files, optional ``profile.toml``).
        profile: fields overriding the input's own profile.
        name: the session's name; defaults to the folder's name.

    Raises:
        InputError: the path does not exist, is not a supported kind of input, or cannot
            be read (see :func:`read_session_folder`).
        ProfileError: the profile is invalid.
    """
    p = Path(path)
    if p.is_dir():
        return read_session_folder(p, profile=profile, name=name)
    if not p.exists():
        raise InputError("no such file or folder", source=p, hint="check the path")
    lower = p.name.lower()
    stream_files = {f"{s}.{fmt}" for s in STREAMS for fmt in FORMATS}
    if lower in stream_files:
        hint = "pass the folder that holds it, not the file itself"
    elif lower.endswith(_LATER_SUFFIXES):
        hint = "FIT/TCX/GPX activity files are not supported yet; convert to a session folder"
    else:
        hint = "pass a session folder holding hr.csv and/or acc.csv (or .csv.gz, .parquet)"
    raise InputError(
        "unsupported input (expected a session folder with hr/acc files; "
        "FIT/TCX/GPX and recordings come later)",
        source=p,
        hint=hint,
    )
