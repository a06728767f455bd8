"""``dosewatch simulate`` and ``dosewatch demo``: simulated sessions with known truth,
written in the interchange layout and analysed like any researcher's folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .outputs import atomic_write_text, to_json


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
) -> list[Path]:
    """Simulate ``count`` sessions per protocol and placement, each from a different
    simulated person, into session folders with their ``truth.json``."""
    from .ingest import write_session_folder
    from .simulate import PROTOCOLS, random_person, simulate

    protocols = list(protocols or PROTOCOLS)
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        from .errors import ConfigError

        raise ConfigError(f"unknown protocol {unknown[0]!r}",
                          hint="choose from: " + ", ".join(PROTOCOLS))
    placements = list(placements or ["wrist"])
    rng = np.random.default_rng(seed)
    out = Path(out)
    written = []
    k = 0
    for protocol in protocols:
        for placement in placements:
            for _ in range(count):
                person = random_person(rng, id=f"p{k:03d}")
                sim = simulate(
                    protocol, person, placement=placement, acc_fs=acc_fs, modality=modality,
                    profile=profile, seed=int(rng.integers(2**31)),
                )
                folder = write_session_folder(sim.session, out / sim.session.name, format=fmt,
                                              overwrite=True)
                atomic_write_text(folder / "truth.json", to_json(sim.truth.as_dict()))
                written.append(folder)
                k += 1
    return written


def run_demo(out: Path, seed: int = 2026, workers: int = 1) -> int:
    """Simulate one session per protocol (wrist and chest alternating), analyse them
    and print truth against findings."""
    from .batch import run_batch
    from .simulate import PROTOCOLS

    out = Path(out)
    sessions_dir, results_dir = out / "sessions", out / "results"
    print(f"Simulating one session per protocol into {sessions_dir} ...")
    folders = []
    for i, protocol in enumerate(PROTOCOLS):
        placement = "wrist" if i % 2 == 0 else "chest"
        folders += simulate_to_folders(sessions_dir, protocols=[protocol], placements=[placement],
                                       seed=seed + i, fmt="csv.gz")
    print(f"Analysing {len(folders)} sessions into {results_dir} ...")
    report = run_batch(folders, results_dir, workers=workers)
    by_output = {Path(r["output"]).name: r for r in report.rows}

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
        agree_class += found["session_class"] == truth["session_class"]
        agree_dose += bool(found["dose_met"]) == bool(truth["dose_met"])
        rows.append((
            truth["protocol"], truth["placement"], truth["session_class"],
            found["session_class"], _yes(truth["dose_met"]), _yes(found["dose_met"]),
            f"{true_bout:.0f}/{float(found['longest_bout_qualifying_minutes']):.0f}",
        ))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*r))
    n = len(folders)
    print(f"\nclass agrees {agree_class}/{n}, dose flag agrees {agree_dose}/{n}")
    print(f"pictures: {results_dir}/<session>/session.png   table: {results_dir / 'sessions.csv'}")
    if report.failures:
        print(f"{len(report.failures)} sessions failed: see {results_dir / 'failures.json'}")
        return 1
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
