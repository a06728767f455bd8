"""dosewatch's own recordings of live sessions (``.dwrec``; any name when the file is an
SQLite database: people rename them ``.db`` or ``.sqlite``). The format and its reader
live in :mod:`dosewatch.recording`, shared with the recorder and the live analysis."""

from __future__ import annotations

from pathlib import Path

from ...recording.schema import RECORDING_SUFFIX, SQLITE_MAGIC
from ...session import Session
from ..registry import Reader, ReadOptions


def _read(path: Path, options: ReadOptions) -> list[Session]:
    from ...recording.reader import read_recording

    return [read_recording(path, profile=options.profile, name=options.name)]


READER = Reader(
    name="dwrec",
    title="dosewatch recording",
    read=_read,
    suffixes=(RECORDING_SUFFIX,),
    sniff=lambda head: head.startswith(SQLITE_MAGIC),
    hint="record it with `dosewatch record`",
)
