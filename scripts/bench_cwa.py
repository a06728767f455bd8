"""Benchmark: a 7-day, 100 Hz Axivity ``.cwa`` file from file to verdicts, side by side
with actipy reading the same file.

A simulated person wears an AX3 on the wrist for a week (the free-living week of
``scripts/bench_week.py``: sleep, sitting, errands, runs on five days, non-wear). The
acceleration is written as a real CWA file by
:class:`dosewatch.ingest.formats.cwa.CwaWriter` (packed 10-bit samples with exponent, as
an AX3 records long wear, fractional block timestamps, a device clock 40 ppm fast): about
260 MB. Then, each as a separate process, timed by
this script with ``os.wait4`` (wall time, and the child's own peak resident memory):

1. ``dosewatch analyze FILE --out DIR --quiet`` (read, features, classification, outputs
   and the picture): the acceptance figure, under 5 s and 2 GB on the 2-core machine;
2. ``actipy.read_device(FILE, lowpass_hz=None, calibrate_gravity=False,
   detect_nonwear=False, resample_hz=None)``: actipy's read alone (its Java parser,
   then a pandas DataFrame), run by the Python of ``--actipy-python`` (actipy is not a
   dosewatch dependency: install it into a separate environment, with a JDK on the PATH).

It prints both, the ratio, and where dosewatch's time goes (reading, analysis, outputs:
measured in one more child with ``--stages``). ``dosewatch analyze`` treats the week as a
free-living recording: it finds non-wear and the exercise sessions and analyses each;
``--stages`` times that step (``split_s``) apart from reading and analysis.

    python scripts/bench_cwa.py [--actipy-python /path/to/venv/bin/python]
        [--workdir DIR] [--keep] [--unpacked] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAY_S = 86_400
START_UNIX = 1_717_200_000.0  # 2024-06-01 00:00 UTC
ACTIPY_SNIPPET = """
import sys, actipy
data, info = actipy.read_device(sys.argv[1], lowpass_hz=None, calibrate_gravity=False,
                                detect_nonwear=False, resample_hz=None, verbose=False)
print(len(data), info.get("SampleRate"), info.get("ReadErrors"))
"""


def write_week(path: Path, days: int, seed: int, packed: bool) -> int:
    """Simulate ``days`` days of wrist acceleration at 100 Hz (the free-living week of
    ``scripts/bench_week.py``) and write them as CWA."""
    from datetime import UTC, datetime

    from dosewatch.ingest.formats.cwa import CwaWriter
    from dosewatch.simulate.freeliving import WEEK_PLAN, simulate_days

    plan = {day: WEEK_PLAN[day % 7] for day in range(days)}
    _, chunks = simulate_days(plan, days, seed, datetime.fromtimestamp(START_UNIX, UTC))
    n = 0
    with CwaWriter(path, fs=100.0, start_unix=START_UNIX, packed=packed, drift_ppm=40.0,
                   metadata={"_p": "left wrist", "_sc": "bench"}) as writer:
        for day in chunks:
            xyz = day.acc[1]
            writer.write(xyz)
            n += xyz.shape[0]
            print(f"  day {day.index + 1}/{days} written", file=sys.stderr)
    return n


def compile_package() -> None:
    """Write the package's bytecode before timing, as ``pip install`` does: a shell with
    ``PYTHONDONTWRITEBYTECODE`` set (this machine's) would otherwise compile ~150 modules
    from source in every timed run (0.1-0.2 s), a cost no installed copy pays."""
    import compileall
    import re

    import dosewatch

    compileall.compile_dir(Path(dosewatch.__file__).parent, quiet=1,
                           rx=re.compile(r"[/\\](\.venv|\.git|tests|build)[/\\]"))


def timed(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``command`` as a child: its wall time (s), its own peak RSS (GB), its output."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage (KiB)
        wall = time.perf_counter() - start
        stdout.seek(0)
        stderr.seek(0)
        done = subprocess.CompletedProcess(command, os.waitstatus_to_exitcode(status),
                                           stdout.read(), stderr.read())
    return wall, usage.ru_maxrss / 1024**2, done


def stages(path: Path, out: Path) -> dict[str, float]:
    """Where the time goes, in this process: import, model, read, analysis, outputs."""
    t = time.perf_counter()
    from dosewatch.analysis import analyze_session
    from dosewatch.config import Config
    from dosewatch.freeliving import split_free_living
    from dosewatch.ingest.registry import ReadOptions, read_all
    from dosewatch.models.registry import get_classifier
    from dosewatch.outputs import write_session

    spent = {"import_s": time.perf_counter() - t}
    t = time.perf_counter()
    classifier = get_classifier()
    spent["model_s"] = time.perf_counter() - t
    t = time.perf_counter()
    session = read_all(path, ReadOptions())[0]
    spent["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    sessions, _ = split_free_living([session], Config())
    del session
    spent["split_s"] = time.perf_counter() - t
    t = time.perf_counter()
    results = [analyze_session(s, Config(), classifier) for s in sessions]
    spent["analyse_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for result in results:
        write_session(result, out, result.name, picture=True)
    spent["outputs_s"] = time.perf_counter() - t
    return {k: round(v, 2) for k, v in spent.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--unpacked", action="store_true",
                        help="16-bit samples (80 a block, ~390 MB) instead of packed")
    parser.add_argument("--actipy-python", type=Path,
                        help="a Python with actipy installed (default: this one)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--stages", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stages:
        print(json.dumps(stages(*args.stages)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dosewatch-bench-cwa-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cwa = workdir / "week.cwa"
    try:
        if not cwa.exists():
            print(f"writing a {args.days}-day 100 Hz CWA file to {cwa} (not timed) ...",
                  file=sys.stderr)
            subprocess.run([sys.executable, "-c",
                            ("from bench_cwa import write_week; "
                            f"write_week(__import__('pathlib').Path({str(cwa)!r}), "
                            f"{args.days}, {args.seed}, {not args.unpacked})")],
                           check=True, cwd=Path(__file__).resolve().parent)
        exe = Path(sys.executable).with_name("dosewatch")
        compile_package()
        runs, peaks = [], []
        for k in range(args.repeat):
            out = workdir / f"out{k}"
            shutil.rmtree(out, ignore_errors=True)
            wall, peak, done = timed([str(exe), "analyze", str(cwa), "--out", str(out),
                                      "--quiet"])
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 1
            runs.append(wall)
            peaks.append(peak)
        # A week is a free-living recording: the sessions found, and what the week held.
        record = json.loads((workdir / "out0" / "recordings" / "week.json").read_text())
        recording = record["recordings"][0]
        summaries = [json.loads((workdir / "out0" / name / "summary.json").read_text())
                     for name in record["outputs"]]
        shutil.rmtree(workdir / "stages", ignore_errors=True)
        _, _, staged = timed([sys.executable, __file__, "--stages", str(cwa),
                              str(workdir / "stages")])
        actipy_python = str(args.actipy_python or sys.executable)
        a_runs, a_peaks, a_error = [], [], None
        for _ in range(args.repeat):
            wall, peak, done = timed([actipy_python, "-c", ACTIPY_SNIPPET, str(cwa)])
            if done.returncode != 0:
                a_error = (done.stderr.strip().splitlines() or ["no output"])[-1]
                break
            a_runs.append(wall)
            a_peaks.append(peak)
        report = {
            "file": str(cwa),
            "file_mb": round(cwa.stat().st_size / 1e6, 1),
            "packing": "16-bit" if args.unpacked else "packed 10-bit",
            "dosewatch_analyze_wall_s": [round(w, 2) for w in runs],
            "dosewatch_analyze_wall_median_s": round(statistics.median(runs), 2),
            "dosewatch_analyze_peak_rss_gb": round(max(peaks), 2),
            "dosewatch_stages": json.loads(staged.stdout) if staged.returncode == 0
            else staged.stderr[-300:],
            "start_time": recording["start_time"],
            "duration_s": recording["duration_s"],  # 7 days and 24 s: the clock's 40 ppm
            "repairs": summaries[0]["repairs"] if summaries else [],
            "nonwear_minutes": recording["nonwear_minutes"],
            "sessions_found": [[s["session"], s["exercise"]["start_time"],
                                s["exercise"]["end_time"]] for s in recording["sessions"]],
            "dose_bouts_found": [round(b["qualifying_minutes"]) for summary in summaries
                                 for b in summary["bouts"] if b["dose_met"]],
            "load_average": os.getloadavg(),
        }
        if a_error is None:
            report |= {
                "actipy_read_wall_s": [round(w, 2) for w in a_runs],
                "actipy_read_wall_median_s": round(statistics.median(a_runs), 2),
                "actipy_read_peak_rss_gb": round(max(a_peaks), 2),
                "ratio_actipy_read_over_dosewatch_analyze": round(
                    statistics.median(a_runs) / statistics.median(runs), 2),
            }
        else:
            report["actipy_error"] = a_error
        print(json.dumps(report, indent=2))
        return 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
