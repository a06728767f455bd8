"""What a simulated session can be asked for: placements, modalities, profiles and rates,
and the checks that refuse anything else with the allowed values named."""

from __future__ import annotations

PLACEMENTS = ("wrist", "chest")
MODALITIES = ("hr+acc", "hr", "acc")
PROFILES = ("full", "age", "none")
ACC_FS_RANGE = (25.0, 200.0)


def check_allowed(kind: str, value: object, allowed: tuple[str, ...]) -> None:
    """Refuse ``value`` unless it is one of ``allowed``, naming them."""
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; expected one of: {', '.join(allowed)}")


def check_placement(placement: str) -> None:
    """Refuse a placement other than ``wrist`` or ``chest``."""
    check_allowed("placement", placement, PLACEMENTS)
