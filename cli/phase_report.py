"""What ``phase-diagram`` writes next to its sweep: theory on the same grid, the agreement
between empirical and theoretical phases, ``summary.json`` and the figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from toymodels.files import atomic_write
from toymodels.phases.base import DIVERGED


def agreement(empirical: np.ndarray, theory: np.ndarray) -> float | None:
    """Fraction of cells whose empirical phase label equals the theory's, over the cells
    with a phase (a diverged cell is no evidence either way); None when none has one."""
    empirical, theory = np.asarray(empirical), np.asarray(theory)
    if empirical.shape != theory.shape:
        raise ValueError(f"grids differ: {empirical.shape} vs {theory.shape}")
    judged = empirical != DIVERGED
    return float((empirical == theory)[judged].mean()) if judged.any() else None


def shown(value: float | None, spec: str = ".3f") -> str:
    """A summary's score for the terminal: ``None`` (nothing to score: every cell or
    seed diverged) is said in words."""
    return "none (every cell diverged)" if value is None else format(value, spec)


def theory_on_grid(results: xr.Dataset, features: int):
    """Candidate theory map and its boundary curves on the grid of ``results``."""
    import analytics

    density = results["density"].values
    importance = results["importance"].values
    theory = analytics.theory_map(features, density, importance)
    curves = analytics.boundary_curves(
        features,
        density_range=(float(density.min()), float(density.max())),
        importance_range=(float(importance.min()), float(importance.max())),
    )
    return theory, curves


def optimum_on_grid(results: xr.Dataset, features: int):
    """The exact optimum's phase map (free W and b) cell for cell on the trained grid."""
    from figures.theory_panels import exact_optimum

    return exact_optimum(features, results["density"].values, results["importance"].values)


def summarise(results: xr.Dataset, features: int, theory, optimum=None) -> dict:
    ordered = results.transpose("density", "importance", ...)
    best = ordered["phase_best"].values.astype(str)
    paper = ordered["phase_paper"].values.astype(str)
    theory_phase = np.asarray(theory.phase).astype(str)
    spec = json.loads(results.attrs["spec"])
    summary = {
        "features": features,
        "hidden": int(results.sizes["hidden"]),
        "density": [float(v) for v in ordered["density"].values],
        "importance": [float(v) for v in ordered["importance"].values],
        "seeds": int(results.sizes["seed"]),
        "empirical_phase": best.tolist(),
        "empirical_phase_paper_rule": paper.tolist(),
        "theory_phase": theory_phase.tolist(),
        "theory_candidate": [[theory.names[i] for i in row] for row in np.asarray(theory.winner)],
        "agreement": agreement(best, theory_phase),
        "agreement_paper_rule": agreement(paper, theory_phase),
        "diverged_models": int(results["diverged"].sum()),
        "diverged_cells": int((best == DIVERGED).sum()),
        "train": spec.get("train", {}),
        "selection_loss": results.attrs.get("selection_loss", ""),
    }
    if optimum is not None:
        names = np.array([*optimum.names, ""])  # code -1 (no minimiser found) -> ""
        optimum_phase = names[optimum.codes]
        summary["optimum_phase"] = optimum_phase.tolist()
        summary["agreement_optimum"] = agreement(best, optimum_phase)
        summary["theory_agrees_with_optimum"] = agreement(theory_phase, optimum_phase)
    return summary


def write_report(results: xr.Dataset, features: int, out: Path, optimum: bool = True) -> dict:
    """Write ``summary.json`` and ``phase_diagram.{png,pdf}`` into ``out``; with
    ``optimum`` the figure gains the exact optimum's panel and the summary its phases."""
    from figures import phase_diagram, save

    theory, curves = theory_on_grid(results, features)
    exact = optimum_on_grid(results, features) if optimum else None
    summary = summarise(results, features, theory, exact)
    fig = phase_diagram(results, theory=theory, optimum=exact, curves=curves)
    save(fig, out / "phase_diagram")
    text = json.dumps(summary, indent=1)
    atomic_write(out / "summary.json", lambda tmp: tmp.write_text(text))
    return summary
