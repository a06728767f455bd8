"""`dosewatch record` without a device name: which nearby device it records, found through
Bleak's scanner against virtual peripherals on the Bumble radio."""

from __future__ import annotations

import numpy as np
import pytest

from dosewatch.device.commands import _find_devices
from dosewatch.device.recorder import DeviceError
from dosewatch.device.virtual.backend import BumbleBleakScanner, VirtualRadio
from dosewatch.device.virtual.band import VirtualBand
from dosewatch.session import Session, build_session

SCAN_S = 0.6


def strap() -> Session:
    t = np.arange(120.0)
    return build_session("strap", hr=(t, 140.0 + 0 * t))


def treadmill() -> Session:
    t = np.arange(120.0)
    return build_session("treadmill", speed=(t, 2.8 + 0 * t))


async def choose(radio: VirtualRadio, *peripherals: VirtualBand) -> tuple[list, str | None]:
    """What `record` without a name takes while ``peripherals`` advertise."""
    for peripheral in peripherals:
        await peripheral.start()
    try:
        return await _find_devices([], SCAN_S, backend=BumbleBleakScanner, radio=radio)
    finally:
        for peripheral in peripherals:
            await peripheral.close()


@pytest.mark.asyncio
async def test_a_treadmill_alone_is_recorded_for_its_speed_with_a_note() -> None:
    async with VirtualRadio() as radio:
        mill = VirtualBand(radio, treadmill(), name="Treadmill T1", rsc=False, ftms=True)
        devices, note = await choose(radio, mill)
    assert [d.address for d in devices] == [mill.address]
    assert note is not None and "no heart-rate sensor seen" in note
    assert "Treadmill T1's speed alone" in note


@pytest.mark.asyncio
async def test_a_strap_comes_before_a_treadmill_and_the_note_names_the_treadmill() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, strap(), name="Polar H10 0000AAAA", rsc=False)
        mill = VirtualBand(radio, treadmill(), name="Treadmill T1", rsc=False, ftms=True)
        devices, note = await choose(radio, band, mill)
    assert [d.address for d in devices] == [band.address]
    assert note is not None and "also seen, with speed: Treadmill T1" in note
    assert "'Polar H10 0000AAAA' 'Treadmill T1'" in note


@pytest.mark.asyncio
async def test_a_strap_alone_is_recorded_without_a_note() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, strap(), name="Polar H10 0000BBBB", rsc=False)
        devices, note = await choose(radio, band)
    assert [d.address for d in devices] == [band.address] and note is None


@pytest.mark.asyncio
async def test_nothing_to_record_is_a_device_error_naming_what_was_looked_for() -> None:
    async with VirtualRadio() as radio:
        with pytest.raises(DeviceError, match="treadmill data or running speed"):
            await choose(radio)
