"""A bonus on the entropy of the layer's *usage*, ``−λ H(p̄)``, ``p̄_k`` the mean
responsibility of unit k over the batch.

It rewards spreading the examples over the units without blurring each example's own
assignment (the per-sample entropy is left alone), the anti-collapse half of the InfoMax
objective ``H(p̄) − H̄``.
"""

from __future__ import annotations

from ..unit_metrics import entropy
from .base import VolumeControl


class UsageEntropy(VolumeControl):
    name = "entropy"
    description = "−λ H(p̄): bonus on the entropy of the units' mean responsibilities"
    needs_usage = True
    penalty_reads_usage = True
    typical_strength = 0.5
    activation_needs = {"soft": "{activation} has no differentiable responsibilities to spread"}

    def penalty(self, W, gain, usage):
        return -self.lam(usage)[:, 0] * entropy(usage)
