"""The summary of a superposition phase diagram (a density × importance sweep of the
``relu`` family): the trained phases beside the candidate theory and the exact optimum on
the same grid, and how often they agree.

:func:`grid_theory` computes the theory once (the exact optimum is the slow part);
:func:`summarise` turns the results and that theory into the dict ``toymodels
phase-diagram`` writes as ``summary.json``, whose arrays are indexed
``[density][importance]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .agreement import agreement
from .phase_maps import Boundary, PhaseMap
from .run_settings import spec_table
from .seed_selection import diverged_counts
from .superposition_theory import candidate_boundaries, exact_optimum

if TYPE_CHECKING:
    import xarray as xr


@dataclass(frozen=True)
class GridTheory:
    """The theory on a run's grid: ``theory`` (``analytics.theory_map``: the winning
    candidate per cell and its phase), the candidates' ``boundaries`` over the grid's
    ranges (empty when not asked for), and the exact ``optimum``'s phase per cell (None
    when not asked for)."""

    theory: object
    boundaries: list[Boundary]
    optimum: PhaseMap | None


def grid_theory(results: xr.Dataset, optimum: bool = True, boundaries: bool = True) -> GridTheory:
    """The candidate theory, (with ``boundaries``) its boundaries over the grid's ranges,
    and (with ``optimum``) the exact optimum, cell for cell on the grid of ``results``."""
    import analytics

    density = results["density"].values
    importance = results["importance"].values
    features = int(results.sizes["feature"])
    theory = analytics.theory_map(features, density, importance)
    curves = candidate_boundaries(features, density, importance) if boundaries else []
    exact = exact_optimum(features, density, importance) if optimum else None
    return GridTheory(theory, curves, exact)


def summarise(
    results: xr.Dataset, optimum: bool = True, *, theory: GridTheory | None = None
) -> dict:
    """The summary of one phase diagram: phases best-of-N and by the paper's rule, the
    theory's and (with ``optimum``) the exact optimum's, and their agreements; ``theory``
    is :func:`grid_theory` of ``results`` when the caller has it already."""
    theory = grid_theory(results, optimum, boundaries=False) if theory is None else theory
    features = int(results.sizes["feature"])
    ordered = results.transpose("density", "importance", ...)
    best = ordered["phase_best"].values.astype(str)
    paper = ordered["phase_paper"].values.astype(str)
    # Each model's own phase [density, importance, seed]: how often one seed alone lands
    # in the theory's phase, which the paper rule's average hides.
    each = ordered["phase_model"].transpose("density", "importance", "seed").values.astype(str)
    fraction = ordered["phase_fraction"].transpose("density", "importance", "phase")
    candidates = theory.theory
    theory_phase = np.asarray(candidates.phase).astype(str)
    summary = {
        "features": features,
        "hidden": int(results.sizes["hidden"]),
        "density": [float(v) for v in ordered["density"].values],
        "importance": [float(v) for v in ordered["importance"].values],
        "seeds": int(results.sizes["seed"]),
        "empirical_phase": best.tolist(),
        "empirical_phase_paper_rule": paper.tolist(),
        "theory_phase": theory_phase.tolist(),
        "theory_candidate": [
            [candidates.names[i] for i in row] for row in np.asarray(candidates.winner)
        ],
        "agreement": agreement(best, theory_phase),
        "agreement_paper_rule": agreement(paper, theory_phase),
        "agreement_each_seed": agreement(each, _per_seed(theory_phase, each)),
        "phase_fraction": {
            str(label): fraction.sel(phase=label).values.tolist()
            for label in fraction["phase"].values
        },
        **diverged_counts(results),
        "train": spec_table(results).get("train", {}),
        "selection_loss": results.attrs.get("selection_loss", ""),
    }
    if theory.optimum is not None:
        exact = theory.optimum
        names = np.array([*exact.names, ""])  # code -1 (no minimiser found) -> ""
        optimum_phase = names[exact.codes]
        summary["optimum_phase"] = optimum_phase.tolist()
        summary["agreement_optimum"] = agreement(best, optimum_phase)
        summary["agreement_each_seed_optimum"] = agreement(each, _per_seed(optimum_phase, each))
        summary["theory_agrees_with_optimum"] = agreement(theory_phase, optimum_phase)
    return summary


def _per_seed(phase: np.ndarray, each: np.ndarray) -> np.ndarray:
    """A cell's phase ``[D, R]`` repeated for each seed, as ``each`` ``[D, R, seed]``."""
    return np.broadcast_to(np.asarray(phase)[..., None], each.shape)
