"""Derive the acceleration-only ENMO cut-points (config [acceleration]) from simulated people.

For each placement, simulates sessions of every protocol from many people (development
seeds only: never the evaluation's held-out seed), pairs each epoch's ENMO with its true
intensity, and reports the ENMO at which the median true intensity crosses 20, 40 and 60
%HRR (binned medians, made monotone). The printed values are what `config.py` ships;
rerun this after changing the simulator.

    python scripts/calibrate_acc.py [--seed 123] [--people 60]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from dosewatch.config import Config
from dosewatch.features.epochs import extract
from dosewatch.simulate import PROTOCOLS, random_person, simulate


def crossings(enmo: np.ndarray, intensity: np.ndarray, targets=(20.0, 40.0, 60.0)) -> list[float]:
    order = np.argsort(enmo)
    enmo, intensity = enmo[order], intensity[order]
    bins = np.array_split(np.arange(enmo.size), 40)
    x = np.array([np.median(enmo[b]) for b in bins])
    y = np.maximum.accumulate(np.array([np.median(intensity[b]) for b in bins]))
    return [float(np.interp(t, y, x)) for t in targets]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--people", type=int, default=60)
    args = parser.parse_args()
    config = Config()
    rng = np.random.default_rng(args.seed)
    for placement in ("wrist", "chest"):
        enmo, truth = [], []
        for k in range(args.people):
            person = random_person(rng, id=f"cal{k}")
            for protocol in PROTOCOLS:
                if protocol == "rest_only":
                    continue
                sim = simulate(protocol, person, placement=placement, acc_fs=25.0,
                               modality="acc", seed=int(rng.integers(2**31)))
                features, _ = extract(sim.session, config)
                n = min(features.n, sim.truth.epoch_intensity.size)
                e = features.values["enmo_g"][:n]
                ok = np.isfinite(e)
                enmo.append(e[ok])
                truth.append(sim.truth.epoch_intensity[:n][ok])
        points = crossings(np.concatenate(enmo), np.concatenate(truth))
        print(f"{placement}_enmo_g = [{', '.join(f'{p:.3f}' for p in points)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
