"""Softmax over units, ``a = softmax(z/τ)``: the units share one unit of output, so what
one gains another loses.  ``∂a_i/∂z_j = (1/τ) a_i (δ_ij − a_j)``; the negative
off-diagonal terms are the competition.  Large τ gives every unit nearly the same
gradient (redundancy), small τ a hard argmax whose losers get none (dead units)."""

from __future__ import annotations

import torch

from ._tempered import ScaleFree, softmax


class Softmax(ScaleFree):
    name = "softmax"
    description = "softmax(z/τ) over units"
    shift_invariant = "layer"  # softmax(z + c) = softmax(z)
    normalised = True

    def unit(self, x: torch.Tensor) -> torch.Tensor:
        return softmax(x, dim=1)

    def unit_backward(self, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        # Σ_i g_i a_i (δ_ij − a_j) = a_j (g_j − ⟨g, a⟩)
        return a * (grad_a - (grad_a * a).sum(dim=1, keepdim=True))

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        a = self(z).transpose(1, 2)  # [model, example, unit]
        outer = a.unsqueeze(-1) * a.unsqueeze(-2)
        return (torch.diag_embed(a) - outer) / self.tau(z).unsqueeze(-1)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        return self(z)
