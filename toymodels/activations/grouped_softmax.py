"""Grouped softmax (the soft, "stochastic" LWTA of Panousis et al. 2019): a softmax over
``z/τ`` inside each contiguous block of ``U = group_size`` units (unit ``k`` in block
``k // U``).  Units compete only with their block, so the Jacobian is block-diagonal,
``(1/τ) a_i (δ_ij − a_j)`` within a block.  Responsibilities divide by the number of
blocks so they sum to 1 over the layer."""

from __future__ import annotations

import torch

from ._common import InBlocks, blocks
from ._tempered import ScaleFree, softmax


class GroupedSoftmax(InBlocks, ScaleFree):
    name = "grouped_softmax"
    description = "softmax(z/τ) within contiguous groups of group_size units"
    shift_invariant = "blocks"  # each block is a softmax
    # each block sums to 1, so the layer sums to K/U: not itself the responsibilities
    normalised = False

    def unit(self, x: torch.Tensor) -> torch.Tensor:
        return softmax(blocks(x, self.group_size, self.name), dim=2).flatten(1, 2)

    def unit_backward(self, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        # as softmax's a_j (g_j − ⟨g, a⟩), the inner product taken over j's block only
        ga = blocks(grad_a * a, self.group_size, self.name)
        mean = ga.sum(dim=2, keepdim=True).expand_as(ga).flatten(1, 2)
        return a * (grad_a - mean)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        a = self(z).transpose(1, 2)  # [model, example, unit]
        block = torch.arange(z.shape[1], device=z.device) // self.group_size
        same = (block.unsqueeze(-1) == block).to(z.dtype)
        outer = a.unsqueeze(-1) * a.unsqueeze(-2) * same
        return (torch.diag_embed(a) - outer) / self.tau(z).unsqueeze(-1)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        return self(z) * (self.group_size / z.shape[1])
