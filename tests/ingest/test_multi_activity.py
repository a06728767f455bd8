"""An input of several activities (a Garmin "history" TCX) where one activity holds no
usable data: that activity is a failure of its own, ``FILE!NAME-k`` with a hint, and the
file's other activities are analysed (review: the empty one became a session of class
``none`` counted in adherence, or failed the whole file)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from support.paths import REAL

from dosewatch.batch import run_batch
from dosewatch.errors import InputError
from dosewatch.ingest.registry import read_all

HISTORY = REAL / "Runalyze__Runalyze" / "Multiple-Trainings.tcx"
KEEP = 400  # trackpoints per activity kept: about 20 minutes, a fast test


def _history(tmp_path: Path, second: str) -> Path:
    """The real three-activity file, each activity cut to its first trackpoints, with the
    second one spoilt as ``second`` says."""
    text = HISTORY.read_text(encoding="utf-8")
    parts = re.split(r"(<Activity\b.*?</Activity>)", text, flags=re.DOTALL)
    for i, part in enumerate(parts):
        if not part.startswith("<Activity"):
            continue
        part = _kept(part, lambda k: k < KEEP)
        if sum(p.startswith("<Activity") for p in parts[:i]) == 1:
            if second == "times only":
                part = _times_only(part)
            elif second == "seconds":  # its first 3 trackpoints
                part = _kept(part, lambda k: k < 3)
            elif second == "sparse":  # every 100th
                part = _kept(part, lambda k: k % 100 == 0)
        parts[i] = part
    path = tmp_path / "history.tcx"
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _kept(text: str, keep: Callable[[int], bool]) -> str:
    """The text with the k-th trackpoint kept where ``keep(k)``."""
    points = re.findall(r"<Trackpoint>.*?</Trackpoint>", text, flags=re.DOTALL)
    counter = iter(range(len(points)))
    return re.sub(r"<Trackpoint>.*?</Trackpoint>",
                  lambda m: m.group(0) if keep(next(counter)) else "", text, flags=re.DOTALL)


def _times_only(text: str) -> str:
    """Trackpoints with their times only: no heart rate, speed, distance or position."""
    return re.sub(r"<(HeartRateBpm|Extensions|DistanceMeters|Position|AltitudeMeters)\b"
                  r".*?</\1>", "", text, flags=re.DOTALL)


@pytest.mark.parametrize(("second", "why"), [
    ("times only", "no heart rate"),
    ("seconds", "spans 30 s (the longest: 0 s): nothing to analyse"),
    ("sparse", "no stream of 10 samples or more spans 30 s"),  # 4 samples in 20 min
])
def test_an_empty_activity_is_a_failure_and_the_others_are_read(tmp_path, second, why):
    path = _history(tmp_path, second)
    sessions = read_all(path)
    assert [s.name for s in sessions] == ["history-1", "history-3"]
    assert all(s.duration_s > 600 for s in sessions)
    [failed] = [n for s in sessions for n in s.provenance.notices if n.kind == "failed"]
    assert failed.source == f"{path}!history-2"
    assert failed.reason.startswith("activity 2 of 3 in the file, started 2012-01-20")
    assert why in failed.reason and failed.hint


def test_a_file_of_empty_activities_is_refused(tmp_path):
    text = _times_only(HISTORY.read_text("utf-8"))
    path = tmp_path / "none.tcx"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="none of its 3 activities holds usable data"):
        read_all(path)


def test_the_batch_lists_the_empty_activity_with_its_failures(tmp_path):
    path = _history(tmp_path, "seconds")
    report = run_batch([path], tmp_path / "out", pictures=False, progress=False,
                       calibrate=False)
    assert [r.session for r in report.rows] == ["history-1", "history-3"]
    failures = json.loads((tmp_path / "out" / "failures.json").read_text())
    assert [f["input"] for f in failures] == [f"{path}!history-2"]
