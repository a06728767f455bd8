"""What ``dosewatch analyze`` makes of every file in a folder of real data: the accounting
the export readers are judged by (issue 12: every file analysed, failed with a reason, or
skipped with a reason).

    python scripts/real_data_outcomes.py [ROOT] [--out docs/real-data-outcomes.md]

ROOT defaults to ``shared/data/real`` next to the repository. The batch runs in a temporary
folder with the rule classifier and no pictures (the verdicts are not the point here);
the table lists per file how it was read (format, sessions) or why not, then the counts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from dosewatch.batch import run_batch
from dosewatch.ingest.discover import discover
from dosewatch.ingest.registry import reader_for

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    started = time.perf_counter()
    inventory = discover([root])
    with tempfile.TemporaryDirectory(prefix="dosewatch-outcomes-") as tmp:
        report = run_batch(inventory, Path(tmp), classifier="rules", pictures=False,
                           progress=False, workers=args.workers)
    seconds = time.perf_counter() - started
    sessions: dict[Path, list[str]] = {}
    for row in report.rows:
        source = Path(row.source.split("!", 1)[0])
        sessions.setdefault(source, []).append(row.session)
    lines = ["| file | outcome | how / why |", "|---|---|---|"]
    counts: Counter[str] = Counter()
    formats: Counter[str] = Counter()
    for path in inventory.inputs:
        reader = reader_for(path)
        kind = reader.name if reader else "?"
        names = sessions.get(path, [])
        failure = next((f for f in report.failures if Path(f["input"]) == path), None)
        rel = path.relative_to(root)
        if failure is not None:
            counts["failed"] += 1
            lines.append(f"| `{rel}` | failed | {failure['reason']} — {failure['hint']} |")
        else:
            counts["analysed"] += 1
            formats[kind] += 1
            lines.append(f"| `{rel}` | analysed ({kind}) | {len(names)} session"
                         f"{'s' if len(names) != 1 else ''} |")
    for entry in report.unsupported:
        counts["skipped"] += 1
        rel = Path(entry["input"]).relative_to(root)
        lines.append(f"| `{rel}` | skipped | {entry['reason']} — {entry['hint']} |")
    for entry in report.failures:
        if Path(entry["input"]) not in inventory.inputs:
            counts["failed"] += 1
            lines.append(f"| `{entry['input']}` | failed | {entry['reason']} |")
    summary = (f"{counts['analysed']} inputs analysed ({len(report.rows)} sessions; "
               + ", ".join(f"{k} {v}" for k, v in sorted(formats.items()))
               + f"), {counts['failed']} failed, {counts['skipped']} skipped; "
               f"{seconds:.1f} s with {args.workers} workers")
    text = "\n".join(lines) + "\n\n" + summary + "\n"
    print(text)
    if args.out:
        args.out.write_text(f"# Outcomes of `dosewatch analyze` on `{root.name}`\n\n" + text,
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
