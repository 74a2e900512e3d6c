"""Strict JSON for everything the package writes or prints: a non-finite number is
``null``.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which no strict parser
(JavaScript's ``JSON.parse``, ``jq``, Go, Rust's serde) reads, and a diverged model's
numbers are NaN by design.  :func:`dumps` maps every non-finite float (numpy's included)
to ``None`` first and then encodes with ``allow_nan=False``, so valid JSON comes out by
construction: a value the mapping missed raises here rather than reaching a file.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

# numpy is not imported: the command line's modules import this one while building the
# parser, and numpy's scalars register with ``numbers`` (arrays and numpy's bool have
# ``tolist``), so they need no special case.


def plain(value: Any) -> Any:
    """``value`` as plain JSON data: dicts, lists, str, int, finite float, bool or None
    (numpy scalars and arrays become Python ones, tuples lists, non-finite floats None)."""
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):  # a numpy array, or numpy's bool
        return plain(value.tolist())
    return value


def dumps(value: Any, **kwargs) -> str:
    """``json.dumps`` of :func:`plain` ``(value)``, strict (``allow_nan=False``)."""
    return json.dumps(plain(value), allow_nan=False, **kwargs)
