"""Benchmarks of the live path: devices per core, CPU per device, live update cost and delay.

    .venv/bin/python scripts/bench_live.py                 # everything (~3 min)
    .venv/bin/python scripts/bench_live.py --devices 1,4,8 --seconds 20
    .venv/bin/python scripts/bench_live.py --skip-devices   # only the update cost

1. **Update cost**: one live update (build the Session from the samples so far and run the
   batch analysis) after 10, 30 and 60 minutes of a session with 200 Hz acceleration,
   heart rate and speed, per classifier.
2. **Devices per core**: N virtual straps (200 Hz acceleration + 1 Hz heart rate each)
   played in real time over the in-process Bumble radio, recorded through Bleak with the
   live analysis on. Everything (the N peripherals, both Bluetooth stacks, the recorder and
   the recording) runs in this one process, so the CPU figures include the emulated
   peripherals. The consumer's own work (decoding and recording each notification,
   commits) is timed separately. "No loss" means every notification sent was recorded, in order, and
   "keeps up" that the delay from sending to recording stays well under a second.
3. **Live update delay**: for each live status, the wall time from the arrival of the
   newest sample it used to its publication, and the time the update computed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dosewatch.device.live import LiveAnalysis, LiveStatus
from dosewatch.device.protocols import HR_MEASUREMENT, PMD_DATA
from dosewatch.device.recorder import Recorder
from dosewatch.device.virtual.backend import BumbleBleakClient, VirtualRadio
from dosewatch.device.virtual.band import start_bands
from dosewatch.recording import RecordingWriter, open_recording
from dosewatch.session import Profile, Session, build_session

PROFILE = Profile(age=35, hr_rest=55, hr_max=185, placement="chest")


def synthetic_session(duration_s: float, seed: int = 0, fs: float = 200.0) -> Session:
    """A run: heart rate (1 Hz, with RR), acceleration at ``fs`` and speed."""
    rng = np.random.default_rng(seed)
    t = np.arange(duration_s)
    effort = np.clip((t - 300) / 600, 0, 1) * (t < duration_s - 300)
    bpm = np.round(60 + 90 * effort + 3 * np.sin(t / 40) + rng.normal(0, 1, t.size))
    rr = np.round(60.0 / bpm * 1024.0) * 1000.0 / 1024.0
    t_acc = np.arange(int(duration_s * fs)) / fs
    amp = np.interp(t_acc, t, effort)
    xyz = np.stack([0.4 * amp * np.sin(2 * np.pi * 1.4 * t_acc),
                    0.1 * np.cos(t_acc),
                    1.0 + 0.8 * amp * np.sin(2 * np.pi * 2.8 * t_acc)], axis=1)
    xyz += rng.normal(0, 0.01, xyz.shape)
    speed = 3.0 * np.interp(t, t, effort)
    return build_session(f"bench-{seed}", hr=(t, bpm, rr), acc=(t_acc, xyz),
                         speed=(t, speed), profile=PROFILE)


# ---------------------------------------------------------------------------------------


async def update_cost(classifiers: list[str], repeats: int) -> None:
    print("\n1. Live update cost (one update = build the Session + the batch analysis)")
    session = synthetic_session(3600.0)
    assert session.hr is not None and session.acc is not None and session.speed is not None
    t0 = 1_800_000_000.0
    print(f"   {'classifier':<10} {'minutes':>7} {'median ms':>10} {'max ms':>8}")
    for name in classifiers:
        live = LiveAnalysis(profile=PROFILE, classifier=name)
        await live.update(t0)  # nothing yet; also loads the model
        fed = 0.0
        for minutes in (10, 30, 60):
            end = minutes * 60.0
            hr, acc, sp = session.hr, session.acc, session.speed
            for i in np.flatnonzero((hr.t >= fed) & (hr.t < end)):
                live.add_hr(1, t0 + hr.t[i], hr.bpm[i], hr.rr_ms[i] if hr.rr_ms is not None
                            else None)
            keep = (acc.t >= fed) & (acc.t < end)
            live.add_acc(1, t0 + acc.t[keep], acc.xyz[keep])
            for i in np.flatnonzero((sp.t >= fed) & (sp.t < end)):
                live.add_speed(1, t0 + sp.t[i], sp.mps[i], None)
            fed = end
            times = []
            for _ in range(repeats):
                status = await live.update(t0 + end)
                assert status is not None
                times.append(status.compute_s)
            print(f"   {name:<10} {minutes:>7} {1000 * np.median(times):>10.1f} "
                  f"{1000 * max(times):>8.1f}")
        live.close()


# ---------------------------------------------------------------------------------------


async def devices_run(n: int, seconds: float, classifier: str) -> dict[str, float]:
    sessions = [synthetic_session(seconds + 60.0, seed=i) for i in range(n)]
    statuses: list[tuple[float, LiveStatus]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.dwrec"
        async with VirtualRadio() as radio:
            bands = await start_bands(radio, sessions, speed=1.0, rsc=False)
            writer = RecordingWriter(path, profile=PROFILE)
            live = LiveAnalysis(profile=PROFILE, classifier=classifier, interval_s=2.0)
            live.subscribe(lambda s: statuses.append((time.time(), s)))
            recorder = Recorder(writer, [b.address for b in bands], live=live,
                                client_kwargs={"backend": BumbleBleakClient, "radio": radio})
            # Time the consumer's work per notification and the commits.
            spent = {"handle": 0.0, "handled": 0, "commit": 0.0}
            handle, commit = recorder._handle, recorder._commit

            def timed_handle(*item: object) -> None:
                t = time.perf_counter()
                handle(*item)
                spent["handle"] += time.perf_counter() - t
                spent["handled"] += 1

            def timed_commit(final: bool) -> None:
                t = time.perf_counter()
                commit(final)
                spent["commit"] += time.perf_counter() - t

            recorder._handle = timed_handle  # type: ignore[method-assign]
            recorder._commit = timed_commit  # type: ignore[method-assign]
            await recorder.start()
            deadline = time.monotonic() + 30
            while sum(d.acc_samples > 0 for d in recorder.devices) < n:
                if time.monotonic() > deadline:
                    raise RuntimeError("the devices did not all start streaming")
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            first_status = len(statuses)
            before = dict(spent)
            await asyncio.sleep(seconds)
            wall = time.perf_counter() - wall0
            cpu = (time.process_time() - cpu0) / wall
            handled = spent["handled"] - before["handled"]
            handle_us = 1e6 * (spent["handle"] - before["handle"]) / max(handled, 1)
            consumer = (spent["handle"] - before["handle"] + spent["commit"]
                        - before["commit"]) / wall
            measured = statuses[first_status:]
            for band in bands:
                await band.pause_advertising()
            await asyncio.sleep(0.5)  # let what is in flight arrive
            await recorder.stop()
            live.close()
        sent = {b.address: [s for s in b.log if s.kind in ("hr", "acc")] for b in bands}
        conn = open_recording(path)
        try:
            recorded = conn.execute(
                "SELECT d.address, n.char_uuid, n.payload, n.t FROM notifications n JOIN "
                "devices d ON d.id = n.device_id WHERE n.char_uuid IN (?, ?) ORDER BY n.id",
                (HR_MEASUREMENT, PMD_DATA)).fetchall()
        finally:
            conn.close()
    lost = 0
    delays: list[float] = []
    for address, items in sent.items():
        for uuid in (HR_MEASUREMENT, PMD_DATA):
            out = [s for s in items if s.char_uuid == uuid]
            got = [(bytes(p), t) for a, u, p, t in recorded if a == address and u == uuid]
            # In order and complete: what was received is what was sent, one for one.
            if [p for p, _ in got] != [s.payload for s in out][: len(got)]:
                raise RuntimeError(f"{address}: notifications recorded out of order")
            lost += len(out) - len(got)
            delays += [t - s.t for (_, t), s in zip(got, out, strict=False)]
    sent_total = sum(len(v) for v in sent.values())
    publish = [w - s.now for w, s in measured]
    compute = [s.compute_s for _, s in measured]
    return {
        "devices": n, "cpu": cpu, "sent": sent_total, "lost": lost,
        "handle_us": handle_us, "consumer": consumer,
        "delay_p50_ms": 1000 * float(np.median(delays)) if delays else float("nan"),
        "delay_p99_ms": 1000 * float(np.percentile(delays, 99)) if delays else float("nan"),
        "delay_max_ms": 1000 * float(np.max(delays)) if delays else float("nan"),
        "updates": len(measured),
        "update_delay_p50_ms": 1000 * float(np.median(publish)) if publish else float("nan"),
        "update_delay_max_ms": 1000 * float(np.max(publish)) if publish else float("nan"),
        "compute_p50_ms": 1000 * float(np.median(compute)) if compute else float("nan"),
    }


async def devices(counts: list[int], seconds: float, classifier: str) -> None:
    print(f"\n2. Devices per core (200 Hz ACC + HR each, real time, {seconds:g} s measured, "
          f"live analysis every 2 s with the {classifier} classifier)")
    print("   CPU: the whole process (emulated peripherals, both stacks, recorder, live);")
    print("   consumer: decoding + recording (µs per notification, and % of a core with the "
          "commits)")
    print(f"   {'devices':>7} {'CPU %':>6} {'per dev %':>9} {'µs/notif':>9} {'consumer %':>10} "
          f"{'sent':>6} {'lost':>5} {'delay p50/p99/max ms':>22} {'updates':>7} "
          f"{'update delay p50/max ms':>24} {'compute ms':>10}")
    for n in counts:
        r = await devices_run(n, seconds, classifier)
        print(f"   {n:>7} {100 * r['cpu']:>6.0f} {100 * r['cpu'] / n:>9.2f} "
              f"{r['handle_us']:>9.0f} {100 * r['consumer']:>10.1f} "
              f"{int(r['sent']):>6} {int(r['lost']):>5} "
              f"{r['delay_p50_ms']:>8.1f}/{r['delay_p99_ms']:.1f}/{r['delay_max_ms']:.0f} "
              f"{int(r['updates']):>7} {r['update_delay_p50_ms']:>14.1f}/"
              f"{r['update_delay_max_ms']:.1f} {r['compute_p50_ms']:>10.1f}")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="1,4,8,16,32",
                        help="comma-separated device counts (default 1,4,8,16,32)")
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="measured seconds per device count (default 15)")
    parser.add_argument("--classifier", default="learned", choices=["learned", "rules"])
    parser.add_argument("--repeats", type=int, default=5, help="updates timed per size")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--skip-devices", action="store_true")
    args = parser.parse_args()
    if not args.skip_cost:
        asyncio.run(update_cost(["rules", "learned"], args.repeats))
    if not args.skip_devices:
        counts = [int(c) for c in args.devices.split(",")]
        asyncio.run(devices(counts, args.seconds, args.classifier))


if __name__ == "__main__":
    main()
