"""Small writers of raw-accelerometer files for tests: EDF/EDF+ (continuous or
discontinuous) and GENEActiv ``.bin``. (CWA files are written by
:class:`dosewatch.ingest.formats.cwa.CwaWriter`.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data"
"""The committed test files (``tests/data/<format>/``, each with its SOURCES.md)."""


def edf_bytes(signals: Sequence[tuple[str, str, float, np.ndarray]], *, duration: float = 1.0,
              start: datetime = datetime(2024, 5, 6, 7, 8, 9), plus: str = "EDF+C",
              onsets: Sequence[float] | None = None, first_offset: float = 0.0) -> bytes:
    """An EDF(+) file: ``signals`` are ``(label, unit, fs, values)`` (physical values,
    scaled into 16 bits over their own range). With ``plus`` ("EDF+C"/"EDF+D"/"") an
    annotation signal carries each record's onset (``onsets``, default k * duration)."""
    n_records = round(len(signals[0][3]) / (signals[0][2] * duration))
    heads, rows = [], []
    for label, unit, fs, values in signals:
        per = round(fs * duration)
        values = np.asarray(values, dtype=float)
        lo, hi = float(values.min()) - 1, float(values.max()) + 1
        digital = np.rint((values - lo) / (hi - lo) * 65535 - 32768).astype("<i2")
        heads.append((label, unit, lo, hi, -32768, 32767, per))
        rows.append(digital.reshape(n_records, per))
    if plus:
        onsets = list(onsets if onsets is not None else
                      [first_offset + k * duration for k in range(n_records)])
        per = 30
        tal = np.zeros((n_records, per * 2), dtype=np.uint8)
        for k, onset in enumerate(onsets):
            text = f"+{onset:g}\x14\x14\x00".encode()
            tal[k, : len(text)] = np.frombuffer(text, np.uint8)
        heads.append(("EDF Annotations", "", -1, 1, -32768, 32767, per))
        rows.append(tal.view("<i2"))
    ns = len(heads)

    def field(value: object, width: int) -> bytes:
        return f"{value}".encode("latin-1")[:width].ljust(width)

    head = (field("0", 8) + field("X X X X", 80)
            + field("Startdate " + start.strftime("%d-%b-%Y").upper() + " X X X", 80)
            + field(f"{start:%d.%m.%y}", 8) + field(f"{start:%H.%M.%S}", 8)
            + field(256 * (ns + 1), 8) + field(plus, 44) + field(n_records, 8)
            + field(f"{duration:g}", 8) + field(ns, 4))
    columns = [(0, 16), (None, 80), (1, 8), (2, 8), (3, 8), (4, 8), (5, 8), (None, 80),
               (6, 8), (None, 32)]
    for index, width in columns:
        for h in heads:
            head += field(h[index] if index is not None else "", width)
    data = np.concatenate(rows, axis=1).astype("<i2").tobytes()
    return head + data


def geneactiv_bytes(xyz_raw: np.ndarray, *, rate: float = 100.0, per_page: int = 300,
                    start: str = "2024-01-02 03:04:05:000", zone: str = "GMT +01:00",
                    gain: tuple[int, int, int] = (25600, 25600, 25600),
                    offset: tuple[int, int, int] = (0, 0, 0)) -> bytes:
    """A GENEActiv .bin file of raw 12-bit samples ``xyz_raw`` (n, 3), whole pages."""
    n_pages = len(xyz_raw) // per_page
    lines = ["Device Identity", "Device Unique Serial Code:123456", "Device Type:GENEActiv",
             "Device Model:1.1", "Device Firmware Version:Ver1.30", "", "Configuration Info",
             f"Measurement Frequency:{rate:g} Hz", f"Start Time:{start}", f"Time Zone:{zone}",
             "", "Subject Info", "Device Location Code:left wrist", "", "Calibration Data",
             f"x gain:{gain[0]}", f"x offset:{offset[0]}", f"y gain:{gain[1]}",
             f"y offset:{offset[1]}", f"z gain:{gain[2]}", f"z offset:{offset[2]}",
             "Volts:300", "Lux:800", "", "Memory Status", f"Number of Pages:{n_pages}", ""]
    t0 = datetime.strptime(start[:19], "%Y-%m-%d %H:%M:%S").timestamp()
    body = []
    raw = np.asarray(xyz_raw, dtype=np.int64) & 0xFFF
    for p in range(n_pages):
        t = t0 + p * per_page / rate
        stamp = datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") + \
            f":{round((t % 1) * 1000):03d}"
        words = (raw[p * per_page : (p + 1) * per_page, 0] << 36) | (
            raw[p * per_page : (p + 1) * per_page, 1] << 24) | (
            raw[p * per_page : (p + 1) * per_page, 2] << 12)
        body += ["Recorded Data", "Device Unique Serial Code:123456", f"Sequence Number:{p}",
                 f"Page Time:{stamp}", "Unassigned:", "Temperature:25.5",
                 "Battery voltage:4.0", "Device Status:Recording",
                 f"Measurement Frequency:{rate:g}", "".join(f"{w:012X}" for w in words)]
    return ("\r\n".join(lines + body) + "\r\n").encode("ascii")
