"""The Python API as documented: the README's example runs as written, profiles and
configurations are accepted in every documented form, and a user's own classifier runs
through the command line, serially and on Dask."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from support.paths import REPO

import dosewatch
from dosewatch.errors import ConfigError, InputError, ModelError, ProfileError
from dosewatch.ingest import write_session_folder

FIT = REPO / "examples" / "runner-a" / "fenix2-run.fit"


def readme_example() -> str:
    """The code block that follows ``<!-- example: python-api -->`` in the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- example: python-api -->\s*```python\n(.*?)```", text, re.S)
    assert match, "the README's Python example is missing"
    return match.group(1)


def test_the_readme_example_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    scope: dict[str, object] = {}
    exec(compile(readme_example(), "README.md", "exec"), scope)  # noqa: S102 - our own doc
    epochs = scope["epochs"]
    assert isinstance(epochs, pd.DataFrame) and len(epochs) == 47
    # Wall-clock times: the file's own start (2015-08-15 14:45:08 UTC), a minute apart.
    assert str(epochs.index.tz) == "UTC"
    assert epochs.index[0] == pd.Timestamp("2015-08-15 14:45:08", tz="UTC")
    assert (epochs.index[1:] - epochs.index[:-1] == pd.Timedelta(minutes=1)).all()
    assert {"label", "level", "intensity", "pct_hrr"} <= set(epochs.columns)


def test_dir_lists_the_api() -> None:
    assert {"read", "read_all", "analyze", "analyze_batch", "Session", "Profile",
            "Config", "SessionResult", "SessionRow"} <= set(dir(dosewatch))
    with pytest.raises(AttributeError):
        dosewatch.no_such_name  # noqa: B018


@pytest.mark.parametrize("how", ["dict", "keywords", "profile"])
def test_a_profile_in_every_documented_form(how: str) -> None:
    given = {"dict": {"profile": {"age": 34, "hr_rest": 52}},
             "keywords": {"age": 34, "hr_rest": 52},
             "profile": {"profile": dosewatch.Profile(age=34, hr_rest=52)}}[how]
    session = dosewatch.read(FIT, **given)
    assert (session.profile.age, session.profile.hr_rest) == (34, 52)
    result = dosewatch.analyze(FIT, classifier="rules", **given)
    assert result.summary()["hr_rest_source"] == "profile"


def test_bad_profiles_and_configs_are_clear_errors() -> None:
    with pytest.raises(ProfileError, match="unknown profile key 'agee'"):
        dosewatch.read(FIT, agee=34)
    with pytest.raises(ProfileError, match="age"):
        dosewatch.read(FIT, profile={"age": 400})
    with pytest.raises(ConfigError, match="unknown section"):
        dosewatch.analyze(FIT, config={"nonsense": {}})
    with pytest.raises(InputError, match="no such file"):
        dosewatch.read("nowhere.fit")


def test_analyze_takes_a_session_and_a_config_dict() -> None:
    session = dosewatch.read(FIT)
    default = dosewatch.analyze(session, classifier="rules")
    stricter = dosewatch.analyze(session, config={"bouts": {"dose_min": 60.0}},
                                 classifier="rules")
    assert default.dose_met and not stricter.dose_met
    assert default.longest_bout_qualifying_minutes == stricter.longest_bout_qualifying_minutes


def test_epochs_without_an_absolute_start_have_no_times(simulated) -> None:
    session = simulated("steady_light", person_seed=3, modality="hr", seed=1).session
    result = dosewatch.analyze(session, classifier="rules")
    frame = result.epochs()
    assert frame.index.isna().all() and len(frame) == result.features.n
    assert (result.epoch_columns()["time"] == "").all()


def test_analyze_batch_accounts_for_every_file(tmp_path: Path, simulated) -> None:
    study = tmp_path / "study"
    write_session_folder(simulated("steady_intermediate", person_seed=4, modality="hr",
                                   seed=2).session, study / "P01" / "day1")
    (study / "P01" / "notes.txt").write_text("not a session")
    (study / "P02").mkdir()
    (study / "P02" / "run.fit").write_bytes(FIT.read_bytes())
    report = dosewatch.analyze_batch(study, tmp_path / "out", classifier="rules",
                                     pictures=False, progress=False)
    assert sorted(r.session for r in report.rows) == ["day1", "run"]
    assert [Path(s["input"]).name for s in report.unsupported] == ["notes.txt"]
    rows = dosewatch.read_rows(tmp_path / "out")
    assert rows == sorted(report.rows, key=lambda r: r.output)


# ---------------------------------------------------------------------- --model


def _dosewatch(*args: object, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dosewatch", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def _env_with_tests_on_path() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "tests"), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.e2e
def test_a_users_classifier_runs_serially_and_on_dask(tmp_path: Path) -> None:
    from distributed import LocalCluster

    study = tmp_path / "study"
    study.mkdir()
    (study / "run.fit").write_bytes(FIT.read_bytes())
    (study / "again.fit").write_bytes(FIT.read_bytes())
    model = "support.user_classifier:EverythingConstant"
    env = _env_with_tests_on_path()
    serial = _dosewatch("analyze", study, "--out", tmp_path / "serial", "--model", model,
                        "-q", "--no-pictures", "--workers", "2", env=env)
    assert serial.returncode == 0, serial.stderr
    # Dask workers started here inherit this process's path, on which tests/ is.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        on_dask = _dosewatch("analyze", study, "--out", tmp_path / "dask", "--model", model,
                             "--scheduler", cluster.scheduler_address, "-q",
                             "--no-pictures", env=env)
    assert on_dask.returncode == 0, on_dask.stderr
    for out in ("serial", "dask"):
        summary = json.loads((tmp_path / out / "run" / "summary.json").read_text())
        assert summary["classifier"] == "everything-constant"
        assert summary["minutes"]["intermediate"] == summary["minutes"]["accelerating"] == 0
        assert summary["session_class"] == "constant"


def test_model_options_refuse_what_is_not_a_classifier(tmp_path: Path) -> None:
    from dosewatch.models.registry import get_classifier

    # tests/ is on the path (pytest's pythonpath), as a user's own module would be.
    with pytest.raises(ModelError, match="is not a classifier"):
        get_classifier("support.user_classifier:NotAClassifier")
    with pytest.raises(ModelError, match="has no 'Nope'"):
        get_classifier("support.user_classifier:Nope")
    with pytest.raises(ModelError, match="cannot import"):
        get_classifier("no_such_module_anywhere:Thing")
    with pytest.raises(ModelError, match="no such model folder"):
        get_classifier(str(tmp_path / "missing-model/"))
    with pytest.raises(ModelError, match="learned.json"):
        get_classifier(tmp_path)  # a folder without a model
    with pytest.raises(ConfigError, match="unknown classifier 'bogus'"):
        get_classifier("bogus")


def test_profile_values_given_to_analyze_beat_a_researchers_calibration_and_the_file() -> None:
    """Values passed with a Session are a person's, even for fields the file had stored
    (the device's): the profile comes first, before a researcher's calibration value."""
    import numpy as np

    from dosewatch.calibration import Calibration, Value
    from dosewatch.session import Profile, build_session

    t = np.arange(0, 2400.0)
    session = build_session("x", hr=(t, 120 + 20 * np.sin(t / 300)),
                            profile=Profile(hr_rest=70, hr_max=190),
                            device_profile=("hr_rest", "hr_max"))
    cal = Calibration("P1", hr_rest=Value(40.0, "researcher", ""),
                      hr_max=Value(200.0, "researcher", ""))
    hp = dosewatch.analyze(session, calibration=cal, hr_rest=50, hr_max=180).info.hr_params
    assert (hp.hr_rest, hp.hr_rest_source) == (50.0, "profile")
    assert (hp.hr_max, hp.hr_max_source) == (180.0, "profile")
    # Without the caller's values the researcher's beat the file's.
    hp = dosewatch.analyze(session, calibration=cal).info.hr_params
    assert (hp.hr_rest_source, hp.hr_max_source) == ("researcher", "researcher")
