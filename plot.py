"""The session picture: intensity over time, labels as a coloured strip, bouts marked.

Drawn from a :class:`~dosewatch.analysis.SessionResult` only, so it shows exactly what the
tables say. Colours are the Okabe–Ito palette (safe for colour-blind readers) and differ
in lightness, so the picture also reads in greyscale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .analysis import SessionResult
from .models.labels import LEVEL_NAMES, Label

LABEL_COLOURS = {
    Label.MISSING: "#FFFFFF",
    Label.REST: "#D9D9D9",
    Label.CONSTANT: "#56B4E9",
    Label.INTERMEDIATE: "#E69F00",
    Label.ACCELERATING: "#8B2A00",
}
LEVEL_COLOURS = ("#F7F7F7", "#E8F1F8", "#FBEBD0", "#F3D9CF")  # rest, light, intermediate, vigorous


def _hours_or_minutes(duration_s: float) -> tuple[float, str]:
    return (3600.0, "hours") if duration_s > 3 * 3600 else (60.0, "minutes")


def plot_session(result: SessionResult, path: Path, dpi: int = 110) -> Path:
    """Write the session picture to ``path`` (PNG or SVG by extension)."""
    f = result.features
    p = result.prediction
    scale, unit = _hours_or_minutes(result.duration_s)
    t = (f.start_s + f.epoch_s / 2) / scale
    edges = np.append(f.start_s, f.start_s[-1] + f.epoch_s) / scale
    lv = result.config.levels
    edges_pct = (0, lv.light_from, lv.intermediate_from, lv.vigorous_from, 110)
    bands = zip(edges_pct[:-1], edges_pct[1:], LEVEL_COLOURS, LEVEL_NAMES, strict=True)

    # The Figure API, not pyplot: no global state, safe in worker processes and threads,
    # and it saves the ~1 s import of pyplot.
    fig = Figure(figsize=(11, 6.2))
    ax_i, ax_a, ax_l = fig.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 0.6]}
    )
    for lo, hi, colour, name in bands:
        ax_i.axhspan(lo, hi, color=colour, zorder=0)
        ax_i.text(0.004, (lo + min(hi, 100)) / 2, name, va="center", fontsize=7.5,
                  color="#555555", transform=ax_i.get_yaxis_transform(), zorder=1)
    ax_i.step(t, p.intensity, where="mid", color="black", lw=1.4, label="intensity (%HRR)")
    if result.info.has_hr:
        ax_hr = ax_i.twinx()
        ax_hr.plot(t, f.values["hr_bpm"], color="#CC79A7", lw=0.9, ls="--", label="heart rate")
        ax_hr.set_ylabel("heart rate (bpm)", color="#8E4F75")
        hp = result.info.hr_params
        if hp is not None:
            # Align the bpm axis with the %HRR axis so both read off the same line.
            ax_hr.set_ylim(hp.hr_rest, hp.hr_rest + 1.05 * (hp.hr_max - hp.hr_rest))
    ax_i.set_ylim(0, 105)
    ax_i.set_ylabel("%HRR")
    for bout in result.bouts:
        x0, x1 = bout.start_s / scale, bout.end_s / scale
        ax_i.annotate("", xy=(x0, 101), xytext=(x1, 101),
                      arrowprops={"arrowstyle": "|-|", "color": "#009E73", "lw": 1.5})
        ax_i.text((x0 + x1) / 2, 96, f"bout: {bout.qualifying_minutes:.0f} min",
                  ha="center", va="top", fontsize=8, color="#00654A")
        if bout.dose_met_at_s is not None:
            xd = bout.dose_met_at_s / scale
            ax_i.axvline(xd, color="#009E73", lw=1.2, ls=":")
            ax_i.text(xd, 4, " dose met", color="#00654A", fontsize=8, rotation=90, va="bottom")

    if result.info.has_acc:
        ax_a.step(t, f.values["enmo_g"] * 1000, where="mid", color="#0072B2", lw=1.0)
        ax_a.set_ylabel("ENMO (mg)")
        cad = ax_a.twinx()
        cad.plot(t, f.values["cadence_spm"], color="#999999", lw=0.8, ls=":")
        cad.set_ylabel("steps/min", color="#666666")
    else:
        ax_a.text(0.5, 0.5, "no acceleration", transform=ax_a.transAxes, ha="center",
                  va="center", color="#777777")
        ax_a.set_yticks([])

    # One image for the whole strip: a week has 10,080 epochs, far too many patches.
    palette = np.array([to_rgb(LABEL_COLOURS[Label(c)]) for c in range(-1, 4)])
    ax_l.imshow(palette[p.labels.astype(int) + 1][None, :, :], aspect="auto",
                interpolation="nearest", extent=(edges[0], edges[-1], 0, 1))
    ax_l.set_yticks([])
    ax_l.set_ylim(0, 1)
    ax_l.set_xlim(edges[0], edges[-1])
    ax_l.set_xlabel(f"time ({unit} from start)")
    ax_l.legend(
        handles=[Patch(color=LABEL_COLOURS[lab], label=lab.name.lower()) for lab in Label
                 if lab is not Label.MISSING],
        loc="upper center", bbox_to_anchor=(0.5, -0.9), ncol=4, fontsize=8, frameon=False,
    )

    date = f"{result.start_time[:16].replace('T', ' ')}  ·  " if result.start_time else ""
    dose = "dose met" if result.dose_met else "dose not met"
    longest = max((b.qualifying_minutes for b in result.bouts), default=0)
    fig.suptitle(
        f"{result.name}   {date}{result.duration_s / 60:.0f} min  ·  class: "
        f"{result.session_class}  ·  {dose} (longest bout {longest:.0f} min)  ·  "
        f"intensity from {result.intensity_source.replace('_', ' ')}",
        fontsize=10, x=0.01, ha="left",
    )
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    return path
