"""Shares of models in each phase over a band of a competition diagram, with binomial
(Wilson score) intervals: how sure a share from a few dozen models is.

A band is a range of temperatures τ, pooled over the λ values kept (those above 0 for a
volume control, the single 0 for ``none``); the models are every seed of every cell in
it, counted from ``summary.json``'s ``phase_fraction`` and ``settings.seeds``.
"""

from __future__ import annotations

import math

import numpy as np

from toymodels.phases.layer_competition import LABELS

# The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial share ``k / n`` (Wilson 1927): unlike
    ``p ± z√(p(1−p)/n)`` it stays inside [0, 1] and is not empty at ``k = 0`` or ``k = n``."""
    if n <= 0:
        raise ValueError(f"n={n}: an interval needs at least one trial")
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is outside [0, n={n}]")
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def band_counts(summary: dict, tau_lo: float, tau_hi: float) -> tuple[dict[str, int], int]:
    """``({phase: models}, models)`` over the cells of ``summary`` (one phase diagram's
    ``summary.json``) with ``tau_lo ≤ τ ≤ tau_hi`` and λ > 0 (every λ when the diagram has
    only λ = 0)."""
    tau = np.asarray(summary["temperature"], float)
    strength = np.asarray(summary["strength"], float)
    rows = (tau >= tau_lo * (1 - 1e-9)) & (tau <= tau_hi * (1 + 1e-9))
    cols = strength > 0 if (strength > 0).any() else np.ones(strength.shape, bool)
    seeds = int(summary["settings"]["seeds"])
    counts = {}
    for label, fraction in summary["phase_fraction"].items():
        kept = np.asarray(fraction, float)[np.ix_(rows, cols)]
        counts[label] = int(np.rint(np.nan_to_num(kept) * seeds).sum())
    return counts, int(rows.sum() * cols.sum() * seeds)


def band_shares(summary: dict, tau_lo: float, tau_hi: float) -> dict:
    """Each phase's share of the models in a band (:func:`band_counts`) with its 95%
    Wilson interval: ``{"models": n, "redundant": {"share", "low", "high", "models"}, ...}``
    (share and interval None when the band holds no model)."""
    counts, n = band_counts(summary, tau_lo, tau_hi)
    out: dict = {"models": n}
    for label in (*LABELS, *(k for k in counts if k not in LABELS)):
        k = counts.get(label, 0)
        low, high = wilson_interval(k, n) if n else (None, None)
        out[label] = {"share": k / n if n else None, "low": low, "high": high, "models": k}
    return out
