"""``dosewatch analyze``: recorded sessions in, one folder of verdicts out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .options import (
    add_classifier_options,
    add_config_option,
    add_profile_option,
    classifier_from,
    config_from,
    profile_from,
)

if TYPE_CHECKING:
    from ..batch import BatchReport


def _say_calibration(folder: Path) -> None:
    """Which participants' calibrations the sessions used, and who a participant is."""
    names = sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []
    if not names:
        return
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    print(f"calibrated per participant: {shown} ({folder}). A participant is the profile's "
          "id, else the folder that holds the input: give each person an id, or use "
          "--no-calibration, when one folder holds several people's files")


def _say_elsewhere(elsewhere: list[dict], out: Path, given: list[str]) -> None:
    """Session folders an earlier run left in ``out`` from inputs not given this time:
    how many, that no table holds them (and which this run's inputs of the same name
    replaced), and how to have them all in one."""
    kept = [e for e in elsewhere if not e.get("replaced")]
    counted = sum(bool(e["counted"]) for e in elsewhere)
    where = _printable(str(out))
    if kept:
        n = len({str(e["input"]) for e in kept})
        print(f"note: {where} also holds {_count(len(kept), 'session')} from "
              f"{_count(n, 'input')} not given in this run: they are not in sessions.csv "
              "nor in the adherence", file=sys.stderr)
    for e in elsewhere:
        if e.get("replaced"):
            print(f"note: {_printable(str(e['output']))} held the session of "
                  f"{_printable(str(e['input']))} (not given in this run): replaced by this "
                  "run's input of the same name", file=sys.stderr)
    if counted:
        print(f"  {_count(counted, 'earlier session')} of the same participants "
              f"{'count' if counted > 1 else 'counts'} in their calibration",
              file=sys.stderr)
    from ..report.notes import gone, gone_lines, shown_path

    for line in gone_lines(elsewhere):
        print(f"  {_printable(line)}", file=sys.stderr)
    # Every input still there, so the command can be pasted as printed (review
    # 2026-11-25b, item 6; 2026-11-25c, item 6).
    inputs = sorted({str(e["input"]) for e in elsewhere if not gone(e)})
    if not inputs:
        return
    shown = " ".join(_printable(shown_path(i)) for i in inputs)
    named = (" (inputs of the same name then get names of their own)"
             if len(kept) < len(elsewhere) else "")
    print(f"  to have every session in the tables, give all inputs together{named}: "
          f"dosewatch analyze {' '.join(_printable(g) for g in given)} {shown} "
          f"--out {where}", file=sys.stderr)


def _say_earlier(report: BatchReport, calibration: Path) -> None:
    """This run's sessions that are copies of an earlier run's (counted once in the
    calibration), and the sessions of runs into other output folders whose evidence the
    calibration folder keeps and that count."""
    from ..report.notes import shown_path

    # An earlier run records its sessions by absolute paths: shown relative to the
    # working folder, as the others are (review 2026-11-25b, item 11).
    for c in report.earlier_copies:
        print(f"{_printable(c['session'])} is a copy of {_printable(shown_path(c['copy_of']))} "
              f"({_printable(shown_path(c['input']))}), analysed by an earlier run: its "
              "participant's calibration counts the activity once")
    counted = [e for e in report.pooled if e["counted"]]
    if counted:
        folders = sorted({_printable(shown_path(Path(str(e["output"])).parent))
                          for e in counted})
        shown = ", ".join(folders[:3]) + (" ..." if len(folders) > 3 else "")
        print(f"{_count(len(counted), 'session')} that earlier runs analysed into "
              f"{shown} {'count' if len(counted) > 1 else 'counts'} in the calibration too "
              f"(their evidence is kept in {_printable(str(calibration / 'evidence'))})")


def _say_copies(report: BatchReport, out: Path) -> None:
    """Which sessions are copies of others (counted once), which are copies of sessions
    earlier runs analysed (not counted again), and which start together with different
    samples (both counted); see :mod:`dosewatch.duplicates`."""
    from ..report.notes import earlier_lines

    copies = report.copies
    if copies.copies:
        n = len(copies.copies)
        pairs = [f"{c} = {k}" for c, k in sorted(copies.copies.items())]
        shown = ", ".join(pairs[:4]) + (f" and {n - 4} more" if n > 4 else "")
        print(f"{_count(n, 'session')} {'is a copy' if n == 1 else 'are copies'} of "
              f"{'another' if n == 1 else 'others'} (same participant, start and samples): "
              f"counted once ({_printable(shown)}; duplicate_of in sessions.csv)")
    for line in earlier_lines(copies.earlier, out):
        print(_printable(line))
    for group in copies.same_start[:3]:
        print(f"sessions {_printable(', '.join(group))} start at the same time with different "
              "samples (two devices?): all counted; leave out the ones that record the same "
              "activity")
    if len(copies.same_start) > 3:
        print(f"and {len(copies.same_start) - 3} more groups of sessions that start at the "
              "same time with different samples (all counted)")


DERIVED = ("report.html", "adherence.csv", "adherence.parquet", "participants.csv",
           "participants.parquet")
"""What ``dosewatch report`` derives from ``sessions.csv`` into the same folder."""


def _table_digest(out: Path) -> str | None:
    """A digest of ``out``'s ``sessions.csv``, None when there is none to read."""
    import hashlib

    try:
        return hashlib.sha256((out / "sessions.csv").read_bytes()).hexdigest()
    except OSError:
        return None


def _say_stale(out: Path, before: str | None) -> None:
    """Name the report and adherence tables in ``out`` that ``dosewatch report`` derived
    from ``sessions.csv`` when this run changed the table (``before``: its digest before
    the run): they no longer say what the table says (review 2026-11-25c, item 4), and a
    researcher opening them would read the last run's numbers."""
    if before is None or _table_digest(out) == before:
        return
    stale = [name for name in DERIVED if (out / name).is_file()]
    if stale:
        print(f"note: {', '.join(stale)} in {_printable(str(out))} "
              f"{'is' if len(stale) == 1 else 'are'} from before this run: "
              f"dosewatch report {_printable(str(out))} writes "
              f"{'it' if len(stale) == 1 else 'them'} again from this run's sessions")


def _say_certainty(report: BatchReport) -> None:
    """How many verdicts are less than sure (review 2026-11-25c, item 10: an
    acceleration-only study's verdicts were all low without a word on the console)."""
    levels = [row.certainty for row in report.rows]
    unsure = [(levels.count(level), level) for level in ("low", "medium")
              if levels.count(level)]
    if unsure:
        said = " and ".join(f"{n} {level}" for n, level in unsure)
        print(f"certainty: {said} of {_count(len(levels), 'verdict')} (the certainty "
              "column of sessions.csv; each summary.json says why)")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def cmd_analyze(args: argparse.Namespace) -> int:
    from ..api import analyze_batch
    from ..ingest.tables import parse_columns_option

    table_before = _table_digest(Path(args.out))
    report = analyze_batch(
        args.inputs,
        Path(args.out),
        config=config_from(args),
        classifier=classifier_from(args),
        profile=profile_from(args),
        columns=parse_columns_option(args.columns),
        workers=args.workers,
        pictures=not args.no_pictures,
        progress=False if args.quiet else None,
        scheduler=args.scheduler,
        force=args.force,
        calibrate=not args.no_calibration,
        calibration_dir=Path(args.calibration) if args.calibration else None,
    )
    out = Path(args.out)
    n_same = report.skipped
    resumed = (f" ({n_same} input{'s' if n_same != 1 else ''} unchanged since the last run, "
               "not analysed again)") if n_same else ""
    # With inputs unchanged since the last run, the table holds sessions this run did
    # not analyse: "in the table", not "analysed" (review 2026-11-25c, item 14).
    print(f"{_count(len(report.rows), 'session')} {'in the table' if n_same else 'analysed'}"
          f"{resumed}, "
          f"{_count(len(report.failures), 'input')} failed, "
          f"{_count(len(report.unsupported), 'file')} skipped as not session inputs"
          + (f", {_count(len(report.parts), 'more file')} read as parts of recordings"
             if report.parts else ""))
    _say_certainty(report)
    if report.profiles:
        shown = [f"{_printable(p['input'])} ({p['reason']})" for p in report.profiles[:5]]
        more = len(report.profiles) - len(shown)
        print("participant profiles from their folders: " + ", ".join(shown)
              + (f" and {more} more" if more > 0 else ""))
    _say_copies(report, out)
    if report.recordings:
        found = sum(len(r["sessions"]) for r in report.recordings)
        n = len(report.recordings)
        print(f"{n} free-living recording{'s' if n != 1 else ''}: {found} exercise sessions "
              f"found (non-wear and sessions: {out / 'recordings'})")
        for r in report.recordings:
            if not r["sessions"]:
                print(f"  {r['recording']}: {r['note']}")
    if not args.no_calibration:
        calibration = Path(args.calibration) if args.calibration else out / "calibration"
        _say_calibration(calibration)
        _say_earlier(report, calibration)
    if report.elsewhere:
        _say_elsewhere(report.elsewhere, out, args.inputs)
    if report.truncated:
        n = len(report.truncated)
        holds = "it holds" if n == 1 else "they hold"
        print(f"{_count(n, 'input')} truncated: analysed what {holds} (certainty lowered; "
              "export again for the whole activity):")
        for t in report.truncated:
            print(f"  {_printable(t['input'])}: {t['reason']}")
    for c in report.checks:
        print(f"check: {_printable(c['input'])}: {c['reason']}"
              + (f" — {c['hint']}" if c.get("hint") else ""))
    _say_stale(out, table_before)
    print(f"table: {out / 'sessions.csv'}")
    for title, entries in (("links followed (they lead inside the folders given):",
                            report.followed),
                           ("skipped:", report.unsupported), ("failed:", report.failures)):
        if entries:
            print(title, file=sys.stderr)
            for f in entries:
                hint = f.get("hint") or ""
                print(f"  {_printable(f['input'])}: {f['reason']}"
                      + (f" — {hint}" if hint else ""), file=sys.stderr)
    if report.failures or report.unsupported or report.followed or report.parts:
        print(f"(all listed in {out / 'failures.json'})", file=sys.stderr)
    return 1 if report.failures else 0


def _printable(path: str) -> str:
    """A path as shown on the terminal: control characters (a file name can hold escape
    sequences) as ``?``; ``failures.json`` keeps the path as it is."""
    return "".join(c if c.isprintable() else "?" for c in path)


def register(sub: argparse._SubParsersAction) -> None:
    from ..ingest.registry import describe

    p = sub.add_parser("analyze", aliases=["analyse"],
                       help="analyse recorded sessions into an output folder",
                       description="Inputs dosewatch reads: " + describe())
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="session files or folders, or folders holding them (searched "
                   "recursively)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=1,
                   help="processes to use (default 1; at most the number of cores)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786 "
                   "(instead of local processes)")
    p.add_argument("--force", action="store_true",
                   help="redo sessions whose outputs are complete and whose input has not "
                   "changed (by default a rerun skips them)")
    add_config_option(p)
    add_classifier_options(p)
    add_profile_option(p, "overrides each session's own profile")
    p.add_argument("--columns", metavar="NAME=COLUMN,...",
                   help="for tables whose headers dosewatch does not recognise: which column "
                   "holds what, by name or 1-based number (time=Zeit,hr=Puls or "
                   "time=1,x=2,y=3,z=4), and units the header leaves out (time_unit=s, "
                   "ms, us, ns, min, h or excel for spreadsheet serial days; acc_unit=mg, "
                   "speed_unit=km/h, distance_unit=km)")
    p.add_argument("--calibration", metavar="DIR",
                   help="folder of per-participant calibration files to use and update "
                   "(default OUT/calibration; edit a file there to override a value). "
                   "Runs into other output folders that share it learn from each other's "
                   "sessions")
    p.add_argument("--no-calibration", action="store_true",
                   help="analyse each session on its own, without learning or using "
                   "participants' calibrations")
    p.add_argument("--no-pictures", action="store_true", help="skip the PNG per session")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)
