"""Live streaming from Bluetooth Low Energy wearables.

- :mod:`dosewatch.device.protocols`: byte-level codecs of the characteristics read (heart
  rate, Polar PMD acceleration, running speed and cadence, FTMS treadmill, battery), pure
  functions without a radio.
- :mod:`dosewatch.device.store`: the recording file (``*.dwrec``, SQLite in WAL mode) that
  keeps every notification as received, plus the decoded samples, safe against a crash.

Nothing is imported here, so ``import dosewatch.device`` stays cheap and never loads
Bleak or Bumble; import the submodule you need.
"""
