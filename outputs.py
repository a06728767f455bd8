"""Writing results: per-session folders, the sessions table (``sessions.csv`` and
``sessions.parquet``, see :mod:`dosewatch.rows`), the failures list, and the output
folder itself (:class:`OutputRoot`).

Everything is written atomically: files go to a temporary name in the same folder and are
renamed into place, and a session's folder is assembled under a temporary name and then
swapped in, so an interrupted run never leaves a half-written output behind.

An output folder is dosewatch's own (issue 14): :meth:`OutputRoot.claim` refuses a folder
that is an input, lies inside one or holds one, and a folder that holds files dosewatch
did not write; it marks the folder as its own (``.dosewatch/output.json``), and a run
holds a lock on it (``.dosewatch/lock``) so two runs never write into one folder at once.
Temporary folders live in ``.dosewatch/tmp/``, the only place leftovers are ever removed
from, and a session folder is replaced only when dosewatch wrote it. The batch's own files
(:data:`RESERVED_NAMES`) can never be a session's name: :func:`output_names` renames such a
session.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .analysis import SessionResult
from .errors import OutputError, plain_reason
from .ingest.arrow import from_numbers, from_texts
from .ingest.registry import inside
from .rows import (
    ROWS_CSV,
    ROWS_PARQUET,
    SessionRow,
    rows_csv_text,
    rows_table,
    spreadsheet_safe,
)

log = logging.getLogger(__name__)

OWN_DIR = ".dosewatch"
"""dosewatch's own folder inside an output folder: its marker, lock and temporary files."""
MARKER = "output.json"
RESERVED_NAMES = frozenset({
    "calibration", ROWS_CSV, ROWS_PARQUET, "failures.json", "config.toml", "report.html",
    "adherence.csv", "adherence.parquet", "participants.csv", "participants.parquet",
    "recordings",
})
"""The batch's own files and folders in an output folder (``calibration``: the
participants' calibrations; ``recordings``: what each free-living recording held); no
session folder may take these names."""
MAX_NAME = 100
"""Longest session folder name (file systems allow 255 bytes; leave room for suffixes)."""
_SESSION_FILE = "summary.json"  # every session folder dosewatch writes holds one
SESSION_FILES = frozenset({"summary.json", "epochs.csv", "session.png", "run.json"})
"""What a session folder holds (``run.json``: the batch's record, for resuming)."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary sibling and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: object) -> str:
    return json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n"


def output_names(inputs: Sequence[Path]) -> list[str]:
    """An output folder name per input: the input's name without the ending its format
    claims. Made unique with a short hash of its absolute path when two inputs share a
    name, ignoring case (or when one input's name is another's with ``-N`` appended, which
    is how the sessions of a multi-session input are named), when it is one of the batch's
    own files (:data:`RESERVED_NAMES`: an input ``sessions.csv.fit``), or when it is longer
    than :data:`MAX_NAME` (then also shortened). Stable across runs."""
    stems = [_stem(p) for p in inputs]
    counts = Counter(s.lower() for s in stems)
    taken = {s.lower() for s in stems}
    names: list[str] = []
    used: set[str] = set()
    for path, stem in zip(inputs, stems, strict=True):
        base, _, number = stem.rpartition("-")
        clash = number.isdigit() and base.lower() in taken
        reserved = stem.lower() in RESERVED_NAMES  # (never hidden: _stem strips dots)
        if counts[stem.lower()] > 1 or clash or reserved or len(stem) > MAX_NAME:
            digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:8]
            stem = f"{stem[: MAX_NAME - 9]}-{digest}"
        name, k = stem, 2
        while name.lower() in used:  # the same input given twice
            name, k = f"{stem}-{k}x", k + 1
        used.add(name.lower())
        names.append(name)
    return names


def _stem(path: Path) -> str:
    """The input's own name (a link's, not its target's), made safe as a folder name."""
    from .ingest.registry import input_stem

    name = input_stem(Path(os.path.abspath(path))) or "session"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return safe.strip(".") or "session"


# --------------------------------------------------------------------------- the folder


class OutputRoot:
    """An output folder that dosewatch owns (see the module text).

    Attributes:
        path: the folder.
        own: its ``.dosewatch`` folder.
        work: where temporary folders are assembled (same file system as ``path``).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.own = self.path / OWN_DIR
        self.work = self.own / "tmp"

    @classmethod
    def claim(cls, path: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]] = ()
              ) -> OutputRoot:
        """Check that ``path`` may be written, create it when missing, and mark it as
        dosewatch's own.

        Raises:
            OutputError: ``path`` is a file (or a FIFO...), is an input, lies inside an
                input or holds one, or is a folder with files dosewatch did not write.
        """
        path = Path(path)
        root = cls(path)
        if os.path.lexists(path) and not path.is_dir():
            raise OutputError("exists and is not a folder", source=path,
                              hint="give --out a new folder, or one dosewatch wrote before")
        out_real = os.path.realpath(path)
        for given in inputs:
            real = os.path.realpath(given)
            if inside(out_real, [real]):
                what = "is the input" if out_real == real else "lies inside the input"
                raise OutputError(
                    f"{what} {given}: dosewatch never writes into its inputs", source=path,
                    hint="choose an output folder outside every input, e.g. "
                    f"{Path(os.path.abspath(given)).parent / 'dosewatch-results'}")
            if inside(real, [out_real]):
                raise OutputError(
                    f"holds the input {given}: outputs and inputs must not mix", source=path,
                    hint="choose an output folder that holds no input")
        if path.is_dir() and not (root.own / MARKER).is_file():
            entries = [e for e in os.listdir(path) if e != OWN_DIR]
            if entries and not cls._looks_like_old_output(path, entries):
                count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
                raise OutputError(
                    f"the folder holds files dosewatch did not write ({count})", source=path,
                    hint="give --out a new or empty folder; dosewatch writes only into "
                    "folders it made")
        try:
            root.work.mkdir(parents=True, exist_ok=True)
            if not (root.own / MARKER).is_file():
                from . import __version__

                atomic_write_text(root.own / MARKER, json.dumps({
                    "written_by": "dosewatch", "version": __version__,
                    "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                }, indent=2) + "\n")
        except OSError as exc:
            raise OutputError(f"cannot create the output folder ({plain_reason(exc)})",
                              source=path, hint="check the path and its permissions") from None
        return root

    @staticmethod
    def _looks_like_old_output(path: Path, entries: list[str]) -> bool:
        """An output folder of a dosewatch from before the marker: its three files are
        there, and every folder in it is a session folder dosewatch wrote."""
        names = set(entries)
        if not {ROWS_CSV, "failures.json", "config.toml"} <= names:
            return False
        for name in names - RESERVED_NAMES:
            entry = path / name
            if name.startswith("."):
                continue  # a killed old run's temporaries: left alone, never deleted
            if entry.is_symlink() or not (entry / _SESSION_FILE).is_file():
                return False
        log.info("%s: an output folder of an older dosewatch: marked as dosewatch's", path)
        return True

    @contextmanager
    def locked(self) -> Iterator[OutputRoot]:
        """Hold the folder's lock for a run; a second run into the same folder is refused
        (never waits forever, never deletes the other's work). The lock goes with the
        process: a killed run leaves no stale lock.

        Raises:
            OutputError: another run holds the lock.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            yield self
            return
        lock_path = self.own / "lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot lock the output folder ({plain_reason(exc)})",
                              source=self.path, hint="check its permissions") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 200, 0).decode("ascii", "replace").strip()
                raise OutputError(
                    "another dosewatch run is writing into this folder"
                    + (f" ({holder})" if holder else ""), source=self.path,
                    hint="wait for it to finish, or choose another --out") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"process {os.getpid()} since "
                          f"{datetime.now(UTC).isoformat(timespec='seconds')}".encode(), 0)
            self.clean_work()
            yield self
        finally:
            os.close(fd)  # releases the lock

    def clean_work(self) -> None:
        """Remove what a killed run left in the work folder (only there: it is dosewatch's
        own, and a run holds the lock)."""
        if self.work.is_dir() and not self.work.is_symlink():
            for entry in self.work.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


def write_epochs_csv(result: SessionResult, path: Path) -> None:
    """``epochs.csv``: written by Arrow's CSV writer (a week of minutes is 10,080 rows x 22
    columns; formatting cell by cell in Python took most of a second). Floats are rounded
    to 6 decimals; a missing value is an empty cell. Labels never need quoting."""
    arrays = {}
    for name, column in result.epoch_columns().items():
        if column.dtype.kind == "f":
            arrays[name] = from_numbers(np.round(column, 6), np.isfinite(column))
        else:  # text: never a spreadsheet formula (see rows.spreadsheet_safe)
            arrays[name] = from_texts([spreadsheet_safe(str(v)) for v in column.tolist()])
    pacsv.write_csv(pa.table(arrays), str(path),
                    pacsv.WriteOptions(quoting_style="none"))


def write_session(
    result: SessionResult,
    out_dir: Path,
    name: str,
    picture: bool = True,
    extra: dict[str, str] | None = None,
    work_dir: Path | None = None,
) -> Path:
    """Write ``summary.json``, ``epochs.csv`` and ``session.png`` into ``out_dir/name``,
    assembled under a temporary name and swapped in whole.

    ``extra`` maps further file names to text written into the same folder before the
    swap (a batch's record of the input it analysed, for resuming). ``work_dir`` is where
    the temporary folders go (an :class:`OutputRoot`'s ``work``; default ``out_dir``).
    An existing ``out_dir/name`` is replaced only when it is a session folder dosewatch
    wrote. (A batch uses :func:`draft_session` instead, to draw several sessions'
    pictures at once before it swaps their folders in.)

    Raises:
        OutputError: ``out_dir/name`` exists and is not a session folder dosewatch wrote,
            or the folder cannot be written (disk full, permissions).
    """
    draft = draft_session(result, out_dir, name, extra, work_dir)
    try:
        if picture:
            draft.draw()
        return draft.commit()
    finally:
        draft.discard()


def draft_session(
    result: SessionResult,
    out_dir: Path,
    name: str,
    extra: dict[str, str] | None = None,
    work_dir: Path | None = None,
) -> SessionDraft:
    """The session folder ``out_dir/name`` assembled under a temporary name, all but its
    picture: ``summary.json``, ``epochs.csv`` and ``extra`` (see :func:`write_session`).
    Draw the picture into :attr:`SessionDraft.picture`, then :meth:`~SessionDraft.commit`
    swaps the folder in whole; :meth:`~SessionDraft.discard` removes what was not.

    Raises:
        OutputError: as :func:`write_session`.
    """
    out_dir = Path(out_dir)
    final = out_dir / name
    if os.path.lexists(final) and not _written_here(final, set(extra or {})):
        raise OutputError("exists and is not a session folder dosewatch wrote: left as it is",
                          source=final, hint="move it away, or choose another --out")
    work = Path(work_dir) if work_dir is not None else out_dir
    # A name of its own, not the session's: a session name can be long, and a leftover of
    # a killed run must never look like a user's folder.
    draft = SessionDraft(result, final, work / f".dosewatch-{uuid.uuid4().hex[:12]}.partial")
    with _as_output_error(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        draft.folder.mkdir()
        try:
            (draft.folder / "summary.json").write_text(to_json(result.summary()),
                                                       encoding="utf-8")
            write_epochs_csv(result, draft.folder / "epochs.csv")
            for file_name, text in (extra or {}).items():
                (draft.folder / file_name).write_text(text, encoding="utf-8")
        except BaseException:
            draft.discard()
            raise
    return draft


@dataclass
class SessionDraft:
    """A session folder being assembled at ``folder`` (a temporary name) for ``final``."""

    result: SessionResult
    final: Path
    folder: Path

    @property
    def picture(self) -> Path:
        """Where the session's picture goes."""
        return self.folder / "session.png"

    def draw(self) -> None:
        """Draw the picture here, in this process."""
        from .plot import plot_session

        with _as_output_error(self.final):
            plot_session(self.result, self.picture)

    def commit(self) -> Path:
        """Swap the folder in as ``final`` (replacing the one there, which dosewatch
        wrote), whole; return ``final``."""
        final, work = self.final, self.folder.parent
        with _as_output_error(final):
            if final.exists():
                old = work / f".dosewatch-{uuid.uuid4().hex[:12]}.old"
                os.replace(final, old)
                os.replace(self.folder, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.folder, final)
        return final

    def discard(self) -> None:
        """Remove the temporary folder if it was not swapped in (nothing otherwise)."""
        if self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)


def _written_here(folder: Path, extra: set[str]) -> bool:
    """Whether ``folder`` is a session folder as :func:`write_session` writes them (holding
    nothing but its files, some perhaps lost), so that replacing it loses nobody's file."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    try:
        names = set(os.listdir(folder))
    except OSError:
        return False
    return names <= SESSION_FILES | extra


@contextmanager
def _as_output_error(final: Path) -> Iterator[None]:
    """An OSError inside the block (a full disk, permissions) as an OutputError."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write the session's outputs ({plain_reason(exc)})",
                          source=final, hint="check the free space and permissions of the "
                          "output folder") from None


def write_rows(rows: Sequence[SessionRow], out_dir: Path) -> None:
    """``sessions.csv`` and ``sessions.parquet``: the same typed rows, written atomically."""
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    atomic_write_text(out_dir / ROWS_CSV, rows_csv_text(rows))
    target = out_dir / ROWS_PARQUET
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(rows_table(rows), tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def stored_reason(entry: Mapping[str, object]) -> str:
    """Why a session folder of an earlier run is in no table of this one (an entry of
    ``BatchReport.elsewhere``: ``output``, ``input``, ``counted``, ``replaced``)."""
    if entry.get("replaced"):
        return ("analysed by an earlier run from an input not given in this run; its folder "
                "was replaced by this run's input of the same name")
    return ("analysed by an earlier run from an input not given in this run: not in "
            "sessions.csv nor in the adherence" + (
                "; it counts in its participant's calibration" if entry.get("counted")
                else ""))


def write_failures(failures: Sequence[dict[str, str]], unsupported: Sequence[dict[str, str]],
                   path: Path, followed: Sequence[dict[str, str]] = (),
                   profiles: Sequence[dict[str, str]] = (),
                   stored: Sequence[Mapping[str, object]] = (),
                   parts: Sequence[dict[str, str]] = ()) -> None:
    """``failures.json``: every input that failed (``status: failed``), every file that
    was skipped as not a session input (``status: skipped``), each with its reason and
    what to do, every link that discovery followed (``status: followed``, with where
    it leads), every folder ``profile.toml`` used (``status: profile``, with how many
    inputs it is the profile of), and every session folder an earlier run left in the
    output folder from an input not given in this run (``status: stored``, with
    ``output``, ``counted`` in its participant's calibration, ``replaced`` by this run's
    input of the same name, and the reason), and every file read as part of another
    input's recording (``status: part``, saying which): what this run's tables leave
    out, for ``dosewatch report`` to say so too, and where every file went."""
    entries = [{"status": "failed", **f} for f in failures]
    entries += [{"status": "skipped", **s} for s in unsupported]
    entries += [{"status": "followed", **s} for s in followed]
    entries += [{"status": "profile", **s} for s in profiles]
    entries += [{"status": "stored", **e, "reason": stored_reason(e)} for e in stored]
    entries += [{"status": "part", **p} for p in parts]
    atomic_write_text(path, to_json(entries))
