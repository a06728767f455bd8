"""Regenerate the expected values of the raw-accelerometer test files, from the
established reader of each format (not from dosewatch).

For every real file under ``tests/data/<format>/`` this writes
``tests/data/<format>/expected/<file>.npz`` holding what the reference reader gives:
``n`` (samples), ``t_first``/``t_last`` (Unix seconds, as that reader reports them),
``rate`` (Hz), and two slices of samples, ``head`` (the first 300 rows) and ``middle``
(300 rows from the middle), as ``[t, x, y, z]``. It also writes
``tests/data/edf/acc_hr_ecg.edf``, an EDF+ file with acceleration, heart-rate and ECG
channels written by pyedflib, with its expected values.

The references, installed in an environment of their own (they are not dosewatch
dependencies)::

    python -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install actipy pygt3x pyedflib pandas
    # Open Movement's reader: a checkout of digitalinteraction/openmovement-python
    /tmp/refvenv/bin/python scripts/make_rawacc_fixtures.py --openmovement PATH/src

- CWA: Open Movement's ``cwa_load.CwaData`` (the manufacturer's reader), and actipy for
  the file Open Movement cannot open (its first block is damaged);
- GT3X: pygt3x ``FileReader`` (ActiGraph's reader; times are the device's local clock);
- GENEActiv: actipy ``read_device`` (its Java reader; times are the page times as
  written, local, truncated to the millisecond);
- EDF/BDF: pyedflib ``EdfReader`` (each signal, physical values).
"""

from __future__ import annotations

import argparse
import calendar
import datetime
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
ROWS = 300


def save(path: Path, t: np.ndarray, xyz: np.ndarray, rate: float, reader: str) -> None:
    mid = max(0, t.size // 2 - ROWS // 2)
    table = np.column_stack([t, xyz])
    out = path.parent / "expected" / (path.name + ".npz")
    out.parent.mkdir(exist_ok=True)
    np.savez_compressed(out, n=t.size, t_first=t[0], t_last=t[-1], rate=rate,
                        head=table[:ROWS], middle=table[mid : mid + ROWS], middle_at=mid,
                        reader=reader)
    print(f"{out.relative_to(DATA)}: {t.size} samples, {rate} Hz ({reader})")


def cwa(openmovement: Path) -> None:
    sys.path.insert(0, str(openmovement))
    import actipy
    from openmovement.load import CwaData

    for path in sorted((DATA / "cwa").glob("*.cwa")):
        try:
            with CwaData(str(path), include_gyro=False) as data:
                values = data.get_sample_values()
                rate = float(data.get_sample_rate())
            save(path, values[:, 0], values[:, 1:4], rate, "openmovement cwa_load")
        except Exception:  # noqa: BLE001 - Open Movement refuses a damaged first block
            frame, info = actipy.read_device(str(path), lowpass_hz=None,
                                             calibrate_gravity=False, detect_nonwear=False,
                                             resample_hz=None, verbose=False)
            t = frame.index.values.astype("datetime64[ns]").astype(np.int64) / 1e9
            save(path, t, frame[["x", "y", "z"]].to_numpy(), float(info["SampleRate"]),
                 "actipy read_device")


def gt3x() -> None:
    from pygt3x.reader import FileReader

    for path in sorted((DATA / "gt3x").glob("*.gt3x")):
        with FileReader(str(path)) as reader:
            frame = reader.to_pandas()
            rate = float(reader.info.sample_rate)
        save(path, frame.index.to_numpy(dtype=float), frame[["X", "Y", "Z"]].to_numpy(),
             rate, "pygt3x FileReader")


def geneactiv() -> None:
    import actipy

    for path in sorted((DATA / "geneactiv").glob("*.bin")):
        frame, info = actipy.read_device(str(path), lowpass_hz=None, calibrate_gravity=False,
                                         detect_nonwear=False, resample_hz=None, verbose=False)
        t = frame.index.values.astype("datetime64[ns]").astype(np.int64) / 1e9
        save(path, t, frame[["x", "y", "z"]].to_numpy(), float(info["SampleRate"]),
             "actipy read_device")


def edf_with_acc(path: Path) -> None:
    """An EDF+ recording of 60 s: ACC X/Y/Z at 32 Hz in mg, HR at 1 Hz, ECG at 256 Hz."""
    import pyedflib

    rng = np.random.default_rng(12)
    t = np.arange(60 * 32) / 32
    acc = np.column_stack([1000 * np.sin(2 * np.pi * 1.8 * t) * 0.3,
                           200 + 100 * rng.standard_normal(t.size),
                           -980 + 50 * np.cos(2 * np.pi * 0.9 * t)])
    hr = 120 + 10 * np.sin(np.arange(60) / 10)
    ecg = 0.2 * rng.standard_normal(60 * 256)
    heads = []
    for label, unit, fs, lo, hi in (("ACC X", "mg", 32, -8000, 8000),
                                    ("ACC Y", "mg", 32, -8000, 8000),
                                    ("ACC Z", "mg", 32, -8000, 8000),
                                    ("HR", "bpm", 1, 0, 250), ("ECG", "mV", 256, -5, 5)):
        heads.append({"label": label, "dimension": unit, "sample_frequency": fs,
                      "physical_min": lo, "physical_max": hi, "digital_min": -32768,
                      "digital_max": 32767, "transducer": "", "prefilter": ""})
    signals = [acc[:, 0], acc[:, 1], acc[:, 2], hr, ecg]
    with pyedflib.EdfWriter(str(path), 5, file_type=pyedflib.FILETYPE_EDFPLUS) as writer:
        writer.setSignalHeaders(heads)
        writer.setStartdatetime(datetime.datetime(2024, 5, 6, 7, 8, 9))
        # One data record (1 s) at a time, channel after channel: writeSamples cannot mix
        # rates with numpy 2 in pyedflib 0.1.42.
        for second in range(60):
            for signal, head in zip(signals, heads, strict=True):
                fs = head["sample_frequency"]
                writer.writePhysicalSamples(
                    np.ascontiguousarray(signal[second * fs : (second + 1) * fs]))


def edf() -> None:
    edf_with_acc(DATA / "edf" / "acc_hr_ecg.edf")
    for path in sorted((DATA / "edf").glob("*.[eb]df")):
        expect_signals(path)


def expect_signals(path: Path) -> None:
    """``expected/<file>.npz``: what pyedflib reads from an EDF/BDF file (each signal's
    first and last values, their number, rates, the start to the second)."""
    import pyedflib

    reader = pyedflib.EdfReader(str(path))
    labels = reader.getSignalLabels()
    out = path.parent / "expected" / (path.name + ".npz")
    out.parent.mkdir(exist_ok=True)
    signals = {}
    for k in range(len(labels)):
        values = reader.readSignal(k)
        signals |= {f"head_{k}": values[:ROWS], f"tail_{k}": values[-ROWS:],
                    f"n_{k}": values.size}
    start = calendar.timegm(reader.getStartdatetime().timetuple())  # naive: as UTC
    np.savez_compressed(out, labels=np.array(labels), start_whole_s=start,
                        rates=np.array([reader.getSampleFrequency(k)
                                        for k in range(len(labels))], dtype=float),
                        reader="pyedflib EdfReader", **signals)
    reader.close()
    print(f"{out.relative_to(DATA)}: {len(labels)} signals (pyedflib EdfReader)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--openmovement", type=Path, required=True,
                        help="the src/ folder of an openmovement-python checkout")
    args = parser.parse_args()
    cwa(args.openmovement)
    gt3x()
    geneactiv()
    edf()
    return 0


if __name__ == "__main__":
    sys.exit(main())
