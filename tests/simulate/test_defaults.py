"""Default sessions stay what they were: the learned model and the golden files were made
from them. ``data/default_sessions.json`` was written by ``tests/support/default_sessions.py`` from the
simulator before it became a package and was widened; every new behaviour is an option or
a new protocol, so the default protocols with default options must still give the same
people and the same streams for the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.default_sessions import cases, describe

PINNED = json.loads((Path(__file__).parent / "data" / "default_sessions.json").read_text())


def _close(now: object, then: object, rtol: float) -> bool:
    if isinstance(then, float) and isinstance(now, float):
        return now == pytest.approx(then, rel=rtol, abs=1e-9)
    if isinstance(then, list) and isinstance(now, list):
        return len(now) == len(then) and all(_close(a, b, rtol) for a, b in zip(now, then,
                                                                                 strict=True))
    return now == then


@pytest.mark.parametrize("case", cases(), ids=lambda c: "/".join(map(str, c)))
def test_default_sessions_are_unchanged(case):
    then = PINNED["/".join(map(str, case))]
    now = describe(*case)
    assert set(now) == set(then)
    for key in then:
        # Sums of rounded values may move by one rounding step on another platform.
        assert _close(now[key], then[key], rtol=2e-5), key


@pytest.mark.parametrize("protocol", ["steady_vigorous", "ramp", "rest_only"])
def test_default_sessions_hold_no_stream_they_did_not_hold(protocol):
    """Streams a Session gained since (cadence, power, altitude, grade) stay empty in a
    default session: a treadmill's incline or an outdoor altitude is asked for."""
    import numpy as np

    from dosewatch.simulate import random_person, simulate

    person = random_person(np.random.default_rng(3))
    for modality in ("hr+acc", "hr", "acc"):
        s = simulate(protocol, person, modality=modality, acc_fs=25.0, seed=3).session
        assert (s.cadence, s.power, s.altitude, s.grade) == (None,) * 4
        assert s.provenance.sport is None
