"""Many sessions: read, analyse and write each one, in parallel, past bad inputs.

Each input is handled whole inside one worker (read → analyse → write its folder), and
only a small summary row travels back, so memory stays bounded however many sessions
there are; a bounded number of tasks is in flight at any time. A failing input becomes a
row of ``failures.json`` with its reason; the batch goes on. ``sessions.csv`` and
``failures.json`` are rewritten atomically at the end.

Where the work runs: one process (``workers=1``), a local process pool (``workers=N``),
or a Dask distributed cluster (``scheduler="tcp://host:8786"``): the same
:func:`run_task` runs everywhere, so the outputs are the same.

One input can never take the batch down (issue 14). Each input has a memory and a time
budget (``[batch]`` in the configuration): in a worker (and in the one process of
``workers=1``) the address space may grow by at most the memory budget while the input
runs (its private memory, RLIMIT_DATA: beyond it NumPy and Arrow fail with MemoryError),
and a timer interrupts it at the
time budget; either way the input fails with its own reason. Local workers are processes
of dosewatch's own small pool: the batch watches each one, kills a worker that outgrows
its input's budgets anyway (stuck in C code), and starts a new one; a worker that dies
(killed by the kernel for memory, a crash in a library) fails only the input it was
analysing. Workers die with the batch: each watches the main process and exits when it
is gone, even mid-input, so a killed batch leaves no worker, fork server or resource
tracker behind. On Dask, an input whose task errs (a worker that died, "KilledWorker")
or outlasts twice its time budget is a failure, and the others go on.

Pictures: in one process on a machine with a second core, a :class:`PictureDrawer` (a
second process) draws an input's session pictures beside the batch's own process, each
taking the next; a session folder is swapped in only with its picture.

The output folder is claimed and locked first (:class:`~dosewatch.outputs.OutputRoot`):
never an input, inside one or holding one; never a folder with files dosewatch did not
write; never two runs at once.

Resuming: every session folder is written whole (temporary name, then rename) together
with ``run.json``, which records the input's fingerprint (sizes and modification times
of its files), the configuration, classifier, model and options, and the row the session
gave in ``sessions.csv``. A rerun skips a session whose folder is complete and whose
``run.json`` matches, unless ``force``; so a batch killed half-way and run again ends
with the same outputs as one clean run.

Across runs: the session folders of inputs a run was not given (an earlier week's) stay
where they are and out of its tables, but their ``run.json`` evidence counts in their
participants' calibration (:func:`stored_elsewhere`), so the calibration grows with every
run and a session analysed again counts once. The calibration folder keeps that evidence
too (``evidence/<participant>.json``, see :mod:`dosewatch.calibration`): runs into
different output folders that share one ``calibration_dir`` pool their sessions
(:func:`pooled_elsewhere`). An activity given again, under any name, counts once: of its
copies, the one :mod:`dosewatch.duplicates` would keep among them in one batch.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
import traceback
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_ready
from pathlib import Path

from tqdm import tqdm

from .analysis import SessionResult, analyze_session, no_data_error
from .calibration import (
    Calibration,
    Evidence,
    calibration_file,
    calibration_toml,
    evidence_file,
    evidence_json,
    learn,
    read_calibrations,
    read_evidence,
)
from .config import Config
from .duplicates import (
    Copies,
    Earlier,
    activity_key,
    copies_of_earlier,
    copy_key,
    mark_duplicates,
    mark_summaries,
    plainer,
    repeats,
    stream_digest,
)
from .errors import (
    ConfigError,
    DosewatchError,
    NotARecording,
    OutputError,
    ProfileError,
    address_space_limit_mb,
    memory_limits,
    plain_reason,
)
from .freeliving import read_record, split_free_living, write_record
from .ingest.discover import Inventory
from .models.base import Classifier
from .models.registry import classifier_identity, get_classifier
from .outputs import (
    OutputRoot,
    SessionDraft,
    atomic_write_text,
    draft_session,
    output_names,
    to_json,
    write_failures,
    write_rows,
)
from .passes import usable_cpus
from .profiles import profile_for_input, read_profile
from .rows import SessionRow
from .session import Profile, Session, damage, truncation

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
CALIBRATION_DIR = "calibration"
MIN_CALIBRATION_SESSIONS = 2
SCHEDULER_TIMEOUT_S = 20.0  # how long to try reaching a Dask scheduler before giving up
KILL_GRACE_S = 15.0
"""A worker still busy this long after its input's time budget is killed (the budget's own
timer cannot interrupt C code)."""
PICTURES_LATER_MAX_BYTES = 64 << 20
"""Inputs up to this size whose folder holds other inputs have their pictures drawn in
the batch's second round only (:func:`_pictures_later`)."""
KILL_MEMORY_FACTOR = 1.5
"""A worker whose resident memory grew by more than this times the memory budget while
analysing one input is killed (the memory limit normally stops it first)."""


@dataclass(frozen=True)
class Task:
    input: Path
    name: str
    out_dir: Path
    config: Config
    classifier: Classifier
    profile: Profile | None
    pictures: bool
    columns: tuple[tuple[str, str], ...] = ()
    fingerprint: dict[str, object] = field(default_factory=dict)
    calibrations: Mapping[str, Calibration] = field(default_factory=dict)
    roots: tuple[Path, ...] = ()
    """The command-line paths the input was found in (links are read only inside)."""
    work_dir: Path | None = None
    """The output folder's work folder, for temporary session folders."""
    learn: bool = False
    """Learn the calibration of a participant with enough sessions in this input from
    those sessions, and analyse them with it (see :func:`_calibrated_here`)."""
    pictures_later: bool = False
    """The pictures are left to the batch's second round (:func:`_pictures_later`): this
    run writes the sessions without them (``pictures`` is False), and outputs stored
    with their pictures count as current."""
    override: Profile | None = None
    """The command line's own profile (``profile`` may hold folder profiles under it):
    a profile.toml inside the input (a zip's) goes between the two."""
    shown: tuple[Path, Path] | None = None
    """The input and output folder as the user named them, when ``input`` and
    ``out_dir`` were made absolute for a Dask worker (:func:`_absolute`): the sessions'
    sources and output folders are written under these names, as a local run writes
    them."""


@dataclass(frozen=True)
class Done:
    """What one input gave: the rows of its sessions, and what each tells about its
    participant (for their calibration)."""

    input: Path
    rows: list[SessionRow]
    evidence: list[Evidence]
    recordings: list[dict] = field(default_factory=list)
    """Summaries of the free-living recordings the input held (see freeliving.py)."""
    calibration_digests: dict[str, str | None] = field(default_factory=dict)
    """Each participant's calibration the sessions were analysed with (its digest)."""
    pictures: bool = True
    """Whether the session folders hold their pictures (or none were asked for)."""
    notices: list[dict[str, str]] = field(default_factory=list)
    """What the user must see beyond the rows: the input truncated (``kind``
    ``truncated``), archive members not read (``failed``) or not inputs (``ignored``), a
    decision to check (``check``)."""


def input_fingerprint(path: Path) -> list[list[object]]:
    """Names, sizes and modification times of an input's files (a folder's own files,
    not hidden ones). Cheap, and changes whenever a file is rewritten."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")) \
        if path.is_dir() else [path]
    out = []
    for f in files:
        st = f.stat()
        out.append([f.name, st.st_size, st.st_mtime_ns])
    return out


def config_digest(config: Config) -> str:
    """A fingerprint of the configuration's results-changing part (the batch's budgets
    change no result: a rerun with other budgets still resumes)."""
    return hashlib.sha256(replace(config, batch=Config().batch).to_toml()
                          .encode()).hexdigest()[:16]


def run_fingerprint(task: Task, model_id: str) -> dict[str, object]:
    """What a session's outputs depend on (see the module text)."""
    from . import __version__

    profile = None if task.profile is None else repr(task.profile)
    return {
        "input": str(task.input.resolve()),
        "files": input_fingerprint(task.input),
        "config": config_digest(task.config),
        "model": model_id,
        "profile": profile,
        "columns": [list(c) for c in task.columns],
        "pictures": task.pictures,
        "dosewatch_version": __version__,
    }


def _stored_run(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _current(stored: object, want: dict[str, object], pictures_later: bool) -> bool:
    """Whether stored outputs were made with the fingerprint ``want``; for a task whose
    pictures come later, outputs that already hold their pictures are current too."""
    if stored == want:
        return True
    return (pictures_later and isinstance(stored, dict)
            and {**stored, "pictures": False} == want)


def completed_rows(task: Task) -> Done | None:
    """The stored rows (and evidence) of ``task``'s sessions when their outputs are
    complete and current: every session folder the input gave, with the same fingerprint
    and analysed with the participant's current calibration."""
    want = json.loads(json.dumps(task.fingerprint))
    record = read_record(task.out_dir, task.name)  # a free-living input's sessions
    first = record or _stored_run(task.out_dir / task.name) or _stored_run(
        task.out_dir / f"{task.name}-1")
    later = task.pictures_later
    if first is None or (record is not None
                         and not _current(record.get("fingerprint"), want, later)):
        return None
    names = first.get("outputs") if record is not None else first.get("outputs") or [task.name]
    if not isinstance(names, list):
        return None
    rows, evidence, used_by, pictures = [], [], {}, True
    notices: list[dict[str, str]] = []
    for name in names:
        folder = task.out_dir / str(name)
        stored = _stored_run(folder)
        if (stored is None or not _current(stored.get("fingerprint"), want, later)
                or not (folder / "summary.json").is_file()):
            return None
        pictures = pictures and bool(stored["fingerprint"].get("pictures"))
        try:
            row = SessionRow.from_record(stored["row"])
            used = stored.get("calibration")
            current = task.calibrations.get(row.participant or "")
            if used != (None if current is None else current.digest):
                return None  # the participant's calibration changed since
            rows.append(row)
            evidence.append(Evidence.from_json(stored["evidence"]))
            used_by[row.participant or ""] = used
            notices += [n for n in stored.get("notices") or [] if n not in notices]
        except (KeyError, TypeError, ValueError):
            return None
    return Done(task.input, rows, evidence, [] if record is None else
                list(record.get("recordings") or []), used_by, pictures, notices)


@dataclass
class BatchReport:
    """What a batch produced: one row per analysed session, one entry per failed input."""

    rows: list[SessionRow] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    unsupported: list[dict[str, str]] = field(default_factory=list)
    skipped: int = 0
    recordings: list[dict] = field(default_factory=list)
    """Each free-living recording's summary: its non-wear and the sessions found."""
    followed: list[dict[str, str]] = field(default_factory=list)
    """Links discovery followed (inside the folders given), each with where it leads."""
    parts: list[dict[str, str]] = field(default_factory=list)
    """Files read as part of another input's recording (a Polar Sensor Logger
    ``_PPI.txt`` beside its ``_HR.txt``), each saying which: read, not skipped."""
    elsewhere: list[dict[str, object]] = field(default_factory=list)
    """Session folders in the output folder from inputs not given in this run (an earlier
    run's): each ``output``, ``input``, whether its evidence ``counted`` in its
    participant's calibration, and whether an input of this run of the same name
    ``replaced`` the folder. They are in no table (see :func:`stored_elsewhere`)."""
    pooled: list[dict[str, object]] = field(default_factory=list)
    """Sessions other runs analysed into other output folders that the calibration
    folder keeps the evidence of (:func:`pooled_elsewhere`): each ``output``, ``input``
    and whether it ``counted`` in its participant's calibration."""
    earlier_copies: list[dict[str, str]] = field(default_factory=list)
    """Sessions of this run that are copies of an earlier run's session (same
    participant, start and samples): each ``session`` (this run's), ``copy_of`` (the
    earlier session's output folder) and ``input`` (its input). The calibration counts
    the activity once; each run's table holds only its own sessions."""
    profiles: list[dict[str, str]] = field(default_factory=list)
    """The folders' ``profile.toml`` files, each with how many inputs it applies to."""
    copies: Copies = field(default_factory=Copies)
    """Sessions that are copies of another (``duplicate_of`` in their rows), and sessions
    that start together with different samples (see :mod:`dosewatch.duplicates`)."""
    truncated: list[dict[str, str]] = field(default_factory=list)
    """Inputs cut short and analysed for what they hold (``input``, ``reason``)."""
    checks: list[dict[str, str]] = field(default_factory=list)
    """Decisions about an input the user should check (a speed unit that fits two
    readings): ``input``, ``reason``, ``hint``."""

    @property
    def ok(self) -> bool:
        return not self.failures


def _as_shown(session: Session, task: Task) -> Session:
    """``session`` with its source under the input's name as the user gave it (a Dask
    worker reads it by its absolute path: ``/home/me/study/x.zip!run.fit`` becomes
    ``study/x.zip!run.fit`` again)."""
    source = session.provenance.source
    if task.shown is None or not source.startswith(str(task.input)):
        return session
    source = str(task.shown[0]) + source[len(str(task.input)):]
    notices = tuple(replace(n, source=str(task.shown[0]) + n.source[len(str(task.input)):])
                    if n.source.startswith(str(task.input)) else n
                    for n in session.provenance.notices)
    return replace(session, provenance=replace(session.provenance, source=source,
                                               notices=notices))


def holds_other_inputs(folder: Path) -> bool:
    """Whether ``folder``, an input read by a folder format (an E4 export, a logger's
    ``data.csv``/``acc.csv``, a session folder's ``hr.csv``), also holds inputs of its
    own beside the files its reader uses (a FIT file, a ``week2/`` folder): then it is a
    participant's folder that an export was unpacked into."""
    from .ingest.registry import reader_for

    if not folder.is_dir():
        return False
    reader = reader_for(folder)
    if reader is None or reader.folder_files is None:
        return False
    try:
        used = {p.name for p in reader.folder_files(folder)}
        entries = [e for e in folder.iterdir() if e.name not in used
                   and e.name != "profile.toml" and not e.name.startswith(".")]
    except OSError:
        return False
    return any(e.is_dir() or reader_for(e) is not None for e in entries)


def folder_participant(input_path: Path) -> str:
    """The participant of an input's sessions whose profile names none: the name of the
    folder that holds the input (``study/P01/run.fit`` and ``study/P01/day1/`` both
    belong to ``P01``; for a link, the folder that holds the link). An export unpacked
    into the participant's folder beside their other files (:func:`holds_other_inputs`)
    belongs to that folder, as the files beside it do. "" when there is no such folder."""
    path = Path(os.path.abspath(input_path))
    return path.name if holds_other_inputs(path) else path.parent.name


def with_participant(session: Session, input_path: Path, folder: str | None = None
                     ) -> Session:
    """Sessions are grouped by participant: the profile's ``id``, or else
    :func:`folder_participant` of the input (``folder``, when the caller has it for
    every session of the input)."""
    if session.profile.id is not None:
        return session
    parent = folder_participant(input_path) if folder is None else folder
    if not parent:
        return session
    return replace(session, profile=replace(session.profile, id=parent))


def input_notices(sessions: Sequence[Session], input_path: Path) -> list[dict[str, str]]:
    """What the console and ``failures.json`` must name about an input beyond its rows:
    that it was truncated and analysed for what it holds (once per file), the archive
    members that were not read or are not activities, parts left out as damaged, and
    decisions to check (see :class:`Done`)."""
    out: dict[tuple[str, ...], dict[str, str]] = {}
    for session in sessions:
        note = truncation(session.provenance.repairs)
        source = session.provenance.source
        if note is not None and ("truncated", source) not in out:
            out[("truncated", source)] = {"kind": "truncated", "input": source,
                                          "reason": note}
        broken = damage(session.provenance.repairs)
        if broken is not None and ("damaged", source) not in out:
            out[("damaged", source)] = {
                "kind": "check", "input": source, "reason": broken,
                "hint": "analysed without them: the gaps are missing minutes; copy the "
                        "file from the device again if you can"}
        for n in session.provenance.notices:
            # Once per input and reason: a file of several activities says it once, and
            # a file with two things to check says both.
            out.setdefault((n.kind, n.source, n.reason),
                           {"kind": n.kind, "input": n.source, "reason": n.reason,
                            "hint": n.hint})
    return list(out.values())


def _add_notices(report: BatchReport, done: Iterable[Done]) -> None:
    """The inputs' notices into the report: archive members not read with its failures
    (``failures.json``), members that are no activity with the files skipped, truncated
    inputs in :attr:`BatchReport.truncated`, the rest in :attr:`BatchReport.checks`; in
    the inputs' order, however many processes finished them in whatever order."""
    for result in sorted(done, key=lambda r: str(r.input)):
        for notice in result.notices:
            entry = {k: v for k, v in notice.items() if k != "kind"}
            if notice["kind"] == "failed":
                report.failures.append({"error": "InputError", **entry})
            elif notice["kind"] == "ignored":
                report.unsupported.append(entry)
            elif notice["kind"] == "truncated":
                report.truncated.append(entry)
            else:
                report.checks.append(entry)


class Overtime(BaseException):
    """Raised by the time budget's timer inside a running input. A BaseException, so that
    no ``except Exception`` on the way (a reader's, a library's) can swallow it."""


def _failure(task: Task, error: str, reason: str, hint: str) -> tuple[str, dict]:
    return "failed", {"input": str(task.input), "error": error, "reason": reason,
                      "hint": hint}


def _reason_in(exc: DosewatchError, input_path: Path) -> str:
    """The error's reason, naming the file inside the input folder it is about (an empty
    ``hr.csv`` of a session folder), since the failure is listed under the folder."""
    source = exc.source
    if not source or not Path(input_path).is_dir():
        return exc.reason
    try:
        inner = Path(source).relative_to(input_path)
    except ValueError:
        return exc.reason
    if inner == Path(".") or exc.reason.startswith(f"{inner}:"):
        return exc.reason
    return f"{inner}: {exc.reason}"


def _over_memory(task: Task) -> tuple[str, dict]:
    what, hint = memory_limits(task.config.batch.input_memory_mb)
    return _failure(task, "MemoryError", f"needs {what}", hint)


def _over_time(task: Task) -> tuple[str, dict]:
    budget = task.config.batch.input_time_s
    return _failure(task, "TimeoutError", f"took longer than its budget of {budget:g} s",
                    "check that the input is what it should be; to analyse it anyway, raise "
                    "[batch] input_time_s in the configuration")


def _calibrated_here(task: Task, sessions: list[Session], results: list[SessionResult],
                     cals: list[Calibration | None], evidence: list[Evidence],
                     copies: set[int] = frozenset()
                     ) -> tuple[list[SessionResult], list[Calibration | None]]:
    """The input's sessions analysed again with their participant's calibration learned
    from them, for each participant with enough sessions in this input (a free-living
    week holds a dozen). The batch's calibration round learns the same calibration from
    the same evidence when the input holds all of the participant's sessions, and then
    does not read the input again; when it holds only some, the round analyses them with
    the calibration learned from all. ``evidence`` is the sessions' evidence, which no
    calibration changes; the sessions in ``copies`` (copies of others in this input) are
    analysed with the calibration but not learned from."""
    results, cals = list(results), list(cals)
    for who in sorted({e.participant for e in evidence if e.participant}):
        mine = [i for i, e in enumerate(evidence) if e.participant == who]
        learned_from = [evidence[i] for i in mine if i not in copies]
        if len(learned_from) < MIN_CALIBRATION_SESSIONS:
            continue
        old = task.calibrations.get(who)
        new = learn(who, learned_from, previous=old)
        if not new.learned or (old is not None and new.digest == old.digest):
            continue
        for i in mine:
            results[i] = analyze_session(sessions[i], task.config, task.classifier, new)
            cals[i] = new
    return results, cals


def run_task(task: Task, drawer: PictureDrawer | None = None) -> tuple[str, Done | dict]:
    """Analyse one input (every session it holds), each session with its participant's
    calibration when there is one; ``drawer`` draws the pictures beside this process.
    Never raises: failures come back as ``("failed", reason)``, an input that is no
    recording at all (:class:`~dosewatch.errors.NotARecording`) as ``("skipped", reason)``."""
    from .ingest.registry import ReadOptions, read_all

    drafts: list[SessionDraft] = []
    try:
        adherence = task.config.adherence
        sessions = read_all(task.input, ReadOptions(profile=task.profile, name=task.name,
                                                    columns=dict(task.columns),
                                                    roots=task.roots, override=task.override,
                                                    naive_zone=adherence.naive_zone(),
                                                    timezone=adherence.timezone))
        sessions, recordings = split_free_living(sessions, task.config)
        folder = folder_participant(task.input) if sessions else ""
        sessions = [with_participant(_as_shown(s, task), task.input, folder)
                    for s in sessions]
        names = [s.name for s in sessions]
        cals = [task.calibrations.get(s.profile.id or "") for s in sessions]
        results = [analyze_session(s, task.config, task.classifier, cal)
                   for s, cal in zip(sessions, cals, strict=True)]
        if results and all(r.data_coverage == 0 for r in results):
            raise no_data_error(results[0])
        evidence = [result.evidence() for result in results]
        digests = [stream_digest(s) for s in sessions]
        if task.learn:
            results, cals = _calibrated_here(task, sessions, results, cals, evidence,
                                             repeats(sessions, digests))
        # No session, no picture to draw: never analysed again for pictures.
        done = Done(task.input, [], [], pictures=task.pictures or not results,
                    notices=input_notices(sessions, task.input))
        for content, result, cal, told in zip(digests, results, cals, evidence, strict=True):
            shown_out = task.out_dir if task.shown is None else task.shown[1]
            row = replace(SessionRow.from_result(result, str(shown_out / result.name)),
                          content_digest=content)
            digest = None if cal is None else cal.digest
            run = to_json({"fingerprint": task.fingerprint, "row": row.to_record(),
                           "outputs": names, "evidence": told.to_json(),
                           "calibration": digest, "notices": done.notices})
            drafts.append(draft_session(result, task.out_dir, result.name,
                                        extra={RUN_FILE: run}, work_dir=task.work_dir))
            done.rows.append(row)
            done.evidence.append(told)
            done.calibration_digests[row.participant or ""] = digest
        if task.pictures:
            if drawer is not None:
                drawer.draw(drafts)
            else:
                for draft in drafts:
                    draft.draw()
        for draft in drafts:
            draft.commit()
        used = {result.name: result.hr_used() for result in results}
        write_record(task.out_dir, task.name, recordings, task.fingerprint, names, used)
        done.recordings.extend(r.summary(used) for r in recordings)
        return "ok", done
    except NotARecording as exc:  # a questionnaire among the study's files: skipped
        return "skipped", {"input": str(task.input), "reason": _reason_in(exc, task.input),
                           "hint": exc.hint or ""}
    except DosewatchError as exc:
        return _failure(task, type(exc).__name__, _reason_in(exc, task.input), exc.hint or "")
    except MemoryError:
        return _over_memory(task)
    except Overtime:
        return _over_time(task)
    except RecursionError:
        return _failure(task, "InputError", "nested too deeply to analyse",
                        "the input is damaged or not what its name says")
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the batch; it is reported
        return _failure(task, type(exc).__name__, f"internal error: {plain_reason(exc)}",
                        "please report this with the input file; traceback: "
                        + traceback.format_exc(limit=3).replace("\n", " | "))
    finally:
        for draft in drafts:  # those not swapped in (a failure half-way)
            draft.discard()



# --------------------------------------------------------------------------- budgets


def data_size() -> int:
    """This process's private writable memory in bytes (``VmData``: what RLIMIT_DATA
    limits; reserved address space that is never written, such as malloc's per-thread
    arenas, is not counted), 0 if unknown."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _resident(pid: int) -> int:
    """Resident memory of process ``pid`` in bytes, 0 if unknown (gone, not Linux)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@contextmanager
def memory_budget(megabytes: float) -> Iterator[None]:
    """Let this process's memory (:func:`data_size`) grow by at most ``megabytes`` inside
    the block (a lower limit already in force stays); beyond it allocations fail with
    MemoryError (NumPy) or an Arrow memory error."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX: no limit
        yield
        return
    current = data_size()
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if not current:
        yield
        return
    limit = current + int(megabytes * (1 << 20))
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`Overtime` inside the block after ``seconds`` (main thread only:
    elsewhere the caller enforces time itself)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"):
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise Overtime()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_task_within_budget(task: Task, drawer: PictureDrawer | None = None
                           ) -> tuple[str, Done | dict]:
    """:func:`run_task` within the input's memory and time budgets (``[batch]``)."""
    budget = task.config.batch
    try:
        with memory_budget(budget.input_memory_mb), _time_budget(budget.input_time_s):
            return run_task(task, drawer)
    except Overtime:  # the timer fired between run_task's end and the block's end
        return _over_time(task)
    except MemoryError:
        return _over_memory(task)


# --------------------------------------------------------------------------- workers


def _watch_parent(parent: int) -> None:
    """Exit this worker the moment the process ``parent`` ends (however it ends: a
    SIGKILL leaves it no chance to stop its workers), even in the middle of an input."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(parent)  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            select.select([fd], [], [])  # readable when the process has ended
        else:  # pragma: no cover - kernels before 5.3
            while True:
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    break
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="dosewatch-lifeline", daemon=True).start()


def _worker_main(conn: Connection, parent: int) -> None:
    """A pool worker: take tasks from ``conn`` until it is closed, answer each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    _watch_parent(parent)
    frozen, first = LoadedCode(), True  # never released: the process ends with the batch
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        result = run_task_within_budget(task)
        if first:
            frozen.freeze(collect=True)
            first = False
        try:
            conn.send(result)
        except (EOFError, OSError):
            return


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    task: Task | None = None
    started: float = 0.0
    baseline: int = 0


class _Pool:
    """``workers`` processes, each analysing one input at a time, watched by the batch."""

    def __init__(self, workers: int):
        self.context = multiprocessing.get_context("forkserver")
        # The fork server imports dosewatch once; each worker is then a cheap fork.
        self.context.set_forkserver_preload(["dosewatch.batch"])
        self.workers = [self._start() for _ in range(workers)]

    def _start(self) -> _Worker:
        mine, theirs = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(theirs, os.getpid()),
                                       name="dosewatch-worker", daemon=True)
        process.start()
        theirs.close()
        return _Worker(process, mine)

    def _renew(self, slot: int) -> _Worker:
        """The worker of ``slot``, replaced by a new one when it has ended."""
        worker = self.workers[slot]
        if worker.process.is_alive():
            return worker
        worker.process.join(5)
        worker.conn.close()
        self.workers[slot] = self._start()
        return self.workers[slot]

    def _give(self, slot: int, task: Task) -> None:
        """Send ``task`` to the worker of ``slot`` (a new one when it has ended). A worker
        that cannot take it is killed, so the next look reports the task as failed."""
        for _ in range(2):
            worker = self._renew(slot)
            worker.task, worker.started = task, time.monotonic()
            worker.baseline = _resident(worker.process.pid or 0)
            try:
                worker.conn.send(task)
                return
            except (OSError, ValueError):
                worker.process.kill()
                worker.process.join(1)

    def results(self, tasks: Sequence[Task]) -> Iterator[tuple[str, object]]:
        queue = iter(tasks)
        for slot in range(len(self.workers)):
            task = next(queue, None)
            if task is None:
                break
            self._give(slot, task)
        while True:
            busy = [(slot, w) for slot, w in enumerate(self.workers) if w.task is not None]
            if not busy:
                return
            ready = wait_ready([w.conn for _, w in busy] + [w.process.sentinel for _, w in busy],
                               timeout=0.5)
            for slot, worker in busy:
                task = worker.task
                assert task is not None
                outcome = None
                if worker.conn in ready:
                    try:
                        outcome = worker.conn.recv()
                    except (EOFError, OSError):
                        outcome = None
                if outcome is None:
                    outcome = self._check(worker, task, worker.process.sentinel in ready)
                if outcome is None:
                    continue
                worker.task = None
                yield outcome
                following = next(queue, None)
                if following is not None:
                    self._give(slot, following)

    def _check(self, worker: _Worker, task: Task, ended: bool
               ) -> tuple[str, dict] | None:
        """A failure when the worker died or outgrew its input's budgets (then it is
        killed; the slot gets a new worker with its next task), else None."""
        budget = task.config.batch
        if ended or not worker.process.is_alive():
            worker.process.join(1)
            code = worker.process.exitcode
            how = (f"was killed by signal {-code}" if code is not None and code < 0
                   else f"exited ({code})")
            return _failure(task, "WorkerDied", f"the process analysing it {how}",
                            "most often the system ran out of memory: run it alone, or "
                            "with fewer --workers")
        if time.monotonic() - worker.started > budget.input_time_s + KILL_GRACE_S:
            worker.process.kill()
            return _over_time(task)
        grown = _resident(worker.process.pid or 0) - worker.baseline
        if grown > KILL_MEMORY_FACTOR * budget.input_memory_mb * (1 << 20):
            worker.process.kill()
            return _over_memory(task)
        return None

    def close(self) -> None:
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 5
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1)
            worker.conn.close()


def _dask_results(tasks: Sequence[Task], scheduler: str) -> Iterator[tuple[str, object]]:
    """Run the tasks on a Dask distributed cluster, a bounded number at a time."""
    from .errors import ConfigError

    try:
        from distributed import Client
        from distributed import wait as wait_futures
    except ImportError:  # pragma: no cover - a dependency of dosewatch
        raise ConfigError("--scheduler needs dask.distributed",
                          hint="pip install 'dask[distributed]'") from None
    try:
        client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                          hint="check the address (tcp://host:8786) and that it is running"
                          ) from None
    with client:
        slots = max(2, 2 * sum(client.nthreads().values()))
        queue = iter(tasks)
        running: dict[object, tuple[Task, float]] = {}

        def submit(task: Task) -> None:
            # pure=False: the same task run twice (a rerun) must run, not come from a cache.
            future = client.submit(run_task, _absolute(task), pure=False)
            running[future] = (task, time.monotonic())

        for task in islice(queue, slots):
            submit(task)
        while running:
            # One input can never stop the batch: a task that errs (its worker died) or
            # hangs far past its time budget is that input's failure; the rest go on.
            try:
                done, _ = wait_futures(list(running), timeout=1.0,
                                       return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in done:
                task, _ = running.pop(future)
                yield _dask_outcome(future, task)
                future.release()
            now = time.monotonic()
            for future, (task, submitted) in list(running.items()):
                if now - submitted > 2 * task.config.batch.input_time_s + KILL_GRACE_S:
                    running.pop(future)
                    future.cancel()
                    yield _over_time(task)
            while len(running) < slots:
                task = next(queue, None)
                if task is None:
                    break
                submit(task)


def _absolute(task: Task) -> Task:
    """``task`` with absolute paths: a Dask worker runs in a folder of its own (on a
    cluster, on another machine), where the paths a user typed relative to theirs lead
    nowhere (its inputs failed as missing, and its outputs went into the worker's
    folder)."""
    def absolute(path: Path | None) -> Path | None:
        return None if path is None else Path(os.path.abspath(path))

    return replace(task, input=absolute(task.input), out_dir=absolute(task.out_dir),
                   shown=(task.input, task.out_dir),
                   work_dir=absolute(task.work_dir),
                   roots=tuple(Path(os.path.abspath(r)) for r in task.roots))


def _dask_outcome(future: object, task: Task) -> tuple[str, object]:
    """A finished Dask future's result, or the failure it stands for, about ``task``'s
    input as the batch names it (the worker had it as an absolute path)."""
    try:
        status, payload = future.result()  # type: ignore[attr-defined]
        if isinstance(payload, Done):
            return status, replace(payload, input=task.input)
        return status, {**payload, "input": str(task.input)}
    except Exception as exc:  # noqa: BLE001 - whatever Dask raises, this input failed
        name = type(exc).__name__
        if name == "KilledWorker":
            return _failure(task, "WorkerDied", "the Dask worker analysing it died "
                            "(several times)", "most often a worker ran out of memory: give "
                            "the workers more memory, or check the input")
        return _failure(task, name, f"the Dask task failed ({plain_reason(exc)})",
                        "check the Dask workers' logs")


def _results(tasks: Sequence[Task], workers: int, scheduler: str | None = None
             ) -> Iterator[tuple[str, object]]:
    if scheduler:
        yield from _dask_results(tasks, scheduler)
        return
    if workers <= 1 or len(tasks) <= 1:
        frozen = LoadedCode()
        drawer = PictureDrawer.for_tasks(tasks, frozen)
        try:
            for i, task in enumerate(tasks):
                yield run_task_within_budget(task, drawer)
                if i == 0 and len(tasks) > 1:
                    frozen.freeze(collect=True)
        finally:
            if drawer is not None:
                drawer.close()
            frozen.release()
        return
    pool = _Pool(min(workers, len(tasks)))
    try:
        yield from pool.results(tasks)
    finally:
        pool.close()



class LoadedCode:
    """What a batch's process holds once it has analysed an input, kept out of the cyclic
    garbage collector's sight (:func:`gc.freeze`) until the batch ends.

    By then the process has loaded every module the batch uses (the readers, NumPy,
    Arrow, matplotlib): 100,000-150,000 objects that outlive the batch. Every full
    collection scanned them again, 40-140 ms each: in the 79 real sessions of
    ``../shared/data/real`` its 18 full collections took 1.06 s of CPU, 0.43 s frozen (a
    full collection then scans only what the inputs allocate; the rest of its time is
    freeing their arrays). The batch gives the collector its objects back when it ends
    (:func:`gc.unfreeze`), so a program that runs a batch keeps a collector as it was;
    one that froze objects itself is left alone."""

    def __init__(self) -> None:
        self._ours = gc.get_freeze_count() == 0
        self._frozen = False

    def freeze(self, collect: bool) -> None:
        """Freeze what the process holds now (after a full collection if ``collect``;
        without one, garbage held now is collected only after :meth:`release`)."""
        if self._ours:
            if collect:
                gc.collect()
            gc.freeze()
            self._frozen = True

    def release(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False


# --------------------------------------------------------------------------- pictures

FORK_READY_S = 0.1  # how long a new drawer is waited for before this process draws alone
DRAWER_STALL_S = 10.0
"""A picture the drawer has not answered for this long, plus five times the slowest one
drawn here, means a stalled drawer: it is killed and the picture drawn here."""
EARLY_DRAWER_BYTES = 16 << 20
"""An input this large has the picture code loaded while it is read (a long recording:
many sessions to draw)."""


class PictureDrawer:
    """Session pictures drawn by two processes at once: this one and a second one.

    One process of the batch (``workers=1``, the default) analyses an input, then draws
    its sessions' pictures one after the other: about 0.11 s each (0.16 s before they were
    drawn on a kept figure, see :func:`plot.plot_session`), mostly matplotlib's text and
    artists, while the machine's second core waits. A week-long recording holds
    several sessions; their pictures were a third of its time. The drawer is a second
    process that takes one picture at a time, from the front of the list, while this
    process draws from the back. A session folder is swapped in only when its picture is
    written, whoever drew it: the folders stay whole.

    The drawer is forked from this process once the picture code is loaded here, so it
    starts drawing at once: a freshly started Python would spend 0.7 s of CPU loading
    NumPy, matplotlib and dosewatch again, on the core the batch's own reading uses (it
    made the week no faster). Forking a process that has threads (Arrow's, idle by then)
    is safe for what the drawer does: it only draws with matplotlib and NumPy and writes a
    PNG, and glibc's allocator and the Arrow allocator's fork handlers leave the child's
    heap usable. For a large input (:data:`EARLY_DRAWER_BYTES`, a long recording with
    many sessions) the picture code is loaded in a background thread while the input is
    read.

    Used only on Linux, with two or more cores and pictures to draw, for inputs with two
    or more sessions, and not under an address-space limit (:func:`_address_space_limited`).
    If the drawer dies, fails a picture or stalls (no answer within :data:`DRAWER_STALL_S`
    plus five times the slowest picture drawn here: it is killed), that picture is drawn
    here (a failure then raises here, as without a drawer) and the rest of the batch
    draws here too. The drawer ends with the batch, and when the batch's process dies (it
    watches it).
    """

    def __init__(self, frozen: LoadedCode | None = None) -> None:
        self._frozen = frozen
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._loader: threading.Thread | None = None
        self._ready = False
        self._busy: SessionDraft | None = None
        self._broken = False
        self._given_at = 0.0
        self._slowest_here = 0.0
        self.drawn_there = 0
        """Pictures the second process drew."""

    @classmethod
    def for_tasks(cls, tasks: Sequence[Task], frozen: LoadedCode | None = None
                  ) -> PictureDrawer | None:
        """A drawer for these tasks, run one after the other here, when they draw
        pictures and a second core is free for it (None otherwise). ``frozen``, the
        batch's :class:`LoadedCode`, is frozen before the drawer is forked."""
        if (not any(task.pictures for task in tasks) or usable_cpus() < 2
                or not sys.platform.startswith("linux") or _address_space_limited()):
            return None
        drawer = cls(frozen)
        if any(_bytes_at_least(task.input, EARLY_DRAWER_BYTES) for task in tasks):
            drawer.prepare()
        return drawer

    def prepare(self) -> None:
        """Load the picture code in a background thread (while an input is read)."""
        if self._loader is None:
            self._loader = threading.Thread(target=_load_pictures, daemon=True,
                                            name="dosewatch-load-pictures")
            self._loader.start()

    def start(self) -> None:
        """Load the picture code here, then fork the second process."""
        if self._process is not None or self._broken:
            return
        self.prepare()
        assert self._loader is not None
        self._loader.join()
        from . import plot  # noqa: F401 - loaded (a failure to load it raises here)

        if self._frozen is not None:
            # Before the fork, as gc.freeze's documentation advises: the drawer's
            # collections neither scan nor copy the pages of what it inherits, and
            # the full collections here while pictures are drawn (two of ~45 ms in a
            # week-long recording) scan only the pictures' objects.
            self._frozen.freeze(collect=False)
        context = multiprocessing.get_context("fork")
        mine, theirs = context.Pipe()
        process = context.Process(target=_drawer_main, args=(theirs, os.getpid()),
                                  name="dosewatch-pictures", daemon=True)
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns of any fork with threads; see the class text.
                warnings.simplefilter("ignore", DeprecationWarning)
                process.start()
        except OSError as exc:  # no process to spare (limits): draw here
            log.info("pictures drawn in one process: cannot start a second (%s)", exc)
            self._broken = True
            mine.close()
            return
        finally:
            theirs.close()
        self._process, self._conn = process, mine

    def wait_ready(self, timeout: float) -> bool:
        """Start the drawer and wait up to ``timeout`` seconds until it can draw;
        whether it can."""
        self.start()
        deadline = time.monotonic() + timeout
        while self._conn is not None and not self._ready and time.monotonic() < deadline:
            if self._conn.poll(min(0.1, max(0.0, deadline - time.monotonic()))):
                self._hear(wait=False)
        return self._ready

    def draw(self, drafts: Sequence[SessionDraft]) -> None:
        """Draw every draft's picture; return when all are written."""
        todo = deque(drafts)
        if len(todo) >= 2:
            self.start()
            if self._conn is not None and not self._ready and self._conn.poll(FORK_READY_S):
                self._hear(wait=False)  # a fork is ready in milliseconds: give it the first
        try:
            while todo or self._busy is not None:
                self._hear(wait=not todo)
                if self._busy is None and self._ready and todo:
                    self._give(todo.popleft())
                if todo:
                    began = time.monotonic()
                    todo.pop().draw()
                    self._slowest_here = max(self._slowest_here, time.monotonic() - began)
        except BaseException:
            self.close()  # a picture in flight: the drawer's state is unknown
            raise

    def _give(self, draft: SessionDraft) -> None:
        assert self._conn is not None
        try:
            self._conn.send((draft.result, str(draft.picture)))
        except (OSError, ValueError):
            self._lost()
            draft.draw()
            return
        self._busy = draft
        self._given_at = time.monotonic()

    def _hear(self, wait: bool) -> None:
        """Take the drawer's next message (waiting for it if ``wait``)."""
        if self._conn is None or self._process is None:
            return
        if wait:
            deadline = self._given_at + DRAWER_STALL_S + 5 * self._slowest_here
            if not wait_ready([self._conn, self._process.sentinel],
                              timeout=max(0.0, deadline - time.monotonic())):
                log.info("the picture process stalled; pictures are drawn in one process")
                self._lost()
                return
        try:
            if not self._conn.poll():
                if not self._process.is_alive():
                    self._lost()
                return
            message = self._conn.recv()
        except (EOFError, OSError):
            self._lost()
            return
        if message == "ready":
            self._ready = True
        elif self._busy is not None:
            busy, self._busy = self._busy, None
            if message == "drawn":
                self.drawn_there += 1
            else:
                busy.draw()  # the same failure, raised here with its own traceback

    def _lost(self) -> None:
        """The drawer died or cannot be reached: its picture is drawn here, and so are
        the rest."""
        busy = self._busy
        self.close()  # killed, if it was drawing
        if busy is not None:
            log.info("the picture process ended; pictures are drawn in one process")
            busy.draw()

    def close(self) -> None:
        """Let the drawer go (it ends when its pipe closes, or with this process)."""
        idle = self._ready and self._busy is None
        self._ready, self._broken, self._busy = False, True, None
        if self._conn is not None:
            if idle:  # it ends at once
                try:
                    self._conn.send(None)
                except (OSError, ValueError):
                    pass
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if not idle:  # still loading, or drawing a picture nobody waits for now
                self._process.kill()
            self._process.join(1.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(1.0)
            self._process = None


def _address_space_limited() -> bool:
    """Whether this process runs under an address-space limit (``ulimit -v``). A second
    process and the picture code loaded early move the point where allocations, thread
    starts or OpenBLAS fail under it by 100-200 MB: there pictures are drawn in one
    process, as they always were."""
    return address_space_limit_mb() is not None


def _load_pictures() -> None:
    try:
        from . import plot  # noqa: F401 - loaded now, while the input is read
    except Exception:  # noqa: BLE001 - PictureDrawer.start imports it again and raises
        pass


def _drawer_main(conn: Connection, parent: int) -> None:
    """The picture process (forked with the picture code loaded): draw what ``conn``
    sends (a session result and a path) until it is closed, answering each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    _watch_parent(parent)
    from .plot import plot_session

    try:
        conn.send("ready")
        while True:
            job = conn.recv()
            if job is None:
                return
            result, path = job
            try:
                plot_session(result, Path(path))
            except Exception:  # noqa: BLE001 - the batch draws it again and reports it
                conn.send("failed")
            else:
                conn.send("drawn")
    except (EOFError, OSError):
        return


def _bytes_at_least(path: Path, limit: int) -> bool:
    """Whether the file, or the files in the folder, at ``path`` hold ``limit`` bytes or
    more (stops counting once they do; unreadable entries count nothing)."""
    total = 0
    try:
        if not path.is_dir():
            return path.stat().st_size >= limit
        for folder, _, files in os.walk(path):
            for name in files:
                try:
                    total += os.stat(os.path.join(folder, name)).st_size
                except OSError:
                    continue
                if total >= limit:
                    return True
    except OSError:
        return False
    return False


def check_workers(workers: object) -> int:
    """``workers`` as a number of local processes: at least 1 (anything else is refused),
    at most the usable cores (more only share the cores and multiply memory: 32 workers
    on 2 cores took 8 GB), with a warning when capped.

    Raises:
        ConfigError: not a whole number of at least 1.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"--workers must be a whole number of at least 1, not {workers!r}",
                          hint="use 1 for one process, or up to the number of cores")
    cores = usable_cpus()
    if workers > cores:
        log.warning("--workers %d: this computer has %d usable cores; using %d", workers,
                    cores, cores)
        return cores
    return workers


def run_batch(
    inputs: Sequence[Path] | Inventory,
    out_dir: Path,
    *,
    config: Config | None = None,
    classifier: str | Classifier | None = None,
    profile: Profile | None = None,
    columns: Mapping[str, str] | None = None,
    workers: int = 1,
    pictures: bool = True,
    progress: bool | None = None,
    on_result: Callable[[str, object], None] | None = None,
    scheduler: str | None = None,
    force: bool = False,
    calibrate: bool = True,
    calibration_dir: Path | None = None,
) -> BatchReport:
    """Analyse every input into ``out_dir``; see the module text.

    Args:
        inputs: input paths, or the :class:`~dosewatch.ingest.discover.Inventory` of
            command-line paths (its failed and skipped entries are listed in
            ``failures.json`` beside the batch's own failures; its folder profiles are
            the profiles of their inputs, under ``profile``). Plain paths get no folder
            profiles: pass ``discover(paths)`` for them.
        classifier: a classifier, or what :func:`~dosewatch.models.registry.get_classifier`
            accepts (a name, a model folder, ``module:Class``); the object itself travels
            to the workers.
        columns: for tables whose headers dosewatch does not recognise, which column
            holds what (passed to every reader).
        workers: local processes (ignored with ``scheduler``): at least 1, at most the
            usable cores (more are capped, with a warning).
        scheduler: address of a Dask distributed scheduler to run the tasks on.
        force: analyse every input again, even when its outputs are complete and current.
        calibrate: learn each participant's calibration from their sessions (see
            :mod:`dosewatch.calibration`) and analyse their sessions with it.
        calibration_dir: where calibration files are read from and written to (default
            ``out_dir/calibration``); files a researcher edited there are used as written.
            The evidence files it keeps make runs into other output folders that share it
            learn from each other's sessions (:func:`pooled_elsewhere`).

    Raises:
        OutputError: ``out_dir`` may not be written (see
            :meth:`~dosewatch.outputs.OutputRoot.claim`), another run holds it or the
            calibration folder, or the tables cannot be written (a full disk).
        ProfileError: a calibration or evidence file in the calibration folder cannot be
            read (:mod:`dosewatch.calibration`).
        ConfigError: ``workers`` is not a whole number of at least 1.
    """
    config = config or Config()
    inventory = inputs if isinstance(inputs, Inventory) else Inventory(inputs=list(inputs))
    roots = tuple(Path(r) for r in (inventory.roots or inventory.inputs))
    if scheduler is None:
        workers = check_workers(workers)
    root = OutputRoot.claim(Path(out_dir), roots)
    classifier = get_classifier(classifier)
    with root.locked(), ExitStack() as held:
        out_dir = root.path
        cal_dir = (Path(calibration_dir) if calibration_dir is not None
                   else out_dir / CALIBRATION_DIR)
        if calibrate:
            held.enter_context(_calibration_lock(cal_dir, out_dir))
        calibrations = read_calibrations(cal_dir) if calibrate else {}
        profiles, refused = _folder_profiles(inventory, profile)
        tasks = [replace(t, learn=calibrate) for t in
                 _tasks(inventory.inputs, root, config, classifier, profile, pictures,
                        columns, calibrations, roots, profiles)
                 if str(t.input) not in refused]
        report = BatchReport()
        report.failures.extend(refused.values())
        report.profiles.extend({"input": s.path, "reason": s.reason}
                               for s in inventory.profile_files)
        report.failures.extend(
            {"input": f.path, "error": "InputError", "reason": f.reason, "hint": f.hint}
            for f in inventory.failed)
        report.unsupported.extend(
            {"input": s.path, "reason": s.reason, "hint": s.hint} for s in inventory.skipped)
        report.followed.extend(
            {"input": s.path, "reason": s.reason} for s in inventory.followed)
        report.parts.extend({"input": s.path, "reason": s.reason} for s in inventory.parts)
        run = _Runner(workers, scheduler, progress, on_result)
        # Before this run writes: an earlier session whose folder an input of this run
        # takes over (the same name) still tells about its participant.
        given = {str(Path(p).resolve()) for p in inventory.inputs} | {
            str(Path(f.path).resolve()) for f in inventory.failed}
        elsewhere = stored_elsewhere(out_dir, given, config)
        pooled = pooled_elsewhere(cal_dir, given, config, elsewhere) if calibrate else []
        first = _pictures_later(tasks) if calibrate else tasks
        done = run(first, report, force)
        report.skipped = run.skip_count(())
        copies = set(mark_duplicates([r for d in done.values() for r in d.rows])[1].copies)
        counting, earlier = (_stored_evidence(elsewhere + pooled, done, copies)
                             if calibrate else ([], {}))
        counted, names = {k.output for k in counting}, {t.name for t in tasks}
        report.elsewhere.extend(
            {"output": str(e.output), "input": e.input, "counted": e.output in counted,
             "replaced": _taken(e.output.name, names)} for e in elsewhere)
        report.pooled.extend({"output": str(e.output), "input": e.input,
                              "counted": e.output in counted} for e in pooled)
        report.earlier_copies.extend(
            {"session": name, "copy_of": str(kept.output), "input": kept.input}
            for name, kept in sorted(earlier.items()))
        try:
            if calibrate:
                fingerprints = {t.input: t.fingerprint for t in tasks}
                displaced = {n for n, k in earlier.items() if k.output in counted}
                redo = _calibration_round(done, calibrations, cal_dir, counting,
                                          copies | displaced, fingerprints)
                drawn_later = {t.input for t in first if t.pictures_later
                               and t.input in done and not done[t.input].pictures} - redo
                if redo or drawn_later:
                    again = [replace(t, calibrations=calibrations, learn=False)
                             for t in tasks if t.input in redo or t.input in drawn_later]
                    log.info("%d inputs analysed again with their participants' calibration"
                             ", %d for their pictures", len(redo & set(done)), len(drawn_later))
                    desc = " and ".join(what for what, due in (("calibrated", redo),
                                                               ("pictures", drawn_later)) if due)
                    first_round = dict(done)
                    failed_before = len(report.failures)
                    done.update(run(again, report, force=True, desc=desc))
                    report.skipped = run.skip_count(again)
                    for failure in report.failures[failed_before:]:
                        _second_round_failed(failure, first_round, redo)
            rows = sorted((row for result in done.values() for row in result.rows),
                          key=lambda r: r.output)
            # Copies of earlier runs' sessions are marked in this run's outputs too
            # (review 2026-11-25b, item 5): tables combined across runs count them once.
            report.rows, report.copies = mark_duplicates(rows, copies_of_earlier(
                rows, [Earlier(e.key, e.output, e.plain) for e in elsewhere + pooled
                       if e.present], out_dir, _unchanged))
            mark_summaries(report.rows, out_dir)
            report.recordings = [r for result in done.values() for r in result.recordings]
            _add_notices(report, done.values())
            _write_tables(report, tasks, out_dir, config)
        except OSError as exc:  # a full disk, a folder taken away: say so, no traceback
            raise OutputError(
                f"cannot write the batch's tables ({plain_reason(exc)}); the session "
                "folders written so far are complete", source=out_dir,
                hint="free some space (or fix the permissions) and run the same command "
                "again: finished sessions are not analysed again") from None
    return report


CALIBRATION_LOCK = ".lock"


@contextmanager
def _calibration_lock(cal_dir: Path, out_dir: Path) -> Iterator[None]:
    """Hold the calibration folder for the run: two runs into different output folders
    that share it (``--calibration DIR``) would each write the participants' calibration
    and evidence as they saw them, and the later would drop the sessions of the other. A
    folder outside the output folder is created for its lock; the output folder's own
    ``calibration``, not yet there, is covered by the output folder's lock. A folder the
    run cannot write a lock into (read-only: a researcher's calibrations to use) is used
    without one.

    Raises:
        OutputError: another run holds it.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    inside = os.path.abspath(cal_dir).startswith(os.path.join(os.path.abspath(out_dir), ""))
    if inside and not Path(cal_dir).is_dir():
        yield
        return
    try:
        Path(cal_dir).mkdir(parents=True, exist_ok=True)
        fd = os.open(Path(cal_dir) / CALIBRATION_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        log.info("calibration folder %s used without a lock (%s)", cal_dir, plain_reason(exc))
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError("another dosewatch run is using this calibration folder",
                              source=cal_dir, hint="wait for it to finish: runs that share "
                              "a calibration folder pool their sessions one after the "
                              "other") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _folder_profiles(inventory: Inventory, override: Profile | None
                     ) -> tuple[dict[Path, Profile], dict[str, dict[str, str]]]:
    """The profile of each input that folder ``profile.toml`` files apply to (see
    :func:`dosewatch.profiles.profile_for_input`: ``override``, the command line's,
    wins), and the failures of the inputs whose profile is refused, by input. Each file
    is read once."""
    cache: dict[Path, Profile | ProfileError] = {}

    def read(path: Path) -> Profile:
        if path not in cache:
            try:
                cache[path] = read_profile(path)
            except ProfileError as exc:
                cache[path] = exc
        found = cache[path]
        if isinstance(found, ProfileError):
            raise found
        return found

    profiles: dict[Path, Profile] = {}
    refused: dict[str, dict[str, str]] = {}
    for path, files in inventory.profiles.items():
        try:
            profiles[path] = profile_for_input(path, files, override, read)
        except ProfileError as exc:
            refused[str(path)] = {"input": str(path), "error": "ProfileError",
                                  "reason": exc.reason, "hint": exc.hint or ""}
    return profiles, refused


def _second_round_failed(failure: dict[str, str], first_round: Mapping[Path, Done],
                         redo: set[Path]) -> None:
    """Say, in an input's failure from the batch's second round, that its sessions are in
    the tables from the first: analysed without its participant's calibration, or
    without their pictures (the session folders are whole either way)."""
    done = first_round.get(Path(failure["input"]))
    if done is None:
        return
    without = ("its participant's calibration" if Path(failure["input"]) in redo
               else "their pictures")
    n = len(done.rows)
    failure["reason"] = (f"{n} session{'s' if n != 1 else ''} in the tables, analysed "
                         f"without {without}: analysing it again failed "
                         f"({failure['reason']})")


def _pictures_later(tasks: Sequence[Task]) -> list[Task]:
    """The tasks of the batch's first round: the pictures of a small input are left to
    the second round when its folder holds other inputs. The folder is the participant
    (:func:`with_participant`, unless a profile names them), so the calibration round
    will likely analyse the input again and draw its pictures then; drawing them in the
    first round too was a third of the time of a folder of watch exports. An input the
    second round does not analyse again for its calibration is read again there for its
    pictures, which costs little for an input under :data:`PICTURES_LATER_MAX_BYTES`."""
    if not any(t.pictures for t in tasks):
        return list(tasks)
    parents = [os.path.dirname(os.path.abspath(t.input)) for t in tasks]
    shared = Counter(parents)
    out = []
    for t, parent in zip(tasks, parents, strict=True):
        files = t.fingerprint.get("files") if t.fingerprint else None
        size = sum(int(f[1]) for f in files) if isinstance(files, list) else None
        if (t.pictures and size is not None and size <= PICTURES_LATER_MAX_BYTES
                and shared[parent] > 1):
            t = replace(t, pictures=False, pictures_later=True,
                        fingerprint={**t.fingerprint, "pictures": False})
        out.append(t)
    return out


def _tasks(inputs: Sequence[Path], root: OutputRoot, config: Config, classifier: Classifier,
           profile: Profile | None, pictures: bool, columns: Mapping[str, str] | None,
           calibrations: Mapping[str, Calibration], roots: tuple[Path, ...],
           profiles: Mapping[Path, Profile] | None = None) -> list[Task]:
    """One task per input, with the fingerprint of what its outputs depend on; an input
    in ``profiles`` (its folders' profile, see :func:`_folder_profiles`) is read with
    that profile instead of ``profile``."""
    model_id = classifier_identity(classifier)
    out_dir = root.path
    tasks = []
    for p, n in zip(inputs, output_names(inputs), strict=True):
        task = Task(Path(p), n, out_dir, config, classifier,
                    (profiles or {}).get(Path(p), profile), pictures,
                    tuple(sorted((columns or {}).items())), calibrations=calibrations,
                    roots=roots, work_dir=root.work, override=profile or Profile())
        try:
            fingerprint = run_fingerprint(task, model_id)
        except OSError:
            fingerprint = {}  # unreadable input: run_task reports it
        tasks.append(replace(task, fingerprint=fingerprint))
    return tasks


@dataclass
class _Runner:
    """Runs tasks where the batch was asked to (skipping those whose outputs are current
    unless forced), with a progress bar; returns what each input gave and adds the
    failures to the report."""

    workers: int
    scheduler: str | None
    progress: bool | None
    on_result: Callable[[str, object], None] | None
    skipped: set[Path] = field(default_factory=set)
    """Inputs whose stored outputs were current (see :meth:`skip_count`)."""

    def skip_count(self, again: Sequence[Task]) -> int:
        """How many inputs the batch did not analyse at all: those skipped as current,
        less those the second round analysed again (for a calibration or their pictures),
        which a summary must not call 'not analysed again'."""
        return len(self.skipped - {t.input for t in again})

    def __call__(self, tasks: Sequence[Task], report: BatchReport, force: bool,
                 desc: str = "analysing") -> dict[Path, Done]:
        done: dict[Path, Done] = {}
        todo = []
        for task in tasks:
            stored = None if force or not task.fingerprint else completed_rows(task)
            if stored is None:
                todo.append(task)
            else:
                done[task.input] = stored
                self.skipped.add(task.input)
        if len(todo) < len(tasks):
            log.info("%d inputs already analysed with the same input and settings: "
                     "skipped (force=True redoes them; those lacking their pictures get "
                     "them in the second round)", len(tasks) - len(todo))
        # progress=None: a bar on a terminal, none in logs (tqdm's own test of the stream).
        bar = tqdm(total=len(todo), unit="input", desc=desc,
                   disable=None if self.progress is None else not self.progress)
        for status, payload in _results(todo, self.workers, self.scheduler):
            if isinstance(payload, Done):
                done[payload.input] = payload
            elif status == "skipped":
                report.unsupported.append(payload)  # type: ignore[arg-type]
            else:
                report.failures.append(payload)  # type: ignore[arg-type]
            if self.on_result is not None:
                self.on_result(status, payload)
            bar.update()
            bar.set_postfix(failed=len(report.failures))
        bar.close()
        return done


@dataclass(frozen=True)
class StoredSession:
    """A session an earlier run analysed from an input this run was not given: a folder
    it left in the output folder (:func:`stored_elsewhere`), or an entry of the
    calibration folder's evidence (:func:`pooled_elsewhere`)."""

    output: Path
    input: str
    """The input as its run recorded it (an absolute path)."""
    index: int
    """Its place among its input's sessions."""
    evidence: Evidence | None
    """What it tells about its participant, when it was analysed with this run's
    configuration (evidence depends on the configuration, not on the calibration) and its
    input is still there unchanged."""
    key: tuple[object, ...] | None = None
    """Its :func:`~dosewatch.duplicates.copy_key`: a copy of a session of this run, or of
    another stored one, is not evidence again."""
    entry: Mapping[str, object] | None = None
    """Its entry in the calibration folder's evidence file (see
    :func:`dosewatch.calibration.evidence_json`), written again while it counts."""
    present: bool = False
    """Whether its input is still there as it was when it was analysed: then a copy of
    it in this run is marked as one (:func:`dosewatch.duplicates.copies_of_earlier`)."""

    @property
    def plain(self) -> tuple[str, str]:
        """Its source and name, for :func:`~dosewatch.duplicates.plainer`."""
        entry = self.entry or {}
        return str(entry.get("source", "")), str(entry.get("session", ""))


def _entry(fingerprint: Mapping[str, object], index: int, row: SessionRow,
           evidence: Evidence) -> dict[str, object]:
    """A session's entry in its participant's evidence file (see
    :data:`dosewatch.calibration.EVIDENCE_ENTRY_KEYS`)."""
    return {"input": fingerprint.get("input"), "index": index,
            "files": fingerprint.get("files"), "config": fingerprint.get("config"),
            "participant": row.participant, "session": row.session, "source": row.source,
            "output": os.path.abspath(row.output),
            "start_time": None if row.start_time is None else row.start_time.isoformat(),
            "content_digest": row.content_digest, "evidence": evidence.to_json()}


def stored_elsewhere(out_dir: Path, given: set[str], config: Config) -> list[StoredSession]:
    """The session folders in ``out_dir`` whose input (as ``run.json`` records it,
    resolved) is not in ``given``: what earlier runs into the same output folder analysed.

    Their evidence counts in their participants' calibration, so that the calibration
    the next run reuses grows with every week given to it; keyed by input and session, a
    session analysed again (its input given again) counts once. They stay out of this
    run's tables: they were analysed with an earlier calibration (this run may have
    changed it) and perhaps other settings, from inputs this run did not look at."""
    found = []
    want = config_digest(config)
    try:
        folders = sorted(p for p in Path(out_dir).iterdir()
                         if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    for folder in folders:
        stored = _stored_run(folder)
        if not isinstance(stored, dict) or not isinstance(stored.get("fingerprint"), dict):
            continue
        fingerprint = stored["fingerprint"]
        source = fingerprint.get("input")
        if not isinstance(source, str) or source in given:
            continue
        outputs = stored.get("outputs")
        index = outputs.index(folder.name) if isinstance(outputs, list) and \
            folder.name in outputs else 0
        evidence, present = None, _unchanged(source, fingerprint.get("files"))
        if (fingerprint.get("config") == want and isinstance(stored.get("evidence"), dict)
                and present):
            try:
                evidence = Evidence.from_json(stored["evidence"])
            except (TypeError, ValueError):
                evidence = None
        key, entry = None, None
        try:
            row = SessionRow.from_record(stored["row"])
            key = copy_key(row)
            if evidence is not None:
                entry = _entry(fingerprint, index, row, evidence)
        except (KeyError, TypeError, ValueError):
            pass
        found.append(StoredSession(folder, source, index, evidence, key, entry, present))
    return found


def pooled_elsewhere(cal_dir: Path, given: set[str], config: Config,
                     local: Sequence[StoredSession] = ()) -> list[StoredSession]:
    """The sessions the calibration folder's evidence files keep (other runs', into
    other output folders) whose input is not in ``given`` and that are not among
    ``local`` (this output folder's, :func:`stored_elsewhere`: the same input and
    session). Their evidence counts as that of :func:`stored_elsewhere` does: analysed
    with this run's configuration, from an input still there unchanged.

    Raises:
        ProfileError: an evidence file is damaged (:func:`dosewatch.calibration.read_evidence`).
    """
    want = config_digest(config)
    seen = {(s.input, s.index) for s in local}
    found = []
    for path, entry in read_evidence(cal_dir):
        source, index = entry["input"], entry["index"]
        if not isinstance(source, str) or isinstance(index, bool) \
                or not isinstance(index, int):
            raise ProfileError("an evidence file's session has no input or index",
                               source=str(path), hint="delete the file: the calibration is "
                               "then learned from the next run's sessions only")
        if source in given or (source, index) in seen:
            continue
        seen.add((source, index))
        evidence, key = None, None
        try:
            start = entry["start_time"]
            key = activity_key(
                str(entry["participant"] or ""), None if start is None else
                datetime.fromisoformat(str(start)), entry["content_digest"])  # type: ignore[arg-type]
            present = _unchanged(source, entry["files"])
            if entry["config"] == want and present:
                evidence = Evidence.from_json(entry["evidence"])  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ProfileError(f"the evidence of {source} is damaged", source=str(path),
                               hint="delete the file: the calibration is then learned "
                               "from the next run's sessions only") from None
        found.append(StoredSession(Path(str(entry["output"])), source, index, evidence,
                                   key, entry, present))
    return found


def _taken(folder: str, names: set[str]) -> bool:
    """Whether a session folder is one this run's inputs write (``name``, or ``name-N``
    for an input of several sessions)."""
    base, _, number = folder.rpartition("-")
    return folder in names or (number.isdigit() and base in names)


def _unchanged(source: str, files: object) -> bool:
    """Whether the input an earlier run analysed is still there as it was then (a file
    deleted from the study, or exported again, no longer speaks for the participant)."""
    try:
        return json.loads(json.dumps(input_fingerprint(Path(source)))) == files
    except OSError:
        return False


def _stored_evidence(stored: Sequence[StoredSession], done: Mapping[Path, Done],
                     copies: set[str]
                     ) -> tuple[list[StoredSession], dict[str, StoredSession]]:
    """The sessions of earlier runs whose evidence counts in this run's calibration
    round, and this run's sessions that are copies of one of them (by name, with it;
    the one of the two that counts is in the first list or not).

    A stored session counts when it has evidence, belongs to a participant this run
    analyses and is not the same session as an earlier one in ``stored`` (its input and
    place). Of the copies of one activity (this run's and earlier runs', ``copies``
    being this run's copies of each other), one counts: the one
    :func:`~dosewatch.duplicates.mark_duplicates` would keep among them in one batch, so
    that runs one after the other learn what one run of all of them learns."""
    here = {e.participant or "" for result in done.values() for e in result.evidence}
    current = {}
    for result in done.values():
        for row in result.rows:
            key = copy_key(row)
            if key is not None and row.session not in copies:
                current[key] = row
    best: dict[tuple[object, ...], StoredSession] = {}
    counting, places = [], set()
    for kept in sorted(stored, key=lambda k: (k.input, k.index)):
        if kept.evidence is None or (kept.evidence.participant or "") not in here \
                or (kept.input, kept.index) in places:
            continue
        places.add((kept.input, kept.index))
        if kept.key is None:
            counting.append(kept)
        elif kept.key not in best or plainer(kept.plain, best[kept.key].plain):
            best[kept.key] = kept
    earlier: dict[str, StoredSession] = {}
    for key, kept in best.items():
        row = current.get(key)
        if row is not None:
            earlier[row.session] = kept
            if not plainer(kept.plain, (row.source, row.session)):
                continue  # this run's session is the one kept
        counting.append(kept)
    return sorted(counting, key=lambda k: (k.input, k.index)), earlier


def _calibration_round(done: Mapping[Path, Done], calibrations: dict[str, Calibration],
                       cal_dir: Path, stored: Sequence[StoredSession] = (),
                       copies: set[str] = frozenset(),
                       fingerprints: Mapping[Path, Mapping[str, object]] | None = None
                       ) -> set[Path]:
    """Learn each participant's calibration from the evidence of their sessions (with
    that of the ``stored`` sessions of earlier runs that count, see
    :func:`_stored_evidence`); write the calibrations that changed, and each
    participant's evidence file (what the calibration was learned from, for the next run
    that writes to ``cal_dir``; ``fingerprints``: each input's fingerprint, see
    :func:`run_fingerprint`); return the inputs whose sessions must be analysed again
    because their participant's calibration changed. A participant needs at least
    :data:`MIN_CALIBRATION_SESSIONS` sessions (one session is its own evidence already).
    The sessions named in ``copies`` (copies of another, :mod:`dosewatch.duplicates`)
    are not evidence again. Updates ``calibrations`` in place."""
    keyed: dict[str, list[tuple[str, int, Evidence, Mapping[str, object] | None]]] = {}
    inputs_of: dict[str, set[Path]] = {}
    for task_input, result in done.items():
        key = str(Path(task_input).resolve())
        fingerprint = (fingerprints or {}).get(task_input) or {}
        for i, (row, evidence) in enumerate(zip(result.rows, result.evidence, strict=True)):
            who = evidence.participant or ""
            inputs_of.setdefault(who, set()).add(task_input)  # a copy too is analysed with it
            if row.session not in copies:
                entry = _entry(fingerprint, i, row, evidence) if fingerprint else None
                keyed.setdefault(who, []).append((key, i, evidence, entry))
    for kept in stored:
        assert kept.evidence is not None  # _stored_evidence keeps only those
        keyed.setdefault(kept.evidence.participant or "", []).append(
            (kept.input, kept.index, kept.evidence, kept.entry))
    # In the order of the inputs (and of the sessions in each), not in the order they
    # were done (a rerun puts the inputs it skipped first), nor in that of the runs that
    # gave them: learning sums in that order, and a sum in another order can round a
    # value the other way (-0.0 for 0.0), which changes the calibration's digest and has
    # all the participant's inputs analysed again for nothing.
    ordered = {who: sorted(items, key=lambda x: x[:2]) for who, items in keyed.items()}
    redo: set[Path] = set()
    for who, items in sorted(ordered.items()):
        if not who:
            continue
        _write_evidence(cal_dir, who, [entry for *_, entry in items if entry is not None])
        evidence = [e for _, _, e, _ in items]
        if len(evidence) < MIN_CALIBRATION_SESSIONS:
            continue
        old = calibrations.get(who)
        new = learn(who, evidence, previous=old)
        if old is None and not new.learned:
            continue  # nothing learned (acceleration-only sessions): nothing would change
        if old is None or new.digest != old.digest:
            cal_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(calibration_file(cal_dir, who), calibration_toml(new))
            calibrations[who] = new
        # Inputs that learned the same calibration from their own sessions are done.
        redo |= {i for i in inputs_of[who] if done[i].calibration_digests.get(who) != new.digest}
    return redo


def _write_evidence(cal_dir: Path, who: str, entries: Sequence[Mapping[str, object]]) -> None:
    """Write a participant's evidence file when it changed (written even before their
    sessions are enough for a calibration: the next run's may make them enough)."""
    if not entries:
        return
    path = evidence_file(cal_dir, who)
    text = evidence_json(who, entries)
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def _write_tables(report: BatchReport, tasks: Sequence[Task], out_dir: Path,
                  config: Config) -> None:
    order = {str(t.input): i for i, t in enumerate(tasks)}
    report.rows.sort(key=lambda r: r.output)
    report.failures.sort(key=lambda f: order.get(f["input"], -1))
    write_rows(report.rows, out_dir)
    write_failures(report.failures, report.unsupported, out_dir / "failures.json",
                   report.followed, report.profiles, report.elsewhere, report.parts)
    # The report shows the configuration the tables were made with.
    atomic_write_text(out_dir / "config.toml", config.to_toml())
