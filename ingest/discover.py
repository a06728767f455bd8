"""Which inputs a list of command-line paths stands for, with every file accounted for.

A file a reader takes is one input; so is a folder a reader claims (a session folder, an
E4 export). Every folder is walked, a claimed one too: a claimed folder's reader uses
some of its files (:attr:`~dosewatch.ingest.registry.Reader.folder_files`: ``hr.csv``,
``ACC.csv``), and its other entries are met like any folder's (a FIT file beside an E4
export is an input of its own, a ``week2/`` subfolder is walked), so nothing in it goes
unaccounted for. Every file a reader takes is one input, the other files of a recording
of several files are listed as its *parts* (:attr:`Inventory.parts`), and every other
file is *skipped* with the reason. A path that does not exist, or
a folder that holds no input at all, is a *failure* of its own; neither stops the others.
Order is stable (sorted), so output names and tables are the same from run to run.

Discovery cannot be trapped (issue 14):

- The walk is iterative (no recursion, so no depth can overflow the stack), goes at most
  :data:`MAX_DEPTH` folders deep and looks at most at :data:`MAX_ENTRIES` entries per
  command-line folder; past either limit it says so.
- It reads regular files only: FIFOs, devices and sockets are skipped with a reason,
  never opened (opening a FIFO waits forever).
- Links are followed only when they lead inside the folders given on the command line
  (the *roots*); each one followed is listed with where it leads
  (:attr:`Inventory.followed`), each one not followed is skipped with the reason (a link
  outside, a broken link, a link loop). A link given on the command line is followed:
  the user named it.
- Every file and folder is an input at most once: a link to something already found, a
  hard link, or a path given twice is skipped as the same input. Real paths win over
  links: links are looked at after everything else.

A ``profile.toml`` in a folder that is walked (a participant's folder of watch exports,
say, or the E4 export unzipped into it) is the profile of every input in that folder and
in the folders below it, the claimed folder itself included
(:attr:`Inventory.profiles`); where folders nested in each other each hold one, the
nearest one's fields win (a study-wide ``placement`` above, each participant's ``id``
and ``age`` in their folder). An input named on the command line gets the
``profile.toml`` of the folder that holds it (a regular file, not a link), as that
folder is its participant (a claimed folder named there: that one, then its own). A
claimed folder's own ``profile.toml`` wins over the folders' above it (see
:func:`dosewatch.profiles.profile_for_input`). A
``profile.toml`` that no input is below is skipped, saying so.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .registry import Reader, group_of, inside, reader_for, unsupported_hint

MAX_DEPTH = 32
"""Folders nested deeper than this below a command-line folder are not searched."""
MAX_ENTRIES = 100_000
"""Entries (files, folders, links) looked at per command-line folder, at most."""

# An output folder of dosewatch holds this marker (``outputs.OWN_DIR / outputs.MARKER``;
# a test keeps the two in step). Its tables are results, not recordings: read as sessions
# they would give verdicts about verdicts.
OUTPUT_MARKER = (".dosewatch", "output.json")
OUTPUT_FOLDER_REASON = "a dosewatch output folder: results, not recordings"
OUTPUT_FOLDER_HINT = "give the recordings it was made from (or leave it out)"
PROFILE_NAME = "profile.toml"
"""A file of this name in a walked folder is the profile of the inputs below it."""


def is_output_folder(folder: Path) -> bool:
    """Whether ``folder`` is one of dosewatch's output folders, or a session folder in
    one (its ``summary.json`` beside ``epochs.csv``)."""
    return folder.joinpath(*OUTPUT_MARKER).is_file() or (
        folder.parent.joinpath(*OUTPUT_MARKER).is_file()
        and folder.joinpath("summary.json").is_file())


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
    """What discovery found: the inputs, and every other entry with its reason.

    Attributes:
        inputs: the inputs, each a path as met (a link's own path, not its target).
        skipped: entries that are not inputs, with the reason.
        failed: command-line paths that cannot be an input, or whose search stopped early.
        followed: links followed (they lead inside the roots); ``reason`` says where to.
        roots: the command-line paths. Links are followed only inside them, and the
            output folder may be neither inside one nor hold one.
        profiles: each input that folder profiles apply to -> their ``profile.toml``
            files, the outermost first (each one's fields win over those before it).
        profile_files: every ``profile.toml`` that applies to some input, with ``reason``
            saying to how many (``profile for 4 inputs``).
        parts: files read as part of another input's recording (a Polar Sensor Logger
            recording's ``_PPI.txt`` beside its ``_HR.txt``), each saying which: analysed,
            not skipped.
    """

    inputs: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    followed: list[Skipped] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)
    profiles: dict[Path, tuple[Path, ...]] = field(default_factory=dict)
    profile_files: list[Skipped] = field(default_factory=list)
    parts: list[Skipped] = field(default_factory=list)


def _kind(mode: int) -> str | None:
    """What a non-regular, non-folder entry is, for the skip reason."""
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return None


def _link_problem(path: Path) -> str | None:
    """Why following the link ``path`` fails (a loop, nothing there), or None."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a link loop (the link leads back to itself)"
        if exc.errno == errno.ENOENT:
            return "a link to nothing (broken link)"
        return f"a link that cannot be followed ({exc.strerror or exc})"
    return None


class _Walk:
    """The state of one discovery: what was found, what was seen (by inode)."""

    def __init__(self, inventory: Inventory, roots: list[str], max_depth: int,
                 max_entries: int):
        self.inv = inventory
        self.roots = roots
        self.max_depth = max_depth
        self.max_entries = max_entries
        self.seen: dict[tuple[int, int], str] = {}
        self.count = 0
        self.profile_folders: dict[Path, Path] = {}
        """Walked folder -> the ``profile.toml`` in it."""
        self.used: dict[Path, set[str] | None] = {}
        """Claimed folder -> the names of the entries its reader uses (None: all but
        ``profile.toml``); the walk passes them by."""

    def first_time(self, st: os.stat_result, path: Path, what: str) -> bool:
        """Record ``path``; False (and a skip entry) when its inode was met before."""
        key = (st.st_dev, st.st_ino)
        earlier = self.seen.get(key)
        if earlier is None:
            self.seen[key] = str(path)
            return True
        self.inv.skipped.append(Skipped(str(path), f"the same {what} as {earlier}, which is "
                                        "searched or analysed already"))
        return False

    def entry(self, path: Path, st: os.stat_result, depth: int,
              pending: list[tuple[Path, int]]) -> None:
        """Sort one entry (a link's target stat given for a link) into inputs, skipped or
        the folders still to walk."""
        inv = self.inv
        if stat.S_ISDIR(st.st_mode):
            if not self.first_time(st, path, "folder"):
                return
            if (reader := reader_for(path)) is not None:
                self.claim(path, reader)
                if depth + 1 <= self.max_depth:
                    pending.append((path, depth + 1))
            elif depth + 1 > self.max_depth:
                inv.skipped.append(Skipped(
                    str(path), f"nested more than {self.max_depth} folders deep: not searched",
                    "move the sessions higher up, or pass this folder itself"))
            else:
                pending.append((path, depth + 1))
            return
        kind = _kind(st.st_mode)
        if kind is not None:
            inv.skipped.append(Skipped(str(path), f"not a regular file: {kind}",
                                       "dosewatch reads regular files only"))
            return
        if not self.first_time(st, path, "file"):
            return
        if path.name == PROFILE_NAME:
            self.profile_folders[path.parent] = path
            return
        reader: Reader | None = reader_for(path)
        if reader is None:
            inv.skipped.append(Skipped(str(path), "not a kind of input dosewatch reads",
                                       unsupported_hint(path)))
        else:
            if reader.group is not None and (lead := group_of(path)[0]) != path:
                inv.parts.append(Skipped(str(path), f"part of the recording read from "
                                         f"{lead.name} ({reader.title})"))
            else:
                inv.inputs.append(path)

    def claim(self, folder: Path, reader: Reader) -> None:
        """Make the folder a reader claims an input, and note the files its reader uses:
        the folder is still walked (:meth:`walk`), for its ``profile.toml`` (the
        profile of the folder's input and of everything below it) and for the entries
        its reader does not use, which are inputs of their own or skipped with the
        reason (a FIT file beside an E4 export, a ``week2/`` subfolder)."""
        self.inv.inputs.append(folder)
        if reader.folder_files is None:  # every entry but the profile is the reader's
            self.used[folder] = None
        else:
            self.used[folder] = {p.name for p in reader.folder_files(folder)}

    def link(self, path: Path, depth: int, pending: list[tuple[Path, int]]) -> None:
        """Follow the link ``path`` when it leads inside the roots; else say why not."""
        problem = _link_problem(path)
        if problem is not None:
            self.inv.skipped.append(Skipped(str(path), problem, "fix or remove the link"))
            return
        target = os.path.realpath(path)
        if not inside(target, self.roots):
            self.inv.skipped.append(Skipped(
                str(path), f"a link to {target}, outside the folders given: not followed",
                "dosewatch follows links only inside the folders it is given; pass the "
                "target itself if it belongs to the study"))
            return
        st = os.stat(path)
        before = len(self.inv.skipped)
        self.entry(path, st, depth, pending)
        if len(self.inv.skipped) == before:
            self.inv.followed.append(Skipped(str(path), f"a link to {target}, inside the "
                                             "folders given: followed"))

    def walk(self, root: Path) -> bool:
        """Walk a folder no reader claims. Returns False when the entry limit stopped it."""
        pending: list[tuple[Path, int]] = [(root, 0)]
        links: list[tuple[Path, int]] = []
        while pending or links:
            if not pending:
                # Links last, so that a real path is found before a link to it.
                path, depth = links.pop(0)
                self.link(path, depth, pending)
                continue
            folder, depth = pending.pop()
            if is_output_folder(folder) and folder != root:
                self.inv.skipped.append(Skipped(str(folder), OUTPUT_FOLDER_REASON,
                                                OUTPUT_FOLDER_HINT))
                continue
            try:
                with os.scandir(folder) as entries:
                    names = sorted(e.name for e in entries)
            except OSError as exc:
                self.inv.skipped.append(Skipped(
                    str(folder), f"cannot be listed ({exc.strerror or exc})",
                    "check its permissions"))
                continue
            if folder in self.used:
                used = self.used[folder]
                names = [n for n in names if n == PROFILE_NAME or (
                    used is not None and n not in used)]
            below: list[tuple[Path, int]] = []
            for name in names:
                self.count += 1
                if self.count > self.max_entries:
                    return False
                path = folder / name
                if name.startswith("."):
                    self.inv.skipped.append(Skipped(str(path), "hidden file or folder"))
                    continue
                try:
                    st = path.lstat()
                except OSError as exc:
                    self.inv.skipped.append(Skipped(
                        str(path), f"cannot be read ({exc.strerror or exc})",
                        "check its permissions"))
                    continue
                if stat.S_ISLNK(st.st_mode):
                    links.append((path, depth))
                else:
                    self.entry(path, st, depth, below)
            pending.extend(reversed(below))  # depth first, in name order
        return True


def _beside(path: Path) -> list[Path]:
    """The ``profile.toml`` in the folder that holds ``path`` when it is a regular file
    (not a link), as a list of none or one."""
    beside = path.parent / PROFILE_NAME
    try:
        return [beside] if stat.S_ISREG(os.lstat(beside).st_mode) else []
    except OSError:
        return []


def _folder_profiles(inventory: Inventory, walked: list[tuple[Path, int, int]],
                     profile_folders: dict[Path, Path], claimed: Iterable[Path],
                     claimed_roots: set[Path]) -> None:
    """Give each input the ``profile.toml`` files of its folders (see the module text):
    those of the walked folders from the input's own (a claimed folder's own first) up
    to the command-line folder it was found in, or, for an input named on the command
    line, the one beside it (for a claimed command-line folder, the one beside it and
    then the walked ones). A claimed folder's own ``profile.toml`` that is the profile
    of no other input is not listed among the profiles used: it is that input's own, as
    a session folder's always was."""
    uses: dict[Path, int] = dict.fromkeys(profile_folders.values(), 0)
    own: dict[Path, int] = {}  # a claimed folder's own profile.toml -> 1 for its input
    walked_inputs = {i: root for root, first, end in walked for i in range(first, end)}
    folders = set(claimed)
    for i, path in enumerate(inventory.inputs):
        root = walked_inputs.get(i)
        if root is None:
            found = _beside(path)
        else:
            found = []
            folder = path if path in folders else path.parent
            while True:
                if folder in profile_folders:
                    found.append(profile_folders[folder])
                if folder == root or folder == folder.parent:
                    break
                folder = folder.parent
            if root in claimed_roots:
                found += _beside(root)
            found.reverse()
        for profile in found:
            uses[profile] = uses.get(profile, 0) + 1
            if path in folders and profile == path / PROFILE_NAME:
                own[profile] = own.get(profile, 0) + 1
        if found:
            inventory.profiles[path] = tuple(found)
    for profile, n in sorted(uses.items()):
        if n and n == own.get(profile):
            continue  # the folder input's own, and no other's: its own (as ever), unlisted
        if n:
            inventory.profile_files.append(Skipped(
                str(profile), f"profile for {n} input{'s' if n != 1 else ''}"))
        else:
            inventory.skipped.append(Skipped(
                str(profile), "a participant profile, but no input is in its folder or "
                "below it", "put it in the folder that holds the participant's recordings"))


def discover(paths: Iterable[str | Path], *, max_depth: int = MAX_DEPTH,
             max_entries: int = MAX_ENTRIES) -> Inventory:
    """Expand command-line paths into inputs (see the module text). Never raises for a
    bad path: it becomes a :class:`Failed` entry."""
    given = [Path(raw) for raw in paths]
    inventory = Inventory(roots=given)
    state = _Walk(inventory, [str(p) for p in given], max_depth, max_entries)
    walked: list[tuple[Path, int, int]] = []  # each walked root, and its inputs' indices
    claimed: set[Path] = set()  # the command-line folders that are inputs themselves
    for path in given:
        try:
            st = os.stat(path)
        except OSError:
            problem = _link_problem(path) if os.path.islink(path) else None
            inventory.failed.append(Failed(str(path), problem or "no such file or folder",
                                           "check the path; quote it if it holds spaces"))
            continue
        kind = _kind(st.st_mode)
        if kind is not None:
            inventory.failed.append(Failed(str(path), f"not a regular file: {kind}",
                                           "dosewatch reads regular files and folders"))
            continue
        if stat.S_ISDIR(st.st_mode) and is_output_folder(path):
            inventory.failed.append(Failed(str(path), OUTPUT_FOLDER_REASON, OUTPUT_FOLDER_HINT))
            continue
        if not stat.S_ISDIR(st.st_mode):
            if state.first_time(st, path, "file"):
                inventory.inputs.append(path)
            continue
        if not state.first_time(st, path, "folder"):
            continue
        inputs_before = len(inventory.inputs)
        if (reader := reader_for(path)) is not None:
            state.claim(path, reader)
            claimed.add(path)
        skipped_before = len(inventory.skipped)
        profiles_before = len(state.profile_folders)
        state.count = 0
        complete = state.walk(path)
        inventory.inputs[inputs_before:] = sorted(inventory.inputs[inputs_before:])
        walked.append((path, inputs_before, len(inventory.inputs)))
        if not complete:
            inventory.failed.append(Failed(
                str(path), f"holds more than {max_entries:,} files and folders: searched "
                f"the first {max_entries:,} only", "pass its subfolders separately"))
        elif len(inventory.inputs) == inputs_before:
            seen = (len(inventory.skipped) - skipped_before
                    + len(state.profile_folders) - profiles_before)
            inventory.failed.append(Failed(
                str(path), "folder holds no session" + (
                    f" ({seen} files, none of a kind dosewatch reads)" if seen else " (empty)"),
                unsupported_hint(path)))
    _folder_profiles(inventory, walked, state.profile_folders, state.used, claimed)
    return inventory
