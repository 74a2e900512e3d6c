"""Sparse features to reconstruct (Elhage et al. 2022, "Experiment Setup").

Each feature of each example is non-zero with probability ``p`` (its density) and then
Uniform[0, 1] (see ``toymodels.random_words``).  The loss is the importance-weighted squared error
``Σ_i I_i (x_i − x̂_i)²``, averaged over examples: a sum over features, not a mean, as in
the closed forms of ``analytics``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError
from ..fields import DENSITY, NONNEGATIVE, POSITIVE, Config, integer, param, per_feature
from ..random_words import sparse_coefficients, sparse_from_bits
from .base import Batch, Task, n_samples_field


@dataclass(frozen=True)
class FeaturesConfig(Config):
    """The paper's parametrisation: one density (or one per feature), and importances
    ``I_i = decay**i`` with the last ("extra") feature's multiplied by ``importance``, the
    relative importance ``r`` of the phase diagrams; a list gives every ``I_i`` instead."""

    owner = "task features"

    n_features: int = param(2, integer(1), top=True, help="features n (the data's size)")
    density: float | tuple[float, ...] = param(
        1.0, per_feature(DENSITY), per_model=True, help="feature density p = 1 - S"
    )
    importance: float | tuple[float, ...] = param(
        1.0,
        per_feature(NONNEGATIVE),
        per_model=True,
        help="relative importance r of the extra (last) feature",
    )
    importance_decay: float = param(
        1.0, POSITIVE, per_model=True, help="I_i = decay**i before the extra feature's factor r"
    )
    n_samples: int = n_samples_field()

    def validate(self) -> None:
        n = self.n_features
        for name in ("density", "importance"):
            value = getattr(self, name)
            if isinstance(value, tuple) and len(value) != n:
                raise ConfigError(f"{name} has {len(value)} entries; n_features={n} needs {n}")
        if isinstance(self.importance, tuple) and self.importance_decay != 1.0:
            raise ConfigError(
                "importance_decay applies to a relative importance r; with a list of "
                "importances leave it at 1"
            )

    @property
    def feature_density(self) -> tuple[float, ...]:
        d = self.density
        return d if isinstance(d, tuple) else (d,) * self.n_features

    @property
    def feature_importance(self) -> tuple[float, ...]:
        if isinstance(self.importance, tuple):
            return self.importance
        weights = [self.importance_decay**i for i in range(self.n_features)]
        weights[-1] *= self.importance
        return tuple(weights)


class Features(Task):
    """Sparse features in [0, 1] to reconstruct, importance-weighted squared error."""

    name = "features"
    Config = FeaturesConfig
    per_model = ("density", "importance")

    def __init__(self, configs, seeds, dtype=torch.float32):
        super().__init__(configs, seeds, dtype)
        self.density = torch.tensor([c.feature_density for c in configs], dtype=dtype)
        self.importance = torch.tensor([c.feature_importance for c in configs], dtype=dtype)

    @classmethod
    def dims(cls, config: FeaturesConfig) -> dict[str, int]:
        return {"input": config.n_features, "output": config.n_features}

    @classmethod
    def sample_shape(cls, config: FeaturesConfig, batch: int) -> tuple[int, ...]:
        return (config.n_features, batch)

    def draw(self, words: torch.Tensor) -> Batch:
        return Batch(sparse_from_bits(words, *sparse_coefficients(self.density)))

    def loss(self, output: torch.Tensor, batch: Batch, row_weight) -> torch.Tensor:
        r = output - batch.x
        return (self.importance.unsqueeze(-1) * r * r * row_weight).sum((1, 2))
