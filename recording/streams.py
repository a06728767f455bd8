"""Recorded samples -> the session's streams: the rules both batch and live follow.

A recording (and the live analysis while it is being written) holds, per device, heart
rate values with the newest RR interval sent with each, acceleration samples, and speed
and cadence values. :func:`session_from_samples` turns them into a
:class:`~dosewatch.session.Session` by one set of rules:

- when several devices recorded the same stream, the one with the most values is used
  (the lowest device id on a tie), and the choice is noted;
- heart rate carries ``rr_ms`` only when some value came with an RR interval; a
  notification without a reading (NaN bpm: the sensor reported no skin contact, or 0) is
  a gap, and the notes say how many there were;
- a speed record's speed, cadence and a treadmill's incline become the ``speed``,
  ``cadence`` and ``grade`` streams, each from the records where it is present;
- the session starts at the earliest sample of any stream
  (:func:`~dosewatch.session.build_session`).

:func:`dosewatch.recording.reader.read_recording` calls it with arrays read from the file,
:class:`dosewatch.device.live.LiveAnalysis` with its in-memory buffers, so live and batch
cannot disagree about what a recording holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..session import Profile, Session, build_session

__all__ = ["RecordedSamples", "choose_device", "session_from_samples"]


@dataclass(frozen=True)
class RecordedSamples:
    """Decoded samples per device id.

    Attributes:
        hr: ``(t, bpm, rr_newest_ms)``: one row per heart-rate value (NaN RR when none
            came with it).
        acc: ``(t, xyz)`` in g, ``xyz`` of shape ``(n, 3)``.
        speed: ``(t, mps, cadence_spm)``, NaN where a record lacks the field.
        grade: ``(t, grade)``: a treadmill's incline (rise over run) where it sent one.
        device_names: id -> a readable name, for the notes.
    """

    hr: Mapping[int, tuple[NDArray, NDArray, NDArray]] = field(default_factory=dict)
    acc: Mapping[int, tuple[NDArray, NDArray]] = field(default_factory=dict)
    speed: Mapping[int, tuple[NDArray, NDArray, NDArray]] = field(default_factory=dict)
    grade: Mapping[int, tuple[NDArray, NDArray]] = field(default_factory=dict)
    device_names: Mapping[int, str] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        """Whether heart rate, acceleration or speed is there (a session needs one: a
        treadmill's speed alone is read as the workload, like a watch without its strap)."""
        return any(v[0].size for v in self.hr.values()) or any(
            v[0].size for v in self.acc.values()) or any(
            np.isfinite(v[1]).any() for v in self.speed.values())


def choose_device(stream: str, per_device: Mapping[int, tuple[NDArray, ...]],
                  names: Mapping[int, str], notes: list[str]) -> int | None:
    """The device whose ``stream`` is used: the most values, the lowest id on a tie."""
    counts = sorted(((-int(v[0].size), d) for d, v in per_device.items() if v[0].size))
    if not counts:
        return None
    chosen = counts[0][1]
    if len(counts) > 1:
        others = ", ".join(names.get(d, f"device {d}") for _, d in counts[1:])
        notes.append(f"{stream}: {len(counts)} devices recorded it; used "
                     f"{names.get(chosen, chosen)} (most samples), ignored {others}")
    return chosen


def session_from_samples(
    samples: RecordedSamples,
    *,
    name: str,
    profile: Profile | None = None,
    source: str = "live",
    repairs: tuple[str, ...] = (),
    sport: str | None = None,
) -> Session:
    """The session of a recording's samples (see the module text).

    Raises:
        InputError: neither heart rate, acceleration nor speed (from
            :func:`~dosewatch.session.build_session`).
    """
    notes = list(repairs)
    names = samples.device_names
    streams: dict[str, tuple] = {}
    hr_device = choose_device("hr", samples.hr, names, notes)
    if hr_device is not None:
        t, bpm, rr = samples.hr[hr_device]
        no_reading = int(np.count_nonzero(~np.isfinite(bpm)))
        if no_reading:
            notes.append(f"hr: {no_reading} notifications carried no heart rate (no skin "
                         "contact, or 0 bpm)")
        streams["hr"] = (t, bpm, rr) if np.isfinite(rr).any() else (t, bpm)
    acc_device = choose_device("acc", samples.acc, names, notes)
    if acc_device is not None:
        streams["acc"] = samples.acc[acc_device]
    speed_device = choose_device("speed", samples.speed, names, notes)
    if speed_device is not None:
        t, mps, cadence = samples.speed[speed_device]
        if np.isfinite(mps).any():
            streams["speed"] = (t, mps)
        keep = np.isfinite(cadence)
        if keep.any():
            streams["cadence"] = (t[keep], cadence[keep])
        if speed_device in samples.grade and "speed" in streams:
            t, grade = samples.grade[speed_device]
            keep = np.isfinite(grade)
            if keep.any():
                streams["grade"] = (t[keep], grade[keep])
    return build_session(name, profile=profile, source=source, format="dwrec",
                         repairs=tuple(notes), sport=sport, **streams)
