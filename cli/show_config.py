"""``dosewatch config``: print the configuration (the defaults, or a file merged over them)."""

from __future__ import annotations

import argparse
import sys

from .options import add_config_option, config_from


def cmd_config(args: argparse.Namespace) -> int:
    sys.stdout.write(config_from(args).to_toml())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config", help="print the configuration (defaults, or --config merged)",
        description="Print every threshold dosewatch uses, as a TOML file with a comment "
        "per value: the defaults, or a --config file merged over them. Save it, edit it and "
        "pass it to analyze --config.")
    add_config_option(p)
    p.set_defaults(func=cmd_config)
