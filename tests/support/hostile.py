"""What the hostile-input tests share: writers of small inputs, a tree hash, classifiers
that misbehave on one chosen session, and a way to run the real command with limits.

The misbehaving classifiers are real :mod:`dosewatch.models` classifiers (the rules, with
one thing added): on a session of exactly :data:`TRIGGER_EPOCHS` epochs they allocate,
sleep or kill their own process, so a test can hand a batch one input that takes a worker
down and check that only that input fails. Use them as ``--model
support.hostile:SleepsOnTrigger`` (with ``tests`` on ``PYTHONPATH``) or as instances.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dosewatch.models.rules import RuleClassifier

TESTS = Path(__file__).resolve().parents[1]
TRIGGER_EPOCHS = 7
"""A session of 7 minutes (7 one-minute epochs) sets the misbehaving classifiers off."""


# --------------------------------------------------------------------------- inputs


def write_hr_csv(path: Path, t: Sequence[float] | np.ndarray, bpm: Sequence[float] |
                 np.ndarray | float = 120.0) -> Path:
    """An ``hr.csv`` (``time,hr``) at ``path``, creating its folder."""
    t = np.asarray(t, dtype=np.float64)
    values = np.broadcast_to(np.asarray(bpm, dtype=np.float64), t.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["time,hr"] + [f"{a!r},{b!r}" for a, b in zip(t.tolist(), values.tolist(),
                                                          strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def hr_session(folder: Path, minutes: float = 30.0, t0: float = 1_700_000_000.0,
               bpm: float | None = None) -> Path:
    """A session folder with ``minutes`` of 1 Hz heart rate (a gentle wave, or flat)."""
    n = int(round(minutes * 60))
    t = t0 + np.arange(n, dtype=np.float64)
    values = np.full(n, bpm) if bpm is not None else 130 + 15 * np.sin(np.arange(n) / 200)
    write_hr_csv(folder / "hr.csv", t, np.round(values, 1))
    return folder


# --------------------------------------------------------------------------- trees


def make_deep(folder: Path, levels: int, name: str = "d") -> None:
    """``levels`` nested folders below ``folder`` (made relative to each other: their full
    path would be too long for the system)."""
    here = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=here)
            below = os.open(name, os.O_RDONLY, dir_fd=here)
            os.close(here)
            here = below
    finally:
        os.close(here)


def remove_deep(folder: Path, name: str = "d") -> None:
    """Remove what :func:`make_deep` made, without recursion (Python's ``rmtree`` recurses
    once per level and fails at about a thousand): the chain is pulled up one level at a
    time."""
    top = os.open(folder, os.O_RDONLY)
    try:
        while True:
            try:
                os.rename(f"{name}/{name}", ".pulled-up", src_dir_fd=top, dst_dir_fd=top)
            except FileNotFoundError:
                break
            os.rmdir(name, dir_fd=top)
            os.rename(".pulled-up", name, src_dir_fd=top, dst_dir_fd=top)
        os.rmdir(name, dir_fd=top)
    finally:
        os.close(top)


def tree_state(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Every entry below ``root`` (not following links) -> what it is: a file's SHA-256,
    a link's target, ``dir`` or the kind of a special file. Entries inside ``skip`` (an
    output folder) are left out. Equal states: nothing was created, changed or deleted."""
    state: dict[str, str] = {}
    skip_text = None if skip is None else str(skip)
    for folder, dirs, files in os.walk(root):
        if skip_text is not None and (folder == skip_text
                                      or folder.startswith(skip_text + os.sep)):
            dirs[:] = []
            continue
        for name in dirs + files:
            path = os.path.join(folder, name)
            if skip_text is not None and path == skip_text:
                continue
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                state[rel] = "link:" + os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                state[rel] = "dir"
            elif stat.S_ISREG(st.st_mode):
                state[rel] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            else:
                state[rel] = f"special:{stat.S_IFMT(st.st_mode)}"
    return state


# --------------------------------------------------------------------------- the command


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def dosewatch(*args: object, memory_mb: int | None = None, timeout: float = 120.0,
              env: dict[str, str] | None = None, file_size: int | None = None) -> Run:
    """The real ``dosewatch`` command in a subprocess, with ``tests`` importable, at most
    ``memory_mb`` of address space and files of at most ``file_size`` bytes."""

    def limits() -> None:
        if memory_mb is not None:
            limit = memory_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not death, past it
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(TESTS), full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "dosewatch", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=full_env,
                          preexec_fn=limits)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - start)


# --------------------------------------------------------------------------- classifiers


class _OnTrigger(RuleClassifier):
    """The rules classifier, misbehaving on a session of :data:`TRIGGER_EPOCHS` epochs."""

    name = "rules-on-trigger"

    def misbehave(self) -> None:
        raise NotImplementedError

    def predict(self, features, info, config):  # noqa: ANN001, ANN201 - the protocol's
        if features.n == TRIGGER_EPOCHS:
            self.misbehave()
        return super().predict(features, info, config)


class AllocatesOnTrigger(_OnTrigger):
    """Takes 3 GB (and touches it) on the trigger session."""

    def misbehave(self) -> None:
        block = np.ones(3 << 27)  # 3 GiB of float64
        block[::4096] = 2.0


class SleepsOnTrigger(_OnTrigger):
    """Sleeps an hour on the trigger session (in Python: the time budget interrupts it)."""

    def misbehave(self) -> None:
        time.sleep(3600)


class DiesOnTrigger(_OnTrigger):
    """Kills its own process on the trigger session, as the kernel's OOM killer would."""

    def misbehave(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


class BlocksOnTrigger(_OnTrigger):
    """Waits on the trigger session with the time budget's signal blocked, as a call
    stuck in C code would: only killing the process ends it."""

    def misbehave(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(3600)
