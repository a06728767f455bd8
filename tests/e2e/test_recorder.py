"""The recorder, end to end: Bleak (Bumble backend) → virtual bands → the recording file.

Every test records through the real ``bleak.BleakClient`` with the Bumble backend against
:class:`~dosewatch.device.virtual.band.VirtualBand` peripherals playing at accelerated
speed, and checks the file against the band's exact log of what it sent.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from support import ble as _ble

from dosewatch.device.protocols import (
    HR_MEASUREMENT,
    PMD_CONTROL,
    PMD_DATA,
    RSC_MEASUREMENT,
)
from dosewatch.device.recorder import (
    DeviceError,
    PmdChoice,
    Recorder,
    RecorderEvent,
    choose_pmd_settings,
    supported_services,
)
from dosewatch.device.virtual.backend import BumbleBleakClient, VirtualRadio
from dosewatch.device.virtual.band import VirtualBand
from dosewatch.recording import RecordingWriter, open_recording, read_recording_tables
from dosewatch.session import Profile, Session, build_session

TIMEOUT = 30.0
wait_until = functools.partial(_ble.wait_until, timeout=TIMEOUT)
HR_KIND = {HR_MEASUREMENT: "hr", PMD_DATA: "acc", RSC_MEASUREMENT: "rsc", PMD_CONTROL: "pmd"}


def make_session(duration_s: float, seed: int = 0) -> Session:
    """Heart rate with RR (1 Hz), 200 Hz acceleration, running speed."""
    rng = np.random.default_rng(seed)
    t = np.arange(duration_s)
    bpm = np.round(120.0 + 25.0 * np.sin(t / 90.0) + rng.normal(0, 1, t.size))
    rr = np.round(60.0 / bpm * 1024.0) * 1000.0 / 1024.0
    t_acc = np.arange(int(duration_s * 200)) / 200.0
    xyz = np.stack([0.3 * np.sin(2 * np.pi * 1.4 * t_acc), 0.1 * np.cos(t_acc),
                    1.0 + 0.5 * np.sin(2 * np.pi * 2.8 * t_acc)], axis=1)
    xyz += rng.normal(0, 0.01, xyz.shape)
    return build_session("virtual", hr=(t, bpm, rr), acc=(t_acc, xyz),
                         speed=(t, 2.5 + 0.8 * np.sin(t / 60.0)),
                         profile=Profile(placement="chest", hr_rest=60, hr_max=185))


async def played(band: VirtualBand) -> None:
    """Wait until the band has played its whole session."""
    await wait_until(band.finished.is_set)
    await asyncio.sleep(0.05)  # what was sent last arrives


def bleak_kwargs(radio: VirtualRadio) -> dict[str, object]:
    return {"backend": BumbleBleakClient, "radio": radio}


def rows(path: Path, sql: str) -> list[tuple]:
    conn = open_recording(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def check_against_band(path: Path, band: VirtualBand, device_id: int = 1,
                       max_error_s: float = 1.0) -> dict[str, int]:
    """Every notification the band sent is in the file exactly once, in order, with equal
    decoded values; returns the sent counts per kind."""
    tables = read_recording_tables(path)
    got = [n for n in tables["notifications"] if n["device_id"] == device_id]
    sent = [s for s in band.log if s.kind in ("hr", "acc", "rsc", "pmd-answer")]
    # Per characteristic, in order (an indication is logged when queued, so its place
    # among other characteristics' notifications may differ).
    for uuid in (HR_MEASUREMENT, PMD_DATA, RSC_MEASUREMENT, PMD_CONTROL):
        assert [n["payload"] for n in got if n["char_uuid"] == uuid] == \
            [s.payload for s in sent if s.char_uuid == uuid], HR_KIND[uuid]
    assert len(got) == len(sent)
    assert all(n["status"] == "ok" for n in got)

    hr_sent = band.sent("hr")
    hr_rows = rows(path, f"SELECT bpm, rr_ms, seq, notification_id FROM hr WHERE device_id = "
                         f"{device_id} ORDER BY id")
    expected = []
    for s in hr_sent:
        ticks = s.value.rr_ticks
        if ticks:
            expected += [(float(s.value.bpm), k * 1000.0 / 1024.0, i) for i, k in enumerate(ticks)]
        else:
            expected.append((float(s.value.bpm), None, 0))
    assert [r[:3] for r in hr_rows] == expected

    acc_sent = band.sent("acc")
    acc = np.array(rows(path, f"SELECT t, x, y, z FROM acc WHERE device_id = {device_id} "
                              "ORDER BY id"), dtype=np.float64).reshape(-1, 4)
    g = np.concatenate([s.value.g for s in acc_sent])
    np.testing.assert_allclose(acc[:, 1:], g, rtol=0, atol=1e-12)
    # Sample times: strictly increasing across the whole recording (reconnects included),
    # each at its true time on the band's clock plus a delay that is never negative.
    assert np.all(np.diff(acc[:, 0]) > 0)
    session_t = np.concatenate([s.value.session_t for s in acc_sent])
    unix0 = band.now() - band.session_time()
    error = acc[:, 0] - (unix0 + session_t)
    print(f"acc alignment error (session s): min {error.min():.4f} median "
          f"{np.median(error):.4f} p99 {np.percentile(error, 99):.4f} max {error.max():.4f}")
    assert error.min() >= -1e-6
    assert error.max() < max_error_s

    rsc_sent = band.sent("rsc")
    speed = rows(path, f"SELECT mps, cadence_spm FROM speed WHERE device_id = {device_id} "
                       "ORDER BY id")
    assert speed == [(s.value.speed_mps, float(s.value.cadence_spm)) for s in rsc_sent]
    return {"hr": len(hr_sent), "acc": len(acc_sent), "rsc": len(rsc_sent),
            "samples": session_t.size}


# ---------------------------------------------------------------------------------------
# Pure helpers


def test_choose_pmd_settings() -> None:
    h10 = {0: (25, 50, 100, 200), 1: (16,), 2: (2, 4, 8)}
    assert choose_pmd_settings(h10) == PmdChoice(200, 16, 8, None)
    assert choose_pmd_settings(h10, max_rate_hz=120, range_g=4) == PmdChoice(100, 16, 4, None)
    assert choose_pmd_settings(h10, max_rate_hz=10, range_g=1) == PmdChoice(25, 16, 2, None)
    sense = {0: (26, 52, 104, 208, 416), 1: (16,), 2: (2, 4, 8, 16), 4: (3,)}
    choice = choose_pmd_settings(sense)
    assert choice == PmdChoice(104, 16, 8, 3)
    assert choice.settings() == {0: 104, 1: 16, 2: 8, 4: 3}
    with pytest.raises(DeviceError, match="no sample rate"):
        choose_pmd_settings({1: (16,)})


def test_supported_services() -> None:
    uuids = ["0000180D-0000-1000-8000-00805F9B34FB", "0000180f-0000-1000-8000-00805f9b34fb",
             "FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8", "00001800-0000-1000-8000-00805f9b34fb"]
    assert supported_services(uuids) == ["heart_rate", "acc", "battery"]
    assert supported_services([]) == []


# ---------------------------------------------------------------------------------------
# End to end through Bleak and the virtual radio


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_ten_minutes_with_a_forced_disconnect(tmp_path: Path) -> None:
    """10 min of session at 60x: every notification sent is recorded exactly once with
    equal decoded values; a link dropped mid-session is reconnected, with events."""
    session = make_session(600.0)
    path = tmp_path / "ten.dwrec"
    events: list[RecorderEvent] = []
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=60)
        await band.start()
        writer = RecordingWriter(path, profile=session.profile)
        recorder = Recorder(writer, [band.address], clock=band.now,
                            client_kwargs=bleak_kwargs(radio), on_event=events.append,
                            backoff_s=0.05)
        await recorder.start()
        await wait_until(lambda: band.session_time() >= 300.0)
        assert band.streaming
        await band.drop_link()
        await wait_until(lambda: band.streaming and recorder.devices[0].connects == 2)
        await played(band)
        await recorder.stop()
        assert not band.is_connected

    assert recorder.internal_errors == 0
    sent = check_against_band(path, band)
    # Only the connection set-ups (a few accelerated seconds each) are missing.
    assert sent["hr"] >= 540 and sent["samples"] >= 540 * 200
    stats = recorder.devices[0]
    assert stats.connects == 2 and stats.disconnects == 2
    assert stats.hr_values == sent["hr"] and stats.acc_samples == sent["samples"]
    assert stats.services == ["heart_rate", "acc", "rsc", "battery"]
    tables = read_recording_tables(path, notifications=False)
    assert tables["meta"]["closed_unix_s"]
    kinds = [e["kind"] for e in tables["events"]]
    assert kinds[0] == "connect" and kinds.count("reconnect") == 1
    assert [e["detail"] for e in tables["events"] if e["kind"] == "disconnect"] == \
        ["link lost", "requested by the recorder"]
    gaps = {e["detail"].split(":")[0] for e in tables["events"] if e["kind"] == "gap"}
    assert gaps == {"hr", "acc", "speed"}
    # One sensor clock: its offset was known at once and kept across the reconnect.
    assert kinds.count("clock") >= 1
    assert [e.kind for e in events if e.kind in ("disconnect", "reconnect")] == \
        ["disconnect", "reconnect", "disconnect"]
    # The stop answer arrived: the stream was stopped before disconnecting.
    assert band.sent("pmd-answer")[-1].value.op == 3


@pytest.mark.asyncio
async def test_malformed_notifications_are_counted_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session = make_session(150.0, seed=2)
    path = tmp_path / "malformed.dwrec"
    bad = [
        (HR_MEASUREMENT, b"\x01\x4b", "hr/truncated"),
        (HR_MEASUREMENT, b"\x00", "hr/truncated"),
        (HR_MEASUREMENT, b"\x08\x4b\x01", "hr/truncated"),
        (RSC_MEASUREMENT, b"\x04\x34", "rsc/truncated"),
        (PMD_DATA, b"\x02" + bytes(8) + b"\x07" + bytes(6), "pmd/unknown-frame-type"),
        (PMD_DATA, b"\x02\x00", "pmd/truncated"),
        (PMD_CONTROL, b"\x7f\x00", "pmd/not-a-response"),
    ]
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=30)
        await band.start()
        writer = RecordingWriter(path)
        recorder = Recorder(writer, [band.address], clock=band.now,
                            client_kwargs=bleak_kwargs(radio))
        with caplog.at_level(logging.WARNING, logger="dosewatch.device.recorder"):
            await recorder.start()
            await wait_until(lambda: len(band.sent("acc")) > 20)
            for uuid, payload, _kind in bad:
                assert band.inject(uuid, payload)
                await asyncio.sleep(0.02)
            # A repeat of a frame already sent: its time goes backwards, so it is skipped.
            repeat = band.sent("acc")[-1].payload
            assert band.inject(PMD_DATA, repeat)
            await asyncio.sleep(0.02)
            # A frame that parses but claims to be a day ahead: refused, and it must not
            # push the clock ahead so that every real frame after it looks backwards.
            future = bytearray(repeat)
            future[1:9] = (int.from_bytes(repeat[1:9], "little") + 86_400 * 10**9
                           ).to_bytes(8, "little")
            future = bytes(future)
            assert band.inject(PMD_DATA, future)
            n_hr = len(band.sent("hr"))
            await wait_until(lambda: len(band.sent("hr")) > n_hr + 20)  # the session goes on
            await recorder.stop()

    expected = Counter(kind for _, _, kind in bad) + Counter(
        {"pmd/time-backwards": 1, "pmd/time-outlier": 1})
    assert recorder.devices[0].malformed == expected
    tables = read_recording_tables(path)
    assert tables["malformed"] == dict(expected)
    stored = Counter((n["char_uuid"], n["payload"], n["status"])
                     for n in tables["notifications"] if n["status"] != "ok")
    assert stored == Counter(bad) + Counter([(PMD_DATA, repeat, "pmd/time-backwards"),
                                             (PMD_DATA, future, "pmd/time-outlier")])
    # (raw bytes kept, the kind as their status)
    # Logged once per kind; one event per kind.
    warned = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warned) == len(expected)
    assert sum(e["kind"] == "malformed" for e in tables["events"]) == len(expected)
    # Apart from the injections, everything sent was recorded and decoded.
    good = [n for n in tables["notifications"] if n["status"] == "ok"]
    sent = [s for s in band.log if s.kind in ("hr", "acc", "rsc", "pmd-answer")]
    for uuid in (HR_MEASUREMENT, PMD_DATA, RSC_MEASUREMENT, PMD_CONTROL):
        assert [n["payload"] for n in good if n["char_uuid"] == uuid] == \
            [s.payload for s in sent if s.char_uuid == uuid]
    assert tables["counts"]["acc"] == sum(s.value.session_t.size for s in band.sent("acc"))


@pytest.mark.asyncio
async def test_two_devices_on_one_clock(tmp_path: Path) -> None:
    """Two straps recorded at once: both complete, their samples on one host clock."""
    sessions = [make_session(60.0, seed=3), make_session(60.0, seed=4)]
    path = tmp_path / "two.dwrec"
    async with VirtualRadio() as radio:
        # An H10-like strap (int16 frames) and a Verity-like one (delta frames).
        bands = [VirtualBand(radio, sessions[0], speed=20),
                 VirtualBand(radio, sessions[1], speed=20, acc_format="delta")]
        origin = asyncio.get_running_loop().time()
        for band in bands:
            await band.start(origin=origin)  # one playback clock
        writer = RecordingWriter(path)
        recorder = Recorder(writer, [b.address for b in bands], clock=bands[0].now,
                            client_kwargs=bleak_kwargs(radio))
        await recorder.start()
        for band in bands:
            await played(band)
        await recorder.stop()
    for i, band in enumerate(bands, start=1):
        check_against_band(path, band, device_id=i)
        # The host time of each sample is its session time on the shared clock, plus a
        # small delay (the arrival delays' lower envelope: a few accelerated ms).
        unix0 = band.now() - band.session_time()
        t = np.array([r[0] for r in rows(path, f"SELECT t FROM acc WHERE device_id = {i} "
                                               "ORDER BY id")])
        session_t = np.concatenate([s.value.session_t for s in band.sent("acc")])
        delay = t - (unix0 + session_t)
        assert -1e-6 <= delay.min() and delay.max() < 20.0  # under a second of wall time
    assert all(s.value.compressed for s in bands[1].sent("acc"))
    devices = read_recording_tables(path, notifications=False)["devices"]
    assert [d["address"] for d in devices] == [b.address for b in bands]
    assert all(math.isfinite(d["clock_offset_s"]) for d in devices)


@pytest.mark.asyncio
async def test_cancellation_stops_stream_disconnects_and_closes(tmp_path: Path) -> None:
    session = make_session(120.0, seed=5)
    path = tmp_path / "cancel.dwrec"
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=20)
        await band.start()
        writer = RecordingWriter(path)
        recorder = Recorder(writer, [band.address], clock=band.now,
                            client_kwargs=bleak_kwargs(radio))
        task = asyncio.create_task(recorder.run())
        await wait_until(lambda: len(band.sent("acc")) > 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not band.streaming and not band.is_connected
        assert band.sent("pmd-answer")[-1].value.op == 3  # stop, answered
    tables = read_recording_tables(path)
    assert tables["meta"]["closed_unix_s"]
    assert tables["events"][-1]["kind"] == "disconnect"
    # Everything that arrived was committed by the final commit.
    assert tables["counts"]["notifications"] == sum(recorder.devices[0].notifications.values())
    stop_answer = struct.pack("<5B", 0xF0, 3, 2, 0, 0)
    assert tables["notifications"][-1]["payload"][:5] == stop_answer or any(
        n["payload"] == stop_answer for n in tables["notifications"])


@pytest.mark.asyncio
async def test_missing_device_is_retried_until_stopped(tmp_path: Path) -> None:
    path = tmp_path / "missing.dwrec"
    async with VirtualRadio(connect_timeout=0.2) as radio:
        writer = RecordingWriter(path)
        recorder = Recorder(writer, ["C0:DE:00:00:0F:FF"], client_kwargs=bleak_kwargs(radio),
                            connect_timeout=0.2, backoff_s=0.05, max_backoff_s=0.1)
        await recorder.start()
        await asyncio.sleep(1.0)
        await recorder.stop()
    events = read_recording_tables(path)["events"]
    failures = [e for e in events if e["kind"] == "connect-failed"]
    assert len(failures) >= 2
    assert failures[0]["detail"].startswith("C0:DE:00:00:0F:FF: ")
    assert recorder.devices[0].connects == 0
