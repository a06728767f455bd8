"""``dosewatch report``: the study report of an analysis folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import write_report
from .wear import VALID_DAY_WORN_H


def _hours(text: str) -> float:
    """``--valid-day-hours``: more than 0 and at most 24."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}") from None
    if not 0 < value <= 24:
        raise argparse.ArgumentTypeError(f"{text}: give hours above 0 and at most 24")
    return value


def _cmd_report(args: argparse.Namespace) -> int:
    left_out: list[str] = []
    tables: list[Path] = []
    checks: list[str] = []
    out_dir = Path(args.dir)
    path = write_report(out_dir, Path(args.out) if args.out else None,
                        config=args.config, title=args.title, left_out=left_out,
                        valid_day_h=args.valid_day_hours, tables=tables,
                        checks=checks)
    # What the tables leave out, as `dosewatch analyze` said it (same numbers), before
    # the page's path: the last line is what a user reads (review 2026-11-25b, item 11).
    for k, line in enumerate(left_out):
        print(("note: " if k == 0 else "  ") + line, file=sys.stderr)
    for line in checks:  # as `dosewatch analyze` says them
        print(f"check: {line}", file=sys.stderr)
    sys.stderr.flush()
    if tables and tables[0].parent.resolve() != out_dir.resolve():
        print(f"adherence tables: {tables[0]} and the others beside the page "
              f"({', '.join(t.name for t in tables[1:])}); those in {out_dir} are left "
              "as they were")
    print(f"report: {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dosewatch report`` to the command line."""
    p = subparsers.add_parser(
        "report", help="write the study report (one HTML page) of an analysis folder",
        description="Write one self-contained HTML page (sessions, classes, weekly adherence, "
                    "why each verdict is as certain as it is, warnings, wear time of "
                    "free-living recordings, inputs truncated or damaged, failures, "
                    "configuration) for the --out folder of `dosewatch analyze`, and the "
                    "adherence tables (adherence.csv/.parquet, participants.csv/.parquet) "
                    "beside its sessions.csv. With --out PAGE the tables go beside PAGE, "
                    "named after it (PAGE's stem + .adherence.csv, ...), and the folder's "
                    "are left as they were.")
    p.add_argument("dir", metavar="DIR", help="the --out folder of `dosewatch analyze`")
    p.add_argument("--out", metavar="PAGE",
                   help="HTML file to write (default DIR/report.html); the adherence tables "
                        "are then written beside it as STEM.adherence.csv/.parquet and "
                        "STEM.participants.csv/.parquet (STEM: PAGE's name without .html), "
                        "not into DIR")
    p.add_argument("--config", help="the TOML configuration the analysis used (default: "
                                    "DIR/config.toml if present, else the defaults)")
    p.add_argument("--title", help="page title (default: from the folder's name)")
    p.add_argument("--valid-day-hours", type=_hours, default=VALID_DAY_WORN_H, metavar="H",
                   help="hours a day of a free-living recording must be worn to count as "
                        f"a valid day (default {VALID_DAY_WORN_H:g})")
    p.set_defaults(func=_cmd_report)
