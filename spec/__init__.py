"""The definitions (docs/definitions.md, from the product specification) as code: levels,
the four epoch labels, the session class, bouts and the 30-minute dose, and the robust
trend and run arithmetic they are written in.

This package sits below both :mod:`dosewatch.features` and :mod:`dosewatch.models`: the
features, the classifiers, the simulator's reference labels, the picture and the live view
all read the definitions from here, so they cannot read them differently. It imports
nothing of dosewatch but the configuration. ``docs/definitions.md`` explains every term in
words.
"""

from .bouts import Bout, bout_spans, find_bouts
from .labels import (
    LABEL_NAMES,
    LEVEL_NAMES,
    Label,
    accelerating_mask,
    label_epochs,
    label_names,
    levels,
    session_class,
    trend_half_width,
)

__all__ = [
    "LABEL_NAMES",
    "LEVEL_NAMES",
    "Bout",
    "Label",
    "accelerating_mask",
    "bout_spans",
    "find_bouts",
    "label_epochs",
    "label_names",
    "levels",
    "session_class",
    "trend_half_width",
]
