"""What the ``toymodels analytic`` commands share about running a step and printing its
answer: the ``--time-limit`` option and the time budget it sets per heavy step, strict
JSON and plain tables."""

from __future__ import annotations

import argparse
import json

from .arguments import positive_float

_HINT = "; allow more with --time-limit SECONDS"
# Seconds one heavy step may take.  The slowest default query measured, ``modes
# --contexts 5`` (a sympy ODE solve), takes ~7 s and an n=4 ``loss`` at the input limits
# ~6 s; 120 s leaves room for a machine several times slower.
DEFAULT_TIME_LIMIT = 120.0
MAX_TIME_LIMIT = 86400.0


def _time_limit(text: str) -> float:
    value = positive_float(text, label="time limit ")
    if value > MAX_TIME_LIMIT:
        raise argparse.ArgumentTypeError(
            f"time limit {text} is above {MAX_TIME_LIMIT:g} s (one day)"
        )
    return value


def add_time_limit(p) -> None:
    """``--time-limit``, which :func:`budget` reads."""
    p.add_argument(
        "--time-limit",
        type=_time_limit,
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help=f"stop a step that takes longer than this (default {DEFAULT_TIME_LIMIT:g})",
    )


def budget(args, what: str):
    """A context that ends a step running over ``--time-limit`` in one error line."""
    from analytics.time_budget import time_limit

    return time_limit(args.time_limit, what, _HINT)


def print_json(obj) -> None:
    from toymodels.errors import ConfigError

    try:
        text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN/Infinity would make the output invalid JSON
        raise ConfigError(
            "the result holds a number beyond the float range (inf or nan); the inputs are "
            "too extreme for a numeric answer"
        ) from None
    print(text)


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for j, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))
