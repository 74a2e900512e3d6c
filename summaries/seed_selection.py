"""Which seed of a cell stands for it: the loss replicates are ranked by, and the best one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toymodels.phases.base import selection

if TYPE_CHECKING:
    import xarray as xr


def selection_loss(ds: xr.Dataset) -> np.ndarray:
    """The loss replicates are ranked by: exact where finite, else the fresh-sample loss
    (the results schema's ``selection_loss``); a diverged model ranks last."""
    loss = ds["loss"].values.astype(float)
    if "loss_exact" in ds:
        exact = ds["loss_exact"].values.astype(float)
        loss = np.where(np.isfinite(exact), exact, loss)
    diverged = ds["diverged"].transpose(*ds["loss"].dims).values if "diverged" in ds else None
    return selection(loss, diverged)


def diverged_counts(ds: xr.Dataset) -> dict[str, int]:
    """What every summary reports of divergence: ``diverged_models`` and
    ``diverged_cells``, the cells every seed of which diverged (a run without axes is one
    cell)."""
    diverged = ds["diverged"]
    return {
        "diverged_models": int(diverged.sum()),
        "diverged_cells": int(diverged.all("seed").sum()),
    }


def best_seed(ds: xr.Dataset) -> np.ndarray:
    """Index of the lowest-loss seed of every cell (``[...]`` over the sweep axes)."""
    order = [d for d in ds["loss"].dims if d != "seed"] + ["seed"]
    return np.argmin(selection_loss(ds.transpose(*order, ...)), axis=-1)
