"""How long the copy fingerprint (dosewatch.duplicates.stream_digest) takes: it hashes at
most ``SAMPLED`` evenly spaced samples of each stream, so its time is bounded however long
the session.

    .venv/bin/python scripts/bench_digest.py [--hours 16.7] [--hz 100]

Every analysed session is fingerprinted once; this times it on a long 3-axis
acceleration session (the largest kind) and on a 90-minute 1 Hz heart-rate session.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dosewatch.duplicates import stream_digest
from dosewatch.session import build_session


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=16.7)
    parser.add_argument("--hz", type=float, default=100.0)
    args = parser.parse_args()
    n = int(args.hours * 3600 * args.hz)
    t = np.arange(n) / args.hz
    xyz = np.random.default_rng(0).normal(0, 0.3, (n, 3)).astype(np.float32)
    acc = build_session("acc", acc=(t, xyz))
    seconds = best_of(lambda: stream_digest(acc), 3)
    print(f"acceleration, {n:,} samples ({args.hours:g} h at {args.hz:g} Hz): "
          f"{seconds * 1e3:.2f} ms")
    m = 5400
    hr = build_session("hr", hr=(np.arange(m, dtype=float), 120 + np.arange(m) % 9.0))
    seconds = best_of(lambda: stream_digest(hr), 20)
    print(f"heart rate, {m:,} samples (90 min at 1 Hz): {seconds * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
