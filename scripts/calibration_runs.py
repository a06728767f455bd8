"""Does a calibration learned over several runs equal the one learned from all inputs at
once?

The inputs the given paths hold (found as ``dosewatch analyze`` finds them) are split into
``--runs`` parts in path order (as a study adds a participant's weeks one at a time), or
with ``--alternate`` input by input in turn (in path order: the first to run 1, the second
to run 2, ...: every participant with more sessions than runs is in every run, as when a
study adds a week of all its participants at a time). Two ways of running the
parts one after the other are measured against all of them analysed at once:

- *same output folder*: each part into one output folder (its calibration folder the
  default, ``OUT/calibration``);
- *separate output folders, one calibration folder*: each part into an output folder of
  its own, all with one ``calibration_dir`` (``--calibration DIR``).

The script prints, per participant and way, whether the calibration file is the same to
the byte as the one of all at once, and the time of each run. Diagnosis only: it changes
nothing outside ``--work``.

    python scripts/calibration_runs.py INPUT... --work DIR [--runs 2] [--alternate]
        [--workers 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from dosewatch.batch import run_batch
from dosewatch.ingest.discover import Inventory, discover


def _runs(parts: list[list[Path]], roots: list[Path], outs: list[Path],
          calibration: Path | None, options: dict) -> None:
    """Analyse each part into its output folder in turn."""
    for k, (part, out) in enumerate(zip(parts, outs, strict=True)):
        started = time.perf_counter()
        report = run_batch(Inventory(inputs=part, roots=roots), out,
                           calibration_dir=calibration, **options)
        print(f"  run {k + 1}: {len(part)} inputs, {len(report.rows)} sessions in the table, "
              f"{len(report.elsewhere)} from earlier runs in its folder "
              f"({sum(bool(e['counted']) for e in report.elsewhere)} counted), "
              f"{sum(bool(e['counted']) for e in report.pooled)} from other folders counted, "
              f"{len(report.earlier_copies)} copies of earlier sessions, "
              f"{time.perf_counter() - started:.1f} s")


def _compare(folder: Path, whole: Path) -> tuple[int, int]:
    """How many participants' calibration files in ``folder`` are the same to the byte as
    in ``whole``, of how many in either."""
    names = sorted({p.name for p in folder.glob("*.toml")} | {p.name for p in whole.glob("*.toml")})
    same = 0
    for name in names:
        a, b = folder / name, whole / name
        equal = a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()
        same += equal
        print(f"    {name}: {'same' if equal else 'DIFFERENT'}")
    return same, len(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--work", type=Path, required=True,
                        help="a folder for the output folders (emptied first)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--alternate", action="store_true",
                        help="give the inputs to the runs in turn, not in blocks")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    inventory = discover(args.inputs)
    inputs = sorted(inventory.inputs, key=str)
    roots = list(inventory.roots)
    if args.work.exists():
        shutil.rmtree(args.work)
    options = {"classifier": None, "pictures": False, "progress": False,
               "workers": args.workers}
    size = -(-len(inputs) // args.runs)
    parts = ([inputs[k::args.runs] for k in range(args.runs)] if args.alternate
             else [inputs[k * size:(k + 1) * size] for k in range(args.runs)])

    started = time.perf_counter()
    whole = args.work / "whole"
    report = run_batch(Inventory(inputs=inputs, roots=roots), whole, **options)
    print(f"all at once: {len(inputs)} inputs, {len(report.rows)} sessions, "
          f"{time.perf_counter() - started:.1f} s")
    print("same output folder:")
    same_out = args.work / "same"
    _runs(parts, roots, [same_out] * len(parts), None, options)
    same = _compare(same_out / "calibration", whole / "calibration")
    print("separate output folders, one calibration folder:")
    shared = args.work / "calibration"
    _runs(parts, roots, [args.work / f"part-{k + 1}" for k in range(len(parts))], shared,
          options)
    separate = _compare(shared, whole / "calibration")
    for what, (n, of) in (("same output folder", same),
                          ("separate output folders, one calibration folder", separate)):
        print(f"{what}: {n} of {of} participants' calibration files the same to the byte")
    return 0 if same[0] == same[1] and separate[0] == separate[1] else 1


if __name__ == "__main__":
    sys.exit(main())
