"""Does the live demo give the same verdict every time, on a busy machine?

Runs the first command of ``make demo``
(``dosewatch record --virtual --protocol bout_30plus --speed 240 --force --out ...``)
``--runs`` times in a row while ``--hogs`` processes keep every core busy (pure-Python
loops at the same priority), and prints each run's verdict: the session class, the dose
moment and the qualifying minutes of every bout, from the end-of-session summary. Exit
status 1 when the runs disagree.

    .venv/bin/python scripts/check_demo_repeat.py                # 5 runs, one hog per core
    .venv/bin/python scripts/check_demo_repeat.py --runs 3 --hogs 0 --speed 60
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def hog(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x = (x * 31 + 7) % 1_000_003


def fingerprint(path: Path) -> str:
    """A hash of the recorded session's samples (times from the session start, rounded to
    1 us), so that runs can be compared beyond their verdicts (the start's wall-clock time
    differs from run to run, of course)."""
    import hashlib

    import numpy as np

    from dosewatch.recording import read_recording

    session = read_recording(path)
    digest = hashlib.sha256()
    if session.hr is not None:
        digest.update(np.round(session.hr.t, 6).tobytes() + session.hr.bpm.tobytes())
    if session.acc is not None:
        digest.update(np.round(session.acc.t, 6).tobytes() + session.acc.xyz.tobytes())
    return digest.hexdigest()[:12]


def verdict(output: str) -> tuple[str, str, tuple[str, ...]]:
    """(class, dose, qualifying minutes per bout) from the session summary."""
    fields = dict(re.findall(r"^  (class|dose):\s+(.*)$", output, re.M))
    bouts = tuple(re.findall(r"^  bout \d+:\s+.*?, ([\d.]+) qualifying min", output, re.M))
    return fields.get("class", "?"), fields.get("dose", "?"), bouts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2,
                        help="busy processes running meanwhile (default: one per core)")
    parser.add_argument("--speed", type=float, default=240.0)
    parser.add_argument("--protocol", default="bout_30plus")
    args = parser.parse_args()

    stop = multiprocessing.Event()
    hogs = [multiprocessing.Process(target=hog, args=(stop,), daemon=True)
            for _ in range(args.hogs)]
    for p in hogs:
        p.start()
    results = []
    prints: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(1, args.runs + 1):
                out = Path(tmp) / f"run{run}.dwrec"
                command = [sys.executable, "-m", "dosewatch", "record", "--virtual",
                           "--protocol", args.protocol, "--speed", f"{args.speed:g}", "--force",
                           "--plain", "--out", str(out)]
                start = time.perf_counter()
                proc = subprocess.run(command, capture_output=True, text=True, timeout=900)
                wall = time.perf_counter() - start
                if proc.returncode != 0:
                    print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                    return 2
                v = verdict(proc.stdout)
                malformed = re.findall(r"(\d+) malformed", proc.stdout)
                print_ = fingerprint(out)
                results.append(v)
                prints.append(print_)
                print(f"run {run}: class {v[0]}; dose {v[1]}; bouts (qualifying min) "
                      f"{', '.join(v[2]) or 'none'}; {malformed[-1] if malformed else '?'} "
                      f"malformed; samples {print_}; {wall:.1f} s wall", flush=True)
    finally:
        stop.set()
        for p in hogs:
            p.join(timeout=5)
    same = len(set(results)) == 1
    print(f"{args.runs} runs with {args.hogs} busy processes: "
          + ("the same verdict every time" if same else "VERDICTS DIFFER")
          + ("; identical samples" if len(set(prints)) == 1 else "; the samples differ"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
