"""Readers of recorded sessions.

Every format is one module of :mod:`dosewatch.ingest.formats` declaring a
:class:`~dosewatch.ingest.registry.Reader`; :mod:`dosewatch.ingest.registry` finds the one
that takes a path. :func:`read_session` reads an input that holds one session,
:func:`read_sessions` every session an input holds (a TCX history export holds several),
and :func:`~dosewatch.ingest.discover.discover` turns command-line paths into inputs,
accounting for every file it meets.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..profiles import (
    parse_profile_options,
    parse_profile_string,
    profile_to_toml,
    read_profile,
    write_profile,
)
from ..session import Profile, Session
from .formats.interchange import (
    FORMATS,
    STREAMS,
    ParquetSessionWriter,
    read_session_folder,
    write_session_folder,
)
from .registry import Reader, ReadOptions, read_all, read_one, reader_for, readers

__all__ = [
    "FORMATS",
    "STREAMS",
    "ParquetSessionWriter",
    "ReadOptions",
    "Reader",
    "parse_profile_options",
    "parse_profile_string",
    "profile_to_toml",
    "read_profile",
    "read_session",
    "read_session_folder",
    "read_sessions",
    "reader_for",
    "readers",
    "write_profile",
    "write_session_folder",
]


def read_session(
    path: str | os.PathLike[str],
    *,
    profile: Profile | None = None,
    name: str | None = None,
) -> Session:
    """Read the one session an input holds, whatever kind of input it is.

    Args:
        path: a session folder, an activity file, a recording, ... (any format of
            :func:`~dosewatch.ingest.registry.readers`).
        profile: fields overriding the input's own profile.
        name: the session's name; defaults to the folder's or file's name.

    Raises:
        InputError: the path does not exist, is not a supported kind of input, cannot be
            read (each reader says why), or holds several sessions (use
            :func:`read_sessions`).
        ProfileError: the profile is invalid.
    """
    return read_one(Path(path), ReadOptions(profile=profile, name=name))


def read_sessions(
    path: str | os.PathLike[str],
    *,
    profile: Profile | None = None,
    name: str | None = None,
) -> list[Session]:
    """Every session an input holds (see :func:`~dosewatch.ingest.registry.read_all`)."""
    return read_all(Path(path), ReadOptions(profile=profile, name=name))
