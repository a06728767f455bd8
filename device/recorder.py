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

Time. Every device is put on one host clock (``clock``, Unix seconds; ``time.time`` by
default, a virtual band's accelerated clock in tests): heart rate, speed and control
answers at their arrival time; PMD samples at their sensor times (Polar's rule, see
:class:`~dosewatch.device.protocols.PmdTimeline`) mapped to host time by an offset fixed
at the stream's first frame (host arrival minus the sensor time of that frame's last
sample), stored with :meth:`~dosewatch.recording.RecordingWriter.set_device_clock`.
After a reconnect the stream restarts and the offset is fixed again from its first
frame; if that would place a sample at or before one already recorded (a shorter
arrival delay than the first time), the offset is raised just enough, so samples are
never duplicated or reordered.

Link loss. A lost link is reconnected with backoff (first at once, then
``backoff_s`` doubling up to ``max_backoff_s``) until the recorder stops; notifications
are subscribed again and the ACC stream restarted. The recording gets ``disconnect``,
``reconnect`` and, per stream, ``gap`` events.

Malformed notifications (a :class:`~dosewatch.device.protocols.ProtocolError` from the
decoder) are stored raw with the error's kind as their status, counted per kind, logged
once per kind, and skipped.

Stopping (:meth:`Recorder.stop`, or cancelling :meth:`Recorder.run`, which Ctrl-C does):
the ACC stream is stopped (a Polar strap streaming keeps itself awake), every device is
disconnected, the queue is drained, and the recording gets its last commit and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DeviceError, OutputError
from ..recording import RecordingWriter
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
_PMD_MAX_SKEW_S = 60.0  # a frame's sensor time may differ this much from its arrival
_PMD_REANCHOR_AFTER = 5  # frames in a row beyond that before the clock is anchored again
_PMD_MAX_GAP_S = 0.5
_MIN_PMD_MTU = 100  # the H10's 27-byte settings answer and 200 Hz frames need more than 23



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
            ``stream``, ``stream-failed``, ``clock``, ``malformed``, ``battery``, ...
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
        hr_values, acc_samples, speed_values: decoded values recorded.
        connects: successful connections (the first one included).
        disconnects: links lost or closed.
        acc_rate_hz: the ACC rate streamed, when streaming.
        battery: the battery level read last, %.
    """

    address: str
    name: str | None = None
    services: list[str] = field(default_factory=list)
    notifications: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    hr_values: int = 0
    acc_samples: int = 0
    speed_values: int = 0
    connects: int = 0
    disconnects: int = 0
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
    base_ns: int | None = None  # sensor time of the anchor sample
    base_host: float = 0.0  # its host time
    implausible: int = 0  # frames in a row whose time is far from their arrival


@dataclass(slots=True)
class _Control:
    """A connection event travelling through the queue (after the data before it)."""

    t: float
    link: _Link
    kind: str
    detail: str = ""


class _Link:
    """One device: what the device task and the consumer know about it."""

    def __init__(self, target: BLEDevice | str) -> None:
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
        self.pmd_started = False  # the device task's view: a start was confirmed
        self.last_acc_t = -math.inf
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
        commit_interval_s: float = 1.0,
        on_event: Callable[[RecorderEvent], None] | None = None,
    ) -> None:
        if not targets:
            raise ValueError("give at least one device to record")
        if not (backoff_s > 0 and max_backoff_s >= backoff_s):
            raise ValueError("need 0 < backoff_s <= max_backoff_s")
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
        self.commit_interval_s = min(float(commit_interval_s), writer.commit_interval_s)
        self.on_event = on_event
        self._links = [_Link(t) for t in targets]
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._stopping = asyncio.Event()
        self._connect_lock = asyncio.Lock()
        self._device_tasks: list[asyncio.Task[None]] = []
        self._consumer: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._malformed_logged: set[str] = set()
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
        client = BleakClient(
            link.target,
            disconnected_callback=lambda c: self._disconnected(link, c),
            timeout=self.connect_timeout,
            **self.client_kwargs,
        )
        link.client = client
        try:
            async with self._connect_lock:
                async with asyncio.timeout(self.connect_timeout + 5.0):
                    await client.connect()
            await self._setup(link, client)
            return True
        except (BleakError, TimeoutError, OSError, DeviceError, ProtocolError) as exc:
            if not self._stopping.is_set():
                self._control(link, "connect-failed", f"{type(exc).__name__}: {exc}")
                logger.info("%s: %s", link.label, exc)
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                async with asyncio.timeout(3.0):
                    await client.disconnect()
            return False

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
        if HR_MEASUREMENT in chars:
            await client.start_notify(HR_MEASUREMENT, self._notifier(link, HR_MEASUREMENT))
        if RSC_MEASUREMENT in chars:
            await client.start_notify(RSC_MEASUREMENT, self._notifier(link, RSC_MEASUREMENT))
        if TREADMILL_DATA in chars:
            await client.start_notify(TREADMILL_DATA, self._notifier(link, TREADMILL_DATA))
        if PMD_CONTROL in chars and PMD_DATA in chars:
            await self._start_pmd(link, client)
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

    async def _read(self, link: _Link, client: BleakClient, uuid: str, kind: str
                    ) -> bytes | None:
        """Read a characteristic; None (and an event) when the read fails."""
        from bleak.exc import BleakError

        try:
            return bytes(await client.read_gatt_char(uuid))
        except BleakError as exc:
            self._control(link, kind, f"read failed: {exc}")
            return None

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
        await client.start_notify(PMD_CONTROL, self._notifier(link, PMD_CONTROL))
        await client.start_notify(PMD_DATA, self._notifier(link, PMD_DATA))
        try:
            features = pmd_features(await client.read_gatt_char(PMD_CONTROL))
        except ProtocolError:
            features = {PMD_TYPE_ACC}  # some firmware answers oddly; ask for settings anyway
        if PMD_TYPE_ACC not in features:
            self._control(link, "stream-failed", "the PMD service offers no acceleration")
            return
        answer = await self._pmd_command(link, client, encode_pmd_command(PMD_OP_GET_SETTINGS, PMD_TYPE_ACC))
        if not answer.ok:
            self._control(link, "stream-failed", f"ACC settings refused: {answer.status_text}")
            return
        choice = choose_pmd_settings(answer.settings(), max_rate_hz=self.max_acc_hz,
                                     range_g=self.acc_range_g)
        link.pmd_requested = choice
        start = encode_pmd_command(PMD_OP_START, PMD_TYPE_ACC, choice.settings())
        answer = await self._pmd_command(link, client, start)
        if answer.status == _PMD_ALREADY:  # left running by an earlier session
            await self._pmd_command(link, client, encode_pmd_command(PMD_OP_STOP, PMD_TYPE_ACC))
            answer = await self._pmd_command(link, client, start)
        if not answer.ok:
            self._control(link, "stream-failed", f"ACC start refused: {answer.status_text}")
            return
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
            await client.write_gatt_char(PMD_CONTROL, data, response=True)
            async with asyncio.timeout(self.command_timeout):
                return await future
        except TimeoutError:
            raise DeviceError(f"no answer to PMD command {data.hex(' ')} within "
                              f"{self.command_timeout:g} s", source=link.label,
                              hint="the device may need a restart") from None
        finally:
            if link.pmd_pending is not None and link.pmd_pending[1] is future:
                link.pmd_pending = None
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a failed write already said what went wrong

    async def _close_link(self, link: _Link) -> None:
        """Stop the ACC stream and disconnect (on stop)."""
        from bleak.exc import BleakError

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
                elif item is not _TICK:
                    try:
                        if isinstance(item, _Control):
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
        detail = item.detail
        if link.device_id is None:  # not registered yet (never connected): name it here
            detail = f"{link.label}: {detail}"
        self._event(item.t, link, item.kind, detail)

    def _malformed(self, link: _Link, uuid: str, t: float, data: bytes,
                   error: ProtocolError) -> None:
        kind = error.kind
        link.stats.malformed[kind] += 1
        self.writer.add_notification(link.device_id or 0, uuid, t, data, kind)
        if kind not in self._malformed_logged:
            self._malformed_logged.add(kind)
            logger.warning("%s: malformed notification skipped (%s); further ones of this "
                           "kind are only counted", link.label, error)
            self._event(t, link, "malformed", f"{kind}: {error.reason} (first of its kind)")

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
                nid = writer.add_notification(device_id, uuid, t, data)
                rr = m.rr_ms
                writer.add_hr(device_id, nid, t, m.bpm, rr)
                link.stats.hr_values += 1
                if live is not None:
                    live.add_hr(device_id, t, m.bpm, rr[-1] if rr else None)
                self._gap(link, "hr", t)
            elif uuid == PMD_DATA:
                self._handle_frame(t, link, device_id, data)
            elif uuid == PMD_CONTROL:
                self._handle_answer(t, link, device_id, data)
            elif uuid == RSC_MEASUREMENT:
                r = decode_rsc(data)
                nid = writer.add_notification(device_id, uuid, t, data)
                writer.add_speed(device_id, nid, t, r.speed_mps, r.cadence_spm)
                link.stats.speed_values += 1
                if live is not None:
                    live.add_speed(device_id, t, r.speed_mps, r.cadence_spm)
                self._gap(link, "speed", t)
            elif uuid == TREADMILL_DATA:
                d = decode_treadmill(data)
                nid = writer.add_notification(device_id, uuid, t, data)
                if d.speed_mps is not None:
                    writer.add_speed(device_id, nid, t, d.speed_mps, None)
                    link.stats.speed_values += 1
                    if live is not None:
                        live.add_speed(device_id, t, d.speed_mps, None)
                    self._gap(link, "speed", t)
            else:
                writer.add_notification(device_id, uuid, t, data, "unknown-characteristic")
        except ProtocolError as exc:
            self._malformed(link, uuid, t, data, exc)

    def _handle_answer(self, t: float, link: _Link, device_id: int, data: bytes) -> None:
        if data[:1] == b"\x01":
            stopped = decode_pmd_stop_notice(data)
            self.writer.add_notification(device_id, PMD_CONTROL, t, data)
            if PMD_TYPE_ACC in stopped:
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
                link.pmd = _PmdStream(choice, answer.factor(),
                                      PmdTimeline(choice.rate_hz, max_gap_s=_PMD_MAX_GAP_S))
        elif answer.op == PMD_OP_STOP and answer.mtype == PMD_TYPE_ACC and answer.ok:
            link.pmd = None
        pending = link.pmd_pending
        if pending is not None and pending[0] == answer.op and not pending[1].done():
            pending[1].set_result(answer)

    def _handle_frame(self, t: float, link: _Link, device_id: int, data: bytes) -> None:
        stream = link.pmd
        if stream is None:
            raise ProtocolError("PMD data frame while no ACC stream is started",
                                kind="pmd/no-stream")
        frame = decode_pmd_frame(data, channels=stream.choice.channels or 3,
                                 resolution=stream.choice.resolution)
        g = pmd_samples_to_g(frame, stream.factor)
        if stream.base_ns is not None:
            # A frame whose sensor time is far from its arrival is garbage that happened to
            # parse: refuse it before it moves the timeline. Many in a row mean the anchor
            # itself was wrong (a garbage first frame, a clock reset): anchor again.
            predicted = stream.base_host + (frame.timestamp_ns - stream.base_ns) * 1e-9
            if abs(predicted - t) > _PMD_MAX_SKEW_S:
                stream.implausible += 1
                if stream.implausible < _PMD_REANCHOR_AFTER:
                    raise ProtocolError(
                        f"PMD frame time {predicted - t:+.1f} s from its arrival",
                        kind="pmd/implausible-time")
                stream.timeline.reset()
                stream.base_ns = None
                self._event(t, link, "clock", f"acc: {stream.implausible} frames in a row "
                            "far from their arrival times: clock anchored again")
            stream.implausible = 0
        times_ns = stream.timeline.sample_times_ns(frame.timestamp_ns, g.shape[0])
        if stream.base_ns is None:
            base_ns, base_host = self._anchor(t, link, device_id, stream, times_ns)
        else:
            base_ns, base_host = stream.base_ns, stream.base_host
        host = base_host + (times_ns - base_ns) * 1e-9
        nid = self.writer.add_notification(device_id, PMD_DATA, t, data)
        self.writer.add_acc(device_id, nid, host, g)
        link.stats.acc_samples += host.size
        link.last_acc_t = float(host[-1])
        if self.live is not None:
            self.live.add_acc(device_id, host, g)
        self._gap(link, "acc", float(host[0]))
        link.last_t["acc"] = link.last_acc_t

    def _anchor(self, t: float, link: _Link, device_id: int, stream: _PmdStream,
                times_ns: np.ndarray) -> tuple[int, float]:
        """Fix the sensor-to-host offset at a stream's first frame: its last sample is at
        the arrival time, unless that would not come after the samples already recorded."""
        last_ns = int(times_ns[-1])
        host_last = t
        first_host = host_last - (last_ns - int(times_ns[0])) * 1e-9
        earliest = link.last_acc_t + 1.0 / stream.choice.rate_hz
        note = "host arrival minus sensor time of the first frame's last sample"
        if first_host < earliest:
            host_last += earliest - first_host
            note += f"; raised by {earliest - first_host:.6f} s to follow the samples before"
        stream.base_ns, stream.base_host = last_ns, host_last
        offset = host_last - last_ns * 1e-9
        self.writer.set_device_clock(device_id, offset, note)
        sensor_unix = PMD_EPOCH_UNIX_S + last_ns * 1e-9
        self._event(t, link, "clock", f"acc: host = sensor + {offset:.6f} s ({note}; the "
                    f"sensor clock reads {sensor_unix - host_last:+.3f} s against the host's)")
        return last_ns, host_last
