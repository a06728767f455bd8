"""Validate the ECG R-peak detector on whole annotated recordings, outside the test suite.

Reads the ``.npz`` that ``scripts/make_ecg_fixtures.py --validation OUT.npz`` writes (in
its own environment with wfdb; the recordings stay out of the repository) and prints, per
recording: the reference beats and the beats found, sensitivity and positive
predictivity within 150 ms against the expert annotations and against wfdb's
``xqrs_detect``, the RR intervals rejected, and the largest per-minute difference of mean
heart rate (60 / mean RR) from the annotations' (their intervals within 30-220 bpm: the
annotations, too, have gaps where the signal was unreadable)::

    .venv/bin/python scripts/validate_ecg.py /tmp/ecg-validation.npz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dosewatch.ingest.ecg import heart_rate_from_ecg

TOLERANCE_S = 0.150


def nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each time in ``a``, the distance to the nearest time in sorted ``b``."""
    j = np.clip(np.searchsorted(b, a), 1, b.size - 1)
    return np.minimum(np.abs(b[j - 1] - a), np.abs(b[j] - a))


def per_minute(t: np.ndarray, rr_s: np.ndarray, minutes: int) -> np.ndarray:
    minute = (t // 60).astype(int)
    inside = minute < minutes
    total = np.bincount(minute[inside], weights=rr_s[inside], minlength=minutes)
    count = np.bincount(minute[inside], minlength=minutes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 60.0 / (total / count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recordings", type=Path)
    args = parser.parse_args()
    data = np.load(args.recordings)
    names = sorted(k[:-4] for k in data.files if k.endswith("_ecg"))
    print(f"{'record':10} {'ref':>5} {'found':>5} {'Se':>7} {'+P':>7} {'Se xqrs':>8} "
          f"{'+P xqrs':>8} {'rejected':>9} {'max |dHR| bpm/min':>18}")
    for name in names:
        ecg, fs = data[f"{name}_ecg"], float(data[f"{name}_fs"])
        ref, xqrs = data[f"{name}_reference"], data[f"{name}_xqrs"]
        derived = heart_rate_from_ecg(ecg, fs)
        found = derived.beats
        minutes = int(ref[-1] // 60)
        rr = np.diff(ref)
        plausible = (rr >= 60 / 220) & (rr <= 2.0)  # not the annotators' gaps (r10: 4.9 s)
        want = per_minute(ref[1:][plausible], rr[plausible], minutes)
        got = per_minute(derived.t, derived.rr_ms / 1000, minutes)
        print(f"{name:10} {ref.size:5d} {found.size:5d} "
              f"{np.mean(nearest(ref, found) <= TOLERANCE_S):7.2%} "
              f"{np.mean(nearest(found, ref) <= TOLERANCE_S):7.2%} "
              f"{np.mean(nearest(xqrs, found) <= TOLERANCE_S):8.2%} "
              f"{np.mean(nearest(found, xqrs) <= TOLERANCE_S):8.2%} "
              f"{derived.n_rejected:4d}/{derived.n_intervals:<4d} "
              f"{np.nanmax(np.abs(got - want)):18.2f}"
              + ("" if derived.ok else f"  no heart rate: {derived.reason}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
