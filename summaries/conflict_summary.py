"""The summary of a task-conflict phase diagram (a conflict κ × width or view-ratio sweep
of a two-view network): the linear theory on the same grid (:func:`theory_for`), and the
trained phases, dominance and learning times beside it (:func:`summarise`), arrays
indexed ``[conflict][axis]``."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from toymodels.phases import task_conflict

from .agreement import agreement
from .crossing import first_crossing
from .json_values import listed
from .run_settings import run_setting, spec_of
from .seed_selection import diverged_counts

if TYPE_CHECKING:
    import xarray as xr

# The second axis of a conflict diagram: the shared layer's width or view 2's strength.
SECOND_AXES = ("n_hidden", "view_ratio")
# κ points of the theory's boundary line (the boundary is smooth in κ).
LINE_POINTS = 201
# Points of the boundary line along a continuous (view-ratio) axis.
RATIO_POINTS = 61


def second_axis(ds: xr.Dataset) -> str:
    """The diagram's y axis: ``n_hidden`` or ``view_ratio``."""
    found = [d for d in SECOND_AXES if d in ds.dims]
    if len(found) != 1 or "conflict" not in ds.dims:
        raise ValueError("a conflict diagram needs the axes conflict and n_hidden or view_ratio")
    return found[0]


def theory_for(ds: xr.Dataset, conflicts=None, values=None) -> dict[str, np.ndarray]:
    """The closed-form prediction for the run's settings, ``[conflict, axis]`` arrays, on
    the run's grid (or on the given ``conflicts`` and axis ``values``)."""
    from analytics.conflict_theory import predict_grid

    axis = second_axis(ds)
    conflicts = ds["conflict"].values if conflicts is None else conflicts
    values = ds[axis].values if values is None else values
    grid = {
        "view_ratio": float(run_setting(ds, "view_ratio")),
        "width": int(run_setting(ds, "n_hidden")),
    }
    grid["view_ratio" if axis == "view_ratio" else "width"] = values
    out = predict_grid(
        int(run_setting(ds, "n_items")),
        conflicts,
        grid["view_ratio"],
        grid["width"],
        lr=float(run_setting(ds, "lr", "train")),
        init_std=float(run_setting(ds, "init_std")),
        epochs=int(run_setting(ds, "steps", "train")),
    )
    squeeze = 2 if axis == "view_ratio" else 1  # drop the fixed one of (ratio, width)
    return {k: np.take(v, 0, axis=squeeze) for k, v in out.items()}


def boundary_line(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The theory's balance on a fine grid, for its boundary contour: the κ values, the
    second axis's values (every width, or log-spaced ratios) and ``balance [κ, value]``."""
    axis = second_axis(ds)
    values = ds[axis].values
    if axis == "n_hidden":
        fine = np.arange(int(values.min()), int(values.max()) + 1)
    else:
        fine = np.geomspace(float(values.min()), float(values.max()), RATIO_POINTS)
    kappa = np.linspace(float(ds["conflict"].min()), float(ds["conflict"].max()), LINE_POINTS)
    return kappa, fine, theory_for(ds, kappa, fine)["balance"]


def learn_times(trajectory: xr.DataArray) -> np.ndarray:
    """Epoch at which each series of explained fractions ``[..., step]`` first reaches half
    its final value (linear interpolation between recorded steps); NaN where the final
    value is below ``task_conflict.NOT_LEARNED`` (nothing learned to time)."""
    steps = trajectory["step"].values.astype(float)
    values = np.asarray(trajectory.values, float)
    flat = values.reshape(-1, values.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    for i, row in enumerate(flat):
        if row[-1] >= task_conflict.NOT_LEARNED:
            out[i] = first_crossing(steps, row, row[-1] / 2)
    return out.reshape(values.shape[:-1])


def summarise(results: xr.Dataset, theory: dict | None = None) -> dict:
    """The summary of one conflict sweep (arrays ``[conflict][axis]``) beside ``theory``
    (:func:`theory_for` of the results, computed when not given)."""
    spec = spec_of(results)
    theory = theory_for(results) if theory is None else theory
    axis = second_axis(results)
    order = ("conflict", axis)
    phase = results["phase_best"].transpose(*order).values.astype(str)
    per_model = results["phase_model"].transpose(*order, "seed").values.astype(str)
    # A diverged model's numbers are NaN here, so means and spreads leave it out.
    kept = ~results["diverged"]
    dominance = results["dominance"].where(kept).transpose(*order, "seed").values
    explained = results["explained"].where(kept).transpose(*order, "seed", "task").values
    times = learn_times(results["explained_trajectory"].transpose(*order, "seed", "task", "step"))
    # Mean over the seeds that learned the task (NaN where none did).
    learned = np.isfinite(times)
    count = learned.sum(2)
    mean_times = np.where(learned, times, 0.0).sum(2) / np.where(count > 0, count, np.nan)
    fractions = results["phase_fraction"].transpose(*order, "phase")
    config = spec.model_config(spec.cell_point(0))
    no_conflict = np.isclose(results["conflict"].values, 0.0)
    summary = {
        "conflict": results["conflict"].values.tolist(),
        "axis": results[axis].values.tolist(),
        "phase": phase.tolist(),
        "phase_fraction": {
            str(label): fractions.sel(phase=label).values.tolist()
            for label in fractions["phase"].values
        },
        "theory_phase": theory["phase"].tolist(),
        "dominance": listed(_nan_stat(np.nanmean, dominance, -1)),
        "dominance_std": listed(_nan_stat(np.nanstd, dominance, -1)),
        "theory_dominance": theory["dominance"].tolist(),
        "explained": listed(_nan_stat(np.nanmean, explained, 2)),
        "theory_explained": theory["explained"].tolist(),
        "learn_time": listed(mean_times),
        "theory_learn_time": listed(theory["learn_time"]),
        "theory_tie": theory["tie"].tolist(),
        "agreement": agreement(phase, theory["phase"]),
        "agreement_per_seed": agreement(
            per_model, np.broadcast_to(theory["phase"][..., None], per_model.shape)
        ),
        **diverged_counts(results),
        "spread_at_no_conflict": _largest(_nan_stat(np.nanstd, dominance[no_conflict], -1)),
        "thresholds": task_conflict.THRESHOLDS,
        "settings": {
            "model": spec.family,
            "axis": "width" if axis == "n_hidden" else "strength",
            "axis_field": axis,
            "items": config.data.n_items,
            "width": None if axis == "n_hidden" else config.arch.n_hidden,
            "view_ratio": None if axis == "view_ratio" else config.data.view_ratio,
            "init_std": config.arch.init_std,
            "seeds": spec.seeds,
            "root_seed": spec.root_seed,
            "epochs": spec.train.steps,
            "lr": spec.train.lr,
            "record_every": spec.train.record_every,
            "dominance": "view 1's share V1/(V1+V2) of the output's main effects",
        },
    }
    return summary


def _nan_stat(stat, values: np.ndarray, axis: int) -> np.ndarray:
    """``stat`` over the finite seeds; NaN (no warning) where every seed diverged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return stat(values, axis=axis)


def _largest(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else None
