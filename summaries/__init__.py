"""Summaries of finished runs: what each system's command writes as ``summary.json``, as
functions of the results dataset (``sweeps.load``), for a Python user as for the command
line::

    import sweeps, summaries

    summary = summaries.superposition(sweeps.load("phase-diagram/run"))

- :func:`superposition`: the phase diagram of the extra feature beside the candidate
  theory and the exact optimum (``toymodels phase-diagram``;
  :mod:`summaries.superposition_summary`);
- :func:`multitask`: a network on the contextual task beside the closed-form mode
  dynamics (``toymodels multitask train``; :mod:`summaries.multitask_summary`);
- :func:`conflict`: the task-conflict phase diagram beside the linear theory
  (``toymodels conflict phase-diagram``; :mod:`summaries.conflict_summary`);
- :func:`competition` and :func:`competition_compare`: the τ × λ phase diagram of a
  competitive layer, and the comparison across activations (``toymodels competition``;
  :mod:`summaries.competition_summary`).

The pieces they share live once: :func:`agreement`, :func:`first_crossing`,
:func:`listed` (arrays as strict JSON), the seed that stands for a cell
(:mod:`summaries.seed_selection`) and a run's settings (:mod:`summaries.run_settings`).
The theory and data the figures draw come from here too (:mod:`summaries.phase_maps`,
:mod:`summaries.superposition_theory`, :mod:`summaries.trained_models`,
:mod:`summaries.thomson_comparison`).  Modules load
on first use, so ``import summaries`` is light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .agreement import agreement
from .crossing import first_crossing
from .json_values import listed

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "agreement",
    "competition",
    "competition_compare",
    "conflict",
    "first_crossing",
    "listed",
    "multitask",
    "superposition",
]


def superposition(results: xr.Dataset, optimum: bool = True) -> dict:
    """The summary ``toymodels phase-diagram`` writes (with ``optimum``: the exact
    optimum's phases and agreement too)."""
    from .superposition_summary import summarise

    return summarise(results, optimum)


def multitask(results: xr.Dataset) -> dict:
    """The summary ``toymodels multitask train`` writes (without the figures' paths)."""
    from .multitask_summary import summarise

    return summarise(results)


def conflict(results: xr.Dataset) -> dict:
    """The summary ``toymodels conflict phase-diagram`` writes (without the figures'
    paths)."""
    from .conflict_summary import summarise

    return summarise(results)


def competition(results: xr.Dataset) -> dict:
    """The summary ``toymodels competition phase-diagram`` writes (without the figures'
    paths)."""
    from .competition_summary import summarise

    return summarise(results)


def competition_compare(results: xr.Dataset) -> dict:
    """What ``toymodels competition compare`` writes (without the figures' paths)."""
    from .competition_summary import compare_summary

    return compare_summary(results)
