"""The live page: what a participant on a treadmill sees, on a phone or tablet beside it.

``dosewatch record --serve [HOST:PORT]`` starts a :class:`LiveServer` on the recorder's
event loop. It serves one self-contained page (``device/web/live.html``: HTML, CSS and
JavaScript in one file of a few kilobytes, no asset from the network, so it works on a
lab network without internet) and a stream of server-sent events: every live update of
every participant is pushed to every open page as it is published, so a page shows it
well within a second. The page shows, per participant, the current class in large type,
the current bout's qualifying minutes as a bar filling up to the dose, the heart rate,
%HRR and elapsed time, and, once the dose is met, a clear moment (a banner with the dose
moment, and a short chime where the browser allows sound). With several participants
(one recorder, several people) the page is a lab view: one tile each; ``#p=ID`` in the
URL shows one participant alone.

Access. On a loopback address the page is served at ``/``. On any other address every
path starts with a random token (``/<token>/``, 128 bits from :mod:`secrets`), printed
with a QR code in the terminal; any request without it gets an empty 404, so a browser
that merely finds the port sees nothing.

Why Tornado (README's dependency table): it runs on the asyncio loop the recorder already
uses, streams responses (server-sent events) and has no dependencies of its own; it is
maintained by the Tornado project since 2009 and is already installed with Dask's
distributed scheduler, which dosewatch uses for batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import math
import secrets
import socket
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ConfigError

if TYPE_CHECKING:
    from tornado.web import Application, RequestHandler

    from .live import LiveStatus

__all__ = ["LiveServer", "Participant", "page_bytes", "parse_listen", "status_payload"]

logger = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8765"
_KEEPALIVE_S = 15.0


def page_bytes() -> bytes:
    """The page, as served (one file, no external assets)."""
    return resources.files("dosewatch.device").joinpath("web/live.html").read_bytes()


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``PORT`` or ``[IPv6]:PORT`` → (host, port); the host
    defaults to 127.0.0.1.

    Raises:
        ConfigError: not a host and port.
    """
    text = text.strip()
    host, port_text = "127.0.0.1", text
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1:].startswith(":"):
            raise ConfigError(f"--serve {text!r}: expected [IPv6]:PORT")
        host, port_text = text[1:end], text[end + 2:]
    elif ":" in text:
        host, port_text = text.rsplit(":", 1)
        host = host or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"--serve {text!r}: the port is not a number",
                          hint="give HOST:PORT, e.g. 0.0.0.0:8765") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"--serve {text!r}: the port must be 0-65535")
    return host, port


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _lan_address() -> str | None:
    """This machine's address on its default route (no packet is sent), for the URL."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        return str(s.getsockname()[0])
    return None


def _finite(value: float | None, digits: int = 1) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def status_payload(status: LiveStatus) -> dict[str, Any]:
    """What the page shows of one live update (numbers and label of that same update)."""
    return {
        "update": status.update,
        "elapsed_s": _finite(status.elapsed_s, 1),
        "hr_bpm": _finite(status.hr_bpm, 0),
        "pct_hrr": _finite(status.pct_hrr, 0),
        "label": status.label,
        "level": status.level,
        "bout_minutes": _finite(status.bout_minutes, 1),
        "dose_minutes": status.dose_minutes,
        "dose_met": status.dose_met,
        "dose_met_at_s": _finite(status.dose_met_at_s, 0),
        "session_class": status.session_class,
        "final": status.final,
    }


@dataclass
class Participant:
    """One person on the page: an id for the URL, a name, and their newest update."""

    id: str
    name: str
    latest: dict[str, Any] | None = None
    events: list[str] = field(default_factory=list)


class LiveServer:
    """Serves the live page and pushes live updates to it (see the module text).

    Args:
        host, port: where to listen (port 0: any free port).
        token: the path token; default: none on loopback, a random one elsewhere.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, *, token: str | None = None):
        self.host = host
        self.port = port
        self.token = token if token is not None else (
            None if is_loopback(host) else secrets.token_urlsafe(16))
        self.participants: dict[str, Participant] = {}
        self._clients: set[asyncio.Queue[str | None]] = set()
        self._server: Any = None
        self._page = page_bytes()

    # -- publishing ---------------------------------------------------------------------

    def add_participant(self, pid: str, name: str) -> Participant:
        participant = Participant(pid, name)
        self.participants[pid] = participant
        self._push({"type": "participant", "id": pid, "name": name})
        return participant

    def publish(self, pid: str, status: LiveStatus) -> None:
        """Push a participant's live update to every open page (a LiveAnalysis listener)."""
        payload = status_payload(status)
        participant = self.participants[pid]
        participant.latest = payload
        self._push({"type": "status", "id": pid, "name": participant.name, **payload})

    def note(self, pid: str, text: str) -> None:
        """Push a short line about a participant (a device event worth showing)."""
        participant = self.participants[pid]
        participant.events = (participant.events + [text])[-5:]
        self._push({"type": "note", "id": pid, "text": text})

    def _push(self, message: dict[str, Any]) -> None:
        message = {**message, "sent_at_ms": round(time.time() * 1000)}
        data = f"data: {json.dumps(message, separators=(',', ':'))}\n\n"
        for queue in list(self._clients):
            queue.put_nowait(data)

    def snapshot(self) -> list[str]:
        """The messages that bring a newly opened page up to date."""
        out = []
        for p in self.participants.values():
            out.append({"type": "participant", "id": p.id, "name": p.name})
            if p.latest is not None:
                out.append({"type": "status", "id": p.id, "name": p.name, **p.latest})
        now = round(time.time() * 1000)
        return [f"data: {json.dumps({**m, 'sent_at_ms': now}, separators=(',', ':'))}\n\n"
                for m in out]

    # -- serving ------------------------------------------------------------------------

    @property
    def base_path(self) -> str:
        return "/" if self.token is None else f"/{self.token}/"

    def urls(self) -> list[str]:
        """Addresses to open the page at (the LAN address first on a wildcard bind)."""
        hosts = [self.host]
        if self.host in ("0.0.0.0", "::", ""):
            lan = _lan_address()
            hosts = ([lan] if lan else []) + [socket.gethostname()]
        out = []
        for host in hosts:
            shown = f"[{host}]" if ":" in host else host
            out.append(f"http://{shown}:{self.port}{self.base_path}")
        return out

    async def start(self) -> None:
        """Listen (on the running loop). The actual port is :attr:`port` afterwards.

        Raises:
            ConfigError: the address cannot be used (in use, not this machine's).
        """
        import tornado.httpserver
        import tornado.netutil

        app = _application(self)
        try:
            sockets = tornado.netutil.bind_sockets(self.port, self.host)
        except OSError as exc:
            raise ConfigError(f"--serve {self.host}:{self.port}: cannot listen ({exc.strerror})",
                              hint="choose another port, or an address of this machine"
                              ) from None
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def close(self) -> None:
        """End every event stream and stop listening."""
        for queue in list(self._clients):
            queue.put_nowait(None)
        await asyncio.sleep(0)
        if self._server is not None:
            self._server.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.close_all_connections(), 2.0)
            self._server = None

    def announce(self, stream: TextIO) -> None:
        """Print where the page is, with a QR code of the first address off loopback."""
        urls = self.urls()
        stream.write(f"Live page: {urls[0]}\n")
        for url in urls[1:]:
            stream.write(f"       or: {url}\n")
        if self.token is not None:
            stream.write("(the address holds a random token: without it the server shows "
                         "nothing)\n")
            try:
                import segno

                segno.make(urls[0], error="m").terminal(out=stream, compact=True)
            except Exception as exc:  # a QR code is a convenience: never stop for it
                logger.info("no QR code: %s", exc)
        stream.flush()


def _refused(server: LiveServer, handler: RequestHandler, given: str | None) -> bool:
    """A wrong or missing token: an empty 404, the same as for any other path."""
    if server.token is None or (given is not None and hmac.compare_digest(
            given.encode(), server.token.encode())):
        return False
    handler.set_status(404)
    handler.finish()
    return True


async def _stream_events(server: LiveServer, handler: RequestHandler) -> None:
    """A page's event stream: the snapshot, then every pushed message (a keep-alive
    comment after each 15 s of silence) until the server closes or the page goes away."""
    import tornado.iostream

    handler.set_header("Content-Type", "text/event-stream")
    handler.set_header("Cache-Control", "no-store")
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    # The headers go out at once (the page knows it is connected), and a page
    # that lost the stream asks again after 2 s.
    queue.put_nowait("retry: 2000\n\n")
    for message in server.snapshot():
        queue.put_nowait(message)
    server._clients.add(queue)
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
            except TimeoutError:
                item = ": keep-alive\n\n"
            if item is None:
                break
            handler.write(item)
            await handler.flush()
    except tornado.iostream.StreamClosedError:
        pass
    finally:
        server._clients.discard(queue)


def _application(server: LiveServer) -> Application:
    """The page and its event stream (under the token, when there is one); every other
    path an empty 404."""
    import tornado.web

    class Page(tornado.web.RequestHandler):
        def get(self, given: str | None = None) -> None:
            if _refused(server, self, given):
                return
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.set_header("Referrer-Policy", "no-referrer")
            self.write(server._page)

    class Events(tornado.web.RequestHandler):
        async def get(self, given: str | None = None) -> None:
            if _refused(server, self, given):
                return
            await _stream_events(server, self)

    class Nothing(tornado.web.RequestHandler):
        def prepare(self) -> None:
            self.set_status(404)
            self.finish()

    if server.token is None:
        routes: list[Any] = [(r"/", Page), (r"/events", Events)]
    else:
        routes = [(r"/([A-Za-z0-9_-]+)/", Page), (r"/([A-Za-z0-9_-]+)/events", Events)]
    return tornado.web.Application(routes, default_handler_class=Nothing,
                                   compress_response=False)
