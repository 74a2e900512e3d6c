"""Unsupervised competition: prototypes claiming the points of a Gaussian mixture.

The data are those of ``clusters`` (the labels are drawn and ignored).  The layer's
logits are negative squared distances, ``z_k = −‖x − w_k‖²``, its responsibilities
``r_k ∝ exp(z_k/τ)``, and the loss is the mixture free energy
``−τ E log Σ_k exp(−‖x − w_k‖²/τ)``, whose gradient moves each prototype towards the
points it is responsible for: soft k-means, the implicit-EM layer with nothing but its
own competition.  Lowering τ splits the prototypes at critical temperatures that depend
on the data covariance (deterministic annealing; ``analytics.annealing_theory``).

The model (the ``prototypes`` family) computes the free energy of each example (its one
output); this task's loss is their weighted sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Batch
from .clusters import Clusters, ClustersConfig


@dataclass(frozen=True)
class AnnealingConfig(ClustersConfig):
    owner = "task annealing"


class Annealing(Clusters):
    """The free energy of prototypes on the points of a Gaussian mixture, unlabelled:
    soft k-means, whose prototypes split at critical temperatures."""

    name = "annealing"
    Config = AnnealingConfig
    outputs = {}
    free_energy = True

    @classmethod
    def dims(cls, config: AnnealingConfig) -> dict[str, int]:
        return {"input": config.n_features, "output": 1}

    def loss(self, output: torch.Tensor, batch: Batch, row_weight) -> torch.Tensor:
        return (output[:, 0, :] * row_weight).sum(-1)

    def loss_and_output_grad(self, output, batch, row_weight):
        grad = torch.zeros_like(output).add_(row_weight)
        return self.loss(output, batch, row_weight), grad

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return {}
