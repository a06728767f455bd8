"""Benchmark: reading a large Apple Health export, streamed.

Writes an ``export.xml`` in Apple's layout (the DTD, ``Me``, then years of records: heart
rate every 5 minutes all day and every 5 s in workouts, walking distance every minute, and
one 45-minute run every other day), zips it as the Health app does, and reads it in a child
process with ``dosewatch.ingest.read_sessions``. Reports the file sizes, the wall time, the
child's peak memory (maximum resident set size) and the sessions found.

    python scripts/bench_apple_health.py [--years 2] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

DTD = """<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Workout)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT Record ((MetadataEntry)*)>
<!ATTLIST Record type CDATA #REQUIRED unit CDATA #IMPLIED value CDATA #IMPLIED
  sourceName CDATA #REQUIRED startDate CDATA #REQUIRED endDate CDATA #REQUIRED>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute)*)>
]>
"""
HR = ('<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" '
      'creationDate="{d}" startDate="{d}" endDate="{d}" value="{v}"><MetadataEntry '
      'key="HKMetadataKeyHeartRateMotionContext" value="0"/></Record>\n')
DIST = ('<Record type="HKQuantityTypeIdentifierDistanceWalkingRunning" sourceName="Watch" '
        'unit="km" startDate="{d}" endDate="{e}" value="{v}"/>\n')
RUN = ('<Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="45" '
       'durationUnit="min" sourceName="Watch" startDate="{d}" endDate="{e}"/>\n')


def fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S +0000")


def write_export(path: Path, years: float) -> dict[str, int]:
    start = datetime(2022, 1, 1, tzinfo=UTC)
    days = int(365 * years)
    counts = {"hr": 0, "distance": 0, "workouts": 0}
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n' + DTD)
        out.write('<HealthData locale="en_US">\n<ExportDate value="2024-01-01 00:00:00 +0000"/>'
                  '\n<Me HKCharacteristicTypeIdentifierDateOfBirth="1985-03-02" '
                  'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexMale"/>\n')
        workouts = []
        for day in range(days):
            base = start + timedelta(days=day)
            run = base + timedelta(hours=7) if day % 2 == 0 else None
            chunk = []
            for minute in range(0, 24 * 60, 5):
                t = base + timedelta(minutes=minute)
                if run is None or not (run <= t < run + timedelta(minutes=45)):
                    chunk.append(HR.format(d=fmt(t), v=60 + minute % 20))
            for minute in range(0, 24 * 60, 1):
                t = base + timedelta(minutes=minute)
                chunk.append(DIST.format(d=fmt(t), e=fmt(t + timedelta(seconds=50)), v="0.01"))
            if run is not None:
                for s in range(0, 45 * 60, 5):
                    chunk.append(HR.format(d=fmt(run + timedelta(seconds=s)), v=130 + s % 30))
                workouts.append(RUN.format(d=fmt(run), e=fmt(run + timedelta(minutes=45))))
            counts["hr"] += sum(1 for line in chunk if "HeartRate" in line)
            counts["distance"] += sum(1 for line in chunk if "Distance" in line)
            out.write("".join(chunk))
        out.write("".join(workouts))
        counts["workouts"] = len(workouts)
        out.write("</HealthData>\n")
    return counts


CHILD = """
import json, sys, time
from dosewatch.ingest import read_sessions
t = time.perf_counter()
sessions = read_sessions(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "sessions": len(sessions),
                  "hr_samples": int(sum(s.hr.bpm.size for s in sessions))}))
"""


def measure(path: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                          text=True, check=True)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(wall_s=round(wall, 1), peak_rss_mb=round(max(peak, before) / 1024))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="dosewatch-health-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        xml = work / "export.xml"
        counts = write_export(xml, args.years)
        archive = work / "export.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(xml, "apple_health_export/export.xml")
        print(f"export.xml: {xml.stat().st_size / 2**20:.0f} MiB ({counts['hr']} heart-rate, "
              f"{counts['distance']} distance records, {counts['workouts']} workouts); "
              f"export.zip: {archive.stat().st_size / 2**20:.0f} MiB")
        for path in (xml, archive):
            print(f"{path.name}: {measure(path)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
