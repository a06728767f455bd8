"""The simulator's oracle (``dosewatch.simulate.oracle``) against the product's SPEC code
(``dosewatch.spec``), on hand-made traces of true intensity.

The two are written independently, and must give the same labels, session class and
bouts on every hand-made trace and every simulated protocol: where one misreads the SPEC,
the other shows it. (They once parted: the product asked each half of the 10-minute
window to rise as well, which withheld "accelerating" from the first and last minutes of
every ramp; it now reads "a single change of pace does not count" as the oracle does, by
taking the window's largest change of pace out and asking whether the rest still rises.)
"""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from dosewatch.config import Config
from dosewatch.simulate import oracle, random_person
from dosewatch.spec.bouts import find_bouts
from dosewatch.spec.labels import LABEL_NAMES, Label, label_epochs, session_class

CONFIG = Config()
DEFS = oracle.Definitions.from_config(CONFIG)
BARE = dataclasses.replace(CONFIG, trend=dataclasses.replace(CONFIG.trend,
                                                             single_change_fraction=0.0))
SIMULATE = Path(oracle.__file__).parent


def rest(n: int, level: float = 5.0) -> list[float]:
    return [level] * n


def level(n: int, value: float) -> list[float]:
    return [value] * n


def ramp(start: float, slope: float, n: int) -> list[float]:
    return [start + slope * k for k in range(n)]


def stairs(start: float, every: int, slope: float, top: float) -> list[float]:
    steps = int((top - start) / (slope * every)) + 1
    return [start + slope * every * k for k in range(steps) for _ in range(every)]


def product(epochs: np.ndarray, config: Config = CONFIG):
    labels = label_epochs(epochs, config)
    return labels, session_class(labels), find_bouts(epochs, labels, config)


def reference(epochs: np.ndarray, config: Config = CONFIG):
    ref = oracle.reference_for_epochs(epochs, oracle.Definitions.from_config(config))
    return ref.labels, ref.session_class, ref.bouts


def bout_fields(bouts) -> list[tuple]:
    return [(b.start_epoch, b.end_epoch, b.start_s, b.end_s, b.qualifying_minutes,
             None if math.isnan(b.mean_pct_hrr) else round(b.mean_pct_hrr, 9), b.minutes,
             b.dose_met, b.dose_met_at_s) for b in bouts]


def bout_spans(bouts) -> list[tuple]:
    return [(b.start_epoch, b.end_epoch, b.qualifying_minutes, b.dose_met, b.dose_met_at_s)
            for b in bouts]


# --- the oracle stands on its own -----------------------------------------------------------


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_the_oracle_imports_nothing_of_dosewatch():
    assert _imports(SIMULATE / "oracle.py") <= {
        "__future__", "math", "dataclasses", "statistics", "typing", "numpy", "numpy.typing"}


def test_the_truth_reads_the_spec_only_through_the_oracle():
    product_code = ("spec", "models", "features")
    for module in SIMULATE.glob("*.py"):
        for name in _imports(module):
            parts = name.lstrip(".").split(".")
            assert not (name.startswith("..") and parts[0] in product_code), (module, name)
            assert not (name.startswith("dosewatch.") and parts[1] in product_code), (module,
                                                                                       name)


def test_label_codes_and_names_are_the_products():
    for code, name in oracle.LABEL_NAMES.items():
        assert LABEL_NAMES[Label(code)] == name


def test_definitions_follow_the_configuration():
    assert DEFS == oracle.Definitions()  # the SPEC's numbers are the defaults
    custom = Config.from_dict({"trend": {"accelerating_slope": 1.0}, "bouts": {"dose_min": 20}})
    d = oracle.Definitions.from_config(custom)
    assert (d.accelerating_slope, d.dose_min) == (1.0, 20.0)


def test_theil_sen_is_the_median_pairwise_slope():
    # Ten pairs, six of slope 1 and four through the outlier: the median ignores it.
    assert oracle.theil_sen([(0, 0), (1, 1), (2, 2), (3, 3), (4, 40)]) == 1.0
    # Four points, one outlier: slopes 1, 1, 1, 10, 14.5, 28; median (1 + 10) / 2.
    assert oracle.theil_sen([(0, 0), (1, 1), (2, 2), (3, 30)]) == 5.5
    assert math.isnan(oracle.theil_sen([(0, 1.0)]))


def test_taking_out_the_largest_change_of_pace():
    step = [(x, 30.0 if x < 3 else 50.0) for x in range(6)]
    assert [y for _, y in oracle.without_largest_change(step)] == [30.0] * 6
    straddled = [(0, 30.0), (1, 30.0), (2, 38.0), (3, 50.0), (4, 50.0)]  # step mid-epoch
    assert [y for _, y in oracle.without_largest_change(straddled)] == [30.0] * 5
    ramp_points = [(x, 30.0 + x) for x in range(6)]
    left = [y for _, y in oracle.without_largest_change(ramp_points)]
    assert left == [30.0, 30.0, 30.0, 31.0, 32.0, 33.0]  # two minutes of ramp taken out


# --- where the two must agree -------------------------------------------------------------

AGREE = {
    **{f"steady {v}": rest(5) + level(40, v) + rest(5) for v in (10, 30, 50, 70, 90)},
    **{f"ramp {s}/min, below the threshold": rest(5) + ramp(25, s, 70) + rest(5)
       for s in (0.5, 0.7)},
    **{f"step {a}->{b}{mid}": rest(3) + level(15, a) + ([(a + b) / 2] if mid else [])
       + level(15, b) + rest(3)
       for a, b in ((30, 50), (45, 55), (50, 70), (25, 35), (30, 33), (50, 30), (70, 50))
       for mid in ("", " mid-epoch")},
    **{f"break of {k} min ({kind})": rest(3) + level(20, 50) + level(k, lv) + level(20, 50)
       + rest(3) for k in (1, 2, 3) for kind, lv in (("light", 30), ("rest", 5))},
    "breaks over 20 %": rest(3) + (level(5, 50) + level(2, 30)) * 6 + rest(3),
    "breaks at 20 %": rest(3) + (level(8, 50) + level(2, 30)) * 4 + level(8, 50) + rest(3),
    "30 qualifying minutes in two bouts": rest(3) + level(16, 50) + level(3, 10)
    + level(16, 50) + rest(3),
    "31 qualifying minutes with a break": rest(3) + level(16, 65) + level(2, 30)
    + level(15, 45) + rest(3),
    "rest only": rest(30),
    "NaN gap of 2 in a bout": rest(3) + level(15, 50) + level(2, math.nan) + level(15, 50)
    + rest(3),
    "NaN gap of 3": rest(3) + level(15, 50) + level(3, math.nan) + level(15, 50) + rest(3),
    "all NaN": level(10, math.nan),
    "intervals 2 on 2 off": rest(3) + (level(2, 75) + level(2, 30)) * 8 + rest(3),
    "intervals with rest": rest(3) + (level(3, 75) + level(2, 8)) * 8 + rest(3),
    "one epoch": level(1, 50),
}


@pytest.mark.parametrize("name", list(AGREE))
def test_oracle_and_product_agree(name):
    epochs = np.array(AGREE[name], dtype=float)
    labels, cls, bouts = product(epochs)
    ref_labels, ref_cls, ref_bouts = reference(epochs)
    np.testing.assert_array_equal(ref_labels, labels)
    assert ref_cls == cls
    assert bout_fields(ref_bouts) == bout_fields(bouts)


def test_the_agreeing_traces_cover_what_they_claim():
    """The traces are not vacuous: classes, bouts and the dose come out as built."""
    verdicts = {name: reference(np.array(e, dtype=float)) for name, e in AGREE.items()}
    assert verdicts["steady 50"][1] == "intermediate" and verdicts["steady 10"][1] == "none"
    assert len(verdicts["break of 2 min (light)"][2]) == 1
    assert len(verdicts["break of 3 min (light)"][2]) == 2
    assert len(verdicts["breaks over 20 %"][2]) > 1
    assert len(verdicts["breaks at 20 %"][2]) == 1
    assert not any(b.dose_met for b in verdicts["30 qualifying minutes in two bouts"][2])
    assert [b.dose_met for b in verdicts["31 qualifying minutes with a break"][2]] == [True]
    assert len(verdicts["NaN gap of 2 in a bout"][2]) == 1
    assert len(verdicts["NaN gap of 3"][2]) == 2
    assert verdicts["all NaN"][1] == "none"
    assert all(not np.any(v[0] == Label.ACCELERATING) for v in verdicts.values())


# --- rises: ramps, staircases, and changes of pace further apart ---------------------------

RISES = {}
for s_ in (0.75, 0.8, 1.0, 2.0, 3.0):
    n = int(50 / s_)
    RISES[f"ramp {s_}/min from rest"] = rest(5) + ramp(25, s_, n) + rest(5)
    RISES[f"ramp {s_}/min from a steady level"] = (
        rest(3) + level(15, 30) + ramp(30, s_, n) + level(10, 30 + s_ * n) + rest(3))
for every in (1, 2, 3, 4, 5):
    for s_ in (0.75, 1.0, 1.5):
        RISES[f"staircase every {every} min at {s_}/min"] = rest(3) + stairs(25, every, s_, 75) \
            + rest(3)
RISES["ramp with a NaN gap"] = (rest(3) + ramp(25, 1.0, 20) + level(2, math.nan)
                                + ramp(47, 1.0, 20) + rest(3))
RISES["two changes of pace 6 min apart"] = (rest(3) + level(15, 30) + level(6, 40)
                                            + level(15, 50) + rest(3))


@pytest.mark.parametrize("name", list(RISES))
def test_oracle_and_product_agree_on_rises(name):
    epochs = np.array(RISES[name], dtype=float)
    labels, cls, bouts = product(epochs)
    ref_labels, ref_cls, ref_bouts = reference(epochs)
    np.testing.assert_array_equal(ref_labels, labels)
    assert ref_cls == cls
    assert bout_fields(ref_bouts) == bout_fields(bouts)


def test_the_rises_are_what_they_claim():
    """Not vacuous: ramps are accelerating from their first to their last minute, a
    staircase with a step every 1-3 minutes is a ramp, one every 5 is not."""
    for slope in (0.75, 1.0, 2.0, 3.0):
        epochs = np.array(RISES[f"ramp {slope}/min from rest"], dtype=float)
        labels = reference(epochs)[0]
        assert labels[5] == labels[5 + int(50 / slope) - 1] == Label.ACCELERATING
    for every in (1, 2, 3):
        assert reference(np.array(RISES[f"staircase every {every} min at 1.0/min"]))[1] \
            == "accelerating"
    assert reference(np.array(RISES["staircase every 5 min at 1.0/min"]))[1] == "constant"
    assert reference(np.array(RISES["two changes of pace 6 min apart"]))[1] != "accelerating"


@pytest.mark.parametrize("name", list(RISES) + list(AGREE))
def test_with_the_bare_formula_the_two_agree_too(name):
    """``trend.single_change_fraction = 0`` is the SPEC's bare slope rule in both."""
    trace = RISES.get(name) or AGREE[name]
    epochs = np.array(trace, dtype=float)
    np.testing.assert_array_equal(product(epochs, BARE)[0], reference(epochs, BARE)[0])


def test_single_changes_of_pace_are_never_accelerating_in_either():
    rng = np.random.default_rng(7)
    for _ in range(200):
        a, b = rng.uniform(22, 85, 2)
        frac = rng.uniform(0, 1)
        trace = rest(3) + level(int(rng.integers(6, 20)), a) + [a + frac * (b - a)] + level(
            int(rng.integers(6, 20)), b) + rest(3)
        epochs = np.array(trace)
        assert not np.any(product(epochs)[0] == Label.ACCELERATING), (a, b, frac)
        assert not np.any(reference(epochs)[0] == Label.ACCELERATING), (a, b, frac)


# --- on simulated sessions ------------------------------------------------------------------


def test_on_the_protocols_the_two_agree():
    """6 people x every protocol (the wider ones too): labels, classes and bouts agree."""
    from dosewatch.simulate import ALL_PROTOCOLS

    for k in range(6):
        person = random_person(np.random.default_rng(500 + k), id=f"o{k}")
        for name, protocol in ALL_PROTOCOLS.items():
            work = protocol(person, np.random.default_rng(k))
            epochs = oracle.epoch_means(work.intensity, 60.0)
            labels, cls, bouts = product(epochs)
            ref_labels, ref_cls, ref_bouts = reference(epochs)
            assert (ref_cls, bout_spans(ref_bouts)) == (cls, bout_spans(bouts)), (name, k)
            np.testing.assert_array_equal(ref_labels, labels, err_msg=f"{name} {k}")
