"""What ``conflict phase-diagram`` writes next to its run: the linear theory on the same
grid, the trained phases, dominance and learning times beside it, ``summary.json`` and the
figure."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from toymodels.files import atomic_write
from toymodels.phases import task_conflict

from .crossing import first_crossing
from .json_arrays import listed
from .phase_report import agreement


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


def summarise(results: xr.Dataset, spec, theory: dict) -> dict:
    """The summary of one conflict sweep (arrays ``[conflict][axis]``) beside ``theory``
    (``figures.conflict_panels.theory_for`` of the results)."""
    from figures.conflict_panels import second_axis

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
        "diverged_models": int(kept.size - kept.sum()),
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


def write_report(results: xr.Dataset, spec, out: Path) -> dict:
    """Write ``summary.json`` and the figure into ``out``; returns the summary."""
    from figures import save
    from figures.conflict_panels import conflict_diagram, theory_for

    theory = theory_for(results)
    summary = summarise(results, spec, theory)
    settings = summary["settings"]
    model = "linear" if spec.family == "two_view_linear" else "ReLU"
    fixed = (
        f"view ratio {settings['view_ratio']:g}"
        if settings["axis"] == "width"
        else f"width {settings['width']}"
    )
    title = f"{model} shared layer, {fixed}, {spec.seeds} seeds, {spec.train.steps} epochs"
    fig = conflict_diagram(results, title=title, theory=theory)
    summary["figures"] = [str(p) for p in save(fig, out / "phase_diagram")]
    atomic_write(out / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=2)))
    return summary
