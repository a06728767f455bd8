"""The participant's profile: ``profile.toml`` next to a session, or ``--profile`` options.

Both routes give a validated :class:`~dosewatch.session.Profile`. A profile names only the
fields it knows; the rest stay ``None`` and are estimated or defaulted later (see SPEC,
"Relative intensity").

``profile.toml`` holds top-level keys only::

    id = "P017"          # text (a bare integer is accepted and kept as text)
    age = 34             # years
    hr_rest = 55         # bpm
    hr_max = 186         # bpm
    placement = "wrist"  # wrist | chest | hip
    sex = "female"       # free text, not used for intensity
    weight_kg = 61.5
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .errors import ProfileError
from .session import PLACEMENTS, Profile

NUMBER_FIELDS = ("age", "hr_rest", "hr_max", "weight_kg")
TEXT_FIELDS = ("id", "placement", "sex")
FIELDS = tuple(Profile.__dataclass_fields__)

__all__ = [
    "FIELDS",
    "parse_profile_options",
    "parse_profile_string",
    "profile_for_input",
    "profile_to_toml",
    "read_profile",
    "write_profile",
]


def _unknown_key(key: str, source: str) -> ProfileError:
    close = difflib.get_close_matches(key, FIELDS, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "remove it"
    return ProfileError(
        f"unknown profile key '{key}' (known: {', '.join(FIELDS)})", source=source, hint=hint
    )


def _profile_from_values(values: Mapping[str, object], source: str) -> Profile:
    """Build and validate a Profile from already-typed values (TOML or parsed options)."""
    fields: dict[str, object] = {}
    for key, value in values.items():
        if key not in FIELDS:
            raise _unknown_key(key, source)
        if key in NUMBER_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                shown = f"the text {value!r}" if isinstance(value, str) else repr(value)
                raise ProfileError(
                    f"profile key {key} must be a number, got {shown}",
                    source=source,
                    hint=f"write it as a bare number, e.g. {key} = {_number_example(key)}",
                )
            value = float(value)
        elif key == "id":
            # Study ids are often plain integers; keep them as text.
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            elif not isinstance(value, str):
                raise ProfileError(
                    f"profile key id must be text, got {value!r}",
                    source=source,
                    hint='quote it, e.g. id = "P017"',
                )
        else:
            if not isinstance(value, str):
                raise ProfileError(
                    f"profile key {key} must be text, got {value!r}",
                    source=source,
                    hint=f'quote it, e.g. {key} = "{_example(key)}"',
                )
            value = value.strip()
            if key == "placement":
                value = value.lower()
        fields[key] = value
    return Profile(**fields).validate(source)  # type: ignore[arg-type]


def _example(key: str) -> str:
    return {"placement": PLACEMENTS[0], "sex": "female"}.get(key, "...")


def _number_example(key: str) -> str:
    """A value of ``key`` that the profile's own check accepts (an example in a hint must
    not be refused in turn)."""
    return {"age": "34", "hr_rest": "55", "hr_max": "185", "weight_kg": "70"}.get(key, "60")


def read_profile(path: str | Path) -> Profile:
    """Read and validate a ``profile.toml``.

    Raises:
        ProfileError: the file is missing or unreadable, is not valid TOML, has a key that is
            not a profile field, a value of the wrong type, or an impossible value.
    """
    path = Path(path)
    source = str(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ProfileError("profile file not found", source=source, hint="check the path") from None
    except IsADirectoryError:
        raise ProfileError(
            "is a folder, not a profile file", source=source, hint="pass the profile.toml itself"
        ) from None
    except OSError as exc:
        raise ProfileError(
            f"cannot read the profile file ({exc.strerror or exc})",
            source=source,
            hint="check the file's permissions",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(
            f"not valid TOML ({exc})",
            source=source,
            hint="write one 'key = value' per line, text in double quotes",
        ) from None
    except UnicodeDecodeError:
        raise ProfileError(
            "not valid TOML (the file is not UTF-8 text)",
            source=source,
            hint="save the file as UTF-8 text",
        ) from None
    for key, value in data.items():
        if isinstance(value, dict | list):
            if key not in FIELDS:
                raise _unknown_key(key, source)
            raise ProfileError(
                f"profile key {key} must be a single value, got a {type(value).__name__}",
                source=source,
                hint="profile.toml holds top-level 'key = value' lines only",
            )
    return _profile_from_values(data, source)


def parse_profile_options(mapping: Mapping[str, object], source: str = "--profile") -> Profile:
    """Build a validated Profile from command-line style options.

    Values may be text (``{"age": "34", "hr_rest": "55"}``, as a command line gives them)
    or already typed. Empty text means "not given". Keys are matched case-insensitively.

    Raises:
        ProfileError: an unknown key, a number that does not parse, or an impossible value.
    """
    values: dict[str, object] = {}
    for raw_key, raw in mapping.items():
        key = str(raw_key).strip().lower()
        if key not in FIELDS:
            raise _unknown_key(key, source)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if key in NUMBER_FIELDS and isinstance(raw, str):
            try:
                number = float(raw.strip())
            except ValueError:
                raise ProfileError(
                    f"profile option {key}={raw!r} is not a number",
                    source=source,
                    hint=f"give a number, e.g. {key}={_number_example(key)}",
                ) from None
            if not math.isfinite(number):
                raise ProfileError(
                    f"profile option {key}={raw!r} is not a finite number",
                    source=source,
                    hint=f"give a number, e.g. {key}={_number_example(key)}",
                )
            values[key] = number
        else:
            values[key] = raw
    return _profile_from_values(values, source)


def parse_profile_string(text: str, source: str = "--profile") -> Profile:
    """Parse ``"age=34,hr_rest=55,placement=wrist"`` (the ``--profile`` option's form).

    Raises:
        ProfileError: an item without ``=``, a key given twice, or anything
            :func:`parse_profile_options` rejects.
    """
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise ProfileError(
                f"profile option {item.strip()!r} is not key=value",
                source=source,
                hint="write e.g. age=34,hr_rest=55",
            )
        if key in mapping:
            raise ProfileError(
                f"profile option {key} is given twice", source=source, hint="give it once"
            )
        mapping[key] = value
    return parse_profile_options(mapping, source)


def profile_to_toml(profile: Profile) -> str:
    """The profile as ``profile.toml`` text; fields that are ``None`` are left out."""
    lines = []
    for key in FIELDS:
        value = getattr(profile, key)
        if value is None:
            continue
        if isinstance(value, str):
            # A JSON string is a valid TOML basic string (same escapes).
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        else:
            lines.append(f"{key} = {float(value)!r}")
    return "".join(line + "\n" for line in lines)


def write_profile(profile: Profile, path: str | Path) -> Path:
    """Write ``profile_to_toml(profile)`` to ``path`` and return the path."""
    path = Path(path)
    path.write_text(profile_to_toml(profile), encoding="utf-8")
    return path


def profile_for_input(
    path: Path,
    folder_profiles: Sequence[Path],
    override: Profile | None = None,
    read: Callable[[Path], Profile] = read_profile,
) -> Profile:
    """The profile an input is read with when folders above it hold ``profile.toml``
    files (``folder_profiles``, the outermost first; see
    :mod:`dosewatch.ingest.discover`). Nearer files win field by field, then the
    input's own ``profile.toml`` (a session folder's), then ``override`` (``--profile``);
    the result overrides what the input's files say (a FIT file's resting heart rate).

    Args:
        read: reads one profile file (a cache, when many inputs share one).

    Raises:
        ProfileError: a profile file is invalid (the reason names it), or the merged
            profile is impossible (hr_rest not below hr_max, naming the files merged).
    """
    files = list(folder_profiles)
    own = path / "profile.toml"
    if path.is_dir() and own.is_file() and own not in files:  # discovery may list it
        files.append(own)
    merged = Profile()
    for file in files:
        try:
            merged = merged.merged(read(file))
        except ProfileError as exc:
            raise ProfileError(f"its profile {file} is refused: {exc.reason}",
                               hint=exc.hint) from None
    names = ", ".join(str(f) for f in files)
    if override is not None:
        merged = merged.merged(override)
        names += " with the given profile"
    try:
        return merged.validate()
    except ProfileError as exc:
        raise ProfileError(f"its profile from {names}: {exc.reason}", hint=exc.hint) from None
