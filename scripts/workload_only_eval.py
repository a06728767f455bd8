"""Verdicts of real sessions read from their workload alone (speed or power, the heart
rate hidden: a GPS watch worn without its strap), against the same session's verdict with
its heart rate, and against the workload reference of ``scripts/real_eval.py``.

Two readings of each session with heart rate and a workload channel in
``../shared/data/real``:

- *uncalibrated*: the reference person's fitness (``k = 1``); every such verdict is
  marked low certainty;
- *calibrated*: for the participants with several sessions in the folder (the groups of
  :data:`PARTICIPANTS`: one runner's, one Polar user's, one file's three trainings), the
  calibration learned from that participant's *other* sessions with heart rate and
  workload (leave one session out: a batch never holds the heart rate of a session
  recorded without it).

Scored per session: accelerating or steady, and the dose flag, against the session's own
verdict with heart rate (``physio``, every channel: what the strap would have said) and
against the workload reference where it decides.

    python scripts/workload_only_eval.py [--out docs/workload-only.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_eval import REAL, Verdict  # noqa: E402
from real_reference import Reference, reference  # noqa: E402

from dosewatch.analysis import analyze_session  # noqa: E402
from dosewatch.calibration import learn  # noqa: E402
from dosewatch.config import Config  # noqa: E402
from dosewatch.errors import DosewatchError  # noqa: E402
from dosewatch.ingest.registry import ReadOptions, read_all  # noqa: E402
from dosewatch.models.registry import get_classifier  # noqa: E402

# Sessions of one person each (by the file names and devices: one runner's Garmin
# exports, one Polar user's 2012 runs, one Polar user's 2015 runs, the three trainings of
# one file, one runner's Conconi tests).
PARTICIPANTS = {
    "runner (runpandas)": ("corriporai__runpandas/2020-12-",),
    "Polar user 2012 (Runalyze)": ("Runalyze__Runalyze/1201",),
    "Polar user 2015 (Runalyze)": ("Runalyze__Runalyze/1503",),
    "three trainings (Runalyze)": ("Runalyze__Runalyze/Multiple-Trainings.tcx",),
    "Conconi tests": ("lwaldron__ConconiAnaerobicThresholdTest/",),
}


@dataclass
class Row:
    name: str
    participant: str | None
    ref: Reference
    full: Verdict
    alone: Verdict
    calibrated: Verdict | None = None


def _verdict(result) -> Verdict:  # noqa: ANN001
    minutes = result.minutes
    exercise = sum(minutes[k] for k in ("constant", "intermediate", "accelerating"))
    return Verdict(result.session_class, result.dose_met,
                   result.longest_bout_qualifying_minutes, result.certainty.level,
                   minutes["accelerating"], exercise)


def _participant(local: str) -> str | None:
    for name, prefixes in PARTICIPANTS.items():
        if any(local.startswith(p) for p in prefixes):
            return name
    return None


def collect(root: Path = REAL) -> list[Row]:
    config = Config()
    physio = get_classifier("physio")
    rows: list[Row] = []
    evidence: dict[str, list[tuple[str, object]]] = {}
    hidden = {}
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".md"))
    for path in files:
        local = f"{path.parent.name}/{path.name}"
        try:
            sessions = read_all(path, ReadOptions())
        except DosewatchError:
            continue
        for session in sessions:
            name = local if len(sessions) == 1 else f"{local} [{session.name}]"
            if session.hr is None or (session.speed is None and session.power is None):
                continue
            ref = reference(session, session.provenance.sport)
            if ref is None:
                continue
            who = _participant(local)
            full = analyze_session(session, config, physio)
            alone = replace(session, hr=None)
            hidden[name] = alone
            rows.append(Row(name.split("__")[-1], who, ref, _verdict(full),
                            _verdict(analyze_session(alone, config, physio))))
            if who is not None:
                evidence.setdefault(who, []).append((name, full.evidence()))
    by_name = {r.name: r for r in rows}
    for who, items in evidence.items():
        for name, _ in items:
            others = [e for n, e in items if n != name]
            if not others:
                continue
            calibration = learn(who, others)
            result = analyze_session(hidden[name], config, physio, calibration)
            by_name[name.split("__")[-1]].calibrated = _verdict(result)
    return rows


def _agree(rows: list[Row], reading: str) -> dict[str, tuple[int, int]]:
    """Agreement of one reading (``alone`` or ``calibrated``) with the verdict with heart
    rate and with the workload reference, in class kind and dose."""
    out = {}
    use = [r for r in rows if getattr(r, reading) is not None]
    pick = {r.name: getattr(r, reading) for r in use}
    out["kind vs heart rate"] = (sum(pick[r.name].kind == r.full.kind for r in use), len(use))
    out["dose vs heart rate"] = (sum(pick[r.name].dose == r.full.dose for r in use), len(use))
    kind = [r for r in use if r.ref.kind != "undecided"]
    dose = [r for r in use if r.ref.dose is not None]
    out["kind vs reference"] = (sum(pick[r.name].kind == r.ref.kind for r in kind), len(kind))
    out["dose vs reference"] = (sum(pick[r.name].dose == r.ref.dose for r in dose), len(dose))
    out["class vs heart rate"] = (sum(pick[r.name].session_class == r.full.session_class
                                      for r in use), len(use))
    return out


def _pct(pair: tuple[int, int]) -> str:
    ok, n = pair
    return f"{100 * ok / n:.1f} % ({ok}/{n})" if n else "–"


def report(rows: list[Row]) -> str:
    grouped = [r for r in rows if r.participant is not None]
    lines = [f"{len(rows)} real sessions with heart rate and a workload channel, read again "
             "with the heart rate hidden; "
             f"{sum(r.calibrated is not None for r in grouped)} of them belong to a "
             "participant with other sessions in the folder and are read calibrated too "
             "(leave one session out).", "",
             "| reading | sessions | session class as with heart rate | accelerating or "
             "steady: as with heart rate | dose: as with heart rate | accelerating or "
             "steady: workload reference | dose: workload reference |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    readings = (("uncalibrated (reference person), every session", rows, "alone"),
                ("uncalibrated, the participants' sessions", grouped, "alone"),
                ("calibrated, the participants' sessions", grouped, "calibrated"))
    for title, subset, reading in readings:
        a = _agree(subset, reading)
        lines.append(f"| {title} | {a['class vs heart rate'][1]} | "
                     f"{_pct(a['class vs heart rate'])} | {_pct(a['kind vs heart rate'])} | "
                     f"{_pct(a['dose vs heart rate'])} | {_pct(a['kind vs reference'])} | "
                     f"{_pct(a['dose vs reference'])} |")
    lines += ["", "Per session (verdict with heart rate / workload alone / calibrated; "
              "certainty of the workload-alone readings):", "",
              "| session | participant | with heart rate | workload alone | calibrated |",
              "| --- | --- | --- | --- | --- |"]

    def text(v: Verdict | None) -> str:
        if v is None:
            return "–"
        return f"{v.session_class}{' dose' if v.dose else ''} ({v.longest:.0f} min)"

    for r in rows:
        cal = "–" if r.calibrated is None else \
            f"{text(r.calibrated)}, {r.calibrated.certainty}"
        lines.append(f"| `{r.name}` | {r.participant or '–'} | {text(r.full)} | "
                     f"{text(r.alone)}, {r.alone.certainty} | {cal} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the report here (markdown)")
    args = parser.parse_args()
    start = time.perf_counter()
    text = report(collect())
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
