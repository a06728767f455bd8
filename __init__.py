"""dosewatch: wearable heart rate and acceleration in; exercise class, bouts and the
30-minute dose out. See README.md and SPEC.md."""

__version__ = "0.1.0"
