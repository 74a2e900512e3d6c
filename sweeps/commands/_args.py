"""Argument types for every ``toymodels`` command (sweeps' and analytics' alike): each
rejects a bad value with one line naming the value and what is allowed.

``label`` prefixes the value in the message (e.g. ``"importance "``) where the option's
name alone would leave the reader guessing which number was wrong.
"""

from __future__ import annotations

import argparse
import math


def _parse(text: str, convert: type, kind: str, label: str):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{label}{text!r} is not {kind}") from None


def positive_int(text: str, label: str = "") -> int:
    value = _parse(text, int, "an integer", label)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{label}{value} must be an integer >= 1")
    return value


def nonnegative_int(text: str, label: str = "") -> int:
    value = _parse(text, int, "an integer", label)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{label}{value} must be an integer >= 0")
    return value


def positive_float(text: str, label: str = "") -> float:
    value = _parse(text, float, "a number", label)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{label}{text} must be a finite number > 0")
    return value


def density(text: str) -> float:
    value = _parse(text, float, "a number", "")
    if not (math.isfinite(value) and 0 < value <= 1):
        raise argparse.ArgumentTypeError(f"density {text} is outside (0, 1]")
    return value


def contexts(text: str) -> int:
    """The number of contexts of the contextual task: 3 to 5."""
    value = _parse(text, int, "an integer", "contexts ")
    if not 3 <= value <= 5:
        raise argparse.ArgumentTypeError(f"contexts {value} must be an integer from 3 to 5")
    return value


def conflict(text: str) -> float:
    """A task conflict κ: a number in [0, 1]."""
    value = _parse(text, float, "a number", "conflict ")
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError(f"conflict {text} is outside [0, 1]")
    return value
