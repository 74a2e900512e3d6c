"""ReLU: ``a = max(z, 0)``.  Its Jacobian is diagonal, ``δ_ij 1[z_i > 0]``: units never
interact, so nothing stops two of them learning the same hyperplane."""

from __future__ import annotations

import torch

from .base import Activation


class ReLU(Activation):
    name = "relu"
    description = "max(z, 0) per unit"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(z)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        return torch.diag_embed((z > 0).to(z.dtype).transpose(1, 2))
