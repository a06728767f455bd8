"""Live streaming from Bluetooth Low Energy wearables.

- :mod:`dosewatch.device.protocols`: byte-level codecs of the characteristics read (heart
  rate, Polar PMD acceleration, running speed and cadence, FTMS treadmill, battery), pure
  functions without a radio.
- :mod:`dosewatch.device.store`: the recording file (``*.dwrec``, SQLite in WAL mode) that
  keeps every notification as received, plus the decoded samples, safe against a crash.
- :mod:`dosewatch.device.bumble_backend`: a Bleak backend that drives an in-process
  Bumble radio, so code written against ``BleakClient`` runs against virtual devices.
- :mod:`dosewatch.device.virtual_band`: a virtual wearable (HRS, battery, RSC, Polar PMD
  acceleration, FTMS) on that radio, played from a session in real time or faster.

Nothing is imported here, so ``import dosewatch.device`` stays cheap and never loads
Bleak or Bumble; import the submodule you need.
"""
