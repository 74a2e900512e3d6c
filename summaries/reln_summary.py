"""The closed-form ReLN beside a ReLU network's run on the contextual task
(``analytics.reln_theory``): the loss the paper's pathways predict at the run's recorded
epochs, for the run's task and learning rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .json_values import listed
from .run_settings import run_setting

if TYPE_CHECKING:
    import xarray as xr


def reln_closed_form(ds: xr.Dataset) -> dict | None:
    """``{"epoch": [...], "loss": [...]}``: the closed-form ReLN loss (the paper's pathways,
    the published initial strengths) at the run's recorded epochs; None for whitened
    inputs, where the gated pathways' object inputs are not defined."""
    from analytics.reln_theory import predict_reln
    from toymodels.contextual_data import ContextualConfig

    config = ContextualConfig(
        n_contexts=int(run_setting(ds, "n_contexts")),
        structure=run_setting(ds, "structure"),
        inputs=run_setting(ds, "inputs"),
        context_scale=float(run_setting(ds, "context_scale")),
    )
    if config.inputs != "one_hot":
        return None
    epochs = np.asarray(ds["step"].values)
    found = predict_reln(config, float(run_setting(ds, "lr", "train")))
    return {"epoch": epochs.astype(int).tolist(), "loss": listed(found.loss(epochs))}
