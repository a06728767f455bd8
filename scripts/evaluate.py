"""Accuracy of dosewatch's classifiers on simulated people never used in development or
training, against the simulator's independent truth (``dosewatch.simulate.oracle``).

A study of ``--people`` participants (held-out seed 90210, the ``wide`` population:
VO2max 25-75, walkers to fast runners), each with ``--sessions`` sessions on different
days (HR_rest ±3 bpm from day to day, cardiac drift from none to heat's 1 bpm/min), every
protocol of ``ALL_PROTOCOLS`` (ramps, step tests, intervals, ramps to exhaustion with
their recovery, outdoor runs with hills, stops and GPS speed, rides), on a treadmill or
outdoors, chest or wrist, with a profile that gives
everything, the age only, or nothing. Each session is analysed with the streams a
participant's devices might give:

- ``hr+acc``: heart rate and acceleration (a band);
- ``hr``: heart rate alone (a chest strap);
- ``hr+workload``: heart rate and the workload channels (a watch export: speed, altitude,
  power on a bike, a treadmill's speed and incline as FTMS reports them);
- ``hr+speed, incline unrecorded``: treadmill sessions whose export kept the speed but
  not the incline (a known limit: an incline ramp is then invisible to the workload);
- ``acc``: acceleration alone, without calibration, and ``acc, calibrated``: with the
  participant's calibration learned from their heart-rate sessions in the same study (as
  a batch does);
- ``workload``: speed or power alone (a watch worn without its strap), with the
  reference person's fitness, and ``workload, calibrated``: with the calibration learned
  from the participant's *other* sessions with heart rate and workload.

Heart-rate modalities are scored per session alone and, with ``--calibrated-hr``, also
with the participant's calibration. Reports session-class, dose-flag and epoch-label
accuracy per modality and classifier, by person and by session, by setting and protocol,
per-class precision and recall, and the worst sessions with their reason.

``--card`` writes the model card (``scripts/model_card.py``): these tables, the issue's
targets, and the real-data table of ``scripts/real_eval.py`` for the same classifiers
(with ``--ablation DIR``, also for models trained without one input family each).

    python scripts/evaluate.py [--people 40] [--sessions 6] [--calibrated-hr]
                               [--classifiers auto,learned,physio,rules] [--out DIR]
                               [--records DIR/evaluation.json]
                               [--card models/MODEL_CARD.md [--real DIR] [--ablation DIR]]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.calibration import learn
from dosewatch.config import Config
from dosewatch.models.registry import get_classifier
from dosewatch.models.train import HELD_OUT_SEED, Planned, plan_study, views
from dosewatch.simulate import simulate
from dosewatch.spec.labels import Label

MODALITIES = ("hr+acc", "hr", "hr+workload", "hr+speed, incline unrecorded", "acc",
              "acc, calibrated", "workload", "workload, calibrated")
HR_MODALITIES = ("hr+acc", "hr", "hr+workload", "hr+speed, incline unrecorded")
LABEL_ORDER = [Label.REST, Label.CONSTANT, Label.INTERMEDIATE, Label.ACCELERATING]


def _record(result, truth, planned: Planned, modality: str, classifier: str,  # noqa: ANN001
            calibrated: bool) -> dict:
    n = min(truth.labels.size, result.prediction.labels.size)
    return {
        "classifier": classifier, "modality": modality, "calibrated": calibrated,
        "protocol": planned.protocol, "setting": planned.setting, "profile": planned.profile,
        "placement": planned.placement, "person": planned.person.id,
        "session": result.name,
        "true_class": truth.session_class, "found_class": result.session_class,
        "true_dose": bool(truth.dose_met), "found_dose": result.dose_met,
        "true_labels": truth.labels[:n].tolist(),
        "found_labels": result.prediction.labels[:n].tolist(),
        "bout_error_min": result.longest_bout_qualifying_minutes
        - max((b.qualifying_minutes for b in truth.bouts), default=0.0),
        "certainty": result.certainty.level,
    }


def evaluate(plan: list[Planned], classifiers: dict[str, object],
             calibrated_hr: bool) -> list[dict]:
    config = Config()
    records: list[dict] = []
    by_person: dict[str, list[Planned]] = defaultdict(list)
    for p in plan:
        by_person[p.person.id].append(p)
    for person_id, planned in by_person.items():
        sims = [simulate(p.protocol, p.person, placement=p.placement, modality="hr+acc",
                         profile=p.profile, seed=p.seed, options=p.options,
                         name=f"{person_id}-{k:02d}-{p.protocol}")
                for k, p in enumerate(planned)]
        for label, classifier in classifiers.items():
            evidence = []
            with_workload = []  # each session's evidence with its workload (or None)
            for p, sim in zip(planned, sims, strict=True):
                seen = views(sim.session)
                for modality, session in seen.items():
                    session = replace(session, profile=replace(
                        session.profile, id=person_id, placement=p.placement))
                    result = analyze_session(session, config, classifier)
                    records.append(_record(result, sim.truth, p, modality, label, False))
                    if modality == "hr+acc":
                        evidence.append(result.evidence())
                    if modality == "hr+workload":
                        with_workload.append(result.evidence())
                if "hr+workload" not in seen:
                    with_workload.append(None)
            records += _workload_only(planned, sims, with_workload, person_id, config,
                                      classifier, label)
            calibration = learn(person_id, evidence)
            for p, sim in zip(planned, sims, strict=True):
                for modality, session in views(sim.session).items():
                    if modality != "acc" and not calibrated_hr:
                        continue
                    session = replace(session, profile=replace(
                        session.profile, id=person_id, placement=p.placement))
                    result = analyze_session(session, config, classifier, calibration)
                    name = "acc, calibrated" if modality == "acc" else modality
                    records.append(_record(result, sim.truth, p, name, label, True))
    return records


def _workload_only(planned: list[Planned], sims: list, evidence: list, person_id: str,
                   config: Config, classifier: object, label: str) -> list[dict]:
    """Each session with its workload channels alone (a GPS watch worn without its
    strap): ``workload`` with the reference person's fitness, and ``workload,
    calibrated`` with the calibration learned from the participant's *other* sessions with
    heart rate and workload (a batch never holds the heart rate of a session recorded
    without it)."""
    out = []
    for i, (p, sim) in enumerate(zip(planned, sims, strict=True)):
        full = views(sim.session).get("hr+workload")
        if full is None or (full.speed is None and full.power is None):
            continue
        session = replace(full, hr=None, profile=replace(
            full.profile, id=person_id, placement=p.placement))
        result = analyze_session(session, config, classifier)
        out.append(_record(result, sim.truth, p, "workload", label, False))
        others = [e for j, e in enumerate(evidence) if j != i and e is not None]
        calibration = learn(person_id, others)
        result = analyze_session(session, config, classifier, calibration)
        out.append(_record(result, sim.truth, p, "workload, calibrated", label, True))
    return out


# --------------------------------------------------------------------------- scoring


def _scores(rs: list[dict]) -> dict[str, float]:
    true_l = np.concatenate([r["true_labels"] for r in rs])
    found_l = np.concatenate([r["found_labels"] for r in rs])
    return {
        "sessions": len(rs),
        "session_class": float(np.mean([r["true_class"] == r["found_class"] for r in rs])),
        "dose_flag": float(np.mean([r["true_dose"] == r["found_dose"] for r in rs])),
        "epoch": float(np.mean(true_l == found_l)),
        "bout_err_median": float(np.median(np.abs([r["bout_error_min"] for r in rs]))),
        "low_certainty": float(np.mean([r["certainty"] == "low" for r in rs])),
    }


def _groups(records: list[dict]) -> dict[tuple[str, bool, str], list[dict]]:
    groups: dict[tuple[str, bool, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["modality"], r["calibrated"], r["classifier"])].append(r)
    return groups


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f} %"


def _modality_name(modality: str, calibrated: bool) -> str:
    if modality in HR_MODALITIES and calibrated:
        return f"{modality}, calibrated"
    return modality


def table(records: list[dict], classifiers: list[str]) -> list[str]:
    lines = ["| modality | classifier | sessions | session class | dose flag | epoch label "
             "| longest bout, median abs. error | verdicts marked low certainty |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    groups = _groups(records)
    order = sorted(groups, key=lambda k: (MODALITIES.index(k[0]), k[1],
                                          classifiers.index(k[2])))
    for modality, calibrated, classifier in order:
        s = _scores(groups[(modality, calibrated, classifier)])
        lines.append(f"| {_modality_name(modality, calibrated)} | {classifier} | "
                     f"{s['sessions']} | {_pct(s['session_class'])} | {_pct(s['dose_flag'])} | "
                     f"{_pct(s['epoch'])} | {s['bout_err_median']:.1f} min | "
                     f"{_pct(s['low_certainty'])} |")
    return lines


def by_person(records: list[dict], classifier: str) -> list[str]:
    lines = ["| modality | people | median person | worst person | 10th-percentile session "
             "| worst session |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for (modality, calibrated, name), rs in sorted(_groups(records).items()):
        if name != classifier:
            continue
        people: dict[str, list[dict]] = defaultdict(list)
        for r in rs:
            people[r["person"]].append(r)
        acc = np.array([_scores(v)["epoch"] for v in people.values()])
        sessions = np.array([np.mean(np.asarray(r["true_labels"]) ==
                                     np.asarray(r["found_labels"])) for r in rs])
        lines.append(f"| {_modality_name(modality, calibrated)} | {len(people)} | "
                     f"{_pct(float(np.median(acc)))} | {_pct(float(acc.min()))} | "
                     f"{_pct(float(np.percentile(sessions, 10)))} | "
                     f"{_pct(float(sessions.min()))} |")
    return lines


def by_setting(records: list[dict], classifier: str) -> list[str]:
    lines = ["| modality | where | sessions | session class | dose flag | epoch label |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        if r["classifier"] == classifier and not (r["calibrated"] and
                                                  r["modality"] in HR_MODALITIES):
            groups[(r["modality"], r["setting"])].append(r)
    for (modality, setting), rs in sorted(groups.items(),
                                          key=lambda kv: (MODALITIES.index(kv[0][0]), kv[0][1])):
        s = _scores(rs)
        lines.append(f"| {modality} | {setting} | {s['sessions']} | {_pct(s['session_class'])} "
                     f"| {_pct(s['dose_flag'])} | {_pct(s['epoch'])} |")
    return lines


def confusion(records: list[dict], modality: str, classifier: str) -> np.ndarray:
    m = np.zeros((4, 5), dtype=int)  # rows: reference label; columns: found (+ missing)
    for r in records:
        if r["modality"] != modality or r["classifier"] != classifier or (
                r["calibrated"] and modality in HR_MODALITIES):
            continue
        t, f = np.asarray(r["true_labels"]), np.asarray(r["found_labels"])
        for i, label in enumerate(LABEL_ORDER):
            sel = t == label
            for j, found in enumerate(LABEL_ORDER):
                m[i, j] += int(np.sum(f[sel] == found))
            m[i, 4] += int(np.sum(f[sel] == Label.MISSING))
    return m


def precision_recall(m: np.ndarray) -> str:
    cells = []
    for i in range(4):
        found, true = m[:, i].sum(), m[i, :].sum()
        cells.append(f"{_pct(m[i, i] / found if found else float('nan'))} / "
                     f"{_pct(m[i, i] / true if true else float('nan'))}")
    return " | ".join(cells)


def worst(records: list[dict], classifier: str, most: int = 12) -> list[str]:
    wrong = [r for r in records if r["classifier"] == classifier and
             (r["true_class"] != r["found_class"] or r["true_dose"] != r["found_dose"])
             and not (r["calibrated"] and r["modality"] in HR_MODALITIES)]
    wrong.sort(key=lambda r: (MODALITIES.index(r["modality"]), r["session"]))
    lines = [f"{len(wrong)} session verdicts of {classifier} differ from the truth in class or "
             f"dose; {'the first ' + str(most) if len(wrong) > most else 'all'} by modality:",
             "", "| modality | session | where | profile | class (true → found) | dose |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in wrong[:most]:
        dose = "ok" if r["true_dose"] == r["found_dose"] else \
            f"{'met' if r['true_dose'] else 'not met'} → {'met' if r['found_dose'] else 'not'}"
        lines.append(f"| {r['modality']} | `{r['session']}` | {r['setting']} | {r['profile']} | "
                     f"{r['true_class']} → {r['found_class']} | {dose} |")
    return lines


def markdown(records: list[dict], classifiers: list[str], seed: int) -> str:
    people = len({r["person"] for r in records})
    sessions = len({r["session"] for r in records})
    lines = [f"Held-out seed {seed}: {people} simulated people (wide population) never used "
             f"in development or training, {sessions} sessions, each analysed in every "
             "modality its devices allow. Truth: the simulator's oracle.", "",
             *table(records, classifiers)]
    for classifier in classifiers:
        lines += ["", f"**{classifier}**: epoch accuracy by person and by session", "",
                  *by_person(records, classifier), "",
                  f"**{classifier}**: by where the session took place", "",
                  *by_setting(records, classifier), "",
                  f"**{classifier}**: per-class precision / recall (rest, constant, "
                  "intermediate, accelerating)", "",
                  "| modality | rest | constant | intermediate | accelerating |",
                  "| --- | --- | --- | --- | --- |"]
        for modality in MODALITIES:
            lines.append(f"| {modality} | "
                         f"{precision_recall(confusion(records, modality, classifier))} |")
        lines += ["", *worst(records, classifier)]
    return "\n".join(lines) + "\n"


def by_protocol(records: list[dict], classifier: str) -> list[str]:
    """Session-class accuracy per protocol and modality (alone, not calibrated, except
    ``acc, calibrated``): where the classifier is weak."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        if r["classifier"] == classifier and not (r["calibrated"] and
                                                  r["modality"] in HR_MODALITIES):
            groups[(r["protocol"], r["modality"])].append(r)
    protocols = sorted({p for p, _ in groups})
    short = {"hr+speed, incline unrecorded": "hr+speed, no incline"}
    lines = ["| protocol | " + " | ".join(short.get(m, m) for m in MODALITIES) + " |",
             "| --- |" + " ---: |" * len(MODALITIES)]
    for protocol in protocols:
        cells = []
        for modality in MODALITIES:
            rs = groups.get((protocol, modality), [])
            cells.append("–" if not rs else
                         f"{_pct(_scores(rs)['session_class'])} ({len(rs)})")
        lines.append(f"| {protocol} | " + " | ".join(cells) + " |")
    return lines


# The project's targets on simulated people never used in training: (modalities, what,
# target). Heart rate with or without acceleration or speed, alone or calibrated; and
# acceleration only with the participant's calibration.
TARGETS = (
    (("hr+acc", "hr", "hr+workload"), "session_class", 0.97),
    (("hr+acc", "hr", "hr+workload"), "dose_flag", 0.98),
    (("hr+acc", "hr", "hr+workload"), "epoch", 0.92),
    (("acc, calibrated",), "session_class", 0.90),
    (("acc, calibrated",), "dose_flag", 0.95),
)


def targets(records: list[dict], classifiers: list[str]) -> tuple[list[str], dict[str, bool]]:
    """The acceptance targets against each classifier's figures (every modality named,
    alone and calibrated), and whether each classifier meets them all."""
    groups = _groups(records)
    met = dict.fromkeys(classifiers, True)
    lines = ["| modality | measure | target | " + " | ".join(classifiers) + " |",
             "| --- | --- | ---: |" + " ---: |" * len(classifiers)]
    for modalities, what, target in TARGETS:
        for modality in modalities:
            for calibrated in ((False, True) if modality in HR_MODALITIES else (True,)):
                cells = []
                for c in classifiers:
                    rs = groups.get((modality, calibrated, c))
                    if not rs:
                        cells.append("–")
                        continue
                    value = _scores(rs)[what]
                    ok = value >= target
                    met[c] &= ok
                    cells.append(f"{_pct(value)} {'✓' if ok else '✗'}")
                lines.append(f"| {_modality_name(modality, calibrated)} | "
                             f"{what.replace('_', ' ')} | {100 * target:.0f} % | "
                             + " | ".join(cells) + " |")
    return lines, met


def _classifier(spec: str):  # noqa: ANN202
    """A classifier by name; ``physio:SLOPE`` tries another drift-proof slope."""
    if spec.startswith("physio:"):
        from dosewatch.models.physio import PhysioClassifier

        return PhysioClassifier(drift_proof_slope=float(spec.split(":", 1)[1]))
    return get_classifier(spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--sessions", type=int, default=6, help="sessions per person")
    parser.add_argument("--classifiers", default="auto,learned,physio,rules")
    parser.add_argument("--calibrated-hr", action="store_true",
                        help="also score heart-rate modalities with the study's calibration")
    parser.add_argument("--out", type=Path, help="write evaluation.md and .json here")
    parser.add_argument("--records", type=Path,
                        help="score the records of an earlier run (its evaluation.json, "
                        "made with the same --seed, --people and --sessions) instead of "
                        "analysing again")
    parser.add_argument("--card", type=Path,
                        help="write the model card here (runs scripts/real_eval.py too)")
    parser.add_argument("--real", type=Path,
                        help="with --card: the folder of real recordings "
                        "(default: ../shared/data/real)")
    parser.add_argument("--ablation", type=Path,
                        help="with --card: a folder of models trained without one input "
                        "family each (subfolders named after the family), scored on the "
                        "real recordings")
    args = parser.parse_args()
    names = [c.strip() for c in args.classifiers.split(",") if c.strip()]
    start = time.perf_counter()
    plan = plan_study(args.seed, args.people, args.sessions)
    if args.records:
        records = json.loads(args.records.read_text(encoding="utf-8"))
        names = [n for n in names if any(r["classifier"] == n for r in records)]
        seen = {r["person"] for r in records}
        plan = [p for p in plan if p.person.id in seen]
    else:
        classifiers = {name: _classifier(name) for name in names}
        records = evaluate(plan, classifiers, args.calibrated_hr)
    text = markdown(records, names, args.seed)
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "evaluation.md").write_text(text, encoding="utf-8")
        (args.out / "evaluation.json").write_text(json.dumps(records), encoding="utf-8")
    if args.card:
        from model_card import write_card
        from real_eval import REAL

        command = " ".join(["scripts/evaluate.py", *sys.argv[1:]])
        write_card(args.card, records, names, args.seed, args.ablation, command, plan,
                   args.real or REAL)
        print(f"model card written to {args.card}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
