"""What the tests share.

- Every test under ``tests/e2e/`` is marked ``e2e`` (end to end: the real command in a
  subprocess, BLE playback through Bumble, Chromium, Dask); other folders mirror the
  package, one per subpackage. ``pytest -m "not e2e"`` runs the fast part; CI runs all.
- :func:`simulated` makes (and caches, per test session; see
  ``support/simulated.py``) a simulated session with its truth, so a test asks for "a steady run at the wrist" in one line instead of building
  a person, a protocol and a seed itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.simulated import simulate_cached

from dosewatch.simulate import SimulatedSession

E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _environment_as_found() -> Iterator[None]:
    """Each test leaves ``os.environ`` as it found it. Dask's local cluster sets
    ``OMP_NUM_THREADS=1`` (and the BLAS and malloc variables) in the process that starts
    it; every later subprocess inherited them, and the gzip-bomb test's ``dosewatch``,
    run under a 1.5 GB address-space limit, then failed to start a worker thread and
    gave the wrong refusal whenever a Dask test had run before it."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def simulated() -> Callable[..., SimulatedSession]:
    """``simulated(protocol, person_seed=0, placement=..., modality=..., acc_fs=...,
    seed=...)``: see :func:`simulate_cached`."""
    return simulate_cached
