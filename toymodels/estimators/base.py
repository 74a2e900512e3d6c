"""What an estimator is: one step's estimate of each model's expected loss and its gradient."""

from __future__ import annotations

from typing import ClassVar

import torch

from ..config import TrainConfig
from ..families.base import ToyModel


class Estimator:
    """Writes gradients of (an unbiased estimate of) each model's expected loss into
    ``.grad`` and optionally returns the per-model estimate."""

    #: dtype the model's parameters are held in while training with this estimator
    dtype: ClassVar[torch.dtype] = torch.float32

    def __init__(self, model: ToyModel, train: TrainConfig):
        self.model = model
        self.train = train

    def step(self, need_loss: bool = False) -> torch.Tensor | None:
        raise NotImplementedError
