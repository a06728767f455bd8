"""Which inputs a list of command-line paths stands for, with every file accounted for.

A path that a reader claims as a whole (a session folder, an activity file, a recording)
is one input. Any other folder is walked: every folder below it that a reader claims is
one input (its own files and subfolders belong to it), every file a reader takes is one
input, and every other file is *skipped* with the reason. A path that does not exist, or
a folder that holds no input at all, is a *failure* of its own; neither stops the others.
Order is stable (sorted), so output names and tables are the same from run to run.

The walk is iterative (no recursion, so no depth can overflow the stack), reads only
regular files, and reports everything else it meets: hidden entries, links, FIFOs,
devices and sockets are skipped with a reason, never opened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .registry import Reader, group_of, reader_for, unsupported_hint


@dataclass(frozen=True)
class Skipped:
    """A file or folder met during discovery that is not an input, and why."""

    path: str
    reason: str
    hint: str = ""


@dataclass(frozen=True)
class Failed:
    """A command-line path that cannot be an input at all (missing, empty, unreadable)."""

    path: str
    reason: str
    hint: str = ""


@dataclass
class Inventory:
    """What discovery found: the inputs, and every other entry with its reason."""

    inputs: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)


def _kind(mode: int) -> str | None:
    """What a non-regular, non-folder entry is, for the skip reason."""
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return None


def _classify(path: Path, inventory: Inventory, pending: list[Path]) -> None:
    """Sort one entry met inside a walked folder into inputs, skipped or (for a folder
    no reader claims) the folders still to walk."""
    name = path.name
    if name.startswith("."):
        inventory.skipped.append(Skipped(str(path), "hidden file or folder"))
        return
    try:
        st = path.lstat()
    except OSError as exc:
        inventory.skipped.append(Skipped(str(path), f"cannot be read ({exc.strerror or exc})",
                                         "check its permissions"))
        return
    if stat.S_ISLNK(st.st_mode):
        try:
            st = path.stat()
        except OSError:
            inventory.skipped.append(Skipped(str(path), "a link to nothing (broken link)",
                                             "fix or remove the link"))
            return
    if stat.S_ISDIR(st.st_mode):
        if reader_for(path) is not None:
            inventory.inputs.append(path)
        else:
            pending.append(path)
        return
    kind = _kind(st.st_mode)
    if kind is not None:
        inventory.skipped.append(Skipped(str(path), f"not a regular file: {kind}",
                                         "dosewatch reads regular files only"))
        return
    reader: Reader | None = reader_for(path)
    if reader is None:
        inventory.skipped.append(Skipped(str(path), "not a kind of input dosewatch reads",
                                         unsupported_hint(path)))
    elif reader.group is not None and (lead := group_of(path)[0]) != path:
        inventory.skipped.append(Skipped(str(path), f"part of the recording read from "
                                         f"{lead.name} ({reader.title})"))
    else:
        inventory.inputs.append(path)


def _walk(root: Path, inventory: Inventory) -> int:
    """Walk a folder no reader claims; returns how many inputs it added."""
    before = len(inventory.inputs)
    pending = [root]
    seen: set[tuple[int, int]] = set()
    while pending:
        folder = pending.pop()
        try:
            st = folder.stat()
        except OSError:
            st = None
        if st is not None:
            if (st.st_dev, st.st_ino) in seen:
                inventory.skipped.append(Skipped(str(folder), "a link back to a folder "
                                                 "already searched (a link loop)"))
                continue
            seen.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(folder) as entries:
                names = sorted(e.name for e in entries)
        except OSError as exc:
            inventory.skipped.append(Skipped(str(folder),
                                             f"cannot be listed ({exc.strerror or exc})",
                                             "check its permissions"))
            continue
        below: list[Path] = []
        for name in names:
            _classify(folder / name, inventory, below)
        pending.extend(reversed(below))  # depth first, in name order
    inventory.inputs[before:] = sorted(inventory.inputs[before:])
    return len(inventory.inputs) - before


def discover(paths: Iterable[str | Path]) -> Inventory:
    """Expand command-line paths into inputs (see the module text). Never raises for a
    bad path: it becomes a :class:`Failed` entry."""
    inventory = Inventory()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            inventory.failed.append(Failed(str(path), "no such file or folder",
                                           "check the path; quote it if it holds spaces"))
            continue
        if path.is_file() or reader_for(path) is not None:
            inventory.inputs.append(path)
            continue
        if not path.is_dir():
            kind = _kind(path.stat().st_mode) or "not a file or folder"
            inventory.failed.append(Failed(str(path), f"not a regular file: {kind}",
                                           "dosewatch reads regular files and folders"))
            continue
        skipped_before = len(inventory.skipped)
        if _walk(path, inventory) == 0:
            seen = len(inventory.skipped) - skipped_before
            inventory.failed.append(Failed(
                str(path), "folder holds no session" + (
                    f" ({seen} files, none of a kind dosewatch reads)" if seen else " (empty)"),
                unsupported_hint(path)))
    return inventory
