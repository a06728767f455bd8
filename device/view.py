"""What ``dosewatch record`` shows: a live status line and the end-of-session summary.

:class:`LiveView` listens to :class:`~dosewatch.device.live.LiveStatus` updates and
:class:`~dosewatch.device.recorder.RecorderEvent` events. On a terminal it keeps one
status line up to date in place (elapsed time, heart rate, %HRR, the current label with
the minute it belongs to, the current bout's qualifying minutes as a bar filling up to the
dose), every field from the same update, and never wider than the terminal (80 columns:
79 characters, fields dropped before any is cut). It prints events, the dose moment and
every decrease of the bout counter, with its reason, on their own lines above it:

- the bout was revised (the same bout, fewer minutes: its newest minutes were labelled
  again as their heart rate came in),
- the bout ended (more than the tolerated break), or a new bout began;

and the dose is announced at its moment (the first update at or after it), stamped with
that moment. The last status line, at the end, shows the longest bout. In plain mode
(``--plain``, or when the output is not a terminal) it prints one line per update
instead, for logs::

    [00:12:30] hr=142 pct_hrr=61 label=intermediate bout=12.0/30 dose=no saved hr=750 acc=150000

``saved`` gives the rows committed to the recording so far (the file holds at least these
even if the recorder is killed right after the line is printed).

:func:`format_summary` writes the end-of-session summary from the final analysis.
"""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .live import LiveStatus
    from .recorder import DeviceStats, RecorderEvent

__all__ = ["LiveView", "bout_change", "format_clock", "format_plain", "format_status",
           "format_summary"]

_QUIET_EVENTS = frozenset({"clock", "location"})


def format_clock(seconds: float | None) -> str:
    """``hh:mm:ss`` (or ``mm:ss`` under an hour) of a duration; ``--:--`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    total = int(round(max(seconds, 0.0)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{round(value, digits) + 0.0:.{digits}f}"  # + 0.0: never "-0"


def format_plain(status: LiveStatus, saved: dict[str, int] | None = None) -> str:
    """One log line per update (see the module text)."""
    dose = "no" if status.dose_met_at_s is None else f"met@{status.dose_met_at_s:.0f}s"
    line = (
        f"[{format_clock(status.elapsed_s)}] hr={_num(status.hr_bpm)} "
        f"pct_hrr={_num(status.pct_hrr)} label={status.label} "
        f"bout={status.bout_minutes:.1f}/{status.dose_minutes:g} dose={dose}"
    )
    if saved is not None:
        line += " saved " + " ".join(f"{k}={saved.get(k, 0)}" for k in ("hr", "acc", "speed"))
    return line


def _bar(minutes: float, target: float, width: int, unicode: bool) -> str:
    filled = 0 if target <= 0 else min(width, int(round(width * minutes / target)))
    full, empty = ("█", "░") if unicode else ("#", "-")
    return full * filled + empty * (width - filled)


def format_status(status: LiveStatus, *, unicode: bool = True, width: int = 79) -> str:
    """The terminal's status line, at most ``width`` characters: fields are dropped (the
    least needed first), never cut."""
    heart = "♥" if unicode else "HR"
    final = status.final
    minutes = status.longest_bout_minutes if final else status.bout_minutes
    plain_label = status.label if status.label != "missing" else "-"
    label = plain_label
    if status.label_epoch_s is not None and not final:
        label += f" @{format_clock(status.label_epoch_s)}"  # the minute it belongs to
    if status.dose_met_at_s is not None:
        dose = f"dose ✓ {format_clock(status.dose_met_at_s)}" if unicode else \
            f"dose met {format_clock(status.dose_met_at_s)}"
    else:
        dose = ""
    what = "longest" if final else "bout"
    bar = f"[{_bar(minutes, status.dose_minutes, 10, unicode)}] "
    counter = f"{what} {minutes:.1f}/{status.dose_minutes:g}"
    fields = {  # in display order; dropped in the order of `dropping` until it fits
        "clock": format_clock(status.elapsed_s),
        "hr": f"{heart} {_num(status.hr_bpm)}",
        "pct": f"{_num(status.pct_hrr)}%HRR",
        "label": label,
        "bout": bar + counter,
        "dose": dose,
    }
    dropping = [None, "pct", "bar", "hr", "dose", "tag"]
    for drop in dropping:
        if drop == "bar":
            fields["bout"] = counter
        elif drop == "tag":
            fields["label"] = plain_label
        elif drop is not None:
            fields.pop(drop)
        line = "  ".join(t for t in fields.values() if t)
        if len(line) <= width:
            return line
    return line[:width]


def bout_change(previous: LiveStatus, status: LiveStatus) -> str | None:
    """Why the bout counter went down between two updates (None when it did not)."""
    if status.final or status.bout_minutes >= previous.bout_minutes:
        return None
    before, now = previous.bout_minutes, status.bout_minutes
    if status.bout_start_s is None:
        return (f"bout of {before:.1f} qualifying min ended (the break went past the "
                "tolerated length)")
    if previous.bout_start_s is not None and status.bout_start_s != previous.bout_start_s:
        return (f"a new bout began at {format_clock(status.bout_start_s)} ({now:.1f} min so "
                f"far); the one before had {before:.1f}")
    return (f"bout revised from {before:.1f} to {now:.1f} qualifying min: its newest minutes "
            "were labelled again as their heart rate came in")


class LiveView:
    """Prints live updates and events (see the module text).

    Args:
        stream: where to print (stdout by default).
        plain: one line per update; default: when ``stream`` is not a terminal.
        saved: returns the rows committed so far per table (shown in plain lines).
        name: the participant's name, put before every line (when one command records
            several people).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        plain: bool | None = None,
        saved: Callable[[], dict[str, int]] | None = None,
        name: str | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", None)
        self.plain = plain if plain is not None else not (isatty is not None and isatty())
        encoding = (getattr(self.stream, "encoding", None) or "").lower()
        self.unicode = encoding.startswith("utf")
        self.saved = saved
        self.start_unix_s: float | None = None
        self._line_open = False
        self._previous: LiveStatus | None = None
        self.prefix = f"{name}: " if name else ""

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # closed pipe or stream: keep recording
            pass

    def _clear(self) -> None:
        if self._line_open:
            self._write("\r\x1b[K")
            self._line_open = False

    def message(self, text: str) -> None:
        """Print a line of its own (above the status line on a terminal)."""
        self._clear()
        self._write(self.prefix + text + "\n")

    def status(self, status: LiveStatus) -> None:
        """Show a live update (a :meth:`LiveAnalysis.subscribe` listener)."""
        self.start_unix_s = status.start_unix_s
        previous, self._previous = self._previous, status
        if previous is not None:
            why = bout_change(previous, status)
            if why is not None:
                self.message(f"[{format_clock(status.elapsed_s)}] {why}")
        if status.dose_announced and status.dose_met_at_s is not None:
            self.message(
                f"[{format_clock(status.dose_met_at_s)}] Dose met: {status.dose_minutes:g} "
                "qualifying minutes in one bout."
            )
        if self.plain:
            self._write(self.prefix + format_plain(status, self.saved() if self.saved else None)
                        + "\n")
        else:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self._write("\r\x1b[K" + format_status(status, unicode=self.unicode,
                                                   width=max(width, 20)))
            self._line_open = True

    def event(self, event: RecorderEvent) -> None:
        """Show a recorder event (a ``Recorder(on_event=...)`` listener)."""
        if event.kind in _QUIET_EVENTS:
            return
        if self.start_unix_s is None:  # until the first update: from the first event
            self.start_unix_s = event.t
        when = format_clock(event.t - self.start_unix_s)
        who = f"{event.device}: " if event.device else ""
        self.message(f"[{when}] {who}{event.kind}: {event.detail}")

    def close(self) -> None:
        """End the status line."""
        if self._line_open:
            self._write("\n")
            self._line_open = False


def format_summary(
    final: LiveStatus | None,
    devices: Sequence[DeviceStats] = (),
    *,
    path: str | None = None,
    saved: dict[str, int] | None = None,
) -> str:
    """The end-of-session summary: class, dose, minutes, bouts, devices, warnings."""
    lines = ["", f"Session summary{f' — {path}' if path else ''}"]

    def row(key: str, value: str) -> None:
        lines.append(f"  {key + ':':<16}{value}")

    if final is None:
        row("result", "no heart rate or acceleration was recorded: nothing to analyse")
    else:
        result = final.result
        row("duration", format_clock(result.duration_s))
        row("class", result.session_class)
        longest = result.longest_bout_qualifying_minutes
        if result.dose_met_at_s is not None:
            row("dose", f"met at {format_clock(result.dose_met_at_s)} "
                f"({result.dose_met_at_s:.0f} s)")
        else:
            row("dose", f"not met (longest bout {longest:.0f} of "
                f"{result.config.bouts.dose_min:g} qualifying minutes)")
        minutes = ", ".join(f"{k} {v:g}" for k, v in result.minutes.items()
                            if k != "missing" and v)
        row("minutes", minutes or "none")
        hp = result.info.hr_params
        source = result.intensity_source
        if hp is not None:
            source += (f" (HR_rest {hp.hr_rest:.0f} from {hp.hr_rest_source}, "
                       f"HR_max {hp.hr_max:.0f} from {hp.hr_max_source})")
        row("intensity from", source)
        certainty = result.certainty
        row("certainty", certainty.level + "".join(f"; {r}" for r in certainty.reasons))
        for i, bout in enumerate(result.bouts, 1):
            met = "dose met" if bout.dose_met else "dose not met"
            row(f"bout {i}", f"{format_clock(bout.start_s)}–{format_clock(bout.end_s)}, "
                f"{bout.qualifying_minutes:g} qualifying min, mean "
                f"{_num(bout.mean_pct_hrr)} %HRR, {met}")
        row("classifier", result.classifier)
    for d in devices:
        parts = []
        if d.hr_values:
            parts.append(f"hr {d.hr_values}")
        if d.acc_samples:
            parts.append(f"acc {d.acc_samples} samples at {d.acc_rate_hz} Hz")
        if d.speed_values:
            parts.append(f"speed {d.speed_values}")
        reconnects = max(d.connects - 1, 0)
        parts.append(f"{reconnects} reconnect{'s' if reconnects != 1 else ''}")
        malformed = sum(d.malformed.values())
        parts.append(f"{malformed} malformed" + (
            f" ({', '.join(f'{k} {n}' for k, n in sorted(d.malformed.items()))})"
            if malformed else ""))
        if d.battery is not None:
            parts.append(f"battery {d.battery} %")
        name = f"{d.name} ({d.address})" if d.name and d.name != d.address else d.address
        row("device", f"{name}: {', '.join(parts)}")
    if saved is not None:
        row("saved", ", ".join(f"{k} {n}" for k, n in saved.items() if n))
    if final is not None:
        for warning in final.result.warnings:
            row("warning", warning)
    if path:
        row("analyse again", f"dosewatch analyze {path} --out DIR")
    return "\n".join(lines) + "\n"
