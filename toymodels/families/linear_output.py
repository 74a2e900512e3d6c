"""The linear control ``x' = Wᵀ W x + b``: the paper's baseline, which never superposes."""

from __future__ import annotations

import torch

from .superposition import SuperpositionModel


class LinearOutput(SuperpositionModel):
    """``Wᵀ W x + b``: the linear control, which never superposes."""

    name = "linear"
    activation_is_identity = True

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        return pre

    def _moments(self):
        n = self.n_features
        a = torch.eye(n, dtype=self.W.dtype) - torch.bmm(self.W.transpose(1, 2), self.W)
        p = self.density
        mean = torch.bmm(a, (p / 2.0).unsqueeze(-1)).squeeze(-1) - self.b
        return a, mean, p / 3.0 - p * p / 4.0

    def expected_loss(self) -> torch.Tensor:
        """Closed form for any n.  With ``A = 1 - WᵀW``, ``μ = E x = p/2`` and
        ``Var x_j = p/3 - p²/4``:  ``E (x_i - x'_i)² = ((Aμ)_i - b_i)² + Σ_j A_ij² Var x_j``.
        """
        a, mean, var = self._moments()
        spread = torch.bmm(a * a, var.unsqueeze(-1)).squeeze(-1)
        return (self.importance * (mean * mean + spread)).sum(-1)

    def expected_loss_and_grad(self) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """The closed form and its hand-derived gradient: with ``e = Aμ - b``,
        ``∂/∂b_i = -2 I_i e_i``, ``∂/∂A_ij = 2 I_i (e_i μ_j + A_ij Var x_j)``,
        ``∂/∂G = -∂/∂A`` and ``∂/∂W = W (∂G + ∂Gᵀ)``."""
        with torch.no_grad():
            a, mean, var = self._moments()
            spread = torch.bmm(a * a, var.unsqueeze(-1)).squeeze(-1)
            loss = (self.importance * (mean * mean + spread)).sum(-1)
            weighted = 2.0 * self.importance * mean  # [model, i]
            grad_g = -(
                weighted.unsqueeze(-1) * (self.density / 2.0).unsqueeze(1)
                + 2.0 * self.importance.unsqueeze(-1) * a * var.unsqueeze(1)
            )
            grad_w = torch.bmm(self.W, grad_g + grad_g.transpose(1, 2))
            return loss, (grad_w, -weighted)
