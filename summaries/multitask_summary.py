"""The summary of a run on the contextual task (``toymodels multitask train``): the closed
form for the same task, learning rate, initial scale and width (:func:`prediction_for`),
and the trained quantities it is compared with (:func:`summarise`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .crossing import first_crossing
from .json_values import listed
from .run_settings import run_setting, spec_of
from .seed_selection import diverged_counts

if TYPE_CHECKING:
    import xarray as xr

    from analytics.mode_dynamics import ModePrediction


def prediction_for(ds: xr.Dataset) -> ModePrediction:
    """The closed form for the run's task, learning rate, initial scale and width (a cell
    picked out of a sweep carries its values as coordinates)."""
    from analytics.mode_dynamics import predict
    from toymodels.contextual_data import ContextualConfig

    config = ContextualConfig(
        n_contexts=int(run_setting(ds, "n_contexts")),
        structure=run_setting(ds, "structure"),
        inputs=run_setting(ds, "inputs"),
        context_scale=float(run_setting(ds, "context_scale")),
    )
    lr, init_std = float(run_setting(ds, "lr", "train")), float(run_setting(ds, "init_std"))
    return predict(config, lr, init_std, int(run_setting(ds, "n_hidden")))


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


def summarise(results: xr.Dataset, prediction: ModePrediction | None = None) -> dict:
    """The summary of one run (every model has the same config, the seeds aside): settings,
    final losses, the census of strong units (contextual networks) or each pathway's top
    singular value (GDLN), the trained mode strengths and the closed form beside them, and
    for a ReLU network the closed-form ReLN loss (``reln``, :mod:`summaries.reln_summary`);
    ``prediction`` is :func:`prediction_for` of ``results`` when the caller has it."""
    from toymodels.families.gdln import pathway_names

    spec = spec_of(results)
    config = spec.model_config(spec.cell_point(0))
    prediction = prediction_for(results) if prediction is None else prediction
    train = spec.train
    summary: dict = {
        "settings": {
            "model": spec.family,
            "contexts": config.data.n_contexts,
            "structure": config.data.structure,
            "inputs": config.data.inputs,
            "context_scale": config.data.context_scale,
            "hidden": config.arch.n_hidden,
            "init_std": config.arch.init_std,
            "seeds": spec.seeds,
            "root_seed": spec.root_seed,
            "epochs": train.steps,
            "lr": train.lr,
            "record_every": train.record_every,
        },
        "final_loss": listed(results["loss"].values),
        **diverged_counts(results),
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
    if spec.family == "contextual_relu":
        from .reln_summary import reln_closed_form

        # The ReLN: the gated linear network the ReLU network's gating makes of it.
        summary["reln"] = {"closed_form": reln_closed_form(results)}
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
