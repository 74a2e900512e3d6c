"""The identity: a deep linear network (the theory's case for learning dynamics).  Its
responsibilities are each unit's share of ``|z|``."""

from __future__ import annotations

import torch

from .base import Activation
from .relu import shares


class Linear(Activation):
    name = "linear"
    description = "z (no nonlinearity)"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        eye = torch.eye(z.shape[1], dtype=z.dtype)
        return eye.expand(z.shape[0], z.shape[2], -1, -1).clone()

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        return grad_a

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        return shares(z.abs())
