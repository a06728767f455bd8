"""The model card (``models/MODEL_CARD.md``), written from the evaluations themselves.

Called by ``scripts/evaluate.py --card PATH``: the simulator's records of that run, and
a fresh run of ``scripts/real_eval.py`` on the real recordings for the same classifiers
(and, with ``--ablation DIR``, for models trained without one input family each). Every
figure in the card comes from these runs; nothing is typed in by hand, so the card can
be regenerated after any change and cannot drift from the code.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as ev
import real_eval

from dosewatch.config import Config
from dosewatch.models.inputs import FAMILIES, INPUT_NAMES, LOOKAHEAD
from dosewatch.models.learned import DEFAULT_MODEL_DIR, MANIFEST_NAME
from dosewatch.models.registry import DEFAULT_CLASSIFIER, get_classifier

FAMILY_TEXT = {
    "heart_rate": "heart-rate demand and lag-compensated %HRR, the demand less the "
                  "relation's drift, heart-rate SD as %HRR of the reserve, coverage and "
                  "artefact share",
    "workload": "the workload as this person's %HRR (through the session's relation), "
                "moving, the relation's R² and drift",
    "acceleration": "%HRR from acceleration (own mapping or cut-points, and which), ENMO, "
                    "step cadence, stepping share, coverage",
    "trend": "the SPEC's Theil–Sen trend of each intensity signal over the centred "
             "window, the same with the largest single change of pace taken out, and "
             "the window's non-rest share",
    "context": f"the main signals 3 epochs before to {LOOKAHEAD} after",
    "physio": "the physiological classifier's intensity, label and qualifying flag",
}


def _manifest() -> dict:
    return json.loads((DEFAULT_MODEL_DIR / MANIFEST_NAME).read_text(encoding="utf-8"))


def _shown(folder: Path) -> str:
    """The real-data folder as the card names it: ``../shared/data/real`` when it is the
    shared one beside the repository."""
    return "../shared/data/real" if folder.resolve() == real_eval.REAL.resolve() else str(folder)


def _learned_section() -> list[str]:
    m = _manifest()
    t = m.get("training", {})
    files = []
    for role, entry in m["files"].items():
        path = DEFAULT_MODEL_DIR / entry["file"]
        size = path.stat().st_size / 1e6
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append(f"`{entry['file']}` ({role}, {size:.1f} MB, sha256 {digest[:12]}…)")
    estimator = "; ".join(f"{name} {params}" for name, params in
                          t.get("estimator", {}).items())
    lines = [
        "## The learned model",
        "",
        "Two gradient-boosted tree ensembles run with onnxruntime: one gives each epoch's "
        "probability of rest, constant, intermediate and accelerating, the other the true "
        "relative intensity (%HRR). A hidden Markov model (Viterbi, transitions counted on "
        "the training labels) smooths the labels. Then labels and intensity are made to "
        "agree (`models.learned.agree`): with heart rate, an epoch the smoothing calls "
        "accelerating stays so and every other epoch takes the label of its estimated "
        "intensity's level; with acceleration alone the label stands and the intensity is "
        "moved into its band. So `level`, label, bouts and dose follow from the same "
        f"numbers. An epoch qualifies at {Config().bouts.qualifying_from:g} %HRR or more, "
        "never while a trusted workload channel says the person stands still (the "
        "physiological classifier's rule). The same code runs in batch and live.",
        "",
        f"- Model format {m['format']}, trained {t.get('trained_at', '?')} in "
        f"{t.get('seconds', '?')} s on this machine ({t.get('simulate_seconds', '?')} s of "
        "it simulating); " + estimator + ".",
        "- Files: " + ", ".join(files) + ".",
        f"- Training data: simulated studies on development seed {t.get('seed')} (never the "
        f"held-out {ev.HELD_OUT_SEED}): {t.get('people')} people of the wide population, "
        f"{t.get('sessions_per_person')} sessions each on different days (every protocol, "
        "treadmill with incline, outdoors with hills, stops and GPS, rides; drift up to "
        "heat's; profiles full, age only, none), each session in every view its devices "
        f"allow, alone and with the participant's calibration: {t.get('views')} analysed "
        f"views, {t.get('epochs')} epochs. Labels: the simulator's independent oracle.",
        f"- Inputs ({len(INPUT_NAMES)} per epoch, `dosewatch.models.inputs`): no absolute "
        "speed, power or heart rate, no HR_rest or HR_max, no flag saying which streams "
        "a session has; a missing signal is a fixed sentinel in its own columns.",
        "",
        "| family | inputs | what |",
        "| --- | ---: | --- |",
    ]
    lines += [f"| {family} | {len(names)} | {FAMILY_TEXT.get(family, '')} |"
              for family, names in FAMILIES.items()]
    return lines


def _weak(records: list[dict], classifier: str, most: int = 5) -> list[str]:
    """The protocol and modality pairs (alone, heart-rate modalities and calibrated
    acceleration) where the classifier gets the session class right least often."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        if r["classifier"] != classifier or r["calibrated"] and r["modality"] in \
                ev.HR_MODALITIES or r["modality"] == "acc":
            continue
        groups.setdefault((r["protocol"], r["modality"]), []).append(r)
    scored = sorted(((ev._scores(rs)["session_class"], k, len(rs))
                     for k, rs in groups.items() if len(rs) >= 3), key=lambda x: x[0])
    return [f"  - {p}, {m}: {ev._pct(v)} of {n} sessions" for v, (p, m), n in scored[:most]]


def _simulator_means(records: list[dict], names: list[str]) -> dict[str, float]:
    """Each classifier's mean over the rows of the targets table (every measure and
    modality the issue sets a target for)."""
    groups = ev._groups(records)
    values: dict[str, list[float]] = {n: [] for n in names}
    for modalities, what, _ in ev.TARGETS:
        for modality in modalities:
            for calibrated in ((False, True) if modality in ev.HR_MODALITIES else (True,)):
                for n in names:
                    rs = groups.get((modality, calibrated, n))
                    if rs:
                        values[n].append(ev._scores(rs)[what])
    return {n: float(sum(v) / len(v)) if v else 0.0 for n, v in values.items()}


def write_card(path: Path, records: list[dict], names: list[str], seed: int,
               ablation: Path | None = None, command: str = "",
               plan: list | None = None, real_dir: Path = real_eval.REAL) -> None:
    """Write the model card to ``path`` (see the module text). ``command``: how it was
    made, for the card's first lines; ``plan``: the held-out study's sessions
    (:func:`dosewatch.models.train.plan_study`), for who its people are; ``real_dir``: the
    folder of real recordings."""
    classifiers = {n: get_classifier(n) for n in names}
    rows, skipped = real_eval.collect(classifiers, real_dir)
    real_text = real_eval.report(rows, skipped, names)
    real = {n: real_eval.scores(rows, n) for n in names}
    target_lines, met = ev.targets(records, names)

    def total(n: str) -> int:
        return sum(ok for ok, _ in real[n].values())

    best = max(total(n) for n in names)
    rules_total = total("rules") if "rules" in real else None
    lines = [
        "# Model card: dosewatch's classifiers",
        "",
        f"Generated by `{command or 'scripts/evaluate.py --card models/MODEL_CARD.md'}` "
        "(`make evaluate`; it also runs `scripts/real_eval.py`); do not edit by hand.",
        "",
        "dosewatch sorts each minute (epoch) of a session into the SPEC's labels — rest, "
        "constant, intermediate, accelerating — estimates its relative intensity (%HRR), "
        "and from them the session class, the bouts and the 30-minute dose. Four "
        "classifiers ship: `physio` (deterministic: the workload's trend decides "
        "accelerating, the heart-rate demand sets the level; `models/physio.py`, "
        "`docs/method.md`), `learned` (the ONNX model below, trained on the simulator, "
        "which corrects physio's decision from the same physiology), `rules` (the "
        "transparent baseline: the SPEC's rules on measured %HRR) and `auto` "
        "(`models/auto.py`: `physio` for a session with heart rate, `learned` for one "
        "with acceleration alone). Every real recording with a reference has heart rate, "
        "so on real data `auto` is `physio`; with acceleration alone only the simulator "
        "can judge, and there `auto` is `learned`: better on the lab protocols below, "
        "worse on simulated free-living days (`scripts/eval_freeliving_acc.py` scores "
        "them; its figures are in the README), which is why it is not the default.",
        "",
        "## Which classifier is the default, and why",
        "",
        "The rule: the default is the classifier that is best on real recordings and "
        "meets the simulator's targets; when none meets them, the one best on real "
        "recordings; never a default that real data show worse than the baseline "
        "(`rules`).",
        "",
        "| classifier | real, HR only: accelerating or steady | real, HR only: dose | "
        "real, with the workload: accelerating or steady | real, with the workload: dose "
        "| real, right of all | simulator targets met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for n in names:
        s = real[n]
        n_all = sum(k for _, k in s.values())
        lines.append(f"| {n} | {real_eval._pct(s['hr_kind'])} | {real_eval._pct(s['hr_dose'])} | "
                     f"{real_eval._pct(s['full_kind'])} | {real_eval._pct(s['full_dose'])} | "
                     f"{total(n)}/{n_all} | {'all' if met[n] else 'not all'} |")
    leaders = [n for n in names if total(n) == best]
    sim = _simulator_means(records, names)
    default = DEFAULT_CLASSIFIER
    verdict = [f"The default is **`{default}`** (`models/registry.py`)."]
    if default in real:
        if rules_total is not None and total(default) < rules_total:
            verdict.append("**Warning: real data show it worse than `rules`.**")
        ranked = ", ".join(f"`{n}` {total(n)}" for n in sorted(names, key=total, reverse=True))
        verdict.append(f"Verdicts on real recordings that agree with the workload "
                       f"reference: {ranked}.")
        verdict.append("Mean over the simulator's target rows: " + ", ".join(
            f"`{n}` {100 * sim[n]:.1f} %" for n in sorted(names, key=sim.get, reverse=True))
            + "; " + ("every target met by " + ", ".join(f"`{n}`" for n in names if met[n])
                      if any(met.values()) else "no classifier meets every target") + ".")
        if default in leaders and (met[default] or not any(met.values())):
            better = [n for n in names if sim[n] > sim[default] and n not in leaders]
            verdict.append(
                f"`{default}` is best on real data" + (
                    f"; {', '.join(f'`{n}`' for n in better)} is better on the simulator but "
                    "agrees with real data less often, and the rule puts real data first"
                    if better else "") + ".")
        else:
            verdict.append(f"**The rule points elsewhere: `{default}` is not the best on "
                           "real data, or another classifier meets the targets.**")
    lines += ["", " ".join(verdict), ""]
    lines += _learned_section()
    lines += ["", "## Real recordings", "",
              f"Every real file of `{_shown(real_dir)}` with a speed or power channel, "
              "against a reference made from the workload alone (`scripts/real_reference.py`"
              ", never heart rate; docs/method.md §7). *Heart rate only*: the workload "
              "channels hidden from the classifier; *with the workload*: every channel.",
              "", real_text.rstrip()]
    import workload_only_eval

    lines += ["", "### Real recordings read from their workload alone", "",
              "The same sessions with the heart rate hidden (a GPS watch or bike computer "
              "used without its strap; `scripts/workload_only_eval.py`, `physio`): with the "
              "reference person's fitness (every verdict marked low certainty), and, for "
              "the participants with several sessions in the folder, with the calibration "
              "learned from their *other* sessions. The reference made from the workload "
              "uses the reference person too, so agreement with it is expected; agreement "
              "with the same session's verdict *with* heart rate is the measure.", "",
              workload_only_eval.report(workload_only_eval.collect(real_dir)).split(
                  "\n\nPer session")[0].rstrip()]
    if ablation is not None:
        lines += ["", "### Input families on real recordings (ablation)", "",
                  "The learned model retrained without one input family at a time (its "
                  "inputs all set to the missing sentinel), same data and seed, scored on "
                  "the real recordings. A family that lets the model learn the simulator "
                  "instead of the physiology would show here as a model that does better "
                  "without it.", "", *real_eval.ablation_table(ablation, real_dir)]
    people = len({r["person"] for r in records})
    sessions = len({r["session"] for r in records})
    lines += ["", "## Simulated people never used in training", "",
              f"Held-out seed {seed}: {people} simulated people (wide population) never "
              f"used in development or training, {sessions} sessions, each analysed in "
              "every modality its devices allow, alone and (`, calibrated`) with the "
              "participant's calibration learned from their sessions in the same study. "
              "Truth: the simulator's oracle (`dosewatch.simulate.oracle`).", "",
              "### Against the project's targets", "", *target_lines, "",
              "### Every modality", "", *ev.table(records, names)]
    for n in names:
        lines += ["", f"### {n}", "",
                  "Epoch accuracy by person and by session:", "",
                  *ev.by_person(records, n), "",
                  "By where the session took place:", "", *ev.by_setting(records, n), "",
                  "Session class by protocol (sessions in brackets):", "",
                  *ev.by_protocol(records, n), "",
                  "Per-class precision / recall (rest, constant, intermediate, "
                  "accelerating):", "",
                  "| modality | rest | constant | intermediate | accelerating |",
                  "| --- | --- | --- | --- | --- |"]
        for modality in ev.MODALITIES:
            lines.append(f"| {modality} | "
                         f"{ev.precision_recall(ev.confusion(records, modality, n))} |")
        lines += ["", *ev.worst(records, n)]
    lines += ["", "## Where each classifier is weak", ""]
    for n in names:
        lines += [f"- `{n}`: the lowest session-class accuracy by protocol and modality "
                  "(heart-rate modalities alone, acceleration calibrated):", *_weak(records, n)]
    quoted = default if default in names else names[0]
    lines += ["", *_known_limits(rows, plan or [], Config(), records, quoted)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _by_profile(records: list[dict], classifier: str) -> str:
    """The classifier's epoch accuracy with heart rate alone (not calibrated), for each
    kind of profile the held-out people gave."""
    parts = []
    for profile, what in (("full", "a full profile"), ("age", "the age only"),
                          ("none", "no profile")):
        rs = [r for r in records if r["classifier"] == classifier and r["modality"] == "hr"
              and not r["calibrated"] and r["profile"] == profile]
        if rs:
            parts.append(f"{ev._pct(ev._scores(rs)['epoch'])} of epochs with {what}")
    return ", ".join(parts)


def _known_limits(rows: list, plan: list, config: Config, records: list[dict],
                  classifier: str) -> list[str]:
    """What no table shows, with the figures it rests on taken from the configuration,
    the held-out study (``plan``, ``records``) and the real recordings (``rows``);
    ``classifier``: the one whose figures are quoted."""
    hr = config.heart_rate
    reserve = hr.hr_max_default - hr.hr_rest_default
    persons = list({p.person.id: p.person for p in plan}.values())
    ages = [p.age for p in persons]
    maxima = [p.hr_max for p in persons]
    drift = [p.person.drift_bpm_per_min if p.options.drift_bpm_per_min is None
             else p.options.drift_bpm_per_min for p in plan]
    n_kind = sum(r.ref.kind != "undecided" for r in rows)
    n_dose = sum(r.ref.dose is not None for r in rows)
    one = sorted(100.0 / n for n in (n_kind, n_dose) if n)
    people = (f" (held-out people aged {min(ages):.0f}-{max(ages):.0f}, true HR_max "
              f"{min(maxima):.0f}-{max(maxima):.0f} bpm)" if persons else "")
    return [
        "## Known limits",
        "",
        "- **HR_max and HR_rest.** Levels rest on them. Without a profile or a calibration "
        f"they are defaults ({hr.hr_max_default:g} and {hr.hr_rest_default:g} bpm) or "
        "Tanaka's age formula, and a person whose true maximum is far from it has every "
        f"level shifted; the simulator's wide population{people} shows it: with heart "
        f"rate alone, `{classifier}` gets the epoch label right in "
        f"{_by_profile(records, classifier) or 'no session scored'}. "
        "Calibration across a participant's sessions (the highest rate held) removes much "
        "of it when one of their sessions came near their maximum.",
        "- **Heart rate alone cannot separate heat drift from a slow ramp.** Drift of 1 "
        f"bpm/min at a steady workload is {100 / reserve:.2f} %HRR/min for the default "
        f"reserve of {reserve:g} bpm, above the SPEC's "
        f"{config.trend.accelerating_slope:g} %HRR/min for accelerating"
        + (f" (the held-out sessions drift {min(drift):.2f}-{max(drift):.2f} bpm/min "
           "at 60 %HRR, heat included)" if plan else "")
        + ". physio takes a change of pace out with heart rate's fast phase (the slow rise "
        "after it is drift, not a ramp) and says when a rise "
        "is drift-like; the learned model also leans on the shape of the rise (and "
        "acceleration when there is one), which the simulator's physiology supports but "
        "real people may not follow. Give a speed, power or footpod channel where it "
        "matters.",
        "- **What the gap to the heart-rate targets is made of.** `scripts/target_gap.py` "
        "analyses the held-out sessions again with what heart rate alone cannot know "
        "given: the true HR_rest and HR_max, no cardiac drift, a chest strap. Most of "
        "physio's gap is there, in the input, not in the method; the figures and what was "
        "tried are in `docs/method.md` (\"Where it is weak\").",
        "- **A treadmill export without its incline** hides an incline ramp from the "
        "workload. The learned model was trained to trust the workload channel when it has "
        "one (as physio does), so such ramps are read as steady.",
        "- **Acceleration only** cannot see effort relative to a person's fitness, nor grade: "
        "ENMO and cadence show movement, not %HRR. Uncalibrated verdicts are marked "
        "uncertain; calibrated ones are better but far below the heart-rate figures.",
        "- **Simulated training data.** No labelled real data exist for these classes; the "
        "real-data table above, against a workload-only reference, is the check that the "
        f"model learned physiology, not the simulator. It holds {len(rows)} sessions"
        + (f": one session is {one[0]:.1f} to {one[-1]:.1f} points" if one else "") + ".",
        "- **Label definitions.** The labels were learned for the default definitions. A "
        "study that changes levels, the trend window or slope gets the SPEC rules applied to "
        "the learned intensity (and a warning); epoch lengths other than "
        f"{config.epochs.epoch_s:g} s need `--classifier physio` or `rules`.",
    ]
