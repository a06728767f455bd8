"""Copies of one activity across a batch's inputs: fingerprinted, marked, counted once
(review 2026-11-25, item 4)."""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from support.activity_files import T0, fit_activity, points, tcx_text, write

from dosewatch.adherence import compute_adherence
from dosewatch.batch import run_batch
from dosewatch.cli import main
from dosewatch.duplicates import counted, mark_duplicates, mark_summaries, stream_digest
from dosewatch.ingest.discover import discover
from dosewatch.ingest.registry import ReadOptions, read_all
from dosewatch.rows import SessionRow, read_rows
from dosewatch.session import build_session

START = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)


def _session(name: str, bpm: np.ndarray, *, t: np.ndarray | None = None):
    t = np.arange(len(bpm), dtype=float) if t is None else t
    return build_session(name, hr=(t, bpm), source=f"{name}.csv", start_time=START)


def test_the_digest_is_of_the_samples_not_of_names_or_sources():
    bpm = 120 + np.arange(600) % 9.0
    a, b = _session("a", bpm), _session("b", bpm.copy())
    assert stream_digest(a) == stream_digest(b)
    # The same samples written with float noise (another format's rounding) are the same.
    noisy = _session("c", bpm + 1e-9, t=np.arange(600.0) + 1e-7)
    assert stream_digest(noisy) == stream_digest(a)
    changed = bpm.copy()
    changed[300] += 1  # one sample of 600 differs: another recording
    assert stream_digest(_session("d", changed)) != stream_digest(a)
    assert stream_digest(_session("e", bpm[:-1])) != stream_digest(a)


def test_a_long_stream_is_told_apart_from_another_recording():
    """Past SAMPLED samples the digest hashes an even subsample and the length: the same
    long recording gives the same digest, another recording (different in nearly every
    sample) or the same one a sample shorter another."""
    from dosewatch.duplicates import SAMPLED

    n = 4 * SAMPLED + 7
    t = np.arange(n) / 100.0
    xyz = np.random.default_rng(1).normal(0, 0.3, (n, 3)).astype(np.float32)
    xyz[:, 2] += 1.0
    other = np.random.default_rng(2).normal(0, 0.3, (n, 3)).astype(np.float32)
    other[:, 2] += 1.0
    one = build_session("a", acc=(t, xyz))
    assert stream_digest(one) == stream_digest(build_session("b", acc=(t, xyz.copy())))
    assert stream_digest(one) != stream_digest(build_session("c", acc=(t, other)))
    assert stream_digest(one) != stream_digest(build_session("d", acc=(t[:-1], xyz[:-1])))


def test_the_digest_covers_every_stream():
    bpm = 120 + np.arange(300) % 9.0
    t = np.arange(300.0)
    hr_only = build_session("a", hr=(t, bpm))
    with_speed = build_session("b", hr=(t, bpm), speed=(t, np.full(300, 3.0)))
    faster = build_session("c", hr=(t, bpm), speed=(t, np.full(300, 3.1)))
    assert len({stream_digest(s) for s in (hr_only, with_speed, faster)}) == 3


def row(session: str, *, participant: str = "P1", start: datetime | None = START,
        digest: str | None = "d1", source: str | None = None, dose: bool = True) -> SessionRow:
    record = {"session": session, "participant": participant,
              "start_time": "" if start is None else start.isoformat(), "dose_met": str(dose),
              "minutes_at_or_above_intermediate": "35", "source": source or f"{session}.tcx",
              "duration_s": "3000", "session_class": "constant",
              "longest_bout_qualifying_minutes": "35", "n_bouts": "1",
              "intensity_source": "heart_rate", "placement": "wrist", "minutes_rest": "5",
              "minutes_constant": "35", "minutes_intermediate": "0",
              "minutes_accelerating": "0", "minutes_missing": "0", "n_warnings": "0",
              "output": session, "content_digest": digest or ""}
    return SessionRow.from_record(record)


def test_copies_need_the_same_participant_start_and_samples():
    rows = [
        row("zip-1", source="p/bulk.zip!run.tcx"),
        row("run-copy", source="p/run-copy.tcx.gz"),
        row("run", source="p/run.tcx"),
        row("other-person", participant="P2"),
        row("next-day", start=START + timedelta(days=1)),
        row("strap", digest="d2"),  # same start, other samples: a second device
        row("old-table", digest=None),  # a row of an older version: never a copy
    ]
    marked, found = mark_duplicates(rows)
    # The plainest input is kept: a file of its own, uncompressed.
    assert found.copies == {"zip-1": "run", "run-copy": "run"}
    assert [r.duplicate_of for r in marked] == ["run", "run", None, None, None, None, None]
    assert found.same_start == [("run", "strap")]
    assert [r.session for r in counted(marked)] == ["run", "other-person", "next-day",
                                                     "strap", "old-table"]
    # Marks are recomputed from scratch: a stale mark goes away.
    again, _ = mark_duplicates([replace(r, duplicate_of="x") for r in rows[3:]])
    assert all(r.duplicate_of is None for r in again)


def test_the_start_is_compared_to_the_second_in_utc():
    berlin = START.astimezone(datetime.fromisoformat("2024-03-04T09:00:00+01:00").tzinfo)
    rows = [row("a"), row("b", start=berlin + timedelta(milliseconds=400)),
            row("u1", start=None), row("u2", start=None)]
    _, found = mark_duplicates(rows)
    assert found.copies == {"b": "a", "u2": "u1"}


def test_a_copys_summary_says_what_it_copies_and_that_it_is_not_counted(tmp_path):
    out = tmp_path / "out"
    for name in ("run", "run-copy"):
        (out / name).mkdir(parents=True)
        (out / name / "summary.json").write_text(json.dumps(
            {"session": name, "dose_met": True, "duplicate_of": None, "counted": True}))
    rows, _ = mark_duplicates([row("run"), row("run-copy", source="p/run-copy.tcx.gz")])
    assert mark_summaries(rows, out) == 1  # only the copy's is rewritten
    copy = json.loads((out / "run-copy" / "summary.json").read_text())
    assert copy["duplicate_of"] == "run" and copy["counted"] is False
    assert "copy of session run" in copy["duplicate_note"] and "counted once" in \
        copy["duplicate_note"]
    assert copy["dose_met"] is True  # the rest of the summary is kept
    original = json.loads((out / "run" / "summary.json").read_text())
    assert original["duplicate_of"] is None and original["counted"] is True
    assert mark_summaries(rows, out) == 0  # said already: nothing rewritten
    # The original gone (deleted from the inputs): the copy is counted again, unmarked.
    alone, _ = mark_duplicates([row("run-copy", source="p/run-copy.tcx.gz")])
    assert mark_summaries(alone, out) == 1
    now = json.loads((out / "run-copy" / "summary.json").read_text())
    assert now["duplicate_of"] is None and now["counted"] is True
    assert "duplicate_note" not in now


def test_adherence_counts_a_copied_activity_once():
    monday = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    rows = [row("run", start=monday), row("run-copy", start=monday),
            row("run-zip", start=monday)]
    rows, _ = mark_duplicates(rows)
    a = compute_adherence(rows)
    (week,) = a.weeks
    (person,) = a.participants
    assert (week.sessions, week.dose_sessions, week.dose_days) == (1, 1, 1)
    assert week.minutes_at_or_above_intermediate == 35
    assert (person.sessions, person.copies, person.dose_sessions) == (1, 2, 1)
    assert len(a.session_weeks) == 3  # every row still has its week (the report's table)
    unmarked = compute_adherence([replace(r, duplicate_of=None) for r in rows])
    assert unmarked.weeks[0].dose_sessions == 3


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One participant's folder: a run as .tcx, a .tcx.gz copy, a bulk zip holding it
    again with another run, and the same run recorded by a second device."""
    root = tmp_path_factory.mktemp("dup")
    folder = root / "P9"
    folder.mkdir()
    run = tcx_text([points(900, hr=150.0)])
    write(folder / "run.tcx", run)
    write(folder / "run-copy.tcx.gz", run)
    other = tcx_text([points(900, start=T0 + 2 * 86_400, hr=140.0)])
    with zipfile.ZipFile(folder / "bulk.zip", "w") as z:
        z.writestr("export/run.tcx", run)
        z.writestr("export/other.tcx", other)
    write(folder / "strap.tcx", tcx_text([points(900, hr=151.0)]))
    return root


@pytest.mark.e2e
def test_a_batch_marks_copies_and_counts_each_activity_once(exports, tmp_path, capsys):
    out = tmp_path / "out"
    report = run_batch(discover([exports]), out, pictures=False, progress=False)
    rows = {r.session: r for r in read_rows(out)}
    assert set(rows) == {"run", "run-copy", "bulk-1", "bulk-2", "strap"}  # nothing lost
    assert all((out / name / "summary.json").is_file() for name in rows)
    copies = {name: r.duplicate_of for name, r in rows.items() if r.duplicate_of}
    same = {rows["bulk-1"].session, rows["bulk-2"].session}
    zipped_run = next(n for n in same if rows[n].start_time == rows["run"].start_time)
    assert copies == {"run-copy": "run", zipped_run: "run"}
    assert report.copies.copies == copies
    assert report.copies.same_start == [("run", "strap")]
    assert rows["strap"].duplicate_of is None  # another device's samples: counted
    with open(out / "sessions.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert {r["session"]: r["duplicate_of"] for r in table}["run-copy"] == "run"
    for name in rows:  # each copy's own summary says so, the others that they count
        summary = json.loads((out / name / "summary.json").read_text())
        assert (summary["duplicate_of"], summary["counted"]) == (
            copies.get(name), name not in copies)
    # Calibration learned from each activity once: run, strap, the other run.
    calibration = (out / "calibration" / "P9.toml").read_text()
    assert "learned from 3 sessions" in calibration
    # A rerun (resumed from stored rows) marks the same copies.
    again = run_batch(discover([exports]), out, pictures=False, progress=False)
    assert again.skipped == 4 and again.copies.copies == copies


@pytest.mark.e2e
def test_the_console_says_copies_are_counted_once(exports, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", str(exports), "--out", str(out), "-q", "--no-pictures"]) == 0
    said = capsys.readouterr().out
    assert "2 sessions are copies of others (same participant, start and samples): " \
           "counted once" in said
    assert "run-copy = run" in said
    assert "sessions run, strap start at the same time with different samples" in said
    assert main(["report", str(out)]) == 0
    with open(out / "adherence.csv", newline="") as fh:
        weeks = {r["week"]: r for r in csv.DictReader(fh)}
    # run, strap and the other run: one week, each activity once (five rows).
    assert [(w["week"], w["sessions"]) for w in weeks.values()] == [("2023-W46", "3")]
    page = (out / "report.html").read_text()
    assert "(copy of run, not counted again)" in page
    assert "2 copies of these not counted" in page


def test_the_same_samples_from_fit_and_tcx_are_copies(tmp_path):
    samples = [{"t": T0 + i, "hr": 120 + i % 7} for i in range(600)]
    fit = write(tmp_path / "run.fit", fit_activity(samples))
    tcx = write(tmp_path / "run.tcx", tcx_text([[{"t": p["t"], "hr": p["hr"]}
                                                 for p in samples]]))
    (a,) = read_all(fit, ReadOptions())
    (b,) = read_all(tcx, ReadOptions())
    assert a.provenance.start_time == b.provenance.start_time
    assert stream_digest(a) == stream_digest(b)


@pytest.mark.e2e
def test_copies_inside_one_archive_are_learned_from_once(tmp_path):
    folder = tmp_path / "in" / "Z1"
    folder.mkdir(parents=True)
    run = tcx_text([points(900, hr=150.0)])
    with zipfile.ZipFile(folder / "export.zip", "w") as z:
        z.writestr("a/run.tcx", run)
        z.writestr("b/run-copy.tcx", run)
        z.writestr("c/other.tcx", tcx_text([points(900, start=T0 + 86_400, hr=140.0)]))
    analysed: list[object] = []
    report = run_batch(discover([tmp_path / "in"]), tmp_path / "out", pictures=False,
                       progress=False, on_result=lambda status, done: analysed.append(done))
    assert list(report.copies.copies.values()) == ["export-1"]
    assert "learned from 2 sessions" in (tmp_path / "out" / "calibration" / "Z1.toml"
                                         ).read_text()
    # The input learned what the batch's round learns: it is not analysed a second time.
    assert len(analysed) == 1


def test_a_copy_handed_in_a_later_run_is_not_learned_from_again(tmp_path):
    """Run 1 learns from three activities; run 2, into the same output folder, gets only
    a gzipped copy of one of them: the calibration still rests on three sessions, the
    plain run.tcx being the copy that counts (as in one batch of all four), and run 2
    says its session is a copy of run 1's."""
    folder = tmp_path / "P01"
    folder.mkdir()
    (folder / "profile.toml").write_text('id = "P01"\nage = 30\n')
    run = tcx_text([points(1800, hr=150.0)])
    write(folder / "run.tcx", run)
    write(folder / "other.tcx", tcx_text([points(1800, start=T0 + 2 * 86_400, hr=140.0)]))
    write(folder / "third.tcx", tcx_text([points(1800, start=T0 + 4 * 86_400, hr=145.0)]))
    out = tmp_path / "out"

    def sessions() -> list[str]:
        text = (out / "calibration" / "P01.toml").read_text()
        return [line for line in text.splitlines() if line.startswith("sessions")]

    run_batch(discover([folder / n for n in ("run.tcx", "other.tcx", "third.tcx")]), out,
              pictures=False, progress=False)
    assert sessions() == ["sessions = 3"]
    write(folder / "run-copy.tcx.gz", run)
    report = run_batch(discover([folder / "run-copy.tcx.gz"]), out, pictures=False,
                       progress=False)
    assert sessions() == ["sessions = 3"]
    counted_earlier = {Path(e["input"]).name: e["counted"] for e in report.elsewhere}
    assert counted_earlier == {"run.tcx": True, "other.tcx": True, "third.tcx": True}
    assert report.earlier_copies == [{"session": "run-copy", "copy_of": str(out / "run"),
                                      "input": str(folder.resolve() / "run.tcx")}]


def test_a_plain_copy_under_another_name_in_a_later_run_is_said_and_counted_once(
        tmp_path, capsys):
    """Run 2 gets a.tcx, the same activity as run 1's x.tcx under another name (the
    plainer name, so it is the one that counts now): the console says it is a copy of
    run 1's session, and the calibration is that of all three files at once."""
    folder = tmp_path / "in" / "P01"
    folder.mkdir(parents=True)
    run = tcx_text([points(900, hr=150.0)])
    write(folder / "x.tcx", run)
    write(folder / "other.tcx", tcx_text([points(900, start=T0 + 2 * 86_400, hr=140.0)]))
    out = tmp_path / "out"
    assert main(["analyze", str(folder / "x.tcx"), str(folder / "other.tcx"), "--out",
                 str(out), "-q", "--no-pictures"]) == 0
    capsys.readouterr()
    write(folder / "a.tcx", run)
    assert main(["analyze", str(folder / "a.tcx"), "--out", str(out), "-q",
                 "--no-pictures"]) == 0
    said = capsys.readouterr().out
    assert f"a is a copy of {out / 'x'} ({folder.resolve() / 'x.tcx'}), analysed by an " \
           "earlier run: its participant's calibration counts the activity once" in said
    text = (out / "calibration" / "P01.toml").read_text()
    assert "learned from 2 sessions" in text
    run_batch(discover([tmp_path / "in"]), tmp_path / "all", pictures=False, progress=False)
    assert (tmp_path / "all" / "calibration" / "P01.toml").read_text() == text


def _there(source: str, files: object) -> bool:
    """The input check of these tests (the batch compares sizes and times)."""
    return Path(source).is_file() and files == "its sizes and times"


def _stored(folder: Path, session: str, *, counted: bool = True,
            digest: str = "d1", source: str | None = None) -> Path:
    """A session folder as a run leaves it: run.json (its row, its input's fingerprint)
    and summary.json (whether it counts). The input is a file that is still there."""
    folder.mkdir(parents=True)
    source_file = folder.parent / f"{session}-input.tcx"
    source_file.write_text("x")
    record = row(session, digest=digest, source=source or str(source_file)).to_record()
    (folder / "run.json").write_text(json.dumps({
        "fingerprint": {"input": str(source_file), "files": "its sizes and times"},
        "row": record}))
    (folder / "summary.json").write_text(json.dumps(
        {"session": session, "duplicate_of": None if counted else "y", "counted": counted}))
    return folder


def test_a_copy_of_an_earlier_runs_session_names_it_relative_to_the_output_folder(tmp_path):
    """Review 2026-11-25b, item 5: the later run's copy is the one marked, by the earlier
    session's folder relative to this output folder, and is not counted; a session of
    this run's table that copies another of it keeps that mark."""
    from dosewatch.duplicates import copies_of_earlier, stored_earlier

    out = tmp_path / "calB"
    for name in ("copy", "copy-zip", "new"):
        (out / name).mkdir(parents=True)
        (out / name / "summary.json").write_text(json.dumps(
            {"session": name, "duplicate_of": None, "counted": True}))
    rows = [row("copy"), row("copy-zip", source="p/bulk.zip!copy.tcx"),
            row("new", digest="d2")]
    a = stored_earlier(_stored(tmp_path / "calA" / "run", "run"), _there)
    assert a is not None and a.key == ("P1", START, "d1")
    marks = copies_of_earlier(rows, [a], out, _there)
    assert marks == {"copy": "../calA/run"}
    marked, found = mark_duplicates(rows, marks)
    assert [r.duplicate_of for r in marked] == ["../calA/run", "copy", None]
    assert found.copies == {"copy-zip": "copy"} and found.earlier == marks
    assert [r.session for r in counted(marked)] == ["new"]
    assert mark_summaries(marked, out) == 2
    summary = json.loads((out / "copy" / "summary.json").read_text())
    assert (summary["duplicate_of"], summary["counted"]) == ("../calA/run", False)
    assert "an earlier run analysed" in summary["duplicate_note"]
    # A session this output folder keeps from an earlier run: by its name.
    two = tmp_path / "two"
    b = stored_earlier(_stored(two / "run", "run"), _there)
    assert copies_of_earlier(rows, [b], two, _there) == {"copy": "run"}


def test_only_a_counted_earlier_session_whose_input_is_there_is_an_original(tmp_path):
    """An earlier session that is itself a copy (counted: false) would leave the activity
    counted nowhere; one whose input was deleted no longer speaks for it; one in a folder
    this run wrote is this run's. Of two that count, the plainest is named."""
    from dosewatch.duplicates import Earlier, copies_of_earlier, stored_earlier

    out = tmp_path / "out"
    (out / "copy").mkdir(parents=True)
    rows = [row("copy")]
    not_counted = stored_earlier(_stored(tmp_path / "A" / "run", "run", counted=False),
                                 _there)
    assert copies_of_earlier(rows, [not_counted], out, _there) == {}
    gone = _stored(tmp_path / "B" / "run", "run")
    (gone.parent / "run-input.tcx").unlink()
    assert stored_earlier(gone, _there) is None
    assert copies_of_earlier(rows, [Earlier(("P1", START, "d1"), out / "copy")], out,
                             _there) == {}
    zipped = stored_earlier(_stored(tmp_path / "C" / "run", "run", source="a.zip!run.tcx"),
                            _there)
    plain = stored_earlier(_stored(tmp_path / "D" / "run", "run", source="run.tcx"), _there)
    assert copies_of_earlier(rows, [zipped, plain], out, _there) == {"copy": "../D/run"}


def test_a_copy_keeps_its_mark_while_the_session_it_names_counts(tmp_path):
    """The calibration folder forgets an earlier session whose later copy its
    calibration learns from instead (the plainer one): the copy's own summary remembers
    what it copies, and the mark stays while that session is there and counted."""
    from dosewatch.duplicates import copies_of_earlier

    out = tmp_path / "calB"
    _stored(tmp_path / "calA" / "run", "run")
    (out / "copy").mkdir(parents=True)
    (out / "copy" / "summary.json").write_text(json.dumps(
        {"session": "copy", "duplicate_of": "../calA/run", "counted": False}))
    assert copies_of_earlier([row("copy")], [], out, _there) == {"copy": "../calA/run"}
    (tmp_path / "calA" / "run" / "summary.json").write_text(json.dumps({"counted": False}))
    assert copies_of_earlier([row("copy")], [], out, _there) == {}


def test_the_report_reads_an_earlier_runs_copy_from_the_table(tmp_path):
    from dosewatch.outputs import write_rows
    from dosewatch.report.data import load_study

    out = tmp_path / "calB"
    out.mkdir()
    rows, _ = mark_duplicates([row("copy"), row("copy-gz", source="p/copy.tcx.gz"),
                               row("new", digest="d2")], {"copy": "../calA/run"})
    write_rows(rows, out)
    study = load_study(out)
    assert study.copies.earlier == {"copy": "../calA/run"}
    assert study.copies.copies == {"copy-gz": "copy"}
    (line,) = [n for n in study.left_out if "earlier run" in n]
    assert line.startswith("1 session is a copy of a session an earlier run analysed into "
                           f"{tmp_path / 'calA'} ")
    assert "not counted again" in line and "copy = ../calA/run" in line
    (person,) = study.adherence.participants
    assert (person.sessions, person.copies) == (1, 2)


@pytest.mark.e2e
def test_a_later_runs_copy_is_marked_in_its_own_outputs_and_report(tmp_path, monkeypatch,
                                                                  capsys):
    """Review 2026-11-25b, items 5 and 11: week B, analysed into another output folder
    sharing week A's calibration folder, holds a copy of a week A run. B's outputs say so
    (duplicate_of names A's session relative to B, counted false) so that A's and B's
    tables together count the run once; the console names A's session relative to the
    working folder; `dosewatch report` says it, its notes before its path. B's copy is
    the plainer file (the one the calibration learns from): reruns of either week keep
    the run counted exactly once."""
    monkeypatch.chdir(tmp_path)
    run = tcx_text([points(900, hr=150.0)])
    for path, text in (("in/wA/P01/run.tcx.gz", run),
                       ("in/wA/P01/other.tcx", tcx_text([points(900, start=T0 + 86_400,
                                                                hr=140.0)])),
                       ("in/wB/P01/run-copy.tcx", run),
                       ("in/wB/P01/third.tcx", tcx_text([points(900, start=T0 + 3 * 86_400,
                                                                hr=145.0)]))):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write(Path(path), text)
    options = ["--calibration", "out/calC", "-q", "--no-pictures"]
    assert main(["analyze", "in/wA", "--out", "out/calA", *options]) == 0
    capsys.readouterr()
    assert main(["analyze", "in/wB", "--out", "out/calB", *options]) == 0
    said = capsys.readouterr().out
    assert "run-copy is a copy of out/calA/run (in/wA/P01/run.tcx.gz), analysed by an " \
           "earlier run" in said
    assert "1 session is a copy of a session an earlier run analysed into out/calA (same " \
           "participant, start and samples): not counted again in these tables " \
           "(run-copy = ../calA/run;" in said
    b = {r.session: r for r in read_rows(Path("out/calB"))}
    assert (b["run-copy"].duplicate_of, b["third"].duplicate_of) == ("../calA/run", None)
    with open("out/calB/sessions.csv", newline="") as fh:
        assert {r["session"]: r["duplicate_of"] for r in csv.DictReader(fh)} == {
            "run-copy": "../calA/run", "third": ""}
    copy = json.loads(Path("out/calB/run-copy/summary.json").read_text())
    assert (copy["duplicate_of"], copy["counted"]) == ("../calA/run", False)
    assert json.loads(Path("out/calA/run/summary.json").read_text())["counted"] is True
    both = read_rows(Path("out/calA")) + read_rows(Path("out/calB"))
    (person,) = compute_adherence(both).participants
    assert (person.sessions, person.copies) == (3, 1)  # run, other, third: each once

    monkeypatch.setattr("sys.stderr", __import__("sys").stdout)  # one stream, in order
    assert main(["report", "out/calB"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "report: out/calB/report.html"  # the notes come first
    assert lines[0].startswith("note: 1 session is a copy of a session an earlier run "
                               "analysed into out/calA")
    assert "1 copy of sessions analysed in another run or folder, not counted" in \
        Path("out/calB/report.html").read_text()
    with open("out/calB/participants.csv", newline="") as fh:
        (p01,) = csv.DictReader(fh)
    assert (p01["sessions"], p01["copies"]) == ("1", "1")

    # B again (resumed): the calibration folder no longer keeps A's gzipped run (B's
    # plain copy is the one it learns from), yet B's copy stays marked.
    again = run_batch(discover([Path("in/wB")]), Path("out/calB"), pictures=False,
                      progress=False, calibration_dir=Path("out/calC"))
    assert again.skipped == 2 and again.copies.earlier == {"run-copy": "../calA/run"}
    # A again: its run is not marked as a copy of B's, which is a copy: counted in A.
    again = run_batch(discover([Path("in/wA")]), Path("out/calA"), pictures=False,
                      progress=False, calibration_dir=Path("out/calC"))
    assert again.copies.earlier == {} and all(r.duplicate_of is None for r in again.rows)

    # Two runs into one output folder: the second run's copy names the first's session.
    assert main(["analyze", "in/wA", "--out", "out/two", "-q", "--no-pictures"]) == 0
    assert main(["analyze", "in/wB", "--out", "out/two", "-q", "--no-pictures"]) == 0
    assert {r.session: r.duplicate_of for r in read_rows(Path("out/two"))} == {
        "run-copy": "run", "third": None}
