"""Probe examples and trajectories: what metrics and recorded steps are measured on.

The *probe* of a model is its finite data set when it has one, else ``min(eval_batch,
PROBE_ROWS)`` examples drawn from its own probe stream (``toymodels.seeds``), the same
examples at every recorded step.  A :class:`Recorder` keeps, at steps 0, k, 2k, … and the
last one (``TrainConfig.record_every = k``), the loss on the probe, the exact loss where
the family has one, and every metric of the family and the task.  It draws nothing from
the training or evaluation streams, so recording never changes what is trained.

Memory: each recorded step of a model takes 8 bytes per loss (the probe loss, and the
exact loss for a closed form) and 4 bytes per metric entry: 48 B for a superposition model
with n = 2, so 2·10⁴ such models recorded 101 times hold 2·10⁴ · 101 · 48 B ≈ 97 MB (plus
the probe of the models trained together, bounded by ``PROBE_BYTES``).
"""

from __future__ import annotations

import numpy as np
import torch

from .random_words import UniformBlocks
from .seeds import STREAM_PROBE
from .tasks import Batch
from .threads import torch_threads

# Recorded quantities kept in float64 (everything else is a float32 metric).
LOSSES = ("loss", "loss_exact")
# Probe examples per model on a stream task (fewer when eval_batch is smaller).
PROBE_ROWS = 4096
# Bytes the probe of one group of models trained together may take (with the activations
# computed on it); groups are cut smaller when a probe is needed.
PROBE_BYTES = 64 * 2**20


def probe_rows(task_cls, data, eval_batch: int) -> int:
    """Probe examples of a model whose task config is ``data``."""
    return task_cls.examples(data) if task_cls.finite(data) else min(eval_batch, PROBE_ROWS)


def metrics_need_probe(family, task_cls) -> bool:
    """Whether the final metrics are measured on probe examples."""
    return family.metrics_use_data or bool(task_cls.outputs)


def needs_probe(family, task_cls, train) -> bool:
    return bool(train.record_every) or metrics_need_probe(family, task_cls)


def probe_group_models(family, task_cls, config, train) -> int:
    """Most models whose probe fits in ``PROBE_BYTES``."""
    rows = probe_rows(task_cls, config.data, train.eval_batch)
    per_model = 4 * rows * sum(family.dims(config).values())
    return max(1, PROBE_BYTES // per_model)


def probe_batch(model, eval_batch: int) -> Batch:
    """The probe examples of every model of ``model``."""
    task = model.task
    if task.is_finite:
        return task.data_set
    rows = probe_rows(type(task), task.configs[0], eval_batch)
    shape = task.sample_shape(task.configs[0], rows)
    return task.draw(UniformBlocks(model.seeds, STREAM_PROBE, shape).next())


def non_finite(model, loss: torch.Tensor | None = None) -> torch.Tensor:
    """``[model]``: the models with a non-finite parameter entry, or a non-finite ``loss``
    where one is given: the models that have diverged."""
    bad = torch.zeros(model.n_models, dtype=torch.bool)
    for param in model.parameters():
        bad |= ~torch.isfinite(param.detach().reshape(model.n_models, -1)).all(-1)
    if loss is not None:
        bad |= ~torch.isfinite(loss)
    return bad


@torch.no_grad()
def snapshot(
    model, probe: Batch | None, with_loss: bool, with_exact: bool, loss: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Loss on the probe (``with_loss``), exact loss (``with_exact``) and every metric of
    the family and the task, per model.  A model that has diverged (:func:`non_finite`,
    judged on ``loss`` when given, else on the probe loss when measured) has NaN metrics:
    measured on NaN or infinite weights, a metric can come out as a plausible number (no
    unit alive, no two units alike, chance accuracy) that describes nothing learned."""
    out = {}
    task = model.task
    if with_loss:
        out["loss"] = model.batch_loss(probe, task.row_weight(probe.x.shape[-1])).double()
    if with_exact:
        out["loss_exact"] = model.expected_loss().double()
    metrics = model.compute_metrics(probe if model.metrics_use_data else None)
    if task.outputs and probe is not None:
        metrics |= task.metrics(model(probe.x), probe)
    bad = non_finite(model, out.get("loss") if loss is None else loss)
    if bad.any():
        metrics = {k: _blanked(v, bad) for k, v in metrics.items()}
    return out | metrics


def _blanked(value: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``value`` (floating, as every metric is stored) with NaN in ``rows`` of its model
    axis."""
    value = value.float() if not value.is_floating_point() else value.clone()
    value[rows] = float("nan")
    return value


class Recorder:
    """The trajectory of a batch of models (see module docstring)."""

    def __init__(self, model, train, with_exact: bool):
        self.model = model
        self.train = train
        self.steps = train.record_steps()
        self.probe = probe_batch(model, train.eval_batch)
        self.with_exact = with_exact
        self.records: list[dict[str, torch.Tensor]] = []

    def __call__(self, step: int) -> None:
        if self.train.is_recorded(step):
            # On one thread whatever the steps run on: a reduction split over threads
            # adds in another order, and the trajectory must not depend on the cores.
            with torch_threads(1):
                self.records.append(snapshot(self.model, self.probe, True, self.with_exact))

    def arrays(self) -> dict[str, np.ndarray]:
        """Each recorded quantity ``[model, step, *dims]``: losses in float64, metrics in
        float32 (as the final ones are measured)."""
        out = {}
        for k in self.records[0] if self.records else ():
            value = torch.stack([r[k] for r in self.records], dim=1)
            out[k] = (value if k in LOSSES else value.float()).numpy()
        return out
