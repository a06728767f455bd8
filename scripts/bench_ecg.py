"""How fast heart rate is derived from a long ECG: a synthetic 24-hour lead at 256 Hz (the
rate of many Holters), through :func:`dosewatch.ingest.ecg.heart_rate_from_ecg`.

Prints the wall time of each run, the best, the beats found against the beats put in, and
the peak memory the detector added (tracemalloc: NumPy's arrays)::

    .venv/bin/python scripts/bench_ecg.py [--hours 24] [--fs 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.ecg import beat_times, synthetic_ecg

from dosewatch.ingest.ecg import heart_rate_from_ecg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--fs", type=float, default=256.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    duration = args.hours * 3600
    beats = beat_times(duration, bpm=72.0, seed=7)
    rng = np.random.default_rng(7)
    ecg = synthetic_ecg(beats, duration, args.fs) + 0.03 * rng.standard_normal(
        round(duration * args.fs))
    print(f"{args.hours:g} h at {args.fs:g} Hz: {ecg.size:,} samples, {beats.size:,} beats")
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        derived = heart_rate_from_ecg(ecg, args.fs)
        times.append(time.perf_counter() - start)
        print(f"  {times[-1]:.2f} s: {derived.n_beats:,} beats found, "
              f"{derived.n_rejected} intervals rejected, reason: {derived.reason}")
    tracemalloc.start()
    heart_rate_from_ecg(ecg, args.fs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"best {min(times):.2f} s ({ecg.size / min(times) / 1e6:.1f} M samples/s); "
          f"peak memory added {peak / 2**20:.0f} MiB "
          f"({peak / ecg.nbytes:.1f} x the float64 ECG)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
