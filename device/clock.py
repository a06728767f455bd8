"""Sensor time to host time, kept aligned while the host is busy.

A Polar PMD frame carries the sensor's time of its last sample; the host knows when the
frame arrived. Their difference ``d = arrival - sensor time`` is the clock offset plus the
frame's delay, and the delay is never negative: radio latency, a frame held back to be
sent with the next ones (devices send frames in bursts), a host that stamped the arrival
late because it was busy or starved of CPU. So the offset is the *lower envelope* of
``d``: its minimum over a sliding window (60 s by default) of arrivals. A burst, a
scheduler stall or a starved process only makes some ``d`` larger, which the minimum
ignores; a sensor clock drifting against the host's moves the minimum with it.

:class:`SensorClock` keeps that minimum with a monotone queue (O(1) per frame) and maps
sample times with it:

- Frames are mapped ``hold_s`` after they arrived (:meth:`SensorClock.due`), so that the
  minimum also sees the frames that came just after them: the first frames of a stream,
  often late because they waited for their burst, get the offset of the prompt frames that
  follow instead of their own.
- The offset applied never jumps down: when the estimate falls (a new, smaller delay was
  seen), the mapping slews to it at ``slew`` seconds per second of sensor time, so that
  sample times stay strictly increasing; when it rises (the minimum left the window and
  the sensor clock runs slower than the host's), it follows at once, which leaves a gap
  rather than an overlap.

Times are floats in seconds; sensor times are given relative to a base the caller picks
(the first frame's time), so that nanosecond sensor clocks keep their precision.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.typing import NDArray

__all__ = ["SensorClock"]


class SensorClock:
    """The offset from one sensor's clock to the host's (see the module text).

    Args:
        window_s: host seconds of arrivals the minimum is taken over.
        hold_s: host seconds a frame waits before it is mapped (:meth:`due`).
        slew: how fast a falling offset is followed, s per s of sensor time (0-1).
    """

    def __init__(self, *, window_s: float = 60.0, hold_s: float = 2.0, slew: float = 0.5):
        if not window_s > 0 or not hold_s >= 0 or not 0 < slew < 1:
            raise ValueError("need window_s > 0, hold_s >= 0 and 0 < slew < 1")
        self.window_s = float(window_s)
        self.hold_s = float(hold_s)
        self.slew = float(slew)
        self._minima: deque[tuple[float, float]] = deque()  # (arrival, d), d increasing
        self._newest = -math.inf
        self.applied: float | None = None
        """The offset the last mapped sample got (host = sensor + applied)."""
        self._last_sensor: float | None = None
        self.last_host: float = -math.inf
        """Host time of the last mapped sample."""
        self.observations = 0

    def reset(self) -> None:
        """Forget everything (the sensor's clock was reset)."""
        self._minima.clear()
        self._newest = -math.inf
        self.applied = None
        self._last_sensor = None
        self.observations = 0

    def observe(self, arrival: float, sensor_last: float) -> float:
        """Record a frame that arrived at host time ``arrival`` whose last sample is at
        ``sensor_last``; returns its ``d``."""
        d = float(arrival) - float(sensor_last)
        minima = self._minima
        while minima and minima[-1][1] >= d:
            minima.pop()
        minima.append((float(arrival), d))
        self._newest = max(self._newest, float(arrival))
        horizon = self._newest - self.window_s
        while len(minima) > 1 and minima[0][0] < horizon:
            minima.popleft()
        self.observations += 1
        return d

    def estimate(self) -> float | None:
        """The offset now: the smallest ``d`` in the window (None before any frame)."""
        return self._minima[0][1] if self._minima else None

    def due(self, arrival: float, now: float) -> bool:
        """Whether a frame that arrived at ``arrival`` may be mapped at host time ``now``."""
        return now - arrival >= self.hold_s

    def map(self, sensor_times: NDArray[np.float64]) -> NDArray[np.float64]:
        """Host times of consecutive samples (sensor seconds, increasing, after every
        sample mapped before)."""
        est = self.estimate()
        if est is None:
            raise ValueError("map() before any observe()")
        s = np.asarray(sensor_times, dtype=np.float64)
        if self.applied is None or self._last_sensor is None:
            offsets = np.full(s.shape, est)
        else:
            # Down to the estimate at `slew` s per s of sensor time; up at once.
            slewed = self.applied - self.slew * (s - self._last_sensor)
            offsets = np.maximum(est, slewed) if est < self.applied else np.full(s.shape, est)
        host = s + offsets
        self.applied = float(offsets[-1])
        self._last_sensor = float(s[-1])
        self.last_host = float(host[-1])
        return host
