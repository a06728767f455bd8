"""Copies of one activity among a batch's sessions: found, marked, and counted once.

People hand in the same activity more than once: a ``.tcx``, its ``.tcx.gz`` copy and a
bulk-export zip that holds it again give three sessions with the same start, and counted
as three they would have one run meet a week's dose. A session is a *copy* of another
when both belong to the same participant, start at the same second and hold the same
samples: :func:`stream_digest` is a fingerprint of the session's streams (every stream,
its length and its times and values — at most :data:`SAMPLED` of them, evenly spaced —
rounded well below any sensor's resolution so that the same
samples read from two formats, such as a FIT file and its TCX export, give the same
fingerprint), and two sessions are copies only when their fingerprints are equal.

Two recordings of one run by two devices (a watch and a chest strap) start at the same
time but hold different samples: they are *not* copies. dosewatch cannot tell them from
two activities started at the same second, so it keeps and counts both, and says so
(:attr:`Copies.same_start`): a study that wants one of them leaves the other out.

Nothing is dropped. Every copy keeps its output folder and its row in ``sessions.csv``,
whose ``duplicate_of`` column names the session it copies; adherence, calibration and
the report count the activity once, from the session kept (:func:`counted`). The copy's
own ``summary.json`` says so too (:func:`mark_summaries`): ``duplicate_of`` and
``counted`` (false), with a note.

A run can also be handed a copy of a session an *earlier run* analysed, into the same
output folder or into another one that shares its calibration folder (review
2026-11-25b, item 5). The earlier session is counted where it was analysed; the later
copy is marked in this run's outputs (:func:`copies_of_earlier`) so that tables combined
from both runs count the activity once: its ``duplicate_of`` is the earlier session's
folder *relative to this output folder* (``../calA/dec04``, or ``dec04`` for a folder of
this one an earlier run left), which is never the name of a session of this run's table
— that is how a reader tells the two kinds apart (:attr:`Copies.earlier`). Which of the
two the participant's calibration learns from is decided apart, by :func:`plainer`, so
that runs one after the other learn what one run of all of them learns.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .rows import SessionRow
from .session import Session

_CHUNK = 1 << 18
"""Samples rounded and hashed at a time (bounds the digest's extra memory)."""
SAMPLED = 1 << 14
"""At most this many samples of a stream are hashed, evenly spaced, with the stream's
length: two recordings of different activities differ in nearly every sample, and a
week's sessions at 100 Hz took 0.18 s to hash whole (60 ns a sample), on every run."""

# Each stream's values are rounded to these steps (times to the millisecond): finer than
# any sensor resolves, coarse enough that one sample written by two formats rounds alike.
_STEPS: dict[str, float] = {
    "t": 1e-3, "bpm": 1e-2, "rr_ms": 1e-1, "xyz": 1e-4, "mps": 1e-3, "values": 1e-2,
}


def _feed(digest: hashlib._Hash, values: NDArray, step: float) -> None:
    """Add ``values`` rounded to ``step`` to ``digest``, a chunk of samples at a time.

    The rounded values are hashed as float64 (whole numbers of steps, exact up to 2**53):
    ``-0.0`` is made ``0.0`` and every NaN the same NaN, so that equal samples give equal
    bytes whatever their sign or payload bits."""
    flat = values.reshape(len(values), -1)
    digest.update(f"{flat.shape}".encode())
    flat = flat[::-(-len(flat) // SAMPLED) or 1]
    scale = 1.0 / step
    for start in range(0, len(flat), _CHUNK):
        rounded = np.multiply(flat[start:start + _CHUNK], scale, dtype=np.float64)
        np.rint(rounded, out=rounded)
        rounded += 0.0
        np.copyto(rounded, np.nan, where=np.isnan(rounded))
        digest.update(memoryview(np.ascontiguousarray(rounded)).cast("B"))


def stream_digest(session: Session) -> str:
    """A fingerprint of the session's samples: every stream's name, times and values
    (see the module text). Equal for the same samples however they were stored; the
    participant, start time and file name are not part of it."""
    digest = hashlib.blake2b(digest_size=12)
    for name in ("hr", "acc", "speed", "cadence", "power", "altitude", "grade"):
        stream = getattr(session, name)
        if stream is None:
            continue
        digest.update(name.encode())
        for key, step in _STEPS.items():
            values = getattr(stream, key, None)
            if values is not None:
                digest.update(key.encode())
                _feed(digest, np.asarray(values), step)
    return digest.hexdigest()


def _second(start: datetime | None) -> datetime | None:
    """The start to the second, in UTC (a FIT file keeps whole seconds, TCX milliseconds)."""
    if start is None:
        return None
    if start.tzinfo is not None:
        start = start.astimezone(UTC)
    return start.replace(microsecond=0)


def _plainness(source: str, name: str) -> tuple[int, int, str]:
    """How plainly a session was stored, plainest first: a file on its own before a member
    of an archive (``x.zip!run.tcx``), an uncompressed file before a compressed one, then
    by source and name (so the session kept is the same from run to run)."""
    lower = source.lower()
    return (lower.count("!"), int(lower.endswith(".gz")), f"{source}\0{name}")


@dataclass
class Copies:
    """What :func:`mark_duplicates` found.

    Attributes:
        copies: each copy's session name -> the session it copies (the one kept).
        same_start: groups of sessions of one participant that start at the same second
            but hold different samples (two devices, or two activities): all counted.
        earlier: each session that is a copy of a session an earlier run analysed
            (:func:`copies_of_earlier`) -> that session's folder, relative to the output
            folder (its ``duplicate_of``): not counted again.
    """

    copies: dict[str, str] = field(default_factory=dict)
    same_start: list[tuple[str, ...]] = field(default_factory=list)
    earlier: dict[str, str] = field(default_factory=dict)


def copy_key(row: SessionRow) -> tuple[object, ...] | None:
    """What copies of one activity share: participant, start to the second and samples
    (None for a row without a ``content_digest``, which is never a copy)."""
    return activity_key(row.participant, row.start_time, row.content_digest)


def activity_key(participant: str | None, start: datetime | None,
                 content_digest: str | None) -> tuple[object, ...] | None:
    """:func:`copy_key` of a session known by these three (a calibration folder keeps
    them of every session it learned from, not its whole row)."""
    if content_digest is None:
        return None
    return participant or "", _second(start), content_digest


def plainer(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether the session stored as ``a`` (source, name) is kept before its copy ``b``:
    the rule :func:`mark_duplicates` keeps one of a batch's copies by, for copies seen
    in different runs."""
    return _plainness(*a) < _plainness(*b)


def mark_duplicates(rows: Sequence[SessionRow], earlier: Mapping[str, str] | None = None
                    ) -> tuple[list[SessionRow], Copies]:
    """``rows`` (in their order) with ``duplicate_of`` set on every copy of another
    session and cleared on every other row, and what was found. Rows without a
    ``content_digest`` (tables of older versions) are never copies. ``earlier`` (by
    session name, see :func:`copies_of_earlier`) marks the sessions that copy a session
    of an earlier run: a row that is a copy of another row keeps that mark instead."""
    groups: dict[tuple[object, ...], list[int]] = {}
    starts: dict[tuple[object, ...], list[int]] = {}
    for i, row in enumerate(rows):
        key = copy_key(row)
        if key is None:
            continue
        who, when, _ = key
        groups.setdefault(key, []).append(i)
        if when is not None:
            starts.setdefault((who, when), []).append(i)
    found = Copies()
    marks: dict[int, str] = {}
    for members in groups.values():
        ordered = sorted(members, key=lambda i: _plainness(rows[i].source, rows[i].session))
        for i in ordered[1:]:
            marks[i] = rows[ordered[0]].session
            found.copies[rows[i].session] = rows[ordered[0]].session
    for i, row in enumerate(rows):
        if i not in marks and row.session in (earlier or {}):
            marks[i] = found.earlier[row.session] = (earlier or {})[row.session]
    for members in starts.values():
        if len({rows[i].content_digest for i in members}) > 1:
            group = tuple(sorted(rows[i].session for i in members if i not in marks))
            if len(group) > 1:
                found.same_start.append(group)
    out = [row if row.duplicate_of == marks.get(i) else replace(row, duplicate_of=marks.get(i))
           for i, row in enumerate(rows)]
    return out, found


def copy_note(original: str, earlier: bool = False) -> str:
    """What a copy's ``summary.json`` and report entry say about it (``earlier``: a copy
    of a session an earlier run analysed, ``original`` that session's folder relative to
    the output folder)."""
    if earlier:
        return (f"a copy of session {original} (the same participant, start and samples; "
                "its folder, relative to this output folder), which an earlier run analysed "
                "and counts: not counted again in this folder's adherence and report; its "
                "participant's calibration counts the activity once")
    return (f"a copy of session {original} (the same participant, start and samples): "
            "counted once, as that session, in adherence, the calibration and the report")


def summary_marks(duplicate_of: str | None, earlier: bool = False) -> dict[str, object]:
    """The keys of ``summary.json`` that say whether the session is a copy (``earlier``:
    of a session an earlier run analysed, see :func:`copy_note`)."""
    marks: dict[str, object] = {"duplicate_of": duplicate_of,
                                "counted": duplicate_of is None}
    if duplicate_of is not None:
        marks["duplicate_note"] = copy_note(duplicate_of, earlier)
    return marks


def mark_summaries(rows: Sequence[SessionRow], out_dir: Path) -> int:
    """Write into each session's ``summary.json`` (in ``out_dir``, the folder of the
    row's ``output``) whether it is a copy (:func:`summary_marks`): a session's copies
    are known only when the whole batch is, after its summary was written; a session
    that stops being a copy (its original deleted) loses the mark. A ``duplicate_of``
    that names no session of ``rows`` names an earlier run's (:func:`copies_of_earlier`).
    A summary that already says the right thing is left as it is; one that cannot be
    read is left to the next run. Returns the number of summaries rewritten."""
    from .outputs import atomic_write_text, to_json

    names = {row.session for row in rows}
    rewritten = 0
    for row in rows:
        path = Path(out_dir) / Path(row.output).name / "summary.json"
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(summary, dict):
            continue
        marks = summary_marks(row.duplicate_of, row.duplicate_of not in names)
        now = {k: summary[k] for k in ("duplicate_of", "counted", "duplicate_note")
               if k in summary}
        if now == marks:
            continue
        summary.pop("duplicate_note", None)
        summary.update(marks)
        atomic_write_text(path, to_json(summary))
        rewritten += 1
    return rewritten


@dataclass(frozen=True)
class Earlier:
    """A session an earlier run analysed, into this output folder or another one: what
    :func:`copies_of_earlier` compares this run's sessions with."""

    key: tuple[object, ...] | None
    """Its :func:`copy_key`."""
    output: Path
    """Its session folder."""
    plain: tuple[str, str] = ("", "")
    """Its source and session name (:func:`plainer`), to pick one of several."""


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


Unchanged = Callable[[str, object], bool]
"""Whether an input (its path as ``run.json`` records it) is still there as its recorded
fingerprint says (``dosewatch.batch`` knows how to tell)."""


def stored_earlier(folder: Path, unchanged: Unchanged) -> Earlier | None:
    """The session stored in ``folder`` (by its ``run.json`` row), None when there is
    none to read or its input is no longer there as it was then (``unchanged``: deleted
    from the study, or exported again, it no longer speaks for the activity, as in the
    calibration)."""
    stored = _read_json(Path(folder) / "run.json")
    try:
        row = SessionRow.from_record(stored["row"])  # type: ignore[index]
        fingerprint = stored["fingerprint"]  # type: ignore[index]
        if not unchanged(str(fingerprint["input"]), fingerprint["files"]):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return Earlier(copy_key(row), Path(folder), (row.source or "", row.session))


def _still_counted(folder: Path) -> bool:
    """Whether the session in ``folder`` is there and counted where it is (its
    ``summary.json`` says ``counted: true``): a copy of a copy is marked as a copy of
    the one that counts, never of another copy (which would count the activity nowhere)."""
    summary = _read_json(Path(folder) / "summary.json")
    return isinstance(summary, dict) and summary.get("counted") is True


def copies_of_earlier(rows: Sequence[SessionRow], earlier: Iterable[Earlier],
                      out_dir: Path, unchanged: Unchanged) -> dict[str, str]:
    """This run's sessions (``rows``, written into ``out_dir``) that are copies of a
    session an earlier run analysed (``earlier``: the sessions of other runs this run
    knows of, see :func:`dosewatch.batch.stored_elsewhere` and
    :func:`dosewatch.batch.pooled_elsewhere`), each with that session's folder relative
    to ``out_dir`` (POSIX; absolute when there is no relative path, as across Windows
    drives): its ``duplicate_of``.

    The earlier session is counted where it was analysed (its table, its summary), so
    the later copy is the one marked, whatever :func:`plainer` says (that decides the
    calibration). A session this run marked before keeps its mark while the session
    it names is there, its input unchanged (``unchanged``), and counted (its
    ``summary.json`` in ``out_dir``, naming it, remembers it): the calibration
    folder forgets a session whose copy its calibration learns from instead. An earlier
    session in a folder this run wrote (an input of the same name took it over), or no
    longer counted where it is, is nobody's original. A copy of another of ``rows`` is
    not marked again (it counts as that one does)."""
    out_dir = Path(out_dir)
    names = {row.session for row in rows}
    mine = {os.path.abspath(out_dir / Path(row.output).name) for row in rows}
    candidates = list(earlier)
    for row in rows:
        summary = _read_json(out_dir / Path(row.output).name / "summary.json")
        before = summary.get("duplicate_of") if isinstance(summary, dict) else None
        if isinstance(before, str) and before not in names:
            found = stored_earlier(out_dir / before, unchanged)
            if found is not None:
                candidates.append(found)
    wanted = {copy_key(row) for row in rows} - {None}
    best: dict[tuple[object, ...], Earlier] = {}
    for e in candidates:  # only those this run copies: their summaries are read
        if e.key not in wanted or os.path.abspath(e.output) in mine:
            continue
        chosen = best.get(e.key)
        if chosen is not None and (_plainness(*chosen.plain), os.path.abspath(chosen.output)
                                   ) <= (_plainness(*e.plain), os.path.abspath(e.output)):
            continue
        if _still_counted(e.output):
            best[e.key] = e
    within = mark_duplicates(rows)[1].copies
    found_marks: dict[str, str] = {}
    for row in rows:
        key = copy_key(row)
        if key in best and row.session not in within:
            found_marks[row.session] = _relative(best[key].output, out_dir)
    return found_marks


def _relative(folder: Path, out_dir: Path) -> str:
    """``folder`` relative to ``out_dir``, as a POSIX path (absolute when there is none)."""
    try:
        return Path(os.path.relpath(folder, out_dir)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(os.path.abspath(folder)).as_posix()


def counted(rows: Sequence[SessionRow]) -> list[SessionRow]:
    """The rows that count: every row that is not a copy of another."""
    return [row for row in rows if row.duplicate_of is None]


def repeats(sessions: Sequence[Session], digests: Sequence[str]) -> set[int]:
    """The indices of the sessions (of one input, ``digests`` their
    :func:`stream_digest`) that are copies of another of them, by the rule of
    :func:`mark_duplicates` (before their rows exist: a bulk zip can hold one activity
    twice, and its participant's calibration must not learn from it twice)."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, (session, digest) in enumerate(zip(sessions, digests, strict=True)):
        key = (session.profile.id or "", _second(session.provenance.start_time), digest)
        groups.setdefault(key, []).append(i)
    out: set[int] = set()
    for members in groups.values():
        ordered = sorted(members, key=lambda i: _plainness(sessions[i].provenance.source,
                                                           sessions[i].name))
        out.update(ordered[1:])
    return out
