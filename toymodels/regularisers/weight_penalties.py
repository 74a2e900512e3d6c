"""Penalties on the size of the weights: L2 (ridge) and L1 (lasso)."""

from __future__ import annotations

import torch

from .base import Regulariser, per_model_sum


class L2(Regulariser):
    name = "l2"
    description = "sum of squared weights, λ Σ w²"

    def penalty(self, weights):
        return sum(per_model_sum(w * w) for w in weights)

    def gradient(self, weight):
        return 2.0 * weight


class L1(Regulariser):
    name = "l1"
    description = "sum of absolute weights, λ Σ |w| (subgradient 0 at w = 0)"

    def penalty(self, weights):
        return sum(per_model_sum(w.abs()) for w in weights)

    def gradient(self, weight):
        return torch.sign(weight)
