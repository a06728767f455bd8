"""Does a calibration learned over several runs into one output folder equal the one
learned from all inputs at once?

The inputs the given paths hold (found as ``dosewatch analyze`` finds them) are split into
``--runs`` parts in path order (as a study adds a week at a time); each part is analysed
into the same output folder in turn, and all of them at once into another. The script
prints, per participant, whether the two calibration files are the same to the byte, and
the time of each run. Diagnosis only: it changes nothing.

    python scripts/calibration_runs.py INPUT... --work DIR [--runs 2] [--workers 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from dosewatch.batch import run_batch
from dosewatch.ingest.discover import Inventory, discover


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--work", type=Path, required=True,
                        help="an empty folder for the two output folders")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    inventory = discover(args.inputs)
    inputs = sorted(inventory.inputs, key=str)
    if args.work.exists():
        shutil.rmtree(args.work)
    split, whole = args.work / "split", args.work / "whole"
    options = {"classifier": None, "pictures": False, "progress": False,
               "workers": args.workers}
    size = -(-len(inputs) // args.runs)
    for k in range(args.runs):
        part = inputs[k * size:(k + 1) * size]
        started = time.perf_counter()
        report = run_batch(Inventory(inputs=part, roots=inventory.roots), split, **options)
        print(f"run {k + 1}: {len(part)} inputs, {len(report.rows)} sessions in the table, "
              f"{len(report.elsewhere)} from earlier runs "
              f"({sum(bool(e['counted']) for e in report.elsewhere)} counted), "
              f"{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    report = run_batch(Inventory(inputs=inputs, roots=inventory.roots), whole, **options)
    print(f"all at once: {len(inputs)} inputs, {len(report.rows)} sessions, "
          f"{time.perf_counter() - started:.1f} s")
    names = sorted({p.name for p in (split / "calibration").glob("*.toml")}
                   | {p.name for p in (whole / "calibration").glob("*.toml")})
    same = 0
    for name in names:
        a, b = split / "calibration" / name, whole / "calibration" / name
        equal = a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()
        same += equal
        print(f"  {name}: {'same' if equal else 'DIFFERENT'}")
    print(f"{same} of {len(names)} participants' calibration files the same to the byte")
    return 0 if same == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
