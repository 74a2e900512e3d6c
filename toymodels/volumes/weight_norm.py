"""Weight normalisation as the seed states it: every unit's weight vector at norm 1,
``w_k = v_k / ‖v_k‖``, no gain, so units compete by direction and bias alone.

λ is the exponent of the normalisation, ``w_k = v_k / ‖v_k‖^λ`` (``‖w_k‖ =
‖v_k‖^(1−λ)``): λ = 0 is the uncontrolled layer, λ = 1 the fixed norm 1, and the
values between damp the growth of a unit's norm (a norm that would grow by a factor c
grows by c^(1−λ)).  Above 1 a larger ``v`` would give a *smaller* row, which is not a
normalisation, so λ ≤ 1.  (Normalisation with a trained gain is ``gain_norm``.)
"""

from __future__ import annotations

import torch

from .base import OnDirections


class WeightNorm(OnDirections):
    name = "weightnorm"
    description = "w_k = v_k/|v_k|^λ: λ = 1 fixes every unit's norm at 1 (no gain)"
    max_strength = 1.0

    def unit_weights(self, W, gain):
        norm = W.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(W.dtype).tiny)
        return W / norm.pow(self.lam(norm))
