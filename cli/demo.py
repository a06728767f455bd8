"""``dosewatch demo``: simulate one session per protocol and a small study, analyse them,
and show what was found next to the truth."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    return run_demo(Path(args.out), seed=args.seed, workers=args.workers)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="simulate one session per protocol, analyse, show a table",
        description="Simulate one session of each protocol with its ground truth, analyse "
        "them as a researcher would, print the truth beside the findings, analyse the real "
        "recordings that ship with dosewatch, and write a small study with its report.")
    p.add_argument("--out", default="demo-output", help="output folder (default demo-output)")
    p.add_argument("--seed", type=int, default=2026,
                   help="the simulated people and sessions (default 2026)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes for the analysis (default: 2, or 1 on one core)")
    p.set_defaults(func=cmd_demo)
