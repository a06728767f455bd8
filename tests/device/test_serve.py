"""The live page's server helpers (the page itself is tested in tests/e2e)."""

from __future__ import annotations

import pytest

from dosewatch.device.serve import LiveServer, is_loopback, parse_listen, status_payload
from dosewatch.errors import ConfigError

from .test_view import status


def test_parse_listen() -> None:
    assert parse_listen("0.0.0.0:8000") == ("0.0.0.0", 8000)
    assert parse_listen(":9000") == ("127.0.0.1", 9000)
    assert parse_listen("9000") == ("127.0.0.1", 9000)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("host:port", "1.2.3.4:70000", "[::1]8000"):
        with pytest.raises(ConfigError):
            parse_listen(bad)


def test_a_token_off_loopback_only() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    assert LiveServer("127.0.0.1", 0).token is None
    first, second = LiveServer("0.0.0.0", 0), LiveServer("0.0.0.0", 0)
    assert first.token and second.token and first.token != second.token
    assert first.base_path == f"/{first.token}/"


def test_the_payload_is_one_update() -> None:
    payload = status_payload(status(hr_bpm=float("nan")))
    assert payload["label"] == "intermediate" and payload["bout_minutes"] == 29.0
    assert payload["hr_bpm"] is None and payload["pct_hrr"] == 74.0
