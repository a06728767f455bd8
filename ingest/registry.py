"""The reader registry: every input format dosewatch reads, declared once.

A format is one module that declares a :class:`Reader`: its name, the file-name endings it
claims, a content sniff for files whose name does not say, a folder test for formats that
are folders, and ``read``. The built-in formats are the modules of
:mod:`dosewatch.ingest.formats` (adding a file there adds a format); other packages add
theirs through the entry-point group ``dosewatch.readers``, each entry point naming a
:class:`Reader`, as xarray's backends do::

    [project.entry-points."dosewatch.readers"]
    myformat = "mypackage.reader:READER"

Everything that needs to know about formats asks this module: which reader takes a path
(:func:`reader_for`), the name of an input's output folder (:func:`input_stem`), the list
in ``dosewatch analyze --help`` (:func:`describe`), folder discovery and error hints.
Format modules keep heavy imports (fitdecode, pyarrow, ...) inside their functions, so
that building the registry costs nothing.
"""

from __future__ import annotations

import gzip
import importlib
import os
import pkgutil
import stat
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import DosewatchError, InputError, plain_reason, sanitise
from ..session import Profile, Session

ENTRY_POINT_GROUP = "dosewatch.readers"
SNIFF_BYTES = 4096
MAX_FOLDER_ENTRIES = 10_000
"""Entries of a folder input (and its subfolders) checked before its reader runs."""


@dataclass(frozen=True)
class ReadOptions:
    """What a caller asks of a reader, beyond the path.

    Attributes:
        profile: fields overriding what the input says about the participant.
        name: the session's name; by default the input's name without its format's
            endings (several sessions in one input are then ``name-1``, ``name-2``, ...).
        columns: for table formats, which column holds what (``{"time": "Zeit", "hr":
            "Puls"}``), for files whose headers dosewatch does not recognise.
        roots: the folders the input was found in (the command-line paths). A link inside
            a folder input is read only when it leads inside these (or inside the input
            itself, when none are given), so no file outside the inputs is ever read.
        override: the caller's own profile (``--profile``), when ``profile`` also holds
            the profile files of the folders above the input: a ``profile.toml`` found
            inside the input (a zip's) wins over the folders' and loses to this. None:
            ``profile`` is all the caller's, and wins.
        naive_zone: the IANA zone of times recorded without one (``[adherence]
            naive_timezone``, see :func:`dosewatch.ingest.clock.localize`); UTC by default.
        timezone: the study's ``[adherence] timezone`` ("" = UTC): a session whose
            zone-less times were taken in another zone gets a ``check`` notice.
    """

    profile: Profile | None = None
    name: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    roots: tuple[Path, ...] = ()
    override: Profile | None = None
    naive_zone: str = "UTC"
    timezone: str = ""


@dataclass(frozen=True)
class Unread:
    """One activity of an input that holds several, with no usable data (no heart rate, a
    few seconds of samples): a reader returns it in the activity's place, and
    :func:`read_all` makes it a failure of its own, named ``INPUT!NAME-k`` (as an
    archive's members are ``ARCHIVE!MEMBER``), while the input's other sessions are read.

    Attributes:
        reason: which activity and why (``activity 2 of 3 in the file, started ...: no
            heart rate in this file``).
        hint: what to do.
    """

    reason: str
    hint: str = ""


Read = Callable[[Path, ReadOptions], Sequence["Session | Unread"]]


@dataclass(frozen=True)
class Reader:
    """One input format.

    Attributes:
        name: short identifier (``fit``), shown in outputs as the session's format family.
        title: what it is, for people (``Garmin FIT activity file``).
        read: ``read(path, options) -> [Session, ...]``: every session the input holds
            (most formats: exactly one). Raises :class:`~dosewatch.errors.InputError`
            with a hint when the input cannot be read. An input of several activities
            gives an :class:`Unread` for each one without usable data.
        suffixes: lower-case name endings it claims, including compressed forms
            (``.fit``, ``.fit.gz``). The longest matching ending across readers wins.
        sniff: ``sniff(head) -> bool`` on the first :data:`SNIFF_BYTES` bytes of a file
            (decompressed when gzip); asked only for files no ending claims.
        claims_folder: ``claims_folder(path) -> bool`` for formats that are a folder
            (a session folder, an Empatica E4 export); such a folder is one input.
        hint: what a user should hand in, for messages about this format.
        explain: ``explain(path) -> str | None``: for a file no reader takes, the hint this
            format can give when the file looks like part of it (``hr.csv`` given on its
            own: "pass the folder that holds it").
        priority: among readers that claim the same folder, the same ending or sniff the
            same bytes, the higher goes first (specific formats before generic ones). When
            several readers claim a file's ending, the first whose ``sniff`` accepts the
            file's first bytes takes it, and the lowest-priority one takes what no sniff
            accepts (``.csv``: a FitCSVTool table, else any table).
        group: ``group(path) -> [paths]``: for formats whose one recording is several
            files side by side (Polar Sensor Logger's ``..._HR.txt``, ``..._ACC.txt``),
            every file of the recording ``path`` belongs to, the one discovery makes the
            input first; discovery lists the others as read with it.
        folder_files: ``folder_files(folder) -> [paths]``: for a format that is a folder,
            the files in it that ``read`` uses (an E4 export's ``ACC.csv``, ``HR.csv``,
            ...; never ``profile.toml``, which is the folder's profile). Discovery walks
            the folder's other entries as inputs of their own (a FIT file beside the
            export, a ``week2/`` subfolder) or lists them as skipped, so nothing in a
            claimed folder goes unaccounted for. None: every entry is the reader's.
        stem: ``stem(path) -> str | None``: for a file whose name ends in no ending the
            format claims, the input's name when the format names it otherwise (a Polar
            Sensor Logger recording: its files' prefix, ``Polar_H10_1_20240501_100000``
            for ``..._HR.txt``), else None; see :func:`input_stem`.
    """

    name: str
    title: str
    read: Read
    suffixes: tuple[str, ...] = ()
    sniff: Callable[[bytes], bool] | None = None
    claims_folder: Callable[[Path], bool] | None = None
    hint: str = ""
    explain: Callable[[Path], str | None] | None = None
    priority: int = 0
    group: Callable[[Path], list[Path]] | None = None
    folder_files: Callable[[Path], list[Path]] | None = None
    stem: Callable[[Path], str | None] | None = None


def _builtin_readers() -> list[Reader]:
    from . import formats

    found = []
    for info in sorted(pkgutil.iter_modules(formats.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{formats.__name__}.{info.name}")
        reader = getattr(module, "READER", None)
        if isinstance(reader, Reader):
            found.append(reader)
    return found


def _plugin_readers() -> list[Reader]:
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            reader = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break dosewatch
            import logging

            logging.getLogger(__name__).warning("reader plug-in %s cannot be loaded: %s",
                                                ep.name, exc)
            continue
        if isinstance(reader, Reader):
            found.append(reader)
    return found


@lru_cache(maxsize=1)
def readers() -> tuple[Reader, ...]:
    """Every known reader: built-in ones, then plug-ins, highest priority first."""
    found = _builtin_readers()
    names = {r.name for r in found}
    found += [r for r in _plugin_readers() if r.name not in names]
    return tuple(sorted(found, key=lambda r: -r.priority))


def get_reader(name: str) -> Reader:
    for reader in readers():
        if reader.name == name:
            return reader
    raise KeyError(name)


def _suffix_claims(path: Path) -> tuple[list[Reader], str] | None:
    """The readers that claim the longest ending of ``path`` (highest priority first)."""
    lower = path.name.lower()
    best: list[Reader] = []
    best_suffix = ""
    for reader in readers():
        for suffix in reader.suffixes:
            if not (lower.endswith(suffix) and len(lower) > len(suffix)):
                continue
            if len(suffix) > len(best_suffix):
                best, best_suffix = [reader], suffix
            elif len(suffix) == len(best_suffix) and reader not in best:
                best.append(reader)
    return (best, best_suffix) if best else None


def _by_suffix(path: Path) -> tuple[Reader, str] | None:
    claims = _suffix_claims(path)
    if claims is None:
        return None
    candidates, suffix = claims
    if len(candidates) > 1:
        head = file_head(path)
        for reader in candidates[:-1]:
            if reader.sniff is not None and head and reader.sniff(head):
                return reader, suffix
    return candidates[-1], suffix


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` when it is a regular file. Opened without
    blocking, so a FIFO or a device cannot make the caller wait forever, and checked
    after opening (no swap between a check and the open).

    Raises:
        InputError: not a regular file, or it cannot be opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot be opened ({exc.strerror or exc})", source=path,
                         hint="check that it exists and is readable") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"not a regular file: {_kind_name(mode)}", source=path,
                         hint="dosewatch reads regular files only")
    os.set_blocking(fd, True)
    return fd


def _kind_name(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a file"


def file_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of a regular file, decompressed when it is gzip; b''
    when it cannot be read (or is not a regular file: a FIFO is never waited on)."""
    try:
        fd = open_regular(path)
    except InputError:
        return b""
    try:
        with open(fd, "rb") as fh:
            head = fh.read(size)
            if head.startswith(b"\x1f\x8b"):
                fh.seek(0)
                with gzip.GzipFile(fileobj=fh, mode="rb") as gz:
                    head = gz.read(size)
    except (OSError, EOFError, zlib.error):
        return b""
    return head


def reader_for(path: Path) -> Reader | None:
    """The reader that takes ``path``, or None.

    A folder goes to the highest-priority reader that claims it. A file goes to the
    reader whose ending matches (the longest ending wins); a file no ending claims is
    sniffed. The reader itself refuses a file whose content is not what its name says,
    naming what the content looks like.
    """
    path = Path(path)
    if path.is_dir():
        for reader in readers():
            if reader.claims_folder is not None and reader.claims_folder(path):
                return reader
        return None
    match = _by_suffix(path)
    if match is not None:
        return match[0]
    if any(r.explain is not None and r.explain(path) for r in readers()):
        return None  # a kind of file a reader knows is no input (its explain says why)
    sniffers = [r for r in readers() if r.sniff is not None]
    if not sniffers:
        return None
    head = file_head(path)
    if not head:
        return None
    for reader in sniffers:
        if reader.sniff(head):  # type: ignore[misc]
            return reader
    return None


def group_of(path: Path) -> list[Path]:
    """The files read together with ``path`` as one input, the one that stands for the
    group first (``[path]`` for formats of one file)."""
    reader = reader_for(path)
    if reader is None or reader.group is None:
        return [Path(path)]
    return list(reader.group(Path(path))) or [Path(path)]


def claimed_suffix(path: Path) -> str | None:
    """The ending of ``path`` that a reader claims (``.fit.gz``), or None."""
    claims = _suffix_claims(Path(path))
    return None if claims is None else claims[1]


def input_stem(path: Path) -> str:
    """An input's name without the ending its format claims: ``run.fit.gz`` -> ``run``;
    for a file of a recording of several files, the recording's name (a reader's
    :attr:`Reader.stem`: ``Polar_H10_1_20240501_100000_HR.txt`` ->
    ``Polar_H10_1_20240501_100000``)."""
    name = Path(path).name
    suffix = claimed_suffix(Path(path))
    if suffix and len(name) > len(suffix):
        return name[: -len(suffix)]
    for reader in readers():
        if reader.stem is not None and (stem := reader.stem(Path(path))):
            return stem
    return name


def describe() -> str:
    """What dosewatch reads, one phrase per format, for ``--help``."""
    parts = []
    for reader in sorted(readers(), key=lambda r: r.name):
        ends = ", ".join(s for s in reader.suffixes if not s.endswith(".gz"))
        kind = " (a folder)" if reader.claims_folder is not None and not ends else ""
        parts.append(f"{reader.title}{kind}" + (f" ({ends})" if ends else ""))
    return "; ".join(parts) + "."


def unsupported_hint(path: Path) -> str:
    """What to do with a file that no reader takes."""
    for reader in readers():
        if reader.explain is not None:
            hint = reader.explain(Path(path))
            if hint:
                return hint
    kinds = ", ".join(sorted({s for r in readers() for s in r.suffixes
                              if not s.endswith(".gz")}))
    return (f"dosewatch reads files ending in {kinds}, session folders, and the exports "
            "`dosewatch analyze --help` lists (recognised by content); convert it to one of "
            "these, or add a reader (see docs/readers.md)")


def read_all(path: str | Path, options: ReadOptions | None = None) -> list[Session]:
    """Every session an input holds (most inputs: one).

    When an input holds several sessions they are named ``NAME-1``, ``NAME-2``, ... in
    the order the reader gives them (by start time for activities), where NAME is
    ``options.name`` or the input's stem.

    Every session passes the unit check of :mod:`dosewatch.ingest.units` (acceleration
    in g, speed in m/s, converted with a repair note where the values show another unit).

    Raises:
        InputError: the path does not exist, no reader takes it, its reader refuses it,
            or a session's units cannot be told.
    """
    p = Path(path)
    options = options or ReadOptions()
    check_input(p, options.roots)
    reader = reader_for(p)
    if reader is None and p.is_dir():
        from .discover import OUTPUT_FOLDER_HINT, OUTPUT_FOLDER_REASON, is_output_folder

        if is_output_folder(p):
            raise InputError(OUTPUT_FOLDER_REASON, source=p, hint=OUTPUT_FOLDER_HINT)
        raise InputError(f"no session in the folder (found: {_listing(p)})", source=p,
                         hint="; ".join(r.hint for r in readers()
                                        if r.claims_folder is not None and r.hint))
    if reader is None:
        raise InputError("not a kind of input dosewatch reads", source=p,
                         hint=unsupported_hint(p))
    if reader.group is not None:  # the files read with it: checked as the input itself
        for member in group_of(p):
            if Path(member) != p:
                _check_member(Path(member), options.roots or (p.parent,), p)
    try:
        sessions = list(reader.read(p, options))
    except (DosewatchError, MemoryError):
        raise
    except RecursionError:
        raise InputError(f"nested too deeply to read ({reader.title})", source=p,
                         hint="the file is damaged or not what its name says") from None
    except Exception as exc:  # noqa: BLE001 - any reader's slip is still an input error
        # A reader should raise InputError itself; whatever it raised instead (a library's
        # ValueError on a damaged file), the caller gets dosewatch's own error, naming the
        # problem, never quoting the file.
        raise InputError(
            f"cannot be read as a {reader.title} ({type(exc).__name__}: "
            f"{plain_reason(exc)})", source=p,
            hint="the file may be damaged; if it opens in other software, please report "
            "this with the file") from None
    if not sessions:
        raise InputError(f"holds no session ({reader.title})", source=p,
                         hint=reader.hint or "check that it holds recorded data")
    from .clock import localize

    return [localize(s, options.naive_zone, options.timezone)
            for s in _settled(sessions, p, options)]


MIN_SESSION_S = 30.0
"""A session of an input holding several whose streams all span less than this holds
nothing to analyse (an epoch, a minute by default, needs half its samples to get a
value), and is a failure of its own."""


def _settled(entries: list[Session | Unread], p: Path, options: ReadOptions
             ) -> list[Session]:
    """The sessions a reader gave, unit-checked and named; of an input holding several,
    each one without usable data (an :class:`Unread`, a session refused by the checks or
    spanning under :data:`MIN_SESSION_S`) is a failure notice ``INPUT!NAME-k`` on the
    first session kept, so that the others are analysed and the empty one is not counted.

    Raises:
        InputError: the input's only session is refused, or none of several is usable.
    """
    from ..session import Notice, drop_implausible
    from .units import check_units

    if len(entries) == 1 and isinstance(entries[0], Session):
        return [drop_implausible(check_units(entries[0]))]
    base = options.name or input_stem(p)
    kept: list[Session] = []
    failed: list[Notice] = []
    for k, entry in enumerate(entries, 1):
        name = f"{base}-{k}"
        if isinstance(entry, Session):
            try:
                session = drop_implausible(check_units(entry))
            except InputError as exc:
                entry = Unread(f"{_label(entry)}{exc.reason}", exc.hint)
            else:
                span = usable_span(session)
                if span >= MIN_SESSION_S:
                    kept.append(replace(session, name=name))
                    continue
                entry = Unread(f"{_label(session)}no stream of {MIN_SESSION_SAMPLES} "
                               f"samples or more spans {MIN_SESSION_S:.0f} s (the longest: "
                               f"{span:.0f} s): nothing to analyse",
                               "the watch may have been stopped at once; nothing to do if "
                               "so, else export the activity again")
        failed.append(Notice("failed", f"{p}!{name}", entry.reason,
                             entry.hint or "export the activity again, or leave it out"))
    if not kept:
        shown = "; ".join(n.reason for n in failed[:3]) + ("; …" if len(failed) > 3 else "")
        raise InputError(f"none of its {len(entries)} activities holds usable data ({shown})",
                         source=p, hint=failed[0].hint)
    if failed:  # on the first session only: the batch lists each once
        kept[0] = kept[0].with_notices(failed)
    return kept


def _label(session: Session) -> str:
    """Which activity of the file a session is, as its reader noted it, with ': '."""
    for note in session.provenance.repairs:
        if " of " in note and " in the file" in note:
            return f"{note}: "
    return ""


MIN_SESSION_SAMPLES = 10
"""A stream of fewer samples than this spans nothing analysable, however far apart."""


def usable_span(session: Session) -> float:
    """The longest time any stream of at least :data:`MIN_SESSION_SAMPLES` samples spans."""
    spans = [float(s.t[-1] - s.t[0]) for s in (session.hr, session.acc, session.speed,
                                                session.power)
             if s is not None and s.t.size >= MIN_SESSION_SAMPLES]
    return max(spans, default=0.0)


def check_input(path: Path, roots: Sequence[Path] = ()) -> None:
    """Refuse, before any reader opens it, an input that could trap or fool a reader:
    missing, not a regular file or folder (a FIFO waits forever), or a folder holding a
    FIFO, device or socket, or a link that leads outside ``roots`` (default: the input
    itself), so no reader ever opens a file outside the inputs. A folder's entries are
    checked down to its subfolders, at most :data:`MAX_FOLDER_ENTRIES` of them.

    Raises:
        InputError: naming the entry and what to do.
    """
    try:
        st = os.stat(path)
    except OSError:
        raise InputError("no such file or folder", source=path, hint="check the path") from None
    if stat.S_ISREG(st.st_mode):
        return
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"not a regular file: {_kind_name(st.st_mode)}", source=path,
                         hint="dosewatch reads regular files and folders")
    allowed = [os.path.realpath(r) for r in (roots or (path,))]
    pending, seen = [path], 0
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError:
            continue  # the reader says what it cannot list
        for entry in listed:
            seen += 1
            if seen > MAX_FOLDER_ENTRIES:
                raise InputError(f"holds more than {MAX_FOLDER_ENTRIES:,} files and folders",
                                 source=path, hint="a session folder holds a few files; "
                                 "pass the sessions inside it one by one")
            entry_path = Path(entry.path)
            if entry.is_symlink():
                target = os.path.realpath(entry_path)
                if not inside(target, allowed):
                    raise InputError(
                        f"{entry.name} is a link to {target}, outside the folders given: "
                        "dosewatch does not read it", source=path,
                        hint="copy the file into the session folder, or pass a folder "
                        "that holds both")
                try:
                    mode = os.stat(entry_path).st_mode
                except OSError:
                    continue  # a broken link: the reader says the file is missing
                if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    raise InputError(
                        f"{entry.name} leads to {_kind_name(mode)}, not a regular file",
                        source=path, hint="remove it from the session folder")
                continue  # a linked folder is not searched (no loops); its files are
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                pending.append(entry_path)
            elif not stat.S_ISREG(mode):
                raise InputError(
                    f"{entry.name} is not a regular file ({_kind_name(mode)})", source=path,
                    hint="remove it from the session folder")


def inside(path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]]) -> bool:
    """Whether the real location of ``path`` is one of ``roots`` or lies below one (each
    root taken at its real location too)."""
    real = os.path.realpath(path)
    for root in roots:
        top = os.path.realpath(root)
        if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
            return True
    return False


def _check_member(member: Path, roots: Sequence[Path], source: Path) -> None:
    """A file read together with an input (a file group): a regular file, and not a link
    leading outside ``roots``."""
    target = os.path.realpath(member)
    if member.is_symlink() and not inside(target, roots):
        raise InputError(f"{member.name} is a link to {target}, outside the folders given: "
                         "dosewatch does not read it", source=source,
                         hint="copy the file next to the others, or pass a folder that "
                         "holds both")
    try:
        mode = os.stat(member).st_mode
    except OSError:
        return  # missing: the reader says so
    if not stat.S_ISREG(mode):
        raise InputError(f"{member.name} is not a regular file ({_kind_name(mode)})",
                         source=source, hint="remove it from the folder")


def _listing(folder: Path, most: int = 10) -> str:
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return "a folder that cannot be listed"
    shown = ", ".join(sanitise(n) for n in names[:most]) or "nothing"
    return shown + (", …" if len(names) > most else "")


def read_one(path: str | Path, options: ReadOptions | None = None) -> Session:
    """The one session an input holds.

    Raises:
        InputError: as :func:`read_all`, or the input holds several sessions.
    """
    sessions = read_all(path, options)
    if len(sessions) > 1:
        raise InputError(
            f"holds {len(sessions)} sessions", source=path,
            hint="read them all with dosewatch.read_all(path), or analyse the file with "
            "dosewatch analyze, which writes one folder per session")
    return sessions[0]
