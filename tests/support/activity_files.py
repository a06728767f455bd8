"""Writers of small activity files whose content is known exactly: FIT (with
fitdecode's checksum), TCX and GPX. Used by the reader, fuzz and batch tests."""

from __future__ import annotations

import gzip
import struct
from datetime import UTC, datetime
from pathlib import Path

from fitdecode.utils import compute_crc

FIT_EPOCH_UNIX = 631_065_600
T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC


# --------------------------------------------------------------------------- FIT writer

_BASE = {"enum": (0x00, "B"), "uint8": (0x02, "B"), "uint16": (0x84, "H"),
         "uint32": (0x86, "I"), "sint16": (0x83, "h")}
# FIT enums used below.
TIMER, START, STOP, STOP_ALL = 0, 0, 1, 4
RUNNING, CYCLING = 1, 2


def fit_message(global_num: int, fields: list[tuple[int, str, object]], local: int = 0) -> bytes:
    """A definition message followed by one data message (little endian)."""
    definition = struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))
    data = bytes([local])
    for number, kind, value in fields:
        base, code = _BASE[kind]
        values = list(value) if isinstance(value, list | tuple) else [value]
        definition += struct.pack("<BBB", number, struct.calcsize("<" + code) * len(values), base)
        data += struct.pack(f"<{len(values)}{code}", *values)
    return definition + data


def fit_file(messages: list[bytes], *, header_crc: bool = True) -> bytes:
    """A complete FIT file: 14-byte header, the messages, the checksum (fitdecode's CRC)."""
    body = b"".join(messages)
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", compute_crc(header) if header_crc else 0)
    data = header + body
    return data + struct.pack("<H", compute_crc(data))


def fit_stamp(t_unix: float) -> int:
    return int(round(t_unix)) - FIT_EPOCH_UNIX


def fit_activity(
    records: list[dict[str, float]],
    *,
    sport: int | None = RUNNING,
    events: list[tuple[float, int]] = (),
    hrv: dict[int, list[float]] | None = None,
    user_profile: list[tuple[int, str, object]] | None = None,
    zones_max_hr: int | None = None,
) -> bytes:
    """A FIT activity. ``records``: dicts with ``t`` (Unix s) and any of ``hr``, ``speed``,
    ``enhanced_speed``, ``distance``, ``cadence``, ``fractional_cadence``, ``power``.
    ``events``: (Unix time, event_type) timer events. ``hrv``: record index -> intervals
    (s) written right after that record."""
    messages = [fit_message(0, [(0, "enum", 4), (1, "uint16", 1), (4, "uint32",
                                                                  fit_stamp(T0))])]
    if user_profile:
        messages.append(fit_message(3, user_profile))
    if zones_max_hr is not None:
        messages.append(fit_message(7, [(1, "uint8", zones_max_hr)]))
    pending = sorted(events)
    for i, r in enumerate(records):
        while pending and pending[0][0] <= r["t"]:
            stamp, kind = pending.pop(0)
            messages.append(fit_message(21, [(253, "uint32", fit_stamp(stamp)),
                                             (0, "enum", TIMER), (1, "enum", kind)]))
        fields: list[tuple[int, str, object]] = [(253, "uint32", fit_stamp(r["t"]))]
        for key, number, kind, scale in (
            ("hr", 3, "uint8", 1), ("cadence", 4, "uint8", 1), ("distance", 5, "uint32", 100),
            ("speed", 6, "uint16", 1000), ("power", 7, "uint16", 1),
            ("fractional_cadence", 53, "uint8", 128), ("enhanced_speed", 73, "uint32", 1000),
        ):
            if key in r:
                fields.append((number, kind, int(round(r[key] * scale))))
        messages.append(fit_message(20, fields))
        for rr_chunk in _chunks((hrv or {}).get(i, []), 5):
            values = [int(round(x * 1000)) for x in rr_chunk] + [0xFFFF] * (5 - len(rr_chunk))
            messages.append(fit_message(78, [(0, "uint16", values)]))
    for stamp, kind in pending:
        messages.append(fit_message(21, [(253, "uint32", fit_stamp(stamp)),
                                         (0, "enum", TIMER), (1, "enum", kind)]))
    if sport is not None:
        end = records[-1]["t"] if records else T0
        messages.append(fit_message(18, [(253, "uint32", fit_stamp(end)), (5, "enum", sport)]))
    return fit_file(messages)


def _chunks(values: list[float], n: int) -> list[list[float]]:
    return [values[i : i + n] for i in range(0, len(values), n)]


def steady_records(n: int = 600, *, hr: float = 140.0, speed: float = 3.0,
                   start: float = T0) -> list[dict[str, float]]:
    return [{"t": start + i, "hr": hr + (i % 7), "enhanced_speed": speed,
             "distance": speed * i, "cadence": 85, "power": 250} for i in range(n)]


# --------------------------------------------------------------------------- XML writers


def iso(t: float, zone: str = "Z") -> str:
    stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = t - int(t)
    if frac:
        stamp += f"{frac:.3f}"[1:]
    return stamp + zone


def tcx_trackpoint(p: dict[str, float]) -> str:
    parts = [f"<Time>{p.get('time', iso(p['t']))}</Time>"]
    if "lat" in p:
        parts.append(f"<Position><LatitudeDegrees>{p['lat']}</LatitudeDegrees>"
                     f"<LongitudeDegrees>{p['lon']}</LongitudeDegrees></Position>")
    if "distance" in p:
        parts.append(f"<DistanceMeters>{p['distance']}</DistanceMeters>")
    if "hr" in p:
        parts.append(f"<HeartRateBpm><Value>{p['hr']}</Value></HeartRateBpm>")
    if "cadence" in p:
        parts.append(f"<Cadence>{p['cadence']}</Cadence>")
    ext = ""
    if "speed" in p:
        ext += f"<ns3:Speed>{p['speed']}</ns3:Speed>"
    if "run_cadence" in p:
        ext += f"<ns3:RunCadence>{p['run_cadence']}</ns3:RunCadence>"
    if "power" in p:
        ext += f"<ns3:Watts>{p['power']}</ns3:Watts>"
    if ext:
        parts.append(f"<Extensions><ns3:TPX>{ext}</ns3:TPX></Extensions>")
    return "<Trackpoint>" + "".join(parts) + "</Trackpoint>"


def tcx_text(tracks: list[list[dict[str, float]]], *, sport: str = "Running",
             activities: int = 1, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n'
             ) -> str:
    """A TCX file: ``activities`` copies of one activity (each shifted by a day) whose
    laps hold the given tracks."""
    out = [prolog, '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
           'TrainingCenterDatabase/v2" xmlns:ns3="http://www.garmin.com/xmlschemas/'
           'ActivityExtension/v2"><Activities>']
    for a in range(activities):
        shift = -86_400.0 * a
        out.append(f'<Activity Sport="{sport}"><Id>{iso(tracks[0][0]["t"] + shift)}</Id>')
        for track in tracks:
            out.append(f'<Lap StartTime="{iso(track[0]["t"] + shift)}"><Track>')
            for p in track:
                q = dict(p, t=p["t"] + shift)
                if "time" in p and a:
                    q.pop("time")
                out.append(tcx_trackpoint(q))
            out.append("</Track></Lap>")
        out.append("</Activity>")
    out.append("</Activities></TrainingCenterDatabase>\n")
    return "".join(out)


def gpx_text(segments: list[list[dict[str, float]]], *, style: str = "gpxtpx",
             sport: str | None = "running") -> str:
    """A GPX track. ``style``: where heart rate goes: ``gpxtpx`` (Garmin
    TrackPointExtension v2), ``gpxdata`` (Cluetrust), ``plain`` (Amazfit's
    ``<heartrate>``)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
           'xmlns="http://www.topografix.com/GPX/1/1" '
           'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2" '
           'xmlns:gpxdata="http://www.cluetrust.com/XML/GPXDATA/1/0"><trk>']
    if sport:
        out.append(f"<type>{sport}</type>")
    for seg in segments:
        out.append("<trkseg>")
        for p in seg:
            attrs = f' lat="{p["lat"]}" lon="{p["lon"]}"' if "lat" in p else ""
            ext = ""
            if style == "gpxtpx":
                inner = "".join(f"<gpxtpx:{tag}>{p[key]}</gpxtpx:{tag}>" for key, tag in
                                (("hr", "hr"), ("cadence", "cad"), ("speed", "speed"))
                                if key in p)
                ext = f"<gpxtpx:TrackPointExtension>{inner}</gpxtpx:TrackPointExtension>"
            elif style == "gpxdata":
                ext = "".join(f"<gpxdata:{tag}>{p[key]}</gpxdata:{tag}>" for key, tag in
                              (("hr", "hr"), ("cadence", "cadence"), ("distance", "distance"),
                               ("speed", "speed")) if key in p)
            else:
                ext = f"<heartrate>{p['hr']}</heartrate>" if "hr" in p else ""
            time_text = p.get("time", iso(p["t"]))
            out.append(f"<trkpt{attrs}><ele>10</ele><time>{time_text}</time>"
                       f"<extensions>{ext}</extensions></trkpt>")
        out.append("</trkseg>")
    out.append("</trk></gpx>\n")
    return "".join(out)


def points(n: int = 300, *, start: float = T0, hr: float = 130.0, step: float = 1.0,
           **extra: float) -> list[dict[str, float]]:
    """Track points every ``step`` s heading north at 3 m/s with heart rate."""
    out = []
    for i in range(n):
        p = {"t": start + i * step, "hr": hr + i % 5, "lat": 47.0 + i * step * 3 / 111_195,
             "lon": 8.0, "distance": 3.0 * i * step}
        p.update(extra)
        out.append(p)
    return out


def write(path: Path, content: str | bytes) -> Path:
    data = content.encode() if isinstance(content, str) else content
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def fit_activity_with_dev_field(records: list[dict[str, float]], *, name: str, units: str,
                                native_field: int | None = None, sport: int = 4) -> bytes:
    """A FIT activity whose records carry ``r["dev"]`` in a uint8 developer field named
    ``name`` in ``units`` (``native_field``: the record field it stands for, as an
    ergometer's app declares it), beside any native ``hr``; ``sport`` 4 is fitness
    equipment."""
    def text(value: str, size: int = 16) -> bytes:
        return value.encode()[: size - 1].ljust(size, b"\0")

    messages = [fit_message(0, [(0, "enum", 4), (1, "uint16", 1), (4, "uint32",
                                                                  fit_stamp(T0))])]
    messages.append(fit_message(207, [(3, "uint8", 0)], local=1))  # developer_data_id
    description = [(0, "uint8", 0), (1, "uint8", 6), (2, "uint8", 2)]
    if native_field is not None:
        description += [(14, "uint16", 20), (15, "uint8", native_field)]  # record's
    body = fit_message(206, description, local=2)
    # field_description's strings (field_name 3, units 8): base type 0x07, fixed size.
    head, data = body[:6 + 3 * len(description)], body[6 + 3 * len(description):]
    head = head[:5] + bytes([len(description) + 2]) + head[6:] + bytes(
        [3, 16, 0x07, 8, 16, 0x07])
    messages.append(head + data + text(name) + text(units))
    # One record definition with the developer field (flag 0x20), then the data messages.
    fields = [(253, "uint32"), (3, "uint8")]
    definition = struct.pack("<BBBHB", 0x40 | 0x20 | 3, 0, 0, 20, len(fields))
    for number, kind in fields:
        definition += struct.pack("<BBB", number, struct.calcsize("<" + _BASE[kind][1]),
                                  _BASE[kind][0])
    definition += struct.pack("<BBBB", 1, 6, 1, 0)  # one developer field: 6, 1 byte, index 0
    messages.append(definition)
    for r in records:
        messages.append(struct.pack("<BIBB", 3, fit_stamp(r["t"]),
                                    int(round(r.get("hr", 0xFF))), int(round(r["dev"]))))
    end = records[-1]["t"] if records else T0
    messages.append(fit_message(18, [(253, "uint32", fit_stamp(end)), (5, "enum", sport)]))
    return fit_file(messages)
