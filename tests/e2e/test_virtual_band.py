"""The virtual wearable: GATT services, PMD handshake and ACC frames, accelerated playback.

Everything goes through the real ``bleak.BleakClient`` with the Bumble backend.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from bleak import BleakClient
from bleak.exc import BleakDeviceNotFoundError
from support.ble import TIMEOUT, Inbox, assert_delivered, wait_until

from dosewatch.device.protocols import (
    HR_MEASUREMENT,
    PMD_CONTROL,
    PMD_DATA,
    PMD_EPOCH_UNIX_S,
    RSC_FEATURE,
    RSC_MEASUREMENT,
    TREADMILL_DATA,
    ProtocolError,
    decode_heart_rate,
    decode_pmd_frame,
    decode_pmd_response,
    decode_rsc,
    decode_treadmill,
    encode_pmd_command,
    pmd_features,
    pmd_samples_to_g,
)
from dosewatch.device.virtual.backend import BumbleBleakClient, VirtualRadio
from dosewatch.device.virtual.band import DELTA_FACTOR, AccFrame, VirtualBand
from dosewatch.device.virtual.world import virtual_world
from dosewatch.session import Profile, Session, build_session
from dosewatch.simulate import random_person, simulate

START_ACC_200 = encode_pmd_command(2, 2, {0: 200, 1: 16, 2: 8})


def make_session(duration: float = 120.0, start_time: datetime | None = None) -> Session:
    """Heart rate with RR (1 Hz), 200 Hz acceleration and running speed."""
    t = np.arange(duration)
    bpm = np.round(130.0 + 10.0 * np.sin(t / 20.0))
    rr = np.where(t % 3 == 0, np.nan, np.round(60.0 / bpm * 1024.0) * 1000.0 / 1024.0)
    t_acc = np.arange(int(duration * 200)) / 200.0
    xyz = np.stack([0.2 * np.sin(2 * np.pi * 1.4 * t_acc), 0.1 * np.cos(t_acc),
                    1.0 + 0.4 * np.sin(2 * np.pi * 2.8 * t_acc)], axis=1)
    if start_time is not None:
        offset = start_time.timestamp()
        t, t_acc = t + offset, t_acc + offset
    return build_session("virtual", hr=(t, bpm, rr), acc=(t_acc, xyz),
                         speed=(t, 2.5 + 1.0 * np.sin(t / 30.0)),
                         profile=Profile(placement="chest"))


async def command(client: BleakClient, answers: Inbox, data: bytes):
    """Write a PMD command and return its decoded answer (one command at a time)."""
    n = len(answers.items)
    await client.write_gatt_char(PMD_CONTROL, data, response=True)
    await answers.wait_for(n + 1)
    return decode_pmd_response(answers.items[n][1])


async def open_pmd(client: BleakClient) -> tuple[Inbox, Inbox]:
    answers, frames = Inbox(), Inbox()
    await client.start_notify(PMD_CONTROL, answers)  # indications
    await client.start_notify(PMD_DATA, frames)
    return answers, frames


@pytest.mark.asyncio
async def test_pmd_handshake_and_raw_frames() -> None:
    session = make_session()
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=20, start_s=10.0)
        await band.start()
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            assert pmd_features(await client.read_gatt_char(PMD_CONTROL)) == {2}
            answers, frames = await open_pmd(client)
            settings = await command(client, answers, bytes([1, 2]))
            assert settings.ok and (settings.op, settings.mtype) == (1, 2)
            assert settings.settings() == {0: (25, 50, 100, 200), 1: (16,), 2: (2, 4, 8)}
            # Reading the control point still gives the features, never an answer.
            assert pmd_features(await client.read_gatt_char(PMD_CONTROL)) == {2}

            started = await command(client, answers, START_ACC_200)
            assert started.ok and started.params == b"\x01" and started.factor() is None
            await frames.wait_for(12)
            stopped = await command(client, answers, bytes([3, 2]))
            assert stopped.ok and not band.streaming
            n = len(frames.items)
            await asyncio.sleep(0.1)  # 2 s of session: no frame after the stop answer
            assert len(frames.items) == n

        sent = band.sent("acc")
        assert frames.payloads == [s.payload for s in sent]
        # The start answer arrived before the first frame.
        start_answer = next(s for s in band.sent("pmd-answer") if s.value.op == 2)
        assert start_answer.seq < sent[0].seq
        assert answers.items[1][0] < frames.items[0][0]
        previous_t = None
        for s, payload in zip(sent, frames.payloads, strict=True):
            frame = decode_pmd_frame(payload)
            value: AccFrame = s.value
            assert len(payload) <= 244 and frame.samples.shape == (39, 3)  # (247-3-10) // 6
            assert not frame.compressed and frame.frame_type == 1
            np.testing.assert_array_equal(frame.samples, value.samples)
            # Device timestamps follow session time: the last sample's, ns since 2000.
            assert frame.timestamp_ns == band.device_time_ns(value.session_t[-1])
            # Samples are the session's, in mG, contiguous from frame to frame.
            index = np.round(value.session_t * 200).astype(int)
            np.testing.assert_allclose(pmd_samples_to_g(frame, None), session.acc.xyz[index],
                                       atol=0.0005 + 1e-7)
            if previous_t is not None:
                assert index[0] == previous_t + 1
            previous_t = index[-1]
        first = sent[0].value.session_t[0]
        assert 10.0 <= first < 10.0 + 20 * 5  # the stream starts at the session time of the start


@pytest.mark.asyncio
async def test_delta_frames_at_a_resampled_rate() -> None:
    session = make_session()
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=20, acc_format="delta")
        await band.start()
        assert band.name.startswith("Polar Sense")
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            answers, frames = await open_pmd(client)
            started = await command(client, answers, encode_pmd_command(2, 2, {0: 50, 1: 16,
                                                                              2: 4}))
            assert started.ok and started.factor() == DELTA_FACTOR
            await frames.wait_for(4)
            await command(client, answers, bytes([3, 2]))
        for s, payload in zip(band.sent("acc"), frames.payloads, strict=True):
            assert s.payload == payload and len(payload) <= 244
            frame = decode_pmd_frame(payload)
            assert frame.compressed and frame.frame_type == 0
            np.testing.assert_array_equal(frame.samples, s.value.samples)
            g = pmd_samples_to_g(frame, started.factor())
            np.testing.assert_allclose(g, s.value.g, atol=1e-12)
            # 50 Hz from the 200 Hz session: linear interpolation, quantised to 1/4096 g.
            t = s.value.session_t
            np.testing.assert_allclose(np.diff(t), 0.02, atol=1e-9)
            expected = np.stack([np.interp(t, session.acc.t, session.acc.xyz[:, k])
                                 for k in range(3)], axis=1)
            np.testing.assert_allclose(g, expected, atol=0.5 / 4096 + 1e-6)
        # Delta frames hold more samples than the 39 of an int16 frame.
        assert max(len(s.value.samples) for s in band.sent("acc")) > 39


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_accelerated_playback_delivers_every_frame() -> None:
    """60 s of session (200 Hz ACC + HR) at speed 60: complete, in order, exactly once."""
    person = random_person(np.random.default_rng(7))
    session = simulate("steady_intermediate", person, placement="chest", acc_fs=200,
                       seed=7).session
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=60, start_s=300.0)
        await band.start()
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            hr = Inbox(clock=band.now)  # stamp arrivals on the band's accelerated clock
            await client.start_notify(HR_MEASUREMENT, hr)
            answers = Inbox()
            frames = Inbox(clock=band.now)
            await client.start_notify(PMD_CONTROL, answers)
            await client.start_notify(PMD_DATA, frames)
            assert (await command(client, answers, START_ACC_200)).ok
            t_start = band.session_time()
            await wait_until(lambda: band.session_time() >= t_start + 60.0, timeout=30.0)
            await command(client, answers, bytes([3, 2]))
            # Unsubscribe once every heart rate sent so far has arrived (same loop step).
            await wait_until(lambda: len(hr.items) == len(band.sent("hr")))
            await client.stop_notify(HR_MEASUREMENT)
            await asyncio.sleep(0.05)

    sent = band.sent("acc")
    assert frames.payloads == [s.payload for s in sent]  # each exactly once, in order
    samples = np.concatenate([decode_pmd_frame(p).samples for p in frames.payloads])
    t = np.concatenate([s.value.session_t for s in sent])
    assert samples.shape[0] >= 60 * 200 - 39
    first = int(np.searchsorted(session.acc.t, t[0]))
    np.testing.assert_array_equal(t, session.acc.t[first:first + t.size])  # no gap, no repeat
    np.testing.assert_array_equal(
        samples, np.round(session.acc.xyz[first:first + t.size].astype(np.float64) * 1000))
    # Every frame arrived after (band clock) the time of its last sample.
    unix0 = band.now() - band.session_time()
    arrivals = np.array([a for a, _ in frames.items])
    assert np.all(arrivals >= unix0 + np.array([s.value.session_t[-1] for s in sent]) - 1e-6)

    sent_hr = band.sent("hr")
    assert_delivered(hr.payloads, [s.payload for s in sent_hr], in_flight=1)
    in_window = [s for s in sent_hr if t_start < s.session_t <= t_start + 60.0]
    assert 55 <= len(in_window) <= 61
    for s, payload in zip(sent_hr, hr.payloads, strict=False):
        assert decode_heart_rate(payload) == s.value
        i = int(np.searchsorted(session.hr.t, s.session_t))
        assert s.value.bpm == round(session.hr.bpm[i])


@pytest.mark.asyncio
async def test_heart_rate_carries_rr_since_last_notification() -> None:
    session = make_session()
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=50)
        await band.start()
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            hr = Inbox()
            await client.start_notify(HR_MEASUREMENT, hr)
            await hr.wait_for(30)
    sent = band.sent("hr")
    assert_delivered(hr.payloads, [s.payload for s in sent])
    total_ticks = 0
    for s in sent:
        m = decode_heart_rate(s.payload)
        assert m == s.value and m.contact is True
        i = int(np.searchsorted(session.hr.t, s.session_t))
        assert m.bpm == session.hr.bpm[i]
        rr = session.hr.rr_ms[i]
        if np.isfinite(rr):  # the session's own RR is the last one sent
            assert m.rr_ticks[-1] == round(rr * 1.024)
        total_ticks += sum(m.rr_ticks)
    # The beats sent add up to the time covered (2 beats/s at ~130 bpm; RR from the data).
    covered = sent[-1].session_t - sent[0].session_t + 1.0
    assert abs(total_ticks / 1024.0 - covered) < 2.0


@pytest.mark.asyncio
async def test_pmd_errors_are_answered() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session(), speed=5)
        await band.start()
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            answers, _frames = await open_pmd(client)
            cases = [
                (encode_pmd_command(2, 2, {0: 52, 1: 16, 2: 8}), 8),  # sample rate
                (encode_pmd_command(2, 2, {0: 200, 1: 14, 2: 8}), 7),  # resolution
                (encode_pmd_command(2, 2, {0: 200, 1: 16, 2: 16}), 9),  # range
                (bytes([1, 0]), 3),  # ECG is not served
                (bytes([9, 2]), 1),  # op code
                (bytes([2]), 4),  # truncated
                (bytes([2, 2, 0x42, 1, 0]), 5),  # unknown setting type
                (START_ACC_200, 0),
                (START_ACC_200, 6),  # already started
                (bytes([3, 2]), 0),
                (bytes([3, 2]), 0),  # stopping a stopped stream is fine
            ]
            for data, status in cases:
                answer = await command(client, answers, data)
                assert answer.status == status, (data.hex(), answer)
                assert answer.op == data[0]
    logged = [s.value.status for s in band.sent("pmd-answer")]
    assert logged == [status for _, status in cases]


@pytest.mark.asyncio
async def test_inject_malformed_notification() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session(), speed=1)
        await band.start()
        assert band.inject(HR_MEASUREMENT, b"\x01\x4b") is False  # nobody listens yet
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            hr = Inbox()
            await client.start_notify(HR_MEASUREMENT, hr)
            assert band.inject(HR_MEASUREMENT, b"\x01\x4b") is True
            await wait_until(lambda: b"\x01\x4b" in hr.payloads)
            with pytest.raises(ProtocolError) as err:
                decode_heart_rate(b"\x01\x4b")
            assert err.value.kind == "hr/truncated"
            answers = Inbox()
            await client.start_notify(PMD_CONTROL, answers)
            assert band.inject(PMD_CONTROL, b"\x01\x02") is True  # a stop notice
            await answers.wait_for(1)
            assert answers.payloads == [b"\x01\x02"]
    injected = band.sent("injected")
    assert [s.payload for s in injected] == [b"\x01\x4b", b"\x01\x02"]
    assert injected[1].indication and injected[0].value is None
    with pytest.raises(KeyError):
        band.inject("0000feed-0000-1000-8000-00805f9b34fb", b"")


@pytest.mark.asyncio
async def test_default_mtu_truncates_like_a_real_bumble_server() -> None:
    async with VirtualRadio(mtu=23) as radio:
        band = VirtualBand(radio, make_session(), speed=20)
        await band.start()
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            assert client.mtu_size == 23
            answers, frames = await open_pmd(client)
            await client.write_gatt_char(PMD_CONTROL, bytes([1, 2]), response=True)
            await answers.wait_for(1)
            assert len(answers.payloads[0]) == 20  # the 27-byte H10 answer, cut at MTU - 3
            await command(client, answers, START_ACC_200)
            await frames.wait_for(5)
            await command(client, answers, bytes([3, 2]))
    for payload in frames.payloads:
        assert len(payload) == 16 and decode_pmd_frame(payload).samples.shape == (1, 3)


@pytest.mark.asyncio
async def test_link_drop_mid_stream_and_restart() -> None:
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session(), speed=20)
        await band.start()
        lost = asyncio.Event()
        client = BleakClient(band.address, lambda _c: lost.set(), backend=BumbleBleakClient,
                             radio=radio, timeout=TIMEOUT)
        await client.connect()
        answers, frames = await open_pmd(client)
        await command(client, answers, START_ACC_200)
        await frames.wait_for(5)
        await band.pause_advertising()  # the reconnect has to wait
        await band.drop_link()
        await asyncio.wait_for(lost.wait(), TIMEOUT)
        assert not band.streaming and not band.advertising
        n_before = len(band.sent("acc"))
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                              timeout=0.2).connect()
        await band.resume_advertising()
        await client.connect()
        answers, frames_after = await open_pmd(client)
        await command(client, answers, START_ACC_200)
        await frames_after.wait_for(3)
        await client.disconnect()
    sent = band.sent("acc")
    assert frames.payloads + frames_after.payloads == [s.payload for s in sent]
    stamps = [decode_pmd_frame(p).timestamp_ns for p in frames.payloads + frames_after.payloads]
    assert stamps == sorted(set(stamps))
    # The second stream starts at the session time of its start command, after the gap.
    gap = sent[n_before].value.session_t[0] - sent[n_before - 1].value.session_t[-1]
    assert gap > 0.0


@pytest.mark.asyncio
async def test_speed_services_rsc_and_ftms() -> None:
    session = make_session()
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=40, ftms=True)
        await band.start()
        async with BleakClient(band.address, backend=BumbleBleakClient, radio=radio,
                               timeout=TIMEOUT) as client:
            assert await client.read_gatt_char(RSC_FEATURE) == bytearray(b"\x06\x00")
            rsc, ftms = Inbox(), Inbox()
            await client.start_notify(RSC_MEASUREMENT, rsc)
            await client.start_notify(TREADMILL_DATA, ftms)
            await rsc.wait_for(5)
            await ftms.wait_for(5)
            await client.stop_notify(RSC_MEASUREMENT)
            await client.stop_notify(TREADMILL_DATA)
    assert_delivered(rsc.payloads, [s.payload for s in band.sent("rsc")])
    assert_delivered(ftms.payloads, [s.payload for s in band.sent("ftms")])
    for s, payload in zip(band.sent("rsc"), rsc.payloads, strict=False):
        m = decode_rsc(payload)
        assert m == s.value
        i = int(np.searchsorted(session.speed.t, s.session_t))
        assert abs(m.speed_mps - session.speed.mps[i]) <= 1 / 512
        assert m.running == (m.speed_mps >= 2.0) and 140 <= m.cadence_spm <= 200
    for s, payload in zip(band.sent("ftms"), ftms.payloads, strict=False):
        d = decode_treadmill(payload)
        assert d == s.value and abs(d.speed_mps - s.value.speed_kmh / 3.6) < 1e-12


@pytest.mark.asyncio
async def test_clock_runs_at_speed_and_pmd_time_follows_the_session() -> None:
    start = datetime(2024, 5, 1, 7, 30, tzinfo=UTC)
    session = make_session(start_time=start)
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=30, device_clock_ns=599_616_000_000_000_000)
        await band.start()
        wall0, now0 = time.perf_counter(), band.now()
        assert abs(now0 - start.timestamp()) < 30 * 0.5  # the session's own start time
        await asyncio.sleep(0.2)
        ratio = (band.now() - now0) / (time.perf_counter() - wall0)
        assert 30 * 0.9 < ratio < 30 * 1.1
        assert band.device_time_ns(12.5) == 599_616_000_000_000_000 + 12_500_000_000
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, make_session(), speed=2)
        before = time.time()
        await band.start()
        # No start time in the session: the wall clock, and a device clock set to it.
        assert before - 0.5 < band.now() < time.time() + 0.5
        offset = band.device_time_ns(0.0) / 1e9 + PMD_EPOCH_UNIX_S
        assert abs(offset - (band.now() - band.session_time())) < 1e-3


@pytest.mark.asyncio
async def test_virtual_world_starts_and_closes_everything() -> None:
    async with virtual_world([make_session(), make_session()], speed=10) as (radio, bands):
        assert len(bands) == 2 and all(b.advertising for b in bands)
        assert len({b.address for b in bands}) == 2
        async with BleakClient(bands[1].address, backend=BumbleBleakClient,
                               radio=radio) as client:
            assert client.is_connected and bands[1].is_connected
        controllers = set(radio.link.controllers)
        assert len(controllers) == 3  # the central and two bands
    assert not radio.link.controllers
    assert all(b.finished.is_set() and not b.advertising for b in bands)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


def test_band_arguments_are_checked() -> None:
    radio = VirtualRadio()
    session = make_session(10)
    for bad in ({"speed": 0}, {"speed": float("nan")}, {"acc_format": "zip"},
                {"battery": 101}, {"advertising_interval_ms": 1}, {"address": "C0:DE"}):
        with pytest.raises(ValueError):
            VirtualBand(radio, session, **bad)


@pytest.mark.asyncio
async def test_band_finishes_when_nothing_is_due_before_the_end() -> None:
    # Heart rate stops at 9 s; acceleration runs to 20 s but nobody streams it, so after
    # 9 s nothing is due: the band must still say it finished at the session's end.
    t_hr = np.arange(10.0)
    t_acc = np.arange(0.0, 20.0, 0.04)
    session = build_session("ends-quietly", hr=(t_hr, np.full(t_hr.size, 90.0)),
                            acc=(t_acc, np.tile([0.0, 0.0, 1.0], (t_acc.size, 1))))
    async with VirtualRadio() as radio:
        band = VirtualBand(radio, session, speed=40.0)
        await band.start()
        await asyncio.wait_for(band.finished.wait(), timeout=5.0)
        assert band.session_time() >= session.duration_s - 0.5
        await band.close()
