"""Benchmark and acceptance check: a simulated 7-day free-living recording, end to end
through ``dosewatch analyze``.

A simulated person wears a wrist band for a week (``dosewatch.simulate.freeliving``,
``WEEK_PLAN``): 100 Hz triaxial acceleration (60.5 million rows) and 1 Hz heart rate,
written in the Parquet interchange layout day by day (bounded memory), with Unix times
from Wednesday 2026-03-04 00:00 UTC, so the week spans two ISO weeks. The days hold sleep,
sitting and errands on foot, four runs that meet the 30-minute dose, one that falls short,
a 25-minute brisk walk, two evenings on the charger, a shower and a night without the band
(flat acceleration, no heart rate). Then the real commands run as separate processes:

    dosewatch analyze WEEK --out OUT --quiet      (timed: wall, CPU, peak memory)
    dosewatch report OUT                          (the adherence tables)

and one more child reads the week and times the free-living step alone (non-wear and
the sessions found: :func:`dosewatch.freeliving.split_free_living`). The script reports
the sessions found against the true ones (minutes off at each end), the non-wear found
against the true, each session's dose against the truth, and the adherence table's dose
sessions per ISO week against the truth.

    python scripts/bench_week.py [--days 7] [--workdir DIR] [--keep] [--no-calibration]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 3, 4, tzinfo=UTC)  # a Wednesday


def write_week(path: Path, days: int, seed: int) -> dict[str, object]:
    """Write the week day by day; return its truth (sessions, non-wear) and row counts."""
    from dosewatch.ingest import ParquetSessionWriter
    from dosewatch.session import Profile
    from dosewatch.simulate.freeliving import WEEK_PLAN, simulate_days

    plan = {day: WEEK_PLAN[day % 7] for day in range(days)}
    truth, chunks = simulate_days(plan, days, seed, START, acc_fs=100.0)
    person = truth.person
    profile = Profile(id="week", age=person.age, hr_rest=person.hr_rest,
                      hr_max=person.hr_max, placement="wrist")
    with ParquetSessionWriter(path, profile=profile, overwrite=True) as writer:
        for day in chunks:
            writer.append(hr=day.hr, acc=day.acc)
            print(f"  day {day.index + 1}/{days} written", file=sys.stderr)
        rows = writer.rows
    return {"rows": rows,
            "sessions": [{"kind": s.kind, "start_s": s.start_s, "end_s": s.end_s,
                          "dose_met": s.dose_met} for s in truth.sessions],
            "nonwear": [list(span) for span in truth.nonwear]}


def time_split(week: Path) -> dict[str, float]:
    """In this process: read the week, then the free-living step alone (CPU and wall)."""
    from dosewatch.config import Config
    from dosewatch.freeliving import split_free_living
    from dosewatch.ingest.registry import read_all

    cpu, wall = time.process_time(), time.perf_counter()
    sessions = read_all(week)
    read_cpu, read_wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu, wall = time.process_time(), time.perf_counter()
    found, _ = split_free_living(sessions, Config())
    return {"read_cpu_s": round(read_cpu, 3), "read_wall_s": round(read_wall, 3),
            "split_cpu_s": round(time.process_time() - cpu, 3),
            "split_wall_s": round(time.perf_counter() - wall, 3), "sessions": len(found)}


def compile_package() -> None:
    """Write the package's bytecode before timing, as ``pip install`` does: a shell with
    ``PYTHONDONTWRITEBYTECODE`` set (this machine's) would otherwise compile ~150 modules
    from source in every timed run (0.1-0.2 s), a cost no installed copy pays."""
    import compileall
    import re

    import dosewatch

    compileall.compile_dir(Path(dosewatch.__file__).parent, quiet=1,
                           rx=re.compile(r"[/\\](\.venv|\.git|tests|build)[/\\]"))


def timed(command: list[str]) -> tuple[float, float, float, float,
                                        subprocess.CompletedProcess]:
    """Run ``command`` as a child: its wall time, its CPU time (user + system, with the
    processes it started and waited for), its peak resident memory (GB, from ``wait4``),
    the peak of the memory of it and its own children together (GB, sampled every 20 ms,
    see :class:`_TreeMemory`: the picture drawer is a second, forked process), and its
    output."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
        tree = _TreeMemory(child.pid)
        tree.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        tree.stop = True
        tree.join()
        stdout.seek(0)
        stderr.seek(0)
        done = subprocess.CompletedProcess(command, os.waitstatus_to_exitcode(status),
                                           stdout.read(), stderr.read())
    return (wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024**2,
            tree.peak / 1024**3, done)


class _TreeMemory(threading.Thread):
    """Samples the memory of a process and its children together, keeping the peak: the
    process's resident size (``statm``: reading it costs the process nothing) plus what
    each child holds of its own (``Private_*`` in ``/proc/PID/smaps_rollup``), so that
    the pages a forked child shares with its parent count once. (Reading the process's
    own ``smaps_rollup`` as it fills 1.2 GB of fresh memory slowed it by 0.3 s.)"""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self.stop:
            try:
                total = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * page
            except (OSError, ValueError, IndexError):
                total = 0
            for pid in self._children():
                try:
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                        if line.startswith("Private_"):
                            total += int(line.split()[1]) * 1024
                except (OSError, ValueError, IndexError):
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.02)

    def _children(self) -> list[int]:
        try:
            return [int(c) for task in Path(f"/proc/{self.pid}/task").iterdir()
                    for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            return []


def _table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _iso_week(when: datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def compare(truth: dict, out: Path, name: str) -> dict[str, object]:
    """The sessions, non-wear and adherence found against the truth."""
    record = json.loads((out / "recordings" / f"{name}.json").read_text())
    recording = record["recordings"][0]
    rows = {r["session"]: r for r in _table(out / "sessions.csv")}
    found = recording["sessions"]
    sessions = []
    unmatched = list(truth["sessions"])
    for f in found:
        ex = f["exercise"]
        best = min(unmatched, key=lambda t: abs(t["start_s"] - ex["start_s"]), default=None)
        entry = {"session": f["session"], "start": ex["start_time"], "end": ex["end_time"],
                 "dose_met": rows[f["session"]]["dose_met"] == "True",
                 "class": rows[f["session"]]["session_class"]}
        if best is not None and abs(best["start_s"] - ex["start_s"]) <= 30 * 60:
            unmatched.remove(best)
            entry.update(true=best["kind"], true_dose_met=best["dose_met"],
                         start_off_min=round((ex["start_s"] - best["start_s"]) / 60, 1),
                         end_off_min=round((ex["end_s"] - best["end_s"]) / 60, 1))
        sessions.append(entry)
    nonwear = [{"true_min": [round(a / 60), round(b / 60)],
                "found_min": [[round(n["start_s"] / 60), round(n["end_s"] / 60)]
                              for n in recording["nonwear"]
                              if n["start_s"] < b and n["end_s"] > a]}
               for a, b in truth["nonwear"]]
    true_weeks: dict[str, list[int]] = {}
    for t in truth["sessions"]:
        week = _iso_week(START + timedelta(seconds=t["start_s"]))
        counts = true_weeks.setdefault(week, [0, 0])
        counts[0] += 1
        counts[1] += int(t["dose_met"])
    weeks = {w["week"]: [int(w["sessions"]), int(w["dose_sessions"]), w["week_met"]]
             for w in _table(out / "adherence.csv")}
    return {
        "sessions_true": len(truth["sessions"]),
        "sessions_found": len(found),
        "sessions": sessions,
        "missed": unmatched,
        "nonwear": nonwear,
        "nonwear_found_minutes": recording["nonwear_minutes"],
        "weeks_true (sessions, dose sessions)": true_weeks,
        "weeks_found (sessions, dose sessions, week met)": weeks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the generated week")
    parser.add_argument("--no-calibration", action="store_true",
                        help="analyse without learning the participant's calibration")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--time-split", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_split:
        print(json.dumps(time_split(args.time_split)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dosewatch-bench-"))
    week, out = workdir / "week", workdir / "out"
    if args.generate_only:
        truth = write_week(week, args.days, args.seed)
        (workdir / "truth.json").write_text(json.dumps(truth))
        return 0
    try:
        if not (workdir / "truth.json").is_file() or not week.is_dir():
            print(f"writing a {args.days}-day recording to {week} (not timed) ...",
                  file=sys.stderr)
            # In a child of its own, so this process stays small and the analyser's peak
            # memory is not inflated by pages inherited from the generator.
            subprocess.run([sys.executable, __file__, "--generate-only", "--days",
                            str(args.days), "--seed", str(args.seed), "--workdir",
                            str(workdir)], check=True)
        truth = json.loads((workdir / "truth.json").read_text())
        size_mb = sum(p.stat().st_size for p in week.iterdir()) / 1e6
        shutil.rmtree(out, ignore_errors=True)
        exe = str(Path(sys.executable).with_name("dosewatch"))
        command = [exe, "analyze", str(week), "--out", str(out), "--quiet"]
        if args.no_calibration:
            command.append("--no-calibration")
        compile_package()
        wall, cpu, peak_gb, tree_gb, done = timed(command)
        if done.returncode != 0:
            print(done.stdout, done.stderr, file=sys.stderr)
            return 1
        subprocess.run([exe, "report", str(out)], check=True, capture_output=True)
        split = json.loads(subprocess.run(
            [sys.executable, __file__, "--time-split", str(week)], check=True,
            capture_output=True, text=True,
            # as the command line runs (dosewatch.cli): no huge-page compaction stalls
            env={"NUMPY_MADVISE_HUGEPAGE": "0", **os.environ}).stdout)
        rows = truth["rows"]
        report = {
            "days": args.days,
            "acc_rows": rows["acc"],
            "hr_rows": rows["hr"],
            "parquet_mb": round(size_mb, 1),
            "analyze_wall_s": round(wall, 2),
            "analyze_cpu_s": round(cpu, 2),
            "peak_rss_gb": round(peak_gb, 2),
            "peak_rss_with_children_gb": round(tree_gb, 2),
            "samples_per_s": round((rows["acc"] + rows["hr"]) / wall),
            "free_living_step": split,
            **compare(truth, out, "week"),
        }
        print(json.dumps(report, indent=2))
        return 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
