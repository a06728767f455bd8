"""How far the HR_max and HR_rest a session is analysed with are from the truth, without
and with the participant's calibration, and what that costs the verdicts.

The study of ``scripts/evaluate.py`` (same plan: ``--seed``, ``--people``, six sessions
each; develop on 4242, never tune on the held-out 90210) is simulated; every session is
analysed alone in the ``hr+acc`` view, each participant's calibration is learned from that
evidence (as ``scripts/evaluate.py`` and a batch do), and every heart-rate view is analysed
again with it. For each analysis the HR_max used is compared with the person's true HR_max,
the HR_rest used with that day's true HR_rest (the simulator's ``Person`` and
``Truth.hr_rest_day``), grouped by what the profile gives (``full`` profiles give both, so
only ``age`` and ``none`` say anything about the estimators). The calibration's own values
are compared per participant too. Diagnosis only: it changes nothing.

    python scripts/calibration_error.py [--seed 4242] [--people 16] [--classifier physio]
                                        [--views hr,hr+acc] [--per-person]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import replace

import numpy as np

from dosewatch.analysis import SessionResult, analyze_session
from dosewatch.calibration import Calibration, Value, learn
from dosewatch.config import Config
from dosewatch.models.registry import get_classifier
from dosewatch.models.train import Planned, plan_study, views
from dosewatch.session import Session
from dosewatch.simulate import simulate


def _stats(errors: list[float]) -> str:
    """``median |error| / bias (median error) / 90th-percentile |error|``, bpm."""
    if not errors:
        return "–"
    e = np.asarray(errors, dtype=float)
    return (f"{np.median(np.abs(e)):.1f} / {np.median(e):+.1f} / "
            f"{np.percentile(np.abs(e), 90):.1f} (n={e.size})")


def _value(value: Value | None) -> str:
    return "–" if value is None else f"{value.value:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--people", type=int, default=16)
    parser.add_argument("--classifier", default="physio")
    parser.add_argument("--views", default="hr,hr+acc")
    parser.add_argument("--per-person", action="store_true",
                        help="print each participant's calibration against the truth")
    args = parser.parse_args()
    start = time.perf_counter()
    config = Config()
    classifier = get_classifier(args.classifier)
    wanted = [v.strip() for v in args.views.split(",") if v.strip()]
    by_person = defaultdict(list)
    for p in plan_study(args.seed, args.people, 6):
        by_person[p.person.id].append(p)
    # (quantity, profile, calibrated) -> errors; (view, profile, calibrated) -> verdicts
    errors: dict[tuple[str, str, bool], list[float]] = defaultdict(list)
    sources: dict[tuple[str, str, bool], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    verdicts: dict[tuple[str, str, bool], list[tuple[bool, bool, int, int]]] = defaultdict(list)
    cal_errors: dict[tuple[str, str], list[float]] = defaultdict(list)
    rows = []
    for pid, planned in by_person.items():
        person, kind = planned[0].person, planned[0].profile
        sims = [simulate(p.protocol, p.person, placement=p.placement, modality="hr+acc",
                         profile=p.profile, seed=p.seed, options=p.options,
                         name=f"{pid}-{k:02d}-{p.protocol}") for k, p in enumerate(planned)]
        seen = [views(s.session) for s in sims]

        def run(p: Planned, session: Session, calibration: Calibration | None,
                pid: str = pid) -> SessionResult:
            session = replace(session, profile=replace(session.profile, id=pid,
                                                       placement=p.placement))
            return analyze_session(session, config, classifier, calibration)

        alone = {(k, v): run(p, seen[k][v], None) for k, p in enumerate(planned)
                 for v in wanted if v in seen[k]}
        evidence = [alone[(k, "hr+acc")].evidence() if "hr+acc" in wanted
                    else run(p, seen[k]["hr+acc"], None).evidence()
                    for k, p in enumerate(planned)]
        calibration = learn(pid, evidence)
        for name, value, truth in (("hr_max", calibration.hr_max, person.hr_max),
                                   ("hr_rest", calibration.hr_rest, person.hr_rest)):
            if value is not None:
                cal_errors[(name, kind)].append(value.value - truth)
        rows.append((pid, kind, person.age, person.hr_max, person.hr_rest,
                     calibration.hr_max, calibration.hr_rest))
        for k, (p, sim) in enumerate(zip(planned, sims, strict=True)):
            truth = sim.truth
            for v in wanted:
                if v not in seen[k]:
                    continue
                for calibrated, result in ((False, alone[(k, v)]),
                                           (True, run(p, seen[k][v], calibration))):
                    hp = result.info.hr_params
                    if v == wanted[0]:
                        errors[("hr_max", kind, calibrated)].append(hp.hr_max - person.hr_max)
                        errors[("hr_rest", kind, calibrated)].append(
                            hp.hr_rest - truth.hr_rest_day)
                        sources[("hr_max", kind, calibrated)][hp.hr_max_source] += 1
                        sources[("hr_rest", kind, calibrated)][hp.hr_rest_source] += 1
                    n = min(truth.labels.size, result.prediction.labels.size)
                    verdicts[(v, kind, calibrated)].append((
                        truth.session_class == result.session_class,
                        bool(truth.dose_met) == result.dose_met,
                        int(np.sum(truth.labels[:n] == result.prediction.labels[:n])), n))

    kinds = ("age", "none", "full")
    print(f"Seed {args.seed}, {args.people} people x 6 sessions, `{args.classifier}`.\n")
    print(f"Per session, as analysed in view `{wanted[0]}` (used − true, bpm: "
          "median |error| / median error / 90th-percentile |error|):\n")
    print("| quantity | profile | alone | calibrated | sources alone → calibrated |")
    print("| --- | --- | ---: | ---: | --- |")
    for name in ("hr_max", "hr_rest"):
        for kind in kinds:
            src = [", ".join(f"{s} {n}" for s, n in sorted(sources[(name, kind, c)].items()))
                   for c in (False, True)]
            print(f"| {name} | {kind} | {_stats(errors[(name, kind, False)])} | "
                  f"{_stats(errors[(name, kind, True)])} | {src[0]} → {src[1]} |")
    print("\nThe calibration's values against the person's (learned − true, bpm):\n")
    print("| quantity | profile | error |")
    print("| --- | --- | ---: |")
    for name in ("hr_max", "hr_rest"):
        for kind in kinds:
            print(f"| {name} | {kind} | {_stats(cal_errors[(name, kind)])} |")
    print("\nVerdicts (session class / dose flag / epoch label) by what the profile "
          "gives:\n")
    print("| view | profile | alone | calibrated |")
    print("| --- | --- | ---: | ---: |")
    for v in wanted:
        for only in (kinds, ("age", "none"), ("age",), ("none",)):
            cells = []
            for calibrated in (False, True):
                a = np.array([x for kind in only for x in verdicts[(v, kind, calibrated)]],
                             dtype=float)
                cells.append(f"{100 * a[:, 0].mean():.1f} / {100 * a[:, 1].mean():.1f} / "
                             f"{100 * a[:, 2].sum() / a[:, 3].sum():.1f}")
            print(f"| {v} | {'all' if only == kinds else '+'.join(only)} | "
                  f"{' | '.join(cells)} |")
    if args.per_person:
        print("\n| person | profile | age | true HR_max | learned | true HR_rest | learned |")
        print("| --- | --- | ---: | ---: | --- | ---: | --- |")
        for pid, kind, age, hr_max, hr_rest, cmax, crest in rows:
            print(f"| {pid} | {kind} | {age:.0f} | {hr_max:.1f} | {_value(cmax)} | "
                  f"{hr_rest:.1f} | {_value(crest)} |")
    print(f"\n({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
