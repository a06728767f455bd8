"""``dosewatch simulate``: write simulated sessions with their ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_simulate(args: argparse.Namespace) -> int:
    from ..simulate.folders import simulate_to_folders

    written = simulate_to_folders(
        Path(args.out),
        protocols=args.protocol or None,
        placements=args.placement,
        modality=args.modality,
        profile=args.profile_kind,
        acc_fs=args.acc_fs,
        seed=args.seed,
        count=args.count,
        fmt=args.format,
    )
    print(f"{len(written)} simulated sessions written to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="write simulated sessions with known ground truth")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--protocol", action="append",
                   help="protocol name (repeatable; default: every protocol)")
    p.add_argument("--placement", action="append", choices=["wrist", "chest"],
                   help="accelerometer placement (repeatable; default: wrist)")
    p.add_argument("--modality", default="hr+acc", choices=["hr+acc", "hr", "acc"])
    p.add_argument("--profile", dest="profile_kind", default="full",
                   choices=["full", "age", "none"],
                   help="what the written profile.toml gives away (default: full)")
    p.add_argument("--acc-fs", type=float, default=50.0, help="acceleration rate, Hz")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=1, help="sessions per protocol and placement")
    p.add_argument("--format", default="csv", choices=["csv", "csv.gz", "parquet"])
    p.set_defaults(func=cmd_simulate)
