"""dosewatch's own recording of a live session: one SQLite file (``*.dwrec``) that stays
readable after a crash. The recorder writes it (:class:`RecordingWriter`), batch analysis
reads it (:func:`read_recording`), and both batch reading and the live analysis turn its
samples into a session by one set of rules (:mod:`.streams`). The format is described in
:mod:`.schema`."""

from .reader import open_recording, read_recording, read_recording_tables, wal_missing
from .schema import APPLICATION_ID, FORMAT_VERSION, RECORDING_SUFFIX, TABLES
from .streams import RecordedSamples, session_from_samples
from .writer import RecordingWriter

__all__ = [
    "APPLICATION_ID",
    "FORMAT_VERSION",
    "RECORDING_SUFFIX",
    "TABLES",
    "RecordedSamples",
    "RecordingWriter",
    "open_recording",
    "read_recording",
    "read_recording_tables",
    "session_from_samples",
    "wal_missing",
]
