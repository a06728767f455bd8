"""Validate the heart rate dosewatch derives from a Polar Sensor Logger ECG file against the
strap's own HR and RR files of the same recording, outside the test suite.

The one public recording found with all of them (a Polar H10, 2021-05-16, 2.5 minutes:
``data/polar/`` of github.com/dekelcohen/ptsd-attack-prediction at commit
0c0646553e4abe52a606366a61a909e967f17121) is GPL-3.0, so it stays out of the repository::

    .venv/bin/python scripts/validate_polar_ecg.py PATH/data/polar

The folder is read twice by the Polar Sensor Logger reader: as it is (the heart rate is the
strap's HR file) and with only its ECG (and ACC) file (the heart rate is derived from the
ECG). Printed per minute of the recording (the last one may be partial): the strap's mean
HR, 60 / mean RR of every interval in the strap's RR file, and 60 / mean RR of the
intervals kept from the ECG, with their differences. (The strap leaves premature beats out
of its RR file, so an interval there can span two of the ECG's beats.)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from dosewatch.ingest import read_sessions
from dosewatch.session import Session


def per_minute(t: np.ndarray, values: np.ndarray, start: float, minutes: int,
               rate_of_rr: bool) -> np.ndarray:
    """Per minute from ``start``: the mean of ``values``, or 60 / mean RR (ms)."""
    minute = np.floor((t - start) / 60).astype(int)
    inside = (minute >= 0) & (minute < minutes) & np.isfinite(values)
    total = np.bincount(minute[inside], weights=values[inside], minlength=minutes)
    count = np.bincount(minute[inside], minlength=minutes)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return 60_000.0 / mean if rate_of_rr else mean


def alone(folder: Path, endings: tuple[str, ...]) -> Session:
    """The session of only the recording's files with these endings."""
    with tempfile.TemporaryDirectory() as tmp:
        for path in folder.iterdir():
            if path.name.endswith(endings):
                shutil.copy(path, tmp)
        (session,) = read_sessions(Path(tmp))
    return session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the recording's Polar Sensor Logger files")
    args = parser.parse_args()
    (strap,) = read_sessions(args.folder)
    ecg = alone(args.folder, ("_ECG.txt", "_ACC.txt"))
    beats = alone(args.folder, ("_RR.txt",))  # every beat of the strap's RR file
    note = next((r for r in ecg.provenance.repairs if "ECG" in r and "heart rate" in r), "")
    print(note)
    if ecg.hr is None:
        return 1
    t_strap = strap.hr.t + strap.provenance.time_origin_s
    t_ecg = ecg.hr.t + ecg.provenance.time_origin_s
    start = max(t_strap[0], t_ecg[0] - ecg.hr.rr_ms[0] / 1000)
    minutes = int(np.ceil((min(t_strap[-1], t_ecg[-1]) - start) / 60))
    hr = per_minute(t_strap, strap.hr.bpm, start, minutes, rate_of_rr=False)
    t_rr = beats.hr.t + beats.provenance.time_origin_s
    rr_strap = per_minute(t_rr, beats.hr.rr_ms, start, minutes, rate_of_rr=True)
    rr_ecg = per_minute(t_ecg, ecg.hr.rr_ms, start, minutes, rate_of_rr=True)
    print(f"{'minute':>6} {'strap HR':>9} {'strap RR':>9} {'ECG':>7} {'ECG-HR':>7} "
          f"{'ECG-RR':>7}")
    for k in range(minutes):
        print(f"{k:6d} {hr[k]:9.2f} {rr_strap[k]:9.2f} {rr_ecg[k]:7.2f} "
              f"{rr_ecg[k] - hr[k]:+7.2f} {rr_ecg[k] - rr_strap[k]:+7.2f}")
    print(f"max |ECG - strap HR| = {np.nanmax(np.abs(rr_ecg - hr)):.2f} bpm/min, "
          f"max |ECG - strap RR| = {np.nanmax(np.abs(rr_ecg - rr_strap)):.2f} bpm/min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
