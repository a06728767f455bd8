"""Regenerate the analyses the golden sessions in tests/golden/ are expected to give.

The sessions (simulated once, seed fixed) are committed, so the golden test does not
depend on the simulator; the expected analysis, one file per classifier
(``expected-rules.json``, ``expected-physio.json``, ``expected-learned.json``), is what
the current code finds.
Rerun this only when a change of results is intended (a retrained model, a changed
rule), and say why in the commit. ``--resimulate`` also rewrites the sessions.

    python scripts/make_golden.py [--resimulate]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.ingest import read_session, write_session_folder
from dosewatch.models.registry import get_classifier
from dosewatch.simulate import random_person, simulate

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
CASES = {
    # name: (protocol, placement, modality, profile)
    "bout_just_short_wrist": ("bout_just_short", "wrist", "hr+acc", "age"),
    "bout_30plus_chest_hr": ("bout_30plus", "chest", "hr", "none"),
}


CLASSIFIERS = ("rules", "physio", "learned")


def expected(folder: Path, classifier: str) -> dict:
    result = analyze_session(read_session(folder), classifier=get_classifier(classifier))
    summary = result.summary()
    return {
        "session_class": summary["session_class"],
        "dose_met": summary["dose_met"],
        "hr_rest": summary["hr_rest"],
        "hr_rest_source": summary["hr_rest_source"],
        "hr_max": summary["hr_max"],
        "hr_max_source": summary["hr_max_source"],
        "bouts": summary["bouts"],
        "labels": result.epoch_columns()["label"].tolist(),
        "pct_hrr": np.round(result.prediction.intensity, 4).tolist(),
    }


def main() -> int:
    resimulate = "--resimulate" in sys.argv[1:]
    rng = np.random.default_rng(20261122)
    for name, (protocol, placement, modality, profile) in CASES.items():
        person = random_person(rng, id=name)
        seed = int(rng.integers(2**31))
        folder = GOLDEN / name
        if resimulate or not folder.exists():
            sim = simulate(protocol, person, placement=placement, acc_fs=25.0,
                           modality=modality, profile=profile, seed=seed)
            write_session_folder(sim.session, folder, format="parquet", overwrite=True)
        for classifier in CLASSIFIERS:
            text = json.dumps(expected(folder, classifier), indent=1) + "\n"
            (folder / f"expected-{classifier}.json").write_text(text)
        print(folder, sum(p.stat().st_size for p in folder.iterdir()) // 1024, "KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
