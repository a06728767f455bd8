"""Helpers shared by the Bluetooth tests (virtual band, Bumble backend, recorder)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

TIMEOUT = 5.0  # generous: the doc measured stalls of up to 0.4 s on a loaded machine


class Inbox:
    """A thin notification sink, as STYLE.md asks: stamp, store, return."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.items: list[tuple[float, bytes]] = []
        self.arrived = asyncio.Event()

    def __call__(self, _sender: object, data: bytearray | str) -> None:
        self.items.append((self.clock(), data.encode() if isinstance(data, str)
                           else bytes(data)))
        self.arrived.set()

    async def wait_for(self, n: int, timeout: float = TIMEOUT) -> None:
        async with asyncio.timeout(timeout):
            while len(self.items) < n:
                self.arrived.clear()
                await self.arrived.wait()

    @property
    def payloads(self) -> list[bytes]:
        return [p for _, p in self.items]


def assert_delivered(received: list[bytes], sent: list[bytes], in_flight: int = 2) -> None:
    """Each sent notification arrived once, in order; only the last ``in_flight`` may still
    have been on the way when the client unsubscribed or the check ran."""
    assert received == sent[: len(received)]
    assert len(sent) - len(received) <= in_flight


async def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)
