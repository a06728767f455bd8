"""Many sessions: read, analyse and write each one, in a process pool, past bad inputs.

Each input is handled whole inside one worker (read → analyse → write its folder), and
only a small summary row travels back, so memory stays bounded however many sessions
there are. A failing input becomes a row of ``failures.json`` with its reason; the batch
goes on. ``sessions.csv`` and ``failures.json`` are rewritten atomically at the end.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from .analysis import analyze_session
from .config import Config
from .errors import DosewatchError
from .models.classifier import get_classifier
from .outputs import output_names, session_row, write_failures, write_session, write_sessions_table
from .session import Profile, Session


@dataclass(frozen=True)
class Task:
    input: Path
    name: str
    out_dir: Path
    config: Config
    classifier: str
    profile: Profile | None
    pictures: bool


@dataclass
class BatchReport:
    """What a batch produced: one row per analysed session, one entry per failed input."""

    rows: list[dict[str, object]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


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


def run_task(task: Task) -> tuple[str, dict]:
    """Analyse one input. Never raises: failures come back as ``("failed", reason)``."""
    from .ingest import read_session

    try:
        session = with_participant(read_session(task.input, profile=task.profile), task.input)
        result = analyze_session(session, task.config, get_classifier(task.classifier))
        folder = write_session(result, task.out_dir, task.name, picture=task.pictures)
        return "ok", session_row(result, str(folder))
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


def _results(tasks: Sequence[Task], workers: int) -> Iterator[tuple[str, dict]]:
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
    inputs: Sequence[Path],
    out_dir: Path,
    *,
    config: Config | None = None,
    classifier: str = "rules",
    profile: Profile | None = None,
    workers: int = 1,
    pictures: bool = True,
    progress: bool | None = None,
    on_result: Callable[[str, dict], None] | None = None,
) -> BatchReport:
    """Analyse every input into ``out_dir``; see the module text."""
    config = config or Config()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = output_names(inputs)
    tasks = [
        Task(Path(p), n, out_dir, config, classifier, profile, pictures)
        for p, n in zip(inputs, names, strict=True)
    ]
    report = BatchReport()
    # progress=None: a bar on a terminal, none in logs (tqdm's own test of the stream).
    bar = tqdm(total=len(tasks), unit="session", desc="analysing",
               disable=None if progress is None else not progress)
    for status, payload in _results(tasks, workers):
        if status == "ok":
            report.rows.append(payload)
        else:
            report.failures.append(payload)
        if on_result is not None:
            on_result(status, payload)
        bar.update()
        bar.set_postfix(failed=len(report.failures))
    bar.close()
    order = {str(t.input): i for i, t in enumerate(tasks)}
    report.rows.sort(key=lambda r: r["output"])
    report.failures.sort(key=lambda f: order.get(f["input"], 0))
    write_sessions_table(report.rows, out_dir / "sessions.csv")
    write_failures(report.failures, out_dir / "failures.json")
    return report
