"""The model card is written from the evaluation runs: ``scripts/evaluate.py --card`` on a
tiny held-out study and two real recordings (a ramp test and a steady run with its speed),
and every figure checked here is found again in the runs' own records."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REAL, REPO

from dosewatch.models.registry import DEFAULT_CLASSIFIER

RECORDINGS = ("GoldenCheetah__GoldenCheetah/Ramp test.csv",
              "sports-alliance__sports-lib/6860622916.tcx")
CLASSIFIERS = ("physio", "rules")


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict], Path]:
    tmp = tmp_path_factory.mktemp("card")
    real = tmp / "real"
    for name in RECORDINGS:
        target = real / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REAL / name, target)
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "evaluate.py"), "--people", "1",
         "--sessions", "2", "--calibrated-hr", "--classifiers", ",".join(CLASSIFIERS),
         "--out", str(tmp / "out"), "--real", str(real), "--card", str(tmp / "CARD.md")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    records = json.loads((tmp / "out" / "evaluation.json").read_text(encoding="utf-8"))
    return (tmp / "CARD.md").read_text(encoding="utf-8"), records, real


def _script(name: str):  # noqa: ANN202
    """The module of ``scripts/<name>.py`` (the evaluation the card was written from)."""
    import importlib

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "scripts"))


def test_the_card_has_every_part(card) -> None:
    text, _, _ = card
    for heading in ("## Which classifier is the default, and why", "## The learned model",
                    "## Real recordings", "## Simulated people never used in training",
                    "### Against the project's targets", "### Every modality",
                    "## Where each classifier is weak", "## Known limits"):
        assert heading in text, heading
    assert f"The default is **`{DEFAULT_CLASSIFIER}`**" in text
    assert "--people 1 --sessions 2" in text  # how it was made


def test_simulated_figures_are_the_records(card) -> None:
    text, records, _ = card
    for classifier in CLASSIFIERS:
        for modality in ("hr", "hr+workload", "acc", "workload", "workload, calibrated"):
            rs = [r for r in records if r["classifier"] == classifier
                  and r["modality"] == modality
                  and r["calibrated"] == modality.endswith("calibrated")]
            right = sum(r["true_class"] == r["found_class"] for r in rs)
            row = f"| {modality} | {classifier} | {len(rs)} | {100 * right / len(rs):.1f} % |"
            assert row in text, row


def test_real_figures_are_the_real_evaluation(card) -> None:
    text, _, real = card
    real_eval = _script("real_eval")
    from dosewatch.models.registry import get_classifier

    rows, _ = real_eval.collect({c: get_classifier(c) for c in CLASSIFIERS}, real)
    assert {r.name.split("/")[-1] for r in rows} == {Path(n).name for n in RECORDINGS}
    for classifier in CLASSIFIERS:
        s = real_eval.score(rows, classifier, "hr")
        row = (f"| {classifier} | heart rate only | {real_eval._pct(s['kind'])} | "
               f"{real_eval._pct(s['dose'])} |")
        assert row in text, row
    assert re.search(rf"{len(rows)} real sessions with a workload channel", text)


def test_workload_alone_figures_are_the_workload_evaluation(card) -> None:
    text, _, real = card
    workload_only_eval = _script("workload_only_eval")
    rows = workload_only_eval.collect(real)
    assert len(rows) == len(RECORDINGS)
    agree = workload_only_eval._agree(rows, "alone")
    row = (f"| uncalibrated (reference person), every session | {len(rows)} | "
           f"{workload_only_eval._pct(agree['class vs heart rate'])} |")
    assert "### Real recordings read from their workload alone" in text
    assert row in text, row
