"""What the gap between a classifier and the simulator targets is made of.

The held-out study of ``scripts/evaluate.py`` (same plan: ``--seed``, ``--people``, six
sessions each) is analysed again with the heart-rate views, each session also under
counterfactual inputs that remove one thing heart rate alone cannot know:

- ``true HR_rest/HR_max``: the profile gives the person's true HR_max and the day's
  HR_rest (the levels' thresholds are then known);
- ``no drift``: the same session simulated without cardiac drift (no heat);
- ``chest strap``: the same session recorded by a chest strap instead of a wrist sensor
  (no optical artefacts).

Everything else (the person, the protocol, the noise, the truth's oracle) is the same
session's. What is left once all three are given is what the method itself gets wrong;
the steps on the way say how much each missing piece of information costs. Diagnosis
only: nothing here changes the simulator's defaults or the evaluation.

    python scripts/target_gap.py [--seed 90210] [--people 40] [--classifier physio]
                                 [--modalities hr,hr+acc,hr+workload]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import replace

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.config import Config
from dosewatch.models.registry import get_classifier
from dosewatch.models.train import HELD_OUT_SEED, plan_study, views
from dosewatch.simulate import simulate

CONDITIONS = (
    ("as analysed", set()),
    ("true HR_rest/HR_max", {"params"}),
    ("no drift", {"drift"}),
    ("true HR_rest/HR_max, no drift", {"params", "drift"}),
    ("true HR_rest/HR_max, no drift, chest strap", {"params", "drift", "chest"}),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--classifier", default="physio")
    parser.add_argument("--modalities", default="hr,hr+acc,hr+workload")
    args = parser.parse_args()
    start = time.perf_counter()
    config = Config()
    classifier = get_classifier(args.classifier)
    modalities = [m.strip() for m in args.modalities.split(",") if m.strip()]
    scores: dict[tuple[str, str], list[tuple[bool, bool, int, int]]] = defaultdict(list)
    for k, p in enumerate(plan_study(args.seed, args.people, 6)):
        for condition, given in CONDITIONS:
            options = replace(p.options, drift_bpm_per_min=0.0) if "drift" in given \
                else p.options
            placement = "chest" if "chest" in given else p.placement
            sim = simulate(p.protocol, p.person, placement=placement, modality="hr+acc",
                           profile=p.profile, seed=p.seed, options=options,
                           name=f"{p.person.id}-{k}-{p.protocol}")
            truth = sim.truth
            seen = views(sim.session)
            for modality in modalities:
                if modality not in seen:
                    continue
                profile = replace(seen[modality].profile, id=p.person.id, placement=placement)
                if "params" in given:
                    profile = replace(profile, hr_rest=truth.hr_rest_day,
                                      hr_max=p.person.hr_max)
                result = analyze_session(replace(seen[modality], profile=profile), config,
                                         classifier)
                n = min(truth.labels.size, result.prediction.labels.size)
                scores[(condition, modality)].append((
                    truth.session_class == result.session_class,
                    bool(truth.dose_met) == result.dose_met,
                    int(np.sum(truth.labels[:n] == result.prediction.labels[:n])), n))
    print(f"Seed {args.seed}, {args.people} people x 6 sessions, `{args.classifier}` "
          "(session class / dose flag / epoch label):\n")
    print("| given | " + " | ".join(modalities) + " |")
    print("| --- |" + " ---: |" * len(modalities))
    for condition, _ in CONDITIONS:
        cells = []
        for modality in modalities:
            a = np.array(scores[(condition, modality)], dtype=float)
            cells.append(f"{100 * a[:, 0].mean():.1f} / {100 * a[:, 1].mean():.1f} / "
                         f"{100 * a[:, 2].sum() / a[:, 3].sum():.1f}")
        print(f"| {condition} | " + " | ".join(cells) + " |")
    print(f"\n({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
