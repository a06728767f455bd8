"""The ECG file of a Polar Sensor Logger recording (Polar H10, 130 Hz, µV).

The recordings are written by ``support.polar_ecg`` in the H10's layout around a real ECG:
10 minutes of MIT-BIH record 100, lead MLII (PhysioNet, ODC-By 1.0; an adult at rest with a
few premature beats), resampled to 130 Hz, against the cardiologists' beat annotations.
(The one public Polar Sensor Logger ECG found is GPL-3.0 and stays out of the repository:
``scripts/validate_polar_ecg.py`` checks it against the strap's own HR file.) Required:

- without an HR, RR or PPI file, the heart rate is derived from the ECG: every beat kept
  within 2 samples (15 ms) of an annotated one after the constant transfer delay, and the
  per-minute heart rate within 2 bpm of the annotations' (as the EDF reader's ECG is held
  to in ``test_ecg.py``); the sample times come from the sensor's clock, not the phone's
  (whose per-packet delay of up to 0.4 s would scatter the beats);
- with the strap's HR file, that heart rate is the session's, value for value, and the
  session says the ECG file was read and not used;
- a flat, noisy or unreadable ECG gives no heart rate and the session or the refusal says
  why; damaged ECG files never give a heart rate off the annotations.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import polar_ecg as pe
from support.contract import check

from dosewatch.errors import InputError
from dosewatch.ingest import read_sessions
from dosewatch.ingest.discover import discover
from dosewatch.ingest.formats.polar_sensor_logger import recordings
from dosewatch.ingest.registry import reader_for

SAMPLE_S = 1.0 / pe.FS


@pytest.fixture(scope="module")
def ecg_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("psl-ecg") / "recording"
    pe.write_recording(folder)
    return folder


def session_beats(session) -> np.ndarray:
    """The session's heart-rate times in seconds from the recording's start (START)."""
    return session.hr.t + session.provenance.time_origin_s - pe.START.timestamp()


def signed_nearest(t: np.ndarray, beats: np.ndarray) -> np.ndarray:
    j = np.clip(np.searchsorted(beats, t), 1, beats.size - 1)
    before, after = t - beats[j - 1], t - beats[j]
    return np.where(np.abs(before) <= np.abs(after), before, after)


def minute_bpm(t: np.ndarray, rr_ms: np.ndarray, minutes: int) -> np.ndarray:
    minute = (t // 60).astype(int)
    inside = (minute >= 0) & (minute < minutes)
    total = np.bincount(minute[inside], weights=rr_ms[inside] / 1000, minlength=minutes)
    count = np.bincount(minute[inside], minlength=minutes)
    return 60.0 / (total / count)


def test_without_hr_the_heart_rate_comes_from_the_ecg(ecg_only: Path) -> None:
    assert reader_for(ecg_only).name == "polar-sensor-logger"
    (session,) = read_sessions(ecg_only)
    ref = pe.reference()
    hr = session.hr
    assert hr is not None and hr.rr_ms is not None and session.acc is None
    assert np.allclose(hr.bpm, 60_000 / hr.rr_ms)
    note = next(r for r in session.provenance.repairs if r.startswith("heart rate derived"))
    assert "no HR, RR or PPI file; 78000 samples at 130.0 Hz" in note
    assert "sensor's clock" in " ".join(session.provenance.repairs)
    # Every kept beat is an annotated one, shifted by the one transfer delay the sensor
    # clock was put on the phone's clock with (the median; 0.05-0.45 s per packet).
    error = signed_nearest(session_beats(session), ref["reference"])
    delay = float(np.median(error))
    assert 0.05 <= delay <= 0.45
    assert np.max(np.abs(error - delay)) <= 2 * SAMPLE_S
    assert hr.bpm.size >= 0.95 * (ref["reference"].size - 1)
    got = minute_bpm(session_beats(session) - delay, hr.rr_ms, ref["minute_bpm"].size)
    assert np.all(np.abs(got - ref["minute_bpm"]) <= 2.0), np.c_[got, ref["minute_bpm"]]


def test_the_phone_clock_alone_would_scatter_the_beats(ecg_only: Path) -> None:
    """The test above can fail: the phone's timestamps, per-packet delays and all, put the
    same beats up to 0.4 s apart from where the sensor's clock puts them."""
    ecg = next(ecg_only.glob("*_ECG.txt"))
    lines = ecg.read_text().splitlines()[1:]
    phone = np.array([ln.split(";", 1)[0] for ln in lines], dtype="datetime64[ms]")
    phone_s = (phone - np.datetime64(pe.START.replace(tzinfo=None), "ms")) / np.timedelta64(
        1, "s")
    sensor_s = np.arange(phone_s.size) * SAMPLE_S
    assert np.ptp(phone_s - sensor_s) > 0.3


def test_with_the_straps_hr_the_ecg_is_read_and_not_used(tmp_path: Path) -> None:
    files = pe.write_recording(tmp_path / "rec", seconds=120.0, hr=True, acc=True)
    (session,) = read_sessions(tmp_path / "rec")
    hr_rows = [ln.split(";") for ln in files["HR"].read_text().splitlines()[1:]]
    assert np.array_equal(session.hr.bpm, [float(r[1]) for r in hr_rows])
    repairs = session.provenance.repairs
    assert not any(r.startswith("heart rate derived") for r in repairs)
    assert any(r.startswith(f"ECG file {files['ECG'].name} read (15600 samples at 130.0 Hz) "
                            "and not used") for r in repairs)
    assert files["ECG"].name in repairs[0] and session.acc is not None


def test_streams_stamped_with_their_own_start_are_one_recording(tmp_path: Path) -> None:
    """The app names each stream's file with the second it started (a real H10 export:
    ``..._080845_HR``, ``..._080846_ECG``, ``..._080900_ACC``); a recording of the same
    strap ten minutes later is another session."""
    folder = tmp_path / "day"
    first = pe.write_recording(folder, seconds=60.0, hr=True, acc=True)
    second = pe.write_recording(folder, seconds=60.0, hr=True, start_s=600.0)
    assert len({p.name.rsplit("_", 1)[0] for p in first.values()}) == 3
    groups = recordings(sorted(folder.iterdir()))
    assert [sorted(g) for g in groups] == [sorted(first.values()), sorted(second.values())]
    sessions = read_sessions(folder)
    assert [s.acc is not None for s in sessions] == [True, False]
    # One file given on its own, or met among other files, stands for its recording.
    (alone,) = read_sessions(first["ECG"])
    assert alone.acc is not None and alone.hr.bpm.size == 59
    shutil.copy(pe.MITDB, folder)
    inventory = discover([folder])
    leads = sorted(p.name for p in inventory.inputs if p.name.endswith(".txt"))
    assert leads == sorted([first["HR"].name, second["HR"].name])
    grouped = {Path(s.path).name: s.reason for s in inventory.parts}
    assert grouped[first["ACC"].name].startswith(
        f"part of the recording read from {first['HR'].name}")


@pytest.mark.parametrize(("values", "reason"), [
    (np.full(7800, 120.0), "the lead is flat"),
    (np.random.default_rng(3).normal(0, 400, 7800), "RR intervals"),
    (np.zeros(300), "only 2.3 s of ECG"),
])
def test_a_bad_lead_gives_no_heart_rate_and_says_why(tmp_path: Path, values: np.ndarray,
                                                      reason: str) -> None:
    files = pe.write_recording(tmp_path / "bad", uv=values, seconds=values.size / pe.FS)
    with pytest.raises(InputError, match="ECG file gave no trustworthy heart rate") as info:
        read_sessions(files["ECG"])
    assert reason in str(info.value) and info.value.hint
    # Beside acceleration the session keeps the acceleration and says why there is no
    # heart rate.
    pe.write_recording(tmp_path / "bad", uv=values, seconds=60.0, acc=True)
    (session,) = read_sessions(tmp_path / "bad")
    assert session.hr is None and session.acc is not None
    why = next(r for r in session.provenance.repairs if "gave no heart rate" in r)
    assert reason in why


def test_an_unreadable_ecg_is_named_whether_or_not_it_is_needed(tmp_path: Path) -> None:
    files = pe.write_recording(tmp_path / "r", seconds=60.0, hr=True)
    text = files["ECG"].read_text().splitlines()
    text[500] = text[500].rsplit(";", 1)[0] + ";12uV"
    files["ECG"].write_text("\n".join(text) + "\n")
    (session,) = read_sessions(tmp_path / "r")
    assert session.hr is not None
    assert any("could not be read" in r and "not a number" in r
               for r in session.provenance.repairs)
    files["HR"].unlink()
    with pytest.raises(InputError, match="could not be read.*not a number"):
        read_sessions(tmp_path / "r")


ECG_60S = pe.ecg_text(pe.mitdb_ecg_130hz(60.0)).encode()
REFERENCE = pe.reference()["reference"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                st.sampled_from(b"0123456789;-.\n e")), min_size=1,
                      max_size=12),
       cut=st.one_of(st.none(), st.floats(0.05, 1)))
def test_a_damaged_ecg_file_never_gives_a_wrong_heart_rate(tmp_path: Path, edits: list,
                                                           cut: float | None) -> None:
    """Digits, separators and line ends changed, the file cut: a refusal, or a session
    whose every kept interval joins two annotated beats (within 2 samples after the
    transfer delay) and has their length (within 2 samples)."""
    data = bytearray(ECG_60S)
    for where, value in edits:
        data[len(ECG_60S.split(b"\n", 1)[0]) + 1 + int(where * (len(data) - 70))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    folder = tmp_path / f"case{abs(hash((tuple(edits), cut)))}"
    folder.mkdir()
    path = folder / f"{pe.DEVICE}_20240501_100001_ECG.txt"
    path.write_bytes(bytes(data))
    assert check(path) in ("analysed", "analysis refused", "refused")
    try:
        (session,) = read_sessions(path)
    except InputError as exc:
        assert exc.reason and exc.hint
        return
    t = session_beats(session)
    delay = float(np.median(signed_nearest(t, REFERENCE)))
    start = signed_nearest(t - session.hr.rr_ms / 1000, REFERENCE) - delay
    end = signed_nearest(t, REFERENCE) - delay
    assert np.all(np.abs(start) <= 2 * SAMPLE_S) and np.all(np.abs(end) <= 2 * SAMPLE_S)
