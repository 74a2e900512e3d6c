"""The closed-form inputs of the theory panels and of the candidate-loss figure, from
``analytics`` (the only place sympy lives), as the plain data the plot functions take."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .candidate_losses import LossCurves
from .phase_data import Boundary, PhaseMap, as_boundaries, phase_map, theory_phase_map

# The published theory panel is a 200 × 200 log grid (REFERENCE.md).
THEORY_GRID = 200
# Densities per candidate-loss curve (log-spaced): smooth curves, crossings from analytics.
LOSS_POINTS = 400
HIDDEN = {2: 1, 3: 2}


def candidate_theory(
    n_features: int,
    density_range: tuple[float, float] = (0.01, 1.0),
    importance_range: tuple[float, float] = (0.1, 10.0),
    grid: int = THEORY_GRID,
) -> tuple[PhaseMap, list[Boundary]]:
    """The winning candidate on a ``grid`` × ``grid`` log grid and the symbolic boundaries
    between candidates, over the given ranges."""
    import analytics

    density = np.geomspace(*density_range, grid)
    importance = np.geomspace(*importance_range, grid)
    theory = theory_phase_map(analytics.theory_map(n_features, density, importance))
    curves = analytics.boundary_curves(
        n_features, density_range=density_range, importance_range=importance_range
    )
    return theory, as_boundaries(curves)


def exact_optimum(n_features: int, density: Sequence[float], importance: Sequence[float]):
    """The exact optimum's phase per cell (``analytics.optimum_map``), or None while
    ``analytics`` does not offer it."""
    import analytics

    optimum_map = getattr(analytics, "optimum_map", None)
    if optimum_map is None:
        return None
    result = optimum_map(n_features, np.asarray(density), np.asarray(importance))
    return phase_map(result.density, result.importance, result.phase, "exact optimum")


def loss_curves(
    n_features: int,
    importances: Sequence[float],
    density_range: tuple[float, float] = (0.01, 1.0),
    points: int = LOSS_POINTS,
    optimum_points: int = 0,
) -> list[LossCurves]:
    """Every candidate's exact loss against density at each importance, with the exact
    transition densities; with ``optimum_points`` also the exact optimum's loss (free W
    and b, ``analytics.optimum_map``) at that many log-spaced densities."""
    import analytics

    density = np.geomspace(*density_range, points)
    cands = analytics.candidates(n_features)
    coarse = np.geomspace(*density_range, optimum_points) if optimum_points else None
    optimum = None
    if optimum_points:
        found = analytics.optimum_map(n_features, coarse, np.asarray(importances, float))
        optimum = np.asarray(found.loss)  # [density, importance]
    out = []
    for j, r in enumerate(importances):
        theory = analytics.theory_map(n_features, density, [r])
        transitions = [(t.density, t.from_, t.to) for t in analytics.transitions(n_features, r)]
        out.append(
            LossCurves(
                n_features=n_features,
                n_hidden=HIDDEN.get(n_features, n_features - 1),
                importance=float(r),
                density=density,
                names=tuple(c.name for c in cands),
                phases=tuple(c.phase for c in cands),
                losses=np.asarray(theory.losses)[:, :, 0],
                transitions=transitions,
                optimum_density=coarse,
                exact_optimum=None if optimum is None else optimum[:, j],
            )
        )
    return out
