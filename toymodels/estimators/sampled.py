"""Paper-faithful estimator: a fresh batch of ``batch_size`` examples per model per step."""

from __future__ import annotations

import torch

from ..data import UniformBlocks, sparse_coefficients, sparse_from_bits
from ..seeds import STREAM_DATA
from ._chunks import make_chunks, prepare_grads
from .base import Estimator


class Sampled(Estimator):
    """Families with ``loss_and_grad_rows`` (the superposition models) are stepped in
    cache-sized chunks of models; others through ``batch_loss_and_grad`` on the whole batch.
    """

    def __init__(self, model, train):
        super().__init__(model, train)
        batch = train.batch_size
        self.blocks = UniformBlocks(model.seeds, STREAM_DATA, model.sample_shape(batch))
        if hasattr(model, "loss_and_grad_rows"):
            alpha, beta = sparse_coefficients(model.density)
            scale = 2.0 / batch * model.importance.unsqueeze(-1)  # d(mean loss)/d(residual²)
            self.chunks = make_chunks(model, batch, (alpha, beta, scale))

    def step(self, need_loss: bool = False):
        model = self.model
        words = self.blocks.next()
        if not hasattr(model, "loss_and_grad_rows"):  # a family without the chunked path
            batch = model.draw(words)
            return model.batch_loss_and_grad(batch, 1.0 / self.train.batch_size, need_loss)
        prepare_grads(model)
        losses = []
        for ch in self.chunks:
            alpha, beta, scale = ch.coefficients
            x = sparse_from_bits(words[ch.rows], alpha, beta, out=ch.x)
            losses.append(model.loss_and_grad_rows(ch.rows, x, scale, None, ch.work, need_loss))
        return torch.cat(losses) if need_loss else None
