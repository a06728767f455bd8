"""The recorder's PMD path without a radio: frames in (bytes, arrival times), samples out.

Each test plays frames of a 100 Hz stream (10 samples each) into the recorder's consumer
with arrival times that model what real links and hosts do (bursts, a starved host, a
drifting sensor clock, garbage, a clock set mid-stream, a reconnect), then checks where
every sample landed against its true time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dosewatch.device.clock import SensorClock
from dosewatch.device.protocols import (
    PMD_CONTROL,
    PMD_DATA,
    PMD_EPOCH_UNIX_S,
    encode_pmd_frame,
    encode_pmd_response,
)
from dosewatch.device.recorder import PmdChoice, Recorder, RecorderEvent, _Control
from dosewatch.recording import RecordingWriter, open_recording, read_recording_tables

RATE, N = 100, 10  # Hz, samples per frame
STEP_NS = 10_000_000
S0 = 700_000_000 * 10**9  # sensor time (ns since 2000) of sample "0"
H0 = 1_800_000_000.0  # its true host time
LATENCY = 0.001


class Rig:
    """A recorder with one link whose ACC stream was asked for at 100 Hz."""

    def __init__(self, tmp_path: Path, **options: object) -> None:
        self.path = tmp_path / "clock.dwrec"
        self.writer = RecordingWriter(self.path)
        self.events: list[RecorderEvent] = []
        self.recorder = Recorder(self.writer, ["C0:DE:00:00:00:09"],
                                 on_event=self.events.append, **options)  # type: ignore[arg-type]
        self.link = self.recorder._links[0]
        self.link.device_id = self.writer.add_device(self.link.stats.address, "strap", [], "acc")
        self.link.pmd_requested = PmdChoice(RATE, 16, 8, None)

    def start_answer(self, t: float) -> None:
        self.recorder._handle(t, self.link, PMD_CONTROL, encode_pmd_response(2, 2, 0, b"\x01"))

    def frame(self, arrival: float, k: int, *, shift_ns: int = 0) -> bytes:
        """Frame ``k`` (samples 10k..10k+9, x = k/1000 g, y = i/1000 g) arriving then."""
        samples = np.column_stack([np.full(N, k), np.arange(N), np.full(N, 1000)])
        data = encode_pmd_frame(S0 + (k + 1) * N * STEP_NS + shift_ns, samples)
        self.recorder._handle(arrival, self.link, PMD_DATA, data)
        return data

    def control(self, t: float, kind: str) -> None:
        self.recorder._handle_control(_Control(t, self.link, kind, ""))

    def finish(self) -> tuple[np.ndarray, np.ndarray, dict]:
        """Close; returns each sample's recorded time, its true time, and the tables."""
        self.recorder._flush_stream(self.link)
        self.writer.close()
        conn = open_recording(self.path)
        try:
            rows = np.array(conn.execute("SELECT t, x, y FROM acc ORDER BY id").fetchall(),
                            dtype=np.float64).reshape(-1, 3)
        finally:
            conn.close()
        k = np.round(rows[:, 1] * 1000).astype(int)
        i = np.round(rows[:, 2] * 1000).astype(int)
        truth = H0 + (k * N + i + 1) * STEP_NS * 1e-9
        return rows[:, 0], truth, read_recording_tables(self.path)


def true_last(k: int) -> float:
    return H0 + (k + 1) * N * STEP_NS * 1e-9


def play(rig: Rig, frames: int, arrival: Callable[[int], float]) -> None:
    rig.start_answer(true_last(0) - 0.5)
    for k in range(frames):
        rig.frame(arrival(k), k)


def test_three_frame_bursts_do_not_shift_the_stream(tmp_path: Path) -> None:
    """Frames sent three at a time: the first of each burst waited 0.2 s for the others,
    the first burst included. Every sample is at its true time plus the link latency."""
    rig = Rig(tmp_path)
    play(rig, 3000, lambda k: true_last(k - k % 3 + 2) + LATENCY)
    t, truth, tables = rig.finish()
    error = t - truth
    assert t.size == 30000 and np.all(np.diff(t) > 0)
    assert error.max() < LATENCY + 1e-6 and error.min() > LATENCY - 1e-6
    assert tables["malformed"] == {}


def test_a_starved_host_neither_shifts_nor_refuses(tmp_path: Path) -> None:
    """The host gets no CPU for 1.5 s out of every 10 (and 0.9 s at the very start): what
    arrived meanwhile is stamped when it runs again. Nothing is refused; after the first
    frames every sample is within the link latency of its true time."""
    def stamped(k: int) -> float:
        true = true_last(k) + LATENCY
        phase = (true - H0) % 10.0
        return true + (1.5 - phase if phase < 1.5 else 0.0)

    rig = Rig(tmp_path)
    play(rig, 6000, stamped)
    t, truth, tables = rig.finish()
    error = t - truth
    assert t.size == 60000 and tables["malformed"] == {}
    assert np.all(np.diff(t) > 0)
    assert error.min() > LATENCY - 1e-6
    after_first_minute = truth > H0 + 60.0
    assert error[after_first_minute].max() < 0.020
    # Only samples mapped before the first prompt frame was seen can be late, by less
    # than the stall, and they catch up by slewing.
    assert error.max() < 1.5


def test_a_drifting_sensor_clock_is_followed(tmp_path: Path) -> None:
    """A sensor clock 100 ppm fast (6 ms a minute): the window follows it."""
    rig = Rig(tmp_path, clock_window_s=30.0)
    play(rig, 6000, lambda k: H0 + (true_last(k) - H0) * (1 - 100e-6) + LATENCY
         + 0.004 * (k % 7))
    t, truth, _ = rig.finish()
    drifted = H0 + (truth - H0) * (1 - 100e-6)
    error = t - drifted
    assert np.all(np.diff(t) > 0)
    assert error.min() > LATENCY - 0.004 and error.max() < 0.010


def test_garbage_and_repeated_frames_are_refused_and_do_not_move_the_clock(tmp_path: Path
                                                                          ) -> None:
    rig = Rig(tmp_path)
    rig.start_answer(true_last(0) - 0.5)
    for k in range(200):
        rig.frame(true_last(k) + LATENCY, k)
        if k == 50:  # a frame that parses but claims to be a day ahead
            day_ahead = rig.frame(true_last(k) + 0.002, k, shift_ns=86_400 * 10**9)
        if k == 120:  # the same frame again
            repeated = rig.frame(true_last(k) + 0.003, k)
    t, truth, tables = rig.finish()
    assert tables["malformed"] == {"pmd/time-outlier": 1, "pmd/time-backwards": 1}
    stored = {n["status"]: n["payload"] for n in tables["notifications"] if n["status"] != "ok"}
    assert stored == {"pmd/time-outlier": day_ahead, "pmd/time-backwards": repeated}
    assert t.size == 2000 and np.abs(t - truth - LATENCY).max() < 1e-6


def test_a_clock_set_mid_stream_is_followed_and_a_pause_is_a_gap(tmp_path: Path) -> None:
    """At frame 100 an app sets the sensor's clock 1000 s ahead while frames keep coming;
    at frame 300 the stream pauses for 5 s. Both are recorded, with events."""
    rig = Rig(tmp_path)
    rig.start_answer(true_last(0) - 0.5)
    jump = 1000 * 10**9
    for k in range(500):
        pause = 5.0 if k >= 300 else 0.0
        rig.frame(true_last(k) + pause + LATENCY, k,
                  shift_ns=(jump if k >= 100 else 0) + int(pause * 1e9))
    t, truth, tables = rig.finish()
    truth = truth + np.where(truth > true_last(299), 5.0, 0.0)
    assert t.size == 5000 and tables["malformed"] == {}
    assert np.all(np.diff(t) > 0)
    error = t - truth
    assert np.abs(error - LATENCY).max() < 1e-6
    details = [(e.kind, e.detail) for e in rig.events]
    assert any(k == "clock" and "jumped by +1000.000 s" in d for k, d in details)
    assert any(k == "gap" and "skips +5.0" in d for k, d in details)


def test_reconnect_keeps_the_clock_and_never_reorders(tmp_path: Path) -> None:
    """After a reconnect the stream restarts; its first frames arrive with less delay
    than any before (the first connection's frames were all 0.3 s late). The new, lower
    offset is reached by slewing: no sample lands at or before one already recorded."""
    rig = Rig(tmp_path)
    rig.start_answer(true_last(0) - 0.5)
    for k in range(100):
        rig.frame(true_last(k) + 0.3, k)
    rig.control(true_last(99) + 0.35, "disconnect")
    rig.control(true_last(99) + 0.4, "reconnect")
    rig.start_answer(true_last(102))
    for k in range(103, 300):
        rig.frame(true_last(k) + LATENCY, k)
    t, truth, tables = rig.finish()
    assert t.size == 2970 and np.all(np.diff(t) > 0)
    error = t - truth
    assert np.abs(error[:1000] - 0.3).max() < 1e-6  # the first stream: its own offset
    assert np.abs(error[-500:] - LATENCY).max() < 1e-6  # slewed down to the new one
    assert np.all(np.diff(error[1000:]) <= 1e-6)  # and only ever down
    offset = tables["devices"][0]["clock_offset_s"]
    np.testing.assert_allclose(offset + (S0 + 300 * N * STEP_NS) * 1e-9, t[-1], atol=1e-6)
    assert offset - PMD_EPOCH_UNIX_S > 0  # host Unix s = sensor s since 2000 + offset


def test_frames_before_the_start_answer_are_decoded(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    for k in range(5):  # the start answer is late: these frames come first
        rig.frame(true_last(k) + LATENCY, k)
    rig.start_answer(true_last(5))
    for k in range(5, 50):
        rig.frame(true_last(k) + LATENCY, k)
    t, truth, tables = rig.finish()
    assert t.size == 500 and tables["malformed"] == {}
    assert np.abs(t - truth - LATENCY).max() < 1e-6


def test_an_unanswered_start_whose_frames_come_is_adopted(tmp_path: Path) -> None:
    """The control point never answers the start, but the strap streams: once the
    command times out, the stream is taken as started with the settings asked for."""
    rig = Rig(tmp_path)
    for k in range(100):
        rig.frame(true_last(k) + LATENCY, k)
    rig.control(true_last(100), "adopt-stream")
    for k in range(100, 150):
        rig.frame(true_last(k) + LATENCY, k)
    t, truth, tables = rig.finish()
    assert t.size == 1500 and tables["malformed"] == {}
    assert any("never answered" in e.detail for e in rig.events if e.kind == "stream")


def test_frames_of_a_stream_that_never_came_are_kept_raw(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.link.pmd_requested = None  # the settings were never even answered
    for k in range(3):
        rig.frame(true_last(k) + LATENCY, k)
    rig.control(true_last(3), "disconnect")
    t, _, tables = rig.finish()
    assert t.size == 0 and tables["malformed"] == {"pmd/no-stream": 3}


def test_sensor_clock_minimum_and_slew() -> None:
    clock = SensorClock(window_s=10.0, hold_s=1.0, slew=0.5)
    with pytest.raises(ValueError):
        clock.map(np.array([0.0]))
    for arrival, sensor in ((100.3, 0.0), (100.4, 0.1), (100.25, 0.2), (100.5, 0.3)):
        clock.observe(arrival, sensor)
    assert clock.estimate() == pytest.approx(100.05)
    assert not clock.due(100.3, 101.2) and clock.due(100.3, 101.3)
    first = clock.map(np.array([0.0]))
    assert first[0] == pytest.approx(100.05)
    clock.observe(101.0, 1.0)  # a frame with an even smaller delay
    mapped = clock.map(np.array([0.1, 0.2, 1.0]))
    # Slews down from 100.05 toward 100.0 at 0.5 s/s: 100.0 from 0.1 s on.
    np.testing.assert_allclose(mapped, [100.1, 100.2, 101.0])
    clock.observe(115.0, 5.0)  # the old minimum left the window: the offset rises
    assert clock.estimate() == pytest.approx(110.0)
