"""The summaries of competition inside a hidden layer: a temperature τ × volume strength λ
phase diagram (:func:`summarise`), and one activation against the others
(:func:`compare_rows`).

Per cell, the metrics of the best seed (lowest loss, as the best-of-N phase), their mean
over seeds and the share of seeds in each phase (:func:`diagram_arrays`); on a task whose
output is a free energy (``annealing``), the theory's critical temperature τ_c
(:func:`critical_temperature_of`) and the agreement of the trained phases with it outside a
band around τ_c.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toymodels.phases import layer_competition
from toymodels.phases.base import DIVERGED
from toymodels.phases.layer_competition import LABELS
from toymodels.volumes import STRENGTH_FIELDS, volume_names

from .agreement import agreement
from .json_values import listed
from .majority_phase import isolated_share, majority_phase
from .run_settings import run_setting, spec_of
from .seed_selection import best_seed, diverged_counts

if TYPE_CHECKING:
    import xarray as xr

    from sweeps import SweepSpec

# The layer metrics the summaries and figures show (declared by the family).
METRICS = (
    "max_abs_cos",
    "effective_rank",
    "usage_entropy",
    "effective_units",
    "sample_entropy",
    "dead_fraction",
    "n_distinct",
)
# The phase diagram's axes: temperature τ (rows) and the volume control's strength λ.
DIAGRAM_AXES = ("temperature", "volume_strength")
# Cells within this factor of the critical temperature either way are left out of the
# agreement: the split grows from zero there (as √(τ_c − τ)) and relaxes slowest, so a
# finite run cannot be expected to have settled.
BAND = 0.1


def critical_temperature_of(spec: SweepSpec) -> float | None:
    """The theory's τ_c = 2 λ_max(Σ_x) of a sweep whose task's output is a free energy (its
    mixture's centres, spread and weights); None for the other tasks."""
    from analytics import mixture_critical_temperature
    from toymodels.tasks import TASKS

    task = TASKS[spec.task]
    if not task.free_energy:
        return None
    swept = [a.name for a in spec.axes if a.name in task.Config.field_specs()]
    if any(len(spec.axis(name).values) > 1 for name in swept):
        raise ValueError(f"τ_c depends on the swept axis {swept[0]}; pick one of its values")
    return float(mixture_critical_temperature(spec.model_config(spec.cell_point(0)).data))


def theory_phase(temperature: np.ndarray, tc: float) -> np.ndarray:
    """The annealing theory's phase per temperature: redundant (every prototype at the
    data mean) above ``tc``, split (specialised) below."""
    return np.where(np.asarray(temperature) > tc, "redundant", "specialised")


def outside_band(temperature, tc: float) -> np.ndarray:
    """Whether each temperature lies outside the band of ``BAND`` around ``tc``, where
    the agreement with the theory is scored."""
    return np.abs(np.log(np.asarray(temperature, float) / tc)) > np.log1p(BAND)


def distinct_share(ds: xr.Dataset) -> xr.DataArray:
    """Distinct / alive units per model (the phase rule's redundancy measure)."""
    units = ds.sizes["unit"]
    return layer_competition.distinct_share(ds["n_distinct"], ds["dead_fraction"], units)


def diagram_arrays(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """``[temperature, volume_strength]`` arrays of a τ × λ sweep: the best-of-N phase,
    the share of seeds in each phase, the majority phase and its share of seeds
    (``summaries.majority_phase``), each metric of the best seed and its mean over
    seeds, and the distinct share (best seed and mean)."""
    ds = ds.transpose(*DIAGRAM_AXES, "seed", ...)
    out: dict[str, np.ndarray] = {"phase": ds["phase_best"].values.astype(str)}
    for label in ds["phase"].values:
        out[f"fraction_{label}"] = ds["phase_fraction"].sel(phase=label).values
    fractions = {str(label): out[f"fraction_{label}"] for label in ds["phase"].values}
    out["majority_phase"], out["majority_share"] = majority_phase(fractions, out["phase"])
    share = distinct_share(ds)
    for name, values in [*((m, ds[m]) for m in METRICS), ("distinct_share", share)]:
        values = values.transpose(*DIAGRAM_AXES, "seed")
        out[f"mean_{name}"] = values.where(~ds["diverged"]).mean("seed").values
        picked = np.take_along_axis(values.values, best_seed(ds)[..., None], -1)[..., 0]
        out[name] = picked
    return out


def summarise(results: xr.Dataset, tc: float | None = None) -> dict:
    """The summary of one τ × λ sweep (arrays ``[temperature][strength]``); ``tc`` is
    :func:`critical_temperature_of` of its spec (computed when not given)."""
    from toymodels.families.competing_units import CompetingUnitsConfig

    spec = spec_of(results)
    tc = critical_temperature_of(spec) if tc is None else tc
    arrays = diagram_arrays(results)
    temperature = results["temperature"].values
    strength = results["volume_strength"].values
    config = spec.model_config(spec.cell_point(0))
    arch = config.arch
    summary: dict = {
        "temperature": temperature.tolist(),
        "strength": strength.tolist(),
        "phase": arrays["phase"].tolist(),
        "phase_fraction": {
            label: arrays[f"fraction_{label}"].tolist() for label in (*LABELS, DIVERGED)
        },
        "majority_phase": arrays["majority_phase"].tolist(),
        "majority_share": arrays["majority_share"].tolist(),
        # the share of cells agreeing with fewer than half their 4-neighbours: speckle
        "isolated_cells": isolated_share(arrays["majority_phase"]),
        "isolated_cells_best_of_n": isolated_share(arrays["phase"]),
        **diverged_counts(results),
        "metrics": {m: listed(arrays[m]) for m in (*METRICS, "distinct_share")},
        "metrics_mean": {m: listed(arrays[f"mean_{m}"]) for m in (*METRICS, "distinct_share")},
        "critical_temperature": tc,
    }
    if tc is not None:
        per_model = results["phase_model"].transpose(*DIAGRAM_AXES, "seed").values.astype(str)
        theory = np.broadcast_to(theory_phase(temperature, tc)[:, None], arrays["phase"].shape)
        outside = np.broadcast_to(outside_band(temperature, tc)[:, None], theory.shape)
        summary["theory_phase"] = theory.tolist()
        summary["band"] = BAND
        summary["agreement_outside_band"] = agreement(arrays["phase"][outside], theory[outside])
        summary["agreement_per_seed_outside_band"] = agreement(
            per_model[outside], np.broadcast_to(theory[..., None], per_model.shape)[outside]
        )
    summary["thresholds"] = layer_competition.THRESHOLDS
    # The family's own settings beyond those every competing layer has (the competition
    # family's group_size and k_active; prototypes have none).
    shared = CompetingUnitsConfig.field_specs()
    own = {k: v for k, v in arch.values().items() if k not in shared}
    # the strengths of a list's further controls (the first's is the λ axis)
    further = STRENGTH_FIELDS[1 : len(volume_names(arch.volume))]
    summary["settings"] = {
        "task": spec.task,
        "activation": arch.activation,
        "volume": arch.volume,
        **{field: getattr(arch, field) for field in further},
        "n_hidden": arch.n_hidden,
        **own,
        "seeds": spec.seeds,
        "root_seed": spec.root_seed,
        "steps": spec.train.steps,
        "lr": spec.train.lr,
        "batch_size": spec.train.batch_size,
        "data": config.data.values(),
        "metrics_from": "the lowest-loss seed of each cell (metrics_mean: mean over seeds)",
    }
    return summary


def compare_rows(ds: xr.Dataset) -> list[dict]:
    """One row per activation of a sweep over ``activation``: the best seed's loss and
    metrics, the best-of-N phase and the share of seeds in each phase."""
    ds = ds.transpose("activation", "seed", ...)
    spec_volume = run_setting(ds, "volume")
    best = best_seed(ds)
    rows = []
    for i, name in enumerate(ds["activation"].values):
        cell = ds.isel(activation=i)
        pick = int(best[i])
        row = {"activation": str(name), "volume": spec_volume}
        row["loss"] = float(cell["loss"].values[pick])
        for metric in METRICS:
            row[metric] = float(cell[metric].values[pick])
        if "accuracy" in cell:
            row["accuracy"] = float(cell["accuracy"].values[pick])
        row["phase"] = str(cell["phase_best"].values)
        row["phase_fraction"] = {
            str(label): float(cell["phase_fraction"].sel(phase=label))
            for label in cell["phase"].values
        }
        rows.append(row)
    return rows


def compare_summary(results: xr.Dataset) -> dict:
    """What ``competition compare`` writes: the rows and the settings they share."""
    spec = spec_of(results)
    return {
        "rows": compare_rows(results),
        **diverged_counts(results),
        "settings": {"task": spec.task, "seeds": spec.seeds},
    }
