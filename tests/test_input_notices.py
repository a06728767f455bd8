"""What a batch must tell about an input beyond its sessions (issue 12 review, items 7 and
12): a truncated file is analysed for what it holds and says so (certainty lowered, a
console line), archive members that cannot be read are failures and tables inside an
archive are listed as skipped, and ZIP-based files that are no recording are skipped."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from support.paths import REAL

from dosewatch.analysis import analyze_session
from dosewatch.batch import run_batch
from dosewatch.errors import InputError
from dosewatch.ingest import read_session
from dosewatch.ingest.discover import discover
from dosewatch.session import truncation

FENIX = REAL / "dtcooper__python-fitparse" / "activity-small-fenix2-run.fit"
TCX = REAL / "corriporai__runpandas" / "11km.tcx"


def _cut(source: Path, target: Path, fraction: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


@pytest.mark.parametrize("source", [FENIX, TCX], ids=lambda p: p.suffix)
def test_a_truncated_file_lowers_the_certainty_with_the_reason(source, tmp_path):
    whole = analyze_session(read_session(source))
    assert not any("truncated" in r for r in whole.certainty.reasons)
    cut = analyze_session(read_session(_cut(source, tmp_path / f"cut{source.suffix}", 0.3)))
    assert truncation(cut.repairs) is not None
    assert cut.certainty.level != "high"
    assert any(r.startswith("the input is truncated") for r in cut.certainty.reasons)


def test_notes_about_other_members_of_an_archive_are_no_truncation():
    assert truncation(["1 archive members not read: a.fit: the FIT file is truncated"]) is None
    assert truncation(["the gzip stream is cut short; read what it holds"]) is not None


def test_the_batch_lists_truncated_inputs_and_archive_members_not_read(tmp_path):
    cut = _cut(FENIX, tmp_path / "cut.fit", 0.3)
    tiny = _cut(FENIX, tmp_path / "tiny.fit", 100 / FENIX.stat().st_size)
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.write(FENIX, "good.fit")
        zf.write(tiny, "tiny.fit")
        zf.writestr("notes/hr.csv", "time,hr\n0,120\n1,121\n")
        zf.writestr("summary.json", "{}")
    tiny.unlink()
    report = run_batch([cut, bundle], tmp_path / "out", pictures=False, calibrate=False)
    assert sorted(r.session for r in report.rows) == ["bundle", "cut"]
    assert [t["input"] for t in report.truncated] == [str(cut)]
    [member] = report.failures
    assert member["input"] == f"{bundle}!tiny.fit"
    assert "truncated before its first record" in member["reason"]
    # The CSV is named (it may be a recording); the summary.json is not an input at all.
    assert [s["input"] for s in report.unsupported] == [f"{bundle}!notes/hr.csv"]


def test_a_fit_cut_inside_its_first_record_says_it_is_truncated(tmp_path):
    tiny = _cut(FENIX, tmp_path / "tiny.fit", 100 / FENIX.stat().st_size)
    with pytest.raises(InputError, match="truncated before its first record") as err:
        read_session(tiny)
    assert "copy or export the file again" in err.value.hint


@pytest.mark.parametrize(("name", "what"), [("arrays.npz", "NumPy array archive"),
                                            ("sheet.xlsx", "Excel workbook")])
def test_zip_based_files_that_are_no_recording_are_skipped_as_what_they_are(
        tmp_path, name, what):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", b"\x93NUMPY")
    (tmp_path / "run.fit").write_bytes(FENIX.read_bytes())
    inventory = discover([tmp_path])
    assert [Path(p).name for p in inventory.inputs] == ["run.fit"] and not inventory.failed
    [skipped] = inventory.skipped
    assert what in skipped.hint


def test_a_rerun_that_skips_the_input_still_lists_its_notices(tmp_path):
    cut = _cut(FENIX, tmp_path / "cut.fit", 0.3)
    first = run_batch([cut], tmp_path / "out", pictures=False, calibrate=False)
    again = run_batch([cut], tmp_path / "out", pictures=False, calibrate=False)
    assert again.skipped == 1
    assert again.truncated == first.truncated == [
        {"input": str(cut), "reason": first.truncated[0]["reason"]}]


def test_the_batch_names_an_input_whose_damaged_parts_were_left_out(tmp_path):
    """A .cwa whose data blocks fail their checksum is analysed without them, and the
    console's check: lines name it (review 2026-11-25c, item 10: only summary.json did)."""
    cwa = Path(__file__).parent / "data" / "cwa"
    damaged = cwa / "ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa"
    whole = cwa / "ax3_testfile.cwa"
    report = run_batch([damaged, whole], tmp_path / "out", pictures=False, calibrate=False)
    assert len(report.rows) == 2
    [check] = report.checks
    assert check["input"] == str(damaged)
    assert "data blocks with a checksum that does not match (damaged)" in check["reason"]
    assert "copy the file from the device again" in check["hint"]


def test_a_table_that_is_no_recording_is_skipped_with_its_reason_not_failed(tmp_path):
    """A questionnaire saved as CSV among a participant's files (review 2026-11-25c,
    item 9) failed the batch (exit 1), where the same file inside a zip was skipped: it
    is listed as skipped with why and how to read it if it is a recording after all."""
    from dosewatch.cli import main

    study = tmp_path / "study" / "P01"
    study.mkdir(parents=True)
    (study / "questionnaire.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    (study / "run.fit").write_bytes(FENIX.read_bytes())
    report = run_batch(discover([study.parent]), tmp_path / "out", pictures=False,
                       calibrate=False)
    assert [r.session for r in report.rows] == ["run"] and report.failures == []
    [skipped] = [s for s in report.unsupported if s["input"].endswith("questionnaire.csv")]
    assert skipped["reason"].startswith("not a recording: no column names a time")
    assert "--columns time=COLUMN" in skipped["hint"]
    assert main(["analyze", str(study.parent), "--out", str(tmp_path / "cli"), "-q",
                 "--no-pictures", "--no-calibration"]) == 0


def test_the_notices_are_listed_in_the_inputs_order_whatever_finished_first():
    """With --workers 2 the truncated inputs came out in the order the processes finished
    them (review 2026-11-25c, item 14): listed by input, as with one process."""
    from dosewatch.batch import BatchReport, Done, _add_notices

    done = [Done(Path(f"/study/{name}"), [], [], notices=[
        {"kind": "truncated", "input": f"/study/{name}", "reason": "cut short"},
        {"kind": "check", "input": f"/study/{name}", "reason": "damaged"}])
        for name in ("c.cwa", "a.edf", "b.fit")]
    report = BatchReport()
    _add_notices(report, done)
    order = ["/study/a.edf", "/study/b.fit", "/study/c.cwa"]
    assert [t["input"] for t in report.truncated] == order
    assert [c["input"] for c in report.checks] == order
