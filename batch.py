"""Many sessions: read, analyse and write each one, in parallel, past bad inputs.

Each input is handled whole inside one worker (read → analyse → write its folder), and
only a small summary row travels back, so memory stays bounded however many sessions
there are; a bounded number of tasks is in flight at any time. A failing input becomes a
row of ``failures.json`` with its reason; the batch goes on. ``sessions.csv`` and
``failures.json`` are rewritten atomically at the end.

Where the work runs: one process (``workers=1``), a local process pool (``workers=N``),
or a Dask distributed cluster (``scheduler="tcp://host:8786"``): the same
:func:`run_task` runs everywhere, so the outputs are the same.

Resuming: every session folder is written whole (temporary name, then rename) together
with ``run.json``, which records the input's fingerprint (sizes and modification times
of its files), the configuration, classifier, model and options, and the row the session
gave in ``sessions.csv``. A rerun skips a session whose folder is complete and whose
``run.json`` matches, unless ``force``; so a batch killed half-way and run again ends
with the same outputs as one clean run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import shutil
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from .analysis import analyze_session
from .calibration import (
    Calibration,
    Evidence,
    calibration_file,
    calibration_toml,
    learn,
    read_calibrations,
)
from .config import Config
from .errors import DosewatchError
from .freeliving import read_record, split_free_living, write_record
from .ingest.discover import Inventory
from .models.base import Classifier
from .models.registry import classifier_identity, get_classifier
from .outputs import (
    atomic_write_text,
    output_names,
    to_json,
    write_failures,
    write_rows,
    write_session,
)
from .rows import SessionRow
from .session import Profile, Session

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
CALIBRATION_DIR = "calibration"
MIN_CALIBRATION_SESSIONS = 2
SCHEDULER_TIMEOUT_S = 20.0  # how long to try reaching a Dask scheduler before giving up


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


@dataclass(frozen=True)
class Done:
    """What one input gave: the rows of its sessions, and what each tells about its
    participant (for their calibration)."""

    input: Path
    rows: list[SessionRow]
    evidence: list[Evidence]
    recordings: list[dict] = field(default_factory=list)
    """Summaries of the free-living recordings the input held (see freeliving.py)."""


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


def run_fingerprint(task: Task, model_id: str) -> dict[str, object]:
    """What a session's outputs depend on (see the module text)."""
    from . import __version__

    profile = None if task.profile is None else repr(task.profile)
    return {
        "input": str(task.input.resolve()),
        "files": input_fingerprint(task.input),
        "config": hashlib.sha256(task.config.to_toml().encode()).hexdigest()[:16],
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


def completed_rows(task: Task) -> Done | None:
    """The stored rows (and evidence) of ``task``'s sessions when their outputs are
    complete and current: every session folder the input gave, with the same fingerprint
    and analysed with the participant's current calibration."""
    want = json.loads(json.dumps(task.fingerprint))
    record = read_record(task.out_dir, task.name)  # a free-living input's sessions
    first = record or _stored_run(task.out_dir / task.name) or _stored_run(
        task.out_dir / f"{task.name}-1")
    if first is None or (record is not None and record.get("fingerprint") != want):
        return None
    names = first.get("outputs") if record is not None else first.get("outputs") or [task.name]
    if not isinstance(names, list):
        return None
    rows, evidence = [], []
    for name in names:
        folder = task.out_dir / str(name)
        stored = _stored_run(folder)
        if (stored is None or stored.get("fingerprint") != want
                or not (folder / "summary.json").is_file()):
            return None
        try:
            row = SessionRow.from_record(stored["row"])
            used = stored.get("calibration")
            current = task.calibrations.get(row.participant or "")
            if used != (None if current is None else current.digest):
                return None  # the participant's calibration changed since
            rows.append(row)
            evidence.append(Evidence.from_json(stored["evidence"]))
        except (KeyError, TypeError, ValueError):
            return None
    return Done(task.input, rows, evidence, [] if record is None else
                list(record.get("recordings") or []))


@dataclass
class BatchReport:
    """What a batch produced: one row per analysed session, one entry per failed input."""

    rows: list[SessionRow] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    unsupported: list[dict[str, str]] = field(default_factory=list)
    skipped: int = 0
    recordings: list[dict] = field(default_factory=list)
    """Each free-living recording's summary: its non-wear and the sessions found."""

    @property
    def ok(self) -> bool:
        return not self.failures


def _remove_leftovers(out_dir: Path) -> None:
    """Remove temporary session folders a killed batch left behind (``.name.*.partial``
    and ``.name.*.old``): they are never outputs, and a rerun redoes their sessions."""
    for entry in out_dir.iterdir():
        if entry.name.startswith(".") and entry.name.endswith((".partial", ".old")) \
                and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def with_participant(session: Session, input_path: Path) -> Session:
    """Sessions are grouped by participant: the profile's ``id``, or else the name of the
    folder that holds the input (``study/P01/run.fit`` and ``study/P01/day1/`` both
    belong to ``P01``)."""
    if session.profile.id is not None:
        return session
    parent = Path(input_path).resolve().parent.name
    if not parent:
        return session
    return replace(session, profile=replace(session.profile, id=parent))


def run_task(task: Task) -> tuple[str, Done | dict]:
    """Analyse one input (every session it holds), each session with its participant's
    calibration when there is one. Never raises: failures come back as
    ``("failed", reason)``."""
    from .ingest.registry import ReadOptions, read_all

    try:
        sessions = read_all(task.input, ReadOptions(profile=task.profile, name=task.name,
                                                    columns=dict(task.columns)))
        sessions, recordings = split_free_living(sessions, task.config)
        names = [s.name for s in sessions]
        done = Done(task.input, [], [])
        for session in sessions:
            session = with_participant(session, task.input)
            cal = task.calibrations.get(session.profile.id or "")
            result = analyze_session(session, task.config, task.classifier, cal)
            folder = task.out_dir / result.name
            row = SessionRow.from_result(result, str(folder))
            evidence = result.evidence()
            run = to_json({"fingerprint": task.fingerprint, "row": row.to_record(),
                           "outputs": names, "evidence": evidence.to_json(),
                           "calibration": None if cal is None else cal.digest})
            write_session(result, task.out_dir, result.name, picture=task.pictures,
                          extra={RUN_FILE: run})
            done.rows.append(row)
            done.evidence.append(evidence)
        write_record(task.out_dir, task.name, recordings, task.fingerprint, names)
        done.recordings.extend(r.summary() for r in recordings)
        return "ok", done
    except DosewatchError as exc:
        return "failed", {
            "input": str(task.input),
            "error": type(exc).__name__,
            "reason": exc.reason,
            "hint": exc.hint or "",
        }
    except MemoryError:
        return "failed", {
            "input": str(task.input),
            "error": "MemoryError",
            "reason": "out of memory while analysing this input",
            "hint": "run it alone, or with fewer --workers",
        }
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the batch; it is reported
        return "failed", {
            "input": str(task.input),
            "error": type(exc).__name__,
            "reason": f"internal error: {exc}",
            "hint": "please report this with the input file; traceback: "
            + traceback.format_exc(limit=3).replace("\n", " | "),
        }


def _dask_results(tasks: Sequence[Task], scheduler: str) -> Iterator[tuple[str, object]]:
    """Run the tasks on a Dask distributed cluster, a bounded number at a time."""
    from .errors import ConfigError

    try:
        from distributed import Client, as_completed
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
        # pure=False: the same task run twice (a rerun) must run, not come from a cache.
        first = [client.submit(run_task, t, pure=False) for t in islice(queue, slots)]
        pending = as_completed(first)
        for future in pending:
            yield future.result()
            future.release()
            task = next(queue, None)
            if task is not None:
                pending.add(client.submit(run_task, task, pure=False))


def _results(tasks: Sequence[Task], workers: int, scheduler: str | None = None
             ) -> Iterator[tuple[str, object]]:
    if scheduler:
        yield from _dask_results(tasks, scheduler)
        return
    if workers <= 1 or len(tasks) <= 1:
        yield from map(run_task, tasks)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: set[Future] = set()
        queue = iter(tasks)
        # Keep a bounded number of tasks in flight: memory does not grow with the batch.
        for task in queue:
            pending.add(pool.submit(run_task, task))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                task = next(queue, None)
                if task is not None:
                    pending.add(pool.submit(run_task, task))


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
            ``failures.json`` beside the batch's own failures).
        classifier: a classifier, or what :func:`~dosewatch.models.registry.get_classifier`
            accepts (a name, a model folder, ``module:Class``); the object itself travels
            to the workers.
        columns: for tables whose headers dosewatch does not recognise, which column
            holds what (passed to every reader).
        workers: local processes (ignored with ``scheduler``).
        scheduler: address of a Dask distributed scheduler to run the tasks on.
        force: analyse every input again, even when its outputs are complete and current.
        calibrate: learn each participant's calibration from their sessions (see
            :mod:`dosewatch.calibration`) and analyse their sessions with it.
        calibration_dir: where calibration files are read from and written to (default
            ``out_dir/calibration``); files a researcher edited there are used as written.
    """
    config = config or Config()
    inventory = inputs if isinstance(inputs, Inventory) else Inventory(inputs=list(inputs))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out_dir)
    cal_dir = Path(calibration_dir) if calibration_dir is not None else out_dir / CALIBRATION_DIR
    calibrations = read_calibrations(cal_dir) if calibrate else {}
    tasks = _tasks(inventory.inputs, out_dir, config, get_classifier(classifier), profile,
                   pictures, columns, calibrations)
    report = BatchReport()
    report.failures.extend(
        {"input": f.path, "error": "InputError", "reason": f.reason, "hint": f.hint}
        for f in inventory.failed)
    report.unsupported.extend(
        {"input": s.path, "reason": s.reason, "hint": s.hint} for s in inventory.skipped)
    run = _Runner(workers, scheduler, progress, on_result)
    done = run(tasks, report, force)
    if calibrate:
        redo = _calibration_round(done, calibrations, cal_dir)
        if redo:
            again = [replace(t, calibrations=calibrations) for t in tasks if t.input in redo]
            log.info("%d inputs analysed again with their participants' calibration",
                     len(again))
            done.update(run(again, report, force=True, desc="calibrated"))
    report.rows = [row for result in done.values() for row in result.rows]
    report.recordings = [r for result in done.values() for r in result.recordings]
    _write_tables(report, tasks, out_dir, config)
    return report


def _tasks(inputs: Sequence[Path], out_dir: Path, config: Config, classifier: Classifier,
           profile: Profile | None, pictures: bool, columns: Mapping[str, str] | None,
           calibrations: Mapping[str, Calibration]) -> list[Task]:
    """One task per input, with the fingerprint of what its outputs depend on."""
    model_id = classifier_identity(classifier)
    tasks = []
    for p, n in zip(inputs, output_names(inputs), strict=True):
        task = Task(Path(p), n, out_dir, config, classifier, profile, pictures,
                    tuple(sorted((columns or {}).items())), calibrations=calibrations)
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
                report.skipped += 1
        if len(todo) < len(tasks):
            log.info("%d inputs already analysed with the same input and settings: "
                     "skipped (force=True redoes them)", len(tasks) - len(todo))
        # progress=None: a bar on a terminal, none in logs (tqdm's own test of the stream).
        bar = tqdm(total=len(todo), unit="input", desc=desc,
                   disable=None if self.progress is None else not self.progress)
        for status, payload in _results(todo, self.workers, self.scheduler):
            if isinstance(payload, Done):
                done[payload.input] = payload
            else:
                report.failures.append(payload)  # type: ignore[arg-type]
            if self.on_result is not None:
                self.on_result(status, payload)
            bar.update()
            bar.set_postfix(failed=len(report.failures))
        bar.close()
        return done


def _calibration_round(done: Mapping[Path, Done], calibrations: dict[str, Calibration],
                       cal_dir: Path) -> set[Path]:
    """Learn each participant's calibration from the evidence of their sessions; write
    the calibrations that changed; return the inputs whose sessions must be analysed
    again because their participant's calibration changed. A participant needs at least
    :data:`MIN_CALIBRATION_SESSIONS` sessions (one session is its own evidence already).
    Updates ``calibrations`` in place."""
    by_participant: dict[str, list[Evidence]] = {}
    inputs_of: dict[str, set[Path]] = {}
    for task_input, result in done.items():
        for evidence in result.evidence:
            who = evidence.participant or ""
            by_participant.setdefault(who, []).append(evidence)
            inputs_of.setdefault(who, set()).add(task_input)
    redo: set[Path] = set()
    for who, evidence in sorted(by_participant.items()):
        if not who or len(evidence) < MIN_CALIBRATION_SESSIONS:
            continue
        old = calibrations.get(who)
        new = learn(who, evidence, previous=old)
        if old is not None and new.digest == old.digest:
            continue
        if old is None and (new.hr_max, new.hr_rest, new.fitness_k) == (None, None, None) \
                and not new.acceleration:
            continue  # nothing learned (acceleration-only sessions): nothing would change
        cal_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(calibration_file(cal_dir, who), calibration_toml(new))
        calibrations[who] = new
        redo |= inputs_of[who]
    return redo


def _write_tables(report: BatchReport, tasks: Sequence[Task], out_dir: Path,
                  config: Config) -> None:
    order = {str(t.input): i for i, t in enumerate(tasks)}
    report.rows.sort(key=lambda r: r.output)
    report.failures.sort(key=lambda f: order.get(f["input"], -1))
    write_rows(report.rows, out_dir)
    write_failures(report.failures, report.unsupported, out_dir / "failures.json")
    # The report shows the configuration the tables were made with.
    atomic_write_text(out_dir / "config.toml", config.to_toml())
