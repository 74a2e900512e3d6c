"""Closed-form theory of the superposition toy models (the only package importing sympy).

- :func:`exact_loss` / :func:`derive_loss`: any small model's exact expected loss in ``p``
  (and ``r``), derived by exact piecewise integration and cached;
- :func:`candidates`: the paper's candidate solutions with their losses;
- :func:`theory_map`, :func:`transitions`, :func:`boundary_curves`: the candidate theory;
- :func:`optimum_map`, :func:`phase_switches`, :func:`critical_density`: the true optimum
  over free ``W`` and ``b``;
- :func:`critical_temperature`, :func:`stationary_hessian`: deterministic annealing's
  ``τ_c = 2 λ_max(Σ_x)`` where the redundant prototypes split.
"""

import importlib

__all__ = [
    "BoundaryCurve",
    "Candidate",
    "CriticalTemperature",
    "LossDerivation",
    "OptimumMap",
    "PhaseSwitch",
    "TheoryMap",
    "Transition",
    "boundary_curves",
    "candidate_losses",
    "candidates",
    "critical_density",
    "critical_temperature",
    "mixture_critical_temperature",
    "derive_loss",
    "exact_loss",
    "optimum_map",
    "p",
    "phase_switches",
    "r",
    "stationary_hessian",
    "theory_map",
    "transitions",
]

# Imported on first use: the CLI registers ``toymodels analytic`` without loading sympy or
# torch, and ``analytic losses`` never loads torch (only the optimum needs it).
_HOME = {
    "Candidate": "candidate_solutions",
    "candidates": "candidate_solutions",
    "LossDerivation": "loss_derivation",
    "derive_loss": "loss_derivation",
    "exact_loss": "loss_derivation",
    "OptimumMap": "optimum",
    "PhaseSwitch": "optimum",
    "critical_density": "optimum",
    "optimum_map": "optimum",
    "phase_switches": "optimum",
    "p": "symbols",
    "r": "symbols",
    "BoundaryCurve": "candidate_theory",
    "TheoryMap": "candidate_theory",
    "Transition": "candidate_theory",
    "boundary_curves": "candidate_theory",
    "candidate_losses": "candidate_theory",
    "theory_map": "candidate_theory",
    "transitions": "candidate_theory",
    "CriticalTemperature": "annealing_theory",
    "critical_temperature": "annealing_theory",
    "mixture_critical_temperature": "annealing_theory",
    "stationary_hessian": "annealing_theory",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"analytics.{_HOME[name]}"), name)
    raise AttributeError(f"module 'analytics' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
