"""Child process for the kill test of tests/test_store.py: records until it is killed.

Usage: ``python recording_writer_child.py PATH``. Each step writes one heart-rate
notification (10 Hz of data time) and one 10-sample acceleration frame (100 Hz), with
values that give away order, gaps and duplicates: heart-rate value ``i`` has
``bpm = 40 + i % 150`` and time ``T0 + i / 10``; acceleration sample ``k`` has
``x = k / 2**20`` (exact in float32; with ``z = 1`` the strap measures about 1 g, as any
accelerometer at rest does, which the unit check on reading expects) and time
``T0 + k / 100``. After every commit it prints the committed row
counts as one JSON line and flushes, so the parent knows what must survive a kill.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from dosewatch.recording import RecordingWriter
from dosewatch.session import Profile

T0 = 1_700_000_000.0


def main(path: str) -> None:
    writer = RecordingWriter(path, profile=Profile(age=40.0, placement="chest"),
                             commit_interval_s=0.05)
    device = writer.add_device("00:11:22:33:44:55", "child strap", ["180d"], "hr+acc")
    writer.add_event(T0, "connect", "child", device)
    i = 0
    deadline = time.monotonic() + 60.0  # never outlive a parent that died
    while time.monotonic() < deadline:
        t = T0 + i / 10.0
        nid = writer.add_notification(device, "2a37", t, bytes([0x10, 40 + i % 150, 0, 4]))
        writer.add_hr(device, nid, t, 40 + i % 150, [1000.0] if i % 3 else [])
        k = np.arange(10 * i, 10 * i + 10)
        nid = writer.add_notification(device, "pmd", t, b"\x02" + bytes(9))
        tag = k / 2.0**20
        writer.add_acc(device, nid, T0 + k / 100.0, np.column_stack([tag, -tag, np.ones(10)]))
        if writer.maybe_commit():
            print(json.dumps(writer.counts), flush=True)
        i += 1
        time.sleep(0.002)


if __name__ == "__main__":
    main(sys.argv[1])
