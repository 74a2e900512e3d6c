"""Tasks that *are* a finite data set of inputs and value targets (no distribution to draw
fresh examples from), with the loss half the sum of squared errors, as in the published
learning-dynamics experiments.  A subclass builds the data set and says its size."""

from __future__ import annotations

import torch

from .base import Batch, Task


class FixedDataSet(Task):
    fixed = True
    reduction = "sum"

    @classmethod
    def sample_shape(cls, config, batch: int) -> tuple[int, ...]:
        return (batch,)

    def draw(self, words: torch.Tensor) -> Batch:
        """Samples picked uniformly from the data set (the task's only distribution)."""
        return self.minibatch(words)

    def loss(self, output: torch.Tensor, batch: Batch, row_weight) -> torch.Tensor:
        per_example = 0.5 * (output - batch.y).pow(2).sum(1)
        return (per_example * row_weight).sum(-1)
