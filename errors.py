"""The one exception family of dosewatch.

Every error a user can cause derives from :class:`DosewatchError` and carries the input it
is about and what to do, so the command line can print one line and pick an exit code, and
a batch can record it in its failures list and go on.
"""

from __future__ import annotations

from pathlib import Path


class DosewatchError(Exception):
    """Base class of every error dosewatch raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, source: str | Path | None = None, hint: str | None = None):
        self.source = None if source is None else str(source)
        self.reason = message
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        text = f"{self.source}: {self.reason}" if self.source else self.reason
        if self.hint:
            text += f" — {self.hint}"
        return text


class InputError(DosewatchError):
    """An input file or folder cannot be read as a session (missing, malformed, empty)."""

    exit_code = 3


class ProfileError(InputError):
    """A participant profile holds values that cannot be right (age 400, HR_rest > HR_max)."""


class ConfigError(DosewatchError):
    """A configuration file or option is invalid."""

    exit_code = 2


class OutputError(DosewatchError):
    """An output cannot be written where asked (the path is a file, or a folder that
    holds something and may not be overwritten)."""

    exit_code = 5


class ModelError(DosewatchError):
    """A classifier cannot run: missing model file, version or feature-list mismatch."""

    exit_code = 4


class DeviceError(DosewatchError):
    """A Bluetooth device cannot be used: no adapter, not found, or it refused what the
    recorder asked."""

    exit_code = 6
