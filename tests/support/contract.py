"""The contract every reader keeps on any input, checked by the fuzz tests: a Session the
analysis accepts, or an InputError that names the input and says why and what to do --
never another exception, never a silent wrong value."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dosewatch.analysis import analyze_session
from dosewatch.errors import DosewatchError, InputError
from dosewatch.ingest import read_sessions
from dosewatch.ingest.units import rest_magnitude
from dosewatch.models.registry import get_classifier

MAX_DURATION_S = 15 * 86_400.0
# The analysis uses the default classifier, as a user's batch would: whatever a reader
# lets through must not crash it.
CLASSIFIER = get_classifier()


def check(path: Path) -> str:
    """Read every session of ``path``; assert the contract. Returns what happened:
    ``refused``, ``analysed`` or ``analysis refused``."""
    try:
        sessions = read_sessions(path)
    except InputError as exc:
        assert exc.source == str(path), exc
        assert exc.reason and exc.hint, exc
        return "refused"
    outcome = "analysed"
    for session in sessions:
        streams = [s for s in (session.hr, session.acc, session.speed, session.power)
                   if s is not None]
        assert streams, "a session needs heart rate, acceleration, speed or power"
        if session.hr is None and session.acc is None:  # the workload alone: said so
            assert any("alone" in r for r in session.provenance.repairs), session.provenance
        if session.hr is not None:
            hr = session.hr
            assert hr.t.size >= 1
            assert np.isfinite(hr.t).all() and np.isfinite(hr.bpm).all()
            assert (np.diff(hr.t) > 0).all()
        if session.acc is not None:
            acc = session.acc
            assert np.isfinite(acc.t).all() and np.isfinite(acc.xyz).all()
            assert (np.diff(acc.t) > 0).all()
            # The unit check let it through: gravity measures about 1 g.
            assert 0.6 <= rest_magnitude(acc.t, acc.xyz)[0] <= 1.6
        assert 0 < session.duration_s <= MAX_DURATION_S
        for stream in (session.speed, session.cadence, session.power):
            if stream is not None:
                assert np.isfinite(stream.t).all() and (np.diff(stream.t) > 0).all()
        if session.speed is not None:
            assert np.nanmedian(session.speed.mps) < 1e6
        try:
            result = analyze_session(session, None, CLASSIFIER)
        except DosewatchError:
            outcome = "analysis refused"
        else:
            assert result.duration_s == session.duration_s
    return outcome
