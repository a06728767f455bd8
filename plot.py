"""The session picture: what a participant sees of one workout.

Top: relative intensity (%HRR, black) and heart rate (dashed, on a bpm axis aligned with
the %HRR axis) over the four intensity levels as background bands; bouts as brackets with
their qualifying minutes, and a tick where the dose was met. Middle: acceleration
intensity (ENMO) and step cadence. Bottom: the epoch labels as a strip. A one-line header
gives the date, duration, class and dose.

Drawn from a :class:`~dosewatch.analysis.SessionResult` only, so it shows exactly what the
tables say. Colours come from the Okabe–Ito palette (safe for colour-blind readers); the
four labels also differ in lightness (as drawn, hatching included, greyscale 238, 156, 101
and 55 of 255 for rest, intermediate, constant and accelerating), in hatching (none, dots,
level lines for *constant*, rising lines for *accelerating*) and are named in the strip
wherever a run is wide enough, so the picture reads in greyscale and when printed.

``plot_session(result, "x.png")`` writes a PNG, ``"x.svg"`` an SVG (text kept as text);
``draw_session(result)`` returns the Figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .analysis import SessionResult
from .spec.labels import LEVEL_NAMES, Label

LABEL_COLOURS = {
    Label.MISSING: "#FFFFFF",
    Label.REST: "#EEEEEE",
    Label.CONSTANT: "#0072B2",  # Okabe–Ito blue
    Label.INTERMEDIATE: "#E69F00",  # Okabe–Ito orange
    Label.ACCELERATING: "#5A1B00",  # Okabe–Ito vermillion, darkened
}
"""Fill colour of each epoch label (also used by the study report)."""
LABEL_HATCHES = {
    Label.MISSING: "xx",
    Label.REST: "",
    Label.CONSTANT: "-",  # level: a constant effort
    Label.INTERMEDIATE: ".",
    Label.ACCELERATING: "/",  # rising: a ramp
}
"""Hatch of each label, so labels differ without colour."""
_HATCH_COLOURS = {
    Label.MISSING: "#9A9A9A",
    Label.REST: "#EEEEEE",
    Label.CONSTANT: "#FFFFFF",
    Label.INTERMEDIATE: "#5A3E00",
    Label.ACCELERATING: "#FFFFFF",
}
_TEXT_COLOURS = {
    Label.MISSING: "#333333",
    Label.REST: "#000000",
    Label.CONSTANT: "#FFFFFF",
    Label.INTERMEDIATE: "#000000",
    Label.ACCELERATING: "#FFFFFF",
}
LEVEL_COLOURS = ("#F7F7F7", "#E6EFF7", "#FBEBD0", "#F5DCD2")
"""Background bands of the levels rest, light, intermediate, vigorous."""
BOUT_COLOUR = "#007A5A"  # Okabe–Ito bluish green, darkened to read on the bands
HR_COLOUR = "#A8508A"  # Okabe–Ito reddish purple, darkened
ENMO_COLOUR = "#0072B2"


def _time_scale(duration_s: float) -> tuple[float, str]:
    return (3600.0, "hours") if duration_s > 3 * 3600 else (60.0, "minutes")


def _runs(codes: np.ndarray) -> list[tuple[int, int, int]]:
    """``(code, start, end)`` of each run of equal codes (half-open epoch indices)."""
    if codes.size == 0:
        return []
    change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [codes.size]])
    return [(int(codes[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def _minutes(seconds: float) -> str:
    """``45 s``, ``54 min``, ``2 h 05 min``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(round(seconds / 60))
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def header_text(result: SessionResult) -> str:
    """The one-line header: participant, date, duration, class, dose."""
    parts = []
    if result.participant:
        parts.append(result.participant)
    if result.start_time:
        when = result.start_time[:16].replace("T", " ")
        if result.start_time.endswith(("+00:00", "Z")):
            when += " UTC"
        parts.append(when)
    else:
        parts.append("date unknown")
    parts.append(_minutes(result.duration_s))
    parts.append(f"class: {result.session_class}")
    longest = result.longest_bout_qualifying_minutes
    dose_min = result.config.bouts.dose_min
    at = result.dose_met_at_s
    if at is not None:
        parts.append(f"dose met at {_minutes(at)} (longest bout {longest:.0f} qualifying min)")
    else:
        parts.append(f"dose not met (longest bout {longest:.0f} of {dose_min:.0f} "
                     "qualifying min)")
    return "  ·  ".join(parts)


def plot_session(result: SessionResult, path: Path, dpi: int = 110) -> Path:
    """Write the session picture to ``path``: SVG when it ends in ``.svg``, else PNG."""
    fig = draw_session(result)
    path = Path(path)
    if path.suffix.lower() == ".svg":
        # Text as text (searchable, accessible, smaller), and no creation date, so the
        # same result gives the same file.
        with rc_context({"svg.fonttype": "none", "svg.hashsalt": "dosewatch"}):
            fig.savefig(path, format="svg", metadata={"Date": None})
    else:
        fig.savefig(path, format="png", dpi=dpi)
    return path


def draw_session(result: SessionResult) -> Figure:
    """The session picture as a matplotlib Figure (axes labelled ``intensity``,
    ``acceleration`` and ``labels``)."""
    f = result.features
    p = result.prediction
    scale, unit = _time_scale(result.duration_s)
    t = (f.start_s + f.epoch_s / 2) / scale
    x_end = (f.start_s[-1] + f.epoch_s) / scale
    lv = result.config.levels
    intensity = np.asarray(p.intensity, dtype=np.float64)
    finite = intensity[np.isfinite(intensity)]
    y_top = float(np.clip(np.ceil(finite.max()) + 8, 110, 140)) if finite.size else 110.0
    y_bottom = float(np.clip(np.floor(finite.min()) - 3, -30, 0)) if finite.size else 0.0

    # The Figure API, not pyplot: no global state, safe in worker processes and threads.
    # Fixed margins instead of tight_layout: the same layout for every session, and faster.
    fig = Figure(figsize=(11, 6.8))
    grid = fig.add_gridspec(3, 1, height_ratios=[3.0, 1.15, 0.55], left=0.062, right=0.925,
                            top=0.885, bottom=0.135, hspace=0.1)
    ax_i = fig.add_subplot(grid[0])
    ax_a = fig.add_subplot(grid[1], sharex=ax_i)
    ax_l = fig.add_subplot(grid[2], sharex=ax_i)
    for ax, name in ((ax_i, "intensity"), (ax_a, "acceleration"), (ax_l, "labels")):
        ax.set_label(name)
    for ax in (ax_i, ax_a):
        ax.tick_params(labelbottom=False)

    # Intensity levels as bands, named at the left edge.
    edges = (y_bottom, lv.light_from, lv.intermediate_from, lv.vigorous_from, y_top)
    for lo, hi, colour, name in zip(edges[:-1], edges[1:], LEVEL_COLOURS, LEVEL_NAMES,
                                    strict=True):
        ax_i.axhspan(lo, hi, color=colour, zorder=0, lw=0)
        if lo > y_bottom:
            ax_i.axhline(lo, color="#BBBBBB", lw=0.6, zorder=0.5)
        ax_i.text(0.006, (max(lo, 0) + min(hi, 100)) / 2, name, va="center", fontsize=8,
                  color="#444444", transform=ax_i.get_yaxis_transform(), zorder=1)
    ax_i.step(t, intensity, where="mid", color="black", lw=1.5, zorder=3)
    hp = result.info.hr_params
    if result.info.has_hr and hp is not None:
        ax_hr = ax_i.twinx()
        ax_hr.plot(t, f.values["hr_bpm"], color=HR_COLOUR, lw=1.0, ls=(0, (4, 2)), zorder=2)
        ax_hr.set_ylabel("heart rate (bpm)", color=HR_COLOUR)
        ax_hr.tick_params(axis="y", colors=HR_COLOUR)
        # The bpm axis is the %HRR axis through Karvonen, so both read off the same height.
        reserve = hp.hr_max - hp.hr_rest
        ax_hr.set_ylim(hp.hr_rest + y_bottom / 100 * reserve, hp.hr_rest + y_top / 100 * reserve)
    ax_i.set_ylim(y_bottom, y_top)
    ax_i.set_ylabel("intensity (%HRR)")

    # Bouts: a bracket with the qualifying minutes; the dose tick where it was reached.
    y_bracket = y_top - 4
    for bout in result.bouts:
        x0, x1 = bout.start_s / scale, bout.end_s / scale
        ax_i.annotate("", xy=(x0, y_bracket), xytext=(x1, y_bracket), zorder=4,
                      arrowprops={"arrowstyle": "|-|,widthA=0.35,widthB=0.35",
                                  "color": BOUT_COLOUR, "lw": 1.6, "shrinkA": 0, "shrinkB": 0})
        wide = (x1 - x0) / max(x_end, 1e-9) > 0.12
        text = (f"bout: {bout.qualifying_minutes:.0f} qualifying min" if wide
                else f"{bout.qualifying_minutes:.0f} min")
        ax_i.text((x0 + x1) / 2, y_bracket - 2.5, text, ha="center", va="top", fontsize=8,
                  color=BOUT_COLOUR, zorder=5,
                  bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
        if bout.dose_met_at_s is not None:
            xd = bout.dose_met_at_s / scale
            ax_i.axvline(xd, color=BOUT_COLOUR, lw=1.2, ls=":", zorder=2)
            ax_i.plot([xd], [y_bracket], marker="v", ms=9, color=BOUT_COLOUR, mec="white",
                      mew=0.8, zorder=6, clip_on=False)
            ax_i.text(xd, y_bottom + 2, f" dose met ({_minutes(bout.dose_met_at_s)})",
                      color=BOUT_COLOUR, fontsize=8, rotation=90, va="bottom", ha="right",
                      zorder=5)

    # Acceleration intensity (ENMO) with step cadence.
    if result.info.has_acc:
        enmo_mg = f.values["enmo_g"] * 1000
        ax_a.fill_between(t, enmo_mg, step="mid", color="#56B4E9", alpha=0.45, lw=0)
        ax_a.step(t, enmo_mg, where="mid", color=ENMO_COLOUR, lw=1.0)
        ax_a.set_ylabel("ENMO (mg)")
        ax_a.set_ylim(bottom=0)
        cad = ax_a.twinx()
        cad.plot(t, f.values["cadence_spm"], color="#555555", lw=0.9, ls=":")
        cad.set_ylabel("steps/min", color="#555555")
        cad.set_ylim(bottom=0)
    else:
        ax_a.text(0.5, 0.5, "no acceleration in this session", transform=ax_a.transAxes,
                  ha="center", va="center", color="#555555")
        ax_a.set_yticks([])

    # Labels: one hatched collection per label (runs, not epochs: a week is 10,080 epochs).
    start_s, epoch_s = f.start_s, f.epoch_s
    runs = _runs(np.asarray(p.labels, dtype=np.int64))
    present = set()
    for label in Label:
        spans = [(start_s[s] / scale, (start_s[e - 1] + epoch_s - start_s[s]) / scale)
                 for code, s, e in runs if code == label]
        if not spans:
            continue
        present.add(label)
        ax_l.broken_barh(spans, (0, 1), facecolors=LABEL_COLOURS[label], edgecolor="none",
                         hatch=LABEL_HATCHES[label] or None,
                         hatchcolor=_HATCH_COLOURS[label], lw=0)
    for code, s, e in runs:
        x0 = start_s[s] / scale
        width = (start_s[e - 1] + epoch_s - start_s[s]) / scale
        if width / max(x_end, 1e-9) >= 0.07:
            label = Label(code)
            ax_l.text(x0 + width / 2, 0.5, label.name.lower(), ha="center", va="center",
                      fontsize=7.5, color=_TEXT_COLOURS[label],
                      bbox={"boxstyle": "round,pad=0.25", "fc": LABEL_COLOURS[label],
                            "ec": "none"})
    ax_l.set_yticks([0.5], ["labels"])
    ax_l.tick_params(axis="y", length=0)
    ax_l.set_ylim(0, 1)
    ax_l.set_xlim(f.start_s[0] / scale, x_end)
    ax_l.set_xlabel(f"time ({unit} from start)")

    handles: list[Line2D | Patch] = [
        Line2D([], [], color="black", lw=1.5, label="intensity (%HRR)"),
    ]
    if result.info.has_hr and hp is not None:
        handles.append(Line2D([], [], color=HR_COLOUR, lw=1.0, ls=(0, (4, 2)),
                              label="heart rate"))
    if result.bouts:
        handles.append(Line2D([], [], color=BOUT_COLOUR, lw=1.6, marker="|", ms=8,
                              label="bout"))
    if result.dose_met:
        handles.append(Line2D([], [], color=BOUT_COLOUR, lw=0, marker="v", ms=8,
                              label="dose met"))
    legend_labels = [label for label in Label if label is not Label.MISSING]
    if Label.MISSING in present:
        legend_labels.append(Label.MISSING)
    for label in legend_labels:
        handles.append(Patch(facecolor=LABEL_COLOURS[label], hatch=LABEL_HATCHES[label],
                             edgecolor="#777777", lw=0.6, label=label.name.lower(),
                             hatchcolor=_HATCH_COLOURS[label]))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.005),
               ncol=len(handles), fontsize=8, frameon=False, handlelength=2.2,
               columnspacing=1.4)

    fig.text(0.012, 0.965, header_text(result), fontsize=10.5, fontweight="bold",
             ha="left", va="center")
    source = result.intensity_source.replace("_", " ")
    detail = f"{result.name}  ·  intensity from {source}"
    if hp is not None:
        detail += (f"  ·  HR rest {hp.hr_rest:.0f} bpm ({hp.hr_rest_source}), "
                   f"HR max {hp.hr_max:.0f} bpm ({hp.hr_max_source})")
    fig.text(0.012, 0.928, detail, fontsize=8, color="#444444", ha="left", va="center")
    return fig
