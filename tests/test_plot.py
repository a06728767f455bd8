"""The session picture: PNG and SVG, the header, and labels that read without colour."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import StepPatch
from PIL import Image

from dosewatch.analysis import analyze_session
from dosewatch.models.rules import RuleClassifier
from dosewatch.plot import (
    _HATCH_COLOURS,
    LABEL_COLOURS,
    LABEL_HATCHES,
    PANELS,
    Panel,
    _runs,
    draw_session,
    header_text,
    plot_session,
)
from dosewatch.session import Profile, build_session
from dosewatch.spec.labels import Label

START = datetime(2026, 9, 7, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def result(simulated):
    """A dated ramp that meets the dose, at the wrist, with heart rate and acceleration."""
    session = simulated("steady_then_ramp", person_seed=7, person_id="P01", placement="wrist",
                        acc_fs=25.0, seed=11).session
    session = replace(session, provenance=replace(session.provenance, start_time=START))
    return analyze_session(session, classifier=RuleClassifier())


def test_png_and_svg_are_written(result, tmp_path):
    png = plot_session(result, tmp_path / "s.png")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] >= 1100 and im.size[1] >= 700
    svg = plot_session(result, tmp_path / "s.svg")
    root = ET.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg")
    text = svg.read_text()
    assert "dose met at" in text and "class: accelerating" in text.replace("\n", " ")
    # No creation date in the SVG: the same result gives the same file.
    again = plot_session(result, tmp_path / "t.svg")
    assert again.read_bytes() == svg.read_bytes()


def test_header_names_participant_date_duration_class_and_dose(result):
    header = header_text(result)
    assert header.startswith("P01  ·  2026-09-07 07:30 UTC  ·  ")
    assert f"class: {result.session_class}" in header
    at = round(result.dose_met_at_s / 60)
    assert f"dose met at {at} min" in header
    undated = replace(result, start_time=None, participant=None, bouts=[])
    header = header_text(undated)
    assert header.startswith("date unknown") and "dose not met (longest bout 0 of 30" in header


def _rendered_grey(label: Label) -> float:
    """Mean greyscale (0-255) of a patch drawn the way the label strip draws it."""
    fig = Figure(figsize=(1, 1))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.broken_barh([(0, 1)], (0, 1), facecolors=LABEL_COLOURS[label], edgecolor="none",
                   hatch=LABEL_HATCHES[label] or None, hatchcolor=_HATCH_COLOURS[label], lw=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    with Image.open(buffer) as im:
        return float(np.asarray(im.convert("L"), dtype=float).mean())


def test_labels_differ_in_greyscale_and_in_hatching():
    labels = [Label.REST, Label.CONSTANT, Label.INTERMEDIATE, Label.ACCELERATING]
    grey = {label: _rendered_grey(label) for label in labels}
    for a, b in itertools.combinations(labels, 2):
        assert abs(grey[a] - grey[b]) >= 25, (a.name, b.name, grey)
    hatches = [LABEL_HATCHES[label] for label in labels[1:]]
    assert all(hatches) and len(set(hatches)) == 3


def test_the_label_strip_reads_in_greyscale(result, tmp_path):
    """Each run of labels in the drawn picture, converted to greyscale, has the lightness
    of its own label and not of any other."""
    fig = draw_session(result)
    fig.set_dpi(60)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    with Image.open(buffer) as im:
        grey = np.asarray(im.convert("L"), dtype=float)
    (ax,) = [a for a in fig.axes if a.get_label() == "labels"]
    box = ax.get_window_extent()
    height = grey.shape[0]
    # The top fifth of the strip: clear of the names written across its middle.
    rows = slice(int(height - box.y1) + 2, int(height - box.y1 + box.height / 5))
    expected = {label: _rendered_grey(label) for label in Label if label is not Label.MISSING}
    f = result.features
    checked = 0
    for code, start, end in _runs(np.asarray(result.prediction.labels, dtype=np.int64)):
        if end - start < 4:
            continue
        x0, x1 = f.start_s[start] / 60, (f.start_s[end - 1] + f.epoch_s) / 60
        p0 = ax.transData.transform((x0 + (x1 - x0) / 4, 0))[0]
        p1 = ax.transData.transform((x1 - (x1 - x0) / 4, 0))[0]
        seen = grey[rows, int(p0):int(p1)].mean()
        nearest = min(expected, key=lambda label: abs(expected[label] - seen))
        assert nearest == Label(code), (Label(code).name, seen, expected)
        checked += 1
    assert checked >= 3


def test_long_recordings_are_drawn_in_hours_and_tiny_ones_at_all(tmp_path):
    t = np.arange(0, 5 * 3600.0)
    hr = 60 + 80 * np.sin(t / 1800) ** 2
    long = build_session("long", hr=(t, hr), profile=Profile(age=40, hr_rest=60))
    result = analyze_session(long, classifier=RuleClassifier())
    assert "5 h 00 min" in header_text(result)
    svg = plot_session(result, tmp_path / "long.svg").read_text()
    assert "hours from start" in svg
    tiny = build_session("tiny", hr=(np.arange(5.0), np.full(5, 90.0)), profile=Profile(age=30))
    result = analyze_session(tiny, classifier=RuleClassifier())
    assert "5 s" in header_text(result)
    assert plot_session(result, tmp_path / "tiny.png").stat().st_size > 10_000


def test_a_new_channel_is_one_more_panel(result):
    """A workload panel (speed, power) plugs in as one Panel: stacked on the shared time
    axis, which moves to the bottom, with its own legend entry after the others."""

    def speed_panel(ax, result, time):
        ax.plot(time.t, result.features.values["cadence_spm"] / 60, color="#009E73")
        ax.set_ylabel("speed (m/s)")
        return [Line2D([], [], color="#009E73", label="speed")]

    plain = draw_session(result, panels=PANELS)
    fig = draw_session(result, panels=(*PANELS, Panel("speed", 0.8, speed_panel)))
    named = {a.get_label(): a for a in fig.axes if a.get_label()}
    assert [a.get_label() for a in plain.axes if a.get_label()] == [
        "intensity", "acceleration", "labels"]
    assert list(named) == ["intensity", "acceleration", "labels", "speed"]
    speed, labels = named["speed"], named["labels"]
    assert speed.get_position().y1 <= labels.get_position().y0  # below the others
    assert speed.get_xlabel() == "time (minutes from start)" and labels.get_xlabel() == ""
    assert speed.get_xlim() == labels.get_xlim() == plain.axes[2].get_xlim()
    fig.draw_without_rendering()
    assert not any(t.get_visible() and t.get_text() for t in labels.get_xticklabels())
    assert any(t.get_visible() and t.get_text() for t in speed.get_xticklabels())
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [t.get_text() for t in plain.legends[0].get_texts()] + ["speed"]


def test_the_workload_is_drawn_when_the_session_has_one(result, simulated):
    """Speed (km/h) under the intensity for a session with speed; no such panel without."""
    fig = draw_session(result)
    named = {a.get_label(): a for a in fig.axes if a.get_label()}
    assert list(named) == ["intensity", "workload", "acceleration", "labels"]
    speed = result.features.values["speed_mps"] * 3.6
    [stairs] = [p for p in named["workload"].patches if isinstance(p, StepPatch)]
    values, edges, _ = stairs.get_data()
    np.testing.assert_allclose(np.asarray(values, float), speed, equal_nan=True)
    # Each epoch's value over its whole span, as the labels are drawn: from the start of
    # the first epoch to the end of the last, not from centre to centre.
    f = result.features
    np.testing.assert_allclose(edges, np.append(f.start_s, f.start_s[-1] + f.epoch_s) / 60)
    assert named["workload"].get_ylabel() == "speed (km/h)"
    session = simulated("steady_then_ramp", person_seed=7, person_id="P01",
                        placement="wrist", acc_fs=25.0, seed=11).session
    without = analyze_session(replace(session, speed=None), classifier=RuleClassifier())
    assert "workload" not in [a.get_label() for a in draw_session(without).axes]


def test_a_watch_export_has_no_empty_acceleration_panel(simulated):
    """Heart rate and speed without acceleration: the picture shows the workload and no
    panel that only says there is no acceleration."""
    session = simulated("steady_then_ramp", person_seed=7, person_id="P01",
                        placement="wrist", acc_fs=25.0, seed=11).session
    watch = analyze_session(replace(session, acc=None), classifier=RuleClassifier())
    named = [a.get_label() for a in draw_session(watch).axes if a.get_label()]
    assert named == ["intensity", "workload", "labels"]


def test_a_long_header_is_made_smaller_not_cut_off(result):
    """A long participant name: the header line still ends inside the picture."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    long = replace(result, participant="a-participant-with-a-very-long-study-identifier-" * 2)
    fig = draw_session(long)
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    header = next(t for t in fig.texts if "class:" in t.get_text())
    assert header.get_window_extent(renderer).x1 <= fig.bbox.x1


def test_cadence_is_drawn_only_in_minutes_spent_stepping_and_is_in_the_legend(result):
    """A few steps in a resting minute have a cadence that says nothing (review
    2026-11-25c, item 12: 150-190 steps/min drawn over rest): the dotted line skips the
    minutes with stepping in under half their sub-windows, and the legend names it."""
    fig = draw_session(result)
    values = result.features.values
    stepping = values["step_fraction"] >= 0.5
    assert stepping.any() and (~stepping).any()
    [line] = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_linestyle() == ":"
              and ax.get_ylabel() == "steps/min"]
    drawn = np.asarray(line.get_ydata(), float)
    assert np.isnan(drawn[~stepping]).all()
    np.testing.assert_allclose(drawn[stepping], values["cadence_spm"][stepping])
    assert "step cadence" in [t.get_text() for t in fig.legends[0].get_texts()]
