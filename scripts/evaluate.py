"""Accuracy of dosewatch's classifiers against the simulator's reference labels.

Simulates sessions for people never used in training or development (seed 90210: every
protocol, wrist and chest, 25-100 Hz, half with a full profile and half with age only so
that HR_rest must be estimated) and analyses each one in four modalities — heart rate and
acceleration, heart rate only, acceleration only, and acceleration only without a speed
stream — with the learned model and with the rule classifier, side by side. Sessions go
through the interchange layout on disk and back, exactly as a user's files would.

Reports per modality and placement: session-class accuracy, dose-flag accuracy,
epoch-label accuracy, the error of the longest bout's qualifying minutes, per-class
precision and recall, confusion matrices, and epoch accuracy per person.

    python scripts/evaluate.py [--seed 90210] [--per-cell 3] [--out DIR] [--card FILE]

``--card models/MODEL_CARD.md`` regenerates the model card from these figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.config import Config
from dosewatch.features.epochs import FEATURE_NAMES
from dosewatch.ingest import read_session, write_session_folder
from dosewatch.models.registry import get_classifier
from dosewatch.models.inputs import CONTEXT_OFFSETS, CONTEXT_SIGNALS, INPUT_NAMES
from dosewatch.spec.labels import Label
from dosewatch.models.learned import load_model
from dosewatch.simulate import PROTOCOLS, random_person, simulate

HELD_OUT_SEED = 90210  # never used while developing or training; do not tune against it
MODALITIES = ("hr+acc", "hr", "acc", "acc, no speed")
CLASSIFIERS = ("learned", "rules")
LABEL_ORDER = [Label.REST, Label.CONSTANT, Label.INTERMEDIATE, Label.ACCELERATING]


def evaluate(seed: int, per_cell: int, workdir: Path) -> list[dict]:
    config = Config()
    classifiers = {name: get_classifier(name) for name in CLASSIFIERS}
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
                                   modality=modality.split(",")[0], profile=profile,
                                   seed=sim_seed)
                    session = sim.session
                    if modality.endswith("no speed"):
                        session = replace(session, speed=None,
                                          name=session.name + "-nospeed")
                    folder = write_session_folder(session, workdir / session.name,
                                                  format="parquet", overwrite=True)
                    loaded = read_session(folder)
                    truth = sim.truth
                    true_longest = truth.qualifying_minutes
                    for name, classifier in classifiers.items():
                        result = analyze_session(loaded, config, classifier)
                        n = min(truth.labels.size, result.prediction.labels.size)
                        found_longest = result.longest_bout_qualifying_minutes
                        records.append({
                            "classifier": name, "protocol": protocol, "placement": placement,
                            "modality": modality, "profile": profile, "person": person.id,
                            "session": session.name,
                            "true_class": truth.session_class,
                            "found_class": result.session_class,
                            "true_dose": bool(truth.dose_met), "found_dose": result.dose_met,
                            "true_labels": truth.labels[:n].tolist(),
                            "found_labels": result.prediction.labels[:n].tolist(),
                            "bout_error_min": found_longest - true_longest,
                        })
    return records


def _accuracy(rs: list[dict]) -> dict[str, float]:
    true_l = np.concatenate([r["true_labels"] for r in rs])
    found_l = np.concatenate([r["found_labels"] for r in rs])
    return {
        "sessions": len(rs),
        "session_class": float(np.mean([r["true_class"] == r["found_class"] for r in rs])),
        "dose_flag": float(np.mean([r["true_dose"] == r["found_dose"] for r in rs])),
        "epoch": float(np.mean(true_l == found_l)),
        "epochs": int(true_l.size),
        "bout_err_median": float(np.median(np.abs([r["bout_error_min"] for r in rs]))),
    }


def summarise(records: list[dict]) -> list[dict]:
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in records:
        for placement in (r["placement"], "all"):
            groups[(r["modality"], placement, r["classifier"])].append(r)
    rows = []
    for (modality, placement, classifier), rs in groups.items():
        rows.append({"modality": modality, "placement": placement,
                     "classifier": classifier, **_accuracy(rs)})
    rows.sort(key=lambda r: (MODALITIES.index(r["modality"]), r["placement"] != "all",
                             r["placement"], CLASSIFIERS.index(r["classifier"])))
    return rows


def confusion(records: list[dict], modality: str, classifier: str) -> np.ndarray:
    m = np.zeros((4, 5), dtype=int)  # rows: reference label; columns: found (+ missing)
    for r in records:
        if r["modality"] != modality or r["classifier"] != classifier:
            continue
        t = np.asarray(r["true_labels"])
        f = np.asarray(r["found_labels"])
        for i, label in enumerate(LABEL_ORDER):
            sel = t == label
            for j, found in enumerate(LABEL_ORDER):
                m[i, j] += int(np.sum(f[sel] == found))
            m[i, 4] += int(np.sum(f[sel] == Label.MISSING))
    return m


def precision_recall(m: np.ndarray) -> list[tuple[str, float, float]]:
    out = []
    for i, label in enumerate(LABEL_ORDER):
        found = m[:, i].sum()
        true = m[i, :].sum()
        out.append((label.name.lower(), m[i, i] / found if found else float("nan"),
                    m[i, i] / true if true else float("nan")))
    return out


def per_person(records: list[dict], modality: str, classifier: str) -> dict[str, float]:
    by: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r["modality"] == modality and r["classifier"] == classifier:
            by[r["person"]].append(r)
    acc = np.array([_accuracy(rs)["epoch"] for rs in by.values()])
    sessions = np.array([np.mean(np.asarray(r["true_labels"]) == np.asarray(r["found_labels"]))
                         for rs in by.values() for r in rs])
    return {"people": len(by), "person_median": float(np.median(acc)),
            "person_min": float(acc.min()), "session_p10": float(np.percentile(sessions, 10)),
            "session_min": float(sessions.min())}


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f} %"


def markdown(rows: list[dict], records: list[dict], seed: int) -> str:
    n_sessions = len({(r["session"]) for r in records})
    lines = [
        f"Held-out seed {seed}: {len({r['person'] for r in records})} simulated people never "
        f"used in training, {n_sessions // len(MODALITIES)} sessions × {len(MODALITIES)} "
        "modalities, each analysed by both classifiers.",
        "",
        "| modality | placement | classifier | sessions | session class | dose flag "
        "| epoch label | longest bout, median abs. error (min) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['modality']} | {r['placement']} | {r['classifier']} | {r['sessions']} | "
            f"{_pct(r['session_class'])} | {_pct(r['dose_flag'])} | "
            f"{_pct(r['epoch'])} | {r['bout_err_median']:.1f} |")
    lines += ["", "Epoch accuracy by person and by session (all placements):", "",
              "| modality | classifier | people | median person | worst person "
              "| 10th-percentile session | worst session |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for modality in MODALITIES:
        for classifier in CLASSIFIERS:
            p = per_person(records, modality, classifier)
            lines.append(f"| {modality} | {classifier} | {p['people']} | "
                         f"{_pct(p['person_median'])} | {_pct(p['person_min'])} | "
                         f"{_pct(p['session_p10'])} | {_pct(p['session_min'])} |")
    lines += ["", "Per-class precision / recall of the epoch labels:", "",
              "| modality | classifier | rest | constant | intermediate | accelerating |",
              "| --- | --- | --- | --- | --- | --- |"]
    for modality in MODALITIES:
        for classifier in CLASSIFIERS:
            pr = precision_recall(confusion(records, modality, classifier))
            cells = " | ".join(f"{_pct(p)} / {_pct(r)}" for _, p, r in pr)
            lines.append(f"| {modality} | {classifier} | {cells} |")
    for modality in MODALITIES:
        m = confusion(records, modality, "learned")
        lines += ["", f"Confusion, learned model, {modality} (rows: reference; columns: found)",
                  "", "| | rest | constant | intermediate | accelerating | missing |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for label, row in zip(LABEL_ORDER, m, strict=True):
            lines.append(f"| {label.name.lower()} | " + " | ".join(map(str, row)) + " |")
    return "\n".join(lines) + "\n"


CARD = """# Model card: dosewatch epoch model

Generated by `scripts/evaluate.py --card models/MODEL_CARD.md`; do not edit by hand.

## What it does

Sorts each epoch (1 minute) of a session into the SPEC's labels — rest, constant,
intermediate, accelerating — and estimates the true relative intensity (%HRR) that
decides which epochs count towards a bout and the 30-minute dose. Two tree ensembles
(`models/learned/labels.onnx`, `models/learned/intensity.onnx`), run with onnxruntime;
the label probabilities are smoothed over time by a hidden Markov model (Viterbi) whose
transition matrix is counted on the training labels. The same code runs in batch and live.

- Model: {model_version}; {estimators}.
- Files: {files}.

## Training data

Simulated with `dosewatch.simulate` (no real labelled data exists for these classes):
{people} people (seed {train_seed}), every protocol ({protocols}), chest or wrist,
25-100 Hz acceleration, each in three modalities (heart rate and acceleration, heart rate
only, acceleration only) with the speed stream dropped from half of the sessions; the
profile gives away everything, the age only, or nothing. {sessions} sessions, {epochs}
epochs. Reference labels are the SPEC rules applied to the simulator's true intensity.

## Inputs

{n_inputs} numbers per epoch (`dosewatch.models.inputs.INPUT_NAMES`): the {n_features}
epoch features of `dosewatch.features.epochs` ({features}); {context_signals} of the
epochs at offsets {offsets} (so a live label is final {lookahead} epochs after its epoch
ends); which streams the session has; HR_rest, HR_max and where they came from. The
ONNX files and the manifest carry this list; a model built for another list is refused.

## Evaluation on people never used in training

{evaluation}

## Known limits

- **Acceleration only** cannot see effort relative to a person's fitness, nor treadmill
  grade: ENMO and cadence show speed, not %HRR. Session class and epoch labels are far
  below the heart-rate figures; use acceleration-only verdicts as rough guides.
- **Simulated training data.** The simulator models heart-rate kinetics, drift, optical
  artefacts and dropouts, but real people and devices differ; the real-data check in the
  README lists where the model and a session's speed profile disagree.
- **Label definitions.** The labels were learned for the default definitions. A study
  that changes levels, the trend window or slope, gets the SPEC rules applied to the
  learned intensity (and a warning); epoch lengths other than 60 s need
  `--classifier rules`.
- **HR_max from age.** When the profile gives only the age, HR_max comes from Tanaka's
  formula; a person whose true maximum is well below it has vigorous running read as
  intermediate with heart rate alone (the worst held-out session, steady_vigorous with an
  age-only profile: 27 % of epochs right with heart rate only, 100 % class right once
  acceleration is added). Give `hr_max` in the profile when it is known.
- Constant-vs-accelerating is decided over a 10-minute window; sessions whose ramp and
  steady parts are close in length (steady_then_ramp) are the most frequent class errors.
"""


def card(rows: list[dict], records: list[dict], seed: int) -> str:
    model = load_model()
    m = model.manifest
    t = m["training"]
    return CARD.format(
        model_version=model.version,
        estimators=", ".join(f"{k} {v}" for k, v in t["estimator"].items()),
        files=", ".join(f"`{f['file']}` (sha256 {f['sha256'][:12]}…)"
                        for f in m["files"].values()),
        people=t["people"], train_seed=t["seed"], sessions=t["sessions"], epochs=t["epochs"],
        protocols=", ".join(PROTOCOLS), n_inputs=len(INPUT_NAMES),
        n_features=len(FEATURE_NAMES), features=", ".join(FEATURE_NAMES),
        context_signals=", ".join(CONTEXT_SIGNALS), offsets=", ".join(map(str, CONTEXT_OFFSETS)),
        lookahead=max(CONTEXT_OFFSETS), evaluation=markdown(rows, records, seed),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--per-cell", type=int, default=3,
                        help="sessions per protocol and placement (default 3: 60 sessions)")
    parser.add_argument("--out", type=Path, help="also write evaluation.json and .md here")
    parser.add_argument("--card", type=Path, help="write the model card here")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dosewatch-eval-") as tmp:
        records = evaluate(args.seed, args.per_cell, Path(tmp))
    rows = summarise(records)
    text = markdown(rows, records, args.seed)
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "evaluation.md").write_text(text)
        (args.out / "evaluation.json").write_text(json.dumps({"rows": rows, "records": records}))
    if args.card:
        args.card.write_text(card(rows, records, args.seed), encoding="utf-8")
        print(f"model card written to {args.card}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
