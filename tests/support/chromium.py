"""A real headless Chromium driven over its DevTools protocol, for the live page's tests.

Debian's ``/usr/bin/chromium`` is started with ``--remote-debugging-port=0``; the
DevTools address it prints is connected with Tornado's WebSocket client (Tornado is a
dosewatch dependency already: it serves the page). Only what the tests need: open a page,
evaluate JavaScript in it, list the network requests it made.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")


class Chromium:
    def __init__(self, tmp_path: Path) -> None:
        # The profile lives outside pytest's tmp_path: Chromium leaves symlinks in it
        # (SingletonLock, ...) that pytest's clean-up of old temporary folders trips over.
        self.tmp_path = Path(tempfile.mkdtemp(prefix="dosewatch-chromium-"))
        self.proc: subprocess.Popen[str] | None = None
        self.ws: Any = None
        self.session: str | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.requests: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Chromium:
        from tornado.websocket import websocket_connect

        assert CHROMIUM.is_file(), "Chromium is missing: `make test` installs it"
        self.proc = subprocess.Popen(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--autoplay-policy=no-user-gesture-required",
             "--remote-debugging-port=0", f"--user-data-dir={self.tmp_path / 'chromium'}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "HOME": str(self.tmp_path)})
        assert self.proc.stderr is not None
        url = None
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(30):
            while url is None:
                line = await loop.run_in_executor(None, self.proc.stderr.readline)
                if not line:
                    raise RuntimeError("Chromium exited before it listened")
                m = re.search(r"DevTools listening on (ws://\S+)", line)
                url = m.group(1) if m else None
        self.ws = await websocket_connect(url, max_message_size=64 * 1024 * 1024)
        self._reader = asyncio.create_task(self._read())
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"],
                                   flatten=True)
        self.session = attached["sessionId"]
        await self.send("Network.enable", session=True)
        await self.send("Page.enable", session=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            self.ws.close()
        if self._reader is not None:
            try:
                async with asyncio.timeout(5):
                    await asyncio.gather(self._reader, return_exceptions=True)
            except TimeoutError:
                self._reader.cancel()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr is not None:
                self.proc.stderr.close()
        shutil.rmtree(self.tmp_path, ignore_errors=True)

    async def _read(self) -> None:
        while True:
            message = await self.ws.read_message()
            if message is None:
                return
            data = json.loads(message)
            if "id" in data and data["id"] in self._pending:
                future = self._pending.pop(data["id"])
                if "error" in data:
                    future.set_exception(RuntimeError(str(data["error"])))
                else:
                    future.set_result(data.get("result", {}))
            elif data.get("method") == "Network.requestWillBeSent":
                self.requests.append(data["params"]["request"]["url"])

    async def send(self, method: str, *, session: bool = False, **params: Any) -> Any:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self.ws.write_message(json.dumps(message))
        async with asyncio.timeout(30):
            return await future

    async def open(self, url: str) -> None:
        await self.send("Page.navigate", session=True, url=url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", session=True, expression=expression,
                                 returnByValue=True)
        return result.get("result", {}).get("value")
