"""What cardiac drift costs a classifier with heart rate alone, and where.

The study of ``scripts/target_gap.py`` (same plan: ``--seed``, ``--people``, six sessions
each) is analysed with heart rate only and the person's true HR_rest and HR_max, once as
simulated and once without cardiac drift (the same session otherwise). It prints the
epoch errors of each condition by kind — ramps read where the truth has none (false
accelerating), ramps missed, constant and intermediate confused (the level), rest — and
lists every session whose class or epoch accuracy (by 5 points or more) differs between
the two conditions, with its protocol, drift rate and accelerating minutes. Diagnosis
only: it changes nothing.

    python scripts/drift_flips.py [--seed 4242] [--people 16] [--classifier physio]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.config import Config
from dosewatch.models.registry import get_classifier
from dosewatch.models.train import plan_study, views
from dosewatch.simulate import simulate
from dosewatch.spec.labels import Label

CONDITIONS = ("as simulated", "no drift")


def error_kinds(labels: np.ndarray, truth: np.ndarray) -> dict[str, int]:
    """Epoch errors by kind (accelerating read or missed, level, rest or missing)."""
    acc = Label.ACCELERATING
    other = (labels != truth) & (labels != acc) & (truth != acc)
    exercise = (labels > Label.REST) & (truth > Label.REST)
    return {
        "false accelerating": int(np.sum((labels == acc) & (truth != acc))),
        "missed accelerating": int(np.sum((truth == acc) & (labels != acc))),
        "level": int(np.sum(other & exercise)),
        "rest": int(np.sum(other & ~exercise)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--people", type=int, default=16)
    parser.add_argument("--classifier", default="physio")
    args = parser.parse_args()
    config, classifier = Config(), get_classifier(args.classifier)
    totals = {c: dict.fromkeys(("false accelerating", "missed accelerating", "level",
                                "rest", "epochs", "class right"), 0) for c in CONDITIONS}
    flips = []
    for k, p in enumerate(plan_study(args.seed, args.people, 6)):
        seen = {}
        for condition in CONDITIONS:
            options = (replace(p.options, drift_bpm_per_min=0.0) if condition == "no drift"
                       else p.options)
            sim = simulate(p.protocol, p.person, placement=p.placement, modality="hr+acc",
                           profile=p.profile, seed=p.seed, options=options,
                           name=f"{p.person.id}-{k}-{p.protocol}")
            truth, session = sim.truth, views(sim.session)["hr"]
            profile = replace(session.profile, id=p.person.id, placement=p.placement,
                              hr_rest=truth.hr_rest_day, hr_max=p.person.hr_max)
            result = analyze_session(replace(session, profile=profile), config, classifier)
            n = min(truth.labels.size, result.prediction.labels.size)
            labels, true = result.prediction.labels[:n], truth.labels[:n]
            for kind, count in error_kinds(labels, true).items():
                totals[condition][kind] += count
            totals[condition]["epochs"] += n
            totals[condition]["class right"] += result.session_class == truth.session_class
            seen[condition] = (result.session_class, float(np.mean(labels == true)),
                               int(np.sum(labels == Label.ACCELERATING)))
            true_class, true_acc = truth.session_class, int(np.sum(true == Label.ACCELERATING))
        (c1, a1, m1), (c2, a2, m2) = seen["as simulated"], seen["no drift"]
        if c1 != c2 or abs(a1 - a2) >= 0.05:
            drift = (p.options.drift_bpm_per_min if p.options.drift_bpm_per_min is not None
                     else p.person.drift_bpm_per_min)
            flips.append(f"| {k} | {p.protocol} ({p.setting}) | {drift:.2f} | {true_class} "
                         f"({true_acc}) | {c1} ({m1}), {100 * a1:.0f} % | "
                         f"{c2} ({m2}), {100 * a2:.0f} % |")
    sessions = len(plan_study(args.seed, args.people, 6))
    print(f"Seed {args.seed}, {args.people} people x 6 sessions, `{args.classifier}`, heart "
          "rate only, true HR_rest and HR_max:\n")
    print("| condition | session class | epochs wrong: false accelerating | missed "
          "accelerating | level | rest | epoch label |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for condition, t in totals.items():
        right = t["epochs"] - sum(t[k] for k in ("false accelerating", "missed accelerating",
                                                 "level", "rest"))
        print(f"| {condition} | {100 * t['class right'] / sessions:.1f} % | "
              f"{t['false accelerating']} | {t['missed accelerating']} | {t['level']} | "
              f"{t['rest']} | {100 * right / t['epochs']:.1f} % |")
    print("\nSessions that differ (class (accelerating minutes), epoch accuracy):\n")
    print("| # | protocol | drift bpm/min | truth (accelerating min) | as simulated | "
          "no drift |")
    print("| ---: | --- | ---: | --- | --- | --- |")
    print("\n".join(flips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
