"""The numbers the competition figures and reports show, read from a sweep of the
``competition`` family: per cell, the metrics of the best seed (lowest loss, as the
best-of-N phase), their mean over seeds, and the rows of the comparison across
activations.  Plain numpy/xarray, no drawing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toymodels.phases import layer_competition

from .phase_data import selection_loss

if TYPE_CHECKING:
    import xarray as xr

# The layer metrics the reports and figures show (declared by the family).
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


def best_seed(ds: xr.Dataset) -> np.ndarray:
    """Index of the lowest-loss seed of every cell (``[...]`` over the sweep axes)."""
    order = [d for d in ds["loss"].dims if d != "seed"] + ["seed"]
    return np.argmin(selection_loss(ds.transpose(*order, ...)), axis=-1)


def distinct_share(ds: xr.Dataset) -> xr.DataArray:
    """Distinct / alive units per model (the phase rule's redundancy measure)."""
    units = ds.sizes["unit"]
    return layer_competition.distinct_share(ds["n_distinct"], ds["dead_fraction"], units)


def diagram_arrays(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """``[temperature, volume_strength]`` arrays of a τ × λ sweep: the best-of-N phase,
    the share of seeds in each phase, each metric of the best seed and its mean over
    seeds, and the distinct share (best seed and mean)."""
    ds = ds.transpose(*DIAGRAM_AXES, "seed", ...)
    out: dict[str, np.ndarray] = {"phase": ds["phase_best"].values.astype(str)}
    for label in ds["phase"].values:
        out[f"fraction_{label}"] = ds["phase_fraction"].sel(phase=label).values
    share = distinct_share(ds)
    for name, values in [*((m, ds[m]) for m in METRICS), ("distinct_share", share)]:
        values = values.transpose(*DIAGRAM_AXES, "seed")
        out[f"mean_{name}"] = values.where(~ds["diverged"]).mean("seed").values
        picked = np.take_along_axis(values.values, best_seed(ds)[..., None], -1)[..., 0]
        out[name] = picked
    return out


def compare_rows(ds: xr.Dataset) -> list[dict]:
    """One row per activation of a sweep over ``activation``: the best seed's loss and
    metrics, the best-of-N phase and the share of seeds in each phase."""
    ds = ds.transpose("activation", "seed", ...)
    spec_volume = _setting(ds, "volume")
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


def _setting(ds: xr.Dataset, name: str):
    from .model_data import run_setting

    return run_setting(ds, name)
