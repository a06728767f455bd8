"""The one exception family of dosewatch.

Every error a user can cause derives from :class:`DosewatchError` and carries the input it
is about and what to do, so the command line can print one line and pick an exit code, and
a batch can record it in its failures list and go on.
"""

from __future__ import annotations

import re
from pathlib import Path

# Longest piece of an input's own text an error message may quote (a column name, a cell).
QUOTE_LIMIT = 40


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


class NotARecording(InputError):
    """An input that holds no recording at all (a questionnaire or a log saved as a table
    among the study's files): a batch lists it as skipped with its reason, as it does
    files of kinds it does not read, and goes on without failing."""


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


def sanitise(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``text`` made safe to quote in a message: printable ASCII only (anything else, a
    control character or an escape sequence included, becomes ``?``), runs of spaces
    collapsed, cut to ``limit`` characters with ``...`` marking the cut.

    Messages quote what they must to name a problem (a column name, a bad cell), never
    more; this keeps a quoted piece short and harmless on a terminal or in a JSON file.
    """
    raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes | bytearray) \
        else str(text)
    clean = "".join(c if " " <= c <= "~" else "?" for c in raw)
    clean = re.sub(r"\s+", " ", clean).strip()
    if len(clean) > limit:
        clean = clean[: max(0, limit - 3)] + "..."
    return clean


def quote(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``sanitise(text)`` in single quotes, for messages: ``'Zeit'``."""
    return "'" + sanitise(text, limit) + "'"


_LONG_LINE = ("a line is longer than the reader's block (a file without line breaks, or an "
              "unclosed quote)")
# What libraries say, and what it means for a user's file. Checked in order; the first
# pattern found in the library's message gives the plain reason.
_PLAIN_REASONS: tuple[tuple[str, str], ...] = (
    ("straddl", _LONG_LINE),
    ("block size", _LONG_LINE),
    ("unknown encoding", "the file declares a text encoding that cannot be read"),
    ("out of memory", "it needs more memory than is available"),
    ("malloc", "it needs more memory than is available"),
    ("no space left", "the disk is full"),
    ("file too large", "the file system refused a file that large"),
    ("name too long", "a file name is too long for the file system"),
    ("permission denied", "permission denied"),
)


def plain_reason(exc: BaseException, limit: int = 80) -> str:
    """A short, plain description of a library's exception for a message: known library
    jargon is replaced by what it means; anything else is its first line, sanitised
    (library messages can quote a file's content, e.g. a CSV row), or its type's name."""
    text = str(exc)
    lower = text.lower()
    for pattern, meaning in _PLAIN_REASONS:
        if pattern in lower:
            return meaning
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    # Arrow quotes the offending row after the last colon of "...: got 1: <row>".
    first = re.sub(r"(got \d+)\s*:.*$", r"\1", first)
    return sanitise(first, limit) or type(exc).__name__


ADDRESS_SPACE_OVERHEAD_MB = 2048.0
"""About what a dosewatch process maps besides its data (Python, NumPy, Arrow, thread
stacks): an address-space limit below an input's memory budget plus this is the one an
input runs into first."""


def address_space_limit_mb() -> float | None:
    """The address-space limit set on this process from outside (``ulimit -v``, or a
    cluster job's memory request), in MB; None when there is none."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    return None if soft == resource.RLIM_INFINITY else soft / (1 << 20)


def _rooms_mb(address_space_mb: float) -> tuple[float, float] | None:
    """Room left now under the address-space limit and under the data limit (which an
    input's memory budget sets, see :func:`dosewatch.batch.memory_budget`), in MB; None
    when no data limit is in force or ``/proc`` cannot tell."""
    import resource

    data_limit = resource.getrlimit(resource.RLIMIT_DATA)[0]
    if data_limit == resource.RLIM_INFINITY:
        return None
    used: dict[str, float] = {}
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                key = line.split(b":")[0]
                if key in (b"VmData", b"VmSize"):
                    used[key.decode()] = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    if len(used) != 2:
        return None
    return address_space_mb - used["VmSize"], data_limit / (1 << 20) - used["VmData"]


def memory_limits(budget_mb: float) -> tuple[str, str]:
    """What an input that ran out of memory ran into, and what to do: its budget
    (``[batch] input_memory_mb``), or an address-space limit set outside dosewatch when
    that one is the one reached (then raising the budget would not help). Called where
    the MemoryError is caught, inside the budget: the limit with less room left is the
    one the failed allocation ran into (every data allocation takes address space too);
    elsewhere, the address-space limit counts when it is below the budget plus what a
    process maps besides its data."""
    limit = address_space_limit_mb()
    rooms = None if limit is None else _rooms_mb(limit)
    if limit is not None and (limit < budget_mb + ADDRESS_SPACE_OVERHEAD_MB if rooms is None
                              else rooms[0] < rooms[1]):
        return (f"more memory than this process may use (its address space is limited to "
                f"{limit:,.0f} MB from outside dosewatch: ulimit -v, or the job's memory "
                "request on a cluster)",
                "raise that limit (ulimit -v unlimited, or ask for more memory), or check "
                "that the input is what it should be")
    return (f"more memory than its budget of {budget_mb:g} MB",
            "check that the input is what it should be; to analyse it anyway, raise "
            "[batch] input_memory_mb in the configuration")
