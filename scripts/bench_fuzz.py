"""The whole-folder fuzz (tests/e2e/test_fuzz_input_trees.py), timed: runs it ``--runs``
times with ``--trees`` trees each (each run draws new trees) and prints, per run, the
fuzz's own figures (trees, inputs, sessions read, refused, full batches, time, slowest
tree) and the run's peak resident memory.

    python scripts/bench_fuzz.py [--trees 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, DOSEWATCH_FUZZ_TREES=str(args.trees))
    failed = 0
    for run in range(1, args.runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
             "tests/e2e/test_fuzz_input_trees.py"], cwd=REPO, env=env, capture_output=True,
            text=True, check=False)
        wall = time.monotonic() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        figures = next((line for line in done.stdout.splitlines() if line.startswith("fuzz:")),
                       "fuzz: no figures (see the output below)")
        print(f"run {run}: {'passed' if done.returncode == 0 else 'FAILED'}, {wall:.1f} s "
              f"with pytest's start; peak RSS {max(peak, before) / 1024:.0f} MB\n  {figures}")
        if done.returncode != 0:
            failed += 1
            print(done.stdout[-4000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
