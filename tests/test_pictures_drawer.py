"""The batch's picture drawer: a second process draws session pictures beside the batch's
own, and the session folders stay whole whoever drew them, or whatever went wrong."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dosewatch.analysis import analyze_session
from dosewatch.batch import PictureDrawer
from dosewatch.errors import OutputError
from dosewatch.outputs import draft_session, write_session

READY_S = 60.0  # a spawned Python loading matplotlib: seconds on a busy machine


@pytest.fixture(scope="module")
def results(simulated):
    return [analyze_session(simulated(protocol, person_seed=31, person_id="draw",
                                      placement="wrist", acc_fs=25.0, seed=seed).session)
            for seed, protocol in enumerate(["steady_light", "walk_then_run",
                                             "steady_light", "walk_then_run"])]


@pytest.fixture
def drawer():
    drawer = PictureDrawer()
    yield drawer
    drawer.close()


def drafts_of(results, out: Path):
    return [draft_session(r, out, f"s{i}", work_dir=out / ".work")
            for i, r in enumerate(results)]


def test_pictures_drawn_by_both_processes_are_those_drawn_alone(results, drawer, tmp_path):
    alone = [write_session(r, tmp_path / "alone", f"s{i}").joinpath("session.png")
             for i, r in enumerate(results)]
    assert drawer.wait_ready(READY_S)
    drafts = drafts_of(results, tmp_path / "both")
    drawer.draw(drafts)
    folders = [d.commit() for d in drafts]
    assert drawer.drawn_there >= 1  # the second process took its share
    for picture, folder in zip(alone, folders, strict=True):
        assert (folder / "session.png").read_bytes() == picture.read_bytes()
    assert sorted(p.name for p in (tmp_path / "both" / ".work").iterdir()) == []


def test_a_drawer_that_died_leaves_its_pictures_to_the_batch(results, drawer, tmp_path):
    assert drawer.wait_ready(READY_S)
    os.kill(drawer._process.pid, signal.SIGKILL)
    drawer._process.join(10)
    drafts = drafts_of(results, tmp_path)
    drawer.draw(drafts)
    assert all(d.picture.read_bytes().startswith(b"\x89PNG") for d in drafts)
    assert drawer.drawn_there == 0
    drawer.draw(drafts_of(results[:2], tmp_path / "later"))  # and after: drawn here


def test_a_picture_that_cannot_be_written_fails_here_with_the_reason(results, drawer,
                                                                     tmp_path):
    assert drawer.wait_ready(READY_S)
    drafts = drafts_of(results[:2], tmp_path)
    drafts[0].discard()  # its folder is gone: neither process can write the picture
    with pytest.raises(OutputError, match="cannot write the session's outputs"):
        drawer.draw(drafts)


def test_the_drawer_dies_with_the_batch_process(tmp_path):
    script = ("import sys, time\n"
              "from dosewatch.batch import PictureDrawer\n"
              "d = PictureDrawer()\n"
              f"assert d.wait_ready({READY_S})\n"
              "print(d._process.pid, flush=True)\n"
              "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True)
    try:
        child = int(parent.stdout.readline())
        assert os.path.exists(f"/proc/{child}")
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        parent.stdout.close()


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
