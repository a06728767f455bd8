"""``dosewatch report``: the study report of an analysis folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import write_report


def _cmd_report(args: argparse.Namespace) -> int:
    left_out: list[str] = []
    path = write_report(Path(args.dir), Path(args.out) if args.out else None,
                        config=args.config, title=args.title, left_out=left_out)
    # What the tables leave out, as `dosewatch analyze` said it (same numbers), before
    # the page's path: the last line is what a user reads (review 2026-11-25b, item 11).
    for k, line in enumerate(left_out):
        print(("note: " if k == 0 else "  ") + line, file=sys.stderr)
    sys.stderr.flush()
    print(f"report: {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dosewatch report`` to the command line."""
    p = subparsers.add_parser(
        "report", help="write the study report (one HTML page) of an analysis folder",
        description="Write one self-contained HTML page (sessions, classes, weekly adherence, "
                    "failures, configuration) for the --out folder of `dosewatch analyze`, "
                    "and the adherence tables (adherence.csv/.parquet, participants.csv/"
                    ".parquet) beside its sessions.csv.")
    p.add_argument("dir", metavar="DIR", help="the --out folder of `dosewatch analyze`")
    p.add_argument("--out", help="HTML file to write (default DIR/report.html)")
    p.add_argument("--config", help="the TOML configuration the analysis used (default: "
                                    "DIR/config.toml if present, else the defaults)")
    p.add_argument("--title", help="page title (default: from the folder's name)")
    p.set_defaults(func=_cmd_report)
