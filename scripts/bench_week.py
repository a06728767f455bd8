"""Benchmark: one simulated 7-day free-living recording, end to end through
``dosewatch analyze``.

A simulated person wears a wrist band for a week: 100 Hz triaxial acceleration (60.5
million rows) and 1 Hz heart rate, written in the Parquet interchange layout day by day
(bounded memory). The days hold sleep, sitting, short walks, and on some days a run: four
runs meet the 30-minute dose, one falls short. Then the real command runs as a separate
process:

    dosewatch analyze WEEK --out OUT --quiet

and the script reports its wall time, its peak memory (the child's maximum resident set
size), samples per second, and whether the bouts inside the week were found.

    python scripts/bench_week.py [--days 7] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dosewatch.config import Config
from dosewatch.ingest import ParquetSessionWriter
from dosewatch.session import Profile
from dosewatch.simulate import (
    Segment,
    build_workload,
    cadence_spm,
    epoch_means,
    random_person,
    synth_acceleration,
    synth_heart_rate,
)
from dosewatch.spec.bouts import find_bouts
from dosewatch.spec.labels import label_epochs

DAY_S = 86_400
RUN_MINUTES = {0: 40, 2: 35, 4: 45, 5: 33, 6: 24}  # day -> minutes of intermediate running


def day_segments(day: int, rng: np.random.Generator) -> list[Segment]:
    """One free-living day: sleep, sitting, walks, and perhaps an intermediate run."""
    segs = [Segment(7 * 3600, 2.0, mode="rest")]  # night
    used = 7 * 3600
    for _ in range(4):  # mornings and afternoons: sitting, then a walk
        sit = int(rng.integers(60, 120)) * 60
        walk = int(rng.integers(8, 20)) * 60
        segs += [Segment(sit, 6.0, mode="rest"), Segment(walk, 28.0, mode="walk")]
        used += sit + walk
    if day in RUN_MINUTES:
        segs += [Segment(5 * 60, 5.0, mode="rest"), Segment(RUN_MINUTES[day] * 60, 50.0, mode="run"),
                 Segment(10 * 60, 25.0, mode="walk")]
        used += (15 + RUN_MINUTES[day]) * 60
    segs.append(Segment(DAY_S - used, 4.0, mode="rest"))  # evening and late night
    return segs


def write_week(path: Path, days: int, seed: int) -> tuple[np.ndarray, dict[str, int]]:
    rng = np.random.default_rng(seed)
    person = random_person(rng, id="week")
    profile = Profile(id="week", age=person.age, hr_rest=person.hr_rest, hr_max=person.hr_max,
                      placement="wrist")
    intensity_days = []
    acc_clock = 0.0
    with ParquetSessionWriter(path, profile=profile, overwrite=True) as writer:
        for day in range(days):
            work = build_workload(day_segments(day, rng), person)
            cad = cadence_spm(work.gait, work.speed_mps, person)
            t_hr, bpm, _ = synth_heart_rate(work.intensity, cad, person, "wrist", rng)
            t_acc, xyz = synth_acceleration(work.gait, work.speed_mps, person, "wrist", 100.0, rng)
            # Each sensor keeps its own clock across midnight: the band's runs a few ppm
            # fast, so its day continues from where the last one ended rather than at a
            # fixed offset (which would make time run backwards at the seams).
            writer.append(hr=(t_hr + day * DAY_S, bpm), acc=(t_acc + acc_clock, xyz))
            acc_clock += float(t_acc[-1]) + (t_acc[-1] - t_acc[0]) / (t_acc.size - 1)
            intensity_days.append(work.intensity)
            del t_acc, xyz
            print(f"  day {day + 1}/{days} written", file=sys.stderr)
        rows = writer.rows
    return np.concatenate(intensity_days), rows


def analyse(week: Path, out: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``dosewatch analyze`` as a child; its wall time and its own peak RSS (GB)."""
    exe = Path(sys.executable).with_name("dosewatch")
    command = [str(exe), "analyze", str(week), "--out", str(out), "--quiet"]
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
        # Reap it ourselves: wait4 returns this child's own rusage (ru_maxrss in KiB).
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        done = subprocess.CompletedProcess(command, child.returncode, stdout.read(), stderr.read())
    return wall, usage.ru_maxrss / 1024**2, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the generated week")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dosewatch-bench-"))
    week, out = workdir / "week", workdir / "out"
    if args.generate_only:
        intensity, rows = write_week(week, args.days, args.seed)
        np.save(workdir / "intensity.npy", intensity)
        (workdir / "rows.json").write_text(json.dumps(rows))
        return 0
    try:
        print(f"writing a {args.days}-day recording to {week} (not timed) ...", file=sys.stderr)
        # In a child of its own, so this process stays small and the analyser's peak memory
        # is not inflated by pages inherited from the generator.
        subprocess.run([sys.executable, __file__, "--generate-only", "--days", str(args.days),
                        "--seed", str(args.seed), "--workdir", str(workdir)], check=True)
        intensity = np.load(workdir / "intensity.npy")
        rows = json.loads((workdir / "rows.json").read_text())
        size_mb = sum(p.stat().st_size for p in week.iterdir()) / 1e6
        wall, peak_gb, done = analyse(week, out)
        if done.returncode != 0:
            print(done.stdout, done.stderr, file=sys.stderr)
            return 1
        summary = json.loads((out / "week" / "summary.json").read_text())
        config = Config()
        truth_i = epoch_means(intensity, config.epochs.epoch_s)
        truth_bouts = find_bouts(truth_i, label_epochs(truth_i, config), config)
        n_samples = rows["acc"] + rows["hr"]
        report = {
            "days": args.days,
            "acc_rows": rows["acc"],
            "hr_rows": rows["hr"],
            "parquet_mb": round(size_mb, 1),
            "wall_s": round(wall, 2),
            "peak_rss_gb": round(peak_gb, 2),
            "samples_per_s": round(n_samples / wall),
            "dose_bouts_true": [round(b.qualifying_minutes) for b in truth_bouts if b.dose_met],
            "dose_bouts_found": [round(b["qualifying_minutes"]) for b in summary["bouts"]
                                 if b["dose_met"]],
            "bouts_true": len(truth_bouts),
            "bouts_found": len(summary["bouts"]),
        }
        print(json.dumps(report, indent=2))
        return 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
