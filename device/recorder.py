"""The recorder: Bluetooth LE wearables → a recording file, and a live analysis.

:class:`Recorder` connects to one or more devices through :class:`bleak.BleakClient` (any
backend: the platform's, or the in-process virtual radio of
:mod:`dosewatch.device.virtual.backend` given through ``client_kwargs``), finds which of the
supported services each offers, and streams them:

=================  ==============================================================
heart rate         HRS measurement notifications (body sensor location is read)
acceleration       Polar PMD: MTU check, control point indications and data
                   notifications on, get the ACC settings, start the best rate up
                   to ``max_acc_hz`` at ``acc_range_g``, decode the frames
running speed      RSC measurement notifications (foot pod)
treadmill          FTMS treadmill data notifications
battery            one read per connection (an event in the recording)
=================  ==============================================================

Data path (STYLE.md): each notification callback only stamps the arrival time with
``clock`` and puts ``(time, link, characteristic, bytes)`` on one asyncio queue. One
consumer task decodes, writes the raw notification and its decoded samples to the
:class:`~dosewatch.recording.RecordingWriter` (committed at least every
``commit_interval_s``), and feeds the :class:`~dosewatch.device.live.LiveAnalysis`.
Connection events travel through the same queue, so the consumer sees a disconnection
after every notification that arrived before it.

Streams fail alone. Heart rate, speed and treadmill data are subscribed when a device
connects; the PMD acceleration stream is set up by a task of its own on that connection.
A control point that never answers (reported for Polar H10s on unencrypted links), a
refused command or a failed write is an event (``stream-failed``, saying what failed and
when the next try is) and the PMD set-up is tried again with backoff (``pmd_retry_s``
doubling up to ``max_pmd_retry_s``) while everything else keeps flowing; only a lost link
makes the recorder reconnect. Data frames that arrive before the start answer (or while
the control point stays silent) are kept and decoded once the stream's settings are
known; when the start is never answered but frames come, the stream is taken as started
with the settings asked for, and an event says so.

Liberal in what it accepts. A notification the decoder can read although it breaks the
layout a little (reserved flag bits, bytes after the last field, the other FTMS pace
width) is recorded with its values; what was tolerated is the notification's ``note``,
counted per kind and announced once per kind (``tolerated`` event). A heart-rate
notification without a reading (no skin contact, or 0 bpm) is stored with its contact
flag and no heart rate. The FTMS pace width a treadmill uses is learned from its records
whose length decides it.

Time. Every device is put on one host clock (``clock``, Unix seconds; ``time.time`` by
default, a virtual band's clock in tests): heart rate, speed and control answers at their
arrival time; PMD samples at their sensor times (Polar's rule, see
:class:`~dosewatch.device.protocols.PmdTimeline`) mapped to host time by a
:class:`~dosewatch.device.clock.SensorClock`: the lower envelope of arrival minus sensor
time over a sliding window, applied ``clock_hold_s`` after each frame arrived, slewed
when it falls, so a burst, a stall or a starved host neither shifts nor refuses data
(the current offset is stored with
:meth:`~dosewatch.recording.RecordingWriter.set_device_clock`). A frame whose sensor time
does not continue the stream's is held until the next frame says which is right: when
the next one continues the earlier frames, the odd one is stored raw as
``pmd/time-outlier``; when it continues the odd one, the sensor's time really jumped
(a pause in the stream, or its clock was set) and both are recorded, with an event.

Link loss. A lost link is reconnected with backoff (first at once, then
``backoff_s`` doubling up to ``max_backoff_s``) until the recorder stops; notifications
are subscribed again and the ACC stream restarted. The recording gets ``disconnect``,
``reconnect`` and, per stream, ``gap`` events.

Pairing. ``pair=True`` pairs when connecting (Bleak's ``pair`` argument). By default the
recorder pairs when a device asks for it: a read, write or subscription refused for
insufficient authentication or encryption makes it call ``BleakClient.pair()`` and try
again, and so does a PMD control point that stays silent (some straps answer only on an
encrypted link). Where the platform cannot pair from an application (macOS pairs by
itself when asked; ``pair()`` raises ``NotImplementedError``) or pairing fails, an event
says to pair the device in the operating system's Bluetooth settings. ``pair=False``
never pairs.

Malformed notifications (a :class:`~dosewatch.device.protocols.ProtocolError` from the
decoder) are stored raw with the error's kind as their status, counted per kind, logged
once per kind, and skipped.

Stopping (:meth:`Recorder.stop`, or cancelling :meth:`Recorder.run`, which Ctrl-C does):
the ACC stream is stopped (a Polar strap streaming keeps itself awake), every device is
disconnected, the queue is drained (held frames mapped), and the recording gets its last
commit and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DeviceError, OutputError
from ..recording import RecordingWriter
from .clock import SensorClock
from .protocols import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    BODY_SENSOR_LOCATION,
    FTMS_SERVICE,
    HR_MEASUREMENT,
    HRS_SERVICE,
    PMD_CONTROL,
    PMD_DATA,
    PMD_EPOCH_UNIX_S,
    PMD_OP_GET_SETTINGS,
    PMD_OP_START,
    PMD_OP_STOP,
    PMD_SERVICE,
    PMD_TYPE_ACC,
    RSC_MEASUREMENT,
    RSC_SERVICE,
    TREADMILL_DATA,
    PmdResponse,
    PmdTimeline,
    ProtocolError,
    decode_battery,
    decode_body_sensor_location,
    decode_heart_rate,
    decode_pmd_frame,
    decode_pmd_response,
    decode_pmd_stop_notice,
    decode_rsc,
    decode_treadmill,
    encode_pmd_command,
    pmd_features,
    pmd_samples_to_g,
    quirk_kind,
)

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.device import BLEDevice

    from .live import LiveAnalysis

__all__ = [
    "SERVICE_KINDS",
    "DeviceError",
    "DeviceStats",
    "PmdChoice",
    "Recorder",
    "RecorderEvent",
    "choose_pmd_settings",
    "supported_services",
]

logger = logging.getLogger(__name__)

SERVICE_KINDS: dict[str, str] = {
    HRS_SERVICE: "heart_rate",
    PMD_SERVICE: "acc",
    RSC_SERVICE: "rsc",
    FTMS_SERVICE: "treadmill",
    BATTERY_SERVICE: "battery",
}
"""Supported service UUID → short name, in the order they are listed."""

_PMD_ALREADY = 6
_PMD_MAX_GAP_S = 0.5
_MIN_PMD_MTU = 100  # the H10's 27-byte settings answer and 200 Hz frames need more than 23
_MAX_EARLY_FRAMES = 4096  # frames kept while the stream's settings are not known yet
_CLOCK_REPORT_S = 0.02  # an offset change this large is an event
_CLOCK_RESET_BELOW_S = 1.0  # a new stream's sample this far after its arrival: new clock
_CLOCK_RESET_ABOVE_S = 3600.0  # ... or this far before the samples before it
# ATT errors that mean "pair first": insufficient authentication, encryption key size,
# encryption (Core 5.4 Vol 3 Part F 3.4.1.1).
_PAIRING_CODES = frozenset({0x05, 0x0C, 0x0F})
_PAIRING_TEXT = re.compile(r"insufficient (authentication|encryption)|not paired|"
                           r"authentication (failed|required)", re.I)
_OS_PAIRING_HINT = ("pair it in the operating system's Bluetooth settings (on Linux: "
                    "bluetoothctl, then 'pair ADDRESS' and 'trust ADDRESS'), then record again")


def _needs_pairing(exc: BaseException) -> bool:
    """Whether a GATT failure says the link must be paired or encrypted first."""
    code = getattr(exc, "code", None)
    if code is None and getattr(exc, "args", None) and isinstance(exc.args[0], int):
        code = exc.args[0]
    return (isinstance(code, int) and int(code) in _PAIRING_CODES) or bool(
        _PAIRING_TEXT.search(str(exc)))


def supported_services(uuids: Iterable[str]) -> list[str]:
    """Short names of the supported services among ``uuids`` (any case), in the order of
    :data:`SERVICE_KINDS`: ``heart_rate``, ``acc``, ``rsc``, ``treadmill``, ``battery``."""
    given = {str(u).lower() for u in uuids}
    return [name for uuid, name in SERVICE_KINDS.items() if uuid in given]


@dataclass(frozen=True, slots=True)
class PmdChoice:
    """ACC stream settings chosen from a device's get-settings answer."""

    rate_hz: int
    resolution: int
    range_g: int | None
    channels: int | None

    def settings(self) -> dict[int, int]:
        """The start command's settings (type → value)."""
        out = {0: self.rate_hz, 1: self.resolution}
        if self.range_g is not None:
            out[2] = self.range_g
        if self.channels is not None:
            out[4] = self.channels
        return out


def choose_pmd_settings(
    available: dict[int, tuple[int | float, ...]], *, max_rate_hz: float = 200.0,
    range_g: float = 8.0,
) -> PmdChoice:
    """Pick the ACC settings to start from a get-settings answer.

    The highest sample rate not above ``max_rate_hz`` (the lowest offered when all are
    above), the highest resolution, the largest range not above ``range_g`` (the smallest
    offered when all are above; ±8 g keeps running at the wrist unclipped), and 3
    channels when the device lists channels.

    Raises:
        DeviceError: the answer lists no sample rate.
    """
    rates = sorted(int(r) for r in available.get(0, ()) if r)
    if not rates:
        raise DeviceError("the device's ACC settings list no sample rate",
                          hint="check that the device streams acceleration (Polar PMD)")
    below = [r for r in rates if r <= max_rate_hz]
    rate = below[-1] if below else rates[0]
    resolutions = sorted(int(r) for r in available.get(1, ()) if r)
    resolution = resolutions[-1] if resolutions else 16
    ranges = sorted(int(r) for r in available.get(2, ()) if r)
    chosen_range = None
    if ranges:
        fitting = [r for r in ranges if r <= range_g]
        chosen_range = fitting[-1] if fitting else ranges[0]
    channels = sorted(int(c) for c in available.get(4, ()) if c)
    chosen_channels = (3 if 3 in channels else channels[-1]) if channels else None
    return PmdChoice(rate, resolution, chosen_range, chosen_channels)


@dataclass(frozen=True, slots=True)
class RecorderEvent:
    """Something that happened to a device (also stored in the recording's events).

    Attributes:
        t: host time (the recorder's clock).
        device: the device's name or address.
        kind: ``connect``, ``reconnect``, ``disconnect``, ``connect-failed``, ``gap``,
            ``stream``, ``stream-failed``, ``pair``, ``pair-failed``, ``clock``,
            ``malformed``, ``tolerated``, ``battery``, ...
        detail: free text.
    """

    t: float
    device: str
    kind: str
    detail: str


@dataclass
class DeviceStats:
    """What the recorder did with one device.

    Attributes:
        address, name: the device.
        services: short names of the supported services it offers.
        notifications: notifications received per characteristic UUID (malformed too).
        malformed: malformed notifications per kind.
        tolerated: notifications read although they break the layout a little, per kind
            (reserved flag bits, bytes after the fields, ...).
        hr_values: heart-rate readings recorded; hr_no_reading: heart-rate notifications
            without one (no skin contact, or 0 bpm).
        acc_samples, speed_values: decoded values recorded.
        connects: successful connections (the first one included).
        disconnects: links lost or closed.
        pmd_failures: failed PMD set-ups (each retried).
        acc_rate_hz: the ACC rate streamed, when streaming.
        battery: the battery level read last, %.
    """

    address: str
    name: str | None = None
    services: list[str] = field(default_factory=list)
    notifications: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    tolerated: Counter[str] = field(default_factory=Counter)
    hr_values: int = 0
    hr_no_reading: int = 0
    acc_samples: int = 0
    speed_values: int = 0
    connects: int = 0
    disconnects: int = 0
    pmd_failures: int = 0
    acc_rate_hz: int | None = None
    battery: int | None = None

    @property
    def label(self) -> str:
        return self.name or self.address


@dataclass(slots=True)
class _PmdStream:
    """An ACC stream the device confirmed, as the consumer decodes it."""

    choice: PmdChoice
    factor: float | None
    timeline: PmdTimeline
    suspect: tuple[float, bytes, Any, np.ndarray] | None = None  # held odd frame


@dataclass(slots=True)
class _Held:
    """A decoded frame waiting ``clock_hold_s`` before its samples are mapped."""

    arrival: float
    nid: int
    sensor_s: np.ndarray  # sample times, s relative to the link's sensor base
    g: np.ndarray


@dataclass(slots=True)
class _Control:
    """A connection event travelling through the queue (after the data before it)."""

    t: float
    link: _Link
    kind: str
    detail: str = ""


class _Link:
    """One device: what the device task and the consumer know about it."""

    def __init__(self, target: BLEDevice | str, clock: SensorClock) -> None:
        self.target = target
        address = target if isinstance(target, str) else target.address
        name = None if isinstance(target, str) else target.name
        self.stats = DeviceStats(address=address, name=name)
        self.device_id: int | None = None
        self.client: BleakClient | None = None
        self.lost = asyncio.Event()
        # PMD: the command awaiting its answer (op, future), the settings asked for.
        self.pmd_pending: tuple[int, asyncio.Future[PmdResponse]] | None = None
        self.pmd_partial: PmdResponse | None = None
        self.pmd_requested: PmdChoice | None = None
        self.pmd: _PmdStream | None = None  # the consumer's stream state
        self.pmd_early: list[tuple[float, bytes]] = []  # frames before the settings
        self.pmd_started = False  # the device task's view: a start was confirmed
        self.pmd_task: asyncio.Task[None] | None = None
        self.paired = False  # pairing was tried on this link (once per connection)
        self.clock = clock  # sensor clock -> host clock (kept across reconnects)
        self.sensor_base_ns: int | None = None
        self.held: deque[_Held] = deque()
        self.clock_reported: float | None = None  # the offset the last clock event gave
        self.clock_written: float | None = None  # the offset stored last
        self.clock_new_stream = False
        self.pace_bytes: int | None = None  # FTMS pace width learned from the device
        self.last_t: dict[str, float] = {}  # per stream: newest sample time
        self.gap_from: dict[str, float] = {}  # per stream: data time before a link loss
        self.ever_connected = False
        self.down_since: float | None = None

    @property
    def label(self) -> str:
        return self.stats.label


_STOP = object()
_TICK = object()


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the recorder's consumer failed; nothing more is recorded",
                     exc_info=task.exception())


class Recorder:
    """Records wearables to a :class:`RecordingWriter` and feeds a live analysis.

    Args:
        writer: the recording; the recorder commits it and closes it when it stops.
        targets: devices (``BLEDevice`` from a scan, preferred) or addresses.
        live: the live analysis to feed, or None.
        clock: host clock for arrival times (Unix seconds).
        client_kwargs: extra arguments for every ``BleakClient`` (for the virtual radio:
            ``{"backend": BumbleBleakClient, "radio": radio}``).
        max_acc_hz: highest acceleration rate to ask for.
        acc_range_g: acceleration range to ask for (the largest offered at or below it).
        connect_timeout: seconds for one connection attempt.
        command_timeout: seconds to wait for a PMD control point answer.
        backoff_s, max_backoff_s: reconnection backoff (wall seconds).
        pmd_retry_s, max_pmd_retry_s: backoff between PMD set-up attempts on a link that
            stays up (wall seconds).
        pair: True: pair when connecting; None (default): pair when the device asks for it
            (see the module text); False: never.
        clock_window_s, clock_hold_s: the sensor clock's window and hold (host seconds;
            see :class:`~dosewatch.device.clock.SensorClock`).
        commit_interval_s: the longest time between commits (the writer's own interval
            applies when shorter).
        on_event: called with every :class:`RecorderEvent` (from the event loop).

    Use ``async with Recorder(...) as recorder:`` or :meth:`start` / :meth:`stop`, or
    :meth:`run` until a stop event or cancellation.
    """

    def __init__(
        self,
        writer: RecordingWriter,
        targets: Sequence[BLEDevice | str],
        *,
        live: LiveAnalysis | None = None,
        clock: Callable[[], float] = time.time,
        client_kwargs: dict[str, Any] | None = None,
        max_acc_hz: float = 200.0,
        acc_range_g: float = 8.0,
        connect_timeout: float = 20.0,
        command_timeout: float = 10.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        pmd_retry_s: float = 2.0,
        max_pmd_retry_s: float = 60.0,
        pair: bool | None = None,
        clock_window_s: float = 60.0,
        clock_hold_s: float = 2.0,
        commit_interval_s: float = 1.0,
        on_event: Callable[[RecorderEvent], None] | None = None,
    ) -> None:
        if not targets:
            raise ValueError("give at least one device to record")
        if not (backoff_s > 0 and max_backoff_s >= backoff_s):
            raise ValueError("need 0 < backoff_s <= max_backoff_s")
        if not (pmd_retry_s > 0 and max_pmd_retry_s >= pmd_retry_s):
            raise ValueError("need 0 < pmd_retry_s <= max_pmd_retry_s")
        self.writer = writer
        self.live = live
        self.clock = clock
        self.client_kwargs = dict(client_kwargs or {})
        self.max_acc_hz = float(max_acc_hz)
        self.acc_range_g = float(acc_range_g)
        self.connect_timeout = float(connect_timeout)
        self.command_timeout = float(command_timeout)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.pmd_retry_s = float(pmd_retry_s)
        self.max_pmd_retry_s = float(max_pmd_retry_s)
        self.pair = pair
        self.commit_interval_s = min(float(commit_interval_s), writer.commit_interval_s)
        self.on_event = on_event
        self._links = [_Link(t, SensorClock(window_s=clock_window_s, hold_s=clock_hold_s))
                       for t in targets]
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._stopping = asyncio.Event()
        self._connect_lock = asyncio.Lock()
        self._device_tasks: list[asyncio.Task[None]] = []
        self._consumer: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._logged: set[str] = set()
        self._started = False
        self._stopped = False
        self.internal_errors = 0
        """Items the consumer failed to process because of a bug (logged); 0 normally."""
        self.commit_errors = 0
        """Commits that failed (disk full...); the rows stay in memory for the next one."""

    # -- lifecycle --------------------------------------------------------------------

    @property
    def devices(self) -> list[DeviceStats]:
        """Per-device statistics, in the order of ``targets``."""
        return [link.stats for link in self._links]

    async def __aenter__(self) -> Recorder:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the consumer and one connection task per device (returns at once)."""
        if self._started:
            return
        self._started = True
        self._consumer = asyncio.create_task(self._consume(), name="recorder consumer")
        self._consumer.add_done_callback(_log_failure)
        self._ticker = asyncio.create_task(self._tick(), name="recorder ticker")
        for link in self._links:
            task = asyncio.create_task(self._device_loop(link), name=f"device {link.label}")
            self._device_tasks.append(task)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Record until ``stop`` is set (or forever), then stop cleanly; cancelling this
        coroutine (Ctrl-C) also stops cleanly before the cancellation propagates."""
        await self.start()
        try:
            if stop is None:
                await asyncio.Event().wait()
            else:
                await stop.wait()
        finally:
            await self.stop()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the ACC streams, disconnect, drain the queue, commit and close the
        recording. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        try:
            if self._device_tasks:
                done, pending = await asyncio.wait(self._device_tasks, timeout=timeout)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*self._device_tasks, return_exceptions=True)
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        logger.error("device task failed", exc_info=task.exception())
            if self._ticker is not None:
                self._ticker.cancel()
                await asyncio.gather(self._ticker, return_exceptions=True)
            if self._consumer is not None:
                self._queue.put_nowait(_STOP)
                await asyncio.gather(self._consumer, return_exceptions=True)
        finally:
            self.writer.close()

    # -- thin callbacks ---------------------------------------------------------------

    def _notifier(self, link: _Link, uuid: str) -> Callable[[Any, bytearray], None]:
        put, clock = self._queue.put_nowait, self.clock

        def on_notification(_sender: Any, data: bytearray) -> None:
            put((clock(), link, uuid, bytes(data)))

        return on_notification

    def _control(self, link: _Link, kind: str, detail: str = "") -> None:
        self._queue.put_nowait(_Control(self.clock(), link, kind, detail))

    def _disconnected(self, link: _Link, client: BleakClient) -> None:
        if link.client is not client:
            return
        self._control(link, "disconnect",
                      "requested by the recorder" if self._stopping.is_set() else "link lost")
        link.lost.set()

    # -- one device -------------------------------------------------------------------

    async def _device_loop(self, link: _Link) -> None:
        failures = 0
        while not self._stopping.is_set():
            ready = await self._connect_once(link)
            if self._stopping.is_set():
                break
            if ready:
                failures = 0
                await self._wait_either(link.lost)
                await self._cancel_pmd(link)
                if self._stopping.is_set():
                    break
                continue  # reconnect at once after a link loss
            delay = min(self.backoff_s * 2.0 ** failures, self.max_backoff_s)
            failures += 1
            await self._wait_either(None, timeout=delay)
        await self._close_link(link)

    async def _wait_either(self, event: asyncio.Event | None, timeout: float | None = None
                           ) -> None:
        """Wait for ``event`` (or only the timeout) or the recorder stopping."""
        waiters = [asyncio.ensure_future(self._stopping.wait())]
        if event is not None:
            waiters.append(asyncio.ensure_future(event.wait()))
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _connect_once(self, link: _Link) -> bool:
        """Connect and set up one device; False (and an event) when it failed."""
        from bleak import BleakClient
        from bleak.exc import BleakError

        link.lost = asyncio.Event()
        link.paired = False
        extra = dict(self.client_kwargs)
        if self.pair:
            extra["pair"] = True
        client = BleakClient(
            link.target,
            disconnected_callback=lambda c: self._disconnected(link, c),
            timeout=self.connect_timeout,
            **extra,
        )
        link.client = client
        try:
            async with self._connect_lock:
                async with asyncio.timeout(self.connect_timeout + 5.0):
                    await client.connect()
            await self._setup(link, client)
            return True
        except (BleakError, TimeoutError, OSError, DeviceError, ProtocolError,
                NotImplementedError) as exc:
            if not self._stopping.is_set():
                self._control(link, "connect-failed", f"{type(exc).__name__}: {exc}")
                logger.info("%s: %s", link.label, exc)
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                async with asyncio.timeout(3.0):
                    await client.disconnect()
            return False

    async def _pair(self, link: _Link, client: BleakClient, why: str) -> bool:
        """Pair (once per connection); True when it worked. Events say what happened."""
        from bleak.exc import BleakError

        if self.pair is False or link.paired:
            return False
        link.paired = True
        self._control(link, "pair", f"pairing: {why}")
        try:
            async with asyncio.timeout(max(self.connect_timeout, 30.0)):
                await client.pair()
        except NotImplementedError:
            self._control(link, "pair-failed", "this platform pairs only through the "
                          f"operating system: {_OS_PAIRING_HINT}")
            return False
        except (BleakError, TimeoutError, OSError) as exc:
            self._control(link, "pair-failed", f"{type(exc).__name__}: {exc}; "
                          f"{_OS_PAIRING_HINT}")
            return False
        self._control(link, "pair", "paired")
        return True

    async def _gatt(self, link: _Link, client: BleakClient, what: str,
                    operation: Callable[[], Any]) -> Any:
        """Run a GATT operation; when the device says it needs pairing, pair and run it
        once more."""
        from bleak.exc import BleakError

        try:
            return await operation()
        except BleakError as exc:
            if _needs_pairing(exc) and await self._pair(
                    link, client, f"the device refused {what} without it ({exc})"):
                return await operation()
            raise

    async def _setup(self, link: _Link, client: BleakClient) -> None:
        services = sorted({s.uuid.lower() for s in client.services})
        kinds = supported_services(services)
        stats = link.stats
        if stats.name is None:
            with contextlib.suppress(Exception):
                stats.name = client.name
        if link.device_id is None:
            link.device_id = self.writer.add_device(
                stats.address, stats.name, services, ",".join(kinds) or "none")
        stats.services = kinds
        stats.connects += 1
        first = not link.ever_connected
        link.ever_connected = True
        down = ""
        if link.down_since is not None:
            down = f" after {self.clock() - link.down_since:.1f} s"
        self._control(link, "connect" if first else "reconnect",
                      f"services: {', '.join(kinds) or 'none supported'}; "
                      f"MTU {client.mtu_size}{down}")
        if not {"heart_rate", "acc", "rsc", "treadmill"} & set(kinds):
            raise DeviceError("offers none of the supported data services", source=link.label,
                              hint="record a heart-rate strap, Polar sensor or foot pod")
        chars = {c.uuid.lower() for s in client.services for c in s.characteristics}
        for uuid in (HR_MEASUREMENT, RSC_MEASUREMENT, TREADMILL_DATA):
            if uuid in chars:
                notifier = self._notifier(link, uuid)
                await self._gatt(link, client, "a subscription",
                                 lambda u=uuid, n=notifier: client.start_notify(u, n))
        if first and BODY_SENSOR_LOCATION in chars:
            data = await self._read(link, client, BODY_SENSOR_LOCATION, "location")
            if data is not None:
                try:
                    self._control(link, "location", decode_body_sensor_location(data))
                except ProtocolError as exc:
                    self._control(link, "location", f"unreadable ({exc.kind}): {data.hex(' ')}")
        if BATTERY_LEVEL in chars:
            data = await self._read(link, client, BATTERY_LEVEL, "battery")
            if data is not None:
                try:
                    stats.battery = decode_battery(data)
                    self._control(link, "battery", f"{stats.battery} %")
                except ProtocolError as exc:
                    self._control(link, "battery", f"unreadable ({exc.kind}): {data.hex(' ')}")
        if PMD_CONTROL in chars and PMD_DATA in chars:
            # The acceleration stream is set up on its own: whatever it does, the streams
            # above are already flowing and keep flowing.
            link.pmd_task = asyncio.create_task(self._pmd_loop(link, client),
                                                name=f"pmd {link.label}")

    async def _read(self, link: _Link, client: BleakClient, uuid: str, kind: str
                    ) -> bytes | None:
        """Read a characteristic; None (and an event) when the read fails."""
        from bleak.exc import BleakError

        try:
            return bytes(await self._gatt(link, client, f"a {kind} read",
                                          lambda: client.read_gatt_char(uuid)))
        except BleakError as exc:
            self._control(link, kind, f"read failed: {exc}")
            return None

    # -- the PMD stream, on its own -------------------------------------------------

    async def _cancel_pmd(self, link: _Link) -> None:
        task, link.pmd_task = link.pmd_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _pmd_loop(self, link: _Link, client: BleakClient) -> None:
        """Set up the ACC stream, trying again with backoff while the link is up."""
        from bleak.exc import BleakError

        delay = self.pmd_retry_s
        attempt = 0
        while not (self._stopping.is_set() or link.lost.is_set()):
            attempt += 1
            try:
                await self._start_pmd(link, client)
                return
            except asyncio.CancelledError:
                raise
            except (BleakError, DeviceError, ProtocolError, TimeoutError, OSError) as exc:
                if self._stopping.is_set() or link.lost.is_set() or not client.is_connected:
                    return
                silent = isinstance(exc, DeviceError) and "no answer" in str(exc)
                if self._adopt_early_stream(link, silent):
                    return
                if ((_needs_pairing(exc) or (silent and self.pair is None))
                        and not link.paired):
                    why = (f"the PMD control point needs it ({exc})" if not silent else
                           "the PMD control point did not answer, and some straps answer "
                           "only on an encrypted link")
                    if await self._pair(link, client, why):
                        continue  # try again at once on the paired link
                link.stats.pmd_failures += 1
                self._control(link, "stream-failed",
                              f"acc (attempt {attempt}): {exc}; the other streams go on; "
                              f"next try in {delay:g} s")
            await self._wait_either(link.lost, timeout=delay)
            delay = min(delay * 2.0, self.max_pmd_retry_s)

    def _adopt_early_stream(self, link: _Link, silent: bool) -> bool:
        """After an unanswered start: when its frames arrive anyway, take the stream as
        started with the settings asked for (True); the consumer decodes the frames."""
        choice = link.pmd_requested
        if not silent or choice is None or not link.pmd_early or link.pmd is not None:
            return False
        self._queue.put_nowait(_Control(self.clock(), link, "adopt-stream",
                                        f"acc {choice.rate_hz} Hz"))
        link.pmd_started = True
        link.stats.acc_rate_hz = choice.rate_hz
        return True

    async def _start_pmd(self, link: _Link, client: BleakClient) -> None:
        link.pmd_started = False
        mtu = client.mtu_size
        if mtu < _MIN_PMD_MTU:
            # BlueZ negotiates the MTU by itself but Bleak reports 23 until asked.
            acquire = getattr(getattr(client, "_backend", None), "_acquire_mtu", None)
            if acquire is not None:
                with contextlib.suppress(Exception):
                    await acquire()
                mtu = client.mtu_size
            if mtu < _MIN_PMD_MTU:
                self._control(link, "mtu", f"ATT MTU is {mtu}: PMD answers and frames may be "
                              "truncated by the device")
        for uuid in (PMD_CONTROL, PMD_DATA):
            notifier = self._notifier(link, uuid)
            await self._gatt(link, client, "a PMD subscription",
                             lambda u=uuid, n=notifier: client.start_notify(u, n))
        try:
            features = pmd_features(await self._gatt(
                link, client, "a PMD read", lambda: client.read_gatt_char(PMD_CONTROL)))
        except ProtocolError:
            features = {PMD_TYPE_ACC}  # some firmware answers oddly; ask for settings anyway
        if PMD_TYPE_ACC not in features:
            self._control(link, "stream-failed", "acc: the PMD service offers no "
                          "acceleration (not tried again)")
            return
        answer = await self._pmd_command(link, client, encode_pmd_command(PMD_OP_GET_SETTINGS,
                                                                          PMD_TYPE_ACC))
        if not answer.ok:
            raise DeviceError(f"ACC settings refused: {answer.status_text}", source=link.label)
        choice = choose_pmd_settings(answer.settings(), max_rate_hz=self.max_acc_hz,
                                     range_g=self.acc_range_g)
        link.pmd_requested = choice
        start = encode_pmd_command(PMD_OP_START, PMD_TYPE_ACC, choice.settings())
        answer = await self._pmd_command(link, client, start)
        if answer.status == _PMD_ALREADY:  # left running by an earlier session
            await self._pmd_command(link, client, encode_pmd_command(PMD_OP_STOP, PMD_TYPE_ACC))
            answer = await self._pmd_command(link, client, start)
        if not answer.ok:
            raise DeviceError(f"ACC start refused: {answer.status_text}", source=link.label)
        link.pmd_started = True
        link.stats.acc_rate_hz = choice.rate_hz
        self._control(link, "stream", f"acc {choice.rate_hz} Hz, ±{choice.range_g} g, "
                      f"{choice.resolution} bit")

    async def _pmd_command(self, link: _Link, client: BleakClient, data: bytes
                           ) -> PmdResponse:
        """Write one PMD command and wait for its answer (resolved by the consumer)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[PmdResponse] = loop.create_future()
        link.pmd_pending = (data[0], future)
        try:
            async with asyncio.timeout(self.command_timeout):
                await self._gatt(link, client, "a PMD command",
                                 lambda: client.write_gatt_char(PMD_CONTROL, data,
                                                                response=True))
                return await future
        except TimeoutError:
            raise DeviceError(f"no answer to PMD command {data.hex(' ')} within "
                              f"{self.command_timeout:g} s", source=link.label,
                              hint="the device may need pairing or a restart") from None
        finally:
            if link.pmd_pending is not None and link.pmd_pending[1] is future:
                link.pmd_pending = None
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a failed write already said what went wrong

    async def _close_link(self, link: _Link) -> None:
        """Stop the ACC stream and disconnect (on stop)."""
        from bleak.exc import BleakError

        await self._cancel_pmd(link)
        client = link.client
        if client is None or not client.is_connected:
            return
        if link.pmd_started:
            try:
                await self._pmd_command(link, client, encode_pmd_command(PMD_OP_STOP, PMD_TYPE_ACC))
                link.pmd_started = False
            except (BleakError, DeviceError, TimeoutError, OSError) as exc:
                logger.info("%s: stopping the ACC stream failed: %s", link.label, exc)
        try:
            async with asyncio.timeout(5.0):
                await client.disconnect()
        except (BleakError, TimeoutError, OSError) as exc:
            logger.info("%s: disconnect failed: %s", link.label, exc)

    # -- the consumer -----------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.commit_interval_s / 2)
            self._queue.put_nowait(_TICK)

    async def _consume(self) -> None:
        queue = self._queue
        stop = False
        while not stop:
            item = await queue.get()
            newest = -math.inf
            while True:
                if item is _STOP:
                    stop = True
                else:
                    try:
                        if item is _TICK:
                            self._release_all_due(self.clock())
                        elif isinstance(item, _Control):
                            self._handle_control(item)
                        else:
                            self._handle(*item)
                            newest = max(newest, item[0])
                    except Exception:
                        self.internal_errors += 1
                        logger.exception("recorder: failed to process %r", item)
                if stop or queue.empty():
                    break
                item = queue.get_nowait()
            if stop:
                for link in self._links:
                    self._flush_stream(link)
                    self._drop_early(self.clock(), link)
            self._commit(final=stop)
            if self.live is not None and newest > -math.inf:
                try:
                    self.live.poke(newest)
                except Exception:  # the live view must never stop the recording
                    self.internal_errors += 1
                    logger.exception("recorder: live update failed")

    def _commit(self, final: bool) -> None:
        try:
            if final:
                self.writer.commit()
            else:
                self.writer.maybe_commit()
        except OutputError as exc:
            self.commit_errors += 1
            if self.commit_errors == 1 or final:
                logger.error("%s", exc)
        except Exception:  # counted and logged: the recording goes on
            self.commit_errors += 1
            logger.exception("recorder: commit failed")

    def _event(self, t: float, link: _Link | None, kind: str, detail: str) -> None:
        device_id = None if link is None else link.device_id
        self.writer.add_event(t, kind, detail, device_id)
        if self.on_event is not None:
            try:
                self.on_event(RecorderEvent(t, "" if link is None else link.label, kind, detail))
            except Exception:
                logger.exception("recorder event listener failed")

    def _handle_control(self, item: _Control) -> None:
        link = item.link
        if item.kind == "disconnect":
            link.stats.disconnects += 1
            link.down_since = item.t
            self._flush_stream(link)
            self._drop_early(item.t, link)
            link.pmd = None
            link.pmd_partial = None
            pending = link.pmd_pending
            if pending is not None and not pending[1].done():
                pending[1].set_exception(DeviceError("disconnected while waiting for a PMD "
                                                     "answer", source=link.label))
            for stream, t in link.last_t.items():
                link.gap_from.setdefault(stream, t)
        elif item.kind == "reconnect":
            link.down_since = None
        elif item.kind == "adopt-stream":
            choice = link.pmd_requested
            if choice is None or link.pmd is not None:
                return
            self._event(item.t, link, "stream", (
                f"acc {choice.rate_hz} Hz: the start command was never answered, but its "
                "frames arrive; decoding them with the settings asked for"))
            self._open_stream(item.t, link, choice, None)
            return
        detail = item.detail
        if link.device_id is None:  # not registered yet (never connected): name it here
            detail = f"{link.label}: {detail}"
        self._event(item.t, link, item.kind, detail)

    def _malformed(self, link: _Link, uuid: str, t: float, data: bytes,
                   error: ProtocolError) -> None:
        kind = error.kind
        link.stats.malformed[kind] += 1
        self.writer.add_notification(link.device_id or 0, uuid, t, data, kind)
        if kind not in self._logged:
            self._logged.add(kind)
            logger.warning("%s: malformed notification skipped (%s); further ones of this "
                           "kind are only counted", link.label, error)
            self._event(t, link, "malformed", f"{kind}: {error.reason} (first of its kind)")

    def _note(self, link: _Link, t: float, quirks: tuple[str, ...]) -> str | None:
        """Count what the decoder tolerated; announce each kind once."""
        if not quirks:
            return None
        for quirk in quirks:
            kind = quirk_kind(quirk)
            link.stats.tolerated[kind] += 1
            if "tolerated:" + kind not in self._logged:
                self._logged.add("tolerated:" + kind)
                self._event(t, link, "tolerated", f"{quirk}; the values are recorded "
                            "(first of its kind; the note column keeps every one)")
        return "; ".join(quirks)

    def _gap(self, link: _Link, stream: str, t: float) -> None:
        start = link.gap_from.pop(stream, None)
        if start is not None:
            self._event(t, link, "gap", f"{stream}: no data for {t - start:.1f} s "
                        f"({start:.3f} to {t:.3f})")
        link.last_t[stream] = t

    def _handle(self, t: float, link: _Link, uuid: str, data: bytes) -> None:
        link.stats.notifications[uuid] += 1
        device_id = link.device_id
        if device_id is None:  # cannot happen: devices are registered before subscribing
            raise RuntimeError(f"{link.label}: notification before the device was registered")
        writer, live = self.writer, self.live
        try:
            if uuid == HR_MEASUREMENT:
                m = decode_heart_rate(data)
                nid = writer.add_notification(device_id, uuid, t, data,
                                              note=self._note(link, t, m.quirks))
                rr = m.rr_ms
                reading = m.reading
                writer.add_hr(device_id, nid, t, reading, rr, contact=m.contact,
                              energy_kj=m.energy_kj)
                if reading is None:
                    link.stats.hr_no_reading += 1
                else:
                    link.stats.hr_values += 1
                if live is not None:
                    live.add_hr(device_id, t, math.nan if reading is None else reading,
                                rr[-1] if rr else None)
                self._gap(link, "hr", t)
            elif uuid == PMD_DATA:
                self._handle_frame(t, link, data)
            elif uuid == PMD_CONTROL:
                self._handle_answer(t, link, device_id, data)
            elif uuid == RSC_MEASUREMENT:
                r = decode_rsc(data)
                nid = writer.add_notification(device_id, uuid, t, data,
                                              note=self._note(link, t, r.quirks))
                writer.add_speed(device_id, nid, t, r.speed_mps, r.cadence_spm)
                link.stats.speed_values += 1
                if live is not None:
                    live.add_speed(device_id, t, r.speed_mps, r.cadence_spm)
                self._gap(link, "speed", t)
            elif uuid == TREADMILL_DATA:
                d = decode_treadmill(data, fallback_pace_bytes=link.pace_bytes or 2)
                self._learn_pace(t, link, d.pace_bytes, d.quirks)
                nid = writer.add_notification(device_id, uuid, t, data,
                                              note=self._note(link, t, d.quirks))
                if d.speed_mps is not None:
                    grade = None if d.incline_pct is None else d.incline_pct / 100.0
                    writer.add_speed(device_id, nid, t, d.speed_mps, None, grade)
                    link.stats.speed_values += 1
                    if live is not None:
                        live.add_speed(device_id, t, d.speed_mps, None, grade)
                    self._gap(link, "speed", t)
            else:
                writer.add_notification(device_id, uuid, t, data, "unknown-characteristic")
        except ProtocolError as exc:
            self._malformed(link, uuid, t, data, exc)
        self._release_due(link, t)

    def _learn_pace(self, t: float, link: _Link, width: int | None,
                    quirks: tuple[str, ...]) -> None:
        """Remember the FTMS pace width of a record whose length decided it."""
        if width is None or width == link.pace_bytes:
            return
        if any(quirk_kind(q) == "ftms/trailing-bytes" for q in quirks):
            return  # the length did not decide: nothing learned
        link.pace_bytes = width
        self._event(t, link, "stream", f"treadmill: pace fields are {width} byte"
                    f"{'s' if width > 1 else ''} wide (learned from a record's length)")

    def _handle_answer(self, t: float, link: _Link, device_id: int, data: bytes) -> None:
        if data[:1] == b"\x01":
            stopped = decode_pmd_stop_notice(data)
            self.writer.add_notification(device_id, PMD_CONTROL, t, data)
            if PMD_TYPE_ACC in stopped:
                self._flush_stream(link)
                link.pmd = None
            self._event(t, link, "stream", f"the device stopped measurement types "
                        f"{sorted(stopped)} by itself")
            return
        answer = decode_pmd_response(data)
        self.writer.add_notification(device_id, PMD_CONTROL, t, data)
        if link.pmd_partial is not None:
            answer = link.pmd_partial.extended(answer)
        if answer.more:
            link.pmd_partial = answer
            return
        link.pmd_partial = None
        if answer.op == PMD_OP_START and answer.mtype == PMD_TYPE_ACC and answer.ok:
            choice = link.pmd_requested
            if choice is not None:
                self._flush_stream(link)
                self._open_stream(t, link, choice, answer.factor())
        elif answer.op == PMD_OP_STOP and answer.mtype == PMD_TYPE_ACC and answer.ok:
            self._flush_stream(link)
            link.pmd = None
        pending = link.pmd_pending
        if pending is not None and pending[0] == answer.op and not pending[1].done():
            pending[1].set_result(answer)

    # -- PMD frames and the sensor clock --------------------------------------------

    def _open_stream(self, t: float, link: _Link, choice: PmdChoice,
                     factor: float | None) -> None:
        """The stream's settings are known: decode from now on, the waiting frames first."""
        link.pmd = _PmdStream(choice, factor,
                              PmdTimeline(choice.rate_hz, max_gap_s=_PMD_MAX_GAP_S))
        link.clock_new_stream = True
        early, link.pmd_early = link.pmd_early, []
        for arrival, data in early:
            try:
                self._frame(arrival, link, data)
            except ProtocolError as exc:
                self._malformed(link, PMD_DATA, arrival, data, exc)

    def _handle_frame(self, t: float, link: _Link, data: bytes) -> None:
        if link.pmd is None:
            if len(link.pmd_early) < _MAX_EARLY_FRAMES:
                link.pmd_early.append((t, data))  # decoded once the settings are known
                return
            raise ProtocolError("PMD data frame while no ACC stream is started (and "
                                f"{_MAX_EARLY_FRAMES} frames already wait for one)",
                                kind="pmd/no-stream")
        self._frame(t, link, data)

    @staticmethod
    def _continues(stream: _PmdStream, previous_ns: int, timestamp_ns: int, n: int) -> bool:
        """Whether a frame of ``n`` samples stamped ``timestamp_ns`` can follow one stamped
        ``previous_ns`` in a stream without a break."""
        dt = (timestamp_ns - previous_ns) * 1e-9
        return 0.0 < dt <= 2.0 * n / stream.choice.rate_hz + 0.25

    def _frame(self, t: float, link: _Link, data: bytes) -> None:
        stream = link.pmd
        assert stream is not None
        frame = decode_pmd_frame(data, channels=stream.choice.channels or 3,
                                 resolution=stream.choice.resolution)
        g = pmd_samples_to_g(frame, stream.factor)
        n = g.shape[0]
        suspect = stream.suspect
        if suspect is not None:
            stream.suspect = None
            s_t, s_data, s_frame, s_g = suspect
            previous = stream.timeline.previous_ns
            if (previous is None or not self._continues(stream, previous, frame.timestamp_ns, n)
                    ) and self._continues(stream, s_frame.timestamp_ns, frame.timestamp_ns, n):
                self._sensor_jump(link, stream, s_t, s_frame.timestamp_ns, s_g.shape[0])
                self._accept(s_t, link, s_data, s_frame.timestamp_ns, s_g)
            else:
                self._outlier(link, stream, s_t, s_data, s_frame.timestamp_ns)
        previous = stream.timeline.previous_ns
        if previous is not None and not self._continues(stream, previous, frame.timestamp_ns, n):
            # Garbage that happened to parse, a repeated frame, or the sensor's time really
            # jumped: the next frame says which.
            stream.suspect = (t, data, frame, g)
            return
        self._accept(t, link, data, frame.timestamp_ns, g)

    def _outlier(self, link: _Link, stream: _PmdStream, t: float, data: bytes,
                 timestamp_ns: int) -> None:
        previous = stream.timeline.previous_ns or 0
        dt = (timestamp_ns - previous) * 1e-9
        kind = "pmd/time-backwards" if dt <= 0 else "pmd/time-outlier"
        self._malformed(link, PMD_DATA, t, data, ProtocolError(
            f"PMD frame time {dt:+.3f} s from the previous frame's, and the next frame "
            "continues the earlier ones", kind=kind))

    def _sensor_jump(self, link: _Link, stream: _PmdStream, t: float, timestamp_ns: int,
                     n: int) -> None:
        """The stream continues after a jump of its sensor time: a pause in the stream
        (the host clock jumped with it) or a clock that was set (it did not)."""
        previous = stream.timeline.previous_ns or timestamp_ns
        jump = (timestamp_ns - previous) * 1e-9 - n / stream.choice.rate_hz
        est = link.clock.estimate()
        base = link.sensor_base_ns or 0
        d = t - (timestamp_ns - base) * 1e-9
        if est is not None and abs(d - est) > 0.5 * abs(jump):
            self._release_all(link)  # what came before, on the clock it came with
            link.clock.reset()
            link.clock_reported = None
            stream.timeline.reset()
            self._event(t, link, "clock", f"acc: the sensor's time jumped by {jump:+.3f} s "
                        "while its frames kept coming (its clock was set): the offset is "
                        "estimated again")
        else:
            if jump < 0:
                stream.timeline.reset()
            self._event(t, link, "gap", f"acc: the sensor's time skips {jump:+.3f} s between "
                        "two frames (a pause in the stream)")

    def _accept(self, t: float, link: _Link, data: bytes, timestamp_ns: int,
                g: np.ndarray) -> None:
        stream = link.pmd
        assert stream is not None and link.device_id is not None
        times_ns = stream.timeline.sample_times_ns(timestamp_ns, g.shape[0])
        if link.sensor_base_ns is None:
            link.sensor_base_ns = int(times_ns[0])
        sensor_s = (times_ns - link.sensor_base_ns) * 1e-9
        clock = link.clock
        if link.clock_new_stream:
            link.clock_new_stream = False
            est = clock.estimate()
            d = t - float(sensor_s[-1])
            if est is not None and not (est - _CLOCK_RESET_BELOW_S <= d
                                        <= est + _CLOCK_RESET_ABOVE_S):
                self._release_all(link)
                clock.reset()
                link.clock_reported = None
                self._event(t, link, "clock", f"acc: the sensor's clock moved by "
                            f"{est - d:+.3f} s since the last stream: estimated again")
        clock.observe(t, float(sensor_s[-1]))
        nid = self.writer.add_notification(link.device_id, PMD_DATA, t, data)
        link.held.append(_Held(t, nid, sensor_s, g))

    def _release_due(self, link: _Link, now: float) -> None:
        held, clock = link.held, link.clock
        while held and clock.due(held[0].arrival, now):
            self._release(link, held.popleft())

    def _release_all_due(self, now: float) -> None:
        for link in self._links:
            self._release_due(link, now)

    def _release_all(self, link: _Link) -> None:
        while link.held:
            self._release(link, link.held.popleft())

    def _flush_stream(self, link: _Link) -> None:
        """Map every held frame now; settle a frame still waiting for its successor; on a
        link that never got its stream's settings, decide about the waiting frames."""
        self._release_all(link)
        stream = link.pmd
        if stream is not None and stream.suspect is not None:
            s_t, s_data, s_frame, _ = stream.suspect
            stream.suspect = None
            self._malformed(link, PMD_DATA, s_t, s_data, ProtocolError(
                "the last PMD frame's time did not continue the stream's and no frame came "
                "after it to confirm it", kind="pmd/time-unconfirmed"))
        self._report_clock(link, force=True)

    def _drop_early(self, t: float, link: _Link) -> None:
        """Frames that waited for settings that never came (the link went)."""
        if not link.pmd_early or link.pmd is not None:
            return
        choice = link.pmd_requested
        if choice is not None:
            self._event(t, link, "stream", f"acc {choice.rate_hz} Hz: the start was never "
                        "answered; its frames are decoded with the settings asked for")
            self._open_stream(t, link, choice, None)
            self._flush_stream(link)
            link.pmd = None
            return
        early, link.pmd_early = link.pmd_early, []
        for arrival, data in early:
            self._malformed(link, PMD_DATA, arrival, data, ProtocolError(
                "PMD data frame while no ACC stream was set up", kind="pmd/no-stream"))

    def _release(self, link: _Link, held: _Held) -> None:
        assert link.device_id is not None
        host = link.clock.map(held.sensor_s)
        last = link.last_t.get("acc", -math.inf)
        if host[0] <= last:  # never reorder: only after a sensor clock reset
            host = host + (last - host[0] + 1e-6)
        self.writer.add_acc(link.device_id, held.nid, host, held.g)
        link.stats.acc_samples += host.size
        if self.live is not None:
            self.live.add_acc(link.device_id, host, held.g)
        self._gap(link, "acc", float(host[0]))
        link.last_t["acc"] = float(host[-1])
        self._report_clock(link, force=False, t=held.arrival)

    def _report_clock(self, link: _Link, *, force: bool, t: float | None = None) -> None:
        """Store the offset applied when it first is known or moved >= 20 ms (with an
        event), and whenever ``force`` (a stream ends) finds it changed at all."""
        applied = link.clock.applied
        if applied is None or link.device_id is None or link.sensor_base_ns is None:
            return
        reported = link.clock_reported
        moved = reported is None or abs(applied - reported) >= _CLOCK_REPORT_S
        if not moved and not (force and applied != link.clock_written):
            return
        offset = applied - link.sensor_base_ns * 1e-9
        note = (f"lower envelope of arrival minus sensor time over "
                f"{link.clock.window_s:g} s (sensor s since 2000-01-01)")
        self.writer.set_device_clock(link.device_id, offset, note)
        link.clock_written = applied
        if moved and t is not None:
            sensor_unix = PMD_EPOCH_UNIX_S + link.sensor_base_ns * 1e-9
            if reported is None:
                detail = (f"acc: host = sensor + {offset:.6f} s ({note}; the sensor clock "
                          f"reads {sensor_unix - applied:+.3f} s against the host's)")
            else:
                detail = (f"acc: offset {offset:.6f} s ({(applied - reported) * 1e3:+.1f} ms: "
                          "a smaller delay was seen, or the clocks drift)")
            self._event(t, link, "clock", detail)
            link.clock_reported = applied
