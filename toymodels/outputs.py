"""How a family, a task or a regulariser declares an array it outputs per model."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Output:
    """One per-model array: its dims after the leading model axis (named from the shared
    vocabulary: ``hidden``, ``feature``, ``unit``, ``input``, ``output``, ...), its dtype
    as stored, and a one-line description (stored in the results as the variable's
    ``description`` attribute)."""

    dims: tuple[str, ...] = ()
    dtype: str = "float32"
    description: str = ""
