"""A phase per cell of a diagram read from all its seeds, and how speckled a diagram is.

The best-of-N phase (the lowest-loss seed's) reads one model per cell: where the seeds of
a cell split between two phases, which one it shows is the luck of that seed, and
neighbouring cells flicker between them (speckle).  The majority phase reads every seed:
the phase most of a cell's seeds have, with the share of seeds that have it
(:func:`majority_phase`); a cell flips only where the shares cross, so boundaries are
where the seeds' balance tips.

:func:`isolated_share` measures speckle: the share of cells that agree with fewer than
half of their 4-neighbours (a cell in a straight boundary agrees with 3 of 4, a corner of a
region with 2; a lone cell or the tip of a one-cell-wide spur with at most 1).  With 3 or
4 neighbours that is "agrees with at most one", the issue's definition; a cell at a grid
corner, or in a one-column diagram, with 2 neighbours counts only when it agrees with
neither, so a straight boundary that meets the grid's edge is not speckle.
"""

from __future__ import annotations

import numpy as np


def majority_phase(
    fractions: dict[str, np.ndarray], best: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(phase, share)`` per cell from ``fractions`` (``{label: share of seeds}``, arrays
    of one shape, labels in the order ties are broken in) and the best-of-N phase
    ``best``: the label with the largest share; a tie goes to the best seed's phase when
    it is among the tied, else to the first tied label."""
    labels = list(fractions)
    stack = np.stack([np.asarray(fractions[k], float) for k in labels])  # [label, ...]
    stack = np.nan_to_num(stack, nan=0.0)
    share = stack.max(0)
    # shares are k/N for N seeds: compare with a tolerance well below 1/N
    tied = stack >= share - 1e-9
    best = np.asarray(best, str)
    best_tied = np.zeros(share.shape, bool)
    for i, label in enumerate(labels):
        best_tied |= (best == label) & tied[i]
    first = np.asarray(labels)[np.argmax(tied, axis=0)]
    phase = np.where(best_tied, best, first)
    return phase.astype(str), share


def isolated_cells(phase: np.ndarray) -> np.ndarray:
    """``[rows, cols]`` booleans: cells agreeing with fewer than half of their
    4-neighbours (see module docstring)."""
    phase = np.asarray(phase, str)
    if phase.ndim != 2:
        raise ValueError(f"a diagram is [rows, cols]; got shape {phase.shape}")
    agree = np.zeros(phase.shape, int)
    neighbours = np.zeros(phase.shape, int)
    for axis in (0, 1):
        for step in (1, -1):
            if phase.shape[axis] < 2:
                continue
            shifted = np.roll(phase, step, axis=axis)
            valid = np.ones(phase.shape, bool)
            edge = [slice(None), slice(None)]
            edge[axis] = 0 if step == 1 else -1  # np.roll wraps this row/column round
            valid[tuple(edge)] = False
            agree += valid & (shifted == phase)
            neighbours += valid
    return (neighbours > 0) & (2 * agree < neighbours)


def isolated_share(phase: np.ndarray) -> float:
    """The share of a diagram's cells that are :func:`isolated_cells`."""
    return float(isolated_cells(phase).mean())
