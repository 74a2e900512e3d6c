"""When a recorded trajectory first reaches a level: the learning and half-times the
multitask and conflict summaries give."""

from __future__ import annotations

import numpy as np


def first_crossing(steps: np.ndarray, values: np.ndarray, level: float) -> float:
    """The step at which ``values`` (one per recorded step) first reach ``level``, linearly
    interpolated between the recorded steps; NaN if never, ``steps[0]`` if at the start."""
    above = np.nonzero(values >= level)[0]
    if len(above) == 0:
        return float("nan")
    j = above[0]
    if j == 0:
        return float(steps[0])
    v0, v1 = values[j - 1], values[j]
    return float(steps[j - 1] + (level - v0) / (v1 - v0) * (steps[j] - steps[j - 1]))
