"""The superposition theory on a grid: the winning candidate and its boundaries, the exact
optimum, and the candidates' losses against density, from ``analytics`` (the only place
sympy lives), as the plain data the figures draw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .phase_maps import Boundary, PhaseMap, as_boundaries, phase_map

# The paper's published theory panel is a 200 × 200 log grid.
THEORY_GRID = 200
# Densities per candidate-loss curve (log-spaced): smooth curves, crossings from analytics.
LOSS_POINTS = 400
HIDDEN = {2: 1, 3: 2}


@dataclass(frozen=True)
class LossCurves:
    """Candidates' expected losses ``losses [candidate, density]`` at one importance."""

    n_features: int
    n_hidden: int
    importance: float
    density: np.ndarray  # [D]
    names: tuple[str, ...]
    phases: tuple[str, ...]
    losses: np.ndarray  # [C, D]
    # (density, from_name, to_name) where the lowest candidate changes
    transitions: Sequence[tuple[float, str, str]] = field(default_factory=tuple)
    # the exact minimum over free W and b, ``exact_optimum [K]`` at ``optimum_density [K]``
    optimum_density: np.ndarray | None = None
    exact_optimum: np.ndarray | None = None


def candidate_phases() -> dict[str, str]:
    """The extra feature's phase in each of ``analytics``' candidate solutions, by name."""
    import analytics

    return {c.name: c.phase for n in (2, 3) for c in analytics.candidates(n)}


def theory_phase_map(theory, title: str = "candidate theory") -> PhaseMap:
    """A :class:`PhaseMap` of the winning candidate from an ``analytics.theory_map`` result
    (``density``, ``importance``, ``names``, ``winner [D, R]``)."""
    names = tuple(theory.names)
    winner = np.asarray(theory.winner)
    labels = np.asarray(theory.phase) if hasattr(theory, "phase") else None
    phases = []
    for c, name in enumerate(names):
        won = labels[winner == c] if labels is not None else []
        # A candidate that never wins on this grid still needs its colour in the legend.
        phases.append(str(won[0]) if len(won) else candidate_phases().get(name, name))
    return PhaseMap(
        np.asarray(theory.density, float),
        np.asarray(theory.importance, float),
        winner,
        names,
        tuple(phases),
        title,
    )


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
    return theory, candidate_boundaries(n_features, density, importance)


def candidate_boundaries(
    n_features: int, density: Sequence[float], importance: Sequence[float]
) -> list[Boundary]:
    """The symbolic boundaries between candidates over the ranges ``density`` and
    ``importance`` span."""
    import analytics

    curves = analytics.boundary_curves(
        n_features,
        density_range=(float(np.min(density)), float(np.max(density))),
        importance_range=(float(np.min(importance)), float(np.max(importance))),
    )
    return as_boundaries(curves)


def exact_optimum(n_features: int, density: Sequence[float], importance: Sequence[float]):
    """The exact optimum's phase per cell (``analytics.optimum_map``: free ``W`` and ``b``
    minimised)."""
    import analytics

    result = analytics.optimum_map(n_features, np.asarray(density), np.asarray(importance))
    return phase_map(result.density, result.importance, result.phase, "exact optimum")


def candidate_curves(
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
