"""Arrays as strict JSON for the summaries: nested lists, a non-finite value as null."""

from __future__ import annotations

import numpy as np


def listed(values) -> list:
    """Nested lists for JSON, NaN and infinities as null."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fc":
        return np.where(np.isfinite(arr), arr, None).tolist()
    return arr.tolist()
