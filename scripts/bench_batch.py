"""Batch throughput: many one-hour sessions, with 1 and 2 local workers and on Dask.

Simulates ``--sessions`` one-hour sessions (two simulated protocols back to back, cut at
60 minutes; wrist heart rate and 25 Hz acceleration, Parquet), then analyses the folder
with the real ``dosewatch analyze`` command three ways — 1 local worker, 2 local
workers, and a local Dask cluster of 2 worker processes (``--scheduler``) — and reports
sessions per minute and peak memory (resident set of the largest process: the command and
its pool workers, or the Dask workers, sampled every 0.2 s). Pictures are off
(``--no-pictures``): one PNG costs about 0.4 s, more than the analysis itself, and is
reported separately.

    python scripts/bench_batch.py [--sessions 1000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from dosewatch.ingest import write_session_folder
from dosewatch.session import build_session
from dosewatch.simulate import PROTOCOLS, random_person, simulate

HOUR_S = 3600.0


def one_hour(i: int, rng: np.random.Generator):
    """Two protocols of one simulated person back to back, cut at one hour."""
    person = random_person(rng, id=f"P{i // 10:03d}")
    names = list(PROTOCOLS)
    parts = [simulate(names[int(rng.integers(len(names)))], person, placement="wrist",
                      acc_fs=25.0, seed=int(rng.integers(2**31))).session for _ in range(2)]
    offset = parts[0].duration_s
    hr_t = np.concatenate([parts[0].hr.t, parts[1].hr.t + offset])
    hr_v = np.concatenate([parts[0].hr.bpm, parts[1].hr.bpm])
    acc_t = np.concatenate([parts[0].acc.t, parts[1].acc.t + offset])
    acc_v = np.concatenate([parts[0].acc.xyz, parts[1].acc.xyz])
    keep_hr, keep_acc = hr_t < HOUR_S, acc_t < HOUR_S
    return build_session(f"s{i:04d}", hr=(hr_t[keep_hr], hr_v[keep_hr]),
                         acc=(acc_t[keep_acc], acc_v[keep_acc]), profile=parts[0].profile,
                         format="simulated")


class PeakMemory:
    """Largest resident set among ``roots`` and their descendants, sampled in a thread."""

    def __init__(self, roots_fn):
        self.roots_fn = roots_fn
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for root in self.roots_fn():
                try:
                    procs = [root, *root.children(recursive=True)]
                except psutil.Error:
                    continue
                for p in procs:
                    try:
                        self.peak = max(self.peak, p.memory_info().rss)
                    except psutil.Error:
                        pass
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run(command: list[str], extra_roots=()) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    with PeakMemory(lambda: [root, *extra_roots]) as mem:
        _, err = proc.communicate()
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()[-2000:]}")
    return time.perf_counter() - start, mem.peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="dosewatch-bench-batch-"))
    inputs = work / "inputs"
    if not inputs.exists() or len(list(inputs.iterdir())) < args.sessions:
        shutil.rmtree(inputs, ignore_errors=True)
        rng = np.random.default_rng(31)
        t = time.perf_counter()
        for i in range(args.sessions):
            session = one_hour(i, rng)
            write_session_folder(session, inputs / session.name,
                                 format="parquet")
        print(f"simulated {args.sessions} one-hour sessions in {time.perf_counter() - t:.0f} s")
    size = sum(f.stat().st_size for f in inputs.rglob("*") if f.is_file())
    print(f"inputs: {inputs} ({size / 1e6:.0f} MB)")
    dosewatch = [sys.executable, "-m", "dosewatch", "analyze", str(inputs), "--no-pictures",
                 "-q", "--force"]
    rows = []
    for label, extra in (("1 local worker", ["--workers", "1"]),
                         ("2 local workers", ["--workers", "2"])):
        seconds, peak = run([*dosewatch, "--out", str(work / "out"), *extra])
        rows.append((label, seconds, peak))
        print(f"{label}: {seconds:.0f} s", flush=True)

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        workers = [psutil.Process(w.process.pid) for w in cluster.workers.values()]
        seconds, peak = run([*dosewatch, "--out", str(work / "out"),
                             "--scheduler", cluster.scheduler_address], extra_roots=workers)
    rows.append(("Dask, 2 worker processes", seconds, peak))
    print()
    print(f"{args.sessions} one-hour sessions (wrist HR + 25 Hz acceleration, Parquet), "
          "no pictures")
    print(f"{'run':28s} {'wall':>8s} {'sessions/min':>13s} {'peak RSS':>10s}")
    for label, seconds, peak in rows:
        print(f"{label:28s} {seconds:7.0f}s {60 * args.sessions / seconds:13.0f} "
              f"{peak / 2**20:8.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
