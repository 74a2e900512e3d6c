"""The contract every model family fulfils.

A family is a ``torch.nn.Module`` holding a *batch* of models along a leading ``model``
axis: the axis is part of the model, not a Python loop around it.  The constructor stores
the configs and initialises every model from its own seed; the one training engine
(``toymodels.engine``) does the rest through the methods below.  A new family is a new
file in this package plus one line in ``FAMILIES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch

from ..config import ModelConfig
from ..errors import ConfigError


class ToyModel(torch.nn.Module):
    """A batch of models of one family and one structure (same sizes)."""

    #: estimators (see ``toymodels.estimators``) this family can be trained with
    estimators: ClassVar[tuple[str, ...]] = ("sampled",)

    def __init__(
        self,
        configs: Sequence[ModelConfig],
        seeds: Sequence[np.random.SeedSequence],
        init_scale: float = 1.0,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        if not configs:
            raise ValueError("a batch needs at least one model")
        if len(configs) != len(seeds):
            raise ValueError(f"{len(configs)} configs but {len(seeds)} seeds")
        if len({c.structure() for c in configs}) != 1:
            raise ValueError("all models in a batch must share family, n_features and n_hidden")
        self.configs = tuple(configs)
        self.seeds = tuple(seeds)
        self.dtype = dtype

    @classmethod
    def validate(cls, config: ModelConfig) -> None:
        """Raise ``ConfigError`` when the family cannot build this config."""

    @classmethod
    def check_estimator(cls, estimator: str, config: ModelConfig) -> None:
        """Raise ``ConfigError`` when ``estimator`` cannot train this family and config."""
        if estimator not in cls.estimators:
            raise ConfigError(
                f'estimator "{estimator}" is not available for the {config.family} family; '
                f"allowed: {', '.join(cls.estimators)}"
            )

    @property
    def n_models(self) -> int:
        return len(self.configs)

    # -- what the estimators call -------------------------------------------------------
    def draw(self, uniforms: torch.Tensor):
        """Turn a step's raw uniforms (``[model, *sample_shape]``) into a batch."""
        raise NotImplementedError

    def sample_shape(self, batch_size: int) -> tuple[int, ...]:
        """Uniform numbers needed per model for one batch of ``batch_size`` examples."""
        raise NotImplementedError

    def batch_loss(self, batch, row_weight: torch.Tensor | float) -> torch.Tensor:
        """Per-model weighted loss ``[model]`` on a batch: the differentiable definition."""
        raise NotImplementedError

    def batch_loss_and_grad(self, batch, row_weight, need_loss: bool = True):
        """Per-model loss (or None) and gradients written to ``.grad``.

        The default differentiates :meth:`batch_loss`; families may override it with a
        hand-derived gradient (tested against this default)."""
        params = list(self.parameters())
        with torch.enable_grad():
            loss = self.batch_loss(batch, row_weight)
            grads = torch.autograd.grad(loss.sum(), params)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        return loss.detach() if need_loss else None

    def expected_loss(self) -> torch.Tensor:
        """Exact expected loss per model ``[model]`` (families listing ``exact``)."""
        raise NotImplementedError

    def metrics(self) -> dict[str, torch.Tensor]:
        """Per-model, per-feature diagnostics, each ``[model, feature]``."""
        return {}
