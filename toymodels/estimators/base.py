"""What an estimator is: one step's estimate of each model's expected loss and its gradient.

An estimator declares the data it needs: ``"stream"`` (the task's distribution: fresh
samples, or a closed form over it), ``"finite"`` (a finite data set) or ``"any"``; the
family declares which estimators it supports.  Estimators see a model only through the
family contract (``toymodels.families.base``), never through a family's own class.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from ..random_words import UniformBlocks
from ..tasks import TASKS

# Memory a group of models trained together may hold in random-number blocks.  Groups are
# trained one after another (``threads`` at a time), so peak memory stays flat however
# many models a call trains.
GROUP_BYTES = 64 * 2**20


class Estimator:
    """Writes gradients of (an unbiased estimate of) each model's expected loss into
    ``.grad`` and optionally returns the per-model estimate."""

    #: dtype the model's parameters are held in while training with this estimator
    dtype: ClassVar[torch.dtype] = torch.float32
    #: the data it trains on: "stream", "finite" or "any"
    data: ClassVar[str] = "any"

    def __init__(self, model, train):
        self.model = model
        self.train = train

    @classmethod
    def words_shape(cls, config, train) -> tuple[int, ...]:
        """Random words one model draws per step."""
        task = TASKS[config.task]
        if task.finite(config.data):
            return (train.batch_size,)
        return task.sample_shape(config.data, train.batch_size)

    @classmethod
    def group_models(cls, config, train) -> int:
        """Most models to train as one group (bounded by the data they draw per block)."""
        shape = cls.words_shape(config, train)
        return max(1, GROUP_BYTES // UniformBlocks.block_bytes(shape))

    def step(self, need_loss: bool = False) -> torch.Tensor | None:
        raise NotImplementedError
