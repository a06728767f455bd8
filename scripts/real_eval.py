"""Verdicts on real recordings, scored against a reference made from the workload alone.

Every session of ``../shared/data/real`` that has a workload channel gets a reference
from its speed, grade or power (:mod:`real_reference`, which never looks at heart rate).
Each classifier then analyses the session twice: with every channel (*full*), and with
the workload channels hidden, heart rate only (*HR only*). Two questions are scored per
session: is it accelerating or steady, and was the dose met. Undecided references are
left out of the percentages and listed.

    python scripts/real_eval.py [--classifiers default,rules] [--out docs/real-data.md]
                                [--ablation FOLDER]

The table goes to the model card (``models/MODEL_CARD.md``, section "Real recordings").
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_reference import Reference, reference  # noqa: E402

from dosewatch.analysis import analyze_session  # noqa: E402
from dosewatch.config import Config  # noqa: E402
from dosewatch.errors import DosewatchError  # noqa: E402
from dosewatch.ingest.registry import ReadOptions, read_all  # noqa: E402
from dosewatch.models.registry import get_classifier  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
WORKLOAD_STREAMS = ("speed", "power", "cadence", "altitude", "grade")


def hr_only(session):  # noqa: ANN001, ANN201
    """The session with its workload channels hidden (what a chest strap alone gives)."""
    return replace(session, **dict.fromkeys(WORKLOAD_STREAMS))


@dataclass(frozen=True)
class Verdict:
    session_class: str
    dose: bool
    longest: float
    certainty: str
    accelerating_min: float = 0.0
    exercise_min: float = 0.0

    @property
    def kind(self) -> str:
        return "accelerating" if self.session_class == "accelerating" else "steady"

    @property
    def why(self) -> str:
        """What the classifier saw: its accelerating minutes among the exercise minutes,
        and how sure it was."""
        return (f"{self.accelerating_min:.0f} of {self.exercise_min:.0f} exercise minutes "
                f"accelerating; certainty {self.certainty}")


@dataclass(frozen=True)
class Row:
    name: str
    minutes: float
    ref: Reference
    verdicts: dict[tuple[str, str], Verdict]  # (classifier, "full" | "hr") -> verdict


def _verdict(session, config: Config, classifier) -> Verdict:  # noqa: ANN001
    result = analyze_session(session, config, classifier)
    certainty = getattr(result, "certainty", None)
    text = "" if certainty is None else str(getattr(certainty, "level", certainty))
    minutes = result.minutes
    exercise = sum(minutes[k] for k in ("constant", "intermediate", "accelerating"))
    return Verdict(result.session_class, result.dose_met,
                   result.longest_bout_qualifying_minutes, text,
                   minutes["accelerating"], exercise)


def collect(classifiers: dict[str, object], root: Path = REAL) -> tuple[list[Row], list[str]]:
    config = Config()
    rows, skipped = [], []
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".md"))
    for path in files:
        local = f"{path.parent.name.split('__')[-1]}/{path.name}"
        try:
            sessions = read_all(path, ReadOptions())
        except DosewatchError as exc:
            skipped.append(f"`{local}`: not read ({exc.reason})")
            continue
        for session in sessions:
            name = local if len(sessions) == 1 else f"{local} [{session.name}]"
            if session.hr is None:
                skipped.append(f"`{name}`: no heart rate")
                continue
            ref = reference(session, session.provenance.sport)
            if ref is None:
                skipped.append(f"`{name}`: no usable workload channel")
                continue
            verdicts = {}
            for label, classifier in classifiers.items():
                verdicts[(label, "full")] = _verdict(session, config, classifier)
                verdicts[(label, "hr")] = _verdict(hr_only(session), config, classifier)
            rows.append(Row(name, session.duration_s / 60.0, ref, verdicts))
    return rows, skipped


def score(rows: list[Row], label: str, mode: str) -> dict[str, object]:
    kind_rows = [r for r in rows if r.ref.kind != "undecided"]
    dose_rows = [r for r in rows if r.ref.dose is not None]
    kind_ok = [r for r in kind_rows if r.verdicts[(label, mode)].kind == r.ref.kind]
    dose_ok = [r for r in dose_rows if r.verdicts[(label, mode)].dose == r.ref.dose]
    return {
        "kind": (len(kind_ok), len(kind_rows)),
        "dose": (len(dose_ok), len(dose_rows)),
        "kind_wrong": [r for r in kind_rows if r not in kind_ok],
        "dose_wrong": [r for r in dose_rows if r not in dose_ok],
    }


def _pct(pair: tuple[int, int]) -> str:
    ok, n = pair
    return f"{100 * ok / n:.1f} % ({ok}/{n})" if n else "–"


def report(rows: list[Row], skipped: list[str], labels: list[str]) -> str:
    lines = ["| classifier | channels | accelerating or steady | dose met |",
             "| --- | --- | ---: | ---: |"]
    wrong: list[str] = []
    for label in labels:
        for mode, title in (("hr", "heart rate only"), ("full", "with the workload")):
            s = score(rows, label, mode)
            lines.append(f"| {label} | {title} | {_pct(s['kind'])} | {_pct(s['dose'])} |")
            for r in s["kind_wrong"]:
                v = r.verdicts[(label, mode)]
                wrong.append(f"| {label} | {title} | `{r.name}` | class: {v.session_class} "
                             f"({v.why}) vs workload {r.ref.kind} ({r.ref.kind_reason}) |")
            for r in s["dose_wrong"]:
                v = r.verdicts[(label, mode)]
                wrong.append(f"| {label} | {title} | `{r.name}` | dose: "
                             f"{'met' if v.dose else 'not met'} (longest bout {v.longest:.0f} "
                             f"qualifying min; certainty {v.certainty}) vs "
                             f"workload {'met' if r.ref.dose else 'not met'} "
                             f"({r.ref.dose_reason}) |")
    n_kind = sum(r.ref.kind != "undecided" for r in rows)
    n_dose = sum(r.ref.dose is not None for r in rows)
    text = [f"{len(rows)} real sessions with a workload channel; the workload decides "
            f"accelerating-or-steady for {n_kind} and the dose for {n_dose}.", "",
            *lines, ""]
    if wrong:
        text += ["Every disagreement:", "",
                 "| classifier | channels | session | what differs |",
                 "| --- | --- | --- | --- |", *wrong, ""]
    undecided = [f"- `{r.name}`: " + "; ".join(
        x for x in ((f"accelerating or steady undecided: {r.ref.kind_reason}"
                     if r.ref.kind == "undecided" else ""),
                    (f"dose undecided: {r.ref.dose_reason}" if r.ref.dose is None else ""))
        if x) for r in rows if r.ref.kind == "undecided" or r.ref.dose is None]
    if undecided:
        text += ["Where the workload cannot decide (left out of the percentages):", "",
                 *undecided, ""]
    per_session = ["| session | min | workload | reference | " + " | ".join(
        f"{label} HR only / full" for label in labels) + " |",
        "| --- | ---: | --- | --- | " + " | ".join("---" for _ in labels) + " |"]
    for r in rows:
        cells = []
        for label in labels:
            h, f = r.verdicts[(label, "hr")], r.verdicts[(label, "full")]
            cells.append(f"{h.session_class}{' dose' if h.dose else ''} / "
                         f"{f.session_class}{' dose' if f.dose else ''}")
        dose = {True: "dose", False: "no dose", None: "dose?"}[r.ref.dose]
        per_session.append(f"| `{r.name}` | {r.minutes:.0f} | {r.ref.channel} | "
                           f"{r.ref.kind}, {dose} | " + " | ".join(cells) + " |")
    text += ["Per session:", "", *per_session, ""]
    if skipped:
        text += ["Not scored:", "", *(f"- {s}" for s in skipped), ""]
    return "\n".join(text)


def scores(rows: list[Row], label: str) -> dict[str, tuple[int, int]]:
    """Agreements with the reference, ``(right, scored)``, for each question and mode:
    ``hr_kind``, ``hr_dose``, ``full_kind``, ``full_dose``."""
    out = {}
    for mode in ("hr", "full"):
        s = score(rows, label, mode)
        out[f"{mode}_kind"], out[f"{mode}_dose"] = s["kind"], s["dose"]
    return out


def ablation_table(folder: Path, root: Path = REAL) -> list[str]:
    """The learned model trained without one input family at a time (``folder``'s
    subfolders, named after the family; ``none``: the same training with every input;
    ``python -m dosewatch.models.train --drop FAMILY``), on the real recordings."""
    from dosewatch.models.learned import MANIFEST_NAME, LearnedClassifier

    models = {}
    for sub in sorted(p for p in folder.iterdir() if (p / MANIFEST_NAME).is_file()):
        name = "nothing (the same training, every input)" if sub.name == "none" else sub.name
        models[name] = LearnedClassifier(model_dir=sub, name=name)
    models = dict(sorted(models.items(), key=lambda kv: not kv[0].startswith("nothing")))
    rows, _ = collect(models, root)
    lines = ["| input family left out | HR only: accelerating or steady | HR only: dose | "
             "with the workload: accelerating or steady | with the workload: dose | "
             "right of all |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in models:
        s = scores(rows, name)
        right = sum(ok for ok, _ in s.values())
        lines.append(f"| {name} | {_pct(s['hr_kind'])} | {_pct(s['hr_dose'])} | "
                     f"{_pct(s['full_kind'])} | {_pct(s['full_dose'])} | {right} |")
    return lines


def _classifier(spec: str):  # noqa: ANN202
    """A classifier by name; ``physio:SLOPE`` tries another drift-proof slope."""
    if spec.startswith("physio:"):
        from dosewatch.models.physio import PhysioClassifier

        return PhysioClassifier(drift_proof_slope=float(spec.split(":", 1)[1]))
    return get_classifier(None if spec == "default" else spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classifiers", default="default,rules",
                        help="comma-separated: names, model folders or module:Class "
                        "('default' is the shipped default)")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    parser.add_argument("--ablation", type=Path,
                        help="also score the models in this folder's subfolders, each "
                        "trained without the input family it is named after")
    args = parser.parse_args()
    labels = [c.strip() for c in args.classifiers.split(",") if c.strip()]
    classifiers = {c: _classifier(c) for c in labels}
    start = time.perf_counter()
    rows, skipped = collect(classifiers)
    text = report(rows, skipped, labels)
    if args.ablation:
        text += "\nThe learned model without each input family:\n\n" + "\n".join(
            ablation_table(args.ablation)) + "\n"
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
