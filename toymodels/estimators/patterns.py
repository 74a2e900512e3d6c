"""Enumerated sparsity patterns: the masks are summed over exactly, only values are sampled.

The expected loss is ``Σ_s P(s) E[loss | pattern s]``.  Sampling masks makes rare patterns
(a feature active in ~10 of 1024 rows at density 0.01) the main source of noise; here every
pattern ``s`` gets ``max(1, batch_size // 2^n)`` rows of fresh uniform values, weighted by
``P(s) / rows``.  The estimate is unbiased for the same objective as ``sampled``.
"""

from __future__ import annotations

import itertools

import torch

from ..model_chunks import prepare_grads
from ..random_words import UniformBlocks
from ..seeds import STREAM_DATA
from .base import Estimator, sample_chunks

# 2^n patterns per step: beyond 10 features (1024 patterns) a step costs more than it saves.
PATTERNS_MAX_FEATURES = 10

_TWO_POW_MINUS_32 = 2.0**-32


class Patterns(Estimator):
    """Superposition models only (they declare it): the masks are the features task's."""

    data = "stream"

    def __init__(self, model, train):
        super().__init__(model, train)
        n = model.n_features  # at most PATTERNS_MAX_FEATURES (the family checks it)
        rows = max(1, train.batch_size // 2**n)
        table = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=model.dtype)
        mask = table.T.repeat_interleave(rows, dim=1)  # [feature, patterns * rows]
        # x = mask * (i 2^-32 + 1/2): the uniform value of an active entry, 0 otherwise
        self.alpha, self.beta = mask * _TWO_POW_MINUS_32, mask * 0.5
        p = model.density.unsqueeze(1)  # [model, 1, feature]
        prob = (1.0 - p + table * (2.0 * p - 1.0)).prod(-1)  # [model, patterns]
        weight = (prob / rows).repeat_interleave(rows, dim=1).unsqueeze(1)  # [model, 1, rows]
        scale = 2.0 * model.importance.unsqueeze(-1)
        self.batch = mask.shape[1]
        self.blocks = UniformBlocks(model.seeds, STREAM_DATA, (n, self.batch))
        self.chunks = sample_chunks(model, self.batch, (weight, scale))

    @classmethod
    def step_examples(cls, config, train) -> int:
        patterns = 2 ** min(config.data.n_features, PATTERNS_MAX_FEATURES)
        return patterns * max(1, train.batch_size // patterns)

    def step(self, need_loss: bool = False):
        model = self.model
        prepare_grads(model)
        words = self.blocks.next()
        losses = []
        for ch in self.chunks:
            weight, scale = ch.parts
            features, work = ch.buffers
            x = features.copy_(words[ch.rows]).mul_(self.alpha).add_(self.beta)
            losses.append(model.loss_and_grad_rows(ch.rows, x, scale, weight, work, need_loss))
        return torch.cat(losses) if need_loss else None
