"""ReLU: ``a = max(z, 0)``.  Its Jacobian is diagonal, ``δ_ij 1[z_i > 0]``: units never
interact, so nothing stops two of them learning the same hyperplane.  Its
responsibilities are each example's share of the total activity, ``relu(z)/Σ relu(z)``."""

from __future__ import annotations

import torch

from .base import Activation


def shares(x: torch.Tensor) -> torch.Tensor:
    """``x / Σ_units x`` for ``x ≥ 0``, and 0 for an example where every entry is 0."""
    total = x.sum(dim=1, keepdim=True)
    # every entry of such an example is 0, so dividing it by 1 gives the zeros it should
    return x / torch.where(total > 0, total, torch.ones_like(total))


class ReLU(Activation):
    name = "relu"
    description = "max(z, 0) per unit"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(z)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        return torch.diag_embed((z > 0).to(z.dtype).transpose(1, 2))

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        return grad_a * (z > 0).to(grad_a.dtype)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        return shares(torch.relu(z))
