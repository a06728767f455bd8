"""Inference speed of the learned model: every epoch of a 7-day session, and one live window.

The features of a simulated session are tiled to 7 days of 1-minute epochs (10,080), so
only the classifier is timed (feature extraction has its own benchmark,
``scripts/bench_week.py``). Timed: the two ONNX graphs, the HMM smoothing, and the whole
``LearnedClassifier.predict`` (which adds the baseline's data-availability pass and the
bout-qualifying rule); then one live window: the model on the newest epoch's inputs.

    python scripts/bench_inference.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from dosewatch.config import Config
from dosewatch.features.epochs import EpochFeatures, extract
from dosewatch.models.inputs import model_inputs
from dosewatch.models.learned import LearnedClassifier, load_model, smooth_labels
from dosewatch.simulate import random_person, simulate

WEEK_EPOCHS = 7 * 24 * 60


def week_features() -> tuple[EpochFeatures, object]:
    person = random_person(np.random.default_rng(1), id="bench")
    sim = simulate("steady_then_ramp", person, placement="wrist", acc_fs=25, seed=3)
    features, info = extract(sim.session, Config())
    reps = -(-WEEK_EPOCHS // features.n)
    values = {k: np.tile(v, reps)[:WEEK_EPOCHS] for k, v in features.values.items()}
    week = EpochFeatures(start_s=np.arange(WEEK_EPOCHS) * 60.0, epoch_s=60.0, values=values)
    return week, info


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    features, info = week_features()
    config = Config()
    model = load_model()
    classifier = LearnedClassifier()
    classifier.predict(features, info, config)  # warm up (loads the ONNX sessions)
    x = model_inputs(features, info)
    proba, _ = model.run(x)
    rows = [
        ("inputs (model_inputs)", lambda: model_inputs(features, info)),
        ("ONNX, both graphs", lambda: model.run(x)),
        ("HMM smoothing", lambda: smooth_labels(proba, model.transitions, model.prior)),
        ("LearnedClassifier.predict, total", lambda: classifier.predict(features, info, config)),
    ]
    print(f"7-day session: {WEEK_EPOCHS} epochs of 1 minute, {x.shape[1]} inputs each")
    for name, fn in rows:
        median, best = timed(fn, args.repeat)
        print(f"  {name:34s} median {1000 * median:7.1f} ms   best {1000 * best:7.1f} ms")
    one = x[-1:]
    median, best = timed(lambda: model.run(one), 200)
    print(f"one live window (newest epoch):     median {1000 * median:7.3f} ms   "
          f"best {1000 * best:7.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
