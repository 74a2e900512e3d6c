"""Turning user input (numbers, decimal strings, expressions in ``p`` and ``r``) into exact
sympy values, with one-line ``ConfigError``s for everything that does not fit.

Decimals become the exact rational they spell (``0.1 -> 1/10``, also for Python floats,
through their shortest ``repr``), so a derived loss never carries binary rounding.

Text is never evaluated as Python (``analytics.entry_syntax`` parses it within limits).
"""

from __future__ import annotations

import ast
import math
import numbers
from collections.abc import Iterable
from fractions import Fraction

import sympy

from toymodels.errors import ConfigError

from .entry_syntax import (
    ENTRY_MAX_BITS,
    ENTRY_MAX_DEPTH,
    ENTRY_MAX_DIGITS,
    ENTRY_MAX_EXPONENT,
    ENTRY_MAX_TEXT,
    check_text,
    parse_entry,
    shown_text,
)
from .symbols import SYMBOLS


def _check_sympy(expr: sympy.Basic, name: str) -> None:
    """The same limits for a sympy value handed in from Python: exponents that are small
    numbers, numbers of bounded size, and a bounded number of nodes."""
    for count, node in enumerate(sympy.preorder_traversal(expr)):
        if count > 10_000:
            raise ConfigError(f"{name}={shown_text(str(expr))} has more than 10000 terms")
        if isinstance(node, sympy.Pow):
            e = node.exp
            if not (
                e.is_Rational and abs(e.p) <= ENTRY_MAX_EXPONENT and 0 < e.q <= ENTRY_MAX_EXPONENT
            ):
                raise ConfigError(
                    f"{name}={shown_text(str(expr))} has the exponent {e}; exponents must be "
                    f"numbers from -{ENTRY_MAX_EXPONENT} to {ENTRY_MAX_EXPONENT}"
                )
        elif isinstance(node, sympy.Rational):
            if int(node.p).bit_length() + int(node.q).bit_length() > ENTRY_MAX_BITS:
                raise ConfigError(f"{name} has a number of more than {ENTRY_MAX_DIGITS} digits")


def exact(value, name: str, symbols: tuple[str, ...] = ()) -> sympy.Expr:
    """One exact entry: a number, a decimal/fraction string or an expression in ``symbols``."""
    if isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} is not a number")
    shown = shown_text(value) if isinstance(value, str) else shown_text(str(value))
    if isinstance(value, str):
        expr = parse_entry(value.strip(), name, symbols)
    elif isinstance(value, sympy.Basic):
        # before the numbers ABCs: sympy's Rational registers as numbers.Real, and 1/3
        # must not pass through a float
        expr = value
        if isinstance(expr, sympy.Float):
            expr = sympy.Rational(str(expr))
        _check_sympy(expr, name)
    elif isinstance(value, Fraction):
        expr = sympy.Rational(value.numerator, value.denominator)
    elif isinstance(value, numbers.Integral):
        if int(value).bit_length() > ENTRY_MAX_BITS:
            raise ConfigError(f"{name} is an integer of more than {ENTRY_MAX_DIGITS} digits")
        expr = sympy.Integer(int(value))
    elif isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise ConfigError(f"{name}={value!r} is not finite; finite numbers are required")
        expr = sympy.Rational(repr(float(value)))
    else:
        raise ConfigError(f"{name}={shown} is not a number or an expression")
    expr = sympy.sympify(expr)
    # a plain Symbol("p") from a caller means our p (with its assumptions)
    expr = expr.subs({s: SYMBOLS[s.name] for s in expr.free_symbols if s.name in symbols})
    bad = {s.name for s in expr.free_symbols} - set(symbols)
    if bad:
        allowed = ", ".join(symbols) if symbols else "none (numbers only)"
        raise ConfigError(
            f"{name}={shown} uses unknown symbol(s) {', '.join(sorted(bad)) or '?'}; "
            f"allowed symbols: {allowed}"
        )
    if expr.has(sympy.nan, sympy.oo, -sympy.oo, sympy.zoo):
        raise ConfigError(f"{name}={shown} is not finite; finite numbers are required")
    if not expr.free_symbols:
        if expr.is_real is not True:
            raise ConfigError(f"{name}={shown} is not a real number")
    return expr


def nested(text: str, name: str, depth: int) -> list:
    """Split ``"[[1, -1]]"`` (``depth=2``) or ``"[0, p/2]"`` / ``"0, p/2"`` (``depth=1``) into
    entry strings, keeping each entry's text for :func:`exact`."""
    text = text.strip()
    check_text(text, name)
    if depth == 1 and not text.startswith("["):
        text = f"[{text}]"
    source = text.replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError):
        raise ConfigError(
            f"{name}={shown_text(text)} is not a list like {_example(depth)}"
        ) from None
    except (RecursionError, MemoryError):
        raise ConfigError(
            f"{name}={shown_text(text)} is nested too deeply; at most {ENTRY_MAX_DEPTH} levels"
        ) from None

    def walk(node, level):
        if level == 0:
            if isinstance(node, ast.List | ast.Tuple):
                raise ConfigError(
                    f"{name}={shown_text(text)} is nested too deeply; expected {_example(depth)}"
                )
            return ast.get_source_segment(source, node)
        if not isinstance(node, ast.List | ast.Tuple):
            raise ConfigError(f"{name}={shown_text(text)} is not a list like {_example(depth)}")
        return [walk(e, level - 1) for e in node.elts]

    return walk(tree, depth)


def _example(depth: int) -> str:
    return "[[1, -1]]" if depth == 2 else "[0, p/2]"


def matrix(rows: Iterable, name: str = "W") -> sympy.Matrix:
    """An exact m×n matrix from rows of numbers (or a string like ``"[[1, -0.5]]"``)."""
    shown = shown_text(rows) if isinstance(rows, str) else shown_text(str(rows))
    if isinstance(rows, str):
        rows = nested(rows, name, 2)
    if isinstance(rows, sympy.MatrixBase):
        rows = rows.tolist()
    rows = [list(row) if not isinstance(row, str | bytes) else row for row in rows]
    if not rows or any(not isinstance(row, list) for row in rows):
        raise ConfigError(f"{name}={shown} must be a non-empty list of rows, like [[1, -1]]")
    widths = {len(row) for row in rows}
    if len(widths) != 1 or 0 in widths:
        raise ConfigError(
            f"{name}={shown} has rows of lengths {sorted(widths)}; all rows need the same "
            "length >= 1"
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
    """``"p=0.1,r=2"`` -> ``{"p": 0.1, "r": 2.0}``; densities must lie in (0, 1], and each
    symbol may be given once."""
    shown = shown_text(text)
    if len(text) > ENTRY_MAX_TEXT:
        raise ConfigError(f"--at {shown} is {len(text)} characters long; at most {ENTRY_MAX_TEXT}")
    out: dict[str, float] = {}
    for part in filter(None, (s.strip() for s in text.split(","))):
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            raise ConfigError(
                f"--at {shown}: expected entries like p=0.1,r=2 (symbols: {', '.join(allowed)})"
            )
        if key in out:
            # silently keeping the last value would evaluate at a point nobody asked for
            raise ConfigError(f"--at {shown} gives {key} twice; give each symbol once")
        try:
            number = float(val)
        except ValueError:
            raise ConfigError(f"--at {shown}: {key}={val.strip()!r} is not a number") from None
        if not math.isfinite(number):
            raise ConfigError(f"--at {shown}: {key}={val.strip()} is not finite")
        if key == "p" and not 0.0 < number <= 1.0:
            raise ConfigError(f"--at {shown}: density p={number:g} is outside (0, 1]")
        if key == "r" and number < 0:
            raise ConfigError(f"--at {shown}: importance r={number:g} must be >= 0")
        out[key] = number
    if not out:
        raise ConfigError(f"--at {shown}: expected entries like p=0.1,r=2")
    return out
