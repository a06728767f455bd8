"""``dosewatch simulate``: write simulated sessions with their ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path


def _options(args: argparse.Namespace):  # -> dosewatch.simulate.Options
    from ..simulate import Options, Outdoor

    outdoor = None
    if args.outdoor or args.hills is not None or args.pacing or args.stops is not None:
        outdoor = Outdoor(hills=0.04 if args.hills is None else args.hills,
                          pacing=args.pacing or "effort",
                          stops_per_hour=0.0 if args.stops is None else args.stops)
    return Options(drift_bpm_per_min=args.drift, hr_rest_shift_bpm=args.hr_rest_shift,
                   outdoor=outdoor, gps={"auto": None, "on": True, "off": False}[args.gps],
                   incline=args.incline, workload_channels=not args.no_workload_channels)


def cmd_simulate(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..simulate.folders import simulate_to_folders

    try:
        written = simulate_to_folders(
            Path(args.out),
            protocols=args.protocol or None,
            placements=args.placement,
            modality=args.modality,
            profile=args.profile_kind,
            acc_fs=args.acc_fs,
            seed=args.seed,
            count=args.count,
            fmt=args.format,
            population=args.population,
            options=_options(args),
        )
    except ValueError as exc:
        raise ConfigError(str(exc), hint="see dosewatch simulate --help") from None
    n = len(written)
    print(f"{n} simulated session{'' if n == 1 else 's'} written to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    # Light modules only (NumPy): the parser is built on every command.
    from ..simulate.options import MODALITIES
    from ..simulate.people import POPULATIONS

    p = sub.add_parser(
        "simulate", help="write simulated sessions with known ground truth",
        description="Write simulated sessions as session folders (hr, acc, speed, "
        "profile.toml) with their ground truth (truth.json: labels, bouts, class, dose), for "
        "trying dosewatch or testing a method against known answers.")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--protocol", action="append", metavar="NAME",
                   help="protocol (repeatable; default: the ten of dosewatch.simulate."
                   "PROTOCOLS; also intervals, ramp_to_exhaustion, outdoor_run, steady_ride)")
    p.add_argument("--placement", action="append", choices=["wrist", "chest"],
                   help="accelerometer placement (repeatable; default: wrist)")
    p.add_argument("--modality", default="hr+acc", choices=MODALITIES,
                   help="streams written (hr+speed: a watch export; speed: the same "
                   "watch worn without its strap, read through the participant's calibrated "
                   "fitness)")
    p.add_argument("--profile", dest="profile_kind", default="full",
                   choices=["full", "age", "none"],
                   help="what the written profile.toml gives away (default: full)")
    p.add_argument("--acc-fs", type=float, default=50.0, help="acceleration rate, Hz")
    p.add_argument("--seed", type=int, default=0, help="the same seed, the same sessions")
    p.add_argument("--count", type=int, default=1, help="sessions per protocol and placement")
    p.add_argument("--format", default="csv", choices=["csv", "csv.gz", "parquet"],
                   help="stream file format (default csv)")
    p.add_argument("--population", default="typical", choices=POPULATIONS,
                   help="typical (VO2max 28-60) or wide (25-75, walkers to fast runners)")
    p.add_argument("--drift", type=float, metavar="BPM_PER_MIN",
                   help="cardiac drift at a steady effort, 0-2 bpm/min, nearly linear as in "
                   "heat (default: each person's own, 0.1-0.3, levelling off)")
    p.add_argument("--hr-rest-shift", type=float, default=0.0, metavar="BPM",
                   help="the day's HR_rest minus the person's (the profile keeps theirs)")
    p.add_argument("--outdoor", action="store_true",
                   help="take walks and runs outdoors (hills, pacing, stops; GPS speed)")
    p.add_argument("--hills", type=float, metavar="GRADE",
                   help="outdoors: steepest grade of the hills, a fraction (default 0.04)")
    p.add_argument("--pacing", choices=["effort", "speed"],
                   help="outdoors: hold the effort (default) or the speed over the hills")
    p.add_argument("--stops", type=float, metavar="PER_HOUR",
                   help="outdoors: stops at crossings (10-60 s) per hour (default 0)")
    p.add_argument("--gps", default="auto", choices=["auto", "on", "off"],
                   help="speed as a GPS watch reports it (auto: when outdoors)")
    p.add_argument("--incline", action="store_true",
                   help="on a treadmill, record its incline as a grade stream")
    p.add_argument("--no-workload-channels", action="store_true",
                   help="no speed, power or cadence stream (a strap or band alone)")
    p.set_defaults(func=cmd_simulate)
