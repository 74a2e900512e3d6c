"""How much memory training one model takes, from what its family, task and estimator
declare: read by the size guard before anything is built, so a data set, a step's
activations or a metric's matrix too large for the machine is refused in a second rather
than found by the allocation (or the kernel's OOM killer) minutes later.

The parts (bytes per model): the family's :meth:`~toymodels.families.ToyModel.working_bytes`
on the examples of a step, of the probe and of the final evaluation, whichever are most
(parameters, activations, metrics, square matrices), the task's
:meth:`~toymodels.tasks.base.Task.data_bytes` (its finite data set) and the estimator's
random words.  The engine trains models in groups (:func:`models_per_group`), so what a
worker holds at once is a group's worth.
"""

from __future__ import annotations

from dataclasses import dataclass

from .estimators import ESTIMATORS
from .families import FAMILIES
from .model_config import ModelConfig
from .recording import PROBE_ROWS, needs_probe, probe_group_models, probe_rows
from .tasks import TASKS
from .train_config import TrainConfig

# Rows of the final evaluation, drawn and measured a block at a time (engine._EVAL_ROWS).
EVAL_ROWS = 4096


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes one model takes while it trains (``parts``: what holds them) and how many
    models the engine trains together."""

    parts: dict[str, int]
    group: int
    dims: dict[str, int]  # the model's sizes (the family's dims), for the reader

    @property
    def per_model(self) -> int:
        return sum(self.parts.values())

    @property
    def largest(self) -> list[tuple[str, int]]:
        """The parts that hold most of it (a tenth or more each), largest first."""
        total = self.per_model
        ranked = sorted(self.parts.items(), key=lambda kv: -kv[1])
        return [kv for kv in ranked if kv[1] * 10 >= total] or ranked[:1]


def models_per_group(config: ModelConfig, train: TrainConfig) -> int:
    """Most models the engine trains as one group (bounded by the data they draw and the
    probe they are measured on)."""
    family, task = FAMILIES[config.family], TASKS[config.task]
    most = ESTIMATORS[train.estimator].group_models(config, train)
    if needs_probe(family, task, train):
        most = min(most, probe_group_models(family, task, config, train))
    return most


def training_memory(config: ModelConfig, train: TrainConfig) -> TrainingMemory:
    """What training one model of ``config`` with ``train`` holds (see module docstring);
    computed from sizes alone, nothing is built."""
    family, task = FAMILIES[config.family], TASKS[config.task]
    estimator = ESTIMATORS[train.estimator]
    examples = max(
        estimator.step_examples(config, train),
        probe_rows(task, config.data, train.eval_batch),
        0 if task.fixed else min(train.eval_batch, EVAL_ROWS, PROBE_ROWS),
    )
    parts = dict(family.working_bytes(config, examples))
    if task.finite(config.data):
        parts[f"its data set of {task.examples(config.data):,} examples"] = task.data_bytes(
            config.data
        )
    parts["random words"] = estimator.words_bytes(config, train)
    return TrainingMemory(
        {k: v for k, v in parts.items() if v},
        models_per_group(config, train),
        family.dims(config),
    )
