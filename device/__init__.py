"""Live streaming from Bluetooth Low Energy wearables.

- :mod:`dosewatch.device.protocols`: byte-level codecs of the characteristics read (heart
  rate, Polar PMD acceleration, running speed and cadence, FTMS treadmill, battery), pure
  functions without a radio.
- :mod:`dosewatch.recording`: the recording file (``*.dwrec``, SQLite in WAL mode) that
  keeps every notification as received, plus the decoded samples, safe against a crash.
- :mod:`dosewatch.device.recorder`: connects, subscribes, decodes and records;
  :mod:`dosewatch.device.clock` keeps a sensor's clock aligned with the host's.
- :mod:`dosewatch.device.live`: the live analysis (the batch analysis of the samples so
  far) and :mod:`dosewatch.device.view`, what the terminal shows;
  :mod:`dosewatch.device.serve`, the live page a participant sees on a phone or tablet.
- :mod:`dosewatch.device.virtual`: virtual hardware (a Bumble radio behind Bleak, and
  virtual wearables played from simulated sessions) for ``record --virtual``, the demo
  and the tests.

Nothing is imported here, so ``import dosewatch.device`` stays cheap and never loads
Bleak or Bumble; import the submodule you need.
"""
