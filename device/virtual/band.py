"""A virtual wearable: a Bumble peripheral that plays a :class:`~dosewatch.session.Session`.

:class:`VirtualBand` puts a chest strap / arm band on a :class:`VirtualRadio` and streams a
recorded or simulated session over real GATT, so that a recorder written against Bleak can
be tested end to end without hardware::

    sim = simulate("steady_intermediate", person, placement="chest", acc_fs=200, seed=1)
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, sim.session, speed=60)   # a minute of session per second
        await band.start()
        ... BleakClient(band.address, backend=BumbleBleakClient, radio=radio) ...
        assert [n.payload for n in band.sent("hr")] == what_the_recorder_got

What it serves (each service only when the session has the stream behind it)
    * Heart Rate (0x180D): measurement 0x2A37 (notify) at each heart-rate sample (1 Hz),
      carrying the RR intervals since the previous notification (from ``rr_ms`` where the
      session has it, otherwise from the heart rate); body sensor location 0x2A38 (read,
      from the profile's placement).
    * Battery (0x180F): level 0x2A19 (read).
    * Running Speed and Cadence (0x1814): measurement 0x2A53 (notify, 1 Hz, speed, a
      cadence from the session or from speed, walking/running, total distance) and
      feature 0x2A54 (read).
    * Fitness Machine (0x1826), optional: treadmill data 0x2ACD (notify, 1 Hz).
    * Polar Measurement Data: the control point (read: feature bitmap with ACC; write: a
      command, answered by indication: get-settings lists 25/50/100/200 Hz, 16 bit,
      ±2/4/8 g; start/stop ACC) and the data characteristic (notify: ACC frames while a
      client has started the stream). Frames carry as many samples as fit in MTU - 3:
      uncompressed int16 in mG (H10-like, ``acc_format="raw"``) or delta-compressed
      counts of 1/4096 g with the factor in the start answer (Verity-like,
      ``acc_format="delta"``). Frame timestamps are the device clock (ns since
      2000-01-01) at the frame's last sample, derived from the *session* time of that
      sample, so accelerated playback still yields correct sample times.

Clock
    Playback runs ``speed`` times faster than wall time. :meth:`VirtualBand.now` is the
    Unix time of the session instant being played (the session's own start time when it
    has one, else the wall time when playback began), so a recorder under test can stamp
    arrivals on the same accelerated clock. Data is sent when playback passes its time,
    in rounds at most one ``connection_interval_s`` (7.5 ms wall, like a BLE connection
    interval) apart; what falls due while nobody listens is not sent (as with a real
    strap). The ACC stream starts at the session time of the start command.

Stepped clock (``step_s``), for a reproducible recording
    With ``step_s`` set, session time does not follow the wall clock continuously: it
    advances in steps of ``step_s`` session seconds, each taken once the wall clock allows
    it (at ``speed``) *and* once what the previous step sent has been delivered. Every
    notification of a step goes out, and is stamped by a recorder using :meth:`now`, at
    that step's time. A busy or starved host then only makes playback take longer: it
    cannot shift data in session time, so the same session gives the same recording on
    every run. With ``wait_for_client``, session time also waits at ``start_s`` until a
    client has subscribed to heart rate and started the ACC stream (or ``ready_timeout_s``
    wall seconds passed), so that where the recording starts does not depend on how fast
    the connection was made. ``dosewatch record --virtual`` uses both.

Measured (2 shared cores, band and Bleak client in one process; see the report)
    A 200 Hz band with HR and RSC costs about 0.5-0.7 % of a core at real time, 13 % at
    speed 30 and 15 % at speed 60 (430 notifications/s); median latency from send to
    the Bleak callback is under 1 ms, p99 under 6 ms. Flat out the stack delivers about
    2 000-3 700 notifications/s.

Test hooks
    :attr:`VirtualBand.log` holds every notification and indication actually put on the
    air (time, characteristic, bytes and the decoded values that were encoded), so a test
    can check that a recorder received each exactly once with equal values.
    :meth:`~VirtualBand.drop_link` disconnects from the peripheral side;
    :meth:`~VirtualBand.inject` sends arbitrary (malformed) bytes;
    :meth:`~VirtualBand.pause_advertising` / :meth:`~VirtualBand.resume_advertising` make a
    reconnect wait. :func:`start_bands` starts several bands on one clock.

Pitfalls handled
    * Fast advertising (20 ms by default; Bumble's default of 1 s makes every connect take
      a second).
    * Extended advertising, so the name, the 16-bit services and the 128-bit PMD service
      all fit (a legacy packet holds 31 bytes).
    * Bumble truncates notifications longer than MTU - 3 silently: frames are sized from
      the connection's MTU, RR lists are trimmed (oldest first) to fit, and the log holds
      the bytes as sent.
    * A PMD answer is sent by indication *after* the write response (from a task), and
      the stream's first frame never precedes the start answer.
    * Sending waits while the host holds many ACL packets for the link (flow control), so
      a band that falls behind at a high ``speed`` does not queue without bound.
    * The server forgets subscriptions on disconnection; the ACC stream stops too, pending
      indications are cancelled (Bumble would otherwise wait 30 s for a confirmation that
      cannot come), and advertising restarts unless paused.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
from bumble import att, gatt, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import (
    AdvertisingEventProperties,
    AdvertisingParameters,
    AdvertisingSet,
    Connection,
    Device,
)
from numpy.typing import NDArray

from ...session import Acceleration, Session
from ..protocols import (
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
    RSC_FEATURE,
    RSC_MEASUREMENT,
    RSC_SERVICE,
    SIG_UUID_SUFFIX,
    TREADMILL_DATA,
    HeartRateMeasurement,
    ProtocolError,
    RscMeasurement,
    TreadmillData,
    encode_heart_rate,
    encode_pmd_features,
    encode_pmd_frame,
    encode_pmd_response,
    encode_pmd_settings,
    encode_rsc,
    encode_treadmill,
    parse_pmd_command,
)
from .backend import VirtualController, VirtualRadio, parse_address

logger = logging.getLogger(__name__)

PMD_RATES_HZ = (25, 50, 100, 200)
PMD_RANGES_G = (2, 4, 8)
PMD_RESOLUTION = 16
DELTA_FACTOR = 1.0 / 4096.0
"""g per count of delta-compressed frames (exact in float32; Verity reports ≈ 1/4098)."""

_ST_OK, _ST_BAD_OP, _ST_NOT_SUPPORTED, _ST_BAD_LENGTH, _ST_BAD_PARAMETER = 0, 1, 3, 4, 5
_ST_ALREADY, _ST_BAD_RESOLUTION, _ST_BAD_RATE, _ST_BAD_RANGE = 6, 7, 8, 9
_FRAME_HEADER = 10
_MAX_DELTA_SAMPLES = 256  # one block of at most 255 deltas after the reference sample
_LOCATIONS = {"chest": 1, "wrist": 2}
_RSC_FEATURES = 0b110  # total distance, walking/running status
_RUN_MPS = 2.0
_YIELD_EVERY = 32
_DELIVERY_YIELDS = 12  # loop passes that carry a notification from band to central
_MAX_PENDING_PACKETS = 32


@dataclass(frozen=True, slots=True, eq=False)
class AccFrame:
    """The content of one PMD ACC frame the band sent.

    Attributes:
        timestamp_ns: device clock of the last sample, ns since 2000-01-01.
        samples: ``(n, 3)`` int64 values as encoded: mG (raw frames) or counts of
            :data:`DELTA_FACTOR` g (delta frames).
        session_t: session time of each sample, s from the session start.
        g: the samples in g (after range clipping and quantisation).
        compressed: delta-compressed frame.
    """

    timestamp_ns: int
    samples: NDArray[np.int64]
    session_t: NDArray[np.float64]
    g: NDArray[np.float64]
    compressed: bool


@dataclass(frozen=True, slots=True)
class PmdAnswer:
    """A PMD control-point answer the band indicated."""

    op: int
    mtype: int
    status: int
    params: bytes


@dataclass(frozen=True, slots=True, eq=False)
class SentNotification:
    """One notification or indication the band put on the air.

    Attributes:
        seq: position in the band's log (0, 1, 2, ...).
        perf: ``time.perf_counter()`` when sent (for latency measurements).
        t: the band's clock (:meth:`VirtualBand.now`) when sent.
        session_t: the session time of the data (of the last sample for ACC frames; the
            send time for answers and injected bytes).
        char_uuid: the characteristic (Bleak-style UUID).
        payload: the bytes as sent (after any truncation to MTU - 3).
        kind: ``hr``, ``acc``, ``rsc``, ``ftms``, ``pmd-answer`` or ``injected``.
        value: what was encoded: :class:`~dosewatch.device.protocols.HeartRateMeasurement`,
            :class:`AccFrame`, :class:`~dosewatch.device.protocols.RscMeasurement`,
            :class:`~dosewatch.device.protocols.TreadmillData`, :class:`PmdAnswer`, or None
            for injected bytes.
        indication: sent as an indication (else a notification).
    """

    seq: int
    perf: float
    t: float
    session_t: float
    char_uuid: str
    payload: bytes
    kind: str
    value: Any
    indication: bool = False


@dataclass(slots=True)
class _AccStream:
    """An ACC stream a client started: the samples still to send and how to encode them."""

    t: NDArray[np.float64]  # session times of the samples still to come
    counts: NDArray[np.int64]  # (n, 3) encoded integers
    scale_g: float
    compressed: bool
    cursor: int = 0
    ready: bool = False  # the start answer is out; frames may follow
    n_next: int = 0  # samples in the next frame (0: not sized yet)
    mtu: int = 0  # MTU the next frame was sized for


@dataclass(slots=True)
class _Plan:
    """One periodic stream (HR, RSC, FTMS): times and encodable values."""

    kind: str
    t: NDArray[np.float64]
    values: list[Any]
    cursor: int = 0

    @property
    def next_t(self) -> float:
        return float(self.t[self.cursor]) if self.cursor < self.t.size else math.inf


def _bumble_uuid(uuid: str) -> UUID:
    """A Bleak-style UUID as Bumble's, 16-bit for SIG-assigned ones (as real devices do)."""
    if uuid.startswith("0000") and uuid.endswith(SIG_UUID_SUFFIX):
        return UUID.from_16_bits(int(uuid[4:8], 16))
    return UUID(uuid)


def _hr_plan(session: Session, rr: bool) -> _Plan | None:
    hr = session.hr
    if hr is None:
        return None
    bpm = np.clip(np.round(hr.bpm), 0, 0xFFFF).astype(np.int64)
    values: list[HeartRateMeasurement] = []
    phase = 0.5
    previous_t = float(hr.t[0]) - 1.0 / max(hr.fs, 1e-6)
    for i in range(hr.t.size):
        b = int(bpm[i])
        ticks: list[int] = []
        if rr and b > 0:
            dt = min(max(float(hr.t[i]) - previous_t, 0.0), 2.0)
            new_phase = phase + b / 60.0 * dt
            beats = math.floor(new_phase) - math.floor(phase)
            phase = new_phase
            measured = hr.rr_ms[i] if hr.rr_ms is not None else math.nan
            if math.isfinite(measured) and beats == 0:
                beats = 1
            ticks = [min(max(round(60.0 / b * 1024.0), 1), 0xFFFF)] * beats
            if ticks and math.isfinite(measured):
                ticks[-1] = min(max(round(measured * 1.024), 1), 0xFFFF)
        previous_t = float(hr.t[i])
        values.append(HeartRateMeasurement(bpm=b, contact=True, rr_ticks=tuple(ticks)))
    return _Plan("hr", np.asarray(hr.t, dtype=np.float64), values)


def _cadence_from_speed(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Steps per minute a foot pod would report at speed ``v`` (m/s): a plain model."""
    walk = 70.0 + 28.0 * v
    run = 140.0 + 9.0 * v
    return np.where(v < 0.3, 0.0, np.where(v < _RUN_MPS, walk, run))


def _speed_plans(session: Session, rsc: bool, ftms: bool, interval_s: float
                 ) -> tuple[_Plan | None, _Plan | None]:
    sp = session.speed
    if sp is None or not (rsc or ftms):
        return None, None
    t = np.arange(float(sp.t[0]), float(sp.t[-1]) + 1e-9, interval_s)
    v = np.clip(np.interp(t, sp.t, sp.mps), 0.0, 255.0)
    if session.cadence is not None and session.cadence.t.size:
        cadence = np.interp(t, session.cadence.t, session.cadence.values)
    else:
        cadence = _cadence_from_speed(v)
    cadence = np.clip(np.round(cadence), 0, 255).astype(np.int64)
    distance = np.concatenate([[0.0], np.cumsum(v[:-1] * np.diff(t))])
    rsc_plan = ftms_plan = None
    if rsc:
        rsc_plan = _Plan("rsc", t, [
            RscMeasurement(speed_mps=round(float(v[i]) * 256) / 256, cadence_spm=int(cadence[i]),
                           running=bool(v[i] >= _RUN_MPS),
                           distance_m=round(float(distance[i]) * 10) / 10)
            for i in range(t.size)
        ])
    if ftms:
        # A treadmill reports its incline (0.1 % steps) when the session has one.
        incline = (None if session.grade is None else
                   np.round(np.interp(t, session.grade.t, session.grade.values) * 1000) / 10)
        ftms_plan = _Plan("ftms", t, [
            TreadmillData(speed_kmh=round(float(v[i]) * 360) / 100,
                          incline_pct=None if incline is None else float(incline[i]),
                          distance_m=int(distance[i]),
                          elapsed_s=min(int(t[i] - t[0]), 0xFFFF))
            for i in range(t.size)
        ])
    return rsc_plan, ftms_plan


def _delta_frame_size(counts: NDArray[np.int64], limit: int) -> int:
    """Largest number of leading samples whose delta frame fits in ``limit`` bytes."""
    n_max = min(counts.shape[0], _MAX_DELTA_SAMPLES)
    if n_max <= 1:
        return n_max
    d = np.diff(counts[:n_max], axis=0)
    magnitude = np.where(d < 0, ~d, d).max(axis=1)
    widths = np.maximum.accumulate(np.frexp(magnitude.astype(np.float64))[1] + 1)
    # Size of a frame of k + 1 samples: header, reference, one block header, k deltas.
    k = np.arange(1, n_max)
    sizes = _FRAME_HEADER + 6 + 2 + (widths * k * 3 + 7) // 8
    fits = np.flatnonzero(sizes <= limit)
    return int(fits[-1]) + 2 if fits.size else 1


class VirtualBand:
    """A Bumble peripheral on a :class:`VirtualRadio` that plays a session over GATT.

    Args:
        radio: the radio to put the band on.
        session: what to play (``hr``, ``acc``, ``speed`` streams are served when present).
        name: advertised name; default ``"Polar H10 <8 hex>"`` (raw ACC) or
            ``"Polar Sense <8 hex>"`` (delta ACC) from the address.
        address: Bluetooth address; default: a fresh one from the radio.
        speed: playback speed (1 = real time, 60 = a minute per second).
        start_s: session time at which playback starts.
        start_time: Unix time of session time 0; default the session's own start time,
            else the wall time when playback begins (minus ``start_s``).
        acc_format: ``"raw"`` (H10-like int16 mG frames) or ``"delta"`` (Verity-like
            delta-compressed frames with a conversion factor).
        rr: send RR intervals; default: when the session has ``rr_ms`` (a chest strap).
        rsc: serve Running Speed and Cadence when the session has speed.
        ftms: serve FTMS treadmill data when the session has speed.
        battery: battery level, percent.
        device_clock_ns: the PMD device clock (ns since 2000-01-01) at session time 0;
            default: wall time (as if an app had set the clock).
        advertising_interval_ms: advertising interval (Bumble's default, 1000 ms, makes
            every connect take a second).
        speed_interval_s: interval of RSC / FTMS notifications (session seconds).
        connection_interval_s: shortest wall time between two rounds of sending, like a
            BLE connection interval (7.5 ms): what falls due in between goes out together.
        step_s: session seconds per step of a stepped clock (see the module text); None:
            session time follows the wall clock.
        wait_for_client: hold session time at ``start_s`` until a client listens (stepped
            clock only).
        ready_timeout_s: wall seconds to wait for that client at most.

    Raises:
        ValueError: bad arguments.
    """

    def __init__(
        self,
        radio: VirtualRadio,
        session: Session,
        *,
        name: str | None = None,
        address: str | None = None,
        speed: float = 1.0,
        start_s: float = 0.0,
        start_time: float | None = None,
        acc_format: str = "raw",
        rr: bool | None = None,
        rsc: bool = True,
        ftms: bool = False,
        battery: int = 87,
        device_clock_ns: int | None = None,
        advertising_interval_ms: float = 20.0,
        speed_interval_s: float = 1.0,
        connection_interval_s: float = 0.0075,
        step_s: float | None = None,
        wait_for_client: bool = False,
        ready_timeout_s: float = 10.0,
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number, got {speed!r}")
        if acc_format not in ("raw", "delta"):
            raise ValueError(f"acc_format must be 'raw' or 'delta', got {acc_format!r}")
        if not 0 <= battery <= 100:
            raise ValueError(f"battery must be 0-100 %, got {battery!r}")
        if not 10.0 <= advertising_interval_ms <= 10_000.0:
            raise ValueError("advertising_interval_ms must be 10-10000 ms")
        if not speed_interval_s > 0:
            raise ValueError("speed_interval_s must be positive")
        if not 0.0 <= connection_interval_s <= 4.0:
            raise ValueError("connection_interval_s must be 0-4 s")
        if step_s is not None and not step_s > 0:
            raise ValueError("step_s must be positive")
        self.connection_interval_s = float(connection_interval_s)
        self.step_s = None if step_s is None else float(step_s)
        self.wait_for_client = bool(wait_for_client)
        self.ready_timeout_s = float(ready_timeout_s)
        self._stepped_t = float(start_s)
        self.radio = radio
        self.session = session
        self.speed = float(speed)
        self.start_s = float(start_s)
        self.address = address or radio.allocate_address()
        parse_address(self.address)  # validates
        suffix = self.address.replace(":", "")[-8:]
        self.name = name or (f"Polar H10 {suffix}" if acc_format == "raw"
                             else f"Polar Sense {suffix}")
        self.acc_format = acc_format
        self.battery = battery
        self.advertising_interval_ms = advertising_interval_ms
        self._start_time = start_time
        self._device_clock_ns = device_clock_ns
        rr = (session.hr is not None and session.hr.rr_ms is not None) if rr is None else rr
        self._hr = _hr_plan(session, rr)
        self._rsc, self._ftms = _speed_plans(session, rsc, ftms, speed_interval_s)
        self._plans = [p for p in (self._hr, self._rsc, self._ftms) if p is not None]
        self._end_s = session.duration_s
        self.log: list[SentNotification] = []
        self.finished = asyncio.Event()
        self.disconnections = 0
        self._acc: _AccStream | None = None
        self._chars: dict[str, gatt.Characteristic] = {}
        self._device: Device | None = None
        self._controller: VirtualController | None = None
        self._dropping = False
        self._adv_set: AdvertisingSet | None = None
        self._connection: Connection | None = None
        self._paused = False
        self._origin: float | None = None  # loop time at which session time start_s plays
        self._unix0 = 0.0  # Unix time of session time 0
        self._clock0_ns = 0  # device clock at session time 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._link_tasks: set[asyncio.Task[Any]] = set()
        self._player: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._closed = False
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> VirtualBand:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self, *, origin: float | None = None) -> None:
        """Power on, advertise, and start playback.

        Args:
            origin: loop time (``asyncio.get_running_loop().time()``) at which session
                time ``start_s`` plays; default now. :func:`start_bands` passes one origin
                to several bands so that they share a clock.
        """
        if self._started:
            return
        self._started = True
        loop = asyncio.get_running_loop()
        device, controller = self.radio.create_device(self.name, self.address)
        device.add_services(self._services())
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        await device.power_on()
        self._controller, self._device = controller, device
        self.radio.register(self.close)
        self._adv_set = await device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=True, is_scannable=False, is_legacy=False
                ),
                primary_advertising_interval_min=self.advertising_interval_ms,
                primary_advertising_interval_max=self.advertising_interval_ms,
            ),
            advertising_data=self._advertising_data(),
            auto_start=not self._paused,
            auto_restart=False,
        )
        self._origin = loop.time() if origin is None else origin
        if self._start_time is not None:
            self._unix0 = float(self._start_time)
        elif self.session.provenance.start_time is not None:
            self._unix0 = self.session.provenance.start_time.timestamp()
        else:
            # Wall time at the origin: bands started with one origin share one clock.
            self._unix0 = time.time() - (loop.time() - self._origin) - self.start_s
        if self._device_clock_ns is not None:
            self._clock0_ns = int(self._device_clock_ns)
        else:
            self._clock0_ns = round((self._unix0 - PMD_EPOCH_UNIX_S) * 1e9)
        for plan in self._plans:
            plan.cursor = int(np.searchsorted(plan.t, self.start_s, side="left"))
        play = self._play() if self.step_s is None else self._play_stepped()
        self._player = asyncio.create_task(play, name=f"band {self.address}")
        self._player.add_done_callback(_log_failure)  # a crash must not pass in silence

    async def close(self) -> None:
        """Stop playback, drop the link, stop advertising and leave the radio."""
        if self._closed or not self._started:
            self._closed = True
            return
        self._closed = True
        self.radio.unregister(self.close)
        if self._player is not None:
            self._player.cancel()
            await asyncio.gather(self._player, return_exceptions=True)
        await self._cancel(self._link_tasks | self._tasks)
        device = self._device
        if device is not None:
            if self._connection is not None:
                connection = self._connection
                try:
                    await asyncio.wait_for(connection.disconnect(), 2.0)
                except (TimeoutError, hci.HCI_Error) as err:
                    logger.debug("%s: disconnect at close failed: %s", self.address, err)
            await self._cancel(self._link_tasks | self._tasks)
            if self._adv_set is not None and self._adv_set.enabled:
                await self._adv_set.stop()
            await device.power_off()
        if self._controller is not None:
            for adv in self._controller.advertising_sets.values():
                adv.stop()
            if self._controller in self.radio.link.controllers:
                self.radio.link.remove_controller(self._controller)
        self.finished.set()

    @staticmethod
    async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _spawn(self, coroutine: Any, *, link: bool = False) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        group = self._link_tasks if link else self._tasks
        group.add(task)
        task.add_done_callback(group.discard)
        task.add_done_callback(_log_failure)
        return task

    # -- clock -----------------------------------------------------------------------------

    def session_time(self) -> float:
        """The session time being played, s from the session start."""
        if self.step_s is not None:
            return self._stepped_t
        if self._origin is None:
            return self.start_s
        elapsed = asyncio.get_running_loop().time() - self._origin
        return self.start_s + max(elapsed, 0.0) * self.speed

    def now(self) -> float:
        """The band's clock: Unix time of the session instant being played.

        It advances ``speed`` times faster than wall time; stamp arrivals with it to
        compare them with the session.
        """
        return self._unix0 + self.session_time()

    def device_time_ns(self, session_t: float) -> int:
        """The PMD device clock (ns since 2000-01-01) at a session time."""
        return self._clock0_ns + round(session_t * 1e9)

    # -- state for tests -------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Whether a central is connected."""
        return self._connection is not None

    @property
    def streaming(self) -> bool:
        """Whether a client has the ACC stream started."""
        return self._acc is not None

    @property
    def advertising(self) -> bool:
        """Whether the band is advertising now."""
        return bool(self._adv_set is not None and self._adv_set.enabled)

    @property
    def mtu(self) -> int:
        """The ATT MTU of the current connection (23 when not connected)."""
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    def sent(self, kind: str | None = None) -> list[SentNotification]:
        """The log, optionally only one ``kind`` (``hr``, ``acc``, ``rsc``, ...)."""
        return [n for n in self.log if kind is None or n.kind == kind]

    # -- GATT database ---------------------------------------------------------------------

    def _char(self, uuid: str, props: gatt.Characteristic.Properties, value: Any,
              writable: bool = False) -> gatt.Characteristic:
        permissions = gatt.Characteristic.READABLE | (
            gatt.Characteristic.WRITEABLE if writable else 0)
        characteristic = gatt.Characteristic(_bumble_uuid(uuid), props, permissions, value)
        self._chars[uuid] = characteristic
        return characteristic

    def _services(self) -> list[gatt.Service]:
        p = gatt.Characteristic.Properties
        services = []
        if self._hr is not None:
            location = _LOCATIONS.get(self.session.profile.placement or "", 0)
            services.append(gatt.Service(_bumble_uuid(HRS_SERVICE), [
                self._char(HR_MEASUREMENT, p.NOTIFY, b""),
                self._char(BODY_SENSOR_LOCATION, p.READ, bytes([location])),
            ]))
        services.append(gatt.Service(_bumble_uuid(BATTERY_SERVICE), [
            self._char(BATTERY_LEVEL, p.READ, gatt.CharacteristicValue(
                read=lambda _connection: bytes([self.battery]))),
        ]))
        if self._rsc is not None:
            services.append(gatt.Service(_bumble_uuid(RSC_SERVICE), [
                self._char(RSC_MEASUREMENT, p.NOTIFY, b""),
                self._char(RSC_FEATURE, p.READ, struct.pack("<H", _RSC_FEATURES)),
            ]))
        if self._ftms is not None:
            services.append(gatt.Service(_bumble_uuid(FTMS_SERVICE), [
                self._char(TREADMILL_DATA, p.NOTIFY, b""),
            ]))
        if self.session.acc is not None:
            services.append(gatt.Service(_bumble_uuid(PMD_SERVICE), [
                self._char(PMD_CONTROL, p.READ | p.WRITE | p.INDICATE,
                           gatt.CharacteristicValue(
                               read=lambda _connection: encode_pmd_features({PMD_TYPE_ACC}),
                               write=self._on_pmd_command),
                           writable=True),
                self._char(PMD_DATA, p.NOTIFY, b""),
            ]))
        return services

    def _advertising_data(self) -> bytes:
        short = [_bumble_uuid(u) for u in self._service_uuids()]
        structures: list[tuple[int, bytes]] = [
            (AdvertisingData.Type.FLAGS, bytes([0x06])),
            (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.name.encode("utf-8")),
            (AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
             b"".join(u.to_bytes() for u in short)),
        ]
        if self.session.acc is not None:
            structures.append((AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                               _bumble_uuid(PMD_SERVICE).to_bytes()))
        return bytes(AdvertisingData(structures))

    def _service_uuids(self) -> Iterable[str]:
        if self._hr is not None:
            yield HRS_SERVICE
        yield BATTERY_SERVICE
        if self._rsc is not None:
            yield RSC_SERVICE
        if self._ftms is not None:
            yield FTMS_SERVICE

    # -- links -----------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION,
                      lambda reason: self._on_disconnection(connection, reason))
        self._poke()

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self._connection is not connection:
            return
        logger.debug("%s: link down (reason 0x%02X)", self.address, reason)
        self._connection = None
        self._acc = None
        self.disconnections += 1
        for task in list(self._link_tasks):
            task.cancel()
        if not self._paused and not self._closed:
            self._spawn(self._restart_advertising())

    async def _restart_advertising(self) -> None:
        if self._adv_set is not None and not self._adv_set.enabled and not self._paused:
            await self._adv_set.start()

    async def drop_link(self, reason: int = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR
                        ) -> None:
        """Disconnect from the peripheral side (a strap walking out of range).

        Returns once the link is down; does nothing when not connected.
        """
        connection = self._connection
        if connection is None:
            return
        self._dropping = True  # nothing more goes out on this link
        try:
            await connection.disconnect(reason)
        finally:
            self._dropping = False

    async def pause_advertising(self) -> None:
        """Stop advertising (also after a disconnection) until :meth:`resume_advertising`."""
        self._paused = True
        if self._adv_set is not None and self._adv_set.enabled:
            await self._adv_set.stop()

    async def resume_advertising(self) -> None:
        """Advertise again (when not connected)."""
        self._paused = False
        if self._connection is None:
            await self._restart_advertising()

    def inject(self, char_uuid: str, payload: bytes) -> bool:
        """Send arbitrary bytes as a notification (or, on the PMD control point, an
        indication), for example a malformed measurement.

        Returns:
            True when it went out (a client is subscribed), else False. Logged as kind
            ``injected`` with value None.

        Raises:
            KeyError: the band serves no such characteristic.
        """
        characteristic = self._chars[char_uuid]
        if characteristic.properties & gatt.Characteristic.Properties.NOTIFY:
            return self._notify(characteristic, char_uuid, bytes(payload), "injected", None,
                                self.session_time())
        return self._indicate(char_uuid, bytes(payload), "injected", None) is not None

    # -- sending ---------------------------------------------------------------------------

    def _subscribed(self, characteristic: gatt.Characteristic, bit: int) -> Connection | None:
        connection = self._connection
        device = self._device
        if connection is None or device is None or self._dropping:
            return None
        controller = self._controller
        if controller is not None and \
                controller.find_le_connection_by_handle(connection.handle) is None:
            # The controller has already taken the link down; the host hears of it one loop
            # step later. Sending now would lose the PDU ("no connection for handle"), and
            # the log must hold only what went on air.
            return None
        cccd = device.gatt_server.subscribers.get(connection, {}).get(characteristic.handle)
        if not cccd or not cccd[0] & bit:
            return None
        return connection

    def _record(self, char_uuid: str, payload: bytes, kind: str, value: Any, session_t: float,
                indication: bool) -> None:
        self.log.append(SentNotification(
            seq=len(self.log), perf=time.perf_counter(), t=self.now(), session_t=session_t,
            char_uuid=char_uuid, payload=payload, kind=kind, value=value, indication=indication,
        ))

    def _notify(self, characteristic: gatt.Characteristic, char_uuid: str, payload: bytes,
                kind: str, value: Any, session_t: float) -> bool:
        connection = self._subscribed(characteristic, 0x01)
        if connection is None or self._device is None:
            return False
        payload = payload[: connection.att_mtu - 3]
        pdu = att.ATT_Handle_Value_Notification(
            attribute_handle=characteristic.handle, attribute_value=payload)
        self._record(char_uuid, payload, kind, value, session_t, False)
        self._device.gatt_server.send_gatt_pdu(connection, bytes(pdu))
        return True

    def _indicate(self, char_uuid: str, payload: bytes, kind: str, value: Any
                  ) -> asyncio.Task[Any] | None:
        """Indicate from a task (after the pending write response); None if unsubscribed."""
        characteristic = self._chars[char_uuid]
        connection = self._subscribed(characteristic, 0x02)
        if connection is None or self._device is None:
            return None
        payload = payload[: connection.att_mtu - 3]
        self._record(char_uuid, payload, kind, value, self.session_time(), True)
        return self._spawn(
            self._device.indicate_subscriber(connection, characteristic, payload), link=True)

    # -- Polar PMD control point -----------------------------------------------------------

    def _on_pmd_command(self, connection: Connection, data: bytes) -> None:
        """A write to the PMD control point: act now, answer by indication from a task."""
        data = bytes(data)
        acc = self.session.acc
        try:
            op, mtype, settings = parse_pmd_command(data)
        except ProtocolError as err:
            op = data[0] if data else 0
            mtype = data[1] if len(data) > 1 else 0
            self._answer(op, mtype, _ST_BAD_LENGTH if err.kind == "pmd/truncated"
                         else _ST_BAD_PARAMETER)
            return
        if op not in (PMD_OP_GET_SETTINGS, PMD_OP_START, PMD_OP_STOP):
            self._answer(op, mtype, _ST_BAD_OP)
        elif mtype != PMD_TYPE_ACC or acc is None:
            self._answer(op, mtype, _ST_NOT_SUPPORTED)
        elif op == PMD_OP_GET_SETTINGS:
            self._answer(op, mtype, _ST_OK, encode_pmd_settings({
                0: PMD_RATES_HZ, 1: (PMD_RESOLUTION,), 2: PMD_RANGES_G}))
        elif op == PMD_OP_STOP:
            self._acc = None
            self._answer(op, mtype, _ST_OK)
        else:
            self._start_acc(acc, op, mtype, settings)

    def _start_acc(self, acc: Acceleration, op: int, mtype: int,
                   settings: dict[int, int | float]) -> None:
        rate = settings.get(0, PMD_RATES_HZ[-1])
        resolution = settings.get(1, PMD_RESOLUTION)
        range_g = settings.get(2, PMD_RANGES_G[-1])
        if self._acc is not None:
            status = _ST_ALREADY
        elif rate not in PMD_RATES_HZ:
            status = _ST_BAD_RATE
        elif resolution != PMD_RESOLUTION:
            status = _ST_BAD_RESOLUTION
        elif range_g not in PMD_RANGES_G:
            status = _ST_BAD_RANGE
        else:
            status = _ST_OK
        if status != _ST_OK:
            self._answer(op, mtype, status)
            return
        stream = self._acc_stream(acc, float(rate), float(range_g))
        self._acc = stream
        params = (encode_pmd_settings({5: (DELTA_FACTOR,)}) if stream.compressed
                  else bytes([0x01]))
        answer = self._answer(op, mtype, _ST_OK, params)
        if answer is None:  # nobody listens for the answer: stream at once
            self._stream_ready(stream)
        else:  # frames follow once the client confirmed the answer
            answer.add_done_callback(
                lambda task: None if task.cancelled() or task.exception() is not None
                else self._stream_ready(stream))

    def _stream_ready(self, stream: _AccStream) -> None:
        stream.ready = True
        self._poke()

    def _answer(self, op: int, mtype: int, status: int, params: bytes = b""
                ) -> asyncio.Task[Any] | None:
        payload = encode_pmd_response(op, mtype, status, params)
        return self._indicate(PMD_CONTROL, payload, "pmd-answer",
                              PmdAnswer(op, mtype, status, params))

    def _acc_stream(self, acc: Acceleration, rate: float, range_g: float) -> _AccStream:
        ts = self.session_time()
        if abs(acc.fs - rate) <= 0.01 * rate:
            first = int(np.searchsorted(acc.t, ts, side="right"))
            t = acc.t[first:]
            xyz = acc.xyz[first:].astype(np.float64)
        else:
            t = ts + np.arange(1, max(int((acc.t[-1] - ts) * rate), 0) + 1) / rate
            xyz = np.stack([np.interp(t, acc.t, acc.xyz[:, k]) for k in range(3)], axis=1)
        compressed = self.acc_format == "delta"
        scale = DELTA_FACTOR if compressed else 0.001
        limit = min(range_g / scale, 32767.0)
        counts = np.clip(np.round(xyz / scale), -limit, limit).astype(np.int64)
        return _AccStream(t=np.ascontiguousarray(t, dtype=np.float64), counts=counts,
                          scale_g=scale, compressed=compressed)

    def _size_frame(self, stream: _AccStream) -> int:
        mtu = self.mtu
        if stream.n_next and stream.mtu == mtu:
            return stream.n_next
        remaining = stream.t.size - stream.cursor
        limit = mtu - 3
        if stream.compressed:
            n = _delta_frame_size(stream.counts[stream.cursor:stream.cursor + _MAX_DELTA_SAMPLES],
                                  limit)
        else:
            n = max((limit - _FRAME_HEADER) // 6, 1)
        stream.n_next, stream.mtu = max(min(n, remaining), 0), mtu
        return stream.n_next

    def _acc_next_t(self) -> float:
        stream = self._acc
        if stream is None or not stream.ready or stream.cursor >= stream.t.size:
            return math.inf
        n = self._size_frame(stream)
        return float(stream.t[stream.cursor + n - 1])

    def _send_acc_frame(self, stream: _AccStream) -> None:
        n = self._size_frame(stream)
        a, b = stream.cursor, stream.cursor + n
        counts = stream.counts[a:b]
        t = stream.t[a:b]
        timestamp = self.device_time_ns(float(t[-1]))
        payload = encode_pmd_frame(timestamp, counts, frame_type=0 if stream.compressed else 1,
                                   compressed=stream.compressed, resolution=PMD_RESOLUTION)
        if len(payload) > self.mtu - 3 and n > 1:
            stream.n_next = n - 1  # the size estimate was off: send one sample fewer
            self._send_acc_frame(stream)
            return
        stream.cursor, stream.n_next = b, 0
        frame = AccFrame(timestamp_ns=timestamp, samples=counts.copy(), session_t=t.copy(),
                         g=counts * stream.scale_g, compressed=stream.compressed)
        self._notify(self._chars[PMD_DATA], PMD_DATA, payload, "acc", frame, float(t[-1]))

    # -- playback --------------------------------------------------------------------------

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now_s = await self._send_due(self.session_time(), self.session_time)
            next_t = min(min((p.next_t for p in self._plans), default=math.inf),
                         self._acc_next_t())
            if now_s >= self._end_s and next_t == math.inf:
                self.finished.set()
            if next_t == math.inf and not self.finished.is_set():
                # Nothing more is due, but the session has not reached its end yet: wake
                # at the end, or the band would never say it finished.
                next_t = self._end_s
            wake = self._wake = loop.create_future()
            handle = None
            if next_t != math.inf:
                # Like a link's connection events: data that falls due within one interval
                # goes out together (fewer wake-ups at high speed).
                at = max(self._origin_loop_time(next_t), loop.time() + self.connection_interval_s)
                handle = loop.call_at(at, self._poke)
            try:
                await wake
            finally:
                if handle is not None:
                    handle.cancel()
                self._wake = None

    def _client_ready(self) -> bool:
        """A client listens to heart rate and, when the band streams ACC, started it."""
        hr_ok = self._hr is None or (
            HR_MEASUREMENT in self._chars
            and self._subscribed(self._chars[HR_MEASUREMENT], 0x01) is not None)
        acc_ok = self.session.acc is None or (self._acc is not None and self._acc.ready)
        return hr_ok and acc_ok

    async def _play_stepped(self) -> None:
        """Playback on a stepped clock (see the module text)."""
        loop = asyncio.get_running_loop()
        step = self.step_s
        assert step is not None
        if self.wait_for_client:
            deadline = loop.time() + self.ready_timeout_s
            while not self._client_ready() and loop.time() < deadline:
                await asyncio.sleep(0.005)
        origin = loop.time()
        self._origin = origin
        steps = 0
        while True:
            # What the last step sent is delivered before time moves on: a notification
            # reaches the central through a handful of loop callbacks.
            for _ in range(_DELIVERY_YIELDS):
                await asyncio.sleep(0)
            if self._stepped_t >= self._end_s:
                self.finished.set()
                # Keep the clock where it is; wake now and then for ACC restarts.
                await asyncio.sleep(0.05)
                continue
            steps += 1
            wall_at = origin + steps * step / self.speed
            delay = wall_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._stepped_t = min(self.start_s + steps * step, self._end_s)
            await self._send_due(self._stepped_t)

    async def _send_due(self, now_s: float, clock: Callable[[], float] | None = None) -> float:
        """Send every notification due at or before ``now_s``, earliest first (ACC before
        a plan due at the same time), yielding to the loop now and then. With ``clock``
        (real-time playback) ``now_s`` moves on with it at each yield. Returns the last
        ``now_s``."""
        sent = 0
        while True:
            due_plan = min(self._plans, key=lambda p: p.next_t, default=None)
            plan_t = due_plan.next_t if due_plan is not None else math.inf
            stream = self._acc
            acc_t = self._acc_next_t()
            if min(plan_t, acc_t) > now_s:
                return now_s
            if stream is not None and acc_t <= plan_t:
                self._send_acc_frame(stream)
            elif due_plan is not None:
                self._send_plan(due_plan)
            sent += 1
            if await self._backpressure() or sent % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
                if clock is not None:
                    now_s = clock()

    async def _backpressure(self) -> bool:
        """Wait while the host holds many unsent ACL packets for the link (a real link has a
        finite rate; without this a band that fell behind would queue without bound).
        Returns True when it waited."""
        connection = self._connection
        queue = connection.data_packet_queue if connection is not None else None
        if connection is None or queue is None or queue.pending < _MAX_PENDING_PACKETS:
            return False
        try:
            await queue.drain(connection.handle)
        except ValueError:  # the link went meanwhile
            pass
        return True

    def _origin_loop_time(self, session_t: float) -> float:
        """The loop time at which playback reaches ``session_t``."""
        origin = self._origin if self._origin is not None else asyncio.get_running_loop().time()
        return origin + (session_t - self.start_s) / self.speed

    def _send_plan(self, plan: _Plan) -> None:
        value = plan.values[plan.cursor]
        session_t = float(plan.t[plan.cursor])
        plan.cursor += 1
        if plan.kind == "hr":
            payload = encode_heart_rate(value)
            limit = self.mtu - 3
            while len(payload) > limit and value.rr_ticks:
                value = HeartRateMeasurement(value.bpm, value.contact, value.energy_kj,
                                             value.rr_ticks[1:])
                payload = encode_heart_rate(value)
            self._notify(self._chars[HR_MEASUREMENT], HR_MEASUREMENT, payload, "hr", value,
                         session_t)
        elif plan.kind == "rsc":
            self._notify(self._chars[RSC_MEASUREMENT], RSC_MEASUREMENT, encode_rsc(value), "rsc",
                         value, session_t)
        else:
            self._notify(self._chars[TREADMILL_DATA], TREADMILL_DATA, encode_treadmill(value),
                         "ftms", value, session_t)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("virtual band task failed", exc_info=task.exception())


async def start_bands(
    radio: VirtualRadio,
    sessions: Sequence[Session],
    *,
    speed: float = 1.0,
    names: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[VirtualBand]:
    """Start one band per session on ``radio``, all playing on one clock.

    Args:
        radio: the radio.
        sessions: one session per band.
        speed: playback speed of every band.
        names: advertised names (default: from each band's address).
        **kwargs: further :class:`VirtualBand` arguments, the same for every band.

    Returns:
        The started bands, in the order of ``sessions``.
    """
    if names is not None and len(names) != len(sessions):
        raise ValueError(f"{len(names)} names for {len(sessions)} sessions")
    bands = [
        VirtualBand(radio, s, speed=speed, name=None if names is None else names[i], **kwargs)
        for i, s in enumerate(sessions)
    ]
    origin = asyncio.get_running_loop().time()
    try:
        for band in bands:
            await band.start(origin=origin)
    except BaseException:
        for band in bands:
            await band.close()
        raise
    return bands


__all__ = [
    "DELTA_FACTOR",
    "PMD_RANGES_G",
    "PMD_RATES_HZ",
    "AccFrame",
    "PmdAnswer",
    "SentNotification",
    "VirtualBand",
    "start_bands",
]

