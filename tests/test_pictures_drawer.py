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


def test_a_drawer_killed_halfway_through_a_picture_leaves_no_broken_picture(
        results, tmp_path, monkeypatch):
    """The second process dies while its picture is half written: the batch draws that
    picture again over the half-written file, and every picture is whole (the same bytes
    as drawn alone)."""
    import threading

    import dosewatch.plot as plot

    alone = [write_session(r, tmp_path / "alone", f"s{i}").joinpath("session.png")
             for i, r in enumerate(results)]
    parent, draw_here = os.getpid(), plot.plot_session
    started = tmp_path / "started"

    def halfway(result, path, *args, **kwargs):
        if os.getpid() == parent:
            return draw_here(result, path, *args, **kwargs)
        Path(path).write_bytes(alone[0].read_bytes()[:1000])  # half a picture, then hang
        started.write_text(str(os.getpid()))
        time.sleep(120)

    monkeypatch.setattr(plot, "plot_session", halfway)
    drawer = PictureDrawer()  # forked after the patch: the second process hangs halfway
    try:
        assert drawer.wait_ready(READY_S)

        def kill_when_halfway() -> None:
            deadline = time.monotonic() + 60
            while not started.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            if started.exists():
                os.kill(int(started.read_text()), signal.SIGKILL)

        killer = threading.Thread(target=kill_when_halfway, daemon=True)
        killer.start()
        drafts = drafts_of(results, tmp_path / "both")
        drawer.draw(drafts)
        killer.join(60)
        assert started.exists()  # the second process did start a picture, and died in it
        assert drawer.drawn_there == 0
        for draft, picture in zip(drafts, alone, strict=True):
            assert draft.picture.read_bytes() == picture.read_bytes()
    finally:
        drawer.close()


def test_a_stalled_drawer_is_killed_and_its_picture_drawn_here(results, drawer, tmp_path,
                                                                monkeypatch):
    import dosewatch.batch as batch

    monkeypatch.setattr(batch, "DRAWER_STALL_S", 1.0)
    assert drawer.wait_ready(READY_S)
    process = drawer._process
    os.kill(process.pid, signal.SIGSTOP)  # alive, never answering
    try:
        drafts = drafts_of(results, tmp_path)
        began = time.monotonic()

        def hung(signum, frame):
            raise AssertionError("draw() waited on a stalled drawer for 60 s")

        previous = signal.signal(signal.SIGALRM, hung)
        signal.alarm(60)
        try:
            drawer.draw(drafts)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        assert time.monotonic() - began < 30
        assert all(d.picture.read_bytes().startswith(b"\x89PNG") for d in drafts)
        process.join(10)
        assert not process.is_alive()  # killed, not left stopped
    finally:
        if process.is_alive():
            process.kill()


def test_a_batch_of_a_multi_session_input_commits_every_session_with_its_picture(
        tmp_path, monkeypatch):
    import shutil

    from support.paths import REAL

    import dosewatch.batch as batch

    shutil.copy(REAL / "Runalyze__Runalyze" / "Multiple-Trainings.tcx", tmp_path / "three.tcx")
    drawers = []
    make = batch.PictureDrawer.for_tasks

    def recorded(tasks, frozen=None):
        drawers.append(make(tasks, frozen))
        return drawers[-1]

    monkeypatch.setattr(batch.PictureDrawer, "for_tasks", staticmethod(recorded))
    report = batch.run_batch([tmp_path / "three.tcx"], tmp_path / "out", progress=False,
                             calibrate=False)
    assert len(report.rows) == 3 and not report.failures and drawers[0] is not None
    monkeypatch.setattr(batch.PictureDrawer, "for_tasks",
                        staticmethod(lambda tasks, frozen=None: None))
    batch.run_batch([tmp_path / "three.tcx"], tmp_path / "alone", progress=False,
                    calibrate=False)  # one process draws them all
    for row in report.rows:
        name = row.session
        drawn = (tmp_path / "out" / name / "session.png").read_bytes()
        assert drawn == (tmp_path / "alone" / name / "session.png").read_bytes()
    assert list((tmp_path / "out" / ".dosewatch" / "tmp").iterdir()) == []


def test_no_drawer_under_an_address_space_limit():
    script = ("import resource\n"
              "resource.setrlimit(resource.RLIMIT_AS, (8 << 30, resource.RLIM_INFINITY))\n"
              "from dosewatch.batch import _address_space_limited\n"
              "print(_address_space_limited())\n")
    limited = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert limited.stdout.strip() == "True", limited.stderr
    free = subprocess.run([sys.executable, "-c", script.split("\n", 2)[2]],
                          capture_output=True, text=True)
    assert free.stdout.strip() == "False", free.stderr
