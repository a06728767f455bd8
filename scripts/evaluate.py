"""Accuracy of dosewatch against the simulator's reference labels.

Simulates sessions with a seed that was never used during development (every protocol,
wrist and chest, half with a full profile and half with age only so that HR_rest must be
estimated), analyses each one three times — heart rate and acceleration, heart rate only,
acceleration only — and reports, per modality and placement: session-class accuracy,
dose-flag accuracy, epoch-label accuracy, and the error of the longest bout's qualifying
minutes. Sessions go through the interchange layout on disk and back, exactly as a user's
files would.

    python scripts/evaluate.py [--seed 90210] [--per-cell 2] [--classifier rules] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from dosewatch.analysis import analyze_session
from dosewatch.config import Config
from dosewatch.ingest import read_session, write_session_folder
from dosewatch.models.classifier import get_classifier
from dosewatch.models.labels import Label
from dosewatch.simulate import PROTOCOLS, random_person, simulate

HELD_OUT_SEED = 90210  # never used while developing; do not tune against it
MODALITIES = ("hr+acc", "hr", "acc")
LABEL_ORDER = [Label.REST, Label.CONSTANT, Label.INTERMEDIATE, Label.ACCELERATING]


def evaluate(seed: int, per_cell: int, classifier_name: str, workdir: Path) -> dict:
    config = Config()
    classifier = get_classifier(classifier_name)
    rng = np.random.default_rng(seed)
    records = []
    k = 0
    for protocol in PROTOCOLS:
        for placement in ("wrist", "chest"):
            for _ in range(per_cell):
                person = random_person(rng, id=f"eval{k:03d}")
                profile = "full" if k % 2 == 0 else "age"
                acc_fs = float(rng.choice([25.0, 50.0, 100.0]))
                sim_seed = int(rng.integers(2**31))
                k += 1
                for modality in MODALITIES:
                    sim = simulate(protocol, person, placement=placement, acc_fs=acc_fs,
                                   modality=modality, profile=profile, seed=sim_seed)
                    folder = write_session_folder(
                        sim.session, workdir / sim.session.name, format="parquet",
                        overwrite=True)
                    result = analyze_session(read_session(folder), config, classifier)
                    truth = sim.truth
                    n = min(truth.labels.size, result.prediction.labels.size)
                    found_longest = max((b.qualifying_minutes for b in result.bouts), default=0.0)
                    true_longest = max((b.qualifying_minutes for b in truth.bouts), default=0.0)
                    records.append({
                        "protocol": protocol, "placement": placement, "modality": modality,
                        "profile": profile, "session": sim.session.name,
                        "true_class": truth.session_class, "found_class": result.session_class,
                        "true_dose": bool(truth.dose_met), "found_dose": result.dose_met,
                        "true_labels": truth.labels[:n].tolist(),
                        "found_labels": result.prediction.labels[:n].tolist(),
                        "bout_error_min": found_longest - true_longest,
                        "hr_rest_source": result.summary()["hr_rest_source"],
                    })
    return {"seed": seed, "classifier": classifier_name, "records": records}


def summarise(records: list[dict]) -> list[dict]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["modality"], r["placement"])].append(r)
        groups[(r["modality"], "all")].append(r)
    rows = []
    for (modality, placement), rs in sorted(groups.items(), key=lambda kv: (
            MODALITIES.index(kv[0][0]), kv[0][1] != "all", kv[0][1])):
        true_l = np.concatenate([r["true_labels"] for r in rs])
        found_l = np.concatenate([r["found_labels"] for r in rs])
        errors = np.abs([r["bout_error_min"] for r in rs])
        rows.append({
            "modality": modality, "placement": placement, "sessions": len(rs),
            "session_class": np.mean([r["true_class"] == r["found_class"] for r in rs]),
            "dose_flag": np.mean([r["true_dose"] == r["found_dose"] for r in rs]),
            "epoch": float(np.mean(true_l == found_l)), "epochs": int(true_l.size),
            "bout_err_median": float(np.median(errors)),
        })
    return rows


def confusion(records: list[dict], modality: str) -> np.ndarray:
    m = np.zeros((4, 5), dtype=int)  # rows: true label; columns: found (+ missing)
    for r in records:
        if r["modality"] != modality:
            continue
        for t, f in zip(r["true_labels"], r["found_labels"], strict=True):
            col = 4 if f == Label.MISSING else LABEL_ORDER.index(Label(f))
            m[LABEL_ORDER.index(Label(t)), col] += 1
    return m


def markdown(rows: list[dict], records: list[dict], seed: int, classifier: str) -> str:
    lines = [
        (f"Classifier `{classifier}`, held-out seed {seed}, "
         f"{len(records) // len(MODALITIES)} simulated sessions × {len(MODALITIES)} modalities."),
        "",
        ("| modality | placement | sessions | session class | dose flag | epoch label "
         "| median abs. error, longest bout (min) |"),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['modality']} | {r['placement']} | {r['sessions']} | "
            f"{100 * r['session_class']:.1f} % | {100 * r['dose_flag']:.1f} % | "
            f"{100 * r['epoch']:.1f} % ({r['epochs']}) | {r['bout_err_median']:.1f} |"
        )
    for modality in MODALITIES:
        m = confusion(records, modality)
        lines += ["", f"Epoch confusion, {modality} (rows: reference; columns: found)", "",
                  "| | rest | constant | intermediate | accelerating | missing |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for label, row in zip(LABEL_ORDER, m, strict=True):
            lines.append(f"| {label.name.lower()} | " + " | ".join(map(str, row)) + " |")
    misses = [r for r in records if r["modality"] == "hr+acc" and r["true_class"] != r["found_class"]]
    if misses:
        lines += ["", "Session-class misses with heart rate and acceleration:", ""]
        lines += [f"- {r['session']}: true {r['true_class']}, found {r['found_class']}"
                  for r in misses]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--per-cell", type=int, default=2,
                        help="sessions per protocol and placement (default 2: 40 sessions)")
    parser.add_argument("--classifier", default="rules")
    parser.add_argument("--out", type=Path, help="also write evaluation.json and .md here")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dosewatch-eval-") as tmp:
        result = evaluate(args.seed, args.per_cell, args.classifier, Path(tmp))
    rows = summarise(result["records"])
    text = markdown(rows, result["records"], args.seed, args.classifier)
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "evaluation.md").write_text(text)
        (args.out / "evaluation.json").write_text(json.dumps({"rows": rows, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
