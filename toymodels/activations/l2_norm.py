"""L2 normalisation over units, ``a = z/‖z‖``: the units share one unit of *norm*
(``Σ a_k² = 1``), so a unit can grow only at the others' expense, while each keeps its
sign.  ``∂a_i/∂z_j = (δ_ij − a_i a_j)/‖z‖``: the projection off ``a``, whose negative
off-diagonal terms are the competition.  It depends on the direction of ``z`` alone, so
it has no temperature (scaling ``z`` changes nothing).

The norm is ``√(Σ z² + ε²)``, smooth everywhere: ``z = 0`` gives ``a = 0`` and the
finite Jacobian ``I/ε``, and the formulas above hold exactly with this norm.

Responsibilities are ``a_k² = z_k²/Σ z²``, each unit's share of the budget the layer
conserves (``|a_k|/Σ|a|``, linear's shares, would ignore that the budget is on the
squares); they equal ``softmax(log z²)``, a differentiable distribution, so the
activation is ``soft`` (a usage-entropy bonus applies).  An example with ``z = 0`` has
no norm to share and no responsibilities."""

from __future__ import annotations

import torch

from .base import Activation
from .relu import shares

#: added as ε² under the root of the norm: against pre-activations of order 1 it changes
#: ``a`` by a relative ε²/(2‖z‖²) ~ 1e-12, far below float32's resolution, and keeps
#: ``z = 0`` finite (output 0, Jacobian I/ε)
NORM_EPS = 1e-6


class L2Norm(Activation):
    name = "l2_norm"
    description = "z/|z| over units (|z| = sqrt(Σz² + ε²), ε = 1e-6)"
    soft = True
    removed_logit = 0.0

    @staticmethod
    def norm(z: torch.Tensor) -> torch.Tensor:
        """``[model, 1, example]``: ``√(Σ_units z² + ε²)``."""
        return torch.sqrt(z.square().sum(dim=1, keepdim=True) + NORM_EPS**2)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z / self.norm(z)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        a = self(z).transpose(1, 2)  # [model, example, unit]
        n = self.norm(z).transpose(1, 2).unsqueeze(-1)  # [model, example, 1, 1]
        eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
        return (eye - a.unsqueeze(-1) * a.unsqueeze(-2)) / n

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        # Σ_i g_i (δ_ij − a_i a_j)/‖z‖ = (g_j − a_j ⟨g, a⟩)/‖z‖
        return (grad_a - a * (grad_a * a).sum(dim=1, keepdim=True)) / self.norm(z)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        return shares(z.square())
