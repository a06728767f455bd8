"""Simulated sessions written to disk in the interchange layout, each folder with the
``truth.json`` of :meth:`~dosewatch.simulate.truth.Truth.as_dict` beside the streams:
what ``dosewatch simulate`` and the demo write, and what a researcher's folder looks like."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .options import Options
from .people import random_person
from .protocols import ALL_PROTOCOLS, PROTOCOLS
from .sessions import SimulatedSession, simulate
from .study import PlannedSession, day_options


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_truth(folder: Path, sim: SimulatedSession) -> Path:
    """``truth.json`` in ``folder``, written to a temporary sibling and renamed into place
    (as the product's outputs are; written here so that the simulator does not depend on
    the analysis)."""
    path = Path(folder) / "truth.json"
    text = json.dumps(sim.truth.as_dict(), indent=2, default=_plain, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_simulated(sim: SimulatedSession, folder: Path, fmt: str = "csv") -> Path:
    """Write one simulated session and its ``truth.json`` into ``folder`` (replaced)."""
    from ..ingest import write_session_folder

    written = write_session_folder(sim.session, folder, format=fmt, overwrite=True)
    write_truth(written, sim)
    return written


def simulate_to_folders(
    out: Path,
    *,
    protocols: Sequence[str] | None = None,
    placements: Sequence[str] | None = None,
    modality: str = "hr+acc",
    profile: str = "full",
    acc_fs: float = 50.0,
    seed: int = 0,
    count: int = 1,
    fmt: str = "csv",
    first_id: int = 0,
    population: str = "typical",
    options: Options | None = None,
) -> list[Path]:
    """Simulate ``count`` sessions per protocol and placement, each from a different
    simulated person (``p<first_id>``, ``p<first_id + 1>``, ...) of ``population``, into
    session folders with their ``truth.json``. ``protocols`` defaults to
    :data:`PROTOCOLS`; any of :data:`ALL_PROTOCOLS` may be named. A treadmill's incline
    (``Options.incline``) is written as the ``grade`` column beside the speed; power,
    cadence and altitude have no place in the interchange layout and are not written."""
    protocols = list(protocols or PROTOCOLS)
    unknown = [p for p in protocols if p not in ALL_PROTOCOLS]
    if unknown:
        from ..errors import ConfigError

        raise ConfigError(f"unknown protocol {unknown[0]!r}",
                          hint="choose from: " + ", ".join(ALL_PROTOCOLS))
    placements = list(placements or ["wrist"])
    rng = np.random.default_rng(seed)
    out = Path(out)
    written = []
    k = 0
    for protocol in protocols:
        for placement in placements:
            for _ in range(count):
                person = random_person(rng, id=f"p{first_id + k:03d}", population=population)
                sim = simulate(
                    protocol, person, placement=placement, acc_fs=acc_fs, modality=modality,
                    profile=profile, seed=int(rng.integers(2**31)), options=options,
                )
                written.append(write_simulated(sim, out / sim.session.name, fmt))
                k += 1
    return written


def simulate_study(
    out: Path,
    plan: Sequence[PlannedSession],
    *,
    seed: int = 0,
    placement: str = "chest",
    modality: str = "hr+acc",
    acc_fs: float = 25.0,
    fmt: str = "parquet",
    population: str = "typical",
    day_variation: bool = False,
    options: Options | None = None,
) -> list[Path]:
    """Write the sessions of ``plan`` as ``out/<participant>/<start>/`` session folders
    (``undated-<n>`` without a start time), each with its ``truth.json``. Every
    participant is one simulated person of ``population`` (the same heart-rate reserve
    and gait in all their sessions; with ``day_variation`` each session on a day of its
    own, see :func:`~dosewatch.simulate.study.day_options`); a planned session's own
    ``modality`` overrides the study's; ``options`` apply to every session. Times are
    written as Unix-epoch seconds so that the start time travels with the data."""
    out = Path(out)
    names = sorted({s.participant for s in plan})
    people = {name: random_person(np.random.default_rng([seed, i]), id=name,
                                  population=population)
              for i, name in enumerate(names)}
    written = []
    for k, planned in enumerate(plan):
        if planned.start is not None:
            folder_name = planned.start.strftime("%Y-%m-%dT%H%M")
        else:
            folder_name = f"undated-{k}"
        sim = simulate(planned.protocol, people[planned.participant], placement=placement,
                       acc_fs=acc_fs, modality=planned.modality or modality,
                       seed=seed * 100_003 + k, name=folder_name,
                       options=day_options(options, seed, k) if day_variation else options)
        if planned.start is not None:
            session = sim.session
            session = replace(session,
                              provenance=replace(session.provenance, start_time=planned.start))
            sim = replace(sim, session=session)
        written.append(write_simulated(sim, out / planned.participant / folder_name, fmt))
    return written
