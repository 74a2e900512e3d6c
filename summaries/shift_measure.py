"""Whether a layer's redundancy is in what it computes or in how it is measured: each model
of a competing-layer run classified three ways, with its unit rows ``[w_k, b_k]`` taken as
they are and alike at ``|cos| > 0.95`` (``plain``, the measure of a layer without the
invariance), centred over the units and alike at ``|cos| > 0.95`` (``centred_abs``), and
centred and alike at ``cos > 0.95`` (``centred``, ``toymodels.unit_metrics``' measure of
an activation that ignores a shift common to the rows).

Where they disagree on one trained model, the difference is in the measure, not in the
layer: the shared part of the rows (which computes nothing under softmax), or the sign
(opposite centred rows win opposite regions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toymodels.phases.layer_competition import LABELS, classify, distinct_share

from .run_settings import run_setting

if TYPE_CHECKING:
    import xarray as xr


def phases_both_ways(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """``{"plain": phase, "centred_abs": phase, "centred": phase}`` and each one's
    ``<kind>_max_abs_cos``, arrays over ``ds``'s model axes (every axis but ``unit`` and
    ``input``), for a run of hyperplane units (``W1``, ``b1``, ``usage``,
    ``effective_units``, ``dead_fraction``) whose activation ignores a shift common to
    the units' rows (over the layer, or over blocks of ``group_size`` units)."""
    import torch

    from toymodels.activations import ACTIVATIONS
    from toymodels.phases.layer_competition import SAME_DIRECTION
    from toymodels.unit_metrics import alive, centred_rows, max_off_diagonal, n_distinct, signed_cos

    name = str(run_setting(ds, "activation"))
    units = ds.sizes["unit"]
    cls = ACTIVATIONS[name]
    if cls.shift_invariant is None:
        raise ValueError(f"{name} declares no shift invariance: its rows are not centred")
    block = units if cls.shift_invariant == "layer" else int(run_setting(ds, "group_size"))
    model_dims = [d for d in ds["W1"].dims if d not in ("unit", "input")]
    W = ds["W1"].transpose(*model_dims, "unit", "input").values
    b = ds["b1"].transpose(*model_dims, "unit").values
    usage = ds["usage"].transpose(*model_dims, "unit").values
    shape = W.shape[:-2]
    rows = torch.as_tensor(
        np.concatenate([W, b[..., None]], -1).reshape(-1, units, W.shape[-1] + 1)
    )
    live = alive(torch.as_tensor(usage.reshape(-1, units)))
    out: dict[str, np.ndarray] = {}
    effective = ds["effective_units"].transpose(*model_dims).values
    dead = ds["dead_fraction"].transpose(*model_dims).values
    centred = centred_rows(rows, block)
    for kind, r in (("plain", rows), ("centred_abs", centred), ("centred", centred)):
        cos = signed_cos(r)
        same = cos > SAME_DIRECTION if kind == "centred" else cos.abs() > SAME_DIRECTION
        distinct = n_distinct(same, live).numpy().reshape(shape)
        share = distinct_share(distinct, dead, units)
        out[kind] = np.asarray(LABELS)[classify(effective, dead, share)]
        out[f"{kind}_max_abs_cos"] = max_off_diagonal(cos.abs()).numpy().reshape(shape)
    return out
