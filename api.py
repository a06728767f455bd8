"""The Python API: what a notebook or a script calls. The command line is a thin layer
over these functions.

    import dosewatch
    result = dosewatch.analyze("run.fit", profile={"age": 34})
    epochs = result.epochs()          # a pandas DataFrame, one row per minute

- :func:`read` / :func:`read_all`: a session (or every session an input holds: the
  exercise sessions of a free-living recording) from any input dosewatch reads;
- :func:`analyze`: the verdict of one session (a path or a :class:`Session`);
- :func:`analyze_batch`: what ``dosewatch analyze`` does: every input under some paths,
  analysed into an output folder (in parallel, or on a Dask cluster), past bad inputs.

A profile may be given as a :class:`~dosewatch.session.Profile`, a dict
(``{"age": 34, "hr_rest": 55}``) or keywords (``age=34``); a configuration as a
:class:`~dosewatch.config.Config`, a TOML path or a dict of sections; a classifier as a
name (``"rules"``), a trained model folder, ``"module:Class"`` or an instance.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .calibration import Calibration, read_calibration
from .config import Config
from .errors import ConfigError, InputError
from .session import Profile, Session

if TYPE_CHECKING:
    from .analysis import SessionResult
    from .batch import BatchReport

PathLike = str | os.PathLike[str]
ProfileLike = Profile | Mapping[str, object] | None
ConfigLike = Config | PathLike | Mapping[str, Any] | None

__all__ = ["analyze", "analyze_batch", "as_config", "as_profile", "read", "read_all"]


def as_profile(profile: ProfileLike = None, **fields: object) -> Profile | None:
    """A validated :class:`Profile` from a Profile, a dict or keywords (or None).

    Raises:
        ProfileError: an unknown field or an impossible value.
    """
    from .profiles import parse_profile_options

    if isinstance(profile, Profile):
        if fields:
            return profile.merged(parse_profile_options(fields, source="profile"))
        return profile.validate("profile")
    if profile is not None and not isinstance(profile, Mapping):
        raise ConfigError(f"profile must be a Profile, a dict or keywords, not "
                          f"{type(profile).__name__}", hint='e.g. profile={"age": 34}')
    merged = {**(profile or {}), **fields}
    if not merged:
        return None
    return parse_profile_options(merged, source="profile")


def as_config(config: ConfigLike = None) -> Config:
    """A :class:`Config` from a Config, a TOML path, a dict of sections, or the defaults.

    Raises:
        ConfigError: an unknown section or key, or a value of the wrong kind.
    """
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return Config.from_dict(dict(config), source="config")
    return Config.load(Path(config))


def read(path: PathLike, profile: ProfileLike = None, *, name: str | None = None,
         columns: Mapping[str, str] | None = None, **profile_fields: object) -> Session:
    """The one session an input holds (a watch export, a recording, a session folder...).

    Args:
        path: the file or folder.
        profile: the participant (Profile, dict, or give fields as keywords: ``age=34``);
            overrides what the input says about them.
        name: the session's name (default: the input's name).
        columns: for tables whose headers dosewatch does not recognise, which column
            holds what (``{"time": "Zeit", "hr": "Puls"}``).

    Raises:
        InputError: the input cannot be read (the message says why and what to do), or it
            holds several sessions (use :func:`read_all`).
        ProfileError: an invalid profile.
    """
    from .ingest.registry import ReadOptions, read_one

    options = ReadOptions(profile=as_profile(profile, **profile_fields), name=name,
                          columns=dict(columns or {}))
    return read_one(Path(path), options)


def read_all(path: PathLike, profile: ProfileLike = None, *, name: str | None = None,
             columns: Mapping[str, str] | None = None, config: ConfigLike = None,
             free_living: bool = True, **profile_fields: object) -> list[Session]:
    """Every session an input holds (a TCX history or a bulk export holds several),
    named ``NAME-1``, ``NAME-2``, ... when there are several. A free-living recording
    (a band worn for days, see :mod:`dosewatch.freeliving`) gives the exercise sessions
    found in it, named ``NAME-<YYYY-MM-DD>-<HHMM>`` (none when it holds no exercise);
    ``free_living=False`` gives it whole, as :func:`read` does. ``config``: the
    thresholds (``[free_living]``) and the zone of times recorded without one
    (``[adherence] naive_timezone``). Other arguments as :func:`read`."""
    from .freeliving import split_free_living
    from .ingest.registry import ReadOptions
    from .ingest.registry import read_all as registry_read_all

    settings = as_config(config)
    options = ReadOptions(profile=as_profile(profile, **profile_fields), name=name,
                          columns=dict(columns or {}),
                          naive_zone=settings.adherence.naive_zone(),
                          timezone=settings.adherence.timezone)
    sessions = registry_read_all(Path(path), options)
    if not free_living:
        return sessions
    return split_free_living(sessions, settings)[0]


def analyze(source: PathLike | Session, config: ConfigLike = None,
            classifier: Any = None, profile: ProfileLike = None,
            calibration: Calibration | PathLike | None = None,
            **profile_fields: object) -> SessionResult:
    """The verdict of one session: class, labels per epoch, bouts, the dose.

    Args:
        source: a path (read with :func:`read`) or a :class:`Session`.
        config: a Config, a TOML path or a dict of sections (default: the SPEC's values).
        classifier: a name (``"rules"``), a trained model folder, ``"module:Class"`` or a
            classifier instance (default: the shipped default).
        profile: the participant, for a path (Profile, dict or keywords).
        calibration: the participant's calibration, or its file (see
            :mod:`dosewatch.calibration`).

    Returns:
        A :class:`~dosewatch.analysis.SessionResult`: ``.epochs()`` is a DataFrame of
        the epochs with wall-clock times, ``.summary()`` what ``summary.json`` holds,
        ``.bouts``, ``.session_class``, ``.dose_met``.

    Raises:
        InputError, ProfileError, ConfigError, ModelError: with what to do.
    """
    from .analysis import analyze_session

    if isinstance(source, Session):
        session = source
        wanted = as_profile(profile, **profile_fields)
        if wanted is not None:
            session = session.with_profile(wanted)
    elif isinstance(source, str | os.PathLike):
        session = read(source, profile, **profile_fields)
    else:
        raise InputError(f"cannot analyse a {type(source).__name__}",
                         hint="pass a path or a dosewatch Session")
    if calibration is not None and not isinstance(calibration, Calibration):
        calibration = read_calibration(Path(calibration))
    return analyze_session(session, as_config(config), classifier, calibration)


def analyze_batch(
    inputs: PathLike | Iterable[PathLike],
    out: PathLike,
    *,
    config: ConfigLike = None,
    classifier: Any = None,
    profile: ProfileLike = None,
    columns: Mapping[str, str] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    pictures: bool = True,
    force: bool = False,
    progress: bool | None = None,
    on_result: Callable[[str, object], None] | None = None,
    calibrate: bool = True,
    calibration_dir: PathLike | None = None,
) -> BatchReport:
    """Analyse every input below ``inputs`` into the folder ``out``, as
    ``dosewatch analyze`` does: one folder per session, ``sessions.csv``/``.parquet``,
    ``failures.json`` (every input that failed and every file skipped, with reasons),
    ``config.toml``. A bad input never stops the batch; a rerun resumes.

    Args:
        inputs: a path or several: files, session folders, folders holding them.
        out: the output folder.
        workers: local processes; ``scheduler``: a Dask scheduler address instead.
        pictures: draw ``session.png`` per session.
        force: redo sessions whose outputs are complete and current.
        progress: a progress bar (None: when writing to a terminal).
        on_result: called with ``(status, payload)`` as each input finishes (``ok``,
            ``failed`` or ``skipped``).
        calibrate: learn each participant's calibration across their sessions and use it
            (see :mod:`dosewatch.calibration`); ``calibration_dir`` is where the files
            are read and written (default ``out/calibration``).

    Returns:
        A :class:`~dosewatch.batch.BatchReport` with the typed rows, the failures and the
        skipped files.

    Raises:
        InputError: none of ``inputs`` exists (nothing is written; a batch with some
            missing inputs lists them as failed instead).
    """
    from .batch import run_batch
    from .ingest.discover import discover

    paths = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    inventory = discover(paths)
    if paths and all(not os.path.lexists(p) for p in paths):
        # Nothing given exists (a mistyped path): nothing to analyse, so no output folder
        # is made for it either.
        raise InputError(
            "no such file or folder" if len(paths) == 1 else
            f"none of the {len(paths)} inputs exists", source=paths[0] if len(paths) == 1
            else None, hint="check the path; quote it if it holds spaces")
    return run_batch(
        inventory, Path(out), config=as_config(config), classifier=classifier,
        profile=as_profile(profile), columns=dict(columns or {}), workers=workers,
        scheduler=scheduler, pictures=pictures, force=force, progress=progress,
        on_result=on_result, calibrate=calibrate,
        calibration_dir=None if calibration_dir is None else Path(calibration_dir),
    )
