"""A Polar Sensor Logger recording of a Polar H10, written from a real ECG for the tests.

No real Polar Sensor Logger ECG file could be committed: the only public one found with
the strap's own HR and RR files of the same recording (dekelcohen/ptsd-attack-prediction,
``data/polar/``) is GPL-3.0, which the project keeps out of the repository (it is used by
``scripts/validate_polar_ecg.py`` from a path given on the command line). So the tests write
the H10's layout around a real ECG already in the repository: the first 10 minutes of lead
MLII of MIT-BIH record 100 (``tests/data/edf/mitdb100_mlii.edf``, PhysioNet, ODC-By 1.0),
resampled from 360 Hz to the H10's 130 Hz and written in whole microvolts, with the
cardiologists' beat annotations (``expected/mitdb100_mlii.edf.beats.npz``) as the truth.

The layout is the real file's (``Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg
[uV]``): the sensor's clock in nanoseconds since 2000-01-01, exact 130 Hz spacing; the
phone's clock, as the app writes it, is the sensor's plus a transfer delay that differs per
73-sample packet (the H10 sends its ECG in packets of 73 samples), so only the sensor clock
puts the beats where they were. Each stream's file is stamped with the time it started, as
the app does (``Polar_H10_0A1B2C3D_20240501_100000_ECG.txt``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .paths import DATA

MITDB = DATA / "edf" / "mitdb100_mlii.edf"
BEATS = DATA / "edf" / "expected" / "mitdb100_mlii.edf.beats.npz"
FS = 130.0
START = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
POLAR_EPOCH_UNIX = 946_684_800
DEVICE = "Polar_H10_0A1B2C3D"
ECG_HEADER = "Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]"


def mitdb_ecg_130hz(seconds: float | None = None) -> NDArray[np.float64]:
    """MIT-BIH record 100's lead MLII at 130 Hz, in µV (from its 360 Hz mV samples)."""
    uv = _mitdb_130hz()
    return uv.copy() if seconds is None else uv[: int(seconds * FS)].copy()


@cache
def _mitdb_130hz() -> NDArray[np.float64]:
    from scipy.signal import resample_poly

    from dosewatch.ingest.formats.edf import decode

    contents = decode(MITDB)
    signal = next(s for s in contents.header.signals if s.label != "EDF Annotations")
    return resample_poly(contents.values(signal), 13, 36) * 1000.0


def reference() -> dict[str, NDArray]:
    """The annotated beats (s from the start) and their per-minute heart rate."""
    with np.load(BEATS) as data:
        return {k: data[k] for k in data.files}


def stamp(prefix_time: float) -> str:
    return datetime.fromtimestamp(prefix_time, UTC).strftime("%Y%m%d_%H%M%S")


def phone_text(unix_s: NDArray[np.float64]) -> NDArray[np.str_]:
    """Phone timestamps as the app writes them: local ISO time to the millisecond."""
    ms = np.rint(unix_s * 1000).astype("datetime64[ms]")
    return np.datetime_as_string(ms, unit="ms")


def ecg_text(uv: NDArray[np.float64], *, start_s: float = 0.0, seed: int = 0) -> str:
    """An H10 ECG file of ``uv`` (rounded to whole µV) starting ``start_s`` after START."""
    rng = np.random.default_rng(seed)
    n = uv.size
    sensor_s = START.timestamp() + start_s + np.arange(n) / FS
    packet = np.arange(n) // 73
    delay = 0.05 + rng.uniform(0.0, 0.4, packet.max() + 1)[packet]  # per BLE packet
    ns = np.rint((sensor_s - POLAR_EPOCH_UNIX) * 1e9).astype(np.int64)
    ms = np.arange(n) * (1000.0 / FS)
    values = np.rint(uv).astype(np.int64)
    rows = [f"{p};{a};{b:.5f};{c}" for p, a, b, c in
            zip(phone_text(sensor_s + delay), ns, ms, values, strict=True)]
    return ECG_HEADER + "\n" + "\n".join(rows) + "\n"


def hr_text(beats: NDArray[np.float64], *, seconds: float) -> str:
    """The strap's HR file for these beats (s from START): once a second, the heart rate
    of the last beat's interval, as ``Phone timestamp;HR [bpm];HRV [ms];Breathing
    interval [rpm];`` with the optional fields left out."""
    t = np.arange(1.0, seconds)
    rr = np.diff(beats)
    last = np.clip(np.searchsorted(beats[1:], t) - 1, 0, rr.size - 1)
    bpm = np.rint(60.0 / rr[last]).astype(int)
    rows = [f"{p};{b}" for p, b in zip(phone_text(START.timestamp() + t), bpm, strict=True)]
    return "Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];\n" + \
        "\n".join(rows) + "\n"


def acc_text(seconds: float, *, start_s: float = 0.0, fs: float = 50.0) -> str:
    """An ACC file of a still strap (1 g on Z, in mg) over ``seconds``."""
    n = int(seconds * fs)
    sensor_s = START.timestamp() + start_s + np.arange(n) / fs
    ns = np.rint((sensor_s - POLAR_EPOCH_UNIX) * 1e9).astype(np.int64)
    z = 1000 + (np.arange(n) % 5) - 2
    rows = [f"{p};{a};-12;8;{c}" for p, a, c in
            zip(phone_text(sensor_s + 0.1), ns, z, strict=True)]
    return "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]\n" + \
        "\n".join(rows) + "\n"


def write_recording(folder: Path, *, seconds: float = 600.0, hr: bool = False,
                    acc: bool = False, uv: NDArray[np.float64] | None = None,
                    device: str = DEVICE, start_s: float = 0.0) -> dict[str, Path]:
    """Write a recording's files into ``folder`` (made if missing): the ECG (MIT-BIH 100,
    or ``uv``), and the strap's HR file from the annotated beats and a still ACC file when
    asked; each file stamped with its own start, the ECG 1 s and the ACC 14 s after the
    HR, as in the real recording. Returns the files by stream."""
    folder.mkdir(parents=True, exist_ok=True)
    if uv is None:
        uv = mitdb_ecg_130hz(seconds)
    base = START.timestamp() + start_s
    files = {"ECG": folder / f"{device}_{stamp(base + 1)}_ECG.txt"}
    files["ECG"].write_text(ecg_text(uv, start_s=start_s))
    if hr:
        files["HR"] = folder / f"{device}_{stamp(base)}_HR.txt"
        beats = reference()["reference"]
        files["HR"].write_text(hr_text(beats[beats < seconds], seconds=seconds))
    if acc:
        files["ACC"] = folder / f"{device}_{stamp(base + 14)}_ACC.txt"
        files["ACC"].write_text(acc_text(seconds, start_s=start_s))
    return files
