"""What an estimator is: one step's estimate of each model's expected loss and its gradient."""

from __future__ import annotations

from typing import ClassVar

import torch

from ..config import ModelConfig, TrainConfig
from ..data import UniformBlocks
from ..families.base import ToyModel

# Memory a group of models trained together may hold in random-number blocks.  Groups are
# trained one after another (``threads`` at a time), so peak memory stays flat however
# many models a call trains.
GROUP_BYTES = 64 * 2**20


class Estimator:
    """Writes gradients of (an unbiased estimate of) each model's expected loss into
    ``.grad`` and optionally returns the per-model estimate."""

    #: dtype the model's parameters are held in while training with this estimator
    dtype: ClassVar[torch.dtype] = torch.float32

    def __init__(self, model: ToyModel, train: TrainConfig):
        self.model = model
        self.train = train

    @classmethod
    def group_models(cls, config: ModelConfig, train: TrainConfig) -> int:
        """Most models to train as one group (bounded by the data they draw per block)."""
        n = config.n_features
        return max(1, GROUP_BYTES // UniformBlocks.block_bytes((n, train.batch_size)))

    def step(self, need_loss: bool = False) -> torch.Tensor | None:
        raise NotImplementedError
