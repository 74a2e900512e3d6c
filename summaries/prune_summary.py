"""Pruning trained layers of units: the task loss (and accuracy) against the share of units
removed, least used first or smallest read-out first, nothing retrained.

The premise it tests (``competition-within-layers``): a ReLU layer's units duplicate one
another, so most of them can go at little cost; a competitive layer's units each claim
their own region, so none is redundant.  The evaluation of a pruned layer is
``toymodels.pruning`` (what removing a unit means, for a softmax too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toymodels.families import FAMILIES
from toymodels.pruning import keep_masks, pruned_scores, removal_order
from toymodels.seeds import model_seed

from .json_values import listed
from .run_settings import spec_of

if TYPE_CHECKING:
    import xarray as xr

#: The orders units are removed in, each a score per unit (the lowest goes first):
#: ``usage`` the stored p̄_k, each unit's share of the responsibilities on the probe
#: examples; ``outgoing_norm`` ‖W₂[:, k]‖, how much the read-out listens to it.
ORDERS = {
    "usage": "least used first (usage p̄_k on the probe examples)",
    "outgoing_norm": "smallest outgoing weight ‖W₂[:, k]‖ first",
}
#: Two mean losses are alike when one is at most this factor times the other (a pruned
#: layer keeps its task; a narrow layer matches a wide one).  A factor, not a difference:
#: a trained layer's loss sits near the task's floor (6 classes on a ring of radius 2,
#: spread 0.3: about 0.003), where seeds differ by tens of percent (ReLU at K = 8-32:
#: 0.0030-0.0035 mean, 0.002-0.005 by seed), while a layer that lost its task misses by
#: one or two orders of magnitude; a share of the gap to chance (log 6 = 1.8) would call a
#: loss of 0.1, thirty times the floor, a match.
SAME_LOSS_FACTOR = 2.0


def units_removed(fractions: list[float], units: int) -> list[int]:
    """Units removed of ``units`` at each fraction: ``round(f·K)``, halves up."""
    return [int(np.floor(f * units + 0.5)) for f in fractions]


def order_scores(cell: xr.Dataset) -> dict[str, np.ndarray]:
    """Each order's score ``[seed, unit]`` for the models of one cell."""
    W2 = cell["W2"].transpose("seed", "output", "unit").values.astype(float)
    return {
        "usage": cell["usage"].transpose("seed", "unit").values.astype(float),
        "outgoing_norm": np.linalg.norm(W2, axis=1),
    }


def cell_models(ds: xr.Dataset, cell: xr.Dataset):
    """``(configs, seeds, params)`` of one cell's models (one per seed), as trained."""
    spec = spec_of(ds)
    index = int(cell["cell_index"])
    config = spec.model_config(spec.cell_point(index))
    seeds = [model_seed(spec.root_seed, index, r) for r in range(cell.sizes["seed"])]
    params = {}
    for name in FAMILIES[config.family].params:  # every stored parameter of the layer
        if name in cell:
            dims = [d for d in cell[name].dims if d != "seed"]
            params[name] = cell[name].transpose("seed", *dims).values
    return [config] * len(seeds), seeds, params


def _mean(values: np.ndarray) -> list[float | None]:
    """Mean over seeds (axis 1) of the finite values (a diverged model's are not); None
    where there is none."""
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(1)
    count = finite.sum(1)
    return listed(np.where(count > 0, total / np.maximum(count, 1), np.nan))


def _table(values: np.ndarray) -> list[list[float | None]]:
    return listed(values)


def prune_summary(ds: xr.Dataset, fractions: list[float]) -> dict:
    """Per activation of ``ds`` (a run with an ``activation`` axis), per order: the loss
    and accuracy at each fraction of units removed, mean over seeds and per seed; the
    stored loss, the read-out bias's loss (every unit removed) and the largest fraction
    removed at which the layer still does its task (:data:`SAME_LOSS_FACTOR`)."""
    spec = spec_of(ds)
    units = ds.sizes["unit"]
    removed = units_removed(fractions, units)
    kept = [(units - n) / units for n in removed]
    out: dict = {
        "fraction_removed": [float(f) for f in fractions],
        "units_removed": removed,
        "fraction_kept": kept,
        "orders": dict(ORDERS),
        "same_loss_factor": SAME_LOSS_FACTOR,
        "activations": {},
    }
    for activation in ds["activation"].values:
        cell = ds.sel(activation=activation)
        configs, seeds, params = cell_models(ds, cell)
        stored = cell["loss"].values.astype(float)
        entry: dict = {
            "stored_loss_mean": _mean(stored[None])[0],
            "stored_loss": _table(stored[None])[0],
        }
        scores = order_scores(cell)
        # Every order's masks in one evaluation (one rebuild, one draw of the examples),
        # the last mask of each order every unit removed: the read-out bias alone.
        steps = [*removed, units]
        masks = np.concatenate([keep_masks(removal_order(s), steps) for s in scores.values()])
        found = pruned_scores(configs, seeds, params, masks, spec.train.eval_batch)
        for i, order in enumerate(scores):
            part = {k: v[i * len(steps) : (i + 1) * len(steps)] for k, v in found.items()}
            loss = part["loss"][:-1]
            entry["bias_loss_mean"] = _mean(part["loss"][-1:])[0]
            curve = {"loss_mean": _mean(loss), "loss": _table(loss)}
            if "accuracy" in part:
                accuracy = part["accuracy"][:-1]
                curve |= {"accuracy_mean": _mean(accuracy), "accuracy": _table(accuracy)}
            curve["removable_fraction"] = removable_fraction(
                removed, units, curve["loss_mean"], entry["stored_loss_mean"]
            )
            entry[order] = curve
        out["activations"][str(activation)] = entry
    return out


def removable_fraction(
    removed: list[int], units: int, loss_mean: list[float | None], intact: float | None
) -> float | None:
    """The largest fraction of units removed at which the mean loss stays at most
    :data:`SAME_LOSS_FACTOR` times the intact layer's; None when the losses are not
    known (or no fraction evaluated keeps it)."""
    if intact is None:
        return None
    limit = SAME_LOSS_FACTOR * intact
    fine = [
        n / units for n, v in zip(removed, loss_mean, strict=True) if v is not None and v <= limit
    ]
    return max(fine, default=None)
