"""Local winner-take-all (Srivastava et al. 2013, "Compete to Compute"): in each contiguous
block of ``U = group_size`` units (unit ``k`` in block ``k // U``) the unit with the
largest ``z`` passes its value and the others output 0.  Gradient flows only through the
winners (Jacobian 1 on their diagonal).  Ties go to the lowest index, as
``torch.argmax`` returns the first maximal index."""

from __future__ import annotations

import torch

from ._common import InBlocks, blocks
from ._winners import WinnersTakeAll


class LWTA(InBlocks, WinnersTakeAll):
    name = "lwta"
    description = "z_k if z_k is the largest in its block of group_size units, else 0"

    def winners(self, z: torch.Tensor) -> torch.Tensor:
        """Boolean ``[model, unit, example]``: one winner per block and example."""
        zb = blocks(z, self.group_size, self.name)
        won = torch.zeros_like(zb, dtype=torch.bool)
        won.scatter_(2, zb.argmax(dim=2, keepdim=True), True)
        return won.flatten(1, 2)

    def winners_per_example(self, units: int) -> int:
        return units // self.group_size
