"""What an estimator is: one step's estimate of each model's expected loss and its gradient.

An estimator declares the data it needs: ``"stream"`` (the task's distribution: fresh
samples, or a closed form over it), ``"finite"`` (a finite data set) or ``"any"``; the
family declares which estimators it supports.  Estimators see a model only through the
family contract (``toymodels.families.base``), never through a family's own class.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from ..model_chunks import ModelChunk, model_chunks, models_per_chunk
from ..random_words import UniformBlocks
from ..tasks import TASKS

# Memory a group of models trained together may hold in random-number blocks.  Groups are
# trained one after another (``threads`` at a time), so peak memory stays flat however
# many models a call trains.
GROUP_BYTES = 64 * 2**20
# Bytes of one [chunk, feature, batch] float32 buffer of a sampling step's features.  A
# step touches about three such buffers plus the chunk's random words; 512 KiB keeps them
# within the 1 MiB L2 and the shared L3 of our 2-core machines (chunks of 128 n=2 models
# at batch 1024 measured ~2.5x faster per model than one chunk of 2000 models).
SAMPLE_CHUNK_BYTES = 512 * 1024


def sample_chunks(model, batch: int, coefficients) -> list[ModelChunk]:
    """Cache-sized chunks of the models of a ``chunked`` family (superposition models)
    for steps on ``batch`` fresh examples each: a chunk's parts are the ``[model, ...]``
    ``coefficients`` sliced to its rows, its buffers the features ``[chunk, feature,
    batch]`` (rewritten every step) and the family's scratch (``workspace``)."""
    n = model.n_features
    return model_chunks(
        model.n_models,
        models_per_chunk(SAMPLE_CHUNK_BYTES, 4 * n * batch),
        lambda rows: tuple(c[rows] for c in coefficients),
        lambda count: (
            torch.empty(count, n, batch, dtype=model.dtype),
            model.workspace(count, batch),
        ),
    )


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
    def step_examples(cls, config, train) -> int:
        """Examples one model's step works on (a step's activations grow with them)."""
        return train.batch_size

    @classmethod
    def words_bytes(cls, config, train) -> int:
        """Bytes of random words one model holds at most (its block of steps' words)."""
        return UniformBlocks.block_bytes(cls.words_shape(config, train))

    @classmethod
    def group_models(cls, config, train) -> int:
        """Most models to train as one group (bounded by the data they draw per block)."""
        shape = cls.words_shape(config, train)
        return max(1, GROUP_BYTES // UniformBlocks.block_bytes(shape))

    def step(self, need_loss: bool = False) -> torch.Tensor | None:
        raise NotImplementedError
