"""Benchmark: the study report of 200 simulated sessions from 10 participants over 8 weeks.

Simulates the study (chest strap heart rate and 25 Hz chest acceleration, Parquet session
folders under ``<participant>/<start>/``), analyses it with the real command as a separate
process, then writes the study report with the real command and reports:

- the analysis wall time (``dosewatch analyze INPUTS --out RESULTS --workers N``, with the
  session pictures unless ``--no-pictures``);
- the report wall time (``dosewatch report RESULTS``, a fresh process: start-up, reading
  sessions.csv and 200 summary.json, the adherence tables, the HTML) and, separately, the
  time of :func:`dosewatch.report.write_report` inside this process;
- the size of ``report.html``.

The acceptance targets (issue 6) are a report in under 30 s that weighs under 5 MB; the
script exits with status 1 when either is missed.

    python scripts/bench_report.py [--sessions 200] [--participants 10] [--weeks 8]
        [--workers 2] [--no-pictures] [--classifier NAME] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dosewatch.report import write_report
from dosewatch.simulate import random_study_plan, simulate_study

TARGET_S, TARGET_MB = 30.0, 5.0


def run(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dosewatch", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-pictures", action="store_true")
    parser.add_argument("--classifier", help="classifier for analyze (default: its default)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--workdir", help="folder to work in (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="dosewatch-bench-report-"))
    inputs, results = work / "inputs", work / "results"
    try:
        plan = random_study_plan(args.participants, args.weeks, args.sessions, seed=args.seed)
        start = time.perf_counter()
        if not inputs.is_dir():
            simulate_study(inputs, plan, seed=args.seed)
        simulate_s = time.perf_counter() - start

        analyze = ["analyze", str(inputs), "--out", str(results), "--workers",
                   str(args.workers), "--quiet"]
        if args.no_pictures:
            analyze.append("--no-pictures")
        if args.classifier:
            analyze += ["--classifier", args.classifier]
        analyze_s = run(*analyze)
        report_s = run("report", str(results))
        start = time.perf_counter()
        page = write_report(results, results / "report-in-process.html")
        in_process_s = time.perf_counter() - start
        size_mb = (results / "report.html").stat().st_size / 1e6

        pictures = "without pictures" if args.no_pictures else "with pictures"
        lines = [
            ("simulate (Parquet session folders)", f"{simulate_s:7.1f} s"),
            (f"dosewatch analyze, {args.workers} workers, {pictures}", f"{analyze_s:7.1f} s"),
            ("dosewatch report (a fresh process)",
             f"{report_s:7.1f} s   target < {TARGET_S:g} s"),
            ("write_report() inside this process", f"{in_process_s:7.2f} s"),
            ("size of report.html", f"{size_mb:7.2f} MB  target < {TARGET_MB:g} MB"),
        ]
        width = max(len(name) for name, _ in lines)
        print(f"{len(plan)} sessions, {args.participants} participants, {args.weeks} weeks")
        for name, value in lines:
            print(f"{name:<{width}}  {value}")
        print(f"report: {results / 'report.html'}  (and {page.name}, written in process)")
        return 0 if report_s < TARGET_S and size_mb < TARGET_MB else 1
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
