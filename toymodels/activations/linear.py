"""The identity: a deep linear network (the theory's case for learning dynamics)."""

from __future__ import annotations

import torch

from .base import Activation


class Linear(Activation):
    name = "linear"
    description = "z (no nonlinearity)"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        eye = torch.eye(z.shape[1], dtype=z.dtype)
        return eye.expand(z.shape[0], z.shape[2], -1, -1).clone()
