"""Turning user input (numbers, decimal strings, expressions in ``p`` and ``r``) into exact
sympy values, with one-line ``ConfigError``s for everything that does not fit.

Decimals become the exact rational they spell (``0.1 -> 1/10``, also for Python floats,
through their shortest ``repr``), so a derived loss never carries binary rounding.
"""

from __future__ import annotations

import ast
import math
import numbers
import re
from collections.abc import Iterable
from fractions import Fraction

import sympy
from sympy.parsing.sympy_parser import parse_expr, rationalize, standard_transformations

from toymodels.errors import ConfigError

from .symbols import SYMBOLS

# Names an entry may use besides the symbols: enough for closed-form biases such as
# sqrt(p)/2, and nothing that reaches Python beyond sympy's arithmetic.
_FUNCTIONS = {"sqrt": sympy.sqrt, "exp": sympy.exp, "log": sympy.log, "Rational": sympy.Rational}
_NON_FINITE = {"inf", "infinity", "nan", "oo", "zoo"}
_ALLOWED_CHARS = re.compile(r"^[0-9A-Za-z_+\-*/^().,\s\[\]]*$")
_TRANSFORMS = (*standard_transformations, rationalize)


def _parse_text(text: str, name: str, symbols: tuple[str, ...]) -> sympy.Expr:
    if not _ALLOWED_CHARS.match(text):
        raise ConfigError(f"{name}={text!r} has characters other than numbers, + - * / ^ ( )")
    for word in re.findall(r"[A-Za-z_]\w*", re.sub(r"\d+\.?\d*[eE][+-]?\d+", "0", text)):
        if word.lower() in _NON_FINITE:
            raise ConfigError(f"{name}={text!r} is not finite; finite numbers are required")
        if word not in symbols and word not in _FUNCTIONS:
            allowed = ", ".join(symbols) if symbols else "none (numbers only)"
            raise ConfigError(
                f"{name}={text!r} uses unknown symbol {word!r}; allowed symbols: {allowed}"
            )
    local = {k: SYMBOLS[k] for k in symbols} | _FUNCTIONS
    try:
        return parse_expr(text.replace("^", "**"), local_dict=local, transformations=_TRANSFORMS)
    except (SyntaxError, TypeError, ValueError, AttributeError, ZeroDivisionError) as exc:
        raise ConfigError(f"{name}={text!r} is not a valid number or expression ({exc})") from None


def exact(value, name: str, symbols: tuple[str, ...] = ()) -> sympy.Expr:
    """One exact entry: a number, a decimal/fraction string or an expression in ``symbols``."""
    if isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} is not a number")
    if isinstance(value, str):
        expr = _parse_text(value.strip(), name, symbols)
    elif isinstance(value, Fraction):
        expr = sympy.Rational(value.numerator, value.denominator)
    elif isinstance(value, numbers.Integral):
        expr = sympy.Integer(int(value))
    elif isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise ConfigError(f"{name}={value!r} is not finite; finite numbers are required")
        expr = sympy.Rational(repr(float(value)))
    elif isinstance(value, sympy.Basic):
        expr = value
        if isinstance(expr, sympy.Float):
            expr = sympy.Rational(str(expr))
    else:
        raise ConfigError(f"{name}={value!r} is not a number or an expression")
    expr = sympy.sympify(expr)
    # a plain Symbol("p") from a caller means our p (with its assumptions)
    expr = expr.subs({s: SYMBOLS[s.name] for s in expr.free_symbols if s.name in symbols})
    bad = {s.name for s in expr.free_symbols} - set(symbols)
    if bad:
        allowed = ", ".join(symbols) if symbols else "none (numbers only)"
        raise ConfigError(
            f"{name}={value!r} uses unknown symbol(s) {', '.join(sorted(bad)) or '?'}; "
            f"allowed symbols: {allowed}"
        )
    if expr.has(sympy.nan, sympy.oo, -sympy.oo, sympy.zoo):
        raise ConfigError(f"{name}={value!r} is not finite; finite numbers are required")
    if not expr.free_symbols:
        if expr.is_real is not True:
            raise ConfigError(f"{name}={value!r} is not a real number")
    return expr


def nested(text: str, name: str, depth: int) -> list:
    """Split ``"[[1, -1]]"`` (``depth=2``) or ``"[0, p/2]"`` / ``"0, p/2"`` (``depth=1``) into
    entry strings, keeping each entry's text for :func:`exact`."""
    text = text.strip()
    if depth == 1 and not text.startswith("["):
        text = f"[{text}]"
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval").body
    except SyntaxError:
        raise ConfigError(f"{name}={text!r} is not a list like {_example(depth)}") from None
    source = text.replace("^", "**")

    def walk(node, level):
        if level == 0:
            if isinstance(node, ast.List | ast.Tuple):
                raise ConfigError(
                    f"{name}={text!r} is nested too deeply; expected {_example(depth)}"
                )
            return ast.get_source_segment(source, node)
        if not isinstance(node, ast.List | ast.Tuple):
            raise ConfigError(f"{name}={text!r} is not a list like {_example(depth)}")
        return [walk(e, level - 1) for e in node.elts]

    return walk(tree, depth)


def _example(depth: int) -> str:
    return "[[1, -1]]" if depth == 2 else "[0, p/2]"


def matrix(rows: Iterable, name: str = "W") -> sympy.Matrix:
    """An exact m×n matrix from rows of numbers (or a string like ``"[[1, -0.5]]"``)."""
    if isinstance(rows, str):
        rows = nested(rows, name, 2)
    if isinstance(rows, sympy.MatrixBase):
        rows = rows.tolist()
    rows = [list(row) if not isinstance(row, str | bytes) else row for row in rows]
    if not rows or any(not isinstance(row, list) for row in rows):
        raise ConfigError(f"{name} must be a non-empty list of rows, like [[1, -1]]")
    widths = {len(row) for row in rows}
    if len(widths) != 1 or 0 in widths:
        raise ConfigError(
            f"{name} rows have lengths {sorted(widths)}; all rows need the same length"
        )
    return sympy.Matrix(
        [[exact(v, f"{name}[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(rows)]
    )


def vector(values, name: str, n: int, symbols: tuple[str, ...]) -> tuple[sympy.Expr, ...]:
    """``n`` exact entries (numbers or expressions in ``symbols``); a string like ``"1,r"``
    or ``"[0, p/2]"`` is split first."""
    if isinstance(values, str):
        values = nested(values, name, 1)
    elif isinstance(values, sympy.MatrixBase):
        values = list(values)
    values = list(values)
    if len(values) != n:
        raise ConfigError(f"{name} has {len(values)} entries; W has {n} columns (features)")
    return tuple(exact(v, f"{name}[{i}]", symbols) for i, v in enumerate(values))


def point(text: str, allowed: tuple[str, ...] = ("p", "r")) -> dict[str, float]:
    """``"p=0.1,r=2"`` -> ``{"p": 0.1, "r": 2.0}``; densities must lie in (0, 1]."""
    out: dict[str, float] = {}
    for part in filter(None, (s.strip() for s in text.split(","))):
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            raise ConfigError(
                f"--at {text!r}: expected entries like p=0.1,r=2 (symbols: {', '.join(allowed)})"
            )
        try:
            number = float(val)
        except ValueError:
            raise ConfigError(f"--at {text!r}: {key}={val.strip()!r} is not a number") from None
        if not math.isfinite(number):
            raise ConfigError(f"--at {text!r}: {key}={val.strip()} is not finite")
        if key == "p" and not 0.0 < number <= 1.0:
            raise ConfigError(f"--at {text!r}: density p={number:g} is outside (0, 1]")
        if key == "r" and number < 0:
            raise ConfigError(f"--at {text!r}: importance r={number:g} must be >= 0")
        out[key] = number
    if not out:
        raise ConfigError(f"--at {text!r}: expected entries like p=0.1,r=2")
    return out
