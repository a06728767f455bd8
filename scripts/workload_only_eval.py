"""Verdicts of real sessions read from their workload alone (speed or power, the heart
rate hidden: a GPS watch worn without its strap), against the same session's verdict with
its heart rate, and against the workload reference of ``scripts/real_eval.py``.

Two readings of each session with heart rate and a workload channel in
``../shared/data/real``:

- *uncalibrated*: the reference person's fitness (``k = 1``); every such verdict is
  marked low certainty;
- *calibrated*: for the participants with several sessions in the folder (the groups of
  :data:`PARTICIPANTS`: one runner's, one Polar user's, one file's three trainings), the
  calibration learned from that participant's *other* sessions with heart rate and
  workload (leave one session out: a batch never holds the heart rate of a session
  recorded without it).

Scored per session: accelerating or steady, and the dose flag, against the session's own
verdict with heart rate (``physio``, every channel: what the strap would have said) and
against the workload reference where it decides; for rides and for sessions on foot apart
(a ride is priced by other equations, see docs/method.md section 2).

Rides get a table of their own, the measure of the reference rider (84 kg with the bike,
rolling resistance 0.005, CdA 0.35 m², still air) that prices a ride without a power
meter: each ride read from its speed alone (heart rate and power hidden); where the ride
has a power meter, the power it measured over the power the reference rider needs at its
speed and grade (moving minutes, 3 m/s or faster); and the fitness ``k`` the ride's own
heart rate shows for the speed's price (1 is the reference person: a ride whose ``k``
is 1.3 reads 30 % too easy uncalibrated).

    python scripts/workload_only_eval.py [--out docs/workload-only.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from real_eval import REAL, Verdict  # noqa: E402
from real_reference import Reference, reference  # noqa: E402

from dosewatch.analysis import analyze_session  # noqa: E402
from dosewatch.calibration import learn  # noqa: E402
from dosewatch.config import Config  # noqa: E402
from dosewatch.errors import DosewatchError  # noqa: E402
from dosewatch.features.workload import RIDE_FROM_MPS, rider_watts  # noqa: E402
from dosewatch.ingest.registry import ReadOptions, read_all  # noqa: E402
from dosewatch.models.registry import get_classifier  # noqa: E402

# Sessions of one person each (by the file names and devices: one runner's Garmin
# exports, one Polar user's 2012 runs, one Polar user's 2015 runs, the three trainings of
# one file, one runner's Conconi tests).
PARTICIPANTS = {
    "runner (runpandas)": ("corriporai__runpandas/2020-12-",),
    "Polar user 2012 (Runalyze)": ("Runalyze__Runalyze/1201",),
    "Polar user 2015 (Runalyze)": ("Runalyze__Runalyze/1503",),
    "three trainings (Runalyze)": ("Runalyze__Runalyze/Multiple-Trainings.tcx",),
    "Conconi tests": ("lwaldron__ConconiAnaerobicThresholdTest/",),
}


# Rides whose speed is not a road's: an indoor app's virtual speed, computed from the
# trainer's power by the app's own model of a rider (kinomap, Zwift).
VIRTUAL_SPEED = ("HelmutQualtinger__kinomap/", "Runalyze__Runalyze/Zwift-")
RATIO_FROM_MPS = 3.0  # moving on a bike: the minutes the power ratio is taken over


@dataclass
class Ride:
    """What a ride says of the reference rider: its verdict from the speed alone (heart
    rate and power hidden), measured over priced power (None without a power meter), the
    fitness its heart rate shows for the speed's price and for the power's (over the
    reference person's 300 W; None when none was fitted), and whether its speed is
    virtual (:data:`VIRTUAL_SPEED`)."""

    speed_alone: Verdict
    power_ratio: float | None
    k_speed: float | None
    k_power: float | None
    virtual: bool
    median_mps: float


@dataclass
class Row:
    name: str
    participant: str | None
    ref: Reference
    full: Verdict
    alone: Verdict
    calibrated: Verdict | None = None
    activity: str = "on foot"  # or "ride"
    ride: Ride | None = None  # a ride with speed: what it says of the reference rider


def _verdict(result) -> Verdict:  # noqa: ANN001
    minutes = result.minutes
    exercise = sum(minutes[k] for k in ("constant", "intermediate", "accelerating"))
    return Verdict(result.session_class, result.dose_met,
                   result.longest_bout_qualifying_minutes, result.certainty.level,
                   minutes["accelerating"], exercise)


def _participant(local: str) -> str | None:
    for name, prefixes in PARTICIPANTS.items():
        if any(local.startswith(p) for p in prefixes):
            return name
    return None


def _is_ride(session, full) -> bool:  # noqa: ANN001
    """A ride: named cycling, or naming no sport and priced as one (as the features do:
    a median speed above :data:`RIDE_FROM_MPS`, or power without speed)."""
    sport = session.provenance.sport
    if sport is not None:
        return sport == "cycling"
    speed = full.features.values["speed_mps"]
    if np.isfinite(speed).any():
        return bool(np.nanmedian(speed) > RIDE_FROM_MPS)
    return session.power is not None


def _ride(local: str, session, full, config: Config, physio) -> Ride | None:  # noqa: ANN001
    """The reference rider's measures of one ride (see :class:`Ride`); None for a ride
    without speed (a trainer's power alone: the reference rider does not price it)."""
    if session.speed is None:
        return None
    values = full.features.values
    speed, power, grade = values["speed_mps"], values["power_w"], values["grade"]
    ratio = None
    with np.errstate(invalid="ignore"):
        use = (speed >= RATIO_FROM_MPS) & np.isfinite(power)
    if session.power is not None and use.sum() >= 5:
        priced = np.clip(rider_watts(speed[use], grade[use]), 0.0, None).sum()
        ratio = float(power[use].sum() / priced) if priced > 0 else None
    def fitted(result) -> float | None:  # noqa: ANN001
        relation = result.info.relation
        return relation.k if relation is not None and relation.source == "session" else None

    k_speed = fitted(analyze_session(replace(session, power=None), config, physio))
    k_power = fitted(full) if session.power is not None else None
    alone = analyze_session(replace(session, hr=None, power=None), config, physio)
    moving = speed[np.isfinite(speed) & (speed >= 0.5)]
    return Ride(_verdict(alone), ratio, k_speed, k_power, local.startswith(VIRTUAL_SPEED),
                float(np.median(moving)) if moving.size else float("nan"))


def collect(root: Path = REAL) -> list[Row]:
    config = Config()
    physio = get_classifier("physio")
    rows: list[Row] = []
    evidence: dict[str, list[tuple[str, object]]] = {}
    hidden = {}
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".md"))
    for path in files:
        local = f"{path.parent.name}/{path.name}"
        try:
            sessions = read_all(path, ReadOptions())
        except DosewatchError:
            continue
        for session in sessions:
            name = local if len(sessions) == 1 else f"{local} [{session.name}]"
            if session.hr is None or (session.speed is None and session.power is None):
                continue
            ref = reference(session, session.provenance.sport)
            if ref is None:
                continue
            who = _participant(local)
            full = analyze_session(session, config, physio)
            alone = replace(session, hr=None)
            hidden[name] = alone
            is_ride = _is_ride(session, full)
            rows.append(Row(name.split("__")[-1], who, ref, _verdict(full),
                            _verdict(analyze_session(alone, config, physio)),
                            activity="ride" if is_ride else "on foot",
                            ride=_ride(local, session, full, config, physio) if is_ride
                            else None))
            if who is not None:
                evidence.setdefault(who, []).append((name, full.evidence()))
    by_name = {r.name: r for r in rows}
    for who, items in evidence.items():
        for name, _ in items:
            others = [e for n, e in items if n != name]
            if not others:
                continue
            calibration = learn(who, others)
            result = analyze_session(hidden[name], config, physio, calibration)
            by_name[name.split("__")[-1]].calibrated = _verdict(result)
    return rows


def _agree(rows: list[Row], reading: str) -> dict[str, tuple[int, int]]:
    """Agreement of one reading (``alone`` or ``calibrated``) with the verdict with heart
    rate and with the workload reference, in class kind and dose."""
    out = {}
    use = [r for r in rows if getattr(r, reading) is not None]
    pick = {r.name: getattr(r, reading) for r in use}
    out["kind vs heart rate"] = (sum(pick[r.name].kind == r.full.kind for r in use), len(use))
    out["dose vs heart rate"] = (sum(pick[r.name].dose == r.full.dose for r in use), len(use))
    kind = [r for r in use if r.ref.kind != "undecided"]
    dose = [r for r in use if r.ref.dose is not None]
    out["kind vs reference"] = (sum(pick[r.name].kind == r.ref.kind for r in kind), len(kind))
    out["dose vs reference"] = (sum(pick[r.name].dose == r.ref.dose for r in dose), len(dose))
    out["class vs heart rate"] = (sum(pick[r.name].session_class == r.full.session_class
                                      for r in use), len(use))
    return out


def _pct(pair: tuple[int, int]) -> str:
    ok, n = pair
    return f"{100 * ok / n:.1f} % ({ok}/{n})" if n else "–"


def report(rows: list[Row]) -> str:
    grouped = [r for r in rows if r.participant is not None]
    lines = [f"{len(rows)} real sessions with heart rate and a workload channel, read again "
             "with the heart rate hidden; "
             f"{sum(r.calibrated is not None for r in grouped)} of them belong to a "
             "participant with other sessions in the folder and are read calibrated too "
             "(leave one session out).", "",
             "| reading | sessions | session class as with heart rate | accelerating or "
             "steady: as with heart rate | dose: as with heart rate | accelerating or "
             "steady: workload reference | dose: workload reference |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    readings = (("uncalibrated (reference person), every session", rows, "alone"),
                ("uncalibrated, the sessions on foot",
                 [r for r in rows if r.activity == "on foot"], "alone"),
                ("uncalibrated, the rides", [r for r in rows if r.activity == "ride"],
                 "alone"),
                ("uncalibrated, the participants' sessions", grouped, "alone"),
                ("calibrated, the participants' sessions", grouped, "calibrated"))
    for title, subset, reading in readings:
        a = _agree(subset, reading)
        lines.append(f"| {title} | {a['class vs heart rate'][1]} | "
                     f"{_pct(a['class vs heart rate'])} | {_pct(a['kind vs heart rate'])} | "
                     f"{_pct(a['dose vs heart rate'])} | {_pct(a['kind vs reference'])} | "
                     f"{_pct(a['dose vs reference'])} |")
    lines += ["", "Per session (verdict with heart rate / workload alone / calibrated; "
              "certainty of the workload-alone readings):", "",
              "| session | participant | with heart rate | workload alone | calibrated |",
              "| --- | --- | --- | --- | --- |"]

    def text(v: Verdict | None) -> str:
        if v is None:
            return "–"
        return f"{v.session_class}{' dose' if v.dose else ''} ({v.longest:.0f} min)"

    for r in rows:
        cal = "–" if r.calibrated is None else \
            f"{text(r.calibrated)}, {r.calibrated.certainty}"
        lines.append(f"| `{r.name}` | {r.participant or '–'} | {text(r.full)} | "
                     f"{text(r.alone)}, {r.alone.certainty} | {cal} |")
    lines += ride_report(rows, text)
    return "\n".join(lines) + "\n"


def ride_report(rows: list[Row], text) -> list[str]:  # noqa: ANN001
    """The rides' table and what it says of the reference rider (see the module text)."""
    rides = [r for r in rows if r.ride is not None]
    if not rides:
        return []
    road = [r for r in rides if not r.ride.virtual]
    ratios = [r.ride.power_ratio for r in road if r.ride.power_ratio is not None]
    ks = [r.ride.k_speed for r in road if r.ride.k_speed is not None]
    kp = [r.ride.k_power for r in road if r.ride.k_power is not None]

    def agree(subset: list[Row]) -> str:
        dose = sum(r.ride.speed_alone.dose == r.full.dose for r in subset)
        kind = sum(r.ride.speed_alone.session_class == r.full.session_class for r in subset)
        easy = sum(r.full.dose and not r.ride.speed_alone.dose for r in subset)
        hard = sum(r.ride.speed_alone.dose and not r.full.dose for r in subset)
        return (f"dose as with heart rate {dose}/{len(subset)} ({easy} missed, {hard} "
                f"met that heart rate did not meet), class {kind}/{len(subset)}")

    def spread(values: list[float]) -> str:
        if not values:
            return "none"
        v = np.asarray(values)
        return (f"median {np.median(v):.2f}, {v.min():.2f}-{v.max():.2f} "
                f"({int((v > 1.1).sum())} above 1.1, {int((v < 0.9).sum())} below 0.9, "
                f"of {v.size})")

    lines = ["", f"Rides ({len(rides)} with speed and heart rate; {len(road)} on a road, "
             f"{len(rides) - len(road)} with an indoor app's virtual speed), read from the "
             "speed alone with the reference rider and the reference person's fitness "
             "(heart rate and power hidden):", "",
             f"- on a road: {agree(road)};",
             f"- every ride: {agree(rides)};",
             f"- measured over the reference rider's power, on a road: {spread(ratios)};",
             f"- fitness k their heart rate shows for the speed's price, on a road: "
             f"{spread(ks)};",
             f"- fitness k their heart rate shows for the power's price, on a road: "
             f"{spread(kp)}.", "",
             "| ride | speed | median m/s | power / reference rider | k for the speed | "
             "k for the power | with heart rate | speed alone | workload alone |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for r in rides:
        ride = r.ride
        ratio = "–" if ride.power_ratio is None else f"{ride.power_ratio:.2f}"
        k, kp_ = ("–" if v is None else f"{v:.2f}" for v in (ride.k_speed, ride.k_power))
        lines.append(f"| `{r.name}` | {'virtual' if ride.virtual else 'road'} | "
                     f"{ride.median_mps:.1f} | {ratio} | {k} | {kp_} | {text(r.full)} | "
                     f"{text(ride.speed_alone)} | {text(r.alone)} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the report here (markdown)")
    args = parser.parse_args()
    start = time.perf_counter()
    text = report(collect())
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
