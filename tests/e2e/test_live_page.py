"""The participant's live page, in a real headless Chromium.

``dosewatch record --virtual --serve`` runs as a user runs it; Chromium (driven over its
DevTools protocol, tests/support/chromium.py) opens the printed address and the test
watches the page's own DOM as the session plays: the class, the bout's qualifying minutes,
the dose moment, how long each update took to arrive, and every request the page made.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.chromium import Chromium

from dosewatch.device.live import LiveStatus
from dosewatch.device.serve import LiveServer, page_bytes

LABELS = {"rest", "constant", "intermediate", "accelerating", "–"}


def status(**changes: object) -> LiveStatus:
    values: dict = dict(
        update=1, now=0.0, start_unix_s=0.0, elapsed_s=2410.0, hr_bpm=150.0, pct_hrr=70.0,
        label="constant", level="vigorous", bout_minutes=0.0, longest_bout_minutes=0.0,
        label_epoch_s=2340.0, bout_start_s=480.0, dose_minutes=30.0, dose_met=False,
        dose_met_at_s=None, dose_announced=False, session_class="constant", minutes={},
        intensity_source="heart_rate", compute_s=0.01, final=False, result=None)
    return LiveStatus(**(values | changes))


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.asyncio
async def test_the_page_shows_the_live_class_minutes_and_dose_moment(tmp_path: Path) -> None:
    out = tmp_path / "page.dwrec"
    async with Chromium(tmp_path) as browser:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dosewatch", "record", "--virtual", "--plain",
            "--protocol", "bout_30plus", "--speed", "300", "--minutes", "44",
            "--classifier", "rules", "--acc-hz", "25", "--serve", "127.0.0.1:0",
            "--out", str(out), cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        assert proc.stdout is not None
        lines: list[str] = []
        async with asyncio.timeout(60):
            while not any(line.startswith("Live page: ") for line in lines):
                lines.append((await proc.stdout.readline()).decode())
        url = lines[-1].split()[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")  # loopback: no token
        await browser.open(url)
        async with asyncio.timeout(20):
            while not await browser.evaluate("!!(window.__state && document.getElementById"
                                             "('sound'))"):
                await asyncio.sleep(0.05)
        await browser.evaluate("document.getElementById('sound').click()")
        seen: list[dict] = []
        output = asyncio.create_task(proc.stdout.read())
        while not output.done():
            snapshot = await browser.evaluate(
                "(() => { const s = window.__state; const t = document.querySelector('.tile');"
                " if (!s || !t) return null; return {updates: s.updates,"
                " label: t.querySelector('.label').textContent,"
                " bout: t.querySelector('.bout').textContent,"
                " met: t.classList.contains('met'),"
                " moment: t.querySelector('.moment').textContent,"
                " elapsed: t.querySelector('.elapsed').textContent,"
                " last: s.last || null}; })()")
            if snapshot:
                seen.append(snapshot)
            await asyncio.sleep(0.1)
        text = lines and "".join(lines) + output.result().decode()
        assert await proc.wait() == 0, text[-3000:]
        state = await browser.evaluate(
            "JSON.stringify({updates: __state.updates, latencies: __state.latencies,"
            " chimes: __state.chimes || 0, doses: __state.doses})")
        requests = list(browser.requests)

    import json

    final_state = json.loads(state)
    summary = dict(re.findall(r"^  (class|dose):\s+(.*)$", text, re.M))
    moment = re.search(r"met at (\d+:\d\d)", summary["dose"])
    assert moment, summary
    # The page followed the session: many updates, each shown with its own label and
    # minutes, the bout counting up to the dose, then the dose moment the summary gives.
    assert final_state["updates"] >= 20
    assert {s["label"] for s in seen} <= LABELS and len({s["label"] for s in seen}) >= 2
    for s in seen:
        if s["last"]:
            assert s["label"] == (s["last"]["label"] if s["last"]["label"] != "missing"
                                  else "–")
            assert float(s["bout"]) == pytest.approx(s["last"]["bout"], abs=0.05)
    bouts = [float(s["bout"]) for s in seen]
    assert max(bouts) >= 30.0
    assert any(not s["met"] for s in seen) and seen[-1]["met"]
    assert seen[-1]["moment"] == moment.group(1)
    assert final_state["chimes"] == 1  # once, at the dose moment
    # Each update on the page within a second of its publication.
    assert max(final_state["latencies"]) < 1000
    # Offline: the page and its event stream, nothing else.
    assert requests and all(r.startswith(url) for r in requests)
    assert {r[len(url):] for r in requests} <= {"", "events"}


def test_the_page_is_small_and_self_contained() -> None:
    page = page_bytes()
    assert len(page) < 200 * 1024
    text = page.decode()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text)
    assert "@import" not in text and "url(" not in text


@pytest.mark.asyncio
async def test_off_loopback_the_page_needs_its_token(tmp_path: Path) -> None:
    server = LiveServer("0.0.0.0", 0)
    await server.start()
    try:
        token = server.token
        assert token and len(token) >= 20
        base = f"http://127.0.0.1:{server.port}"
        loop = asyncio.get_running_loop()
        results = {path: await loop.run_in_executor(None, get, base + path) for path in (
            "/", "/events", f"/{token[:-1]}x/", "/x/events", "/favicon.ico", f"/{token}/")}
        for path in ("/", "/events", f"/{token[:-1]}x/", "/x/events", "/favicon.ico"):
            assert results[path] == (404, b""), path  # nothing, not even an error page
        assert results[f"/{token}/"] == (200, page_bytes())
        assert server.urls()[0].endswith(f":{server.port}/{token}/")
        async with Chromium(tmp_path) as browser:
            # Without the token the server sends nothing (the browser shows its own
            # "not found" page): none of the live page, no data.
            await browser.open(base + "/")
            await asyncio.sleep(0.5)
            assert await browser.evaluate(
                "typeof window.__state === 'undefined' && "
                "!document.documentElement.outerHTML.includes('dosewatch')") is True
            await browser.open(f"{base}/{token}/")
            for _ in range(50):
                if await browser.evaluate("window.__state && __state.connected"):
                    break
                await asyncio.sleep(0.1)
            assert await browser.evaluate("__state.connected") is True
            # The lab view: one tile per participant, each with its own update.
            server.add_participant("p1", "Ana")
            server.add_participant("p2", "Ben")
            server.publish("p1", status(label="constant", bout_minutes=12.0))
            server.publish("p2", status(label="accelerating", bout_minutes=31.0,
                                        dose_met=True, dose_met_at_s=2400.0))
            tiles = "Array.from(document.querySelectorAll('.tile')).map(t => [t.querySelector" \
                    "('.name').textContent, t.querySelector('.label').textContent, " \
                    "t.querySelector('.bout').textContent, t.classList.contains('met')])"
            for _ in range(50):
                if len(await browser.evaluate(tiles)) == 2:
                    break
                await asyncio.sleep(0.1)
            assert await browser.evaluate(tiles) == [["Ana", "constant", "12.0", False],
                                                     ["Ben", "accelerating", "31.0", True]]
            assert await browser.evaluate("document.getElementById('main').className") == "lab"
            await browser.evaluate("location.hash = 'p=p2'")
            await asyncio.sleep(0.3)
            assert await browser.evaluate(tiles) == [["Ben", "accelerating", "31.0", True]]
            assert await browser.evaluate("document.getElementById('main').className") == \
                "single"
    finally:
        await server.close()


def test_record_refuses_a_bad_serve_address(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "dosewatch", "record", "--virtual",
                           "--serve", "127.0.0.1:http", "--out", str(tmp_path / "x.dwrec")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "the port is not a number" in proc.stderr
    assert not (tmp_path / "x.dwrec").exists()
