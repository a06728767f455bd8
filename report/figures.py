"""The report's figures as inline SVG: one small multiple per participant (dose sessions
or dose days per ISO week against the recommended number, and the longest run of weeks)
and the distribution of session classes.

Every number drawn is a cell of the adherence tables or a count of session rows. Each
figure carries a text alternative (``aria-label`` and ``<title>``) that says what it
shows, and the fills differ in hatching as well as colour, so they read in greyscale.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from html import escape

from ..adherence import AdherenceRules, ParticipantRow, WeekRow
from .markup import CLASSES

# Okabe–Ito colours, as in the session picture (dosewatch.plot); repeated here so that the
# report does not import matplotlib.
CLASS_FILL = {"constant": "url(#hatch-constant)", "intermediate": "url(#hatch-intermediate)",
              "accelerating": "url(#hatch-accelerating)", "none": "#EEEEEE"}
MET_COLOUR, STREAK_COLOUR = "#0072B2", "#007A5A"  # a week not met: url(#hatch-notmet)

PATTERNS = """<svg width="0" height="0" style="position:absolute" aria-hidden="true"
 focusable="false"><defs>
<pattern id="hatch-constant" width="8" height="8" patternUnits="userSpaceOnUse">
<rect width="8" height="8" fill="#0072B2"/><path d="M0 4H8" stroke="#fff" stroke-width="1"/>
</pattern>
<pattern id="hatch-intermediate" width="8" height="8" patternUnits="userSpaceOnUse">
<rect width="8" height="8" fill="#E69F00"/><circle cx="4" cy="4" r="1.1" fill="#5A3E00"/>
</pattern>
<pattern id="hatch-accelerating" width="8" height="8" patternUnits="userSpaceOnUse">
<rect width="8" height="8" fill="#5A1B00"/>
<path d="M-1 9L9 -1M-1 1L1 -1M7 9L9 7" stroke="#fff" stroke-width="1"/></pattern>
<pattern id="hatch-notmet" width="6" height="6" patternUnits="userSpaceOnUse">
<rect width="6" height="6" fill="#F2C46D"/><path d="M0 6L6 0" stroke="#8A5A00"
 stroke-width="0.8"/></pattern>
</defs></svg>"""
"""The hatch patterns the figures fill with: defined once per page, before any figure."""


# ---------------------------------------------------------------------------------------
# One participant


@dataclass(frozen=True)
class _Frame:
    """Where things go in a small multiple: one slot per week, counts up to ``y_max``."""

    n_weeks: int
    y_max: int
    width: int = 320
    height: int = 150
    left: int = 24
    right: int = 50
    top: int = 14
    bottom: int = 44

    @property
    def slot(self) -> float:
        return (self.width - self.left - self.right) / self.n_weeks

    @property
    def bar_w(self) -> float:
        return max(1.0, self.slot * 0.72)

    def y(self, value: float) -> float:
        plot_h = self.height - self.top - self.bottom
        return self.top + plot_h * (1 - value / self.y_max)

    def bar_x(self, i: int) -> float:
        return self.left + i * self.slot + (self.slot - self.bar_w) / 2


def _week_counts(weeks: list[WeekRow], rules: AdherenceRules) -> list[int]:
    """The bar heights: dose days or dose sessions, as the rules count them."""
    return [w.dose_days if rules.count_same_day_once else w.dose_sessions for w in weeks]


def _week_short(week: str) -> str:
    return week.split("-")[-1] if week else ""


def _figure_summary(person: ParticipantRow, rules: AdherenceRules) -> str:
    """The figure's text alternative: what a reader who cannot see it needs."""
    count_name = "dose days" if rules.count_same_day_once else "dose sessions"
    streak = (f"longest run {person.longest_streak_weeks} of {person.target_weeks} weeks"
              + (" — target met" if person.target_met else ""))
    return (f"{person.participant}: {count_name} per ISO week, {person.weeks_met} of "
            f"{person.weeks} weeks with at least {rules.dose_sessions_per_week}; {streak}")


def _no_weeks_figure(person: ParticipantRow, summary: str) -> str:
    return (f'<figure class="multiple"><div class="empty" role="img" '
            f'aria-label="{escape(summary)}">no dated sessions</div>'
            f"<figcaption><strong>{escape(person.participant)}</strong> — no dated "
            f"sessions ({person.undated_sessions} undated)</figcaption></figure>")


def _grid(frame: _Frame) -> list[str]:
    """Horizontal lines at every count, labelled at about four of them."""
    parts = []
    for tick in range(frame.y_max + 1):
        y = frame.y(tick)
        parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" '
                     f'y1="{y:.1f}" y2="{y:.1f}" stroke="#E4E4E4"/>')
        if tick % max(1, frame.y_max // 4) == 0:
            parts.append(f'<text x="{frame.left - 4}" y="{y + 3:.1f}" text-anchor="end" '
                         f'class="tick">{tick}</text>')
    return parts


def _week_tip(week: WeekRow) -> str:
    minutes = ("unknown" if week.minutes_at_or_above_intermediate is None
               else f"{week.minutes_at_or_above_intermediate:.0f}")
    sessions = f"{week.sessions} session{'' if week.sessions == 1 else 's'}"
    days = f"{week.dose_days} dose day{'' if week.dose_days == 1 else 's'}"
    return (f"{week.week}: {sessions}, {week.dose_sessions} with the dose, "
            f"{days}, {minutes} min at intermediate or above — "
            + ("met" if week.week_met else "not met"))


def _week_bar(frame: _Frame, i: int, week: WeekRow, count: int, label: bool) -> list[str]:
    """One week's bar (a hairline at zero) with its tooltip, count and week number."""
    x, bar_w = frame.bar_x(i), frame.bar_w
    fill = MET_COLOUR if week.week_met else "url(#hatch-notmet)"
    parts = [f"<g><title>{escape(_week_tip(week))}</title>"]
    if count:
        parts.append(f'<rect x="{x:.1f}" y="{frame.y(count):.1f}" width="{bar_w:.1f}" '
                     f'height="{frame.y(0) - frame.y(count):.1f}" fill="{fill}" '
                     f'stroke="#333" stroke-width="0.5"/>')
    else:
        parts.append(f'<rect x="{x:.1f}" y="{frame.y(0) - 1:.1f}" width="{bar_w:.1f}" '
                     f'height="1" fill="#999"/>')
    if frame.slot >= 12:
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{frame.y(count) - 3:.1f}" '
                     f'text-anchor="middle" class="val">{count}</text>')
    parts.append("</g>")
    if label:
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{frame.y(0) + 12:.1f}" '
                     f'text-anchor="middle" class="tick">{_week_short(week.week)}</text>')
    return parts


def _recommended_line(frame: _Frame, need: int) -> list[str]:
    """The dashed line at the recommended number per week, named at its right end."""
    y = frame.y(need)
    line = (f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#000" stroke-width="1.2" stroke-dasharray="5 3"/>')
    name = (f'<text x="{frame.width - frame.right + 4}" y="{y + 3:.1f}" '
            f'class="tick">{need}/week</text>')
    return [line, name]


def _streak_line(frame: _Frame, person: ParticipantRow, weeks: list[WeekRow]) -> list[str]:
    """The longest run of weeks met, as a line under its bars with its length."""
    run = person.longest_streak_weeks
    if not run:
        return []
    first = next(i for i, w in enumerate(weeks) if w.week == person.longest_streak_from)
    x0 = frame.left + first * frame.slot + 1
    x1 = frame.left + (first + run) * frame.slot - 1
    y_s = frame.height - 16
    text = f"{run} week{'s' if run != 1 else ''} in a row"
    half = len(text) * 3.1  # about half the text's width at 10 px
    centre = min(max((x0 + x1) / 2, half + 2), frame.width - half - 2)
    line = (f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y_s}" y2="{y_s}" '
            f'stroke="{STREAK_COLOUR}" stroke-width="5"/>')
    length = (f'<text x="{centre:.1f}" y="{frame.height - 3}" text-anchor="middle" '
              f'class="streak">{text}</text>')
    return [line, length]


def _caption(person: ParticipantRow) -> str:
    """Weeks met, the longest run against the target (a meter) and the verdict."""
    verdict = ('<span class="ok">target met</span>' if person.target_met
               else '<span class="no">target not met</span>')
    caption = (f"<strong>{escape(person.participant)}</strong> — {person.weeks_met}/"
               f"{person.weeks} weeks met · longest run "
               f'<meter min="0" max="{person.target_weeks}" '
               f'value="{min(person.longest_streak_weeks, person.target_weeks)}" '
               f'title="{person.longest_streak_weeks} of {person.target_weeks} weeks">'
               f"</meter> {person.longest_streak_weeks}/{person.target_weeks} · {verdict}")
    if person.undated_sessions:
        caption += f" · {person.undated_sessions} undated"
    return caption


def participant_figure(person: ParticipantRow, weeks: list[WeekRow],
                       rules: AdherenceRules) -> str:
    """One small multiple: dose days per week against the recommended number, the
    longest run of weeks underneath."""
    summary = _figure_summary(person, rules)
    if not weeks:
        return _no_weeks_figure(person, summary)
    need = rules.dose_sessions_per_week
    counts = _week_counts(weeks, rules)
    frame = _Frame(n_weeks=len(weeks), y_max=max(need + 1, max(counts) + 1))
    svg = (f'<svg viewBox="0 0 {frame.width} {frame.height}" class="multiple" '
           f'role="img" aria-label="{escape(summary)}"><title>{escape(summary)}</title>')
    parts = [svg]
    parts += _grid(frame)
    label_every = max(1, math.ceil(len(weeks) / 8))
    for i, (week, count) in enumerate(zip(weeks, counts, strict=True)):
        parts += _week_bar(frame, i, week, count, label=i % label_every == 0)
    parts += _recommended_line(frame, need)
    parts += _streak_line(frame, person, weeks)
    parts.append("</svg>")
    return (f'<figure class="multiple">{"".join(parts)}'
            f"<figcaption>{_caption(person)}</figcaption></figure>")


# ---------------------------------------------------------------------------------------
# Session classes


def class_figure(counts: Counter[str], total: int) -> str:
    """Horizontal bars: sessions per class, with their count and share of ``total``."""
    width, bar_h, gap, left, right = 560, 22, 8, 110, 110
    height = len(CLASSES) * (bar_h + gap) + gap
    peak = max(counts.values(), default=0) or 1
    label = "session classes: " + ", ".join(f"{c} {counts.get(c, 0)}" for c in CLASSES)
    svg = (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>')
    parts = [svg]
    for i, name in enumerate(CLASSES):
        n = counts.get(name, 0)
        y = gap + i * (bar_h + gap)
        w = (width - left - right) * n / peak
        share = f"{100 * n / total:.0f} %" if total else "–"
        parts.append(f'<text x="{left - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" '
                     f'class="lab">{name}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{CLASS_FILL[name]}" stroke="#333" stroke-width="0.5"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}" '
                     f'class="lab">{n} ({share})</text>')
    parts.append("</svg>")
    return "".join(parts)
