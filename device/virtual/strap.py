"""A fault-injecting Polar-style strap, written independently of :mod:`.band`.

:class:`FaultyStrap` is a second virtual peripheral for the recorder's tests, built
directly on Bumble (its own controller, host and GATT database on a
:class:`~dosewatch.device.virtual.backend.VirtualRadio`'s link) and sharing no code with
:class:`~dosewatch.device.virtual.band.VirtualBand`, so that a mistake the band and the
recorder share cannot hide. It plays a synthetic session (a heart rate that drifts, 200 Hz
acceleration whose samples encode their own index, so every recorded sample can be put
next to its true time) and misbehaves the way real devices were reported to:

========================  ==============================================================
``pmd="silent"``          the PMD control point accepts writes but never answers
                          (reported for Polar H10s on unencrypted links)
``pmd="unanswered-start"``  answers the settings query but never the start command, and
                          streams all the same
``pmd="late-answer"``     answers the start only after its first frames
``burst=3``               PMD frames leave three at a time (the first of each waited)
``hr_reserved=0x20``      reserved flag bits set in every heart-rate notification
``hr_trailing=b"..."``    bytes after the last heart-rate field
``no_contact=(a, b)``     session seconds without skin contact (0 bpm, contact bit clear)
``treadmill=[...]``       also a walking pad: FTMS treadmill data notifications, cycling
                          through the given payloads (e.g. real captures) at 1 Hz
``encrypted_pmd=True``    the PMD control point needs an encrypted link (pair first)
========================  ==============================================================

Everything sent is logged (:attr:`FaultyStrap.sent`) with the session time it describes:
a heart-rate notification's send time, or each acceleration sample's own time.
:meth:`FaultyStrap.now` is the strap's clock (Unix time of the session instant being
played, ``speed`` times faster than wall time) for the recorder to stamp arrivals with.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from bumble import gatt, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.host import Host

from .backend import VirtualRadio

__all__ = ["FaultyStrap", "Sent", "sample_index"]

logger = logging.getLogger(__name__)

_HRS, _HRM, _BSL = UUID.from_16_bits(0x180D), UUID.from_16_bits(0x2A37), UUID.from_16_bits(0x2A38)
_FTMS, _TREADMILL = UUID.from_16_bits(0x1826), UUID.from_16_bits(0x2ACD)
_PMD = UUID("FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8")
_PMD_CP = UUID("FB005C81-02E7-F387-1CAD-8ACD2D8DF0C8")
_PMD_DATA = UUID("FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8")
_H10_CLOCK_NS = 599_616_000 * 10**9  # the H10's clock after a reset: 2019-01-01 (since 2000)
_RATE = 200
_PER_FRAME = 39  # int16 x 3 samples in one 244-byte notification (MTU 247)


def sample_index(x_mg: np.ndarray, y_mg: np.ndarray) -> np.ndarray:
    """The index of a sample the strap sent, from its x and y (in mG)."""
    return np.round(x_mg).astype(np.int64) * 1000 + np.round(y_mg).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Sent:
    """One notification or indication the strap sent.

    Attributes:
        kind: ``hr``, ``acc``, ``treadmill`` or ``pmd-answer``.
        t: the strap's clock when it went out.
        session_t: for ``hr`` and ``treadmill`` the send time; for ``acc`` the time of
            each sample (an array).
        payload: the bytes.
        value: heart rate (bpm) for ``hr``; the sample indices for ``acc``.
    """

    kind: str
    t: float
    session_t: Any
    payload: bytes
    value: Any = None


class FaultyStrap:
    """A Bumble peripheral that streams like a Polar strap, with faults (module text).

    Args:
        radio: the radio to put the strap on.
        duration_s: session seconds to play.
        speed: playback speed.
        address, name: how it advertises.
        pmd: ``"ok"``, ``"silent"``, ``"unanswered-start"`` or ``"late-answer"``.
        burst: PMD frames sent together.
        hr_reserved: reserved flag bits to set in heart-rate notifications.
        hr_trailing: bytes to append to heart-rate notifications.
        no_contact: (start, end) session seconds without skin contact.
        treadmill: FTMS treadmill data payloads to send, cycling, at 1 Hz.
        encrypted_pmd: the PMD control point refuses reads and writes on an unencrypted
            link.
    """

    def __init__(
        self,
        radio: VirtualRadio,
        *,
        duration_s: float = 120.0,
        speed: float = 10.0,
        address: str = "C0:DE:00:00:0F:01",
        name: str = "Polar H10 FAULTY1",
        pmd: str = "ok",
        burst: int = 1,
        hr_reserved: int = 0,
        hr_trailing: bytes = b"",
        no_contact: tuple[float, float] | None = None,
        treadmill: Sequence[bytes] = (),
        encrypted_pmd: bool = False,
    ) -> None:
        if pmd not in ("ok", "silent", "unanswered-start", "late-answer"):
            raise ValueError(f"unknown pmd behaviour {pmd!r}")
        if burst < 1 or hr_reserved & ~0xE0:
            raise ValueError("burst must be >= 1 and hr_reserved within 0xE0")
        self.radio = radio
        self.duration_s = float(duration_s)
        self.speed = float(speed)
        self.address = address
        self.name = name
        self.pmd = pmd
        self.burst = int(burst)
        self.hr_reserved = int(hr_reserved)
        self.hr_trailing = bytes(hr_trailing)
        self.no_contact = no_contact
        self.treadmill = [bytes(p) for p in treadmill]
        self.encrypted_pmd = encrypted_pmd
        self.sent: list[Sent] = []
        self.commands: list[bytes] = []
        self.finished = asyncio.Event()
        self._device: Device | None = None
        self._controller: Controller | None = None
        self._connection: Connection | None = None
        self._origin = 0.0
        self._unix0 = 0.0
        self._task: asyncio.Task[None] | None = None
        self._answers: set[asyncio.Task[Any]] = set()
        self._streaming_from: float | None = None  # session time the ACC stream started
        self._next_sample = 0
        self._frames_sent = 0
        self._held_answer: bytes | None = None

    # -- clock -----------------------------------------------------------------------------

    def session_time(self) -> float:
        return max(asyncio.get_running_loop().time() - self._origin, 0.0) * self.speed

    def now(self) -> float:
        """The strap's clock: Unix time of the session instant being played."""
        return self._unix0 + self.session_time()

    def device_ns(self, session_t: float) -> int:
        return _H10_CLOCK_NS + round(session_t * 1e9)

    def sent_of(self, kind: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == kind]

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        controller = Controller(self.name, link=self.radio.link)
        controller.le_acl_data_packet_length = 251
        host = Host(controller_source=controller, controller_sink=controller)
        device = Device(name=self.name, address=hci.Address(
            self.address, hci.Address.RANDOM_DEVICE_ADDRESS), host=host)
        p = gatt.Characteristic.Properties
        readable = gatt.Characteristic.READABLE
        cp_permissions = readable | gatt.Characteristic.WRITEABLE
        if self.encrypted_pmd:
            cp_permissions |= (gatt.Characteristic.READ_REQUIRES_ENCRYPTION
                               | gatt.Characteristic.WRITE_REQUIRES_ENCRYPTION)
        self._hrm = gatt.Characteristic(_HRM, p.NOTIFY, readable, b"")
        self._cp = gatt.Characteristic(
            _PMD_CP, p.READ | p.WRITE | p.INDICATE, cp_permissions,
            gatt.CharacteristicValue(read=lambda _c: bytes([0x0F, 0x05]) + bytes(15),
                                     write=self._on_command))
        self._data = gatt.Characteristic(_PMD_DATA, p.NOTIFY, readable, b"")
        services = [
            gatt.Service(_HRS, [self._hrm, gatt.Characteristic(_BSL, p.READ, readable, b"\x01")]),
            gatt.Service(_PMD, [self._cp, self._data]),
        ]
        if self.treadmill:
            self._tm = gatt.Characteristic(_TREADMILL, p.NOTIFY, readable, b"")
            services.append(gatt.Service(_FTMS, [self._tm]))
        device.add_services(services)
        device.on("connection", self._on_connection)
        await device.power_on()
        kinds = AdvertisingData.Type
        advertising = bytes(AdvertisingData([
            (kinds.FLAGS, bytes([0x06])),
            (kinds.COMPLETE_LOCAL_NAME, self.name.encode()),
            (kinds.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, _HRS.to_bytes()),
        ]))
        await device.start_advertising(auto_restart=True, advertising_data=advertising,
                                       advertising_interval_min=20, advertising_interval_max=20)
        self._device, self._controller = device, controller
        self._origin = asyncio.get_running_loop().time()
        self._unix0 = time.time()
        self._task = asyncio.create_task(self._play(), name=f"strap {self.address}")
        self.radio.register(self.close)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for task in list(self._answers):
            task.cancel()
        await asyncio.gather(*self._answers, return_exceptions=True)
        device, self._device = self._device, None
        if device is not None:
            if self._connection is not None:
                try:
                    await asyncio.wait_for(self._connection.disconnect(), 2.0)
                except (TimeoutError, hci.HCI_Error):
                    pass
            await device.stop_advertising()
            await device.power_off()
        if self._controller is not None and self._controller in self.radio.link.controllers:
            self.radio.link.remove_controller(self._controller)
        self.radio.unregister(self.close)
        self.finished.set()

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        connection.on("disconnection", lambda _reason: self._on_disconnection(connection))

    def _on_disconnection(self, connection: Connection) -> None:
        if self._connection is connection:
            self._connection = None
            self._streaming_from = None

    # -- PMD control point -------------------------------------------------------------------

    def _on_command(self, _connection: Connection, value: bytes) -> None:
        value = bytes(value)
        self.commands.append(value)
        op, mtype = value[0], value[1] if len(value) > 1 else 0
        if op == 0x01:  # get settings: 200 Hz, 16 bit, ±8 g
            self._answer(bytes([0xF0, 1, mtype, 0, 0, 0, 1]) + (200).to_bytes(2, "little")
                         + bytes([1, 1, 16, 0, 2, 1, 8, 0]))
        elif op == 0x02:
            answer = bytes([0xF0, 2, mtype, 0, 0, 1])
            if self.pmd != "silent":
                self._streaming_from = self.session_time()
                self._next_sample = math.ceil(self._streaming_from * _RATE)
            if self.pmd == "late-answer":
                self._held_answer = answer
            elif self.pmd != "unanswered-start":
                self._answer(answer)
        elif op == 0x03:
            self._streaming_from = None
            self._answer(bytes([0xF0, 3, mtype, 0, 0]))

    def _answer(self, payload: bytes) -> None:
        """Indicate an answer from a task (after the write response), unless silent."""
        if self.pmd == "silent" or self._device is None:
            return
        connection = self._connection
        if connection is None:
            return
        self.sent.append(Sent("pmd-answer", self.now(), self.session_time(), payload))
        task = asyncio.create_task(self._device.indicate_subscriber(connection, self._cp,
                                                                     payload))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    # -- playback ----------------------------------------------------------------------------

    def _hr_payload(self, session_t: float) -> tuple[bytes, int]:
        bpm = int(round(90 + 40 * math.sin(session_t / 50.0)))
        contact = not (self.no_contact and self.no_contact[0] <= session_t < self.no_contact[1])
        if not contact:
            bpm = 0
        if not contact:  # contact supported, not detected: 0 bpm, no RR
            return bytes([0x04 | self.hr_reserved, 0]) + self.hr_trailing, 0
        rr = min(max(round(60.0 / bpm * 1024), 1), 0xFFFF)
        flags = 0x04 | 0x02 | 0x10 | self.hr_reserved  # contact, RR
        return bytes([flags, bpm]) + rr.to_bytes(2, "little") + self.hr_trailing, bpm

    def _subscribed(self, characteristic: gatt.Characteristic) -> bool:
        device, connection = self._device, self._connection
        if device is None or connection is None:
            return False
        cccd = device.gatt_server.subscribers.get(connection, {}).get(characteristic.handle)
        return bool(cccd and cccd[0] & 0x01)

    async def _notify(self, characteristic: gatt.Characteristic, payload: bytes) -> bool:
        if not self._subscribed(characteristic) or self._device is None:
            return False
        await self._device.notify_subscribers(characteristic, payload)
        return True

    async def _play(self) -> None:
        next_hr = 1.0
        next_tm = 0.5
        tm_index = 0
        frames: list[tuple[bytes, np.ndarray, np.ndarray]] = []
        while True:
            now_s = self.session_time()
            while next_hr <= min(now_s, self.duration_s):
                payload, bpm = self._hr_payload(next_hr)
                if await self._notify(self._hrm, payload):
                    self.sent.append(Sent("hr", self.now(), next_hr, payload, bpm))
                next_hr += 1.0
            while self.treadmill and next_tm <= min(now_s, self.duration_s):
                payload = self.treadmill[tm_index % len(self.treadmill)]
                if await self._notify(self._tm, payload):
                    self.sent.append(Sent("treadmill", self.now(), next_tm, payload))
                    tm_index += 1
                next_tm += 1.0
            if self._streaming_from is None:
                frames.clear()
            else:
                while (self._next_sample + _PER_FRAME) / _RATE <= min(now_s, self.duration_s):
                    j = np.arange(self._next_sample, self._next_sample + _PER_FRAME)
                    self._next_sample += _PER_FRAME
                    t = j / _RATE
                    samples = np.column_stack([j // 1000, j % 1000, np.full(j.size, 1000)])
                    head = bytes([2]) + self.device_ns(float(t[-1])).to_bytes(8, "little")
                    body = samples.astype("<i2").tobytes()
                    frames.append((head + bytes([1]) + body, t, j))
                if len(frames) >= self.burst:
                    for payload, t, j in frames:
                        if await self._notify(self._data, payload):
                            self.sent.append(Sent("acc", self.now(), t, payload, j))
                            self._frames_sent += 1
                    frames.clear()
                    if self._held_answer is not None and self._frames_sent >= 3:
                        held, self._held_answer = self._held_answer, None
                        self._answer(held)
            if now_s >= self.duration_s:
                self.finished.set()
            await asyncio.sleep(0.0075)
