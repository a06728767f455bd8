"""Golden files: committed sessions and the analysis they are expected to give.

A change that alters any label, bout, HR_rest/HR_max or %HRR of these sessions, with the
rule classifier, the physiological one or the shipped learned model, fails here; if the
change is intended (a changed rule, a retrained model), regenerate with
``python scripts/make_golden.py`` and say why in the commit.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from dosewatch.analysis import analyze_session
from dosewatch.ingest import read_session
from dosewatch.models.registry import get_classifier

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def test_golden_cases_exist():
    assert len(CASES) >= 2


@pytest.mark.parametrize("classifier", ["rules", "physio", "learned"])
@pytest.mark.parametrize("name", CASES)
def test_golden_session(name, classifier):
    folder = GOLDEN / name
    want = json.loads((folder / f"expected-{classifier}.json").read_text())
    result = analyze_session(read_session(folder), classifier=get_classifier(classifier))
    got = result.summary()
    for key in ("session_class", "dose_met", "hr_rest_source", "hr_max_source"):
        assert got[key] == want[key], key
    for key in ("hr_rest", "hr_max"):
        if want[key] is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(want[key], abs=0.05), key
    assert result.epoch_columns()["label"].tolist() == want["labels"]
    np.testing.assert_allclose(result.prediction.intensity, np.array(want["pct_hrr"], float),
                               atol=2e-3, equal_nan=True)
    assert len(got["bouts"]) == len(want["bouts"])
    for g, w in zip(got["bouts"], want["bouts"], strict=True):
        assert (g["start_s"], g["end_s"], g["qualifying_minutes"], g["dose_met"]) == (
            w["start_s"], w["end_s"], w["qualifying_minutes"], w["dose_met"])
