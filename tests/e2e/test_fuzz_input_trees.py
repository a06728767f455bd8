"""A property-based fuzz of whole input folders (issue 14): random trees of files, folders,
links (inside, outside, dangling, loops), FIFOs, sockets, deep chains, hostile names and
damaged or tiny contents of every format, read as ``dosewatch analyze`` reads them.

For every tree: no traceback (discovery never raises; reading an input gives sessions or
dosewatch's own error), no hang over 30 s (a watchdog ends the whole run with a traceback),
no case over 1 GB (the process's memory may grow by 1 GB at most while the fuzz runs,
RLIMIT_DATA), no
file outside the output folder created, changed or deleted (the whole tree, with a folder
"outside" the input, hashed before and after), and a secret outside the input never in any
message or output. Every :data:`BATCH_EVERY`-th tree also goes through the full batch
(:func:`~dosewatch.batch.run_batch`, in this process) and must fail only with dosewatch's
reasons.

At least :data:`TREES` trees run per CI run (``DOSEWATCH_FUZZ_TREES`` changes it); the
run prints how many, how long and the peak memory. Files are tiny on purpose: the fuzz is
about shapes and names, the readers' own fuzz tests (tests/ingest) are about bytes.
"""

from __future__ import annotations

import faulthandler
import gzip
import io
import json
import os
import random
import resource
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support.activity_files import fit_activity, gpx_text, points, steady_records, tcx_text
from support.hostile import tree_state

from dosewatch.batch import memory_budget, run_batch
from dosewatch.errors import DosewatchError
from dosewatch.ingest.discover import discover
from dosewatch.ingest.registry import ReadOptions, read_all
from dosewatch.recording import RecordingWriter

TREES = int(os.environ.get("DOSEWATCH_FUZZ_TREES", "2000"))
BATCH_EVERY = 25
HANG_S = 30.0
MEMORY_GROWTH = 1 << 30
SECRET = "TOPSECRET-" + os.urandom(6).hex()


def _error_names(kind: type) -> set[str]:
    return {kind.__name__}.union(*(_error_names(sub) for sub in kind.__subclasses__()))


# dosewatch's own errors (a reader's subclass of InputError included): a failure with
# another name (MemoryError, TimeoutError, WorkerDied, an internal error) fails the fuzz.
ERRORS = _error_names(DosewatchError)
# Trees are made in memory where the system has a RAM disk: thousands of small folders are
# created and removed, and a disk journals every one (2 ms per rmdir on the CI's ext4).
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


# --------------------------------------------------------------------------- contents


@cache
def contents() -> dict[str, bytes]:
    """Small inputs of every kind, good and bad; a tree's files are these, mutated."""
    t = 1_700_000_000.0 + np.arange(180.0)
    hr = "time,hr\n" + "".join(f"{a:.0f},{130 + i % 9}\n" for i, a in enumerate(t))
    stray = hr + "0,120\n"
    acc_t = np.arange(500) / 25.0
    acc = "time,x,y,z\n" + "".join(f"{a:.2f},0.01,0.02,1.0{i % 3}\n"
                                   for i, a in enumerate(acc_t))
    parquet = io.BytesIO()
    pq.write_table(pa.table({"time": t, "hr": np.full(t.size, 120.0)}), parquet)
    recording = Path(tempfile.mkdtemp(prefix="fuzz-recording-")) / "r.dwrec"
    with RecordingWriter(recording) as writer:
        strap = writer.add_device("AA:BB", "strap", ["180d"], "hr")
        for i in range(60):
            writer.add_hr(strap, None, 1_700_000_000.0 + i, 120.0 + i % 5)
    dwrec = recording.read_bytes()
    shutil.rmtree(recording.parent)
    return {
        "hr": hr.encode(), "hr_stray": stray.encode(),
        "hr_ms": ("time,hr\n" + "".join(f"{i * 1000},120\n" for i in range(60))).encode(),
        "hr_text": b"time,hr\n0,abc\n1,\n", "hr_only_header": b"time,hr\n",
        "acc": acc.encode(), "hr_gz": gzip.compress(hr.encode()),
        "bomb": gzip.compress(b"time,hr\n" + b"1,60\n" * 200_000),
        "fit": fit_activity(steady_records(90)), "gpx": gpx_text([points(60)]).encode(),
        "tcx": tcx_text([points(60)]).encode(),
        "doctype": b'<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "b">]><gpx>&a;</gpx>',
        "bogus_encoding": b'<?xml version="1.0" encoding="bogus"?><gpx></gpx>',
        "dwrec": dwrec, "parquet": parquet.getvalue(),
        "profile": b"age = 30\nid = '=HYPERLINK(1)'\n", "profile_bad": b"age = 'x'\n[",
        "random": random.Random(7).randbytes(1500), "empty": b"",
        # Like a password file, but not the system's: quoting this one is allowed (it is
        # an input), /etc/passwd's first line ("root:x:0:0") never.
        "passwd": b"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
        "zip": _zip({"run/hr.csv": hr.encode(), "../escape.fit": b".FIT"}),
        "zip_bomb": _zip({"hr.csv": b"time,hr\n" + b"1,60\n" * 400_000}),
        "semicolon": ("time;hr\n" + "".join(f"{i};1{i % 9}0\n" for i in range(120))).encode(),
    }


def _zip(members: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CONTENTS = ("hr", "hr_stray", "hr_ms", "hr_text", "hr_only_header", "acc", "hr_gz", "bomb",
            "fit", "gpx", "tcx", "doctype", "bogus_encoding", "dwrec", "parquet", "profile",
            "profile_bad", "random", "empty", "passwd", "zip", "zip_bomb", "semicolon")
FILE_NAMES = ("hr.csv", "hr.csv.gz", "acc.csv", "speed.csv", "hr.parquet", "profile.toml",
              "run.fit", "run.fit.gz", "a.gpx", "a.tcx", "a.tcx.gz", "r.dwrec", "x.db",
              "sessions.csv.fit", "failures.json", "config.toml", "notes.txt",
              "=HYPERLINK(1).gpx", "-x.fit", ".hidden.fit", "x.partial", "HR.CSV",
              "ü ñ.fit", "\x1b[2J.fit", "y" * 200 + ".fit", "noext", "r.dwrec-wal",
              "w.cwa", "w.gt3x", "w.edf", "w.bdf", "w.bin", "export.zip", "a.hrm", "a.pwx",
              "export.xml", "data.csv", "t.tsv", "ACC.csv", "HR.csv", "tags.csv")
DIR_NAMES = ("s1", "run", "P01", ".hidden", "x.old", ".y.partial", "sessions.csv",
             "failures.json", "=cmd", "\x1b[2J", "z" * 200, "a b")
LINK_TARGETS = ("sibling", "parent", "self", "root", "secret", "outside_session",
                "dangling", "etc_passwd")


# --------------------------------------------------------------------------- trees


@dataclass
class Entry:
    parent: int
    name: str
    kind: str  # file, dir, link, fifo, socket, deep
    content: str = ""
    mutation: tuple[str, int, int] = ("none", 0, 0)
    target: str = ""


@dataclass
class Tree:
    entries: list[Entry] = field(default_factory=list)
    batch: bool = False


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    tree = Tree()
    n_dirs = 1  # the input root
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(("file", "file", "file", "dir", "dir", "link", "fifo",
                                     "socket", "deep")))
        parent = draw(st.integers(0, n_dirs - 1))
        if kind in ("dir", "deep"):
            name = draw(st.sampled_from(DIR_NAMES))
            n_dirs += 1
            tree.entries.append(Entry(parent, name, kind))
            continue
        name = draw(st.sampled_from(FILE_NAMES + DIR_NAMES))
        entry = Entry(parent, name, kind)
        if kind == "file":
            entry.content = draw(st.sampled_from(CONTENTS))
            entry.mutation = (draw(st.sampled_from(("none", "none", "truncate", "flip",
                                                    "append"))),
                              draw(st.integers(0, 1 << 16)), draw(st.integers(0, 255)))
        elif kind == "link":
            entry.target = draw(st.sampled_from(LINK_TARGETS))
        tree.entries.append(entry)
    return tree


def _bytes(entry: Entry) -> bytes:
    data = contents()[entry.content]
    how, where, value = entry.mutation
    if how == "truncate" and data:
        return data[: where % len(data)]
    if how == "flip" and data:
        buffer = bytearray(data)
        buffer[where % len(buffer)] ^= value or 1
        return bytes(buffer)
    if how == "append":
        return data + bytes([value]) * (where % 64)
    return data


def build(tree: Tree, base: Path) -> Path:
    """Make ``tree`` below ``base/inputs`` (and the world around it); returns the root."""
    root = base / "inputs"
    root.mkdir()
    outside = base / "outside"
    (outside / "session").mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / "session" / "hr.csv").write_text(f"{SECRET},hr\n0,60\n")
    folders = [root]
    for entry in tree.entries:
        parent = folders[entry.parent]
        path = parent / entry.name
        if os.path.lexists(path):
            if entry.kind in ("dir", "deep"):
                folders.append(path if path.is_dir() and not path.is_symlink() else parent)
            continue
        try:
            if entry.kind in ("dir", "deep"):
                path.mkdir()
                if entry.kind == "deep":
                    below = path
                    for _ in range(34):  # past discovery's depth limit
                        below = below / "d"
                        below.mkdir()
                    (below / "hr.csv").write_bytes(contents()["hr"])
                folders.append(path)
            elif entry.kind == "file":
                path.write_bytes(_bytes(entry))
            elif entry.kind == "fifo":
                os.mkfifo(path)
            elif entry.kind == "socket" and len(str(path).encode()) < 100:  # AF_UNIX limit
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.bind(str(path))
            elif entry.kind == "link":
                targets = {"sibling": next((p.name for p in parent.iterdir()), "nowhere"),
                           "parent": "..", "self": entry.name, "root": str(root),
                           "secret": str(outside / "secret.txt"),
                           "outside_session": str(outside / "session"),
                           "dangling": "nothing-here", "etc_passwd": "/etc/passwd"}
                os.symlink(targets[entry.target], path)
        except OSError as exc:  # a name too long for a socket's address, and the like
            if exc.errno not in (36, 22, 95):
                raise
    return root


# --------------------------------------------------------------------------- the property


@dataclass
class Tally:
    trees: int = 0
    inputs: int = 0
    sessions: int = 0
    refused: int = 0
    batches: int = 0
    slowest_s: float = 0.0


def check_tree(tree: Tree, tally: Tally) -> None:
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="dosewatch-fuzz-", dir=SCRATCH))
    # A hang ends the whole run, loudly, with every thread's traceback.
    faulthandler.dump_traceback_later(HANG_S, exit=True, file=sys.__stderr__)
    try:
        root = build(tree, base)
        before = tree_state(base)
        inventory = discover([root])
        messages = [s.reason + s.hint for s in inventory.skipped + inventory.failed]
        for path in inventory.inputs:
            tally.inputs += 1
            try:
                sessions = read_all(path, ReadOptions(roots=(root,)))
            except DosewatchError as exc:
                tally.refused += 1
                messages.append(str(exc))
            else:
                tally.sessions += len(sessions)
                assert sessions
        out = base / "out"
        if tree.batch:
            tally.batches += 1
            report = run_batch(inventory, out, pictures=False, progress=False,
                               classifier="rules")
            for failure in report.failures:
                assert failure["error"] in ERRORS, failure
                messages.append(json.dumps(failure))
            produced = [p.read_bytes() for p in out.rglob("*")
                        if p.is_file() and not p.is_symlink()]
            assert not [b for b in produced if SECRET.encode() in b]
        assert not [m for m in messages if SECRET in m or "root:x:0:0" in m], messages
        assert tree_state(base, skip=out) == before  # nothing outside the output changed
    finally:
        faulthandler.cancel_dump_traceback_later()
        shutil.rmtree(base, ignore_errors=True)
    tally.trees += 1
    tally.slowest_s = max(tally.slowest_s, time.monotonic() - started)


def test_random_input_trees_never_break_the_batch(capsys):
    tally = Tally()
    leftovers_before = set(Path(tempfile.gettempdir()).glob("dosewatch-recording-*"))
    assert set(contents()) == set(CONTENTS)
    start = time.monotonic()

    @settings(max_examples=TREES, deadline=None, database=None,
              phases=(Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(tree=trees(), batch_draw=st.integers(0, BATCH_EVERY - 1))
    def one(tree: Tree, batch_draw: int) -> None:
        tree.batch = batch_draw == 0
        check_tree(tree, tally)

    with memory_budget(MEMORY_GROWTH >> 20):  # the whole fuzz: 1 GB more at most
        one()
    seconds = time.monotonic() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with capsys.disabled():
        print(f"\nfuzz: {tally.trees} trees ({tally.inputs} inputs, {tally.sessions} "
              f"sessions read, {tally.refused} refused; {tally.batches} full batches) in "
              f"{seconds:.1f} s, slowest tree {tally.slowest_s:.2f} s, peak RSS "
              f"{peak_mb:.0f} MB")
    assert tally.trees >= TREES
    assert tally.batches > 0 and tally.sessions > 0 and tally.refused > 0
    # No private copy of a recording is left in the temporary folder.
    assert set(Path(tempfile.gettempdir()).glob("dosewatch-recording-*")) == leftovers_before
