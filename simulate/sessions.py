"""One simulated session: protocol -> workload -> heart rate and acceleration -> a
:class:`~dosewatch.session.Session` and its :class:`~dosewatch.simulate.truth.Truth`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..session import Profile, Session, build_session
from .acceleration import check_fs, simulate_acceleration
from .heart import simulate_heart_rate
from .options import MODALITIES, PROFILES, check_allowed, check_placement
from .people import Person
from .protocols import PROTOCOLS
from .truth import Truth, make_truth
from .workload import cadence_spm


@dataclass(frozen=True, eq=False)
class SimulatedSession:
    """A simulated session and what the simulator knows about it."""

    session: Session
    truth: Truth


def _check_arguments(protocol: str, placement: str, modality: str, profile: str,
                     acc_fs: float, seed: int) -> None:
    check_allowed("protocol", protocol, tuple(PROTOCOLS))
    check_placement(placement)
    check_allowed("modality", modality, MODALITIES)
    check_allowed("profile", profile, PROFILES)
    check_fs(acc_fs)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def session_profile(person: Person, placement: str, profile: str) -> Profile:
    """What the session's profile tells: ``full``, ``age`` or ``none`` (placement only)."""
    if profile == "full":
        return Profile(id=person.id, age=person.age, hr_rest=person.hr_rest,
                       hr_max=person.hr_max, placement=placement, sex=person.sex)
    if profile == "age":
        return Profile(id=person.id, age=person.age, placement=placement)
    return Profile(placement=placement)


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
) -> SimulatedSession:
    """Simulate one session of ``protocol`` for ``person`` with its ground truth.

    Args:
        protocol: a key of :data:`PROTOCOLS`.
        person: the participant (see :func:`random_person`).
        placement: ``wrist`` (optical HR, no RR) or ``chest`` (strap: HR and RR).
        acc_fs: accelerometer rate, 25-200 Hz.
        modality: the streams the session holds: ``hr+acc``, ``hr`` or ``acc`` (a speed
            stream is added whenever the protocol walks or runs).
        profile: what the session's profile tells: ``full`` (id, age, sex, hr_rest, hr_max,
            placement), ``age`` (id, age, placement) or ``none`` (placement).
        seed: the same seed gives the same session; the truth depends only on protocol,
            person and seed, not on placement, modality or rate.
        config: epoch length and label rules for the truth (default ``Config()``).
        name: session name; default ``{protocol}-{placement}-{modality}-s{seed}``.

    Raises:
        ValueError: an unknown protocol, placement, modality or profile, or a bad rate/seed.
    """
    _check_arguments(protocol, placement, modality, profile, acc_fs, seed)
    config = config or Config()
    rng_protocol, rng_hr, rng_acc = (np.random.default_rng(s)
                                     for s in np.random.SeedSequence(int(seed)).spawn(3))

    work = PROTOCOLS[protocol](person, rng_protocol)
    cadence = cadence_spm(work.gait, work.speed_mps, person)
    hr_sim = simulate_heart_rate(work.intensity, cadence, person, placement, rng_hr)
    with_hr, with_acc = modality in ("hr+acc", "hr"), modality in ("hr+acc", "acc")
    acc = (simulate_acceleration(work.gait, work.speed_mps, person, placement, acc_fs, rng_acc)
           if with_acc else None)
    t_s = np.arange(work.duration_s, dtype=np.float64)
    speed = (t_s, np.round(work.speed_mps, 3)) if work.gait.any() else None
    name = name or f"{protocol}-{placement}-{modality}-s{seed}".replace("+", "plus")
    hr = (hr_sim.t, hr_sim.bpm) if hr_sim.rr_ms is None else (hr_sim.t, hr_sim.bpm, hr_sim.rr_ms)
    session = build_session(
        name,
        hr=hr if with_hr else None,
        acc=acc,
        speed=speed,
        profile=session_profile(person, placement, profile),
        source=f"simulated:{protocol}:seed{seed}",
        format="simulated",
    )
    truth = make_truth(protocol, person, placement, modality, work, cadence, hr_sim.true_bpm,
                       hr_sim.artefacts if with_hr else (), config)
    return SimulatedSession(session=session, truth=truth)
