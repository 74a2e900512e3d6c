"""Grid axes of a sweep spec: explicit lists or log/linearly spaced ranges."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from toymodels.errors import ConfigError, check_int, did_you_mean

from ._fields import RULES, Vocabulary

# More values than this on one axis is a typo (its values alone would take gigabytes
# before any size check could run); a finer scan is several sweeps.
MAX_VALUES = 100_000


@dataclass(frozen=True)
class Axis:
    """One grid axis: a field name and its values, given as a list or a spaced range.

    ``rule`` is ``"list"``, ``"logspace"`` (geometric, endpoints exact) or ``"linspace"``;
    integer fields round spaced values to the nearest integer.
    """

    name: str
    values: tuple
    rule: str = "list"
    bounds: tuple[float, float] | None = None
    num: int | None = None

    @classmethod
    def parse(cls, name: str, raw: Any, vocab: Vocabulary) -> Axis:
        """Axis ``name`` from its TOML value, for a sweep with vocabulary ``vocab``."""
        where = f"axes.{name}"
        allowed = vocab.axes
        if name not in allowed:
            if name in vocab.not_axes:
                raise ConfigError(f"{where}: {name} cannot be an axis (coordinates are scalars)")
            raise ConfigError(
                f'unknown axis "{name}" for the {vocab.family} family learning "{vocab.task}"'
                f"{did_you_mean(name, allowed)}; allowed: {', '.join(allowed)}"
            )
        value_kind = vocab.kind(name)
        if isinstance(raw, list | tuple):
            if not raw:
                raise ConfigError(f"{where} is an empty list; give at least one value")
            if len(raw) > MAX_VALUES:
                raise ConfigError(
                    f"{where} has {len(raw)} values, above the limit of {MAX_VALUES:,}"
                )
            values = tuple(_scalar(f"{where}[{i}]", v, value_kind) for i, v in enumerate(raw))
            axis = cls(name, values)
        elif isinstance(raw, Mapping):
            axis = cls._spaced(where, name, value_kind, raw)
        else:
            raise ConfigError(
                f"{where}={raw!r} must be a list of values or "
                f"{{ logspace = [a, b], num = N }} / {{ linspace = [a, b], num = N }}"
            )
        if len(set(axis.values)) != len(axis.values):
            raise ConfigError(
                f"{where} has repeated values {list(axis.values)}; values must differ"
            )
        return axis

    @classmethod
    def _spaced(cls, where: str, name: str, kind: type, raw: Mapping) -> Axis:
        rules = [k for k in raw if k in RULES]
        for key in raw:
            if key not in (*RULES, "num"):
                raise ConfigError(
                    f'unknown key "{where}.{key}"{did_you_mean(key, (*RULES, "num"))}; '
                    f"allowed: logspace, linspace, num"
                )
        if len(rules) != 1 or "num" not in raw:
            raise ConfigError(
                f"{where} needs exactly one of logspace/linspace = [a, b] and num = N"
            )
        rule = rules[0]
        if kind is str:
            raise ConfigError(f"{where}: {name} takes text values; give an explicit list")
        num = check_int(f"{where}.num", raw["num"], minimum=1)
        if num > MAX_VALUES:
            raise ConfigError(f"{where}.num={num} is above the limit of {MAX_VALUES:,} values")
        ends = raw[rule]
        if not isinstance(ends, list | tuple) or len(ends) != 2:
            raise ConfigError(f"{where}.{rule}={ends!r} must be two numbers [a, b]")
        a, b = (_scalar(f"{where}.{rule}[{i}]", v, float) for i, v in enumerate(ends))
        if rule == "logspace":
            if a <= 0 or b <= 0:
                raise ConfigError(f"{where}.logspace=[{a:g}, {b:g}]: both ends must be > 0")
            values = np.geomspace(a, b, num)
        else:
            values = np.linspace(a, b, num)
        if kind is int:
            values = np.rint(values)
        return cls(name, tuple(kind(v) for v in values.tolist()), rule, (a, b), num)

    def to_toml(self) -> list | dict:
        """The value as written in a spec file (spaced axes keep their rule)."""
        if self.rule == "list":
            return list(self.values)
        return {self.rule: list(self.bounds), "num": self.num}


def _scalar(where: str, value: Any, kind: type):
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}={value!r} must be text")
        return value
    if kind is int:
        return check_int(where, value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}={value!r} is not a number")
    if not math.isfinite(value):
        raise ConfigError(f"{where}={value} is not finite; a finite number is required")
    return float(value)
