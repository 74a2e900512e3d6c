"""Sympy results as plain data for the command line: exact numbers or text, LaTeX, and
values at a point (so that no module outside ``analytics`` needs sympy)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import sympy

from toymodels.errors import ConfigError

from .symbols import SYMBOLS


def entry(value) -> int | float | str:
    """A number when it is one exactly (int, or a float that round-trips), else a string."""
    value = sympy.sympify(value)
    if value.is_Integer:
        return int(value)
    if value.is_Rational and sympy.Rational(repr(float(value))) == value:
        return float(value)
    return str(value)


def latex(expr) -> str:
    return sympy.latex(expr)


def free_names(expr) -> set[str]:
    """Names of the symbols ``expr`` depends on."""
    return {s.name for s in expr.free_symbols}


def value_at(expr, at: Mapping[str, float]) -> float:
    """``expr`` at the point ``at`` (symbol name -> number), evaluated exactly then rounded:
    decimal inputs are taken as the rationals they print as."""
    subs = {SYMBOLS[k]: sympy.Rational(repr(v)) for k, v in at.items()}
    value = sympy.N(expr.subs(subs), 17)
    if not (value.is_real and value.is_finite) or not math.isfinite(float(value)):
        point = ",".join(f"{k}={v:g}" for k, v in at.items())
        raise ConfigError(f"the loss at {point} is {value}, not a finite float")
    return float(value)
