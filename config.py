"""Every threshold of the definitions (docs/definitions.md) in one place, loadable from
a TOML file.

``Config()`` holds the defaults of the definitions; ``default_config.toml`` (shipped with the
package, and printed by ``dosewatch config``) is the same values as a file a study can copy
and edit. Unknown sections or keys are errors, never silently ignored.
"""

from __future__ import annotations

import ast
import inspect
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError


@dataclass(frozen=True, slots=True)
class EpochConfig:
    epoch_s: float = 60.0
    """Length of one epoch in seconds."""
    min_data_fraction: float = 0.5
    """A session whose epochs hold data for less than this fraction of its span gets a
    warning in its summary (minutes without data are missing, never part of a dose)."""


@dataclass(frozen=True, slots=True)
class LevelConfig:
    """%HRR boundaries of the four intensity levels."""

    light_from: float = 20.0
    """Below this %HRR an epoch is rest."""
    intermediate_from: float = 40.0
    """From here to ``vigorous_from`` is the intermediate band."""
    vigorous_from: float = 60.0
    """At or above this %HRR an epoch is vigorous."""


@dataclass(frozen=True, slots=True)
class TrendConfig:
    """The *accelerating* rule."""

    window_min: float = 10.0
    """Length of the centred window for the Theil–Sen slope, minutes."""
    accelerating_slope: float = 0.75
    """Minimum Theil–Sen slope of intensity over the window's non-rest part, %HRR/min."""
    min_nonrest_fraction: float = 0.5
    """At least this fraction of the window must be non-rest."""
    single_change_fraction: float = 0.5
    """A single change of pace is not a ramp: with the window's largest change of pace taken
    out, what is left must still rise at this fraction of ``accelerating_slope``
    (docs/definitions.md). 0 keeps the bare slope rule."""


@dataclass(frozen=True, slots=True)
class BoutConfig:
    qualifying_from: float = 40.0
    """Epochs at or above this %HRR qualify for a bout."""
    max_break_min: float = 2.0
    """No single break in a bout may be longer than this, minutes."""
    max_break_fraction: float = 0.2
    """Breaks may add up to at most this fraction of the bout's length."""
    dose_min: float = 30.0
    """A bout meets the dose with at least this many qualifying minutes."""


@dataclass(frozen=True, slots=True)
class HeartRateConfig:
    hr_rest_default: float = 60.0
    """HR_rest when neither the profile nor a resting stretch in the data gives one."""
    hr_max_default: float = 190.0
    """HR_max when the profile gives neither hr_max nor age."""
    tanaka_intercept: float = 208.0
    """HR_max from age: tanaka_intercept - tanaka_slope * age (Tanaka et al. 2001)."""
    tanaka_slope: float = 0.7
    """See tanaka_intercept."""
    hr_max_raise_s: float = 30.0
    """HR_max is raised to a heart rate held for at least this long (artefacts removed)."""
    valid_min_bpm: float = 30.0
    """Heart rates below this are sensor errors and removed."""
    valid_max_bpm: float = 230.0
    """Heart rates above this are sensor errors and removed."""
    max_jump_bpm_per_s: float = 15.0
    """Sample-to-sample changes faster than this are artefacts, not physiology."""
    cadence_lock_tolerance_spm: float = 4.0
    """A wrist heart rate within this of the step cadence (or half of it) is cadence lock."""
    max_gap_s: float = 10.0
    """Heart rate is interpolated across gaps up to this long, seconds; a longer gap stays
    missing (a dropout is a gap, not data)."""
    lag_s: float = 30.0
    """Heart rate follows a change of workload with this delay; the ``hr_bpm`` feature
    reads each epoch's heart rate this much later. 0 disables the compensation."""
    tau_on_s: float = 35.0
    """Time constant of heart rate rising to meet a higher workload (first-order kinetics);
    the demand estimate inverts it."""
    tau_off_s: float = 70.0
    """Time constant of heart rate falling after the workload drops (slower than the
    rise); the demand estimate inverts it."""
    demand_window_s: float = 61.0
    """Seconds of heart rate smoothed (Savitzky–Golay, quadratic) for the demand estimate
    and its derivative."""
    rest_min_minutes: float = 3.0
    """A resting stretch for estimating HR_rest lasts at least this long."""
    rest_max_bpm: float = 100.0
    """Heart rates above this are never taken for resting ones."""
    rest_max_sd_bpm: float = 4.0
    """Within a resting stretch each minute's heart rate varies by at most this (SD)."""
    rest_max_slope_bpm_min: float = 1.5
    """...and the stretch's level changes by at most this per minute (flat, not recovering)."""
    still_enmo_g: float = 0.02
    """With acceleration, a resting minute has a mean ENMO below this (the body is still)."""


@dataclass(frozen=True, slots=True)
class AccelerationConfig:
    """Acceleration-only intensity: ENMO (g) at which %HRR reaches 20, 40 and 60, per
    placement; intensity is interpolated linearly between the points. The defaults come from
    ``scripts/calibrate_acc.py`` (simulated people, development seed 123, 25 people); the
    hip uses the chest's (both on the trunk)."""

    wrist_enmo_g: tuple[float, float, float] = (0.060, 0.107, 0.293)
    """ENMO (g) at 20, 40 and 60 %HRR for a wrist-worn sensor."""
    chest_enmo_g: tuple[float, float, float] = (0.050, 0.083, 0.209)
    """ENMO (g) at 20, 40 and 60 %HRR for a chest-worn sensor."""
    hip_enmo_g: tuple[float, float, float] = (0.050, 0.083, 0.209)
    """ENMO (g) at 20, 40 and 60 %HRR for a hip-worn sensor."""
    default_placement: str = "wrist"
    """Placement assumed when the profile does not give one (a warning says so)."""
    min_coverage: float = 0.5
    """An epoch needs this fraction of its samples to get a value."""


@dataclass(frozen=True, slots=True)
class AdherenceConfig:
    """Weekly adherence across sessions (SPEC: 3-4 sessions a week with the dose met, for
    at least 6 weeks)."""

    dose_sessions_per_week: int = 3
    """Sessions with the dose met that an ISO week needs to meet the recommendation."""
    target_weeks: int = 6
    """Consecutive weeks meeting it that the recommendation asks for."""
    count_same_day_once: bool = False
    """Count two dose sessions on one day once (count dose days instead of sessions)."""
    timezone: str = ""
    """IANA time zone (e.g. "Europe/London") in which a session's day and ISO week are read;
    empty: as its start time is recorded (UTC for most watch exports and recordings)."""
    naive_timezone: str = ""
    """IANA time zone of the times recorded without one (EDF, Polar Sensor Logger, phone
    CSV exports write the local wall-clock time): they are turned into UTC from it. Empty:
    timezone when one is set, else UTC. Files with their own zone or UTC are unchanged."""

    def naive_zone(self) -> str:
        """The zone in which times recorded without one are read (see naive_timezone)."""
        return self.naive_timezone or self.timezone or "UTC"


@dataclass(frozen=True, slots=True)
class FreeLivingConfig:
    """Free-living recordings (a wrist band worn for days): non-wear is found, and the
    exercise sessions inside the recording are analysed one by one (``freeliving.py``).
    A minute is active when heart rate is at least ``[levels] light_from`` %HRR with the
    body moving (mean ENMO at least ``moving_enmo_g``), or, without heart rate, when its
    mean ENMO reaches the placement's light cut-point of ``[acceleration]``."""

    enabled: bool = True
    """Split long recordings into their exercise sessions (false: one session, as read)."""
    min_recording_h: float = 6.0
    """A recording at least this long (hours) is free-living; shorter ones, and activity
    files (FIT, TCX, GPX, ... or any naming a sport), are one exercise session as read."""
    nonwear_window_min: float = 60.0
    """Non-wear: a window this long (minutes) in which the sensor lay still; every minute
    of it is non-wear (GGIR's 2013 rule, van Hees et al.). Windows slide by a minute."""
    nonwear_sd_g: float = 0.013
    """Non-wear: an axis lay still when its standard deviation over the window is below
    this (g) and its range below ``nonwear_range_g``."""
    nonwear_range_g: float = 0.05
    """Non-wear: the range of an axis's 1-s means over the window must be below this (g)."""
    nonwear_axes: int = 2
    """Non-wear: at least this many of the three axes lay still. Minutes with heart rate
    are worn whatever the acceleration says."""
    moving_enmo_g: float = 0.02
    """With heart rate, an active minute also needs at least this mean ENMO (g): a raised
    heart rate in a still body is not exercise."""
    min_active_min: float = 10.0
    """A session holds at least this many active minutes (walking to the shop is not a
    session)."""
    join_gap_min: float = 3.0
    """Active stretches separated by at most this many minutes are one session."""
    margin_min: float = 5.0
    """Each session is extended by this many minutes at each end (warm-up, cool-down and
    the rest before), within the worn time and short of the neighbouring session."""


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """What one input may use in a batch (``dosewatch analyze``). An input over its budget
    fails with its own reason; the batch goes on. These do not change any result, so a
    rerun with other budgets still skips sessions analysed before."""

    input_memory_mb: float = 4096.0
    """Memory one input may take on top of what the worker already holds, MB."""
    input_time_s: float = 900.0
    """Time one input may take (reading, analysing, writing), seconds."""


@dataclass(frozen=True, slots=True)
class Config:
    epochs: EpochConfig = field(default_factory=EpochConfig)
    levels: LevelConfig = field(default_factory=LevelConfig)
    trend: TrendConfig = field(default_factory=TrendConfig)
    bouts: BoutConfig = field(default_factory=BoutConfig)
    heart_rate: HeartRateConfig = field(default_factory=HeartRateConfig)
    acceleration: AccelerationConfig = field(default_factory=AccelerationConfig)
    adherence: AdherenceConfig = field(default_factory=AdherenceConfig)
    free_living: FreeLivingConfig = field(default_factory=FreeLivingConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)

    @property
    def epoch_min(self) -> float:
        return self.epochs.epoch_s / 60.0

    @classmethod
    def load(cls, path: str | Path) -> Config:
        """Defaults overridden by the sections and keys of a TOML file."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("configuration file not found", source=path) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"not valid TOML ({exc})", source=path) from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>") -> Config:
        config = cls()
        sections = {f.name: f for f in fields(cls)}
        for name, values in data.items():
            if name not in sections or not isinstance(values, dict):
                raise ConfigError(
                    f"unknown section [{name}]",
                    source=source,
                    hint="known sections: " + ", ".join(sections),
                )
            current = getattr(config, name)
            known = {f.name: f for f in fields(current)}
            for key, value in values.items():
                if key not in known:
                    raise ConfigError(
                        f"unknown key {key!r} in [{name}]",
                        source=source,
                        hint="known keys: " + ", ".join(known),
                    )
                default = getattr(current, key)
                if isinstance(default, tuple):
                    if not isinstance(value, list) or not all(
                            isinstance(v, int | float) and not isinstance(v, bool)
                            for v in value):
                        raise ConfigError(f"[{name}] {key} must be a list of numbers",
                                          source=source)
                    value = tuple(float(v) for v in value)
                elif isinstance(default, bool):
                    if not isinstance(value, bool):
                        raise ConfigError(f"[{name}] {key} must be true or false",
                                          source=source)
                elif isinstance(default, int):
                    if isinstance(value, bool) or not isinstance(value, int):
                        raise ConfigError(f"[{name}] {key} must be a whole number",
                                          source=source)
                elif isinstance(default, float):
                    if isinstance(value, bool) or not isinstance(value, int | float):
                        raise ConfigError(f"[{name}] {key} must be a number", source=source)
                    value = float(value)
                elif not isinstance(value, type(default)):
                    raise ConfigError(
                        f"[{name}] {key} must be {type(default).__name__}", source=source
                    )
                current = replace(current, **{key: value})
            config = replace(config, **{name: current})
        config.check(source)
        return config

    def check(self, source: str = "<config>") -> None:
        """Refuse values that cannot be meant: not finite, outside :data:`RANGES`, or
        contradicting each other (levels that do not rise)."""
        for section in fields(self):
            values = getattr(self, section.name)
            for f in fields(values):
                value = getattr(values, f.name)
                numbers = value if isinstance(value, tuple) else (value,)
                for number in numbers:
                    if isinstance(number, bool) or not isinstance(number, int | float):
                        continue
                    shown = f"[{section.name}] {f.name} = {number!r}"
                    if not math.isfinite(number):
                        raise ConfigError(f"{shown} is not a finite number", source=source,
                                          hint="give a number (nan and inf are not values)")
                    lo, hi = RANGES.get((section.name, f.name), (None, None))
                    if (lo is not None and number < lo) or (hi is not None and number > hi):
                        raise ConfigError(f"{shown} is outside {lo:g}–{hi:g}", source=source,
                                          hint=f"set {f.name} between {lo:g} and {hi:g}")
        lv = self.levels
        if not 0 < lv.light_from < lv.intermediate_from < lv.vigorous_from <= 100:
            raise ConfigError("levels must rise: 0 < light < intermediate < vigorous <= 100",
                              source=source)
        if self.epochs.epoch_s <= 0 or 3600 % self.epochs.epoch_s and 60 % self.epochs.epoch_s:
            raise ConfigError("epoch_s must divide a minute or an hour evenly", source=source)
        hr = self.heart_rate
        if not hr.valid_min_bpm < hr.valid_max_bpm:
            raise ConfigError("[heart_rate] valid_min_bpm must be below valid_max_bpm",
                              source=source)
        if not hr.hr_rest_default < hr.hr_max_default:
            raise ConfigError("[heart_rate] hr_rest_default must be below hr_max_default",
                              source=source)
        ad = self.adherence
        if ad.dose_sessions_per_week < 1 or ad.target_weeks < 1:
            raise ConfigError("[adherence] dose_sessions_per_week and target_weeks must be at "
                              "least 1", source=source)
        for key in ("timezone", "naive_timezone"):
            zone = getattr(ad, key)
            if not zone:
                continue
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(f"[adherence] {key} {zone!r} is not a known time zone",
                                  source=source,
                                  hint='use an IANA name such as "Europe/Berlin"') from None
        fl = self.free_living
        if not (fl.min_recording_h > 0 and fl.nonwear_window_min >= 1 and fl.nonwear_sd_g > 0
                and fl.nonwear_range_g > 0 and 1 <= fl.nonwear_axes <= 3
                and fl.moving_enmo_g >= 0 and fl.min_active_min >= 1
                and fl.join_gap_min >= 0 and fl.margin_min >= 0):
            raise ConfigError("[free_living] values must be positive (nonwear_axes 1 to 3, "
                              "windows and minutes at least 1)", source=source)
        for placement in ("wrist", "chest", "hip"):
            knots = getattr(self.acceleration, f"{placement}_enmo_g")
            if len(knots) != 3 or not 0 < knots[0] < knots[1] < knots[2]:
                raise ConfigError(f"[acceleration] {placement}_enmo_g must be 3 rising numbers",
                                  source=source)

    def to_toml(self) -> str:
        """The configuration as TOML, each key with its documentation as a comment."""
        docs = _attribute_docs()
        lines = ["# dosewatch configuration: the defaults of docs/definitions.md. Copy, edit, "
                 "pass --config."]
        for section, values in asdict(self).items():
            lines.append(f"\n[{section}]")
            for key, value in values.items():
                for doc_line in docs.get(key, "").splitlines():
                    lines.append(f"# {doc_line.strip()}")
                if isinstance(value, bool):
                    lines.append(f"{key} = {'true' if value else 'false'}")
                elif isinstance(value, str):
                    lines.append(f'{key} = "{value}"')
                elif isinstance(value, tuple | list):
                    lines.append(f"{key} = [{', '.join(repr(float(v)) for v in value)}]")
                else:
                    lines.append(f"{key} = {value!r}")
        return "\n".join(lines) + "\n"


# (section, key) -> the values that can be meant, inclusive. Every number must also be
# finite. Bounds keep the analysis' arrays at the size of the data: a trend window of a
# billion minutes or an epoch of a day would allocate gigabytes for nothing.
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("epochs", "epoch_s"): (1.0, 3600.0),
    ("epochs", "min_data_fraction"): (0.0, 1.0),
    ("levels", "light_from"): (0.0, 100.0),
    ("levels", "intermediate_from"): (0.0, 100.0),
    ("levels", "vigorous_from"): (0.0, 100.0),
    ("trend", "window_min"): (1.0, 240.0),
    ("trend", "accelerating_slope"): (0.0, 100.0),
    ("trend", "min_nonrest_fraction"): (0.0, 1.0),
    ("trend", "single_change_fraction"): (0.0, 1.0),
    ("bouts", "qualifying_from"): (0.0, 100.0),
    ("bouts", "max_break_min"): (0.0, 60.0),
    ("bouts", "max_break_fraction"): (0.0, 0.99),
    ("bouts", "dose_min"): (1.0, 1440.0),
    ("heart_rate", "hr_rest_default"): (25.0, 120.0),
    ("heart_rate", "hr_max_default"): (100.0, 240.0),
    ("heart_rate", "tanaka_intercept"): (100.0, 260.0),
    ("heart_rate", "tanaka_slope"): (0.0, 2.0),
    ("heart_rate", "hr_max_raise_s"): (1.0, 3600.0),
    ("heart_rate", "valid_min_bpm"): (0.0, 300.0),
    ("heart_rate", "valid_max_bpm"): (0.0, 300.0),
    ("heart_rate", "max_jump_bpm_per_s"): (0.1, 300.0),
    ("heart_rate", "cadence_lock_tolerance_spm"): (0.0, 100.0),
    ("heart_rate", "max_gap_s"): (0.0, 300.0),
    ("heart_rate", "lag_s"): (0.0, 600.0),
    ("heart_rate", "tau_on_s"): (1.0, 600.0),
    ("heart_rate", "tau_off_s"): (1.0, 600.0),
    ("heart_rate", "demand_window_s"): (3.0, 600.0),
    ("heart_rate", "rest_min_minutes"): (1.0, 120.0),
    ("heart_rate", "rest_max_bpm"): (25.0, 240.0),
    ("heart_rate", "rest_max_sd_bpm"): (0.0, 100.0),
    ("heart_rate", "rest_max_slope_bpm_min"): (0.0, 100.0),
    ("heart_rate", "still_enmo_g"): (0.0, 10.0),
    ("acceleration", "wrist_enmo_g"): (0.0, 20.0),
    ("acceleration", "chest_enmo_g"): (0.0, 20.0),
    ("acceleration", "hip_enmo_g"): (0.0, 20.0),
    ("acceleration", "min_coverage"): (0.0, 1.0),
    ("adherence", "dose_sessions_per_week"): (1, 50),
    ("adherence", "target_weeks"): (1, 520),
    ("free_living", "min_recording_h"): (0.5, 31 * 24.0),
    ("free_living", "nonwear_window_min"): (1.0, 1440.0),
    ("free_living", "nonwear_sd_g"): (0.0, 1.0),
    ("free_living", "nonwear_range_g"): (0.0, 2.0),
    ("free_living", "nonwear_axes"): (1, 3),
    ("free_living", "moving_enmo_g"): (0.0, 2.0),
    ("free_living", "min_active_min"): (1.0, 1440.0),
    ("free_living", "join_gap_min"): (0.0, 120.0),
    ("free_living", "margin_min"): (0.0, 120.0),
    ("batch", "input_memory_mb"): (64.0, 1 << 20),
    ("batch", "input_time_s"): (1.0, 7 * 86400.0),
}


def _attribute_docs() -> dict[str, str]:
    """``{key: docstring}`` of the attributes above, read from this module's source, so the
    TOML's comments and the code's documentation are one text."""
    docs: dict[str, str] = {}
    try:
        tree = ast.parse(inspect.getsource(inspect.getmodule(_attribute_docs)))
    except (OSError, TypeError):  # installed without sources: keys without comments
        return docs
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            body = node.body
            for stmt, after in zip(body, body[1:], strict=False):
                if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                        and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                        and isinstance(after.value.value, str)):
                    docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    return docs
