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
import pkgutil
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import InputError
from ..session import Profile, Session

ENTRY_POINT_GROUP = "dosewatch.readers"
SNIFF_BYTES = 4096


@dataclass(frozen=True)
class ReadOptions:
    """What a caller asks of a reader, beyond the path.

    Attributes:
        profile: fields overriding what the input says about the participant.
        name: the session's name; by default the input's name without its format's
            endings (several sessions in one input are then ``name-1``, ``name-2``, ...).
        columns: for table formats, which column holds what (``{"time": "Zeit", "hr":
            "Puls"}``), for files whose headers dosewatch does not recognise.
    """

    profile: Profile | None = None
    name: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)


Read = Callable[[Path, ReadOptions], Sequence[Session]]


@dataclass(frozen=True)
class Reader:
    """One input format.

    Attributes:
        name: short identifier (``fit``), shown in outputs as the session's format family.
        title: what it is, for people (``Garmin FIT activity file``).
        read: ``read(path, options) -> [Session, ...]``: every session the input holds
            (most formats: exactly one). Raises :class:`~dosewatch.errors.InputError`
            with a hint when the input cannot be read.
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


def file_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of a regular file, decompressed when it is gzip; b''
    when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(size)
        if head.startswith(b"\x1f\x8b"):
            with gzip.open(path, "rb") as fh:
                head = fh.read(size)
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
    """An input's name without the ending its format claims: ``run.fit.gz`` -> ``run``."""
    name = Path(path).name
    suffix = claimed_suffix(Path(path))
    if suffix and len(name) > len(suffix):
        return name[: -len(suffix)]
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
    if not p.exists():
        raise InputError("no such file or folder", source=p, hint="check the path")
    reader = reader_for(p)
    if reader is None and p.is_dir():
        raise InputError(f"no session in the folder (found: {_listing(p)})", source=p,
                         hint="; ".join(r.hint for r in readers()
                                        if r.claims_folder is not None and r.hint))
    if reader is None:
        raise InputError("not a kind of input dosewatch reads", source=p,
                         hint=unsupported_hint(p))
    sessions = list(reader.read(p, options))
    if not sessions:
        raise InputError(f"holds no session ({reader.title})", source=p,
                         hint=reader.hint or "check that it holds recorded data")
    from .units import check_units

    sessions = [check_units(s) for s in sessions]
    if len(sessions) > 1:
        base = options.name or input_stem(p)
        sessions = [replace(s, name=f"{base}-{k}") for k, s in enumerate(sessions, 1)]
    return sessions


def _listing(folder: Path, most: int = 10) -> str:
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return "a folder that cannot be listed"
    shown = ", ".join(names[:most]) or "nothing"
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
