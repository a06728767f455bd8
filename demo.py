"""``dosewatch demo``: simulated sessions and a simulated study, analysed like any
researcher's folder, with truth and findings printed side by side. Writing simulated
sessions to disk lives in :mod:`dosewatch.simulate.folders`."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def run_demo(out: Path, seed: int = 2026, workers: int = 1) -> int:
    """Simulate one session per protocol (wrist and chest alternating; on a treadmill
    that records its speed and incline, as an FTMS treadmill does), analyse them
    and print truth against findings; analyse the real recordings that ship with
    dosewatch (:func:`run_examples_demo`); then simulate and analyse a small study
    (:func:`run_study_demo`) and write its report, whose path is printed last."""
    from .batch import run_batch
    from .simulate import PROTOCOLS
    from .simulate.folders import simulate_to_folders
    from .simulate.options import Options

    out = Path(out)
    sessions_dir, results_dir = out / "sessions", out / "results"
    print(f"Simulating one session per protocol into {sessions_dir} ...")
    folders = []
    for i, protocol in enumerate(PROTOCOLS):
        placement = "wrist" if i % 2 == 0 else "chest"
        folders += simulate_to_folders(sessions_dir, protocols=[protocol], placements=[placement],
                                       seed=seed + i, fmt="csv.gz", first_id=i + 1,
                                       options=Options(incline=True))
    print(f"Analysing {len(folders)} sessions into {results_dir} ...")
    report = run_batch(folders, results_dir, workers=workers)
    by_output = {Path(r.output).name: r for r in report.rows}

    header = ("session", "placement", "true class", "found class", "true dose", "found dose",
              "bout min (true/found)")
    rows = []
    agree_class = agree_dose = 0
    for folder in folders:
        truth = json.loads((folder / "truth.json").read_text())
        found = by_output.get(folder.name)
        true_bout = max((b["qualifying_minutes"] for b in truth["bouts"]), default=0)
        if found is None:
            rows.append((folder.name, truth["placement"], truth["session_class"], "FAILED",
                         _yes(truth["dose_met"]), "-", f"{true_bout:.0f}/-"))
            continue
        agree_class += found.session_class == truth["session_class"]
        agree_dose += found.dose_met == bool(truth["dose_met"])
        rows.append((
            truth["protocol"], truth["placement"], truth["session_class"],
            found.session_class, _yes(truth["dose_met"]), _yes(found.dose_met),
            f"{true_bout:.0f}/{found.longest_bout_qualifying_minutes:.0f}",
        ))
    _print_table(header, rows)
    n = len(folders)
    print(f"\nclass agrees {agree_class}/{n}, dose flag agrees {agree_dose}/{n}")
    print(f"pictures: {results_dir}/<session>/session.png   table: {results_dir / 'sessions.csv'}")
    if report.failures:
        print(f"{len(report.failures)} sessions failed: see {results_dir / 'failures.json'}")
    example_failures = run_examples_demo(out, workers=workers)
    _, study_failures = run_study_demo(out, seed=seed, workers=workers)
    return 1 if report.failures or study_failures or example_failures else 0


EXAMPLES = Path(__file__).resolve().parent / "examples"
"""Real recordings that ship with dosewatch (see examples/SOURCES.md)."""


def run_examples_demo(out: Path, workers: int = 1) -> int:
    """Analyse the real recordings that ship with dosewatch, as a researcher would a
    folder of watch exports, and print what was found and how sure it is. Returns the
    number of inputs that failed."""
    results = Path(out) / "examples-results"
    print(f"\nAnalysing the real recordings in {EXAMPLES} into {results} ...")
    report = _analyse_folder(EXAMPLES, results, workers)
    header = ("recording", "minutes", "class", "dose", "longest bout", "intensity from",
              "HR_rest / HR_max from", "certainty")
    rows = []
    for row in report.rows:
        summary = json.loads((Path(row.output) / "summary.json").read_text())
        rows.append((row.session, f"{row.duration_s / 60:.0f}", row.session_class,
                     _yes(row.dose_met), f"{row.longest_bout_qualifying_minutes:.0f} min",
                     row.intensity_source.replace("_", " "),
                     f"{row.hr_rest_source} / {row.hr_max_source}",
                     summary["certainty"]["level"]))
    _print_table(header, rows)
    print("(no profile was given: a study gives age, HR_rest and HR_max, or analyses a "
          "participant's sessions together so dosewatch learns them)")
    return len(report.failures)


def _analyse_folder(folder: Path, results: Path, workers: int):  # noqa: ANN202
    from .api import analyze_batch

    return analyze_batch(folder, results, workers=workers, progress=False)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _print_table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    """Print ``rows`` under ``header`` in left-aligned columns, after a blank line."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*r))


def run_study_demo(
    out: Path, seed: int = 2026, workers: int = 1, classifier: str | None = None
) -> tuple[Path, int]:
    """Simulate the demo study (:func:`demo_study_plan`), analyse it (with the default
    classifier unless ``classifier`` is given), print each participant's adherence and
    write the study report. Returns the report's path and the number of failed inputs."""
    from .batch import run_batch
    from .report import write_report
    from .simulate.folders import simulate_study
    from .simulate.options import Options
    from .simulate.study import demo_study_plan

    out = Path(out)
    inputs, results = out / "study", out / "study-results"
    plan = demo_study_plan()
    weeks = len({s.start.isocalendar()[:2] for s in plan if s.start is not None})
    people = sorted({s.participant for s in plan})
    print(f"\nSimulating a study: {len(people)} participants over {weeks} weeks, "
          f"{len(plan)} sessions, into {inputs} ...")
    folders = simulate_study(inputs, plan, seed=seed, options=Options(incline=True))
    print(f"Analysing them into {results} ...")
    options = {} if classifier is None else {"classifier": classifier}
    batch = run_batch(folders, results, workers=workers, **options)
    report = write_report(results, title="dosewatch demo: a simulated study")
    with (results / "participants.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))  # the numbers the report shows, as written
    header = ("participant", "sessions", "undated", "dose sessions", "weeks met",
              "longest run", "target")
    table = [(r["participant"], r["sessions"], r["undated_sessions"], r["dose_sessions"],
              f"{r['weeks_met']}/{r['weeks']}", f"{r['longest_streak_weeks']} weeks",
              f"{r['target_weeks']} weeks: " + ("met" if r["target_met"] == "True" else "not met"))
             for r in rows]
    _print_table(header, table)
    print("(undated: sessions without a start time, which no week can count; weeks met: weeks "
          "with the recommended dose sessions; longest run: consecutive weeks met)")
    print(f"\nadherence: {results / 'adherence.csv'}   participants: "
          f"{results / 'participants.csv'}")
    if batch.failures:
        print(f"{len(batch.failures)} sessions failed: see {results / 'failures.json'}")
    print(f"Study report: {report}")
    return report, len(batch.failures)
