"""The Bumble-backed Bleak backend: unchanged Bleak calls against virtual peripherals."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakCharacteristicNotFoundError, BleakDeviceNotFoundError, BleakError
from bumble import gatt
from bumble.core import UUID
from bumble.device import Device
from support.ble import TIMEOUT, Inbox, assert_delivered

from dosewatch.device.protocols import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    BODY_SENSOR_LOCATION,
    HR_MEASUREMENT,
    HRS_SERVICE,
    PMD_CONTROL,
    PMD_SERVICE,
    RSC_SERVICE,
    decode_heart_rate,
)
from dosewatch.device.virtual.backend import (
    BumbleBleakClient,
    BumbleBleakScanner,
    VirtualRadio,
    bleak_uuid,
    parse_address,
)
from dosewatch.device.virtual.band import VirtualBand, start_bands
from dosewatch.session import Profile, Session, build_session


def make_session(duration: float = 120.0, placement: str = "chest") -> Session:
    """Heart rate with RR (1 Hz), 200 Hz acceleration and speed: a small steady run."""
    t = np.arange(duration)
    bpm = np.round(130.0 + 10.0 * np.sin(t / 20.0))
    rr = np.round(60.0 / bpm * 1024.0) * 1000.0 / 1024.0
    t_acc = np.arange(int(duration * 200)) / 200.0
    xyz = np.stack([0.2 * np.sin(2 * np.pi * 1.4 * t_acc), 0.1 * np.cos(t_acc),
                    1.0 + 0.4 * np.sin(2 * np.pi * 2.8 * t_acc)], axis=1)
    return build_session("virtual", hr=(t, bpm, rr), acc=(t_acc, xyz), speed=(t, 3.0 + 0 * t),
                         profile=Profile(placement=placement))


def leftover_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]


@pytest.mark.asyncio
async def test_scan_finds_band_with_name_and_services() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session(), name="Polar H10 ABCD1234")
        await band.start()
        found = await BleakScanner.discover(0.3, return_adv=True, backend=BumbleBleakScanner,
                                            radio=radio)
        device, adv = found[band.address]
        assert device.name == adv.local_name == "Polar H10 ABCD1234"
        assert {HRS_SERVICE, BATTERY_SERVICE, RSC_SERVICE, PMD_SERVICE} <= set(adv.service_uuids)

        by_address = await BleakScanner.find_device_by_address(
            band.address.lower(), timeout=TIMEOUT, backend=BumbleBleakScanner, radio=radio)
        assert by_address is not None and by_address.address == band.address
        by_name = await BleakScanner.find_device_by_name(
            "Polar H10 ABCD1234", timeout=TIMEOUT, backend=BumbleBleakScanner, radio=radio)
        assert by_name is not None and by_name.address == band.address
        # A service filter that the band does not advertise hides it.
        none = await BleakScanner.discover(
            0.2, service_uuids=["0000feed-0000-1000-8000-00805f9b34fb"],
            backend=BumbleBleakScanner, radio=radio)
        assert none == []
    assert leftover_tasks() == []


@pytest.mark.asyncio
async def test_connect_read_and_services() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session(placement="wrist"), battery=64)
        await band.start()
        device = await BleakScanner.find_device_by_address(
            band.address, timeout=TIMEOUT, backend=BumbleBleakScanner, radio=radio)
        assert device is not None
        async with BleakClient(device, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            assert client.is_connected
            assert client.mtu_size == 247
            assert client.name == band.name
            assert await client.read_gatt_char(BATTERY_LEVEL) == bytearray([64])
            assert await client.read_gatt_char(BODY_SENSOR_LOCATION) == bytearray([2])  # wrist
            # 16-bit SIG services and the 128-bit PMD service, addressed by UUID.
            assert client.services.get_service(HRS_SERVICE) is not None
            control = client.services.get_characteristic(PMD_CONTROL)
            assert control is not None and control.service_uuid == PMD_SERVICE
            assert set(control.properties) == {"read", "write", "indicate"}
            hr = client.services.get_characteristic(HR_MEASUREMENT)
            assert hr.properties == ["notify"]
            assert [d.uuid for d in hr.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
            assert hr.max_write_without_response_size == 244
            with pytest.raises(BleakCharacteristicNotFoundError):
                await client.read_gatt_char("0000feed-0000-1000-8000-00805f9b34fb")
            with pytest.raises(BleakError, match="neither notify nor indicate"):
                await client.start_notify(BATTERY_LEVEL, lambda _c, _d: None)
        assert not client.is_connected
        # By address string, without scanning first.
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT, services=[BATTERY_SERVICE]) as client:
            assert [s.uuid for s in client.services] == [BATTERY_SERVICE]
            assert await client.read_gatt_char(BATTERY_LEVEL) == bytearray([64])
    assert leftover_tasks() == []


@pytest.mark.asyncio
async def test_notifications_equal_the_band_log_and_stop() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session(), speed=40)
        await band.start()
        inbox = Inbox()
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            await client.start_notify(HR_MEASUREMENT, inbox)
            await inbox.wait_for(10)
            await client.stop_notify(HR_MEASUREMENT)
            n_after_stop = len(band.sent("hr"))  # the band has seen the CCCD cleared
            await asyncio.sleep(0.1)  # 4 s of session: the band must send nothing more
            sent = band.sent("hr")
            assert len(sent) == n_after_stop
            assert_delivered(inbox.payloads, [n.payload for n in sent], in_flight=1)
            for n, payload in zip(sent, inbox.payloads, strict=False):
                assert decode_heart_rate(payload) == n.value
            # Bleak's callback receives a bytearray, as on real backends.
            types = Inbox()
            await client.start_notify(HR_MEASUREMENT, lambda c, d: types(c, type(d).__name__))
            await types.wait_for(1)
            assert types.payloads[0] == b"bytearray"


@pytest.mark.asyncio
async def test_forced_disconnect_callback_reconnect_resubscribe() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session(), speed=40)
        await band.start()
        lost = asyncio.Event()
        calls: list[BleakClient] = []

        def on_disconnect(client: BleakClient) -> None:
            calls.append(client)
            lost.set()

        client = BleakClient(band.address, on_disconnect, backend=BumbleBleakClient,
                             radio=radio, timeout=TIMEOUT)
        inbox = Inbox()
        await client.connect()
        await client.start_notify(HR_MEASUREMENT, inbox)
        await inbox.wait_for(2)
        await band.drop_link()
        await asyncio.wait_for(lost.wait(), TIMEOUT)
        assert calls == [client] and not client.is_connected
        with pytest.raises(BleakError):
            await client.read_gatt_char(BATTERY_LEVEL)

        await client.connect()  # the same BleakClient reconnects
        n_before = len(band.sent("hr"))
        await asyncio.sleep(0.1)  # subscriptions were reset: nothing is sent until resubscribed
        assert len(band.sent("hr")) == n_before
        await client.start_notify(HR_MEASUREMENT, inbox)
        await inbox.wait_for(len(inbox.items) + 2)
        assert_delivered(inbox.payloads, [n.payload for n in band.sent("hr")])
        await client.disconnect()
        assert len(calls) == 2  # called on requested disconnections too (as BlueZ does)
        assert band.disconnections == 2


@pytest.mark.asyncio
async def test_absent_device_fails_cleanly_and_radio_still_connects() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session())
        await band.start()
        start = time.perf_counter()
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient("C0:DE:00:00:77:77", backend=BumbleBleakClient, radio=radio,
                              timeout=0.3).connect()
        assert time.perf_counter() - start < 0.3 + 2.0
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient("not-an-address", backend=BumbleBleakClient, radio=radio).connect()
        # A scanned device that stopped advertising: a plain timeout.
        device = await BleakScanner.find_device_by_address(
            band.address, timeout=TIMEOUT, backend=BumbleBleakScanner, radio=radio)
        await band.pause_advertising()
        with pytest.raises(TimeoutError):
            await BleakClient(device, backend=BumbleBleakClient, radio=radio,
                              timeout=0.2).connect()
        # A connect that its caller abandons (cancellation) leaves nothing pending either.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(BleakClient(device, backend=BumbleBleakClient, radio=radio,
                                               timeout=TIMEOUT).connect(), 0.1)
        # The central is not stuck: once the band advertises again, the connect works.
        await band.resume_advertising()
        async with BleakClient(device, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            assert client.is_connected
    # The radio's connect_timeout caps Bleak's (default 30 s) timeout.
    async with VirtualRadio(connect_timeout=0.2) as radio:
        start = time.perf_counter()
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient("C0:DE:00:00:77:78", backend=BumbleBleakClient,
                              radio=radio).connect()
        assert time.perf_counter() - start < 0.2 + 2.0


@pytest.mark.asyncio
async def test_two_bands_on_one_radio_connect_concurrently() -> None:
    async with VirtualRadio() as radio:
        bands = await start_bands(radio, [make_session(), make_session(placement="wrist")],
                                  speed=40)
        clients = [BleakClient(b.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) for b in bands]
        await asyncio.gather(*(c.connect() for c in clients))  # serialised by the radio
        inboxes = [Inbox(), Inbox()]
        for client, inbox in zip(clients, inboxes, strict=True):
            await client.start_notify(HR_MEASUREMENT, inbox)
        await asyncio.gather(*(i.wait_for(3) for i in inboxes))
        locations = [await c.read_gatt_char(BODY_SENSOR_LOCATION) for c in clients]
        assert locations == [bytearray([1]), bytearray([2])]
        for client in clients:
            await client.stop_notify(HR_MEASUREMENT)
        for band, inbox in zip(bands, inboxes, strict=True):
            assert_delivered(inbox.payloads, [n.payload for n in band.sent("hr")])
        # One clock for both bands.
        assert abs(bands[0].now() - bands[1].now()) < 0.01
        with pytest.raises(BleakError, match="already connected"):
            await BleakClient(bands[0].address, backend=BumbleBleakClient, radio=radio,
                              timeout=TIMEOUT).connect()
        # Closing the radio drops both links and closes the bands.
    assert not any(c.is_connected for c in clients)
    assert leftover_tasks() == []


@pytest.mark.asyncio
async def test_link_lost_during_a_read_is_a_bleak_error() -> None:
    """A read pending when the link goes raises BleakError, not CancelledError."""
    async with VirtualRadio() as radio:
        controller = radio.create_controller("slow")
        address = radio.allocate_address()
        peripheral = Device.with_hci("slow", parse_address(address), controller, controller)
        reading = asyncio.Event()
        never = asyncio.Event()

        async def slow_read(_connection: object) -> bytes:
            reading.set()
            await never.wait()
            return b""

        slow = gatt.Characteristic(UUID("12345678-1234-5678-1234-56789abcdef0"),
                                   gatt.Characteristic.Properties.READ,
                                   gatt.Characteristic.READABLE,
                                   gatt.CharacteristicValue(read=slow_read))
        peripheral.add_services([gatt.Service(UUID("12345678-1234-5678-1234-56789abcdef1"),
                                              [slow])])
        await peripheral.power_on()
        await peripheral.start_advertising(advertising_interval_min=20,
                                           advertising_interval_max=20)
        client = BleakClient(address, backend=BumbleBleakClient, radio=radio, timeout=TIMEOUT)
        await client.connect()
        assert bleak_uuid(slow.uuid) == "12345678-1234-5678-1234-56789abcdef0"
        read = asyncio.create_task(client.read_gatt_char(bleak_uuid(slow.uuid)))
        await asyncio.wait_for(reading.wait(), TIMEOUT)
        await next(iter(peripheral.connections.values())).disconnect()
        with pytest.raises(BleakError, match="disconnected during a GATT operation"):
            await asyncio.wait_for(read, TIMEOUT)
        never.set()
        await peripheral.stop_advertising()
        await peripheral.power_off()
        radio.link.remove_controller(controller)


def test_backend_needs_a_radio() -> None:
    with pytest.raises(TypeError, match="radio=VirtualRadio"):
        BleakClient("C0:DE:00:00:00:01", backend=BumbleBleakClient)
    with pytest.raises(TypeError, match="radio=VirtualRadio"):
        BleakScanner(backend=BumbleBleakScanner)
    with pytest.raises(ValueError):
        VirtualRadio(mtu=10)
    with pytest.raises(ValueError):
        parse_address("C0:DE:00:00:00")
