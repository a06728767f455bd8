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
``draw_session(result)`` returns the Figure. ``plot_session`` draws on a figure kept from
the previous picture with the same panels (:class:`_ReusedFigure`): a batch draws many,
and building a figure, its axes and their ticks was a third of each picture's time.

The picture is a stack of :class:`Panel` s on one time axis (:data:`PANELS`): each is a
name, a height and a function that draws into its axes and returns its legend entries.
A panel for another channel (speed, power) is one such function and one line in
:data:`PANELS`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .analysis import SessionResult
from .config import LevelConfig
from .spec.bouts import Bout
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
WORKLOAD_COLOUR = "#D55E00"  # Okabe–Ito vermillion
GRADE_COLOUR = "#555555"
CADENCE_COLOUR = "#555555"
STEPPING_FRACTION = 0.5
"""The step cadence is drawn in minutes with rhythmic stepping in at least this share of
their sub-windows (``step_fraction``)."""


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
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def header_text(result: SessionResult) -> str:
    """The one-line header: participant, date, duration, class, dose."""
    parts = []
    if result.participant:
        name = result.participant
        parts.append(name if len(name) <= 40 else name[:39] + "…")
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
    """Write the session picture to ``path``: SVG when it ends in ``.svg``, else PNG.

    The picture is drawn on a figure this thread kept from its previous picture with the
    same panels, emptied first (:class:`_ReusedFigure`); it is the same picture, pixel for
    pixel, as on a new figure (``draw_session``)."""
    path = Path(path)
    panels = panels_for(result)
    reused = _reused_figure(panels)
    try:
        fig = reused.draw(result)
        _save(fig, path, dpi)
    except BaseException:
        _forget_figure(panels)  # its state is unknown now: the next picture starts anew
        raise
    return path


def _save(fig: Figure, path: Path, dpi: int) -> None:
    if path.suffix.lower() == ".svg":
        # Text as text (searchable, accessible, smaller), and no creation date, so the
        # same result gives the same file.
        with rc_context({"svg.fonttype": "none", "svg.hashsalt": "dosewatch"}):
            fig.savefig(path, format="svg", metadata={"Date": None})
    else:
        fig.savefig(path, format="png", dpi=dpi, pil_kwargs={"compress_level": 3})


# ---------------------------------------------------------------------------------------
# The layout: panels stacked on one time axis


@dataclass(frozen=True)
class Timeline:
    """The time axis every panel shares, in the picture's unit (minutes, or hours for
    long recordings).

    Attributes:
        scale: seconds per unit.
        unit: ``"minutes"`` or ``"hours"``.
        t: the epochs' centres, in units from the session start.
        start_s: the epochs' starts, in seconds.
        epoch_s: the epoch length, in seconds.
        end: the end of the last epoch, in units.
    """

    scale: float
    unit: str
    t: np.ndarray
    start_s: np.ndarray
    epoch_s: float
    end: float

    @classmethod
    def of(cls, result: SessionResult) -> Timeline:
        f = result.features
        scale, unit = _time_scale(result.duration_s)
        return cls(scale=scale, unit=unit, t=(f.start_s + f.epoch_s / 2) / scale,
                   start_s=f.start_s, epoch_s=f.epoch_s,
                   end=(f.start_s[-1] + f.epoch_s) / scale)

    def run(self, start: int, end: int) -> tuple[float, float]:
        """``(x, width)`` of the epochs ``start:end``, in units."""
        x0 = self.start_s[start] / self.scale
        return x0, (self.start_s[end - 1] + self.epoch_s - self.start_s[start]) / self.scale

    @property
    def edges(self) -> np.ndarray:
        """The epochs' edges in units (one more than epochs): each epoch's value is drawn
        over its whole span, as the labels are (review 2026-11-25c, item 12: drawn from
        the centres, a line started half an epoch late and a fill stopped half an epoch
        early before a gap)."""
        return np.append(self.start_s, self.start_s[-1] + self.epoch_s) / self.scale

    def share(self, width: float) -> float:
        """``width`` as a share of the whole session (to decide what text fits)."""
        return width / max(self.end, 1e-9)


LegendHandle = Line2D | Patch
PanelDraw = Callable[[Axes, SessionResult, Timeline], list[LegendHandle]]


@dataclass(frozen=True)
class Panel:
    """One row of the session picture.

    Attributes:
        name: the axes' label (``fig.axes`` can be found by it; tests do).
        height: its height relative to the other panels.
        draw: draws the panel into its axes and returns its legend entries, in order.
    """

    name: str
    height: float
    draw: PanelDraw


# ---------------------------------------------------------------------------------------
# Intensity: the levels, %HRR, heart rate, bouts and the dose


def _intensity_range(intensity: np.ndarray) -> tuple[float, float]:
    """``(bottom, top)`` of the %HRR axis: room above 100 % for the bout brackets."""
    finite = intensity[np.isfinite(intensity)]
    if not finite.size:
        return 0.0, 110.0
    return (float(np.clip(np.floor(finite.min()) - 3, -30, 0)),
            float(np.clip(np.ceil(finite.max()) + 8, 110, 140)))


def _draw_level_bands(ax: Axes, levels: LevelConfig, y_bottom: float, y_top: float) -> None:
    """The intensity levels as background bands, named at the left edge."""
    edges = (y_bottom, levels.light_from, levels.intermediate_from, levels.vigorous_from, y_top)
    for lo, hi, colour, name in zip(edges[:-1], edges[1:], LEVEL_COLOURS, LEVEL_NAMES,
                                    strict=True):
        ax.axhspan(lo, hi, color=colour, zorder=0, lw=0)
        if lo > y_bottom:
            ax.axhline(lo, color="#BBBBBB", lw=0.6, zorder=0.5)
        ax.text(0.006, (max(lo, 0) + min(hi, 100)) / 2, name, va="center", fontsize=8,
                color="#444444", transform=ax.get_yaxis_transform(), zorder=1)


def _draw_heart_rate(ax: Axes, result: SessionResult, time: Timeline, y_bottom: float,
                     y_top: float) -> list[LegendHandle]:
    """Heart rate, dashed, on a bpm axis aligned with the %HRR axis (none without HR)."""
    hp = result.info.hr_params
    if not result.info.has_hr or hp is None:
        return []
    ax_hr = twin_axes(ax)
    ax_hr.plot(time.t, result.features.values["hr_bpm"], color=HR_COLOUR, lw=1.0,
               ls=(0, (4, 2)), zorder=2)
    ax_hr.set_ylabel("heart rate (bpm)", color=HR_COLOUR)
    ax_hr.tick_params(axis="y", colors=HR_COLOUR)
    # The bpm axis is the %HRR axis through Karvonen, so both read off the same height.
    reserve = hp.hr_max - hp.hr_rest
    ax_hr.set_ylim(hp.hr_rest + y_bottom / 100 * reserve, hp.hr_rest + y_top / 100 * reserve)
    return [Line2D([], [], color=HR_COLOUR, lw=1.0, ls=(0, (4, 2)), label="heart rate")]


def _draw_bout(ax: Axes, bout: Bout, time: Timeline, y_bracket: float) -> None:
    """A bracket over the bout with its qualifying minutes (shorter text when narrow)."""
    x0, x1 = bout.start_s / time.scale, bout.end_s / time.scale
    ax.annotate("", xy=(x0, y_bracket), xytext=(x1, y_bracket), zorder=4,
                arrowprops={"arrowstyle": "|-|,widthA=0.35,widthB=0.35",
                            "color": BOUT_COLOUR, "lw": 1.6, "shrinkA": 0, "shrinkB": 0})
    text = (f"bout: {bout.qualifying_minutes:.0f} qualifying min"
            if time.share(x1 - x0) > 0.12 else f"{bout.qualifying_minutes:.0f} min")
    ax.text((x0 + x1) / 2, y_bracket - 2.5, text, ha="center", va="top", fontsize=8,
            color=BOUT_COLOUR, zorder=5,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def _draw_dose_mark(ax: Axes, at_s: float, time: Timeline, y_bracket: float,
                    y_bottom: float) -> None:
    """Where the dose was reached: a dotted line, a tick on the bracket, the time."""
    xd = at_s / time.scale
    ax.axvline(xd, color=BOUT_COLOUR, lw=1.2, ls=":", zorder=2)
    ax.plot([xd], [y_bracket], marker="v", ms=9, color=BOUT_COLOUR, mec="white", mew=0.8,
            zorder=6, clip_on=False)
    ax.text(xd, y_bottom + 2, f" dose met ({_minutes(at_s)})", color=BOUT_COLOUR, fontsize=8,
            rotation=90, va="bottom", ha="right", zorder=5)


def _draw_bouts(ax: Axes, result: SessionResult, time: Timeline, y_bottom: float,
                y_top: float) -> list[LegendHandle]:
    """Every bout's bracket and, in the bout that reached it, the dose mark."""
    y_bracket = y_top - 4
    for bout in result.bouts:
        _draw_bout(ax, bout, time, y_bracket)
        if bout.dose_met_at_s is not None:
            _draw_dose_mark(ax, bout.dose_met_at_s, time, y_bracket, y_bottom)
    handles: list[LegendHandle] = []
    if result.bouts:
        handles.append(Line2D([], [], color=BOUT_COLOUR, lw=1.6, marker="|", ms=8,
                              label="bout"))
    if result.dose_met:
        handles.append(Line2D([], [], color=BOUT_COLOUR, lw=0, marker="v", ms=8,
                              label="dose met"))
    return handles


def draw_intensity_panel(ax: Axes, result: SessionResult, time: Timeline
                         ) -> list[LegendHandle]:
    """Relative intensity (%HRR) over the level bands, heart rate, bouts and the dose.
    The axis reaches below 0 when the measured heart rate does (below HR_rest): the
    intensity stops at 0 (docs/definitions.md, "Below rest"), the heart rate is drawn as
    it was."""
    intensity = np.asarray(result.prediction.intensity, dtype=np.float64)
    measured = np.asarray(result.features.values["pct_hrr"], dtype=np.float64)
    y_bottom, y_top = _intensity_range(np.concatenate([intensity, measured]))
    _draw_level_bands(ax, result.config.levels, y_bottom, y_top)
    ax.stairs(intensity, time.edges, baseline=None, color="black", lw=1.5, zorder=3)
    handles: list[LegendHandle] = [Line2D([], [], color="black", lw=1.5,
                                          label="intensity (%HRR)")]
    handles += _draw_heart_rate(ax, result, time, y_bottom, y_top)
    ax.set_ylim(y_bottom, y_top)
    ax.set_ylabel("intensity (%HRR)")
    return handles + _draw_bouts(ax, result, time, y_bottom, y_top)


# ---------------------------------------------------------------------------------------
# Acceleration


def draw_acceleration_panel(ax: Axes, result: SessionResult, time: Timeline
                            ) -> list[LegendHandle]:
    """Acceleration intensity (ENMO, filled) with step cadence (dotted, right axis) in
    the minutes spent mostly stepping (elsewhere the cadence of a few steps says
    nothing); a note when the session has no acceleration."""
    if not result.info.has_acc:
        ax.text(0.5, 0.5, "no acceleration in this session", transform=ax.transAxes,
                ha="center", va="center", color="#555555")
        ax.set_yticks([])
        return []
    values = result.features.values
    enmo_mg = values["enmo_g"] * 1000
    ax.stairs(enmo_mg, time.edges, fill=True, color="#56B4E9", alpha=0.45, lw=0)
    ax.stairs(enmo_mg, time.edges, baseline=None, color=ENMO_COLOUR, lw=1.0)
    ax.set_ylabel("ENMO (mg)")
    ax.set_ylim(bottom=0)
    cad = twin_axes(ax)
    with np.errstate(invalid="ignore"):
        stepping = values["step_fraction"] >= STEPPING_FRACTION
    cadence = np.where(stepping, values["cadence_spm"], np.nan)
    cad.plot(time.t, cadence, color=CADENCE_COLOUR, lw=0.9, ls=":")
    cad.set_ylabel("steps/min", color=CADENCE_COLOUR)
    cad.set_ylim(bottom=0)
    if not np.isfinite(cadence).any():
        return []
    return [Line2D([], [], color=CADENCE_COLOUR, lw=0.9, ls=":", label="step cadence")]


# ---------------------------------------------------------------------------------------
# Workload


def has_workload_channel(result: SessionResult) -> bool:
    """Whether the session has speed or power to show."""
    values = result.features.values
    return any(np.isfinite(values.get(name, np.zeros(0))).any()
               for name in ("speed_mps", "power_w"))


def draw_workload_panel(ax: Axes, result: SessionResult, time: Timeline
                        ) -> list[LegendHandle]:
    """The workload as the session recorded it: power (W) when it has a power meter, else
    speed (km/h); a treadmill's incline (%) dotted on the right axis."""
    values = result.features.values
    power = values.get("power_w")
    if power is not None and np.isfinite(power).any():
        shown, label, unit = power, "power", "power (W)"
    else:
        shown, label, unit = values["speed_mps"] * 3.6, "speed", "speed (km/h)"
    ax.stairs(shown, time.edges, baseline=None, color=WORKLOAD_COLOUR, lw=1.3)
    ax.set_ylabel(unit)
    ax.set_ylim(bottom=0, top=max(float(np.nanmax(shown)) * 1.15, 1.0))
    handles: list[LegendHandle] = [Line2D([], [], color=WORKLOAD_COLOUR, lw=1.3, label=label)]
    grade = values.get("grade")
    if grade is not None and np.nanmax(np.abs(grade), initial=0.0) > 0.001:
        incline = twin_axes(ax)
        incline.stairs(grade * 100, time.edges, baseline=None, color=GRADE_COLOUR, lw=0.9,
                       ls=":")
        incline.set_ylabel("grade (%)", color=GRADE_COLOUR)
        handles.append(Line2D([], [], color=GRADE_COLOUR, lw=0.9, ls=":", label="grade"))
    return handles


# ---------------------------------------------------------------------------------------
# Labels


def _fill_label_runs(ax: Axes, runs: list[tuple[int, int, int]], time: Timeline
                     ) -> set[Label]:
    """One hatched collection per label (runs, not epochs: a week is 10,080 epochs);
    returns the labels drawn."""
    present = set()
    for label in Label:
        spans = [time.run(s, e) for code, s, e in runs if code == label]
        if not spans:
            continue
        present.add(label)
        ax.broken_barh(spans, (0, 1), facecolors=LABEL_COLOURS[label], edgecolor="none",
                       hatch=LABEL_HATCHES[label] or None, hatchcolor=_HATCH_COLOURS[label],
                       lw=0)
    return present


def _name_label_runs(ax: Axes, runs: list[tuple[int, int, int]], time: Timeline) -> None:
    """The label's name across every run wide enough to hold it."""
    for code, s, e in runs:
        x0, width = time.run(s, e)
        if time.share(width) >= 0.07:
            label = Label(code)
            ax.text(x0 + width / 2, 0.5, label.name.lower(), ha="center", va="center",
                    fontsize=7.5, color=_TEXT_COLOURS[label],
                    bbox={"boxstyle": "round,pad=0.25", "fc": LABEL_COLOURS[label],
                          "ec": "none"})


def _label_handles(present: set[Label]) -> list[LegendHandle]:
    """A legend patch per label (``missing`` only when the session has missing epochs)."""
    labels = [label for label in Label if label is not Label.MISSING]
    if Label.MISSING in present:
        labels.append(Label.MISSING)
    return [Patch(facecolor=LABEL_COLOURS[label], hatch=LABEL_HATCHES[label],
                  edgecolor="#777777", lw=0.6, label=label.name.lower(),
                  hatchcolor=_HATCH_COLOURS[label]) for label in labels]


def draw_label_panel(ax: Axes, result: SessionResult, time: Timeline) -> list[LegendHandle]:
    """The epoch labels as a strip, named where a run is wide enough."""
    runs = _runs(np.asarray(result.prediction.labels, dtype=np.int64))
    present = _fill_label_runs(ax, runs, time)
    _name_label_runs(ax, runs, time)
    ax.set_yticks([0.5], ["labels"])
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(0, 1)
    return _label_handles(present)


# ---------------------------------------------------------------------------------------
# The figure


PANELS: tuple[Panel, ...] = (
    Panel("intensity", 3.0, draw_intensity_panel),
    Panel("acceleration", 1.15, draw_acceleration_panel),
    Panel("labels", 0.55, draw_label_panel),
)
"""The panels of every session picture, top to bottom. A new channel is one more
:class:`Panel`; the layout keeps the figure's size, so give it a small height."""
WORKLOAD_PANEL = Panel("workload", 0.9, draw_workload_panel)
"""Below the intensity, for a session with speed or power (:func:`panels_for`)."""


def panels_for(result: SessionResult) -> tuple[Panel, ...]:
    """The panels of ``result``'s picture: :data:`PANELS`, with the workload under the
    intensity when the session has speed or power, and without the acceleration when the
    session has none but has a workload (a watch export: the room goes to the others)."""
    if not has_workload_channel(result):
        return PANELS
    rest = PANELS[1:] if result.info.has_acc else tuple(
        p for p in PANELS[1:] if p.name != "acceleration")
    return (PANELS[0], WORKLOAD_PANEL, *rest)


def _panel_axes(fig: Figure, panels: Sequence[Panel]) -> list[Axes]:
    """One axes per panel, stacked, sharing the time axis (labelled on the bottom one)."""
    # Fixed margins instead of tight_layout: the same layout for every session, and faster.
    grid = fig.add_gridspec(len(panels), 1, height_ratios=[p.height for p in panels],
                            left=0.062, right=0.925, top=0.885, bottom=0.135, hspace=0.1)
    axes: list[Axes] = []
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(grid[i], sharex=axes[0] if axes else None)
        ax.set_label(panel.name)
        axes.append(ax)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    return axes


def _draw_legend(fig: Figure, handles: list[LegendHandle]) -> None:
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.005),
               ncol=len(handles), fontsize=8, frameon=False, handlelength=2.2,
               columnspacing=1.4)


HEADER_FITS = 110  # characters of the header line that fit at its full size


def _draw_header(fig: Figure, result: SessionResult) -> None:
    """The header line, and under it the session's name and where intensity came from."""
    header = header_text(result)
    # About 110 characters fit the width at 10.5 pt bold; a longer line (a long participant
    # name, shortened to 40 characters) is made smaller rather than cut off at the edge.
    size = 10.5 if len(header) <= HEADER_FITS else 10.5 * HEADER_FITS / len(header)
    fig.text(0.012, 0.965, header, fontsize=size, fontweight="bold", ha="left", va="center")
    source = result.intensity_source.replace("_", " ")
    detail = f"certainty {result.certainty.level}  ·  {result.name}  ·  intensity from {source}"
    hp = result.info.hr_params
    if hp is not None:
        detail += (f"  ·  HR rest {hp.hr_rest:.0f} bpm ({hp.hr_rest_source}), "
                   f"HR max {hp.hr_max:.0f} bpm ({hp.hr_max_source})")
    fig.text(0.012, 0.928, detail, fontsize=8, color="#444444", ha="left", va="center")


FIGURE_SIZE = (11, 6.8)  # inches


def _draw_panels(fig: Figure, axes: Sequence[Axes], panels: Sequence[Panel],
                 result: SessionResult) -> None:
    """Draw ``result`` into the empty ``axes`` of ``fig``, one per panel; the legend and
    the header."""
    time = Timeline.of(result)
    handles: list[LegendHandle] = []
    for panel, ax in zip(panels, axes, strict=True):
        handles += panel.draw(ax, result, time)
    axes[-1].set_xlim(time.start_s[0] / time.scale, time.end)
    axes[-1].set_xlabel(f"time ({time.unit} from start)")
    _draw_legend(fig, handles)
    _draw_header(fig, result)


def draw_session(result: SessionResult, panels: Sequence[Panel] | None = None) -> Figure:
    """The session picture as a new matplotlib Figure: the header, then ``panels`` top to
    bottom on one time axis (axes labelled by the panels' names; by default
    :func:`panels_for`: ``intensity``, ``workload`` when there is one, ``acceleration``
    and ``labels``), then the legend."""
    panels = panels_for(result) if panels is None else panels
    # The Figure API, not pyplot: no global state, safe in worker processes and threads.
    fig = Figure(figsize=FIGURE_SIZE)
    _draw_panels(fig, _panel_axes(fig, panels), panels, result)
    return fig


# ---------------------------------------------------------------------------------------
# Reusing a figure from one picture to the next


def twin_axes(ax: Axes) -> Axes:
    """An axes on ``ax``'s right with its own y axis (``ax.twinx()``); on a reused
    figure, the one the same panel drew on last time, emptied (:class:`_ReusedFigure`).
    Panels take their twin from here."""
    reused = getattr(_KEPT, "drawing", None)
    if reused is None or ax.figure is not reused.fig:
        return ax.twinx()
    return reused.twin(ax)


def _empty_axes(ax: Axes) -> None:
    """Take back what a panel drew into ``ax``: its artists, data limits, y limits, y
    scale, y ticks' locators and formatters, axis labels, property cycle. What is left is
    what a new axes has, apart from the x limits (shared: :meth:`_ReusedFigure._empty`
    resets them once for all) and what every picture sets to the same value (the panel's
    name, tick parameters a panel always sets the same, its twins: see
    :class:`_ReusedFigure`)."""
    for artists in (ax.artists, ax.collections, ax.images, ax.lines, ax.patches, ax.tables,
                    ax.texts):
        for artist in list(artists):
            artist.remove()
    ax.relim()  # the data limits of no artists
    ax.set_prop_cycle(None)
    ax.set_yscale("linear")  # the default locators and formatters again (set_yticks)
    ax.set_ylim(0, 1, auto=True)  # as a new axes: unit limits, autoscaled
    for label in (ax.xaxis.label, ax.yaxis.label):
        label.set_text("")
        label.set_color(mpl.rcParams["axes.labelcolor"])


class _ReusedFigure:
    """A figure with one axes per panel, drawn on again and again (:func:`plot_session`).

    Building a Figure, its axes, its twin axes and their ticks costs about as much as
    drawing the picture's text, and the first save of a figure makes its ticks and lays
    out every tick label; a figure that stays also keeps its Agg renderer, whose text
    metrics matplotlib caches. Before each picture every axes is emptied
    (:func:`_empty_axes`) and the figure's legend and header removed.

    Twin axes stay too: a panel asks :func:`twin_axes` for its twin and gets the one it
    drew on last time. A twin no panel asked for is deleted after the picture. The order
    of ``fig.axes`` is the order of drawing and must be what a new figure has (the
    panels' axes, then the twins in the order the panels asked for them): when a panel
    asks for a twin it had not, the twins still kept (for the panels below it) are
    deleted first, and made again when asked for.

    The figure serves one thread (:data:`_KEPT` is thread-local) and one panel layout;
    after a failure it is dropped (:func:`_forget_figure`).
    """

    def __init__(self, panels: tuple[Panel, ...]) -> None:
        self.panels = panels
        self.fig = Figure(figsize=FIGURE_SIZE)
        FigureCanvasAgg(self.fig)  # kept: savefig would make a new canvas and renderer each time
        self.axes = _panel_axes(self.fig, panels)
        self._twins: dict[Axes, Axes] = {}
        self._spare: dict[Axes, Axes] = {}
        self._fresh = True

    def draw(self, result: SessionResult) -> Figure:
        """The picture of ``result`` on this figure (emptied first)."""
        if not self._fresh:
            self._empty()
        self._fresh = False
        _KEPT.drawing = self
        try:
            _draw_panels(self.fig, self.axes, self.panels, result)
        finally:
            _KEPT.drawing = None
        for spare in self._spare.values():
            self.fig.delaxes(spare)
        self._spare = {}
        return self.fig

    def twin(self, ax: Axes) -> Axes:
        """``ax``'s twin: the one it had, or a new one after every other axes."""
        twin = self._spare.pop(ax, None)
        if twin is None:
            for spare in self._spare.values():
                self.fig.delaxes(spare)
            self._spare = {}
            twin = ax.twinx()
        self._twins[ax] = twin
        return twin

    def _empty(self) -> None:
        for artist in [*self.fig.legends, *self.fig.texts]:
            artist.remove()
        self._spare, self._twins = self._twins, {}
        for ax in (*self.axes, *self._spare.values()):
            _empty_axes(ax)
        # Every axes shares the time axis (twins too): setting it on one sets them all.
        self.axes[0].set_xlim(0, 1, auto=True)


_KEPT = threading.local()
"""This thread's reused figures (``figures``: panels -> :class:`_ReusedFigure`) and the
one drawing now (``drawing``)."""
KEPT_LAYOUTS = 4  # at most this many figures per thread (a layout is a tuple of panels)


def _reused_figure(panels: tuple[Panel, ...]) -> _ReusedFigure:
    figures: dict[tuple[Panel, ...], _ReusedFigure] = _KEPT.__dict__.setdefault("figures", {})
    reused = figures.pop(panels, None)
    if reused is None:
        reused = _ReusedFigure(panels)
    figures[panels] = reused  # the most recent last
    while len(figures) > KEPT_LAYOUTS:
        del figures[next(iter(figures))]
    return reused


def _forget_figure(panels: tuple[Panel, ...]) -> None:
    _KEPT.__dict__.get("figures", {}).pop(panels, None)
