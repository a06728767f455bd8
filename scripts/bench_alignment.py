"""How well heart rate and acceleration stay aligned: bursts, and a host under full load.

A strap (:class:`dosewatch.device.virtual.strap.FaultyStrap`, independent of the virtual
band) streams heart rate at 1 Hz and 200 Hz acceleration over the in-process Bumble radio
in real time (``--speed 1``), recorded through Bleak by the recorder with its default
clock settings. Scenarios:

1. ``plain``: one frame per notification;
2. ``bursts``: PMD frames leave three at a time (the first of each waited ~0.4 s);
3. ``bursts+load``: the same while ``--hogs`` processes (default: two per core) keep every
   core busy at the same priority, so the recorder's process is regularly starved.

For every acceleration sample after the first minute: its recorded time minus its true
time (the strap's clock at that sample); for every heart-rate notification: its recorded
time minus the time it was sent. The alignment error is the acceleration error minus the
heart rate's median delay: how far the two streams sit from where they belong relative to
each other. Nothing is a pass/fail here; the numbers go in the report.

    .venv/bin/python scripts/bench_alignment.py                  # 3 x 120 s
    .venv/bin/python scripts/bench_alignment.py --seconds 90 --scenarios bursts+load
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from dosewatch.device.recorder import Recorder
from dosewatch.device.virtual.backend import BumbleBleakClient, VirtualRadio
from dosewatch.device.virtual.strap import FaultyStrap, sample_index
from dosewatch.recording import RecordingWriter, open_recording, read_recording_tables

SCENARIOS = {"plain": (1, False), "bursts": (3, False), "bursts+load": (3, True)}


def hog(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x = (x * 31 + 7) % 1_000_003


async def run(seconds: float, burst: int, path: Path, speed: float) -> dict[str, np.ndarray]:
    async with VirtualRadio() as radio:
        strap = FaultyStrap(radio, burst=burst, duration_s=seconds, speed=speed)
        await strap.start()
        recorder = Recorder(RecordingWriter(path), [strap.address], clock=strap.now,
                            client_kwargs={"backend": BumbleBleakClient, "radio": radio})
        await recorder.start()
        while not strap.finished.is_set():
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.2)
        await recorder.stop()
    unix0 = strap.now() - strap.session_time()
    conn = open_recording(path)
    try:
        acc = np.array(conn.execute("SELECT t, x, y FROM acc ORDER BY id").fetchall(),
                       dtype=np.float64).reshape(-1, 3)
        hr = np.array(conn.execute(
            "SELECT h.t, n.payload FROM hr h JOIN notifications n ON n.id = h.notification_id "
            "WHERE h.seq = 0 ORDER BY h.id").fetchall(), dtype=object).reshape(-1, 2)
    finally:
        conn.close()
    j = sample_index(acc[:, 1] * 1000, acc[:, 2] * 1000)
    acc_true = j / 200.0
    # Every heart-rate notification sent is recorded, in order (checked): pair them up.
    sent = strap.sent_of("hr")
    if [bytes(p) for p in hr[:, 1]] != [s.payload for s in sent]:
        raise SystemExit("the recording does not hold exactly the heart rate sent")
    hr_true = np.array([s.session_t for s in sent], dtype=np.float64)
    malformed = sum(read_recording_tables(path, notifications=False)["malformed"].values())
    return {
        "acc_err": acc[:, 0] - (unix0 + acc_true), "acc_t": acc_true,
        "hr_err": hr[:, 0].astype(np.float64) - (unix0 + hr_true), "hr_t": hr_true,
        "sent_acc": np.array(sum(s.value.size for s in strap.sent_of("acc"))),
        "malformed": np.array(malformed),
    }


def ms(values: np.ndarray, q: float | str) -> str:
    if values.size == 0:
        return "-"
    v = {"max": values.max(), "median": np.median(values)}.get(q) if isinstance(q, str) \
        else np.percentile(values, q)
    return f"{v * 1e3:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--hogs", type=int, default=2 * (os.cpu_count() or 2))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    print(f"{args.seconds:g} s per scenario at {args.speed:g}x; errors after the first minute, "
          "in ms (session time)")
    print(f"{'scenario':<12} {'acc err med':>11} {'max':>7} {'hr delay med':>12} {'p99':>6} "
          f"{'max':>7} {'align med':>9} {'max':>7} {'samples':>8} {'refused':>7}")
    for name in args.scenarios.split(","):
        burst, load = SCENARIOS[name]
        stop = multiprocessing.Event()
        hogs = [multiprocessing.Process(target=hog, args=(stop,), daemon=True)
                for _ in range(args.hogs if load else 0)]
        for p in hogs:
            p.start()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                r = asyncio.run(run(args.seconds, burst, Path(tmp) / "a.dwrec", args.speed))
        finally:
            stop.set()
            for p in hogs:
                p.join(timeout=5)
        late_acc = r["acc_t"] > 60.0
        late_hr = (r["hr_t"] > 60.0) & np.isfinite(r["hr_err"])
        acc_err, hr_err = r["acc_err"][late_acc], r["hr_err"][late_hr]
        align = np.abs(acc_err - np.median(hr_err)) if hr_err.size else acc_err
        print(f"{name:<12} {ms(acc_err, 'median'):>11} {ms(acc_err, 'max'):>7} "
              f"{ms(hr_err, 'median'):>12} {ms(hr_err, 99):>6} {ms(hr_err, 'max'):>7} "
              f"{ms(align, 'median'):>9} {ms(align, 'max'):>7} "
              f"{r['acc_err'].size:>4}/{int(r['sent_acc']):<4} {int(r['malformed']):>5}",
              flush=True)
    print("acc err: recorded minus true sample time; hr delay: recorded minus send time; "
          "align: |acc err - median hr delay|; refused: malformed notifications")
    return 0


if __name__ == "__main__":
    sys.exit(main())
