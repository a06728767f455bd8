"""Benchmark: the session picture, per picture and as a share of a batch.

Analyses every session of the real folder (``../shared/data/real``) and a few simulated
ones of kinds the real folder lacks (heart rate only, acceleration only, both with the
dose, three days of heart rate in hours with missing epochs), then draws their pictures
one after another, as a batch's process does, and reports the CPU and wall milliseconds
per picture (median, mean, slowest), per kind and overall, two ways:

- ``plot_session``: as dosewatch draws them (since the pictures were made cheaper: on a
  figure kept from the previous picture);
- ``new figure``: ``draw_session`` and ``savefig`` with ``plot_session``'s settings, a
  new figure for every picture (how every picture was drawn before).

Both use the package this Python imports: run it from an older checkout (``cd`` there,
``python -m`` nothing else) for that version's figures. With ``--batch`` it also runs
``dosewatch analyze REAL --force --quiet`` as a separate process, with and without
pictures (``--no-pictures``), and reports the wall and CPU seconds (the process and its
children) and the pictures' share.

    python scripts/bench_pictures.py [--real DIR] [--repeat 2] [--batch] [--runs 3]
        [--no-simulated]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
DEFAULT_REAL = HERE.parent / "shared" / "data" / "real"


def real_results(folder: Path) -> list[tuple[str, object]]:
    """``(kind, result)`` of every session of every input under ``folder``."""
    from dosewatch import api
    from dosewatch.ingest.discover import discover

    out = []
    for found in discover([folder]).inputs:
        path = getattr(found, "path", found)
        try:
            sessions = api.read_all(path)
        except Exception as exc:  # noqa: BLE001 - reported, the rest measured
            print(f"  skipped {path}: {exc}", file=sys.stderr)
            continue
        out += [(kind_of(result), result) for result in map(api.analyze, sessions)]
    return out


def simulated_results() -> list[tuple[str, object]]:
    """Kinds the real folder lacks: no workload, acceleration, three days in hours."""
    from dataclasses import replace

    import numpy as np

    from dosewatch.analysis import analyze_session
    from dosewatch.session import build_session
    from dosewatch.simulate import random_person, simulate
    from dosewatch.simulate.freeliving import Event, simulate_days

    person = random_person(np.random.default_rng(7), id="P01")
    ramp = simulate("steady_then_ramp", person, acc_fs=25.0, seed=11).session
    walk = simulate("walk_then_run", person, acc_fs=25.0, seed=2).session
    bare = {"speed": None, "cadence": None, "power": None, "altitude": None, "grade": None}
    plan = {0: (Event("run", 7.5, 40),), 1: (Event("walk", 12.5, 25),),
            2: (Event("off", 0.0, 7 * 60), Event("run", 8.0, 33))}
    truth, days = simulate_days(plan, 3, 11, datetime(2026, 3, 7, tzinfo=UTC), acc_fs=25.0)
    parts = list(days)
    hr = (np.concatenate([d.hr[0] for d in parts]), np.concatenate([d.hr[1] for d in parts]))
    long = build_session("days", hr=hr, source="days", format="simulated")
    sessions = [replace(ramp, acc=None, **bare), replace(walk, hr=None, **bare),
                replace(ramp, **bare), ramp, long]
    return [(kind_of(r), r) for r in map(analyze_session, sessions)]


def kind_of(result) -> str:
    """What the picture shows: its panels, twins and time unit."""
    from dosewatch.plot import panels_for

    values = result.features.values
    grade = values.get("grade")
    parts = ["+".join(p.name[:3] for p in panels_for(result)),
             "hr" if result.info.has_hr else "no-hr",
             "acc" if result.info.has_acc else "no-acc"]
    if grade is not None and (abs(grade[grade == grade]) > 0.001).any():
        parts.append("grade")
    if result.duration_s > 3 * 3600:
        parts.append("hours")
    return " ".join(parts)


def new_figure(result, path: Path) -> None:
    """A new figure for the picture, saved as ``plot_session`` saves a PNG."""
    from dosewatch.plot import draw_session

    draw_session(result).savefig(path, format="png", dpi=110,
                                 pil_kwargs={"compress_level": 3})


def time_pictures(results, draw, folder: Path, repeat: int) -> dict[str, list[tuple]]:
    """``(cpu_ms, wall_ms)`` of each picture by kind, drawn in order ``repeat`` times
    after one pass that is not counted (imports, fonts, the first figures)."""
    times: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for rep in range(repeat + 1):
        for i, (kind, result) in enumerate(results):
            cpu, wall = time.process_time(), time.perf_counter()
            draw(result, folder / f"{i}.png")
            if rep:
                times[kind].append(((time.process_time() - cpu) * 1000,
                                    (time.perf_counter() - wall) * 1000))
    return times


def summary(times: list[tuple[float, float]]) -> str:
    cpu = [c for c, _ in times]
    wall = [w for _, w in times]
    return (f"cpu {statistics.median(cpu):6.1f} med {statistics.fmean(cpu):6.1f} mean "
            f"{max(cpu):6.1f} max | wall {statistics.median(wall):6.1f} med "
            f"{statistics.fmean(wall):6.1f} mean")


def report(name: str, times: dict[str, list[tuple]]) -> None:
    print(f"\n{name} (ms per picture)")
    for kind in sorted(times):
        print(f"  {kind:38s} n={len(times[kind]):4d}  {summary(times[kind])}")
    every = [t for kind in times for t in times[kind]]
    print(f"  {'all':38s} n={len(every):4d}  {summary(every)}")


def run_batch(real: Path, pictures: bool, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``dosewatch analyze`` over ``runs`` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        out = Path(tempfile.mkdtemp(prefix="bench-pictures-"))
        try:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "dosewatch", "analyze", str(real), "--out",
                            str(out), "--force", "--quiet",
                            *([] if pictures else ["--no-pictures"])],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           cwd=HERE.parent)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--repeat", type=int, default=2, help="timed passes over all")
    parser.add_argument("--batch", action="store_true", help="time dosewatch analyze too")
    parser.add_argument("--runs", type=int, default=3, help="batch runs (median)")
    parser.add_argument("--no-simulated", action="store_true")
    args = parser.parse_args()

    import dosewatch
    from dosewatch.plot import plot_session

    print(f"dosewatch from {Path(dosewatch.__file__).parent}")
    results = real_results(args.real)
    print(f"{len(results)} real sessions from {args.real}")
    if not args.no_simulated:
        results += simulated_results()
    folder = Path(tempfile.mkdtemp(prefix="bench-pictures-"))
    try:
        report("plot_session", time_pictures(results, plot_session, folder, args.repeat))
        report("new figure", time_pictures(results, new_figure, folder, args.repeat))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.batch:
        print(f"\ndosewatch analyze {args.real} (median of {args.runs}, "
              f"{os.cpu_count()} cores)")
        wall_p, cpu_p = run_batch(args.real, True, args.runs)
        wall_n, cpu_n = run_batch(args.real, False, args.runs)
        print(f"  with pictures    wall {wall_p:6.2f} s  cpu {cpu_p:6.2f} s")
        print(f"  --no-pictures    wall {wall_n:6.2f} s  cpu {cpu_n:6.2f} s")
        print(f"  pictures' share  cpu {cpu_p - cpu_n:6.2f} s = "
              f"{(cpu_p - cpu_n) / cpu_p:.0%} of the batch's CPU, "
              f"wall {wall_p - wall_n:+.2f} s")


if __name__ == "__main__":
    main()
