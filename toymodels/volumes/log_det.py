"""A log-det volume bonus, ``−λ log det(W Wᵀ + εI)``, on the K×K Gram of the unit rows.

The analogue of a mixture component's ``log det Σ``: rows that are alike span little
volume and pay for it.  ``εI`` keeps the log finite when K > d (the Gram then has K − d
zero eigenvalues) and when rows coincide.
"""

from __future__ import annotations

import torch

from ..unit_metrics import GRAM_EPSILON as EPSILON
from .base import OnDirections


class LogDet(OnDirections):
    name = "logdet"
    description = "−λ log det(W Wᵀ + εI), ε = 1e-3: volume spanned by the unit rows"
    typical_strength = 0.1

    def penalty(self, W, gain, usage):
        gram = W @ W.transpose(1, 2)
        eye = torch.eye(W.shape[1], dtype=W.dtype)
        return -self.lam(gram)[:, 0, 0] * torch.linalg.slogdet(gram + EPSILON * eye)[1]
