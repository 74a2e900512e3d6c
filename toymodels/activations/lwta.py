"""Local winner-take-all (Srivastava et al. 2013, "Compete to Compute"): in each contiguous
block of ``U = group_size`` units (unit ``k`` in block ``k // U``) the unit with the
largest ``z`` passes its value and the others output 0.  Gradient flows only through the
winners (Jacobian 1 on their diagonal).  Ties go to the lowest index, as
``torch.argmax`` returns the first maximal index (a NaN in a block is no one's maximum
here, so such a block has no winner)."""

from __future__ import annotations

import torch

from ._common import InBlocks, blocks
from ._winners import WinnersTakeAll


class LWTA(InBlocks, WinnersTakeAll):
    name = "lwta"
    description = "z_k if z_k is the largest in its block of group_size units, else 0"

    def winners(self, z: torch.Tensor) -> torch.Tensor:
        """Boolean ``[model, unit, example]``: one winner per block and example.

        A loop over the U positions of a block, each an element-wise pass over
        ``[model, block, example]``: ``argmax`` and ``scatter_`` along a short inner axis
        ran 50x slower than a ReLU of the layer (K = 16, U = 2), these passes about as
        fast.  The first position equal to the block's maximum wins, as argmax's rule."""
        zb = blocks(z, self.group_size, self.name)
        best = zb[:, :, 0]
        for j in range(1, self.group_size):
            best = torch.maximum(best, zb[:, :, j])
        won = torch.empty(zb.shape, dtype=torch.bool, device=z.device)
        taken = torch.zeros_like(best, dtype=torch.bool)
        for j in range(self.group_size):
            hit = zb[:, :, j] == best
            torch.logical_and(hit, ~taken, out=won[:, :, j])
            taken |= hit
        return won.flatten(1, 2)

    def winners_per_example(self, units: int) -> int:
        return units // self.group_size
