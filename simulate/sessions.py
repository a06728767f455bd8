"""One simulated session: protocol -> workload -> heart rate, acceleration and the
workload channels -> a :class:`~dosewatch.session.Session` and its
:class:`~dosewatch.simulate.truth.Truth`.

Each step draws from its own random stream, spawned from the seed in a fixed order
(protocol, heart rate, acceleration, terrain, stops, GPS, other sensors), so the truth
depends only on protocol, person, seed and options, never on placement, modality or
rate, and a stream added later leaves the earlier ones as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from ..config import Config
from ..session import Profile, Session, build_session
from .acceleration import check_fs, simulate_acceleration
from .heart import DRIFT_TAU_UP_S, simulate_heart_rate
from .options import (
    HEAT_TIME_CONSTANT_MIN,
    MODALITIES,
    PROFILES,
    Options,
    check_allowed,
    check_placement,
)
from .outdoor import barometric_altitude, gps_speed, take_outdoors
from .people import Person
from .protocols import ALL_PROTOCOLS, OUTDOOR_PROTOCOLS, RIDE_PROTOCOLS
from .signals import Artefact, ar1
from .truth import Truth, make_truth
from .workload import CYCLE, Workload, cadence_spm

STREAMS = ("protocol", "hr", "acc", "terrain", "stops", "gps", "sensors")
"""The random streams of a session, in the order they are spawned from its seed."""


@dataclass(frozen=True, eq=False)
class SimulatedSession:
    """A simulated session (the streams as a device or export would give them) and what
    the simulator knows about it (:class:`~dosewatch.simulate.truth.Truth`)."""

    session: Session
    truth: Truth


Pair = tuple[NDArray[np.float64], NDArray[np.float64]]


@dataclass(frozen=True, eq=False)
class _Channels:
    """The workload channels as recorded ``(t, values)``, and the artefacts put in."""

    speed: Pair | None = None
    power: Pair | None = None
    cadence: Pair | None = None
    altitude: Pair | None = None
    grade: Pair | None = None
    artefacts: tuple[Artefact, ...] = ()


def _check_arguments(protocol: str, placement: str, modality: str, profile: str,
                     acc_fs: float, seed: int, options: Options) -> None:
    check_allowed("protocol", protocol, tuple(ALL_PROTOCOLS))
    check_placement(placement)
    check_allowed("modality", modality, MODALITIES)
    check_allowed("profile", profile, PROFILES)
    check_fs(acc_fs)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(options, Options):
        raise TypeError(f"options must be an Options, got {options!r}")
    if options.outdoor is not None and protocol in OUTDOOR_PROTOCOLS | RIDE_PROTOCOLS:
        raise ValueError(f"protocol {protocol!r} cannot take Options.outdoor: it is "
                         + ("outdoors already" if protocol in OUTDOOR_PROTOCOLS else "on a bike"))
    if not options.workload_channels and modality in ("hr+speed", "speed"):
        raise ValueError(f"modality {modality!r} needs the workload channels "
                         "(Options.workload_channels=False leaves them out)")


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """The session's random streams (:data:`STREAMS`), spawned from its seed."""
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children,
                                                                      strict=True)}


def session_profile(person: Person, placement: str, profile: str) -> Profile:
    """What the session's profile tells: ``full``, ``age`` or ``none`` (placement only)."""
    if profile == "full":
        return Profile(id=person.id, age=person.age, hr_rest=person.hr_rest,
                       hr_max=person.hr_max, placement=placement, sex=person.sex)
    if profile == "age":
        return Profile(id=person.id, age=person.age, placement=placement)
    return Profile(placement=placement)


def _drift(options: Options, work: Workload) -> tuple[float | None, float]:
    """The drift rate (None: the person's) and its rising time constant (s)."""
    rate = options.drift_bpm_per_min
    if rate is None:
        rate = work.heat_drift_bpm_per_min
    if rate is None:
        return None, DRIFT_TAU_UP_S
    return rate, HEAT_TIME_CONSTANT_MIN * 60.0


def _sensor_channels(work: Workload, cadence: NDArray[np.float64], options: Options,
                     rng: np.random.Generator) -> dict[str, Pair]:
    """Power and cadence on a bike (a power meter: +-3 % wander, 3-W noise, whole watts
    and rpm); barometric altitude outdoors (the product derives the grade from it, as it
    does for watch exports); the treadmill's incline when ``options.incline``."""
    t = np.arange(work.duration_s, dtype=np.float64)
    out = {}
    if work.power_w is not None:
        riding = work.gait == CYCLE
        meter = work.power_w * (1.0 + ar1(rng, t.size, 3.0, 0.03)) + rng.normal(0, 3.0, t.size)
        out["power"] = (t, np.where(riding, np.round(np.maximum(meter, 0.0)), 0.0))
        out["cadence"] = (t, np.where(riding, np.round(cadence + rng.normal(0.0, 1.0, t.size)),
                                      0.0))
    if work.altitude_m is not None:
        out["altitude"] = (t, barometric_altitude(work.altitude_m, rng))
    elif work.setting == "treadmill" and options.incline:
        out["grade"] = (t, np.round(work.grade, 3))
    return out


def _workload_channels(work: Workload, cadence: NDArray[np.float64], modality: str,
                       options: Options, rngs: dict[str, np.random.Generator]) -> _Channels:
    """Speed, power, cadence, altitude and grade as the session's devices record them."""
    whole = modality in ("hr+speed", "speed")
    if not options.workload_channels or not (work.gait.any() or whole):
        return _Channels()
    gps = options.gps if options.gps is not None else work.setting == "outdoor"
    artefacts: list[Artefact] = []
    if gps:
        t_v, v, artefacts = gps_speed(work.speed_mps, rngs["gps"])
        speed = (t_v, v)
    else:
        speed = (np.arange(work.duration_s, dtype=np.float64), np.round(work.speed_mps, 3))
    return _Channels(speed=speed, artefacts=tuple(artefacts),
                     **_sensor_channels(work, cadence, options, rngs["sensors"]))


def _assemble(name: str, hr: tuple | None, acc: Pair | None, channels: _Channels,
              profile: Profile, source: str, sport: str | None) -> Session:
    """The Session, built as a reader builds one (modality ``speed``: the workload alone,
    which the definitions read through the participant's calibrated fitness)."""
    return build_session(name, hr=hr, acc=acc, speed=channels.speed,
                         cadence=channels.cadence, power=channels.power,
                         altitude=channels.altitude, grade=channels.grade, profile=profile,
                         source=source, format="simulated", sport=sport)


def simulate(
    protocol: str,
    person: Person,
    *,
    placement: str = "wrist",
    acc_fs: float = 50.0,
    modality: str = "hr+acc",
    profile: str = "full",
    seed: int = 0,
    config: Config | None = None,
    name: str | None = None,
    options: Options | None = None,
) -> SimulatedSession:
    """Simulate one session of ``protocol`` for ``person`` with its ground truth.

    Args:
        protocol: a key of :data:`ALL_PROTOCOLS` (:data:`PROTOCOLS` and the wider ones).
        person: the participant (see :func:`random_person`).
        placement: ``wrist`` (optical HR, no RR) or ``chest`` (strap: HR and RR).
        acc_fs: accelerometer rate, 25-200 Hz.
        modality: the streams the session holds (see :data:`MODALITIES`): ``hr+acc``,
            ``hr``, ``acc`` (each with the workload channels when the protocol moves),
            ``hr+speed`` or ``speed``.
        profile: what the session's profile tells: ``full`` (id, age, sex, hr_rest, hr_max,
            placement), ``age`` (id, age, placement) or ``none`` (placement).
        seed: the same seed gives the same session; the truth depends only on protocol,
            person, seed and options, not on placement, modality or rate.
        config: epoch length and label rules for the truth (default ``Config()``).
        name: session name; default ``{protocol}-{placement}-{modality}-s{seed}``.
        options: drift, the day's HR_rest, outdoors, GPS, the treadmill's incline, workload
            channels (:class:`Options`; the default changes nothing).

    Raises:
        ValueError: an unknown protocol, placement, modality or profile, a bad rate or
            seed, or options the protocol cannot take.
        TypeError: ``options`` is not an :class:`Options`.
    """
    options = Options() if options is None else options
    _check_arguments(protocol, placement, modality, profile, acc_fs, seed, options)
    rngs = random_streams(seed)
    work = ALL_PROTOCOLS[protocol](person, rngs["protocol"])
    if options.outdoor is not None:
        work = take_outdoors(work, person, options.outdoor, rngs["terrain"], rngs["stops"])
    cadence = cadence_spm(work.gait, work.speed_mps, person, work.power_w)
    drift, drift_tau_s = _drift(options, work)
    day = replace(person, hr_rest=person.hr_rest + options.hr_rest_shift_bpm)
    hr_sim = simulate_heart_rate(work.intensity, cadence, day, placement, rngs["hr"],
                                 drift, drift_tau_s)
    with_hr, with_acc = modality in ("hr+acc", "hr", "hr+speed"), modality in ("hr+acc", "acc")
    acc = (simulate_acceleration(work.gait, work.speed_mps, person, placement, acc_fs,
                                 rngs["acc"], cadence=cadence) if with_acc else None)
    channels = _workload_channels(work, cadence, modality, options, rngs)
    hr = (hr_sim.t, hr_sim.bpm) if hr_sim.rr_ms is None else (hr_sim.t, hr_sim.bpm, hr_sim.rr_ms)
    name = name or f"{protocol}-{placement}-{modality}-s{seed}".replace("+", "plus")
    sport = ("cycling" if work.power_w is not None
             else "running" if work.setting == "outdoor" else None)
    session = _assemble(name, hr if with_hr else None, acc, channels,
                        session_profile(person, placement, profile),
                        f"simulated:{protocol}:seed{seed}", sport)
    artefacts = (hr_sim.artefacts if with_hr else ()) + channels.artefacts
    truth = make_truth(protocol, person, placement, modality, work, cadence, hr_sim.true_bpm,
                       tuple(sorted(artefacts, key=lambda a: a.start_s)), config or Config(),
                       options=options, drift=(drift, drift_tau_s), hr_rest_day=day.hr_rest)
    return SimulatedSession(session=session, truth=truth)
