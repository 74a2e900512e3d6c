"""Paper-faithful estimator: a fresh batch of ``batch_size`` examples per model per step."""

from __future__ import annotations

from ..seeds import STREAM_DATA
from ..data import UniformBlocks
from .base import Estimator


class Sampled(Estimator):
    def __init__(self, model, train):
        super().__init__(model, train)
        self.blocks = UniformBlocks(model.seeds, STREAM_DATA, model.sample_shape(train.batch_size))

    def step(self, need_loss: bool = False):
        batch = self.model.draw(self.blocks.next())
        return self.model.batch_loss_and_grad(batch, 1.0 / self.train.batch_size, need_loss)
