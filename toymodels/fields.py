"""Declared config fields: what a family, a task or a regulariser lets a user set.

Every config is a frozen dataclass whose fields are made with :func:`param`, which
records the field's check (its type, what is allowed, and examples of what is refused),
whether it may differ between models trained together in one batch (``per_model``), and
whether a sweep spec sets it at the top level (``top``: sizes that fix tensor shapes).
Specs, ``--set``, axes, the chunk plan and the common tests all read these declarations;
nothing about a field is written twice.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import (
    ConfigError,
    check_density,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    unknown_name,
)


@dataclass(frozen=True)
class Check:
    """One field's check: ``apply(name, value)`` returns the value normalised or raises a
    one-line ``ConfigError``; ``bad`` are values it refuses (the common tests try each)."""

    kind: type  # the scalar type of the field: int, float or str (tuple: not an axis)
    apply: Callable[[str, Any], Any]
    allowed: str
    bad: tuple = ()


def integer(minimum: int = 1) -> Check:
    return Check(
        int,
        lambda name, v: check_int(name, v, minimum=minimum),
        f"an integer >= {minimum}",
        (minimum - 1, 2.5, "two"),
    )


POSITIVE = Check(float, check_positive, "a number > 0", (0.0, -1.0, math.nan, "x"))


def within(lo: float, hi: float, why: str) -> Check:
    """A finite number in ``[lo, hi]``; ``why`` says what the bounds protect."""

    def apply(name: str, value):
        value = check_real(name, value)
        if not lo <= value <= hi:
            raise ConfigError(f"{name}={value:g} is outside [{lo:g}, {hi:g}] ({why})")
        return value

    below = lo / 10 if lo > 0 else lo * 10 - 1  # a value under the range, whatever its sign
    return Check(float, apply, f"a number in [{lo:g}, {hi:g}]", (below, hi * 10, math.nan))


def integer_within(lo: int, hi: int) -> Check:
    """An integer in ``[lo, hi]``."""

    def apply(name: str, value):
        k = check_int(name, value)
        if not lo <= k <= hi:
            raise ConfigError(f"{name}={k} must be an integer from {lo} to {hi}")
        return k

    return Check(int, apply, f"an integer from {lo} to {hi}", (lo - 1, hi + 1, lo + 0.5, "x"))


def optional_integer(minimum: int, absent: str) -> Check:
    """An integer >= ``minimum``, or None; ``absent`` says what leaving it out means."""

    def apply(name: str, value):
        if value is None:
            return None
        k = check_int(name, value)
        if k < minimum:
            raise ConfigError(f"{name}={k} must be an integer >= {minimum} ({absent})")
        return k

    return Check(int, apply, f"an integer >= {minimum}", (minimum - 1, 2.5, "x"))


NONNEGATIVE = Check(float, check_nonnegative, "a number >= 0", (-0.5, math.inf, "x"))
DENSITY = Check(float, check_density, "a number in (0, 1]", (0.0, 1.5, math.nan))


def choice(kind: str, names: Callable[[], Iterable[str]]) -> Check:
    """A name from ``names()`` (read when checked, so registries may grow)."""

    def apply(name: str, value):
        allowed = tuple(names())
        if value not in allowed:
            raise unknown_name(kind, str(value), allowed)
        return value

    article = "an" if kind[0] in "aeiou" else "a"
    return Check(str, apply, f"{article} {kind} name", ("no-such-name",))


def per_feature(check: Check) -> Check:
    """A number, or a list of numbers (one per feature; the length is checked by the
    config, which knows the number of features).  Only the number form can be an axis."""

    def apply(name: str, value):
        if isinstance(value, Sequence) and not isinstance(value, str):
            return tuple(check.apply(f"{name}[{i}]", v) for i, v in enumerate(value))
        return check.apply(name, value)

    return Check(check.kind, apply, f"{check.allowed}, or a list of them", check.bad)


def optional_matrix(name_of_rows: str) -> Check:
    """A list of equal-length lists of finite numbers, or ``none`` (written as an empty
    list in TOML); not an axis."""

    def apply(name: str, value):
        if value is None or (isinstance(value, Sequence) and len(value) == 0):
            return ()
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ConfigError(f"{name}={value!r} must be a list of {name_of_rows}")
        rows = []
        for i, row in enumerate(value):
            if isinstance(row, str) or not isinstance(row, Sequence) or not row:
                raise ConfigError(f"{name}[{i}]={row!r} must be a list of numbers")
            rows.append(tuple(check_real(f"{name}[{i}][{j}]", v) for j, v in enumerate(row)))
        if len({len(r) for r in rows}) != 1:
            raise ConfigError(f"{name}: every row must have the same length")
        return tuple(rows)

    return Check(tuple, apply, f"a list of {name_of_rows}", ("x", [[1.0], [1.0, 2.0]]))


def optional_vector(what: str) -> Check:
    """A list of numbers >= 0, or an empty list for the default; not an axis."""

    def apply(name: str, value):
        if value is None or (isinstance(value, Sequence) and len(value) == 0):
            return ()
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ConfigError(f"{name}={value!r} must be a list of {what}")
        return tuple(check_nonnegative(f"{name}[{i}]", v) for i, v in enumerate(value))

    return Check(tuple, apply, f"a list of {what}", ("x", [-1.0]))


def param(default, check: Check, *, per_model: bool = False, top: bool = False, help: str = ""):
    """A config field with its declaration (see the module docstring)."""
    meta = {"check": check, "per_model": per_model, "top": top, "help": help}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class FieldSpec:
    """What a spec needs to know about one field."""

    name: str
    check: Check
    default: Any
    per_model: bool
    top: bool
    help: str
    owner: str  # "family hidden", "task features", "regulariser"

    @property
    def kind(self) -> type:
        return self.check.kind

    @property
    def axis(self) -> bool:
        """Whether the field can be a grid axis (coordinates are scalars)."""
        return self.kind is not tuple


@dataclass(frozen=True)
class Config:
    """Base of every declared config: checks each field, then :meth:`validate` checks the
    fields against one another.  Vary with :func:`dataclasses.replace` (it re-validates)."""

    #: who declares these fields (used in error messages and listings)
    owner: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = f.metadata["check"].apply(f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks (raise ``ConfigError``)."""

    @classmethod
    def field_specs(cls) -> dict[str, FieldSpec]:
        out = {}
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            meta = f.metadata
            out[f.name] = FieldSpec(
                f.name, meta["check"], default, meta["per_model"], meta["top"], meta["help"],
                cls.owner,
            )  # fmt: skip
        return out

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def batch_values(self) -> tuple:
        """The values that models trained together in one batch must share."""
        return tuple(
            (f.name, getattr(self, f.name))
            for f in dataclasses.fields(self)
            if not f.metadata["per_model"]
        )

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Config:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
