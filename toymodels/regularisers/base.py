"""The contract of a regulariser: a penalty on a family's weights, scaled per model.

The training loss of model ``k`` is ``task loss + λ_k · penalty(θ_k)``, where ``λ_k`` is
the model's ``strength`` (a per-model field, so a grid over λ trains as one batch) and the
penalty acts on the parameters the family lists in ``weights`` (its weight matrices, not
its biases).  The penalty's gradient is written by hand and added after the estimator's
gradient, so it works with every estimator, hand-derived gradients included; the common
tests check each hand gradient against autograd.
"""

from __future__ import annotations

from typing import ClassVar

import torch


class Regulariser:
    name: ClassVar[str]
    #: one line: what the penalty is
    description: ClassVar[str]

    def penalty(self, weights: list[torch.Tensor]) -> torch.Tensor:
        """The penalty of each model ``[model]`` (differentiable)."""
        raise NotImplementedError

    def gradient(self, weight: torch.Tensor) -> torch.Tensor:
        """``∂penalty/∂weight`` for one weight tensor (the penalty is a sum over them)."""
        raise NotImplementedError


def per_model_sum(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).sum(1)


class NoPenalty(Regulariser):
    name = "none"
    description = "no penalty"

    def penalty(self, weights):
        return sum(per_model_sum(w) for w in weights) * 0.0  # zero, a function of the weights

    def gradient(self, weight):
        return torch.zeros_like(weight)
