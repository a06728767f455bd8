"""What a default session is made of, in a few numbers: the stream sizes and sums that
any change to the simulator's draws or physiology would move.
``tests/simulate/test_defaults.py`` checks the simulator against
``tests/simulate/data/default_sessions.json``, written by this module from the simulator
as it was before it was split and widened:

    python tests/support/default_sessions.py tests/simulate/data/default_sessions.json

Regenerate it only when a change to default sessions is deliberate (the learned model
and the golden files were made from them)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import numpy as np

from dosewatch.simulate import PROTOCOLS, random_person, simulate

PERSON_FIELDS = ("id", "age", "sex", "hr_rest", "hr_max", "vo2max", "tau_on_s", "tau_off_s",
                 "drift_bpm_per_min", "height_m", "weight_kg", "cadence_offset_spm",
                 "walk_max_mps", "trunk_bounce", "arm_swing")


def cases() -> list[tuple[str, int, str, str]]:
    """(protocol, seed, placement, modality) for every protocol, both placements."""
    out = []
    for k, protocol in enumerate(PROTOCOLS):
        out.append((protocol, k, "wrist" if k % 2 else "chest", "hr+acc"))
        out.append((protocol, k + 50, "chest" if k % 2 else "wrist", "hr"))
    return out


def describe(protocol: str, seed: int, placement: str, modality: str) -> dict:
    person = random_person(np.random.default_rng(seed), id=f"d{seed}")
    sim = simulate(protocol, person, placement=placement, modality=modality, acc_fs=25.0,
                   seed=seed)
    s, t = sim.session, sim.truth
    out = {"person": {k: v for k, v in asdict(person).items() if k in PERSON_FIELDS},
           "name": s.name, "hr_rows": int(s.hr.t.size), "hr_t": float(s.hr.t.sum()),
           "bpm": float(s.hr.bpm.sum()),
           "rr": None if s.hr.rr_ms is None else float(np.nansum(s.hr.rr_ms)),
           "speed": None if s.speed is None else [int(s.speed.t.size), float(s.speed.mps.sum())],
           "intensity": float(t.intensity.sum()), "true_bpm": float(t.hr_bpm.sum()),
           "epochs": [round(float(x), 6) for x in t.epoch_intensity],
           "bouts": [[b.start_epoch, b.end_epoch, b.qualifying_minutes] for b in t.bouts],
           "session_class": t.session_class,
           "artefacts": [[a.kind, a.start_s, a.end_s] for a in t.artefacts]}
    if s.acc is not None:
        xyz = s.acc.xyz.astype(np.float64)
        out["acc"] = [int(xyz.shape[0]), *xyz.sum(axis=0).tolist(), float((xyz**2).sum()),
                      float(s.acc.t.sum())]
    return out


if __name__ == "__main__":
    data = {"/".join(map(str, c)): describe(*c) for c in cases()}
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(data, f, indent=0, sort_keys=True)
        f.write("\n")
    print(len(data), "sessions described")
