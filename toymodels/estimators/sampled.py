"""Paper-faithful estimator: a fresh batch of ``batch_size`` examples per model per step
(or, on a finite data set, ``batch_size`` examples picked from it: mini-batch SGD)."""

from __future__ import annotations

import torch

from ..model_chunks import prepare_grads
from ..random_words import UniformBlocks, sparse_coefficients, sparse_from_bits
from ..seeds import STREAM_BATCH, STREAM_DATA
from .base import Estimator, sample_chunks


class Sampled(Estimator):
    """Families declaring ``chunked`` (the superposition models) are stepped on fresh
    samples in cache-sized chunks of models; everything else through
    ``batch_loss_and_grad`` on the whole batch."""

    def __init__(self, model, train):
        super().__init__(model, train)
        task, batch = model.task, train.batch_size
        self.finite = task.is_finite
        stream = STREAM_BATCH if self.finite else STREAM_DATA
        shape = (batch,) if self.finite else task.sample_shape(task.configs[0], batch)
        self.blocks = UniformBlocks(model.seeds, stream, shape)
        self.row_weight = task.row_weight(batch)
        self.chunked = model.chunked and not self.finite
        if self.chunked:
            alpha, beta = sparse_coefficients(model.density)
            scale = 2.0 / batch * model.importance.unsqueeze(-1)  # d(mean loss)/d(residual²)
            self.chunks = sample_chunks(model, batch, (alpha, beta, scale))

    def step(self, need_loss: bool = False):
        model = self.model
        words = self.blocks.next()
        if not self.chunked:
            batch = model.task.minibatch(words) if self.finite else model.task.draw(words)
            return model.batch_loss_and_grad(batch, self.row_weight, need_loss)
        prepare_grads(model)
        losses = []
        for ch in self.chunks:
            alpha, beta, scale = ch.parts
            features, work = ch.buffers
            x = sparse_from_bits(words[ch.rows], alpha, beta, out=features)
            losses.append(model.loss_and_grad_rows(ch.rows, x, scale, None, work, need_loss))
        return torch.cat(losses) if need_loss else None
