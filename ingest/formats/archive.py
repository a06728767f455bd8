"""ZIP archives: Garmin and Strava bulk exports, Apple Health's ``export.zip``, Empatica
E4 session downloads.

What the archive is decides how it is read:

- **Apple Health** (a member ``.../export.xml`` that is a ``HealthData`` document): the
  XML is streamed straight out of the archive (never unpacked whole) into
  :mod:`dosewatch.ingest.formats.apple_health`; workout routes are read from the
  ``workout-routes/`` members they name.
- **Empatica E4** (``ACC.csv`` or ``HR.csv`` in E4's layout in one folder of the archive):
  that folder's files are read as an E4 session folder.
- Otherwise a **bulk export**: every member whose name ends like an activity file
  (``.fit``, ``.tcx``, ``.gpx``, ``.pwx``, ``.hrm``, each optionally ``.gz``, as Strava's
  ``activities/123.fit.gz``) is read by its own reader, and so is every ``.zip`` inside
  (Garmin's ``DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip``), one level deep.
  Every activity becomes a session (a multisport FIT, several). Other members (summaries,
  JSON, photos) are not activities and are counted as ignored. An activity that cannot be
  read does not stop the others: the sessions say which members failed and why.

A ``profile.toml`` in the archive (at its root, or in a folder inside it) is the profile
of the members in and below its folder, as a folder's is of the files in it (see
:mod:`dosewatch.ingest.discover`): nearer ones win field by field over farther ones and
over the profile the archive itself was given by the folders that hold it; the caller's
own profile (``--profile``, :attr:`ReadOptions.override`) wins over all. A malformed one
refuses the archive with a :class:`~dosewatch.errors.ProfileError` naming
``archive.zip!profile.toml``.

Hostile archives are refused, not unpacked: at most :data:`MAX_MEMBERS` entries, a member
may not decompress to more than :data:`MAX_MEMBER_BYTES` nor (above 1 MiB) to more than
:data:`MAX_RATIO` times its compressed size, the whole archive (nested ones included) not
to more than :data:`MAX_TOTAL_BYTES`; sizes are counted while decompressing, never taken
from the archive's own (forgeable) directory. Encrypted members and symbolic links are
skipped. Member names never become paths: each member that a reader needs as a file is
copied, under a sanitised name of its own, into a fresh private temporary folder that is
removed afterwards (the readers take paths; copying one member at a time keeps memory
bounded, as reading members whole into memory would not for a 200 MB FIT).
"""

from __future__ import annotations

import re
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ...errors import InputError, ProfileError
from ...session import Notice, Profile, Session
from ..discover import PROFILE_NAME
from ..registry import Reader, ReadOptions, Unread, reader_for, readers

__all__ = ["MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_RATIO", "MAX_TOTAL_BYTES", "READER"]

MAX_MEMBERS = 100_000
MAX_MEMBER_BYTES = 512 << 20
MAX_TOTAL_BYTES = 16 << 30
MAX_RATIO = 1000
MAX_DEPTH = 2
_ACTIVITY_ENDINGS = tuple(e + gz for e in (".fit", ".tcx", ".gpx", ".pwx", ".hrm")
                          for gz in ("", ".gz")) + (".zip",)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               NotImplementedError, ValueError, RuntimeError)


@dataclass
class _Budget:
    """Bytes decompressed so far, across the archive and the archives inside it."""

    left: int = field(default_factory=lambda: MAX_TOTAL_BYTES)


class _MemberStream:
    """A member's decompressed bytes, counted against the limits; a damaged member is
    an InputError."""

    def __init__(self, raw: BinaryIO, info: zipfile.ZipInfo, budget: _Budget, source: str,
                 limit: int | None = None):
        self.raw = raw
        self.info = info
        self.budget = budget
        self.source = source
        self.limit = MAX_MEMBER_BYTES if limit is None else limit
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        want = 1 << 20 if size is None or size < 0 else min(size, 1 << 20)
        try:
            chunk = self.raw.read(want)
        except _ZIP_ERRORS as exc:
            raise InputError(f"the archive member is damaged ({type(exc).__name__}: "
                             f"{str(exc)[:120]})", source=self.source,
                             hint="download or zip the export again") from None
        self.read_bytes += len(chunk)
        self.budget.left -= len(chunk)
        compressed = max(self.info.compress_size, 1)
        if self.read_bytes > self.limit or self.budget.left < 0 or (
                self.read_bytes > (1 << 20) and self.read_bytes > MAX_RATIO * compressed):
            raise InputError(
                "the archive member decompresses to more than the limits (a decompression "
                f"bomb?): {self.read_bytes >> 20} MiB read from {compressed} compressed bytes",
                source=self.source, hint="check the archive; unzip it yourself and pass the "
                "activity files if it is genuine")
        return chunk


def _source(path: Path, member: str) -> str:
    return f"{path}!{member}"


def _safe_name(member: str) -> str:
    base = PurePosixPath(member.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base)[:120]
    if not base or base.startswith("."):
        base = "member" + base
    return base


def _usable(info: zipfile.ZipInfo) -> str | None:
    """Why a member cannot be read (None: it can)."""
    if info.is_dir():
        return "a folder"
    if info.flag_bits & 0x1:
        return "encrypted"
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        return "a symbolic link"
    return None


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, folder: Path, budget: _Budget,
             source: str) -> Path:
    """Copy one member into ``folder`` under a sanitised name, counting bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _safe_name(info.filename)
    try:
        raw = zf.open(info)
    except _ZIP_ERRORS as exc:
        raise InputError(f"the archive member cannot be opened ({type(exc).__name__}: "
                         f"{str(exc)[:120]})", source=source,
                         hint="download or zip the export again") from None
    with raw, target.open("wb") as out:
        stream = _MemberStream(raw, info, budget, source)
        while chunk := stream.read(1 << 20):
            out.write(chunk)
    return target


def _members(zf: zipfile.ZipFile, source: str) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"the archive lists {len(infos)} entries, more than {MAX_MEMBERS}",
                         source=source, hint="unzip it and pass the activity files")
    return infos


def _open_zip(path: Path, source: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise InputError(f"not a readable ZIP archive ({type(exc).__name__}: "
                         f"{str(exc)[:120]})", source=source,
                         hint="download or zip the export again") from None


def _profiles(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], path: Path,
              budget: _Budget, tmp: Path) -> dict[str, Profile]:
    """The archive's ``profile.toml`` files, by the folder inside the archive that holds
    each (``""`` for its root).

    Raises:
        ProfileError: one is malformed (named ``archive.zip!profile.toml``).
    """
    from ...profiles import read_profile

    found: dict[str, Profile] = {}
    for k, info in enumerate(infos):
        member = PurePosixPath(info.filename.replace("\\", "/"))
        if member.name != PROFILE_NAME or _usable(info) is not None:
            continue
        source = _source(path, info.filename)
        copy = _extract(zf, info, tmp / f"p{k}", budget, source)
        try:
            found[_folder(member.parent)] = read_profile(copy)
        except ProfileError as exc:
            raise ProfileError(f"its profile {source} is refused: {exc.reason}",
                               source=str(path), hint=exc.hint) from None
        finally:
            copy.unlink()
    return found


def _folder(folder: PurePosixPath) -> str:
    return "" if str(folder) == "." else str(folder)


def _member_options(options: ReadOptions, profiles: dict[str, Profile], member: str,
                    source: str) -> ReadOptions:
    """The options a member is read with: the archive's ``profile.toml`` files of the
    folders that hold it (the outermost first, nearer ones winning field by field) over
    the profile the archive was given (its folders'), under the caller's own (see
    :attr:`ReadOptions.override`), as for files in folders."""
    folders = [_folder(f) for f in reversed(PurePosixPath(member.replace("\\", "/")).parents)]
    inside = [profiles[f] for f in folders if f in profiles]
    if not inside:
        return options
    merged = options.profile or Profile()
    for profile in inside:
        merged = merged.merged(profile)
    given = options.override if options.override is not None else options.profile
    if given is not None:
        merged = merged.merged(given)
    try:
        merged = merged.validate()
    except ProfileError as exc:
        raise ProfileError(f"its profile with the archive's profile.toml: {exc.reason}",
                           source=source, hint=exc.hint) from None
    return replace(options, profile=merged)


def _with_source(session: Session, source: str) -> Session:
    return replace(session, provenance=replace(session.provenance, source=source))


def _health_member(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> zipfile.ZipInfo | None:
    for info in infos:
        if PurePosixPath(info.filename).name.lower() == "export.xml" and _usable(info) is None:
            try:
                with zf.open(info) as raw:
                    head = raw.read(8192)
            except _ZIP_ERRORS:
                continue
            from .apple_health import is_health_export

            if is_health_export(head):
                return info
    return None


def _e4_folder(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    from .empatica import is_e4_file

    for info in infos:
        name = PurePosixPath(info.filename)
        if name.name.lower() in ("acc.csv", "hr.csv") and _usable(info) is None:
            try:
                with zf.open(info) as raw:
                    head = raw.read(256)
            except _ZIP_ERRORS:
                continue
            if is_e4_file(head):
                return str(name.parent)
    return None


def _read_health(zf: zipfile.ZipFile, info: zipfile.ZipInfo, infos: list[zipfile.ZipInfo],
                 path: Path, options: ReadOptions, budget: _Budget, tmp: Path) -> list[Session]:
    from .apple_health import MAX_XML_BYTES, health_sessions, parse_health

    source = _source(path, info.filename)
    with zf.open(info) as raw:
        export = parse_health(_MemberStream(raw, info, budget, source, MAX_XML_BYTES), source)
    base = PurePosixPath(info.filename).parent
    by_name = {i.filename: i for i in infos}
    routes = 0

    def route(name: str) -> Path | None:
        nonlocal routes
        member = by_name.get(str(base / name.lstrip("/")).lstrip("./"))
        if member is None or _usable(member) is not None:
            return None
        routes += 1
        return _extract(zf, member, tmp / f"route{routes}", budget,
                        _source(path, member.filename))

    return health_sessions(export, source, options, route)


def _read_e4(zf: zipfile.ZipFile, folder: str, infos: list[zipfile.ZipInfo], path: Path,
             options: ReadOptions, budget: _Budget, tmp: Path) -> list[Session]:
    from .empatica import read_e4_folder

    target = tmp / "e4"
    target.mkdir()
    for info in infos:
        name = PurePosixPath(info.filename)
        if str(name.parent) == folder and _usable(info) is None and name.suffix.lower() in (
                ".csv", ".txt"):
            _extract(zf, info, target, budget, _source(path, info.filename))
    name = options.name or (PurePosixPath(folder).name if folder not in ("", ".")
                            else path.stem)
    sessions = read_e4_folder(target, replace(options, name=name))
    where = _source(path, folder) if folder not in ("", ".") else str(path)
    return [_with_source(s, where) for s in sessions]


def _read_bulk(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], path: Path,
               options: ReadOptions, budget: _Budget, tmp: Path, depth: int,
               failures: list[tuple[str, str, str]], ignored: list[str]) -> list[Session]:
    """The sessions of every activity member, each read with the profile of the
    archive's ``profile.toml`` files that cover it; each member not read is added to
    ``failures`` as (name, reason, hint), each other file to ``ignored``."""
    profiles = _profiles(zf, infos, path, budget, tmp / f"profiles{depth}")
    sessions: list[Session] = []
    again = "export the activity again, or extract the file and analyse it on its own"
    for k, info in enumerate(sorted(infos, key=lambda i: i.filename)):
        lower = info.filename.lower()
        source = _source(path, info.filename)
        if not lower.endswith(_ACTIVITY_ENDINGS):
            if not info.is_dir() and PurePosixPath(info.filename).name != PROFILE_NAME:
                ignored.append(info.filename)
            continue
        mine = _member_options(options, profiles, info.filename, source)
        why = _usable(info)
        if why is not None:
            failures.append((info.filename, f"{why}, not read", again))
            continue
        copy: Path | None = None
        try:
            copy = _extract(zf, info, tmp / f"m{depth}-{k}", budget, source)
            if lower.endswith(".zip"):
                if depth >= MAX_DEPTH:
                    failures.append((info.filename, "an archive nested too deep, not read",
                                     "extract the inner archive and pass it on its own"))
                    continue
                with _open_zip(copy, source) as inner:
                    found = _read_bulk(inner, _members(inner, source), Path(source), mine,
                                       budget, tmp / f"z{depth}-{k}", depth + 1, failures,
                                       ignored)
                sessions.extend(found)
                continue
            reader = reader_for(copy)
            if reader is None:
                failures.append((info.filename, "not a kind of file dosewatch reads",
                                 "check what the file is"))
                continue
            stem = re.sub(r"(\.gz)?$", "", PurePosixPath(info.filename).name,
                          flags=re.IGNORECASE).rsplit(".", 1)[0]
            found = reader.read(copy, replace(mine, name=options.name or stem))
            for k, entry in enumerate(found, 1):
                if isinstance(entry, Unread):  # an activity of the member without data
                    failures.append((f"{info.filename}!{stem}-{k}", entry.reason,
                                     entry.hint or again))
                else:
                    sessions.append(_with_source(entry, source))
        except InputError as exc:
            failures.append((info.filename, exc.reason, exc.hint or again))
        finally:
            if copy is not None and copy.is_file():
                copy.unlink()  # one member on disk at a time
    return sessions


def read_archive(path: Path, options: ReadOptions) -> list[Session]:
    """Every session a ZIP archive holds (see the module text).

    Raises:
        InputError: not a readable archive, a hostile one, or one without any readable
            activity (the reason lists what failed).
    """
    path = Path(path)
    source = str(path)
    budget = _Budget()
    with _open_zip(path, source) as zf, tempfile.TemporaryDirectory(
            prefix="dosewatch-zip-") as tmp_name:
        tmp = Path(tmp_name)
        infos = _members(zf, source)
        health = _health_member(zf, infos)
        e4 = _e4_folder(zf, infos) if health is None else None
        if health is not None or e4 is not None:  # its profile.toml files: refused by name
            mine = _member_options(options, _profiles(zf, infos, path, budget, tmp),
                                   health.filename if health is not None else f"{e4}/ACC.csv",
                                   source)
        try:
            if health is not None:
                return _read_health(zf, health, infos, path, mine, budget, tmp)
            if e4 is not None:
                return _read_e4(zf, e4, infos, path, mine, budget, tmp)
        except InputError as exc:
            # The input is the archive: name the member in the reason, not as the source.
            member = health.filename if health is not None else f"{e4}/"
            raise InputError(f"{member}: {exc.reason}", source=source,
                             hint=exc.hint) from None
        failures: list[tuple[str, str, str]] = []
        ignored: list[str] = []
        sessions = _read_bulk(zf, infos, path, options, budget, tmp, 1, failures, ignored)
    failed = [f"{name}: {reason}" for name, reason, _ in failures]
    if not sessions:
        if failures:
            shown = "; ".join(failed[:5]) + (f"; and {len(failures) - 5} more"
                                               if len(failures) > 5 else "")
            raise InputError(f"no activity in the archive could be read ({shown})",
                             source=source, hint="see each member's reason; export the "
                             "activities again")
        listed = ", ".join(PurePosixPath(n).name for n in ignored[:8]) or "nothing"
        raise InputError(f"the archive holds no activity file (found: {listed}"
                         + (", …" if len(ignored) > 8 else "") + ")", source=source,
                         hint="dosewatch reads FIT, TCX, GPX, PWX and HRM files inside a "
                         "ZIP (a Garmin or Strava export), Apple Health's export.zip and "
                         "Empatica E4 session downloads")
    notes = []
    if failures:
        notes.append(f"{len(failures)} archive members not read: " + "; ".join(failed[:10])
                     + ("; …" if len(failures) > 10 else ""))
    if ignored:
        notes.append(f"{len(ignored)} archive members are not activity files (ignored)")
    if notes:
        sessions = [s.with_repairs(notes) for s in sessions]
    notices = [Notice("failed", _source(path, name), reason, hint)
               for name, reason, hint in failures]
    notices += [Notice("ignored", _source(path, name), "a file inside a bulk-export archive "
                       "that is not an activity file: not read",
                       "extract it and pass it on its own if it is a recording")
                for name in ignored if _an_input_elsewhere(name)]
    if notices:  # on the first session only: the batch lists each once
        sessions[0] = sessions[0].with_notices(notices)
    return sessions


def _an_input_elsewhere(name: str) -> bool:
    """Whether a member's name ends like a file dosewatch reads on its own (a CSV table,
    an EDF recording), unlike the summaries and photos of an export."""
    lower = re.sub(r"\.gz$", "", name.lower())
    if PurePosixPath(lower).name == "activities.csv":
        return False  # Strava's index of the export's activities, not a recording
    return any(lower.endswith(suffix) for r in readers() for suffix in r.suffixes
               if suffix not in (".zip",))


# Files that are ZIP archives inside but never a recording (their name says so): named as
# what they are, and skipped, rather than read as an export and failed.
_NOT_EXPORTS = {
    ".npz": ("a NumPy array archive (.npz)", ("export the arrays as a CSV table (time and "
                                               "hr, or x, y, z columns) to analyse them")),
    ".xlsx": ("an Excel workbook", "save the sheet as CSV (CSV UTF-8) and pass the CSV"),
    ".ods": ("a spreadsheet", "save the sheet as CSV (CSV UTF-8) and pass the CSV"),
    ".docx": ("a Word document", "leave it out: it is not a recording"),
    ".odt": ("a text document", "leave it out: it is not a recording"),
    ".pptx": ("a presentation", "leave it out: it is not a recording"),
    ".jar": ("a Java archive", "leave it out: it is not a recording"),
    ".whl": ("a Python wheel", "leave it out: it is not a recording"),
    ".epub": ("an e-book", "leave it out: it is not a recording"),
}


def _explain(path: Path) -> str | None:
    known = _NOT_EXPORTS.get(Path(path).suffix.lower())
    return None if known is None else f"{known[0]}, not a recording: {known[1]}"


READER = Reader(
    name="zip",
    title="ZIP archive (Garmin/Strava bulk export, Apple Health export.zip, Empatica E4)",
    read=read_archive,
    suffixes=(".zip",),
    sniff=lambda head: head.startswith(b"PK\x03\x04"),
    explain=_explain,
    hint="pass the export's ZIP as downloaded",
)
