"""Live classification: the batch analysis, rerun on the samples recorded so far.

:class:`LiveAnalysis` keeps every decoded sample the recorder writes to the recording (the
same values, times and device choice), and every ``interval_s`` of session time it builds
a :class:`~dosewatch.session.Session` from them exactly as
:func:`dosewatch.recording.read_recording` builds it from the file (both through
:mod:`dosewatch.recording.streams`), and runs
:func:`dosewatch.analysis.analyze_session` on it with the same configuration and
classifier. So the live labels, bouts and dose are the batch ones on the data so far, and
once the session ends they are identical: there is one analysis, not a live approximation
of it.

It is cheap enough to redo from scratch: one update on a one-hour session with 200 Hz
acceleration and heart rate takes 30-100 ms of one core (``scripts/bench_live.py``), and
runs in a worker thread so that notifications keep flowing meanwhile. At most one update
runs at a time; when playback is accelerated so much that an update takes longer than
``interval_s`` of session time, updates simply come further apart.

What an update reports is a :class:`LiveStatus`: the current heart rate and %HRR, the
current epoch's label (and where that epoch starts: a label belongs to an epoch, the
heart rate to the newest sample), the current bout's qualifying minutes counting up to the
dose (30 min) and where that bout started, and the moment the dose was met: announced
once, by the first update at or after that moment (``dose_met_at_s`` is the end of the
epoch that completed the dose, in seconds from the session start, as in
``summary.json``; the analysis may find it while that epoch is still filling, and the
announcement waits for the moment itself). Labels of the newest epochs can still change
while their heart rate (read ``lag_s`` later) and the classifier's look-ahead
(:data:`dosewatch.models.inputs.LOOKAHEAD` epochs) fill in, so a bout's minutes can go
down as well as up; ``bout_start_s`` tells a revised bout from a new one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..analysis import SessionResult, analyze_session
from ..calibration import Calibration
from ..config import Config
from ..errors import DosewatchError
from ..features import hr as hrmod
from ..models.base import Classifier
from ..models.registry import get_classifier
from ..recording.streams import RecordedSamples, session_from_samples
from ..session import Profile, Session
from ..spec.labels import label_names, levels

__all__ = ["LiveAnalysis", "LiveStatus", "current_bout"]

logger = logging.getLogger(__name__)

_INITIAL_CAPACITY = 1024


class _Column:
    """An append-only array with amortised O(1) appends.

    :meth:`view` returns the filled part without copying. Rows already filled are never
    written again (a full buffer is copied into a larger one), so a view taken earlier
    stays valid and unchanged while a worker thread reads it.
    """

    def __init__(self, width: int = 0, dtype: type = np.float64) -> None:
        self._shape = (width,) if width else ()
        self._data = np.empty((_INITIAL_CAPACITY, *self._shape), dtype=dtype)
        self.n = 0

    def extend(self, values: ArrayLike) -> None:
        values = np.asarray(values, dtype=self._data.dtype).reshape(-1, *self._shape)
        end = self.n + values.shape[0]
        if end > self._data.shape[0]:
            capacity = max(end, 2 * self._data.shape[0])
            grown = np.empty((capacity, *self._shape), dtype=self._data.dtype)
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n : end] = values
        self.n = end

    def append(self, value: float) -> None:
        if self.n == self._data.shape[0]:
            self.extend([value])
            return
        self._data[self.n] = value
        self.n += 1

    def view(self) -> NDArray[Any]:
        """The filled rows, read-only: the analysis gets them without a copy and must
        never write into the live buffers."""
        out = self._data[: self.n]
        out.flags.writeable = False
        return out


class _HrBuffer:
    def __init__(self) -> None:
        self.t, self.bpm, self.rr = _Column(), _Column(), _Column()

    @property
    def n(self) -> int:
        return self.t.n


class _AccBuffer:
    def __init__(self) -> None:
        self.t = _Column()
        self.xyz = _Column(3, np.float32)  # the session's own dtype: no copy when built

    @property
    def n(self) -> int:
        return self.t.n


class _SpeedBuffer:
    def __init__(self) -> None:
        self.t, self.mps, self.cadence, self.grade = _Column(), _Column(), _Column(), _Column()

    @property
    def n(self) -> int:
        return self.t.n


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The samples of one update: read-only views, taken in the event loop."""

    samples: RecordedSamples
    now: float


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """What one live update found.

    Attributes:
        update: the update's number (1, 2, ...).
        now: host time (Unix s, on the recorder's clock) of the newest sample used.
        start_unix_s: host time of the session start (its earliest sample).
        elapsed_s: ``now`` minus the session start.
        hr_bpm: the newest heart rate, None without heart rate.
        pct_hrr: that heart rate as %HRR with the analysis' HR_rest and HR_max.
        label: the current (newest) epoch's label: ``rest``, ``constant``,
            ``intermediate``, ``accelerating`` (``missing`` without data).
        label_epoch_s: where that epoch starts, s from the session start.
        level: its intensity level (rest, light, intermediate, vigorous; '' unknown).
        bout_minutes: qualifying minutes of the current bout (one that the next epochs can
            still extend), 0 when there is none.
        bout_start_s: where the current bout starts, s from the session start (None: no
            current bout).
        longest_bout_minutes: qualifying minutes of the longest bout so far.
        dose_minutes: the dose (qualifying minutes a bout needs).
        dose_met: a bout has met the dose, and the session has reached that moment.
        dose_met_at_s: when, in seconds from the session start (the value announced).
        dose_announced: this is the update that announces it (the first one at or after
            the moment).
        session_class: the session's class so far.
        minutes: minutes per label so far.
        intensity_source: ``heart_rate`` or ``acceleration``.
        compute_s: wall time the update took (building the session and analysing it).
        final: the end-of-session analysis of everything recorded.
        result: the full analysis.
    """

    update: int
    now: float
    start_unix_s: float
    elapsed_s: float
    hr_bpm: float | None
    pct_hrr: float | None
    label: str
    level: str
    bout_minutes: float
    longest_bout_minutes: float
    label_epoch_s: float | None
    bout_start_s: float | None
    dose_minutes: float
    dose_met: bool
    dose_met_at_s: float | None
    dose_announced: bool
    session_class: str
    minutes: dict[str, float]
    intensity_source: str
    compute_s: float
    final: bool
    result: SessionResult


def current_bout(result: SessionResult) -> Any:
    """The bout the next epochs can still extend (it ends within the longest tolerated
    break of the newest epoch), or None."""
    if not result.bouts:
        return None
    config = result.config
    max_gap = int(math.floor(config.bouts.max_break_min / config.epoch_min + 1e-9))
    last = result.bouts[-1]
    return last if last.end_epoch >= result.features.n - max_gap else None


class LiveAnalysis:
    """Rolling batch analysis of a session being recorded.

    Feed it the decoded samples (the recorder does) with :meth:`add_hr`, :meth:`add_acc`
    and :meth:`add_speed`, call :meth:`poke` with the current time whenever data arrived,
    and listen for :class:`LiveStatus` updates with :meth:`subscribe`. :meth:`finish` runs
    the final analysis of everything.

    Args:
        profile: the participant (the one stored in the recording).
        config: the analysis configuration.
        classifier: a classifier, a classifier name, or None for the default
            (:data:`dosewatch.models.registry.DEFAULT_CLASSIFIER`).
        interval_s: session seconds between updates (at least; see the module text).
        calibration: the participant's calibration (see :mod:`dosewatch.calibration`):
            the same file a batch analysis of the recording uses, so live and batch give
            the same verdict.
        name: the session's name in the results.
    """

    def __init__(
        self,
        *,
        profile: Profile | None = None,
        config: Config | None = None,
        classifier: Classifier | str | None = None,
        interval_s: float = 10.0,
        calibration: Calibration | None = None,
        name: str = "live",
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s!r}")
        self.profile = profile
        self.config = config or Config()
        if classifier is None or isinstance(classifier, str):
            classifier = get_classifier() if classifier is None else get_classifier(classifier)
        self.classifier: Classifier = classifier
        self.interval_s = float(interval_s)
        self.calibration = calibration
        self.name = name
        self._hr: dict[int, _HrBuffer] = {}
        self._acc: dict[int, _AccBuffer] = {}
        self._speed: dict[int, _SpeedBuffer] = {}
        self._listeners: list[Callable[[LiveStatus], None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[LiveStatus | None] | None = None
        self._next_due: float | None = None
        self._updates = 0
        self._errors_logged: set[str] = set()
        self.status: LiveStatus | None = None
        """The newest status."""
        self.dose_met_at_s: float | None = None
        """The dose moment as first announced (session seconds), or None."""
        self.dose_announced_elapsed_s: float | None = None
        """Session seconds at which the update that announced the dose ran."""
        self.compute_times: list[float] = []
        """Wall seconds of each update, for measurements."""
        self.last_error: str | None = None

    # -- samples ----------------------------------------------------------------------

    def add_hr(self, device_id: int, t: float, bpm: float, rr_ms: float | None = None) -> None:
        """One heart-rate value at host time ``t`` and the newest RR interval sent with it
        (ms; None or NaN when none)."""
        buf = self._hr.get(device_id)
        if buf is None:
            buf = self._hr[device_id] = _HrBuffer()
        buf.t.append(t)
        buf.bpm.append(bpm)
        buf.rr.append(math.nan if rr_ms is None else float(rr_ms))

    def add_acc(self, device_id: int, t: ArrayLike, xyz_g: ArrayLike) -> None:
        """Acceleration samples: host times ``(n,)`` and values in g ``(n, 3)``."""
        buf = self._acc.get(device_id)
        if buf is None:
            buf = self._acc[device_id] = _AccBuffer()
        buf.t.extend(t)
        buf.xyz.extend(xyz_g)

    def add_speed(self, device_id: int, t: float, mps: float | None,
                  cadence_spm: float | None = None, grade: float | None = None) -> None:
        """One speed value (m/s), cadence (steps/min) and a treadmill's incline (rise
        over run), each None when not sent."""
        buf = self._speed.get(device_id)
        if buf is None:
            buf = self._speed[device_id] = _SpeedBuffer()
        buf.t.append(t)
        buf.mps.append(math.nan if mps is None else float(mps))
        buf.cadence.append(math.nan if cadence_spm is None else float(cadence_spm))
        buf.grade.append(math.nan if grade is None else float(grade))

    @property
    def has_data(self) -> bool:
        """Whether heart rate, acceleration or a speed has arrived (a session needs one:
        a treadmill's speed alone is read as the workload, as in a batch)."""
        return any(b.n for b in self._hr.values()) or any(
            b.n for b in self._acc.values()) or any(b.n for b in self._speed.values())

    # -- sessions ---------------------------------------------------------------------

    def _snapshot(self, now: float) -> _Snapshot:
        """Read-only views of every buffer (taken in the event loop), as the samples a
        recording holds; :mod:`dosewatch.recording.streams` turns them into the session
        exactly as batch reading does."""
        samples = RecordedSamples(
            hr={d: (b.t.view(), b.bpm.view(), b.rr.view()) for d, b in self._hr.items()},
            acc={d: (b.t.view(), b.xyz.view()) for d, b in self._acc.items()},
            speed={d: (b.t.view(), b.mps.view(), b.cadence.view())
                   for d, b in self._speed.items()},
            grade={d: (b.t.view(), b.grade.view()) for d, b in self._speed.items()},
        )
        return _Snapshot(samples, now)

    def _build(self, snap: _Snapshot) -> Session:
        return session_from_samples(snap.samples, name=self.name, profile=self.profile)

    def session(self) -> Session | None:
        """A Session of every sample so far (None before heart rate or acceleration)."""
        if not self.has_data:
            return None
        return self._build(self._snapshot(math.nan))

    # -- updates ----------------------------------------------------------------------

    def subscribe(self, listener: Callable[[LiveStatus], None]) -> None:
        """Call ``listener(status)`` after every update (in the event loop)."""
        self._listeners.append(listener)

    def due(self, now: float) -> bool:
        """Whether an update is due at host time ``now``."""
        if not self.has_data:
            return False
        return self._next_due is None or now >= self._next_due

    def poke(self, now: float) -> None:
        """Start an update in the background when one is due and none is running.

        Call it from the event loop whenever samples arrived; ``now`` is the host time of
        the newest one (the recorder's clock).
        """
        if self._task is not None or not self.due(now):
            return
        self._next_due = now + self.interval_s
        self._task = asyncio.get_running_loop().create_task(self._run(now, final=False))
        self._task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[LiveStatus | None]) -> None:
        if self._task is task:
            self._task = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("live update failed", exc_info=task.exception())

    async def update(self, now: float | None = None) -> LiveStatus | None:
        """Run one update now (waiting for a running one first) and return its status
        (None before any heart rate or acceleration)."""
        await self._wait_running()
        return await self._run(self._latest_time() if now is None else now, final=False)

    async def finish(self) -> LiveStatus | None:
        """The end-of-session analysis of every sample recorded (None without data).

        Waits for a running update, then analyses everything and releases the worker
        thread.
        """
        await self._wait_running()
        try:
            return await self._run(self._latest_time(), final=True)
        finally:
            self.close()

    def close(self) -> None:
        """Release the worker thread (a running update is cancelled)."""
        if self._task is not None:
            self._task.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def _wait_running(self) -> None:
        task = self._task
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    def _latest_time(self) -> float:
        ends = [b.t.view()[-1] for group in (self._hr, self._acc, self._speed)
                for b in group.values() if b.n]
        return float(max(ends)) if ends else math.nan

    async def _run(self, now: float, *, final: bool) -> LiveStatus | None:
        if not self.has_data:
            return None
        snap = self._snapshot(now)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live")
        loop = asyncio.get_running_loop()
        try:
            result, session, compute_s = await loop.run_in_executor(
                self._executor, self._analyse, snap)
        except DosewatchError as exc:
            # Too little data yet, or a model problem: the recording goes on regardless.
            message = str(exc)
            self.last_error = message
            if message not in self._errors_logged:
                self._errors_logged.add(message)
                logger.warning("live analysis: %s", message)
            return None
        self.last_error = None
        status = self._status(snap, session, result, compute_s, final)
        self.status = status
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                logger.exception("live status listener failed")
        return status

    def _analyse(self, snap: _Snapshot) -> tuple[SessionResult, Session, float]:
        start = time.perf_counter()
        session = self._build(snap)
        result = analyze_session(session, self.config, self.classifier, self.calibration)
        compute_s = time.perf_counter() - start
        self.compute_times.append(compute_s)
        return result, session, compute_s

    def _status(self, snap: _Snapshot, session: Session, result: SessionResult,
                compute_s: float, final: bool) -> LiveStatus:
        self._updates += 1
        start = session.provenance.time_origin_s
        now = snap.now if math.isfinite(snap.now) else start + result.duration_s
        elapsed = max(now - start, 0.0)
        labels = result.prediction.labels
        intensity = result.prediction.intensity
        label = str(label_names(labels[-1:])[0]) if labels.size else "missing"
        level = str(levels(intensity[-1:], self.config)[0]) if intensity.size else ""
        hr_bpm = pct = None
        if session.hr is not None:
            hr_bpm = float(session.hr.bpm[-1])
            params = result.info.hr_params
            if params is not None and math.isfinite(hr_bpm):
                pct = float(hrmod.pct_hrr(np.array([hr_bpm]), params)[0])
        bout = current_bout(result)
        announced = False
        if (self.dose_met_at_s is None and result.dose_met_at_s is not None
                and (final or elapsed >= result.dose_met_at_s)):
            self.dose_met_at_s = float(result.dose_met_at_s)
            self.dose_announced_elapsed_s = elapsed
            announced = True
        dose_at = self.dose_met_at_s
        if final and result.dose_met_at_s is not None:
            dose_at = float(result.dose_met_at_s)
        return LiveStatus(
            update=self._updates,
            now=now,
            start_unix_s=start,
            elapsed_s=elapsed,
            hr_bpm=hr_bpm,
            pct_hrr=pct,
            label=label,
            level=level,
            bout_minutes=0.0 if bout is None else float(bout.qualifying_minutes),
            longest_bout_minutes=result.longest_bout_qualifying_minutes,
            label_epoch_s=(labels.size - 1) * self.config.epoch_min * 60.0 if labels.size
            else None,
            bout_start_s=None if bout is None else float(bout.start_s),
            dose_minutes=self.config.bouts.dose_min,
            dose_met=result.dose_met if final else dose_at is not None,
            dose_met_at_s=dose_at if (not final or result.dose_met) else None,
            dose_announced=announced,
            session_class=result.session_class,
            minutes=result.minutes,
            intensity_source=result.intensity_source,
            compute_s=compute_s,
            final=final,
            result=result,
        )
