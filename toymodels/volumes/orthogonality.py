"""An orthogonality penalty, ``λ ‖Ŵ Ŵᵀ − I‖²_F``, on the row-normalised unit weights.

It pushes every pair of units towards orthogonal directions: against redundancy and
collapse at once, but rigid (K orthogonal directions need K ≤ d; above that the
penalty's floor is K²/d − K).
"""

from __future__ import annotations

import torch

from ..unit_metrics import row_normalised
from .base import OnDirections


class Orthogonality(OnDirections):
    name = "orthogonality"
    description = "λ |Ŵ Ŵᵀ − I|²_F on the row-normalised unit weights"

    def penalty(self, W, gain, usage):
        unit = row_normalised(W)
        off = unit @ unit.transpose(1, 2) - torch.eye(W.shape[1], dtype=W.dtype)
        return self.lam(off)[:, 0, 0] * (off * off).flatten(1).sum(-1)
