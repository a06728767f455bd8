"""One-line setup of a virtual Bluetooth world for tests and demos.

::

    async with virtual_world([session_a, session_b], speed=60) as (radio, bands):
        async with BleakClient(bands[0].address, backend=BumbleBleakClient, radio=radio) as c:
            ...

The radio, its central and every band are closed (links dropped, advertising stopped, tasks
ended) when the block exits, even on an error. See :mod:`dosewatch.device.virtual.backend`
and :mod:`dosewatch.device.virtual.band` for what they do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from ...session import Session
from .backend import DEFAULT_MTU, VirtualRadio
from .band import VirtualBand, start_bands


@asynccontextmanager
async def virtual_world(
    sessions: Session | Sequence[Session],
    *,
    speed: float = 1.0,
    mtu: int = DEFAULT_MTU,
    connect_timeout: float | None = 5.0,
    **band_options: Any,
) -> AsyncIterator[tuple[VirtualRadio, list[VirtualBand]]]:
    """A started :class:`VirtualRadio` with one started :class:`VirtualBand` per session.

    Args:
        sessions: one session or several (one band each, all on one playback clock).
        speed: playback speed of every band.
        mtu: ATT MTU the central negotiates.
        connect_timeout: cap on every connection attempt, s (None: Bleak's timeout only).
        **band_options: further :class:`VirtualBand` arguments (``acc_format``, ``ftms``,
            ``start_s``, ...), the same for every band.

    Yields:
        ``(radio, bands)``; pass ``backend=BumbleBleakClient, radio=radio`` to Bleak.
    """
    if isinstance(sessions, Session):
        sessions = [sessions]
    async with VirtualRadio(mtu=mtu, connect_timeout=connect_timeout) as radio:
        bands = await start_bands(radio, list(sessions), speed=speed, **band_options)
        yield radio, bands


__all__ = ["virtual_world"]
