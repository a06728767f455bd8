"""A Bleak backend that talks to virtual peripherals over Bumble's in-process radio.

Production code is written against :class:`bleak.BleakClient` and :class:`bleak.BleakScanner`.
To run it with no Bluetooth hardware, tests hand Bleak this backend and a
:class:`VirtualRadio` through Bleak's documented custom-backend hook (bleak 3.1.0 forwards
every keyword it does not know to the backend class)::

    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session)          # dosewatch.device.virtual.band
        await band.start()
        device = await BleakScanner.find_device_by_address(
            band.address, backend=BumbleBleakScanner, radio=radio)
        async with BleakClient(device, backend=BumbleBleakClient, radio=radio) as client:
            await client.start_notify(HR_MEASUREMENT, on_hr)

Architecture
    ``bumble.link.LocalLink`` is the air. Each peripheral and the one central are a
    ``bumble.controller.Controller`` (an emulated link layer) with a ``bumble.device.Device``
    (host stack: L2CAP, ATT, GATT) on top, all on the running asyncio loop. The radio owns
    the link and the central, like an adapter owns its radio: every ``BleakScanner`` and
    ``BleakClient`` given the same radio shares that central, and several connections
    (to several bands) run over it at once. A client maps Bleak's calls onto a
    ``bumble.device.Peer``; characteristics are looked up by UUID, as application code
    should (handle numbers differ between backends).

Pitfalls handled (measured in ``/work/shared/ble-protocols.md`` §5)
    * The emulated controller's default LE ACL buffer is 27 bytes, so a 247-byte
      notification travels as ten ACL fragments. Controllers made here use 251-byte
      buffers (3-6x cheaper per notification).
    * ATT MTU starts at 23 and a Bumble server silently truncates longer notifications and
      indications to MTU - 3. Every connection negotiates ``VirtualRadio.mtu`` (247 by
      default: one 251-byte link-layer packet) before service discovery.
    * A connection attempt to an address that is not advertising never completes in the
      emulated controller, even with a timeout: it ignores LE Create Connection Cancel and
      then refuses every later attempt. The central's controller here answers the cancel as
      a real controller does (a Connection Complete event with status Unknown Connection
      Identifier), and every attempt is also wrapped in an outer timeout that clears the
      controller's pending state, so a missing device fails cleanly and the central can
      connect again.
    * A controller accepts one connection attempt at a time (a second one gets Command
      Disallowed): attempts are serialised with a lock per radio.
    * A link lost while a read or write waits for its response makes Bumble cancel the
      waiting future, which would surface as ``CancelledError`` in the caller; it is turned
      into a :class:`bleak.exc.BleakError` unless the caller's task is really being cancelled.
    * Subscriptions are per connection: a Bumble server forgets its CCCDs when a link goes,
      and a new connection starts with a fresh ``Peer`` and service collection, so a client
      must subscribe again after reconnecting (as with a real device).
    * Bumble's GATT client never marks descriptors as discovered, so each subscribe and
      unsubscribe would rediscover them (an extra round trip); the flag is set after the
      discovery done at connection time.
    * Bumble's controller and host format every HCI packet into a coloured debug string
      whether debug logging is on or not (about a quarter of the CPU of a 200 Hz stream);
      :class:`VirtualController` and :class:`QuietHost` log lazily instead.
    * The emulated controller reports every advertisement twice (once as a scan response
      carrying the same data); the scanner ignores the scan-response copy.

Notification callbacks are called straight from the Bumble host with a ``bytearray``;
keep them thin (stamp the time, queue the bytes, return), as STYLE.md asks.
"""

from __future__ import annotations

import asyncio
import logging
import uuid as uuid_module
from collections.abc import Callable
from types import TracebackType
from typing import Any

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy
from bumble.host import Host
from bumble.link import LocalLink
from bumble.snoop import Snooper

logger = logging.getLogger(__name__)

DEFAULT_MTU = 247
"""ATT MTU the central asks for: 247 + 4 bytes of L2CAP header fill one 251-byte LL packet."""

ACL_PACKET_LENGTH = 251
"""LE ACL data packet length of every emulated controller made here (Bumble's default: 27)."""

CENTRAL_ADDRESS = "F0:DE:00:00:00:01"
"""Random static address of the radio's central."""

_PERIPHERAL_PREFIX = "C0:DE:00:00"


class VirtualController(Controller):
    """Bumble's emulated controller with large ACL buffers and a working connection cancel.

    Bumble 0.0.236 answers LE Create Connection Cancel with success but keeps the attempt
    pending and never reports its end, so the host waits forever and the controller refuses
    any later attempt. Here the cancel ends the attempt the way the Core specification
    says: a Connection Complete event with status Unknown Connection Identifier.
    """

    def __init__(self, name: str, *, link: LocalLink, acl_packet_length: int = ACL_PACKET_LENGTH):
        super().__init__(name, link=link)
        self.le_acl_data_packet_length = acl_packet_length
        self.acl_data_packet_length = acl_packet_length

    # Bumble's versions of the next two build a coloured debug line with the whole packet
    # formatted on every call, logging enabled or not: about a quarter of the CPU of a
    # 200 Hz stream. These log lazily and dispatch the same way.

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        logger.debug("[%s] host -> controller: %s", self.name, packet)
        if isinstance(packet, hci.HCI_Command):
            self.on_hci_command_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        else:
            logger.warning("[%s] unknown HCI packet type %s", self.name, packet.hci_packet_type)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        logger.debug("[%s] controller -> host: %s", self.name, packet)
        if self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            # The connection completed in the meantime; the host already has its result.
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)
        self.pending_le_connection = None
        failure = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # Scheduled so that the host sees the Command Complete first, as on real hardware.
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failure)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class QuietHost(Host):
    """Bumble's host without the eager debug formatting of every HCI packet (see above)."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        logger.debug("host -> controller: %s", packet)
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.HOST_TO_CONTROLLER)
        if self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        logger.debug("controller -> host: %s", packet)
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.CONTROLLER_TO_HOST)
        if isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        else:  # commands, SCO and ISO data: not used on this radio
            super().on_hci_packet(packet)


def parse_address(address: str) -> hci.Address:
    """A Bleak-style address string (``"C0:DE:00:00:00:01"``) as a Bumble random address.

    Raises:
        ValueError: the string is not six hexadecimal bytes separated by colons.
    """
    parts = address.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"not a Bluetooth address: {address!r} (expected AA:BB:CC:DD:EE:FF)")
    try:
        return hci.Address(address.upper(), hci.Address.RANDOM_DEVICE_ADDRESS)
    except (ValueError, core.InvalidArgumentError) as err:
        raise ValueError(f"not a Bluetooth address: {address!r}") from err


def address_string(address: hci.Address) -> str:
    """A Bumble address in Bleak's form: upper-case hex, no type suffix."""
    return address.to_string(with_type_qualifier=False)


def bleak_uuid(value: core.UUID) -> str:
    """A Bumble UUID (16, 32 or 128 bit) in Bleak's form: lower-case, 128-bit, dashed."""
    return str(uuid_module.UUID(bytes=bytes(reversed(value.uuid_128_bytes))))


def _bleak_properties(properties: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items()
            if bit <= 0xFF and bit & properties]


class VirtualRadio:
    """An in-process Bluetooth LE air interface with one central for Bleak to use.

    Args:
        mtu: ATT MTU every connection negotiates right after connecting.
        acl_packet_length: LE ACL buffer size of every controller on this radio.
        connect_timeout: when set, caps the timeout of every connection attempt (Bleak's
            default is 30 s, long for a test that expects a missing device).
        name: name of the central device.

    Use it as an async context manager, or call :meth:`start` and :meth:`close`. Closing
    the radio also closes every peripheral registered on it (see :meth:`register`).
    """

    def __init__(
        self,
        *,
        mtu: int = DEFAULT_MTU,
        acl_packet_length: int = ACL_PACKET_LENGTH,
        connect_timeout: float | None = None,
        name: str = "dosewatch-central",
    ) -> None:
        if not 23 <= mtu <= 517:
            raise ValueError(f"mtu must be 23-517, got {mtu}")
        if not 27 <= acl_packet_length <= 251:
            raise ValueError(f"acl_packet_length must be 27-251, got {acl_packet_length}")
        self.mtu = mtu
        self.acl_packet_length = acl_packet_length
        self.connect_timeout = connect_timeout
        self.name = name
        self.link = LocalLink()
        self._central: Device | None = None
        self._central_controller: VirtualController | None = None
        self._start_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._scan_users = 0
        self._scan_active = True
        self._next_address = 1
        self._closers: list[Callable[[], Any]] = []
        self._owned: set[Connection] = set()  # connections handed to clients
        self._closed = False

    async def __aenter__(self) -> VirtualRadio:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the central -----------------------------------------------------------------------

    async def start(self) -> None:
        """Create and power on the central (idempotent)."""
        await self.central()

    async def central(self) -> Device:
        """The radio's central ``bumble.device.Device``, created on first use."""
        if self._closed:
            raise BleakError("the virtual radio is closed")
        async with self._start_lock:
            if self._central is None:
                device, controller = self.create_device(self.name, CENTRAL_ADDRESS)
                await device.power_on()
                self._central_controller = controller
                self._central = device
        return self._central

    def create_controller(self, name: str) -> VirtualController:
        """A new emulated controller on this radio's link (for peripherals and the central)."""
        return VirtualController(name, link=self.link, acl_packet_length=self.acl_packet_length)

    def create_device(self, name: str, address: str) -> tuple[Device, VirtualController]:
        """A Bumble device (host stack) on a new controller of this radio, not powered on."""
        controller = self.create_controller(name)
        host = QuietHost(controller_source=controller, controller_sink=controller)
        return Device(name=name, address=parse_address(address), host=host), controller

    def allocate_address(self) -> str:
        """A fresh random static address for a peripheral (``C0:DE:00:00:00:01``, ...)."""
        n = self._next_address
        self._next_address += 1
        return f"{_PERIPHERAL_PREFIX}:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}"

    def register(self, closer: Callable[[], Any]) -> None:
        """Have :meth:`close` call ``closer()`` (awaiting it if it returns an awaitable)."""
        self._closers.append(closer)

    def unregister(self, closer: Callable[[], Any]) -> None:
        """Undo :meth:`register` (a peripheral that closed on its own)."""
        if closer in self._closers:
            self._closers.remove(closer)

    async def close(self) -> None:
        """Disconnect everything, close registered peripherals, take the central off the air."""
        if self._closed:
            return
        for closer in list(reversed(self._closers)):
            try:
                result = closer()
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    await result
            except Exception:  # one peripheral failing to close must not block the rest
                logger.exception("closing a virtual peripheral failed")
        self._closers.clear()
        central = self._central
        if central is not None:
            for connection in list(central.connections.values()):
                await _disconnect_quietly(connection)
            if self._scan_users and central.is_scanning:
                await central.stop_scanning()
            await central.power_off()
        if self._central_controller is not None:
            self._central_controller.le_legacy_advertiser.stop()
            if self._central_controller in self.link.controllers:
                self.link.remove_controller(self._central_controller)
        self._closed = True

    # -- scanning --------------------------------------------------------------------------

    async def acquire_scanning(self, listener: Callable[[Advertisement], None],
                               active: bool = True) -> None:
        """Start scanning (reference counted) and deliver advertisements to ``listener``."""
        central = await self.central()
        async with self._scan_lock:
            central.on(Device.EVENT_ADVERTISEMENT, listener)
            if self._scan_users == 0:
                await central.start_scanning(active=active, filter_duplicates=False)
            self._scan_users += 1

    async def release_scanning(self, listener: Callable[[Advertisement], None]) -> None:
        """Stop delivering to ``listener``; stop scanning when no scanner is left."""
        central = self._central
        if central is None:
            return
        async with self._scan_lock:
            central.remove_listener(Device.EVENT_ADVERTISEMENT, listener)
            if self._scan_users > 0:
                self._scan_users -= 1
                if self._scan_users == 0 and not self._closed and central.is_scanning:
                    await central.stop_scanning()

    # -- connecting ------------------------------------------------------------------------

    async def connect(self, address: hci.Address, timeout: float) -> Connection:
        """Connect the central to ``address``: one attempt at a time, never hanging.

        Raises:
            TimeoutError: nothing at ``address`` accepted a connection within ``timeout``.
            BleakError: the central is already connected to ``address``.
        """
        if self.connect_timeout is not None:
            timeout = min(timeout, self.connect_timeout)
        central = await self.central()
        async with self._connect_lock:
            for existing in list(central.connections.values()):
                if existing.peer_address != address:
                    continue
                if existing in self._owned:
                    raise BleakError(f"{address_string(address)}: already connected")
                # Left over from an attempt its caller cancelled just as it completed.
                await _disconnect_quietly(existing)
            connection = None
            try:
                # The inner timeout makes Bumble cancel the attempt; the outer one is a
                # backstop in case the controller never reports the end of the attempt.
                async with asyncio.timeout(timeout + 1.0):
                    connection = await central.connect(
                        address, transport=core.PhysicalTransport.LE, timeout=timeout
                    )
            except (TimeoutError, core.TimeoutError, core.ConnectionError) as err:
                raise TimeoutError(
                    f"{address_string(address)}: no connection within {timeout:g} s"
                ) from err
            finally:
                if connection is None and self._central_controller is not None:
                    # Whatever ended the attempt (timeout, the caller's cancellation), the
                    # controller must not keep it pending or it refuses the next one.
                    self._central_controller.pending_le_connection = None
            self._owned.add(connection)
            connection.once(Connection.EVENT_DISCONNECTION,
                            lambda _reason: self._owned.discard(connection))
            return connection


async def _disconnect_quietly(connection: Connection) -> None:
    try:
        await asyncio.wait_for(connection.disconnect(), 2.0)
    except (TimeoutError, core.BaseBumbleError, hci.HCI_Error):
        logger.debug("disconnecting %s failed (already gone?)", connection)


def _radio_from(kwargs: dict[str, Any], who: str) -> VirtualRadio:
    radio = kwargs.get("radio")
    if not isinstance(radio, VirtualRadio):
        raise TypeError(f"{who} needs radio=VirtualRadio(...) (got {radio!r})")
    return radio


class BumbleBleakScanner(BaseBleakScanner):
    """Bleak scanner backend on a :class:`VirtualRadio`.

    Pass it as ``BleakScanner(backend=BumbleBleakScanner, radio=radio)`` (also works with
    ``BleakScanner.discover`` and ``find_device_by_*``, which forward their keywords).
    ``BLEDevice.details`` is the advertiser's ``bumble.hci.Address``.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._radio = _radio_from(kwargs, "BumbleBleakScanner")
        self._active = scanning_mode != "passive"
        self._scanning = False

    async def start(self) -> None:
        """Start scanning; clears the devices seen before."""
        if self._scanning:
            return
        self.seen_devices = {}
        await self._radio.acquire_scanning(self._on_advertisement, active=self._active)
        self._scanning = True

    async def stop(self) -> None:
        """Stop scanning."""
        if not self._scanning:
            return
        self._scanning = False
        await self._radio.release_scanning(self._on_advertisement)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        if advertisement.is_scan_response:
            return  # the emulated controller repeats each advertisement as a scan response
        fields = _parse_advertising_data(advertisement.data_bytes)
        service_uuids = fields["service_uuids"]
        if not self.is_allowed_uuid(service_uuids):
            return
        tx_power = advertisement.tx_power
        data = AdvertisementData(
            local_name=fields["local_name"],
            manufacturer_data=fields["manufacturer_data"],
            service_data=fields["service_data"],
            service_uuids=service_uuids,
            tx_power=None if tx_power == Advertisement.TX_POWER_NOT_AVAILABLE else tx_power,
            rssi=advertisement.rssi,
            platform_data=(advertisement,),
        )
        address = address_string(advertisement.address)
        device = self.create_or_update_device(
            address, address, fields["local_name"], advertisement.address, data
        )
        self.call_detection_callbacks(device, data)


def _parse_advertising_data(raw: bytes) -> dict[str, Any]:
    """Name, service UUIDs, service and manufacturer data of raw AD structures.

    Malformed structures end the parse (what a scanner does with a truncated packet).
    """
    name: str | None = None
    uuids: list[str] = []
    service_data: dict[str, bytes] = {}
    manufacturer: dict[int, bytes] = {}
    t = core.AdvertisingData.Type
    offset = 0
    while offset + 1 < len(raw):
        length = raw[offset]
        if length == 0 or offset + 1 + length > len(raw):
            break
        kind, body = raw[offset + 1], raw[offset + 2 : offset + 1 + length]
        offset += 1 + length
        if kind in (t.COMPLETE_LOCAL_NAME, t.SHORTENED_LOCAL_NAME):
            if name is None or kind == t.COMPLETE_LOCAL_NAME:
                name = body.decode("utf-8", errors="replace")
        elif kind in (
            t.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            t.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            t.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
            t.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
            t.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            t.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            size = {2: 2, 3: 2, 4: 4, 5: 4, 6: 16, 7: 16}[int(kind)]
            for i in range(0, len(body) - size + 1, size):
                u = bleak_uuid(core.UUID.from_bytes(body[i : i + size]))
                if u not in uuids:
                    uuids.append(u)
        elif kind in (t.SERVICE_DATA_16_BIT_UUID, t.SERVICE_DATA_32_BIT_UUID,
                      t.SERVICE_DATA_128_BIT_UUID):
            size = {t.SERVICE_DATA_16_BIT_UUID: 2, t.SERVICE_DATA_32_BIT_UUID: 4}.get(kind, 16)
            if len(body) >= size:
                service_data[bleak_uuid(core.UUID.from_bytes(body[:size]))] = bytes(body[size:])
        elif kind == t.MANUFACTURER_SPECIFIC_DATA and len(body) >= 2:
            manufacturer[int.from_bytes(body[:2], "little")] = bytes(body[2:])
    return {
        "local_name": name,
        "service_uuids": uuids,
        "service_data": service_data,
        "manufacturer_data": manufacturer,
    }


class BumbleBleakClient(BaseBleakClient):
    """Bleak client backend on a :class:`VirtualRadio`.

    Pass it as ``BleakClient(address_or_device, backend=BumbleBleakClient, radio=radio)``.
    ``connect`` connects (serialised per radio, bounded by Bleak's ``timeout`` and the
    radio's ``connect_timeout``), negotiates the MTU and discovers every service,
    characteristic and descriptor. ``disconnected_callback`` is called on every
    disconnection, requested or not (as Bleak's BlueZ backend does).
    """

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        radio = _radio_from(kwargs, "BumbleBleakClient")
        services = kwargs.pop("services", None)
        super().__init__(address_or_ble_device, **kwargs)
        self._radio = radio
        self._service_filter: set[str] | None = (
            None if services is None else {s.lower() for s in services}
        )
        self._from_scan = isinstance(address_or_ble_device, BLEDevice)
        self._name: str | None = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    # -- connection ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The advertised name when known, else the address with dashes (as Bleak does)."""
        return self._name or self.address.replace(":", "-")

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._connection is not None

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU (23 before negotiation)."""
        if self._connection is None:
            return att.ATT_DEFAULT_MTU
        return self._connection.att_mtu

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, pair when ``pair`` (as Bleak's ``BleakClient(pair=True)`` asks), negotiate
        the MTU, discover services.

        Raises:
            BleakDeviceNotFoundError: an address string that nothing answers to.
            TimeoutError: a scanned device that no longer accepts a connection.
            BleakError: a GATT failure during setup, or pairing failed.
        """
        del kwargs
        if self._connection is not None:
            return
        try:
            address = parse_address(self.address)
        except ValueError as err:
            raise BleakDeviceNotFoundError(self.address, str(err)) from None
        try:
            connection = await self._radio.connect(address, self._timeout)
        except TimeoutError as err:
            if self._from_scan:
                raise
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found"
            ) from err
        self._connection = connection
        self._subscriptions = {}
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            if pair:
                await self.pair()
            peer = Peer(connection)
            self._peer = peer
            await self._gatt(peer.request_mtu(self._radio.mtu))
            self.services = await self._gatt(self._discover(peer))
        except BaseException:
            if self._connection is connection:
                await _disconnect_quietly(connection)
            raise

    def _on_disconnection(self, reason: int) -> None:
        logger.debug("%s: disconnected (reason 0x%02X)", self.address, reason)
        self._connection = None
        self._peer = None
        self._subscriptions = {}
        callback = self._disconnected_callback
        if callback is not None:
            try:
                callback()
            except Exception:
                logger.exception("%s: disconnected_callback raised", self.address)

    async def disconnect(self) -> None:
        """Disconnect (no-op when not connected); returns once the link is down."""
        connection = self._connection
        if connection is None:
            return
        try:
            await connection.disconnect()
        except (core.BaseBumbleError, hci.HCI_Error) as err:
            if self._connection is not None:
                raise BleakError(f"{self.address}: disconnect failed: {err}") from err

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pair with the peripheral over Bumble's Security Manager (LE Secure Connections,
        Just Works: neither side has a display or keyboard), which also encrypts the link.
        Does nothing when the link is already encrypted. Extra arguments (Bleak's
        ``protection_level`` on Windows) are accepted and ignored.

        Raises:
            BleakError: not connected, or the peripheral refused or failed the pairing.
        """
        connection = self._connection
        if connection is None:
            raise BleakError(f"{self.address}: not connected")
        if connection.is_encrypted:
            return
        try:
            await connection.pair()
        except (core.BaseBumbleError, hci.HCI_Error, TimeoutError) as err:
            raise BleakError(f"{self.address}: pairing failed: {err}") from err
        if not connection.is_encrypted:
            raise BleakError(f"{self.address}: pairing completed but the link is not encrypted")

    async def unpair(self) -> None:
        """Forget the bond (the central's stored keys for this address) and disconnect."""
        central = await self._radio.central()
        if central.keystore is not None:
            try:
                await central.keystore.delete(str(parse_address(self.address)))
            except KeyError:
                pass
        await self.disconnect()

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        await peer.discover_services()
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            service_uuid = bleak_uuid(service.uuid)
            if self._service_filter is not None and service_uuid not in self._service_filter:
                continue
            await service.discover_characteristics()
            bleak_service = BleakGATTService(service, service.handle, service_uuid)
            collection.add_service(bleak_service)
            for characteristic in service.characteristics:
                await peer.discover_descriptors(characteristic)
                # Bumble 0.0.236 never sets this flag itself, so every (un)subscribe would
                # rediscover the descriptors first: a round trip, and a window in which
                # notifications keep arriving after stop_notify was called.
                characteristic.descriptors_discovered = True
                bleak_char = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    _bleak_properties(int(characteristic.properties)),
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in characteristic.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, bleak_uuid(descriptor.type), bleak_char
                        )
                    )
        return collection

    # -- GATT I/O --------------------------------------------------------------------------

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"{self.address}: not connected")
        return self._peer

    async def _gatt(self, operation: Any) -> Any:
        """Await a Bumble GATT operation, mapping its failures onto Bleak's exceptions."""
        try:
            return await operation
        except att.ATT_Error as err:
            raise BleakGATTProtocolError(err.error_code) from None
        except (core.TimeoutError, TimeoutError) as err:
            raise BleakError(f"{self.address}: GATT request timed out") from err
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if (task is not None and task.cancelling()) or self._connection is not None:
                raise
            raise BleakError(f"{self.address}: disconnected during a GATT operation") from None

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        """Read a characteristic value (``use_cached`` is ignored: every read goes out)."""
        peer = self._require_peer()
        proxy: CharacteristicProxy = characteristic.obj
        return bytearray(await self._gatt(peer.read_value(proxy)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor value."""
        peer = self._require_peer()
        proxy: DescriptorProxy = descriptor.obj
        return bytearray(await self._gatt(peer.read_value(proxy)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic value, with or without response."""
        peer = self._require_peer()
        proxy: CharacteristicProxy = characteristic.obj
        await self._gatt(peer.write_value(proxy, bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer
                                    ) -> None:
        """Write a descriptor value (with response)."""
        peer = self._require_peer()
        proxy: DescriptorProxy = descriptor.obj
        await self._gatt(peer.write_value(proxy, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Enable notifications (preferred) or indications and route them to ``callback``.

        Raises:
            BleakError: the characteristic can neither notify nor indicate.
        """
        peer = self._require_peer()
        proxy: CharacteristicProxy = characteristic.obj
        if not ({"notify", "indicate"} & set(characteristic.properties)):
            raise BleakError(f"{characteristic.uuid} can neither notify nor indicate")
        previous = self._subscriptions.pop(characteristic.handle, None)
        if previous is not None:
            await self._gatt(peer.gatt_client.unsubscribe(proxy, previous))

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = deliver
        await self._gatt(peer.gatt_client.subscribe(proxy, deliver, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications or indications (writes 0 to the CCCD)."""
        peer = self._require_peer()
        proxy: CharacteristicProxy = characteristic.obj
        self._subscriptions.pop(characteristic.handle, None)
        await self._gatt(peer.gatt_client.unsubscribe(proxy, None, force=True))
