"""Virtual Bluetooth hardware: everything ``record --virtual``, the demo and the BLE tests
run against instead of a radio.

- :mod:`.backend`: a Bleak backend that drives an in-process Bumble radio, so the
  recorder's ``BleakClient`` code runs unchanged against virtual devices;
- :mod:`.band`: a virtual wearable (heart rate, battery, running speed, Polar PMD
  acceleration, FTMS treadmill) on that radio, played from a simulated session;
- :mod:`.world`: a radio with a set of bands, started and stopped together;
- :mod:`.strap`: an independent, fault-injecting Polar-style strap for the recorder's
  tests (written without the band's code, so a mistake they share cannot hide).

Nothing is imported here, so importing the package never loads Bumble.
"""
