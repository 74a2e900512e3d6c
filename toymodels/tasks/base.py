"""The contract every task fulfils: the data a batch of models learns from, and its loss.

A task holds the per-model settings of a batch of models (one config each) and turns each
model's random words into examples, so every model's data come from its own seed whatever
it is batched with.  Data are laid out ``[model, dim, example]`` (the example axis last and
contiguous).  A task is either a *stream* (fresh examples every step) or, when its config
asks for ``n_samples > 0``, a *finite data set* of that many examples drawn once from the
same stream; a finite data set is trained full batch (estimator ``full``) or in
mini-batches picked from it (estimator ``sampled``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
import torch

from ..fields import Config, integer, param
from ..outputs import Output
from ..random_words import UniformBlocks, index_from_bits
from ..seeds import STREAM_DATA

# Bytes per entry of a data set while it is built: the words it is drawn from, the float32
# values and a temporary of the same size.
DATA_BYTES = 12


def n_samples_field():
    """The ``n_samples`` field of a task that draws examples from a distribution: 0 for
    fresh examples every step, P > 0 for a finite data set of P examples."""
    return param(
        0, integer(0), help="0: fresh examples every step; P > 0: a fixed data set of P examples"
    )


@dataclass
class Batch:
    """Examples for a batch of models: inputs ``x [model, input, example]``, and the target
    either as values ``y [model, output, example]`` or class ``labels [model, example]``;
    neither for a reconstruction task (the target is ``x``).  A task with value targets
    may use ``labels`` for the condition each example belongs to (the contextual task:
    its context)."""

    x: torch.Tensor
    y: torch.Tensor | None = None
    labels: torch.Tensor | None = None

    def take(self, index: torch.Tensor) -> Batch:
        """The examples ``index [model, example]`` of every model."""

        def pick(t: torch.Tensor | None):
            if t is None:
                return None
            if t.dim() == 2:
                return torch.gather(t, 1, index)
            return torch.gather(t, 2, index.unsqueeze(1).expand(-1, t.shape[1], -1))

        return Batch(pick(self.x), pick(self.y), pick(self.labels))

    def models(self, rows: slice) -> Batch:
        """The examples of models ``rows``."""
        return Batch(*(None if t is None else t[rows] for t in (self.x, self.y, self.labels)))

    def first(self, count: int) -> Batch:
        """The first ``count`` examples of every model."""
        if self.x.shape[-1] == count:
            return self

        def head(t: torch.Tensor | None):
            return None if t is None else t[..., :count]

        return Batch(head(self.x), head(self.y), head(self.labels))


class Task:
    """A batch of per-model tasks of one kind and one shape (see module docstring)."""

    #: the name specs use (``task = "..."``)
    name: ClassVar[str]
    #: the frozen config dataclass of the task's fields
    Config: ClassVar[type[Config]]
    #: per-model metrics the task measures on a model's output (e.g. accuracy)
    outputs: ClassVar[dict[str, Output]] = {}
    #: the task *is* its finite data set: there is no distribution to draw fresh examples
    #: from, so the final ``loss`` is measured on the data set
    fixed: ClassVar[bool] = False
    #: how a loss combines examples: "mean" over them, or their "sum"
    reduction: ClassVar[str] = "mean"
    #: the attributes holding per-model tensors (a leading model axis), which
    #: :meth:`rows` slices
    per_model: ClassVar[tuple[str, ...]] = ()
    #: the model's output is the loss of each example itself (the ``annealing`` task's free
    #: energy), not a prediction compared with a target
    free_energy: ClassVar[bool] = False

    def __init__(
        self,
        configs: Sequence[Config],
        seeds: Sequence[np.random.SeedSequence],
        dtype: torch.dtype = torch.float32,
    ):
        self.configs = tuple(configs)
        self.seeds = tuple(seeds)
        self.dtype = dtype
        self.n_samples = self.examples(self.configs[0])

    # -- sizes --------------------------------------------------------------------------
    @classmethod
    def dims(cls, config: Config) -> dict[str, int]:
        """Sizes of the ``input`` and ``output`` dims for this config."""
        raise NotImplementedError

    @classmethod
    def sample_shape(cls, config: Config, batch: int) -> tuple[int, ...]:
        """Random words one model needs for ``batch`` fresh examples."""
        raise NotImplementedError

    @classmethod
    def examples(cls, config: Config) -> int:
        """Examples in the finite data set (0 for a stream).  Tasks drawn from a
        distribution declare it as the field ``n_samples`` (:func:`n_samples_field`); a task
        that is a fixed data set overrides this."""
        return config.n_samples

    @classmethod
    def data_bytes(cls, config: Config) -> int:
        """Bytes one model's finite data set takes while it is built and held (0 for a
        stream, whose examples a step draws are the family's to count): inputs, targets
        and labels, drawn as int32 words and held as float32.  A task that builds its data
        set another way says so here (the size guard reads it before anything is built)."""
        if not cls.finite(config):
            return 0
        dims = cls.dims(config)
        return DATA_BYTES * cls.examples(config) * (dims["input"] + dims["output"] + 1)

    @classmethod
    def finite(cls, config: Config) -> bool:
        """Whether the models learn a finite data set rather than a stream."""
        return cls.examples(config) > 0

    @property
    def is_finite(self) -> bool:
        return self.finite(self.configs[0])

    # -- data ---------------------------------------------------------------------------
    def draw(self, words: torch.Tensor) -> Batch:
        """Fresh examples from one step's words ``[model, *sample_shape]``."""
        raise NotImplementedError

    @cached_property
    def data_set(self) -> Batch:
        """The finite data set: the first ``n_samples`` examples of each model's stream."""
        shape = self.sample_shape(self.configs[0], self.n_samples)
        return self.draw(UniformBlocks(self.seeds, STREAM_DATA, shape).next())

    def minibatch(self, words: torch.Tensor) -> Batch:
        """Examples picked uniformly (with replacement) from the data set, one per word of
        ``words [model, batch]``."""
        return self.data_set.take(index_from_bits(words, self.n_samples))

    def row_weight(self, examples: int) -> float:
        """Weight of each of ``examples`` examples in a loss: ``1/examples`` for a mean;
        for a sum over a finite data set ``n_samples/examples``, so that a mini-batch
        gives an unbiased estimate of the sum over the data set (1 over all of it)."""
        if self.reduction == "sum":
            return self.n_samples / examples
        return 1.0 / examples

    @classmethod
    def correlation_modes(cls, config: Config):
        """The modes (``toymodels.correlation_modes.Modes``) of this config's data set,
        for tasks that are a fixed data set with value targets; None for the others."""
        return None

    def rows(self, rows: slice) -> Task:
        """The task of models ``rows`` alone (a copy sharing the tensors' storage), for a
        family that steps chunks of its models through the loss."""
        part = copy.copy(self)
        part.configs, part.seeds = self.configs[rows], self.seeds[rows]
        for name in self.per_model:
            setattr(part, name, getattr(self, name)[rows])
        if "data_set" in self.__dict__:
            part.__dict__["data_set"] = self.__dict__["data_set"].models(rows)
        return part

    # -- loss and metrics ---------------------------------------------------------------
    def loss(self, output: torch.Tensor, batch: Batch, row_weight) -> torch.Tensor:
        """``Σ_b w_b ℓ(output_b, target_b)`` per model ``[model]`` (differentiable)."""
        raise NotImplementedError

    def loss_and_output_grad(
        self, output: torch.Tensor, batch: Batch, row_weight
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss ``[model]`` and its gradient with respect to ``output``, for families
        with a hand-derived gradient; this default differentiates :meth:`loss`."""
        with torch.enable_grad():
            output = output.detach().requires_grad_()
            loss = self.loss(output, batch, row_weight)
            (grad,) = torch.autograd.grad(loss.sum(), output)
        return loss.detach(), grad

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """The task's declared ``outputs`` measured on a model output."""
        return {}
