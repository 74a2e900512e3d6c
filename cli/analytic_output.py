"""What the ``toymodels analytic`` commands share about running a step and printing its
answer: a time budget per heavy step, strict JSON and plain tables."""

from __future__ import annotations

import json

_HINT = "; allow more with --time-limit SECONDS"


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
