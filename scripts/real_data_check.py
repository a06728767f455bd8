"""The learned model on real recorded sessions, next to each session's workload profile.

Every FIT, TCX and GPX file in ``../shared/data/real/`` that the readers open is analysed
with the learned model and with the rule classifier (heart rate only: none of these files
has raw acceleration). Beside the verdicts the script reads the workload off the file's
own speed or power channel, which the classifiers do not use for these labels, and
describes it per minute: steady, rising (a ramp or step test) or variable.

    python scripts/real_data_check.py [--out docs/real-data-check.md]

The table says, per session, where the model and the workload profile disagree; the
README discusses why.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.config import Config
from dosewatch.errors import DosewatchError
from dosewatch.ingest import read_session
from dosewatch.models.registry import get_classifier
from dosewatch.spec.trend import centred_windows, theil_sen

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
SUFFIXES = (".fit", ".tcx", ".gpx", ".fit.gz", ".tcx.gz", ".gpx.gz")


def per_minute(t: np.ndarray, v: np.ndarray, minutes: int) -> np.ndarray:
    index = np.clip((t // 60).astype(np.int64), 0, minutes - 1)
    counts = np.bincount(index, minlength=minutes)
    sums = np.bincount(index, weights=np.nan_to_num(v), minlength=minutes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def workload_profile(session) -> tuple[str, str]:
    """(channel, description) of the workload read off speed or power, per minute.

    Rising: the 10-minute Theil–Sen slope of the channel is positive (> 2 % of its
    median per minute) over at least a third of the moving minutes. Steady: the moving
    minutes stay within ±10 % of their median for at least 70 % of them. Else variable.
    """
    minutes = max(1, int(np.ceil(session.duration_s / 60)))
    if session.power is not None and np.nanmax(session.power.values) > 0:
        channel, t, v = "power", session.power.t, session.power.values
    elif session.speed is not None and np.nanmax(session.speed.mps) > 0:
        channel, t, v = "speed", session.speed.t, session.speed.mps
    else:
        return "none", "no speed or power channel"
    m = per_minute(t, v, minutes)
    moving = np.isfinite(m) & (m > 0.05 * np.nanmax(m))
    if moving.sum() < 5:
        return channel, "too few moving minutes"
    median = float(np.median(m[moving]))
    slope = theil_sen(centred_windows(np.where(moving, m, np.nan), 5), np.arange(-5, 6.0))
    rising = np.nanmean(slope[moving] > 0.02 * median)
    steady = np.mean(np.abs(m[moving] - median) <= 0.1 * median)
    unit = "W" if channel == "power" else "m/s"
    if rising >= 1 / 3:
        kind = "rising"
    elif steady >= 0.7:
        kind = "steady"
    else:
        kind = "variable"
    return channel, (f"{kind} (median {median:.1f} {unit}, {100 * steady:.0f} % of minutes "
                     f"within ±10 %, {100 * rising:.0f} % rising)")


def expected(kind: str) -> set[str]:
    """Session classes consistent with the workload profile."""
    if kind.startswith("rising"):
        return {"accelerating"}
    if kind.startswith("steady"):
        return {"constant", "intermediate"}
    return {"constant", "intermediate", "accelerating"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the markdown table here")
    args = parser.parse_args()
    files = sorted(p for p in REAL.rglob("*") if p.name.lower().endswith(SUFFIXES))
    config = Config()
    learned, rules = get_classifier("learned"), get_classifier("rules")
    lines = [
        "| file | min | workload (from the file's channel) | learned: class, dose, "
        "longest bout | rules: class, dose | agrees with workload |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    unread = []
    start = time.perf_counter()
    for path in files:
        name = f"{path.parent.name.split('__')[-1]}/{path.name}"
        try:
            session = read_session(path)
        except DosewatchError as exc:
            unread.append(f"- `{name}`: {exc.reason}")
            continue
        if session.hr is None:
            unread.append(f"- `{name}`: no heart rate")
            continue
        a = analyze_session(session, config, learned)
        b = analyze_session(session, config, rules)
        channel, profile = workload_profile(session)
        longest = a.longest_bout_qualifying_minutes
        kind = profile.split(" ")[0]
        agree = "–" if channel == "none" or kind in ("too", "no") else (
            "yes" if a.session_class in expected(kind) else "**no**")
        lines.append(
            f"| `{name}` | {session.duration_s / 60:.0f} | {channel}: {profile} | "
            f"{a.session_class}, {'dose' if a.dose_met else 'no dose'}, {longest:.0f} min | "
            f"{b.session_class}, {'dose' if b.dose_met else 'no dose'} | {agree} |")
    text = "\n".join(lines) + "\n"
    if unread:
        text += "\nNot analysed:\n\n" + "\n".join(unread) + "\n"
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
