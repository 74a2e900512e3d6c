"""The linear control ``x' = Wᵀ W x + b``: the paper's baseline, which never superposes."""

from __future__ import annotations

import torch

from .superposition import SuperpositionModel


class LinearOutput(SuperpositionModel):
    activation_is_identity = True

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        return pre

    def expected_loss(self) -> torch.Tensor:
        """Closed form for any n.  With ``A = 1 - WᵀW``, ``μ = E x = p/2`` and
        ``Var x_j = p/3 - p²/4``:  ``E (x_i - x'_i)² = ((Aμ)_i - b_i)² + Σ_j A_ij² Var x_j``.
        """
        n = self.configs[0].n_features
        a = torch.eye(n, dtype=self.W.dtype) - torch.bmm(self.W.transpose(1, 2), self.W)
        p = self.density
        mean = torch.bmm(a, (p / 2.0).unsqueeze(-1)).squeeze(-1) - self.b
        var = torch.bmm(a * a, (p / 3.0 - p * p / 4.0).unsqueeze(-1)).squeeze(-1)
        return (self.importance * (mean * mean + var)).sum(-1)
