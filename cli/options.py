"""Options several commands share, parsed in one place: the configuration, the
participant's profile and the classifier."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import Config
from ..errors import ConfigError
from ..session import Profile


def add_config_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML configuration (see `dosewatch config`)")


def add_profile_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--profile", help=f"profile.toml, or key=value pairs: age=34,hr_rest=55 "
                   f"({what})")


def add_classifier_options(p: argparse.ArgumentParser) -> None:
    """``--classifier NAME`` and ``--model PATH`` (see :mod:`dosewatch.models.registry`)."""
    from ..models.registry import DEFAULT_CLASSIFIER, describe

    group = p.add_mutually_exclusive_group()
    group.add_argument("--classifier", metavar="NAME",
                       help=f"a built-in classifier (default {DEFAULT_CLASSIFIER}): {describe()}")
    group.add_argument("--model", metavar="PATH",
                       help="a trained model folder (python -m dosewatch.models.train --out "
                       "FOLDER), or module:Class for your own classifier")


def config_from(args: argparse.Namespace) -> Config:
    path = getattr(args, "config", None)
    return Config.load(path) if path else Config()


def profile_from(args: argparse.Namespace) -> Profile | None:
    """``--profile`` is a profile.toml path or ``key=value,key=value``."""
    text = getattr(args, "profile", None)
    if not text:
        return None
    from ..profiles import parse_profile_string, read_profile

    if "=" not in text:
        return read_profile(Path(text))
    return parse_profile_string(text, source="--profile")


def classifier_from(args: argparse.Namespace):  # noqa: ANN201 - a Classifier
    """The classifier the options name, loaded and checked before any work starts."""
    from ..models.registry import get_classifier

    spec = getattr(args, "model", None) or getattr(args, "classifier", None)
    if spec is not None and not str(spec).strip():
        raise ConfigError("--classifier/--model is empty", hint="name a classifier or a model")
    return get_classifier(spec)
