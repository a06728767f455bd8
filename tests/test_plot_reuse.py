"""``plot_session`` draws on a figure kept from the previous picture: nothing of one
session's picture may show in the next. Each picture drawn after another (of a different
kind, in both orders) must be the picture drawn on a new figure, pixel for pixel."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.freeliving import recording
from support.paths import REPO

from dosewatch.analysis import analyze_session
from dosewatch.api import analyze
from dosewatch.plot import _KEPT, _save, draw_session, panels_for, plot_session
from dosewatch.session import build_session
from dosewatch.spec.labels import Label

NO_WORKLOAD = {"speed": None, "cadence": None, "power": None, "altitude": None, "grade": None}


@pytest.fixture(scope="module")
def kinds(simulated):
    """Sessions whose pictures differ in every way a panel can: twin axes or none, fixed
    ticks or automatic ones, minutes or hours, bouts, the dose, missing epochs, layouts."""
    ramp = simulated("steady_then_ramp", person_seed=7, person_id="P01", placement="wrist",
                     acc_fs=25.0, seed=11).session
    walk = simulated("walk_then_run", person_seed=3, placement="wrist", acc_fs=25.0,
                     seed=2).session
    days = recording()
    long = build_session("days", hr=days.hr, profile=days.profile, source="days",
                         format="simulated")
    sessions = {
        # heart rate, no acceleration and no workload: the "no acceleration" panel
        "hr only": replace(ramp, acc=None, **NO_WORKLOAD),
        # acceleration only: no heart-rate twin, a cadence twin
        "acc only": replace(walk, hr=None, **NO_WORKLOAD),
        # both twins, bouts and the dose met
        "hr+acc, dose": replace(ramp, **NO_WORKLOAD),
        # the workload (speed) without a grade twin, no acceleration
        "hr+speed": replace(ramp, acc=None),
        # four panels: the workload above the acceleration
        "hr+acc+speed": ramp,
        # three days in hours, hundreds of missing epochs (no heart rate at night)
        "days, missing": long,
    }
    results = {name: analyze_session(session) for name, session in sessions.items()}
    # a real watch's run: power or speed with the treadmill's grade twin
    results["workload, grade"] = analyze(REPO / "examples" / "runner-a" / "fenix2-run.fit")
    return results


def test_the_kinds_differ_as_meant(kinds):
    """The sessions do cover what the module says (else the comparisons prove little)."""
    assert not kinds["hr only"].info.has_acc and not kinds["acc only"].info.has_hr
    assert kinds["hr+acc, dose"].dose_met and kinds["hr+acc, dose"].bouts
    assert [p.name for p in panels_for(kinds["hr+acc+speed"])] == [
        "intensity", "workload", "acceleration", "labels"]
    assert panels_for(kinds["hr+speed"]) == panels_for(kinds["workload, grade"])
    assert "grade" not in kinds["hr+speed"].features.values or not np.nanmax(
        np.abs(kinds["hr+speed"].features.values["grade"]), initial=0.0)
    long = kinds["days, missing"]
    assert long.duration_s > 48 * 3600
    assert (np.asarray(long.prediction.labels) == Label.MISSING).sum() > 100
    grade = kinds["workload, grade"].features.values["grade"]
    assert np.nanmax(np.abs(grade)) > 0.001


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGBA"))


PAIRS = [
    ("hr only", "acc only"),  # fixed (no) ticks, then automatic ones; a cadence twin
    ("acc only", "hr+acc, dose"),  # a heart-rate twin made before the kept cadence twin
    ("hr+acc, dose", "hr only"),  # both twins deleted
    ("hr only", "days, missing"),  # minutes, then hours
    ("days, missing", "acc only"),
    ("hr+acc, dose", "acc only"),  # the heart-rate twin deleted, the cadence twin kept
    ("workload, grade", "hr+speed"),  # the grade twin deleted
    ("hr+speed", "workload, grade"),  # the grade twin made
    ("hr+acc+speed", "hr+acc+speed"),  # the same kind again, as a batch mostly draws
]
"""Each layout's twins coming and going, in both orders."""


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[f"{a} -> {b}" for a, b in PAIRS])
def test_a_picture_drawn_after_another_is_the_picture_drawn_alone(kinds, before, after,
                                                                  tmp_path):
    _KEPT.__dict__.pop("figures", None)  # this pair only: no figure from another test
    plot_session(kinds[before], tmp_path / "before.png")
    drawn = _pixels(plot_session(kinds[after], tmp_path / "after.png").read_bytes())
    alone = draw_session(kinds[after])
    _save(alone, tmp_path / "alone.png", dpi=110)
    expected = _pixels((tmp_path / "alone.png").read_bytes())
    assert drawn.shape == expected.shape
    assert np.array_equal(drawn, expected), f"{(drawn != expected).sum()} values differ"
    kept = _KEPT.figures[panels_for(kinds[after])].fig
    assert [a.get_label() for a in kept.axes] == [a.get_label() for a in alone.axes]
    assert len(kept.texts) == len(alone.texts) and len(kept.legends) == 1


def _fresh(result, path: Path) -> bytes:
    """The picture on a new figure, as every picture was drawn before figures were kept."""
    _save(draw_session(result), path, dpi=110)
    return path.read_bytes()


def test_an_svg_after_other_pictures_is_the_svg_drawn_alone(kinds, tmp_path):
    plot_session(kinds["hr+acc, dose"], tmp_path / "a.png")
    plot_session(kinds["acc only"], tmp_path / "b.svg")
    svg = plot_session(kinds["hr+acc, dose"], tmp_path / "c.svg").read_bytes()
    draw = draw_session(kinds["hr+acc, dose"])
    _save(draw, tmp_path / "alone.svg", dpi=110)
    assert svg == (tmp_path / "alone.svg").read_bytes()


def test_a_failed_picture_leaves_no_state_for_the_next(kinds, tmp_path):
    """A picture that fails half drawn (its file cannot be written) drops the figure: the
    next picture is whole and the same as drawn alone."""
    with pytest.raises(OSError):
        plot_session(kinds["hr+acc, dose"], tmp_path / "missing-folder" / "x.png")
    drawn = plot_session(kinds["acc only"], tmp_path / "b.png").read_bytes()
    assert drawn == _fresh(kinds["acc only"], tmp_path / "alone.png")


def test_threads_draw_on_figures_of_their_own(kinds, tmp_path):
    """Two threads drawing at once each keep their own figures: both pictures whole."""
    names = ["hr+acc, dose", "acc only"]
    errors: list[BaseException] = []

    def draw(name: str, folder: Path) -> None:
        try:
            for i in range(3):
                plot_session(kinds[name], folder / f"{i}.png")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = []
    for i, name in enumerate(names):
        (tmp_path / str(i)).mkdir()
        threads.append(threading.Thread(target=draw, args=(name, tmp_path / str(i))))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for i, name in enumerate(names):
        alone = _fresh(kinds[name], tmp_path / f"alone{i}.png")
        for j in range(3):
            assert (tmp_path / str(i) / f"{j}.png").read_bytes() == alone, (name, j)
