"""The results schema, read from declarations: which arrays a chunk of models holds, with
their dims and dtypes, and what they mean.

Every model stores ``loss`` (on fresh examples from its evaluation stream), ``loss_exact``
(families with a closed form; NaN where it does not reach), ``train_loss`` (on its finite
data set, when it has one), ``penalty`` (when a regulariser is set), the family's
parameters and metrics, the task's metrics, and, with ``record_every``, the trajectory of
the loss and of every metric along a ``step`` dim (``<name>_trajectory``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toymodels.families import FAMILIES
from toymodels.model_config import ModelConfig
from toymodels.tasks import TASKS
from toymodels.train_config import TrainConfig

TRAJECTORY = "_trajectory"
STEP = "step"
# Per-model bookkeeping every chunk holds (not dataset variables).
INDEX_ARRAYS = {"cell": np.dtype(np.int64), "replicate": np.dtype(np.int64)}


@dataclass(frozen=True)
class Variable:
    """One per-model array: its dims after the model (in the dataset: after the sweep's
    axes and ``seed``), dtype and meaning."""

    dims: tuple[str, ...]
    dtype: np.dtype
    description: str


def variables(config: ModelConfig, train: TrainConfig) -> dict[str, Variable]:
    """The arrays stored for each model of ``config`` trained with ``train``."""
    family, task = FAMILIES[config.family], TASKS[config.task]
    f64 = np.dtype(np.float64)
    out = {
        name: Variable(o.dims, np.dtype(o.dtype), o.description)
        for name, o in family.params.items()
    }
    if task.fixed:
        out["loss"] = Variable((), f64, "final loss on the data set")
    else:
        out["loss"] = Variable((), f64, f"final loss on {train.eval_batch} fresh examples")
    if family.closed_form:
        out["loss_exact"] = Variable((), f64, "exact expected loss (NaN where unavailable)")
    if task.finite(config.data) and not task.fixed:
        out["train_loss"] = Variable((), f64, "final loss on the finite data set")
    if config.penalty.regulariser != "none":
        out["penalty"] = Variable((), f64, "the regulariser's penalty, before the strength")
    metrics = {**family.metrics, **task.outputs}
    for name, o in metrics.items():
        out[name] = Variable(o.dims, np.dtype(o.dtype), o.description)
    if train.record_every:
        where = "the probe examples" if not task.finite(config.data) else "the data set"
        out["loss" + TRAJECTORY] = Variable((STEP,), f64, f"loss on {where} at each step")
        if family.closed_form:
            out["loss_exact" + TRAJECTORY] = Variable((STEP,), f64, "exact loss at each step")
        for name, o in metrics.items():
            out[name + TRAJECTORY] = Variable(
                (STEP, *o.dims), np.dtype(o.dtype), f"{o.description}, at each step"
            )
    return out


def sizes(config: ModelConfig, train: TrainConfig) -> dict[str, int]:
    """Sizes of every dim the arrays of ``config`` use."""
    return {**FAMILIES[config.family].dims(config), STEP: train.recorded_count()}


def chunk_arrays(config: ModelConfig, train: TrainConfig) -> dict[str, tuple[np.dtype, tuple]]:
    """What a chunk file of such models holds: name -> (dtype, shape after the model)."""
    size = sizes(config, train)
    out = {k: (v, ()) for k, v in INDEX_ARRAYS.items()}
    for name, var in variables(config, train).items():
        out[name] = (var.dtype, tuple(size[d] for d in var.dims))
    return out
