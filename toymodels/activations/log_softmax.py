"""Log-softmax over units, ``a = τ log softmax(z/τ) = z − τ LSE(z/τ)``.  Units compete only
through one shared scalar, ``∂a_i/∂z_j = δ_ij − r_j`` with ``r = softmax(z/τ)``, which the
next layer can largely absorb: a weak form of competition to compare against softmax."""

from __future__ import annotations

import torch

from ._tempered import Tempered


class LogSoftmax(Tempered):
    name = "log_softmax"
    description = "τ·log_softmax(z/τ) = z − τ·LSE(z/τ) over units"
    shift_invariant = "layer"  # z + c − τ LSE((z + c)/τ) = z − τ LSE(z/τ)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        tau = self.tau(z)
        return tau * torch.log_softmax(z / tau, dim=1)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        r = self.responsibilities(z).transpose(1, 2)  # [model, example, unit]
        eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
        return eye - r.unsqueeze(-2)

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        # a/τ is log r, so r comes from a without a second log-sum-exp
        r = torch.exp(a / self.tau(z))
        return grad_a - r * grad_a.sum(dim=1, keepdim=True)
