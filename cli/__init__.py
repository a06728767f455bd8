"""The ``dosewatch`` command: a thin layer over the Python API.

Each command lives in a module with a ``register(subparsers)`` function that adds its
parser and points it at a function calling the library; :data:`COMMAND_MODULES` lists
them. Modules import heavy dependencies (Bleak, Bumble, Dask, ...) inside the command,
not at the top, so that ``dosewatch analyze`` starts fast.

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

from .. import __version__
from ..errors import DosewatchError, address_space_limit_mb

# Before NumPy is imported (nothing above imports it): NumPy asks Linux for transparent huge
# pages for every large array, and where the kernel then compacts memory on demand (THP
# defrag "madvise", a common default), a machine whose memory is fragmented stalls in the
# kernel. A week of raw acceleration is 1.2 GB of fresh arrays: measured on the 7-day
# benchmark, 3.1 s of system time with huge pages against 0.7-1.0 s without
# (README, "Speed and memory"). setdefault: NUMPY_MADVISE_HUGEPAGE=1 turns them back on.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def _arrow_allocator_for_address_space_limit() -> None:
    """Before pyarrow is imported: under an address-space limit (``ulimit -v``, a cluster
    job's memory request) Arrow allocates with the C library's malloc. Its default,
    mimalloc, reserves address space a gigabyte at a time: under a 1.5 GB limit a
    decompression bomb then failed for memory after 24 MiB instead of being refused as a
    bomb at 109 MiB. setdefault: a user's ARROW_DEFAULT_MEMORY_POOL wins."""
    if address_space_limit_mb() is not None:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


_arrow_allocator_for_address_space_limit()

log = logging.getLogger("dosewatch")

# Modules (absolute within the package) whose ``register(subparsers)`` adds commands,
# in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "cli.analyze",
    "cli.simulate",
    "cli.demo",
    "cli.show_config",
    "report.command",
    "device.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dosewatch",
        description="Exercise class, bouts and the 30-minute dose from wearable sensor data.",
    )
    parser.add_argument("--version", action="version", version=f"dosewatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(f"dosewatch.{module}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        code = args.func(args)
        # Written out here, not left to the exit: a full disk or a reader gone (| head)
        # shows only when the buffer is written, and must decide the exit status.
        sys.stdout.flush()
        return code
    except DosewatchError as exc:
        print(f"dosewatch: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # whoever read the output stopped (| head): no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no more to say
        return 128 + 13  # as a command killed by SIGPIPE, what shells expect
    except OSError as exc:  # the disk, not dosewatch: say what and where, no traceback
        from ..errors import OutputError, plain_reason

        where = f"{exc.filename}: " if exc.filename else ""
        print(f"dosewatch: error: {where}{plain_reason(exc)}", file=sys.stderr)
        return OutputError.exit_code
    except KeyboardInterrupt:
        print("dosewatch: interrupted; outputs written so far are complete", file=sys.stderr)
        return 130


def run() -> None:
    """The console command: :func:`main`, then an exit that skips the interpreter's
    teardown. By then every output is written and closed (atomically, in ``with``
    blocks), and the exit handlers that libraries registered (logging, multiprocessing,
    temporary files) have run; what is skipped is the garbage collection of every module
    of NumPy, SciPy, Arrow and matplotlib, 0.13-0.17 s of every command (measured on the
    7-day week: README, "Speed and memory"). ``main`` itself returns, for callers in
    Python."""
    import atexit

    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head) or stream: nothing to lose
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
