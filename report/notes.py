"""What a study report leaves out, and why: the same words on the console and the page.

``dosewatch analyze`` tells, when it finishes, which session folders of earlier runs in
its output folder are in none of its tables (their inputs were not given this time) and
which sessions are copies of others (counted once), in this run or an earlier one.
``dosewatch report`` over the same
folder shows the tables of that run, so it must say the same, with the same numbers:
:func:`left_out_lines` reads them from the folder — the ``status: stored`` entries of
``failures.json`` that the analysis wrote, and ``duplicate_of`` in ``sessions.csv`` —
never from a recount of its own.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from ..duplicates import Copies


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def shown_path(path: str | Path) -> str:
    """``path`` as the console shows it: relative to the working folder when it is under
    it (as the paths a user types are), else as it is (an earlier run records its inputs
    and sessions by absolute paths)."""
    text = str(path)
    if os.path.isabs(text):
        try:
            relative = os.path.relpath(text)
        except ValueError:  # another drive (Windows)
            return text
        if relative != os.pardir and not relative.startswith(os.pardir + os.sep):
            return relative
    return text


def earlier_lines(earlier: dict[str, str], out_dir: Path) -> list[str]:
    """The sessions that are copies of sessions earlier runs analysed (``earlier``: each
    one's ``duplicate_of``, relative to ``out_dir``; see
    :func:`dosewatch.duplicates.copies_of_earlier`): how many, into which folders, and
    that they are not counted again."""
    if not earlier:
        return []
    n = len(earlier)
    folders = sorted({shown_path(os.path.normpath(Path(out_dir) / PurePosixPath(dup).parent))
                      for dup in earlier.values()})
    where = ", ".join(folders[:3]) + (" ..." if len(folders) > 3 else "")
    pairs = [f"{c} = {k}" for c, k in sorted(earlier.items())]
    shown = ", ".join(pairs[:4]) + (f" and {n - 4} more" if n > 4 else "")
    return [f"{_count(n, 'session')} {'is a copy' if n == 1 else 'are copies'} of "
            f"{'a session an earlier run' if n == 1 else 'sessions earlier runs'} analysed "
            f"into {where} (same participant, start and samples): not counted again in "
            f"these tables ({shown}; duplicate_of in sessions.csv, relative to "
            f"{shown_path(out_dir)})"]


def gone(entry: dict) -> bool:
    """Whether the input of an earlier run's session (a ``stored`` entry) is no longer
    there (deleted or moved): giving it again would fail."""
    return not entry.get("replaced") and not Path(str(entry.get("input"))).exists()


def gone_lines(stored: list[dict]) -> list[str]:
    """What to do about the earlier runs' sessions whose input is gone (review
    2026-11-25c, item 6: the command printed to put every session in the tables named
    it, and failed)."""
    return [f"the input of {shown_path(str(e.get('output')))} "
            f"({shown_path(str(e.get('input')))}) no longer exists (deleted or moved): "
            f"delete {shown_path(str(e.get('output')))} to drop its session, or put the "
            "input back" for e in stored if gone(e)]


def stored_lines(stored: list[dict], out_dir: Path) -> list[str]:
    """The earlier runs' sessions in ``out_dir`` that no table holds (``status: stored``
    entries of ``failures.json``): how many, from how many inputs, how many count in
    their participants' calibration, and how to have them all in the tables."""
    if not stored:
        return []
    kept = [e for e in stored if not e.get("replaced")]
    counted = sum(bool(e.get("counted")) for e in stored)
    lines = []
    if kept:
        n = len({str(e.get("input")) for e in kept})
        lines.append(f"{out_dir} also holds {_count(len(kept), 'session')} from "
                     f"{_count(n, 'input')} not given in its last analysis: they are not "
                     "in sessions.csv nor in the adherence, so not in this report")
    lines += [f"{e.get('output')} held the session of {e.get('input')} (not given in the "
              "last analysis): replaced by that analysis's input of the same name"
              for e in stored if e.get("replaced")]
    if counted:
        lines.append(f"{_count(counted, 'earlier session')} of the same participants "
                     f"{'count' if counted > 1 else 'counts'} in their calibration")
    lines += gone_lines(stored)
    inputs = sorted({str(e.get("input")) for e in kept if not gone(e)})
    if inputs:
        shown = " ".join(shown_path(i) for i in inputs[:3]) + (
            f" and {len(inputs) - 3} more" if len(inputs) > 3 else "")
        lines.append("to have every session in the tables and the report, analyse all "
                     f"inputs together (these and the last analysis's: {shown}) into "
                     f"{out_dir}, then run dosewatch report again")
    return lines


def copies_lines(copies: Copies) -> list[str]:
    """The sessions that are copies of others (counted once), and the sessions that start
    together with different samples (all counted), in the words of ``dosewatch analyze``."""
    lines = []
    if copies.copies:
        n = len(copies.copies)
        pairs = [f"{c} = {k}" for c, k in sorted(copies.copies.items())]
        shown = ", ".join(pairs[:4]) + (f" and {n - 4} more" if n > 4 else "")
        lines.append(f"{_count(n, 'session')} {'is a copy' if n == 1 else 'are copies'} of "
                     f"{'another' if n == 1 else 'others'} (same participant, start and "
                     f"samples): counted once ({shown}; duplicate_of in sessions.csv)")
    lines += [f"sessions {', '.join(group)} start at the same time with different samples "
              "(two devices?): all counted; leave out the ones that record the same activity"
              for group in copies.same_start[:3]]
    if len(copies.same_start) > 3:
        lines.append(f"and {len(copies.same_start) - 3} more groups of sessions that start "
                     "at the same time with different samples (all counted)")
    return lines


def left_out_lines(stored: list[dict], copies: Copies, out_dir: Path) -> list[str]:
    """Everything the report leaves out or counts once, and why (see the module text)."""
    return (stored_lines(stored, out_dir) + copies_lines(copies)
            + earlier_lines(copies.earlier, out_dir))
