"""The shared guard in front of every reader (issue 14): :func:`read_all` refuses what
could trap or fool a reader before it opens anything, and whatever a reader raises, the
caller gets dosewatch's own error."""

from __future__ import annotations

import gzip
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.hostile import hr_session

from dosewatch.errors import DosewatchError, InputError
from dosewatch.ingest.registry import ReadOptions, file_head, read_all


def test_a_fifo_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "x.gpx")
    start = time.monotonic()
    with pytest.raises(InputError, match="not a regular file: a FIFO"):
        read_all(tmp_path / "x.gpx")
    assert file_head(tmp_path / "x.gpx") == b""  # sniffing never waits on it either
    assert time.monotonic() - start < 5


def test_a_folder_holding_a_fifo_is_refused_naming_it(tmp_path):
    folder = hr_session(tmp_path / "run", minutes=1)
    os.mkfifo(folder / "profile.toml")
    with pytest.raises(InputError, match=r"profile.toml is not a regular file \(a FIFO"):
        read_all(folder)


def test_links_are_read_only_inside_the_roots(tmp_path):
    shared = hr_session(tmp_path / "shared", minutes=2)
    folder = tmp_path / "study" / "run"
    folder.mkdir(parents=True)
    os.symlink(shared / "hr.csv", folder / "hr.csv")
    with pytest.raises(InputError, match="hr.csv is a link to .* outside the folders given"):
        read_all(folder)
    # Given both folders as the roots, the link leads inside: it is read.
    (session,) = read_all(folder, ReadOptions(roots=(tmp_path / "study", shared)))
    assert session.hr.t.size == 120


SUFFIXES = ("x.fit", "x.fit.gz", "x.tcx", "x.gpx.gz", "x.dwrec", "x.bin", "x.cwa", "x.gt3x",
            "x.edf", "x.bdf", "x.db", "hr.csv", "hr.csv.gz", "acc.parquet", "profile.toml")
HEADS = (b"", b"\x0e\x10\xd9\x07", b".FIT", b"SQLite format 3\x00", b"PAR1", b"MD\x00\x04",
         b"PK\x03\x04", b"0       ", b"Device Identity\r\n",
         b"<?xml version='1.0'?><gpx", b"<TrainingCenterDatabase", b"time,hr\n",
         b"time,x,y,z\n", b"\x1f\x8b\x08\x00")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SUFFIXES), head=st.sampled_from(HEADS),
       body=st.binary(max_size=600), compress=st.booleans(), in_folder=st.booleans())
def test_any_bytes_under_any_name_give_a_session_or_dosewatchs_error(name, head, body,
                                                                     compress, in_folder):
    data = head + body
    if compress:
        data = gzip.compress(data)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "session"
        folder.mkdir()
        (folder / name).write_bytes(data)
        if in_folder and name not in ("hr.csv", "hr.csv.gz"):
            (folder / "hr.csv").write_text("time,hr\n0,60\n1,61\n")
        target = folder if in_folder or name.startswith(("hr.", "acc.", "profile")) \
            else folder / name
        try:
            sessions = read_all(target)
        except DosewatchError as exc:
            assert exc.reason and len(exc.reason) < 400  # a reason, not a dump
        else:
            assert sessions
