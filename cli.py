"""The ``dosewatch`` command. It only parses arguments and calls library functions.

Exit status: 0 success; 1 some inputs failed (the others were analysed, and the failures
are listed in ``failures.json``); 2 usage or configuration error; 3 an input error that
stopped the command; 4 a model error; 5 an output cannot be written; 6 a Bluetooth device
cannot be used.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import Config
from .errors import ConfigError, DosewatchError
from .models.classifier import CLASSIFIERS, DEFAULT_CLASSIFIER
from .session import Profile

log = logging.getLogger("dosewatch")

# Modules (relative to the package) whose ``register(subparsers)`` adds their commands.
# They must import heavy dependencies (Bleak, Bumble, ...) inside the command, not at the
# top, so that `dosewatch analyze` starts fast.
COMMAND_MODULES: tuple[str, ...] = (
    "report",
    "device.commands",
)  # end of COMMAND_MODULES


def _config(path: str | None) -> Config:
    return Config.load(path) if path else Config()


def _profile(text: str | None) -> Profile | None:
    """``--profile`` is a profile.toml path or ``key=value,key=value``."""
    if not text:
        return None
    from .ingest import parse_profile_options, read_profile

    if "=" not in text:
        return read_profile(Path(text))
    pairs = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--profile item {item!r} is not key=value",
                              hint="e.g. --profile age=34,hr_rest=55,placement=wrist")
        pairs[key.strip()] = value.strip()
    return parse_profile_options(pairs, source="--profile")


def cmd_analyze(args: argparse.Namespace) -> int:
    from .batch import run_batch
    from .ingest.discover import discover

    config = _config(args.config)
    inputs = discover(args.inputs)
    report = run_batch(
        inputs,
        Path(args.out),
        config=config,
        classifier=args.classifier,
        profile=_profile(args.profile),
        workers=args.workers,
        pictures=not args.no_pictures,
        progress=False if args.quiet else None,
        scheduler=args.scheduler,
        force=args.force,
    )
    out = Path(args.out)
    skipped = f" ({report.skipped} unchanged, skipped)" if report.skipped else ""
    print(f"{len(report.rows)} sessions analysed{skipped}, {len(report.failures)} failed")
    print(f"table: {out / 'sessions.csv'}")
    if report.failures:
        print(f"failures: {out / 'failures.json'}", file=sys.stderr)
        for f in report.failures:
            print(f"  {f['input']}: {f['reason']}", file=sys.stderr)
        return 1
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .demo import simulate_to_folders

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


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.out), seed=args.seed, workers=args.workers)


def cmd_config(args: argparse.Namespace) -> int:
    sys.stdout.write(_config(args.config).to_toml())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dosewatch",
        description="Exercise class, bouts and the 30-minute dose from wearable sensor data.",
    )
    parser.add_argument("--version", action="version", version=f"dosewatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="analyse recorded sessions into an output folder")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="session folders, activity files (.fit, .tcx, .gpx), recordings "
                   "(.dwrec), or folders holding any of these")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=1,
                   help="processes to use (default 1; try the number of cores)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786 "
                   "(instead of local processes)")
    p.add_argument("--force", action="store_true",
                   help="redo sessions whose outputs are complete and whose input has not "
                   "changed (by default a rerun skips them)")
    p.add_argument("--config", help="TOML configuration (see `dosewatch config`)")
    p.add_argument("--classifier", default=DEFAULT_CLASSIFIER, choices=CLASSIFIERS,
                   help="learned: the shipped ONNX model (default); rules: the transparent "
                   "baseline of SPEC rules on measured heart rate")
    p.add_argument("--profile", help="profile.toml, or key=value pairs: age=34,hr_rest=55 "
                   "(overrides each session's own profile)")
    p.add_argument("--no-pictures", action="store_true", help="skip the PNG per session")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)

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

    p = sub.add_parser("demo", help="simulate one session per protocol, analyse, show a table")
    p.add_argument("--out", default="demo-output", help="output folder (default demo-output)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("config", help="print the configuration (defaults, or --config merged)")
    p.add_argument("--config", help="TOML configuration to merge over the defaults")
    p.set_defaults(func=cmd_config)

    # Subsystems that own their commands register them; each module has register(sub).
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{module}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except DosewatchError as exc:
        print(f"dosewatch: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dosewatch: interrupted; outputs written so far are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
