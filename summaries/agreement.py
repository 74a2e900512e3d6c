"""How often trained phases equal the theory's: the score every summary reports."""

from __future__ import annotations

import numpy as np

from toymodels.phases.base import DIVERGED


def agreement(empirical: np.ndarray, theory: np.ndarray) -> float | None:
    """Fraction of cells whose empirical phase label equals the theory's, over the cells
    with a phase (a diverged cell is no evidence either way); None when none has one."""
    empirical, theory = np.asarray(empirical), np.asarray(theory)
    if empirical.shape != theory.shape:
        raise ValueError(f"grids differ: {empirical.shape} vs {theory.shape}")
    judged = empirical != DIVERGED
    return float((empirical == theory)[judged].mean()) if judged.any() else None
