"""Which classifier a name stands for: the built-in models, a model folder, a user's class.

:func:`get_classifier` is the one place a classifier is chosen, for the command line
(``--classifier NAME`` and ``--model PATH``), the Python API, batches and live recording.
What it accepts:

- a :class:`~dosewatch.models.base.Classifier` instance: used as it is;
- the name of a built-in classifier (:data:`BUILTIN`) or of one that another package
  registers in the entry-point group ``dosewatch.classifiers`` (the entry point names a
  class, or a factory, called with no arguments);
- a folder holding a trained learned model (``learned.json`` and its ONNX files, as
  ``python -m dosewatch.models.train --out FOLDER`` writes them);
- ``module:Class`` (or ``module:factory``): imported and called with no arguments.

A batch carries the classifier object itself to its workers, not its name, so a user's
own class runs the same in ``analyze_session``, in a local batch and on Dask (it must be
importable there, and picklable).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import ConfigError, ModelError
from .base import Classifier

ENTRY_POINT_GROUP = "dosewatch.classifiers"
DEFAULT_CLASSIFIER = "physio"
"""The classifier used when none is named: the one best on real recordings that meets
the simulator's targets, never one that real data show worse than ``rules`` (issue 11;
the figures are in ``models/MODEL_CARD.md``). With acceleration alone, where no real
recording has a reference, ``physio`` is also the better one in simulated free-living
days (dose flag 93 % against the learned model's 68 %, ``scripts/eval_freeliving_acc.py``),
though not in simulated lab protocols (see ``auto``)."""


def _rules() -> Classifier:
    from .rules import RuleClassifier

    return RuleClassifier()


def _physio() -> Classifier:
    from .physio import PhysioClassifier

    return PhysioClassifier()


def _auto() -> Classifier:
    from .auto import AutoClassifier

    return AutoClassifier()


def _learned() -> Classifier:
    from .learned import LearnedClassifier, load_model

    load_model()  # a missing or damaged install fails here, once, not once per session
    return LearnedClassifier()


# name -> (factory, one line for --help)
BUILTIN: dict[str, tuple[Callable[[], Classifier], str]] = {
    "auto": (_auto, "physio with heart rate, learned with acceleration alone (better on lab "
             "protocols such as ramps, worse on free-living days)"),
    "learned": (_learned, "the shipped ONNX model: physio's decision corrected by "
                "gradient-boosted trees trained on the simulator"),
    "rules": (_rules, "the transparent baseline: SPEC rules on measured heart rate"),
    "physio": (_physio, "workload trend for accelerating, heart-rate demand for the level"),
}


@lru_cache(maxsize=1)
def _plugins() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def names() -> tuple[str, ...]:
    """Every classifier name :func:`get_classifier` knows, built-in ones first."""
    return tuple(BUILTIN) + tuple(sorted(set(_plugins()) - set(BUILTIN)))


def describe() -> str:
    """One line per known name, for ``--help``."""
    return "; ".join(f"{n}: {BUILTIN[n][1]}" if n in BUILTIN else n for n in names())


def _checked(obj: object, where: str) -> Classifier:
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:  # noqa: BLE001 - a user's class: say what went wrong
            raise ModelError(f"{where} cannot be created without arguments ({exc})",
                             hint="give the class defaults for every argument") from None
    elif callable(obj) and not isinstance(obj, Classifier):
        obj = obj()
    if not isinstance(obj, Classifier):
        raise ModelError(
            f"{where} is not a classifier (it needs a 'name' and a "
            "'predict(features, info, config)' method)",
            hint="see dosewatch.models.base.Classifier")
    return obj


def _from_import_path(spec: str) -> Classifier:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(f"cannot import {module_name!r} for --model {spec} ({exc})",
                         hint="install the module, or run from the folder that holds it"
                         ) from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise ModelError(f"module {module_name!r} has no {attr!r}",
                         hint=f"check the name after the colon in {spec}") from None
    return _checked(obj, spec)


def get_classifier(spec: str | Path | Classifier | None = None) -> Classifier:
    """The classifier that ``spec`` stands for (see the module text); the default
    (:data:`DEFAULT_CLASSIFIER`) when None.

    Raises:
        ConfigError: an unknown name.
        ModelError: a model folder that cannot be loaded, or a ``module:Class`` that
            cannot be imported or is not a classifier.
    """
    if spec is None:
        spec = DEFAULT_CLASSIFIER
    if isinstance(spec, Classifier) and not isinstance(spec, type):
        return spec
    if isinstance(spec, Path) or (isinstance(spec, str) and ("/" in spec or spec.startswith("."))
                                   and ":" not in spec):
        return learned_from_folder(Path(spec))
    if not isinstance(spec, str):
        raise ConfigError(f"not a classifier: {spec!r}",
                          hint="pass a name, a model folder or module:Class")
    if spec in BUILTIN:
        return BUILTIN[spec][0]()
    if spec in _plugins():
        plugin = _plugins()[spec]
        return _checked(plugin.load(), f"classifier {spec!r}")  # type: ignore[attr-defined]
    if ":" in spec:
        return _from_import_path(spec)
    if Path(spec).is_dir():
        return learned_from_folder(Path(spec))
    raise ConfigError(f"unknown classifier {spec!r}",
                      hint=f"choose one of: {', '.join(names())}; or give a trained model "
                      "folder or module:Class (--model on the command line)")


def learned_from_folder(folder: Path) -> Classifier:
    """A learned classifier on the model in ``folder``, checked now (a broken folder fails
    once, before a batch starts, not once per session)."""
    from .learned import LearnedClassifier, load_model

    if not folder.is_dir():
        raise ModelError("no such model folder", source=folder,
                         hint="pass the folder that holds learned.json and its ONNX files")
    load_model(folder)
    return LearnedClassifier(model_dir=folder.resolve(), name=f"learned:{folder.name}")


def classifier_identity(classifier: Classifier) -> str:
    """What a classifier's outputs depend on, for a batch's resume check: its
    ``identity`` when it has one (the learned model: a digest of its files), else its
    class and parameters."""
    identity = getattr(classifier, "identity", None)
    if isinstance(identity, str):
        return identity
    kind = type(classifier)
    return f"{kind.__module__}.{kind.__qualname__}:{classifier!r}"
