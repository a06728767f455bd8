"""Gait -> triaxial acceleration as a wrist- or chest-worn device records it.

Body-frame specific force in g (antero-posterior, medio-lateral, vertical) = gravity
(1 g up) + gait + fidgeting, rotated into the sensor frame. Gait has a step phase
integrated from the cadence (walking ``78 + 26 v`` spm, 100-125 at usual speeds; running
``140 + 9 v`` spm, 158-185; both shifted by the person's ``cadence_offset_spm``, taller
people stepping slower) with a small smooth phase jitter (the mean cadence per second is
exact). Vertical: step frequency and two harmonics (in phase when running: a peaked
push-off); antero-posterior: step frequency and one harmonic; medio-lateral: stride
frequency (half the step frequency) and its third harmonic. The trunk's vertical
fundamental is ``0.09 + 0.10 v`` g walking (peaks 0.2-0.5 g) and ``0.78 + 0.12 v`` g running
(peaks 1.5-2.7 g), scaled by the person's ``trunk_bounce`` (0.85-1.2) and a slow +-6 %
stride-to-stride wander. The wrist takes 80 % of the trunk motion plus a pendulum arm
swing at stride frequency (tangential acceleration ``0.15 + 0.20 v`` g walking,
``0.45 + 0.18 v`` g running, along the antero-posterior axis; centripetal towards the
shoulder; swing angle from the acceleration and an arm radius that shortens when the elbow
bends for running), scaled by the person's ``arm_swing`` (0.7-1.5); the forearm's pitch
follows the swing and its posture (hanging when walking, forward when running), so gravity
moves between the axes. At rest: occasional fidgets (1-5 s of low-pass noise, wrist about
1.2 a minute at 0.03-0.12 g, chest 0.3 a minute at 0.01-0.04 g) and, at the wrist, a new
posture after each fidget. The sensor sits in a random fixed orientation (wrist: any;
chest: a strap's orientation tilted by about 15 degrees), with per-axis gain errors of
0.2 % and offsets of 0.002 g (as after calibration), white noise 0.008 g, 1/512-g
resolution, +-8 g range, a clock off by a few ppm and up to 5 % of a sample period of
jitter. Resulting ENMO: rest below 0.01 g;
walking 0.05-0.11 g at the chest, 0.05-0.23 g at the wrist; running 0.27-1.0 g.

On a bike (gait 3) the body barely moves: the trunk leans forward (0.5-0.9 rad), rocks
at the pedalling frequency (medio-lateral 0.01-0.04 g at the chest) and bobs at twice
it (vertical 0.01-0.03 g), the wrist rests on the handlebar (forearm pitched 0.2-0.6 rad,
rolled palm-down, no swing, a fifth of the chest's rocking), and the frame passes on a
trainer's vibration (0.005-0.02 g of low-pass noise). ENMO stays near rest's, as real
wrist and chest sensors show on a bike. These draws come after all others, so a session
without a ride is made as before.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal
from scipy.spatial.transform import Rotation

from .options import ACC_FS_RANGE, check_placement
from .people import Person
from .signals import ar1, events, smooth_seconds
from .workload import CYCLE, REST, RUN, WALK, cadence_spm

GRAVITY_MPS2 = 9.80665
# Gait amplitudes (g): trunk vertical fundamental when running, ``RUN_V0 + RUN_V1 * v``;
# wrist arm swing (tangential) when walking and running.
RUN_V0, RUN_V1 = 0.78, 0.12
ARM_WALK0, ARM_WALK1, ARM_RUN0, ARM_RUN1 = 0.15, 0.20, 0.45, 0.18


def check_fs(acc_fs: float) -> None:
    """Refuse an accelerometer rate outside :data:`ACC_FS_RANGE`."""
    lo, hi = ACC_FS_RANGE
    if isinstance(acc_fs, bool) or not isinstance(acc_fs, numbers.Real) or not lo <= acc_fs <= hi:
        raise ValueError(f"acc_fs must be a number from {lo:g} to {hi:g} Hz, got {acc_fs!r}")


def _rot_pitch(f: NDArray[np.float64], angle: NDArray[np.float64]) -> None:
    """Rotate rows (ap, ml, v) about the medio-lateral axis, in place."""
    c, s = np.cos(angle), np.sin(angle)
    x, z = f[:, 0].copy(), f[:, 2]
    f[:, 0] = c * x - s * z
    f[:, 2] = s * x + c * z


def _rot_roll(f: NDArray[np.float64], angle: NDArray[np.float64]) -> None:
    """Rotate rows (ap, ml, v) about the antero-posterior axis, in place."""
    c, s = np.cos(angle), np.sin(angle)
    y, z = f[:, 1].copy(), f[:, 2]
    f[:, 1] = c * y - s * z
    f[:, 2] = s * y + c * z


def _piecewise_posture(n: int, changes: list[tuple[int, int]], rng: np.random.Generator,
                       lo: float, hi: float) -> NDArray[np.float64]:
    """An angle per second that jumps to a new random value at the end of each change."""
    values = rng.uniform(lo, hi, len(changes) + 1)
    if not changes:
        return np.full(n, values[0])
    ends = np.array([b for _, b in changes])
    return values[np.searchsorted(ends, np.arange(n), side="right")]


@dataclass(frozen=True, eq=False)
class _Plan:
    """Everything slow about a recording, one row per second, and the sensor's errors."""

    columns: dict[str, NDArray[np.float64]]
    phases: NDArray[np.float64]
    fidgets: list[tuple[int, int]]
    noise: bool
    wrist: bool
    mount: NDArray[np.float64]
    offset: NDArray[np.float64]
    clock: float


def _gait_columns(gait: NDArray, v: NDArray[np.float64], cadence: NDArray[np.float64],
                  person: Person, wrist: bool, rng: np.random.Generator
                  ) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.float64]]:
    """Step frequency, phase jitter and the gait's harmonic amplitudes per second, and the
    eight random phases of the harmonics, arm swing and posture."""
    n_s = gait.size
    walk, run = gait == WALK, gait == RUN
    f_step = cadence / 60.0
    jitter_phase = ar1(rng, n_s, 2.0, 0.12)  # smooth; leaves the mean cadence exact
    p = rng.uniform(0.0, 2.0 * np.pi, 8)
    wander = 1.0 + ar1(rng, n_s, 20.0, 0.06)  # slow stride-to-stride wander
    trunk = 0.8 if wrist else 1.0
    a_v = trunk * person.trunk_bounce * wander * np.where(
        walk, 0.09 + 0.10 * v, np.where(run, RUN_V0 + RUN_V1 * v, 0.0))
    # Running: vertical harmonics in phase, a peaked push-off; walking: stance's double hump.
    columns = {
        "f_step": f_step,
        "jitter": jitter_phase,
        "v1": a_v,
        "v2": np.where(run, 0.45, 0.35) * a_v,
        "v3": np.where(run, 0.15, 0.10) * a_v,
        "ph2": np.where(run, 0.0, p[4]),
        "ph3": np.where(run, 0.0, p[5]),
        "ap1": np.where(run, 0.45, 0.70) * a_v,
        "ap2": np.where(run, 0.45 * 0.35, 0.70 * 0.30) * a_v,
        "ml1": np.where(run, 0.30, 0.35) * a_v,
        "ml3": np.where(run, 0.30, 0.35) * 0.25 * a_v,
    }
    return columns, p


def _wrist_columns(columns: dict[str, NDArray[np.float64]], gait: NDArray,
                   v: NDArray[np.float64], fidgets: list[tuple[int, int]], person: Person,
                   rng: np.random.Generator) -> NDArray[np.float64]:
    """Arm swing, forearm posture and the band's orientation on the wrist (any)."""
    n_s = gait.size
    walk, run = gait == WALK, gait == RUN
    posture_pitch = _piecewise_posture(n_s, fidgets, rng, -1.0, 1.6)
    posture_roll = _piecewise_posture(n_s, fidgets, rng, -1.5, 1.5)
    walk_roll, run_roll = rng.uniform(-0.4, 0.4, 2)
    pitch = np.where(walk, rng.uniform(-0.15, 0.15), np.where(run, rng.uniform(1.1, 1.5),
                                                              posture_pitch))
    roll = np.where(walk, walk_roll, np.where(run, run_roll, posture_roll))
    # Arm swing: a pendulum at stride frequency; radius shorter with the elbow bent.
    a_arm = person.arm_swing * (1.0 + ar1(rng, n_s, 20.0, 0.08)) * np.where(
        walk, ARM_WALK0 + ARM_WALK1 * v, np.where(run, ARM_RUN0 + ARM_RUN1 * v, 0.0))
    radius = np.where(run, 0.20, 0.37) * person.height_m
    omega = np.pi * np.maximum(columns["f_step"], 0.1)  # stride angular frequency, rad/s
    columns["arm"] = a_arm
    columns["theta"] = np.minimum(a_arm * GRAVITY_MPS2 / (radius * omega**2), 0.9)
    columns["pitch"] = smooth_seconds(pitch, 3)
    columns["roll"] = smooth_seconds(roll, 3)
    return Rotation.random(random_state=rng).as_matrix()


def _chest_columns(columns: dict[str, NDArray[np.float64]], gait: NDArray,
                   fidgets: list[tuple[int, int]], rng: np.random.Generator
                   ) -> NDArray[np.float64]:
    """The trunk's lean and a strap's orientation on the chest."""
    walk, run = gait == WALK, gait == RUN
    lean = np.where(walk, 0.05, np.where(run, 0.14, _piecewise_posture(
        gait.size, fidgets, rng, -0.05, 0.3)))
    columns["pitch"] = smooth_seconds(lean, 3)
    # A strap: sensor x medio-lateral, y vertical, z antero-posterior, tilted ~15 degrees.
    canonical = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return canonical @ Rotation.from_rotvec(rng.normal(0.0, 0.17, 3)).as_matrix()


def _plan(gait: NDArray, v: NDArray[np.float64], cadence: NDArray[np.float64], person: Person,
          wrist: bool, rng: np.random.Generator) -> _Plan:
    """Per-second gait, rest fidgets and postures, orientation and sensor errors."""
    columns, p = _gait_columns(gait, v, cadence, person, wrist, rng)
    # Rest: fidgets (low-pass noise bursts) and, at the wrist, a new posture after each.
    fidgets = events(rng, gait == REST, (1.2 if wrist else 0.3) / 60.0, (1.0, 5.0))
    env = np.zeros(gait.size)
    for a, b in fidgets:
        env[a:b] = rng.uniform(0.03, 0.12) if wrist else rng.uniform(0.01, 0.04)
    columns["fidget"] = env
    if wrist:
        mount = _wrist_columns(columns, gait, v, fidgets, person, rng)
    else:
        mount = _chest_columns(columns, gait, fidgets, rng)
    mount = mount * rng.normal(1.0, 0.002, 3)  # per-axis gain error
    offset = rng.normal(0.0, 0.002, 3)
    clock = 1.0 + rng.normal(0.0, 20e-6)
    riding = gait == CYCLE
    if riding.any():
        _cycling_columns(columns, riding, wrist, rng)
    return _Plan(columns=columns, phases=p, fidgets=fidgets, noise=bool(fidgets) or riding.any(),
                 wrist=wrist, mount=mount, offset=offset, clock=clock)


def _cycling_columns(columns: dict[str, NDArray[np.float64]], riding: NDArray[np.bool_],
                     wrist: bool, rng: np.random.Generator) -> None:
    """On the bike (module docstring): pedal strokes at twice the cadence, a forward
    lean, the hands on the bar, the trainer's vibration."""
    rock, bob = rng.uniform(0.01, 0.04), rng.uniform(0.01, 0.03)
    scale = 0.2 if wrist else 1.0
    columns["f_step"] = np.where(riding, 2.0 * columns["f_step"], columns["f_step"])
    for name, value in (("v1", bob * scale), ("v2", 0.2 * bob * scale), ("v3", 0.0),
                        ("ap1", 0.3 * bob * scale), ("ap2", 0.0), ("ml1", rock * scale),
                        ("ml3", 0.1 * rock * scale)):
        columns[name] = np.where(riding, value, columns[name])
    columns["fidget"] = np.where(riding, rng.uniform(0.005, 0.02), columns["fidget"])
    if wrist:
        columns["pitch"] = np.where(riding, rng.uniform(0.2, 0.6), columns["pitch"])
        columns["roll"] = np.where(riding, rng.uniform(-1.6, -1.2), columns["roll"])
    else:
        columns["pitch"] = np.where(riding, rng.uniform(0.5, 0.9), columns["pitch"])


def _body_force(up: Callable[[str], NDArray[np.float64]], phi: NDArray[np.float64],
                p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Gravity plus the gait's harmonics in the body frame (ap, ml, v), g."""
    f = np.empty((phi.size, 3))
    f[:, 0] = up("ap1") * np.cos(phi + p[0]) + up("ap2") * np.cos(2 * phi + p[1])
    f[:, 1] = up("ml1") * np.cos(phi / 2 + p[2]) + up("ml3") * np.cos(1.5 * phi + p[3])
    f[:, 2] = 1.0 + (up("v1") * np.cos(phi) + up("v2") * np.cos(2 * phi + up("ph2"))
                     + up("v3") * np.cos(3 * phi + up("ph3")))
    return f


def _fidget_filter(fs: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """3-Hz low-pass filter whose white-noise output has unit standard deviation."""
    bl, al = signal.butter(2, min(3.0 / (fs / 2.0), 0.9))
    impulse = signal.lfilter(bl, al, np.r_[1.0, np.zeros(int(10 * fs))])
    return bl / np.sqrt(np.sum(impulse**2)), al


def _render(plan: _Plan, n_s: int, fs: float, rng: np.random.Generator, chunk: int
            ) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """The samples, ``chunk`` at a time, carrying the step phase and filter state across."""
    n = round(n_s * fs)
    names = list(plan.columns)
    per_second = np.column_stack([plan.columns[k] for k in names])
    col = {k: i for i, k in enumerate(names)}
    knots = np.arange(n_s) + 0.5
    p = plan.phases
    bl, al = _fidget_filter(fs)
    zi = np.zeros((max(len(al), len(bl)) - 1, 3))
    t_out = np.empty(n)
    xyz_out = np.empty((n, 3), dtype=np.float32)
    phase0 = 0.0
    for start in range(0, n, chunk):
        t = np.arange(start, min(n, start + chunk)) / fs
        m = t.size

        def up(name: str, t: NDArray[np.float64] = t) -> NDArray[np.float64]:
            return np.interp(t, knots, per_second[:, col[name]])

        step = 2.0 * np.pi * np.cumsum(up("f_step")) / fs + phase0
        phase0 = float(step[-1])
        phi = step + up("jitter")
        f = _body_force(up, phi, p)
        if plan.noise:
            noise, zi = signal.lfilter(bl, al, rng.standard_normal((m, 3)), axis=0, zi=zi)
            f += noise * up("fidget")[:, None]
        pitch = up("pitch")
        if plan.wrist:
            swing = phi / 2 + p[6]
            arm, theta = up("arm"), up("theta")
            f[:, 0] -= arm * np.sin(swing)  # tangential
            f[:, 2] += arm * theta * np.cos(swing) ** 2  # centripetal, towards the shoulder
            _rot_pitch(f, pitch + theta * np.sin(swing))
            _rot_roll(f, up("roll"))
        else:
            _rot_pitch(f, pitch)
        xyz = f @ plan.mount + plan.offset + rng.normal(0.0, 0.008, (m, 3))
        xyz_out[start:start + m] = np.clip(np.round(xyz * 512.0) / 512.0, -8.0, 8.0)
        # The sensor's clock: a few ppm off, a little jitter (first sample at exactly 0).
        t_out[start:start + m] = t * plan.clock + rng.uniform(0.0, 0.05 / fs, m)
    t_out[0] = 0.0
    return t_out, xyz_out


def simulate_acceleration(gait: ArrayLike, speed: ArrayLike, person: Person, placement: str,
                          acc_fs: float, rng: np.random.Generator, chunk: int = 1 << 16,
                          cadence: ArrayLike | None = None
                          ) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Everything slow (amplitudes, postures, events) is set per second; the samples are
    then made ``chunk`` at a time, carrying the step phase and filter states across, so
    memory stays bounded for day-long inputs. ``cadence`` (steps or pedal revolutions per
    minute, per second) defaults to :func:`~dosewatch.simulate.workload.cadence_spm`."""
    check_placement(placement)
    check_fs(acc_fs)
    gait = np.asarray(gait)
    v = np.asarray(speed, dtype=np.float64)
    if gait.ndim != 1 or v.shape != gait.shape or gait.size == 0:
        raise ValueError("gait and speed must be 1-D arrays of the same, non-zero length")
    steps = (cadence_spm(gait, v, person) if cadence is None
             else np.asarray(cadence, dtype=np.float64))
    plan = _plan(gait, v, steps, person, placement == "wrist", rng)
    return _render(plan, gait.size, float(acc_fs), rng, chunk)


def synth_acceleration(
    gait_1hz: ArrayLike,
    speed_1hz: ArrayLike,
    person: Person,
    placement: str,
    acc_fs: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Triaxial acceleration as a device records it.

    Args:
        gait_1hz: 0 rest, 1 walk, 2 run, 3 cycle, one value per second from t = 0.
        speed_1hz: m/s per second (sets cadence and amplitude).
        person, placement (``wrist`` or ``chest``), acc_fs (25-200 Hz), rng.

    Returns:
        ``(t, xyz)``: times in seconds (``acc_fs`` per second, a few ppm clock error and a
        little jitter) and float32 acceleration of shape ``(n, 3)`` in g.
    """
    return simulate_acceleration(gait_1hz, speed_1hz, person, placement, acc_fs, rng)
