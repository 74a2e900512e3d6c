"""The summary of the depth experiment (``toymodels multitask depth``): per hidden layer,
the census of strong units and the share of them active in every context, for a
contextual network with two hidden layers and for its gated counterpart (``gdln_deep``).

Jarvis et al. (2025) report that with depth the first layer becomes shared by every
context and the gating (mixed selectivity) moves to the second layer: the first layer's
shared fraction should approach 1 and stay above the second's.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .json_values import listed
from .run_settings import spec_of

if TYPE_CHECKING:
    import xarray as xr

#: census categories and the per-layer metric that counts each
KINDS = {"all": "layer_units_all", "subset": "layer_units_subset", "single": "layer_units_single"}


def shared_fractions(counts: dict[str, np.ndarray]) -> np.ndarray:
    """The share of strong units active in every context, from the census counts (each
    ``[..., layer]``); NaN where a layer has no strong unit (a diverged model)."""
    total = sum(np.asarray(v, float) for v in counts.values())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.asarray(counts["all"], float) / total, np.nan)


def layer_census(results: xr.Dataset) -> list[dict]:
    """Per hidden layer: ``{"census": {"all", "subset", "single": [per seed]},
    "shared_fraction": [per seed]}`` (a diverged seed's fraction is null)."""
    counts = {k: results[v].transpose("seed", "layer").values for k, v in KINDS.items()}
    fraction = shared_fractions(counts)
    fraction[results["diverged"].values] = np.nan
    return [
        {
            "census": {k: counts[k][:, layer].astype(int).tolist() for k in KINDS},
            "shared_fraction": listed(fraction[:, layer]),
        }
        for layer in range(fraction.shape[1])
    ]


def shared_fraction_trajectory(results: xr.Dataset) -> dict:
    """``{"epoch": [...], "mean": [layer][step]}``: each layer's shared fraction over
    training, the mean over the seeds that did not diverge."""
    counts = {
        k: results[v + "_trajectory"].transpose("seed", "step", "layer").values
        for k, v in KINDS.items()
    }
    fraction = shared_fractions(counts)[~results["diverged"].values]  # [seed, step, layer]
    with warnings.catch_warnings():  # a step where no seed has a strong unit: null
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(fraction, 0) if fraction.size else np.full(fraction.shape[1:], np.nan)
    return {"epoch": results["step"].values.astype(int).tolist(), "mean": listed(mean.T)}


def _settings(results: xr.Dataset) -> dict:
    spec = spec_of(results)
    config = spec.model_config(spec.cell_point(0))
    return {
        "model": spec.family,
        "contexts": config.data.n_contexts,
        "structure": config.data.structure,
        **config.arch.values(),
        "seeds": spec.seeds,
        "root_seed": spec.root_seed,
        "epochs": spec.train.steps,
        "lr": spec.train.lr,
        "record_every": spec.train.record_every,
    }


def _run_summary(results: xr.Dataset) -> dict:
    return {
        "settings": _settings(results),
        "layers": layer_census(results),
        "final_loss": listed(results["loss"].values),
        "shared_fraction_trajectory": shared_fraction_trajectory(results),
        "diverged_models": int(results["diverged"].sum()),
    }


def summarise_depth(network: xr.Dataset, gated: xr.Dataset) -> dict:
    """The depth experiment's summary: the network's per-layer census, shared fractions and
    final losses at the top level, its gated counterpart's under ``gdln`` (with each
    pathway's top singular value per seed)."""
    from toymodels.families.deep_gdln import pathway_names

    summary = _run_summary(network)
    gdln = _run_summary(gated)
    names = pathway_names(int(gdln["settings"]["contexts"]))
    top = gated["pathway_singular_values"].isel(singular=0)
    top = top.where(~gated["diverged"]).transpose("pathway", "seed").values
    gdln["pathway_singular_values"] = {name: listed(top[k]) for k, name in enumerate(names)}
    summary["gdln"] = gdln
    return summary
