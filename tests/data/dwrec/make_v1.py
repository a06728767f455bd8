import numpy as np, sys
import dosewatch
assert dosewatch.__file__.startswith("/tmp/mainpkg"), dosewatch.__file__
from dosewatch.recording import RecordingWriter
from dosewatch.session import Profile
out = sys.argv[1]
w = RecordingWriter(out, profile=Profile(age=40, hr_rest=55, hr_max=185, placement="chest"), overwrite=True)
d = w.add_device("C0:DE:00:00:00:01", "Polar H10 0000001", ["0000180d-0000-1000-8000-00805f9b34fb"], "heart_rate,acc,rsc")
t0 = 1_800_000_000.0
for i in range(120):
    bpm = 0 if 60 <= i < 65 else 100 + i // 3
    nid = w.add_notification(d, "00002a37-0000-1000-8000-00805f9b34fb", t0 + i, bytes([0x16 if bpm else 0x14, bpm, 0, 2]))
    w.add_hr(d, nid, t0 + i, bpm, [500.0])
ta = t0 + np.arange(120 * 10) / 10.0
w.add_acc(d, None, ta, np.column_stack([np.sin(ta), np.cos(ta), np.ones_like(ta)]))
for i in range(120):
    w.add_speed(d, None, t0 + i, 2.5, 150.0)
w.set_device_clock(d, 123.0, "test")
w.add_event(t0, "connect", "services: heart_rate", d)
w.close()
