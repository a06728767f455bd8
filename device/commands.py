"""The ``scan`` and ``record`` commands (registered by :mod:`dosewatch.cli`).

Bleak, Bumble, NumPy and the analysis are imported inside the commands, never at the top,
so that building the parser (every ``dosewatch`` call) stays fast.

``dosewatch scan`` lists nearby devices and the supported services they advertise.
``dosewatch record`` records one or more devices to a ``.dwrec`` file with a live view;
``--virtual`` records a simulated wearable (a Bumble peripheral in-process, reached through
the same Bleak calls as a real one) so that everything can be tried without hardware::

    dosewatch record --virtual --protocol bout_30plus --speed 60 --out run.dwrec

``--serve [HOST:PORT]`` also serves the live page (:mod:`dosewatch.device.serve`) for a
phone or tablet beside the treadmill. One command can record several people: each named
device a participant of its own with ``--per-device``, or ``--participants N`` simulated
people with ``--virtual``; each gets a recording (``FILE-<name>.dwrec``) and a tile in the
page's lab view.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, OutputError

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

    from ..session import Profile, Session

__all__ = ["register"]

DEFAULT_PROTOCOL = "bout_30plus"
DEFAULT_SPEED = 60.0
_VIRTUAL_STEP_S = 0.25  # session seconds per step of the virtual band's clock


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scan`` and ``record`` to the command line."""
    from ..cli.options import add_classifier_options, add_config_option, add_profile_option

    p = subparsers.add_parser(
        "scan", help="list nearby Bluetooth LE wearables and the supported services they offer")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to scan (default 5)")
    p.add_argument("--all", action="store_true",
                   help="also list devices that advertise no supported service")
    p.add_argument("--virtual", action="store_true",
                   help="scan a virtual world of simulated wearables (no hardware needed)")
    p.set_defaults(func=cmd_scan)

    p = subparsers.add_parser(
        "record", help="record wearables live to a .dwrec file, classifying as it goes")
    p.add_argument("devices", nargs="*", metavar="DEVICE",
                   help="address or advertised name of each device to record (default: the "
                   "nearest one offering heart rate or Polar acceleration)")
    p.add_argument("--out", required=True, metavar="FILE.dwrec", help="the recording to write")
    p.add_argument("--force", action="store_true", help="replace an existing recording")
    add_profile_option(p, "stored in the recording")
    add_config_option(p)
    add_classifier_options(p)
    p.add_argument("--calibration", metavar="PATH",
                   help="the participant's calibration: a file, or the calibration folder "
                   "of a batch (the profile's id picks the file); a later `dosewatch "
                   "analyze` with the same calibration gives the same verdict")
    p.add_argument("--plain", action="store_true",
                   help="print one line per update (for logs) instead of a status line")
    p.add_argument("--minutes", type=float,
                   help="stop after this many minutes (default: until Ctrl-C, or the end of "
                   "the simulated session with --virtual)")
    p.add_argument("--acc-hz", type=float, default=200.0,
                   help="highest acceleration rate to ask a sensor for (default 200)")
    p.add_argument("--scan-timeout", type=float, default=10.0,
                   help="seconds to look for the devices (default 10)")
    p.add_argument("--pair", action="store_true",
                   help="pair with each device when connecting (default: only when a device "
                   "asks for it)")
    p.add_argument("--per-device", action="store_true",
                   help="each DEVICE is a different person: one recording each "
                   "(FILE-<name>.dwrec) and one tile each on the live page")
    p.add_argument("--serve", nargs="?", const="127.0.0.1:8765", metavar="HOST:PORT",
                   help="serve the live page for a phone or tablet (default 127.0.0.1:8765; "
                   "on any address but loopback the page's address holds a random token, "
                   "printed with a QR code)")
    v = p.add_argument_group("virtual wearable (no hardware)")
    v.add_argument("--virtual", action="store_true",
                   help="record a simulated chest strap (heart rate, RR, 200 Hz acceleration, "
                   "running speed) played over an in-process virtual radio")
    v.add_argument("--protocol", default=DEFAULT_PROTOCOL,
                   help=f"simulated protocol (default {DEFAULT_PROTOCOL}; see `dosewatch "
                   "simulate --help`)")
    v.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                   help=f"playback speed (default {DEFAULT_SPEED:g}: a minute per second)")
    v.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    v.add_argument("--participants", type=int, default=1,
                   help="simulated people, each with a strap of their own (default 1)")
    p.set_defaults(func=cmd_record)


# ---------------------------------------------------------------------------------------
# scan


@contextlib.asynccontextmanager
async def _bluetooth() -> AsyncIterator[None]:
    """Turn the platform's "no Bluetooth here" failures into one clear DeviceError."""
    from bleak.exc import BleakError

    from .recorder import DeviceError

    try:
        yield
    except (BleakError, OSError) as exc:
        raise DeviceError(
            f"cannot use the Bluetooth adapter ({type(exc).__name__}: {exc})",
            hint="check that Bluetooth is on (on Linux: the bluetooth service runs and the "
                 "adapter is up); without hardware, try --virtual",
        ) from None


def cmd_scan(args: argparse.Namespace) -> int:
    """``dosewatch scan``."""
    if not args.timeout > 0:
        raise ConfigError(f"--timeout must be positive, got {args.timeout:g}")
    found = asyncio.run(_scan(args.timeout, args.virtual))
    from .recorder import supported_services

    rows = []
    for device, adv in found:
        kinds = supported_services(adv.service_uuids)
        if kinds or args.all:
            rows.append((device.address, device.name or adv.local_name or "",
                         adv.rssi, ", ".join(kinds) or "-"))
    if not rows:
        print(f"no supported device found in {args.timeout:g} s "
              "(is it awake and not connected to another app?)")
        return 0
    rows.sort(key=lambda r: -(r[2] if r[2] is not None else -999))
    width = max(len(r[1]) for r in rows) + 2
    print(f"{'ADDRESS':<19}{'NAME':<{width}}{'RSSI':>5}  SERVICES")
    for address, name, rssi, kinds in rows:
        print(f"{address:<19}{name:<{width}}{rssi if rssi is not None else '':>5}  {kinds}")
    print("(services as advertised; a device may offer more once connected)")
    return 0


async def _scan(timeout: float, virtual: bool) -> list[tuple[BLEDevice, AdvertisementData]]:
    from bleak import BleakScanner

    if not virtual:
        async with _bluetooth():
            found = await BleakScanner.discover(timeout, return_adv=True)
        return list(found.values())
    from .virtual.backend import BumbleBleakScanner, VirtualRadio
    from .virtual.band import start_bands

    sessions = [_simulated("steady_light", 1, "chest", "hr+acc", acc_fs=25.0)[0],
                _simulated("steady_light", 2, "wrist", "acc", acc_fs=25.0)[0]]
    async with VirtualRadio() as radio:
        await start_bands(radio, sessions[:1])
        await start_bands(radio, sessions[1:], acc_format="delta", rsc=False)
        found = await BleakScanner.discover(timeout, return_adv=True,
                                            backend=BumbleBleakScanner, radio=radio)
        return list(found.values())


# ---------------------------------------------------------------------------------------
# record


def _simulated(protocol: str, seed: int, placement: str = "chest", modality: str = "hr+acc",
               minutes: float | None = None, acc_fs: float = 200.0) -> tuple[Session, Profile]:
    from dataclasses import replace

    import numpy as np

    from ..session import Series, build_session
    from ..simulate import PROTOCOLS, Options, random_person, simulate

    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}",
                          hint=f"choose one of: {', '.join(PROTOCOLS)}")
    person = random_person(np.random.default_rng(seed), id=f"virtual-{seed}")
    # On a treadmill that reports its incline (FTMS), as the batch demo's sessions are.
    sim = simulate(protocol, person, placement=placement, acc_fs=acc_fs, modality=modality,
                   seed=seed, options=Options(incline=True))
    session = sim.session
    if session.speed is not None and session.cadence is None:
        # A foot pod reports the steps the simulated person took, not the band's own guess
        # from speed (which switches from walking to running at one speed for everyone).
        t = np.asarray(sim.truth.t_s, dtype=np.float64)
        steps = Series(t, np.asarray(sim.truth.cadence_spm, dtype=np.float64), fs=1.0)
        session = replace(session, cadence=steps)
    if minutes is not None and minutes * 60.0 < session.duration_s:
        end = minutes * 60.0

        def cut(stream: Any, *values: str) -> tuple[Any, ...] | None:
            if stream is None:
                return None
            keep = stream.t < end
            return (stream.t[keep], *(getattr(stream, v)[keep] for v in values))

        hr = session.hr
        hr_values = ("bpm",) if hr is None or hr.rr_ms is None else ("bpm", "rr_ms")
        session = build_session(
            session.name, hr=cut(hr, *hr_values), acc=cut(session.acc, "xyz"),
            speed=cut(session.speed, "mps"), cadence=cut(session.cadence, "values"),
            grade=cut(session.grade, "values"), profile=session.profile,
            source=session.provenance.source, format="simulated")
    return session, session.profile


def calibration_for(path: str | None, profile: Profile | None) -> Any:
    """The calibration ``--calibration`` names: a file, or a folder holding the file of
    the profile's participant (None without the option).

    Raises:
        ConfigError: a folder but no participant id in the profile, or no file for them.
    """
    if not path:
        return None
    from ..calibration import calibration_file, read_calibration

    given = Path(path)
    if given.is_dir():
        if profile is None or not profile.id:
            raise ConfigError("--calibration names a folder, but the profile has no id",
                              hint="give --profile id=P01,... or the calibration file itself")
        file = calibration_file(given, profile.id)
        if not file.is_file():
            raise ConfigError(f"no calibration of participant {profile.id} in {given}",
                              hint="analyse their sessions with dosewatch analyze first, or "
                              "leave --calibration out")
        return read_calibration(file)
    return read_calibration(given)


def cmd_record(args: argparse.Namespace) -> int:
    """``dosewatch record``."""
    from ..cli.options import classifier_from, config_from, profile_from

    if args.virtual and args.devices:
        raise ConfigError("give either DEVICE names or --virtual, not both")
    if args.participants < 1 or (args.participants > 1 and not args.virtual):
        raise ConfigError("--participants needs --virtual and a number >= 1",
                          hint="with real devices, --per-device makes each one a participant")
    if args.serve is not None:
        from .serve import parse_listen

        parse_listen(args.serve)  # a bad address fails now, not after connecting
    if not args.speed > 0:
        raise ConfigError(f"--speed must be positive, got {args.speed:g}")
    if args.minutes is not None and not args.minutes > 0:
        raise ConfigError(f"--minutes must be positive, got {args.minutes:g}")
    if not args.acc_hz > 0:
        raise ConfigError(f"--acc-hz must be positive, got {args.acc_hz:g}")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise OutputError("a recording already exists here", source=out,
                          hint="choose another --out, or pass --force to replace it")
    config = config_from(args)
    profile = profile_from(args)
    # A missing or damaged model fails now, not after connecting.
    classifier = classifier_from(args)
    try:
        return asyncio.run(_record(args, out, config, profile, classifier))
    except asyncio.CancelledError:  # a second Ctrl-C cut the clean stop short
        raise KeyboardInterrupt from None


@dataclass
class _Person:
    """One participant of a recording session: their devices, recording and live analysis."""

    id: str
    name: str
    out: Path
    profile: Any
    session: Any = None  # virtual: the simulated session
    devices: list[Any] = field(default_factory=list)
    writer: Any = None
    live: Any = None
    view: Any = None
    recorder: Any = None


def _out_path(out: Path, name: str, several: bool) -> Path:
    if not several:
        return out
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "p"
    return out.with_name(f"{out.name.removesuffix('.dwrec')}-{safe}.dwrec")


def _on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event,
                main: asyncio.Task | None) -> None:
    """Ctrl-C (or SIGTERM) sets ``stop`` for a clean end; a second one cancels ``main``."""

    def on_signal() -> None:
        if stop.is_set() and main is not None:
            main.cancel()  # a second Ctrl-C: stop waiting for a clean end
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError):  # not on this platform / thread
            pass


def _forget_signals(loop: asyncio.AbstractEventLoop) -> None:
    """Undo :func:`_on_signals`."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.remove_signal_handler(sig)
        except (NotImplementedError, RuntimeError):
            pass


async def _participants(args: argparse.Namespace, out: Path,
                        profile: Profile | None) -> list[_Person]:
    """Who is recorded: ``--participants`` simulated people with ``--virtual``; else each
    found device a participant (``--per-device``), or one participant wearing them all."""
    people: list[_Person] = []
    if args.virtual:
        several = args.participants > 1
        for i in range(args.participants):
            seed = args.seed + i
            session, sim_profile = _simulated(args.protocol, seed, minutes=args.minutes)
            merged = sim_profile.merged(profile) if profile is not None else sim_profile
            name = f"p{i + 1}" if several else (merged.id or "participant")
            people.append(_Person(f"p{i + 1}", name, _out_path(out, name, several), merged,
                                  session=session))
    else:
        # Find the devices first: no empty recording is left behind when they are not there.
        devices, note = await _find_devices(list(args.devices), args.scan_timeout)
        if note is not None:
            print(note, file=sys.stderr)
        if args.per_device and len(devices) > 1:
            for i, device in enumerate(devices):
                name = device.name or device.address
                people.append(_Person(f"p{i + 1}", name, _out_path(out, name, True), profile,
                                      devices=[device]))
        else:
            people.append(_Person("p1", (profile.id if profile else None) or "participant",
                                  out, profile, devices=devices))
    return people


def _calibrations(args: argparse.Namespace, people: list[_Person], out: Path) -> dict[str, Any]:
    """Each participant's calibration, by id; refuses to replace a participant's existing
    recording without ``--force``."""
    calibrations = {}
    for person in people:
        if person.out.exists() and not args.force and person.out != out:
            raise OutputError("a recording already exists here", source=person.out,
                              hint="choose another --out, or pass --force to replace it")
        # A missing calibration fails now, before any recording is created.
        calibrations[person.id] = calibration_for(args.calibration, person.profile)
    return calibrations


def _open_person(person: _Person, index: int, several: bool, args: argparse.Namespace,
                 config: Any, classifier: Any, calibration: Any, server: Any) -> None:
    """Create the participant's recording, live view and live analysis (published to the
    page when one is served)."""
    from ..recording import RecordingWriter
    from .live import LiveAnalysis
    from .view import LiveView

    meta = {"recorded_with": "dosewatch record"}
    if person.session is not None:
        meta["virtual"] = (
            f"simulated {args.protocol} (seed {args.seed + index}) "
            f"played at {args.speed:g}x over a virtual radio")
    person.writer = RecordingWriter(person.out, profile=person.profile,
                                    meta=meta, overwrite=args.force)
    person.view = LiveView(plain=True if (args.plain or several) else None,
                           name=person.name if several else None)
    person.view.saved = (lambda w=person.writer: w.counts)
    person.live = LiveAnalysis(
        profile=person.profile, config=config, classifier=classifier,
        name=person.out.name.removesuffix(".dwrec"),
        calibration=calibration)
    person.live.subscribe(person.view.status)
    if server is not None:
        server.add_participant(person.id, person.name)
        person.live.subscribe(lambda st, pid=person.id: server.publish(pid, st))


async def _summarise(people: list[_Person]) -> None:
    """Finish each participant's live analysis and print its summary."""
    from .view import format_summary

    for person in people:
        try:
            final = await person.live.finish()  # shown as the last status line
        finally:
            person.view.close()
        sys.stdout.write(format_summary(final, person.recorder.devices,
                                        path=str(person.out), saved=person.writer.counts))


async def _record(args: argparse.Namespace, out: Path, config: Any, profile: Profile | None,
                  classifier: Any) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _on_signals(loop, stop, asyncio.current_task())
    people = await _participants(args, out, profile)
    calibrations = _calibrations(args, people, out)
    several = len(people) > 1
    server = None
    if args.serve is not None:
        from .serve import LiveServer, parse_listen

        server = LiveServer(*parse_listen(args.serve))
        await server.start()
    try:
        for index, person in enumerate(people):
            _open_person(person, index, several, args, config, classifier,
                         calibrations[person.id], server)
        if server is not None:
            server.announce(sys.stdout)
        try:
            if args.virtual:
                await _record_virtual(args, people, stop, server)
            else:
                await _record_devices(args, people, stop, server)
        except BaseException:
            for person in people:
                if person.live is not None:
                    person.live.close()
            raise
        finally:
            for person in people:
                if person.recorder is None and person.writer is not None:
                    person.writer.close()
            _forget_signals(loop)
        await _summarise(people)
    finally:
        if server is not None:
            await server.close()
    return 0


async def _until(stop: asyncio.Event, done: Callable[[], bool]) -> None:
    """Wait for ``stop`` or until ``done()`` (checked five times a second)."""
    waiter = asyncio.ensure_future(stop.wait())
    try:
        while not done():
            finished, _ = await asyncio.wait([waiter], timeout=0.2)
            if finished:
                return
    finally:
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)


async def _record_virtual(args: argparse.Namespace, people: list[_Person],
                          stop: asyncio.Event, server: Any) -> None:
    from bleak import BleakScanner

    from .recorder import DeviceError, Recorder
    from .virtual.backend import BumbleBleakClient, BumbleBleakScanner, VirtualRadio
    from .virtual.band import VirtualBand

    async with VirtualRadio() as radio:
        bands = []
        for person in people:
            # A stepped clock that waits for the recorder: the same session gives the same
            # recording on every run, however busy the machine is.
            # A treadmill with an incline sends speed and incline over FTMS; without one
            # a foot pod sends speed and cadence (RSC).
            treadmill = person.session.grade is not None
            band = VirtualBand(radio, person.session, speed=args.speed, step_s=_VIRTUAL_STEP_S,
                               wait_for_client=True, rsc=not treadmill, ftms=treadmill)
            await band.start()
            bands.append(band)
            device = await BleakScanner.find_device_by_address(
                band.address, timeout=5.0, backend=BumbleBleakScanner, radio=radio)
            if device is None:
                raise DeviceError("the virtual band did not advertise", source=band.address)
            person.view.message(
                f"Recording {band.name} (virtual: {args.protocol}, "
                f"{person.session.duration_s / 60:.0f} min at {args.speed:g}x) to "
                f"{person.writer.path}; Ctrl-C stops.")
            person.recorder = Recorder(
                person.writer, [device], live=person.live, clock=band.now,
                max_acc_hz=args.acc_hz, pair=True if args.pair else None,
                client_kwargs={"backend": BumbleBleakClient, "radio": radio},
                on_event=_events(person, server))
        try:
            for person in people:
                await person.recorder.start()
            # The end of playback, or Ctrl-C.
            await _until(stop, lambda: all(b.finished.is_set() for b in bands))
            await asyncio.sleep(0.05)  # what was sent last arrives
        finally:
            for person in people:
                await person.recorder.stop()


def _events(person: _Person, server: Any) -> Callable[[Any], None]:
    """Recorder events to the terminal, and the ones a participant should see to the page."""
    shown_on_page = {"disconnect", "reconnect", "stream-failed", "pair-failed", "stream"}

    def on_event(event: Any) -> None:
        person.view.event(event)
        if server is not None and event.kind in shown_on_page:
            server.note(person.id, f"{event.kind}: {event.detail}"[:160])

    return on_event


UNNAMED_PREFERENCE = (("heart_rate", "acc"), ("treadmill", "rsc"))
"""What ``record`` without a device name takes, best first: a heart-rate sensor or a Polar
accelerometer; else a treadmill (FTMS) or footpod (RSC), whose speed alone is a session."""


def choose_unnamed(seen: Mapping[str, tuple[BLEDevice, AdvertisementData]]
                   ) -> tuple[BLEDevice, str | None] | None:
    """The device ``record`` without a name records, from those seen (address ->
    device and its last advertisement): the strongest signal of the best kind
    (:data:`UNNAMED_PREFERENCE`); and a note for the participant when the choice leaves
    something out or records speed alone. None when no device offers any of them."""
    from .recorder import supported_services

    def rssi(adv: AdvertisementData) -> int:
        return adv.rssi if adv.rssi is not None else -999

    def label(device: BLEDevice, adv: AdvertisementData) -> str:
        return device.name or adv.local_name or device.address

    for rank, kinds in enumerate(UNNAMED_PREFERENCE):
        offers = [(device, adv) for device, adv in seen.values()
                  if set(kinds) & set(supported_services(adv.service_uuids))]
        if not offers:
            continue
        device, adv = max(offers, key=lambda pair: rssi(pair[1]))
        note = None
        if rank == 0:
            speed = sorted(((d, a) for d, a in seen.values() if d.address != device.address
                            and set(UNNAMED_PREFERENCE[1])
                            & set(supported_services(a.service_uuids))),
                           key=lambda pair: -rssi(pair[1]))
            if speed:
                note = (f"recording {label(device, adv)}; also seen, with speed: "
                        f"{', '.join(label(d, a) for d, a in speed)}. To record its speed "
                        f"too, give `dosewatch record` both names: '{label(device, adv)}' "
                        f"'{label(*speed[0])}'")
        else:
            note = (f"no heart-rate sensor seen: recording {label(device, adv)}'s speed "
                    "alone (intensity from speed; low certainty without your calibration). "
                    "Wear and wake a strap, or name it, for heart rate")
        return device, note
    return None


async def _find_devices(names: list[str], timeout: float, **scanner: Any
                        ) -> tuple[list[BLEDevice], str | None]:
    """The named devices (all of them, or a DeviceError), or without names the one
    :func:`choose_unnamed` picks, with its note for the participant. ``scanner``: further
    ``BleakScanner`` arguments (a backend and its radio, in the tests)."""
    from bleak import BleakScanner

    from .recorder import DeviceError

    wanted = {n.lower(): n for n in names}
    found: dict[str, BLEDevice] = {}
    seen: dict[str, tuple[BLEDevice, AdvertisementData]] = {}
    done = asyncio.Event()

    def on_seen(device: BLEDevice, adv: AdvertisementData) -> None:
        keys = {device.address.lower(), (device.name or adv.local_name or "").lower()}
        for key in keys & set(wanted):
            found.setdefault(wanted[key], device)
        if not names:
            seen[device.address] = (device, adv)
        if names and len(found) == len(names):
            done.set()

    async with _bluetooth(), BleakScanner(detection_callback=on_seen, **scanner):
        try:
            async with asyncio.timeout(timeout):
                await done.wait()
        except TimeoutError:
            pass
    if not names:
        chosen = choose_unnamed(seen)
        if chosen is None:
            raise DeviceError(f"no device offering heart rate, Polar acceleration, treadmill "
                              f"data or running speed found in {timeout:g} s",
                              hint="wake the strap (wet the electrodes), check `dosewatch "
                              "scan`, or name the device")
        device, note = chosen
        return [device], note
    missing = [n for n in names if n not in found]
    if missing:
        raise DeviceError(f"not found in {timeout:g} s: {', '.join(missing)}",
                          hint="check the address or name with `dosewatch scan`; a device "
                          "connected to another app does not advertise")
    return [found[n] for n in names], None


async def _record_devices(args: argparse.Namespace, people: list[_Person],
                          stop: asyncio.Event, server: Any) -> None:
    import math
    import time

    from .recorder import Recorder

    for person in people:
        names = ", ".join(d.name or d.address for d in person.devices)
        person.view.message(f"Recording {names} to {person.writer.path}; Ctrl-C stops.")
        person.recorder = Recorder(person.writer, person.devices, live=person.live,
                                   max_acc_hz=args.acc_hz, pair=True if args.pair else None,
                                   on_event=_events(person, server))
    try:
        for person in people:
            await person.recorder.start()
        end = math.inf if args.minutes is None else time.time() + 60.0 * args.minutes
        await _until(stop, lambda: time.time() >= end)
    finally:
        for person in people:
            await person.recorder.stop()
