"""Closed-form theory of every system (the only package importing sympy).

- :func:`exact_loss` / :func:`derive_loss`: any small model's exact expected loss in ``p``
  (and ``r``), derived by exact piecewise integration and cached;
- :func:`loss_by_sparsity`, :func:`one_sparse_anatomy`: the loss's terms ``L_k`` by
  number of active features, and the 1-sparse loss split into feature benefit and
  interference;
- :func:`candidates`: the paper's candidate solutions with their losses;
- :func:`theory_map`, :func:`transitions`, :func:`boundary_curves`: the candidate theory;
- :func:`optimum_map`, :func:`phase_switches`, :func:`critical_density`: the true optimum
  over free ``W`` and ``b``;
- :func:`critical_temperature`, :func:`stationary_hessian`: deterministic annealing's
  ``τ_c = 2 λ_max(Σ_x)`` where the redundant prototypes split (competition in a layer);
- ``analytics.thomson``: the Thomson geometry of superposition, the minimum of the
  Thomson energy or of the 1-sparse loss over many random starts;
- ``analytics.mode_dynamics``: the closed-form learning dynamics of two-layer linear
  pathways on the contextual task (multi-task mixed selectivity);
- ``analytics.reln_theory``: the closed-form loss of a ReLN (gated linear pathways, any
  set of context masks) on the contextual task;
- ``analytics.conflict_theory``: which modes a shared linear layer learns under task
  conflict, and the phase that follows.
"""

from toymodels.lazy_exports import lazy_exports

__all__ = [
    "Anatomy",
    "BoundaryCurve",
    "Candidate",
    "CriticalTemperature",
    "LossDerivation",
    "OptimumMap",
    "PhaseSwitch",
    "SparsityTerms",
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
    "loss_by_sparsity",
    "one_sparse_anatomy",
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
    "Candidate": "analytics.candidate_solutions",
    "candidates": "analytics.candidate_solutions",
    "LossDerivation": "analytics.loss_derivation",
    "derive_loss": "analytics.loss_derivation",
    "exact_loss": "analytics.loss_derivation",
    "Anatomy": "analytics.loss_anatomy",
    "SparsityTerms": "analytics.loss_anatomy",
    "loss_by_sparsity": "analytics.loss_anatomy",
    "one_sparse_anatomy": "analytics.loss_anatomy",
    "OptimumMap": "analytics.optimum",
    "PhaseSwitch": "analytics.optimum",
    "critical_density": "analytics.optimum",
    "optimum_map": "analytics.optimum",
    "phase_switches": "analytics.optimum",
    "p": "analytics.symbols",
    "r": "analytics.symbols",
    "BoundaryCurve": "analytics.candidate_theory",
    "TheoryMap": "analytics.candidate_theory",
    "Transition": "analytics.candidate_theory",
    "boundary_curves": "analytics.candidate_theory",
    "candidate_losses": "analytics.candidate_theory",
    "theory_map": "analytics.candidate_theory",
    "transitions": "analytics.candidate_theory",
    "CriticalTemperature": "analytics.annealing_theory",
    "critical_temperature": "analytics.annealing_theory",
    "mixture_critical_temperature": "analytics.annealing_theory",
    "stationary_hessian": "analytics.annealing_theory",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
