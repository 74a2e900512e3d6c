"""Weight normalisation with a gain (Salimans & Kingma 2016): ``w_k = g_k v_k / ‖v_k‖``.

A unit can no longer win by growing its weight vector, only by its direction, its bias
or its gain ``g_k``.  λ pulls the gains together, ``λ Σ_k (g_k − ḡ)²``, closing the
gain route too; λ = 0 is plain weight normalisation with free gains.  (The seed's
fixed-norm form, no gain, is ``weightnorm``.)
"""

from __future__ import annotations

from ..unit_metrics import row_normalised
from .base import OnDirections


class GainNorm(OnDirections):
    name = "gain_norm"
    description = "w_k = g_k v_k/|v_k| (direction and gain split); λ Σ (g_k − mean g)²"

    def unit_weights(self, W, gain):
        return row_normalised(W) * gain.unsqueeze(-1)

    def penalty(self, W, gain, usage):
        spread = gain - gain.mean(-1, keepdim=True)
        return self.lam(spread)[:, 0] * (spread * spread).sum(-1)
