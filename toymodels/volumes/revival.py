"""Minimum responsibility: a unit whose usage falls below ``λ/K`` (a share λ of an equal
share) is revived.

Every ``EVERY`` steps, until the last ``SETTLE_SHARE`` of training, each model's units
whose running usage is below the threshold are moved to the examples its layer claims
least (k-means' rule of moving an empty centre to the farthest point; SAE resampling
re-initialises dead units from poorly served inputs).  The layer does the moving
(``revive``); this control decides when and which.  The optimiser's moments of a revived
unit are kept, as in the SAE practice that resets only the weights.
"""

from __future__ import annotations

from .base import VolumeControl

# Steps between revivals: enough for a revived unit to win examples before it is judged.
EVERY = 50
# The last share of training runs without revivals, so what is measured has settled.
SETTLE_SHARE = 0.2


class Revival(VolumeControl):
    name = "revival"
    description = "move units with usage below λ/K to the least-claimed examples"
    max_strength = 1.0
    needs_usage = True

    def after_step(self, layer):
        step, steps = layer.step, layer.steps
        if step % EVERY or step > (1.0 - SETTLE_SHARE) * steps:
            return
        usage = layer.usage_ema
        dead = usage < self.lam(usage) / usage.shape[1]
        if bool(dead.any()):
            layer.revive(dead)
