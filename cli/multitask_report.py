"""What ``multitask train`` writes next to its run: the closed form for the same task and
learning rate, the trained quantities it is compared with, ``summary.json`` and figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from toymodels.files import atomic_write

from .crossing import first_crossing
from .json_arrays import listed


def trained_half_times(trajectory: xr.DataArray, asymptote: np.ndarray) -> np.ndarray:
    """Epoch at which each seed's strength along each mode first reaches half the
    closed-form asymptote (linear interpolation between recorded steps; NaN if never),
    ``[seed, mode]``."""
    steps = trajectory["step"].values.astype(float)
    values = trajectory.transpose("seed", "step", "mode").values
    half = asymptote / 2
    out = np.full((values.shape[0], values.shape[2]), np.nan)
    for i in range(values.shape[0]):
        for a in range(values.shape[2]):
            if not values[i, 0, a] >= half[a]:  # already past half at the start: no time
                out[i, a] = first_crossing(steps, values[i, :, a], half[a])
    return out


def summarise(results: xr.Dataset, spec, config, prediction) -> dict:
    """The summary of one run of ``spec`` (every model has ``config``, the seeds aside)."""
    from toymodels.families.gdln import pathway_names

    train = spec.train
    summary: dict = {
        "settings": {
            "model": spec.family,
            "contexts": config.data.n_contexts,
            "structure": config.data.structure,
            "inputs": config.data.inputs,
            "hidden": config.arch.n_hidden,
            "init_std": config.arch.init_std,
            "seeds": spec.seeds,
            "root_seed": spec.root_seed,
            "epochs": train.steps,
            "lr": train.lr,
            "record_every": train.record_every,
        },
        "final_loss": listed(results["loss"].values),
        "diverged_models": int(results["diverged"].sum()),
    }
    if spec.family == "gdln":
        summary["settings"] |= {"gating": config.arch.gating, "training": config.arch.training}
        names = pathway_names(config.data.n_contexts, config.arch.gating)
        top = results["pathway_singular_values"].isel(singular=0)
        top = top.where(~results["diverged"]).transpose("pathway", "seed")
        summary["module_singular_values"] = {
            name: listed(top.values[k]) for k, name in enumerate(names)
        }
    else:
        summary["census"] = {
            kind: results[f"units_{kind}"].values.astype(int).tolist()
            for kind in ("all", "subset", "single")
        }
    # A diverged seed's strengths are NaN, so the comparison with theory leaves it out.
    kept = ~results["diverged"]
    modes = results["mode_strength"].where(kept).transpose("seed", "mode").values
    summary["modes"] = listed(modes)
    asymptote = prediction.asymptote
    relative = np.abs(modes - asymptote) / asymptote
    finite = relative[np.isfinite(relative)]
    half = trained_half_times(results["mode_strength_trajectory"], asymptote)
    summary["theory"] = {
        "tau": prediction.tau,
        "a0": prediction.a0,
        "s": prediction.s.tolist(),
        "d": prediction.d.tolist(),
        "asymptote": asymptote.tolist(),
        "half_time": prediction.half_time.tolist(),
        "final_loss": float(prediction.loss([train.steps])[0]),
        "max_relative_difference": float(finite.max()) if finite.size else None,
        "relative_difference": listed(relative),
        "trained_half_time": [[None if np.isnan(v) else float(v) for v in row] for row in half],
    }
    return summary


def write_report(results: xr.Dataset, spec, out: Path) -> dict:
    """Write ``summary.json`` and the figures into ``out``; returns the summary."""
    from analytics.mode_dynamics import predict
    from figures import save
    from figures.multitask import (
        census_bars,
        loss_curves,
        mds_snapshots,
        mode_trajectories,
        pathway_strengths,
    )

    config = spec.model_config(spec.cell_point(0))
    prediction = predict(config.data, spec.train.lr, config.arch.init_std, config.arch.n_hidden)
    summary = summarise(results, spec, config, prediction)
    figures = {
        "loss": loss_curves({spec.family: results}, prediction),
        "modes": mode_trajectories(results, prediction),
    }
    if spec.family == "gdln":
        figures["pathways"] = pathway_strengths(results)
    else:
        figures["census"] = census_bars(results)
        figures["mds"] = mds_snapshots(results)
    written = []
    for name, fig in figures.items():
        written += [str(p) for p in save(fig, out / name)]
    summary["figures"] = written
    atomic_write(out / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=2)))
    return summary
