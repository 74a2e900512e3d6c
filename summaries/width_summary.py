"""The loss of a layer of units against its width K: does a small competitive layer do
what a large ReLU layer does?

Each layer is one run with an ``n_hidden`` axis (``toymodels competition width``); per K
the loss and accuracy (mean over seeds and per seed), the effective units exp H(p̄), the
distinct units and the dead fraction (means over seeds), and for each layer the smallest
K whose mean loss is at most :data:`MATCH_FACTOR` times the reference layer's at its
largest K.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .json_values import listed
from .prune_summary import SAME_LOSS_FACTOR
from .run_settings import spec_of

if TYPE_CHECKING:
    import xarray as xr

#: A layer matches the reference when its mean loss is at most this factor times the
#: reference's (the rule and its reason: ``summaries.prune_summary.SAME_LOSS_FACTOR``).
MATCH_FACTOR = SAME_LOSS_FACTOR
#: The metrics reported per K, mean over the seeds that did not diverge.
WIDTH_METRICS = ("effective_units", "n_distinct", "dead_fraction")


def _mean(values: np.ndarray) -> np.ndarray:
    """``[K]``: mean over seeds (last axis) of the finite values, NaN where none is."""
    finite = np.isfinite(values)
    count = finite.sum(-1)
    total = np.where(finite, values, 0.0).sum(-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def chance_loss(ds: xr.Dataset) -> float | None:
    """The cross-entropy of the best constant output on the run's clusters task (the
    entropy of the class probabilities); None on another task."""
    spec = spec_of(ds)
    data = spec.model_config(spec.cell_point(0)).data
    if not hasattr(data, "probabilities"):
        return None
    p = np.asarray(data.probabilities(), dtype=float)
    return float(-(p * np.log(p)).sum())


def layer_curve(ds: xr.Dataset, label: str) -> dict:
    """One layer's numbers against K from its run ``ds`` (an ``n_hidden`` axis)."""
    spec = spec_of(ds)
    model = spec.to_dict()["model"]
    ds = ds.sortby("n_hidden")
    loss = ds["loss"].transpose("n_hidden", "seed").values.astype(float)
    curve = {
        "label": label,
        "activation": model.get("activation"),
        "volume": model.get("volume"),
        "volume_strength": model.get("volume_strength"),
        "temperature": model.get("temperature"),
        "width": [int(k) for k in ds["n_hidden"].values],
        "loss_mean": listed(_mean(loss)),
        "loss": listed(loss),
    }
    if "accuracy" in ds:
        accuracy = ds["accuracy"].transpose("n_hidden", "seed").values.astype(float)
        curve |= {"accuracy_mean": listed(_mean(accuracy)), "accuracy": listed(accuracy)}
    for name in WIDTH_METRICS:
        if name in ds:
            values = ds[name].transpose("n_hidden", "seed").values.astype(float)
            curve[f"{name}_mean"] = listed(_mean(values))
    if "phase_fraction" in ds:
        fractions = ds["phase_fraction"].transpose("n_hidden", "phase")
        curve["phase_fraction"] = [
            {str(p): float(v) for p, v in zip(ds["phase"].values, row, strict=True)}
            for row in fractions.values
        ]
    return curve


def smallest_matching(curve: dict, target: float | None) -> int | None:
    """The smallest K of ``curve`` whose mean loss is at most :data:`MATCH_FACTOR` times
    ``target``; None when none is (or the losses are unknown)."""
    if target is None:
        return None
    limit = MATCH_FACTOR * target
    for k, v in zip(curve["width"], curve["loss_mean"], strict=True):
        if v is not None and v <= limit:
            return k
    return None


def width_summary(runs: dict[str, xr.Dataset], reference: str) -> dict:
    """``runs``: label → run with an ``n_hidden`` axis; ``reference`` the label of the layer
    the others are held against (ReLU), at its largest K."""
    curves = [layer_curve(ds, label) for label, ds in runs.items()]
    chance = chance_loss(runs[reference])
    ref = next(c for c in curves if c["label"] == reference)
    target = ref["loss_mean"][-1]
    for curve in curves:
        curve["smallest_width_matching"] = smallest_matching(curve, target)
    return {
        "reference": reference,
        "reference_width": ref["width"][-1],
        "reference_loss": target,
        "chance_loss": None if chance is None or not math.isfinite(chance) else chance,
        "match_factor": MATCH_FACTOR,
        "layers": curves,
    }
