"""Simulated sessions for tests, made once per test run and shared (they are frozen)."""

from __future__ import annotations

import numpy as np

from dosewatch.simulate import SimulatedSession, random_person, simulate

_CACHE: dict[tuple, SimulatedSession] = {}


def simulate_cached(protocol: str, *, person_seed: int = 0, person_id: str = "p0",
                    **options: object) -> SimulatedSession:
    """A simulated session of ``protocol`` for the person drawn from ``person_seed``
    (profile id ``person_id``); the same arguments give the same (shared, frozen) session
    for the whole run. ``options`` go to :func:`dosewatch.simulate.simulate`."""
    key = (protocol, person_seed, person_id, tuple(sorted(options.items())))
    if key not in _CACHE:
        person = random_person(np.random.default_rng(person_seed), id=person_id)
        _CACHE[key] = simulate(protocol, person, **options)  # type: ignore[arg-type]
    return _CACHE[key]
