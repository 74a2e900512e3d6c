"""The one exception type for bad user input.

Every check that rejects user input raises :class:`ConfigError` with a single line that
names the offending value and says what is allowed; the CLI prints that line and exits
non-zero without a traceback.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable


class ConfigError(ValueError):
    """Invalid configuration or input, described in one line."""


class Notice(UserWarning):
    """Something a finished run's user must know (e.g. models that diverged, a capped
    ``jobs``); the command line prints each as one ``warning:`` line."""


class DivergedCells(Notice):
    """Every seed of at least one grid cell diverged; the command line then exits 1."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean "x"?)' when a close match exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> ConfigError:
    choices = sorted(choices)
    return ConfigError(
        f'unknown {kind} "{name}"{did_you_mean(name, choices)}; allowed: {", ".join(choices)}'
    )


def check_int(name: str, value, *, minimum: int | None = None) -> int:
    """An integer (bools and floats with a fraction are refused) not below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{name}={value!r} is not an integer")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} must be an integer >= {minimum}")
    return value


def check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name}={value!r} is not a number")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name}={value} is not finite; a finite number is required")
    return value


def check_density(name: str, value) -> float:
    value = check_real(name, value)
    if not 0.0 < value <= 1.0:
        raise ConfigError(
            f"{name}={value:g} is outside (0, 1]; a feature density must be in (0, 1]"
        )
    return value


def check_nonnegative(name: str, value) -> float:
    value = check_real(name, value)
    if value < 0.0:
        raise ConfigError(f"{name}={value:g} is negative; it must be >= 0")
    return value


def check_positive(name: str, value) -> float:
    value = check_real(name, value)
    if value <= 0.0:
        raise ConfigError(f"{name}={value:g} must be > 0")
    return value
