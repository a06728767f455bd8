"""The recorder against an independent, fault-injecting strap (device/virtual/strap.py).

The strap is built on Bumble without the project's virtual band code and misbehaves the
way real devices were reported to. Each test records it through Bleak (the Bumble
backend) at accelerated speed and checks the recording against what the strap sent.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from support import ble as _ble

from dosewatch.device.protocols import HR_MEASUREMENT, decode_treadmill
from dosewatch.device.recorder import Recorder, RecorderEvent
from dosewatch.device.virtual.backend import BumbleBleakClient, VirtualRadio
from dosewatch.device.virtual.strap import FaultyStrap, sample_index
from dosewatch.recording import (
    RecordingWriter,
    open_recording,
    read_recording,
    read_recording_tables,
)

wait_until = functools.partial(_ble.wait_until, timeout=60.0)

# Real CITYSPORTS walking-pad notifications (flags 0x2484, a step count after the fields);
# see tests/device/test_independent_vectors.py for the source.
WALKING_PAD = [bytes.fromhex(x.replace("-", "")) for x in (
    "84-24-2C-01-06-00-00-00-00-00-00-00-09-00-07-00-00",
    "84-24-E6-00-31-00-00-02-00-00-00-00-40-00-5F-00-00",
    "84-24-FA-00-01-00-00-00-00-00-00-00-03-00-02-00-00",
)]


async def record(tmp_path: Path, strap_options: dict, *, clock=None, client=BumbleBleakClient,
                 **recorder_options) -> tuple[FaultyStrap, Recorder, Path, list[RecorderEvent]]:
    path = tmp_path / "strap.dwrec"
    events: list[RecorderEvent] = []
    async with VirtualRadio() as radio:
        strap = FaultyStrap(radio, **strap_options)
        await strap.start()
        writer = RecordingWriter(path)
        options = {"command_timeout": 0.3, "pmd_retry_s": 0.2, "max_pmd_retry_s": 0.4,
                   "backoff_s": 0.05} | recorder_options
        recorder = Recorder(writer, [strap.address], clock=clock or strap.now,
                            client_kwargs={"backend": client, "radio": radio},
                            on_event=events.append, **options)
        await recorder.start()
        await wait_until(strap.finished.is_set)
        await recorder.stop()
    assert recorder.internal_errors == 0
    return strap, recorder, path, events


def recorded_hr(path: Path) -> list[tuple]:
    conn = open_recording(path)
    try:
        return conn.execute("SELECT n.payload, h.bpm, h.contact FROM hr h JOIN notifications n "
                            "ON n.id = h.notification_id WHERE h.seq = 0 ORDER BY h.id").fetchall()
    finally:
        conn.close()


def acc_errors(path: Path, strap: FaultyStrap) -> tuple[np.ndarray, np.ndarray]:
    """Each recorded sample's time minus its true time on the strap's clock, and the
    sample's session time."""
    conn = open_recording(path)
    try:
        rows = np.array(conn.execute("SELECT t, x, y FROM acc ORDER BY id").fetchall(),
                        dtype=np.float64).reshape(-1, 3)
    finally:
        conn.close()
    j = sample_index(rows[:, 1] * 1000, rows[:, 2] * 1000)
    session_t = j / 200.0
    unix0 = strap.now() - strap.session_time()
    return rows[:, 0] - (unix0 + session_t), session_t


def assert_every_hr_recorded(path: Path, strap: FaultyStrap) -> None:
    sent = [s.payload for s in strap.sent_of("hr")]
    got = [r[0] for r in recorded_hr(path)]
    assert got == sent and len(sent) > 0


@pytest.mark.asyncio
async def test_a_silent_pmd_control_point_loses_no_heart_rate(tmp_path: Path) -> None:
    strap, recorder, path, events = await record(
        tmp_path, {"pmd": "silent", "duration_s": 36.0, "speed": 12.0})
    assert_every_hr_recorded(path, strap)
    kinds = [e.kind for e in events]
    # The link was never dropped for it: one connect, one disconnect (at the stop).
    assert kinds.count("connect") == 1 and kinds.count("reconnect") == 0
    assert [e.detail for e in events if e.kind == "disconnect"] == ["requested by the recorder"]
    failed = [e.detail for e in events if e.kind == "stream-failed"]
    assert len(failed) >= 2 and recorder.devices[0].pmd_failures == len(failed)
    assert all("no answer to PMD command" in d and "the other streams go on" in d
               for d in failed)
    assert sum(c[:1] == b"\x01" for c in strap.commands) >= 3  # tried again, on its own
    # It tried pairing once (some straps answer only on an encrypted link), truthfully.
    assert [e.detail for e in events if e.kind == "pair"][:1] == [
        "pairing: the PMD control point did not answer, and some straps answer only on "
        "an encrypted link"]
    assert recorder.devices[0].acc_samples == 0


@pytest.mark.asyncio
async def test_a_stream_whose_start_is_never_answered_is_recorded(tmp_path: Path) -> None:
    strap, recorder, path, events = await record(
        tmp_path, {"pmd": "unanswered-start", "duration_s": 36.0, "speed": 12.0})
    assert_every_hr_recorded(path, strap)
    sent = np.concatenate([s.value for s in strap.sent_of("acc")])
    error, _ = acc_errors(path, strap)
    assert error.size == sent.size and recorder.devices[0].acc_samples == sent.size
    assert read_recording_tables(path)["malformed"] == {}
    assert any("never answered" in e.detail for e in events if e.kind == "stream")


@pytest.mark.asyncio
async def test_frames_before_the_start_answer_are_kept(tmp_path: Path) -> None:
    strap, recorder, path, _ = await record(
        tmp_path, {"pmd": "late-answer", "duration_s": 30.0, "speed": 10.0})
    sent = np.concatenate([s.value for s in strap.sent_of("acc")])
    error, _ = acc_errors(path, strap)
    assert error.size == sent.size and read_recording_tables(path)["malformed"] == {}


@pytest.mark.asyncio
async def test_bursts_and_a_starved_host_stay_aligned(tmp_path: Path) -> None:
    """Frames in bursts of three, and a host that gets no CPU for 1.5 s in every 10 (what
    arrives meanwhile is stamped when it runs again): after the first minute every
    acceleration sample is within 20 ms of its true time, beyond the link's own latency,
    and nothing is refused."""
    holder: list[FaultyStrap] = []

    def starved() -> float:
        now = holder[0].now()
        phase = (now - holder[0]._unix0) % 10.0
        return now + (1.5 - phase if phase < 1.5 else 0.0)

    async with VirtualRadio() as radio:  # the strap must exist before the clock is used
        strap = FaultyStrap(radio, burst=3, duration_s=75.0, speed=10.0)
        holder.append(strap)
        await strap.start()
        path = tmp_path / "starved.dwrec"
        recorder = Recorder(RecordingWriter(path), [strap.address], clock=starved,
                            client_kwargs={"backend": BumbleBleakClient, "radio": radio})
        await recorder.start()
        await wait_until(strap.finished.is_set)
        await recorder.stop()
    error, session_t = acc_errors(path, strap)
    sent = sum(s.value.size for s in strap.sent_of("acc"))
    assert error.size == sent and read_recording_tables(path)["malformed"] == {}
    late = session_t > 60.0
    floor = float(error.min())
    print(f"acc error beyond the link latency ({floor * 1e3:.1f} ms), after the first "
          f"minute: median {np.median(error[late] - floor) * 1e3:.1f} ms, max "
          f"{(error[late] - floor).max() * 1e3:.1f} ms")
    assert floor >= -1e-6  # never before its true time
    assert (error[late] - floor).max() < 0.020


@pytest.mark.asyncio
async def test_reserved_bits_trailing_bytes_and_a_walking_pad_keep_their_values(
        tmp_path: Path) -> None:
    strap, recorder, path, events = await record(tmp_path, {
        "pmd": "ok", "duration_s": 40.0, "speed": 10.0, "hr_reserved": 0x20,
        "hr_trailing": b"\x00", "treadmill": WALKING_PAD, "no_contact": (20.0, 25.0)})
    rows = recorded_hr(path)
    sent = strap.sent_of("hr")
    assert [r[0] for r in rows] == [s.payload for s in sent]
    # Every value the strap meant is there; without contact, no heart rate (not 0).
    assert [r[1] for r in rows] == [float(s.value) if s.value else None for s in sent]
    assert [r[2] for r in rows] == [0 if s.value == 0 else 1 for s in sent]
    assert any(r[1] is None for r in rows)
    tables = read_recording_tables(path)
    assert tables["malformed"] == {}
    hr_notes = {n["note"] for n in tables["notifications"] if n["char_uuid"] == HR_MEASUREMENT}
    assert all(note and "hr/reserved-flags: 0x20 ignored" in note for note in hr_notes)
    stats = recorder.devices[0]
    assert stats.tolerated["hr/reserved-flags"] == len(sent)
    assert stats.tolerated["ftms/reserved-flags"] == len(strap.sent_of("treadmill")) > 0
    assert stats.hr_no_reading == sum(1 for s in sent if s.value == 0) > 0
    # The walking pad's speed: every notification, as its real capture decodes.
    conn = open_recording(path)
    try:
        speeds = [r[0] for r in conn.execute("SELECT mps FROM speed ORDER BY id")]
        grades = {r[0] for r in conn.execute("SELECT grade FROM speed")}
    finally:
        conn.close()
    assert grades == {None}  # the pad sends no incline: none is made up
    assert speeds == [decode_treadmill(s.payload).speed_mps for s in strap.sent_of("treadmill")]
    assert speeds and max(speeds) > 0.8
    tolerated = [e.detail for e in events if e.kind == "tolerated"]
    assert {d.split(":")[0] for d in tolerated} == {
        "hr/reserved-flags", "hr/odd-rr-length", "hr/trailing-bytes", "ftms/reserved-flags",
        "ftms/trailing-bytes"}
    session = read_recording(path)
    assert session.hr is not None and session.hr.bpm.min() > 0
    assert session.grade is None
    assert session.speed is not None
    assert session.acc is not None  # and the acceleration of the same strap


@pytest.mark.asyncio
async def test_pairing_when_the_device_needs_an_encrypted_link(tmp_path: Path) -> None:
    strap, recorder, path, events = await record(
        tmp_path, {"encrypted_pmd": True, "duration_s": 30.0, "speed": 10.0})
    pair = [e.detail for e in events if e.kind == "pair"]
    assert pair[0].startswith("pairing: the device refused a PMD read without it")
    assert pair[1] == "paired"
    assert recorder.devices[0].acc_samples > 0 and recorder.devices[0].pmd_failures == 0


class OsPairingOnly(BumbleBleakClient):
    """A backend like macOS's: it cannot pair from an application."""

    async def pair(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("Pairing is not available in Core Bluetooth.")


@pytest.mark.asyncio
async def test_a_clear_message_when_the_os_must_pair(tmp_path: Path) -> None:
    strap, recorder, path, events = await record(
        tmp_path, {"encrypted_pmd": True, "duration_s": 20.0, "speed": 10.0},
        client=OsPairingOnly)
    failed = [e.detail for e in events if e.kind == "pair-failed"]
    assert failed == ["this platform pairs only through the operating system: pair it in the "
                      "operating system's Bluetooth settings (on Linux: bluetoothctl, then "
                      "'pair ADDRESS' and 'trust ADDRESS'), then record again"]
    assert_every_hr_recorded(path, strap)  # heart rate went on regardless
    assert recorder.devices[0].acc_samples == 0
