"""Batch normalisation before the activation, an implicit volume control (the seed's
question 2): each unit's logit is standardised over the examples of the batch,
``ẑ_k = (z_k − mean z_k) / √(var z_k + ε)``, so no unit can dominate by the scale or
offset of its logits, only by which examples it ranks highest.  There is no affine
(γ, β): the temperature is the scale the activation sees.

λ mixes it in, ``(1 − λ) z + λ ẑ``: λ = 0 is the uncontrolled layer, λ = 1 full
normalisation; λ ≤ 1.

Statistics: in training the batch's; in evaluation and on the probe examples, those of
the examples evaluated, not running means.  The evaluation and probe batches are
hundreds to thousands of fresh examples from the training distribution, so their
statistics estimate the population's better than a running mean of past training
batches taken with older weights, the model stays a function of its parameters alone
(nothing else to store, and the engine's measurement in slices of models, which copies
parameters only, changes nothing), and the example axis is per model, so models
trained together do not see each other's statistics.  The cost: a model's output on one
example depends on the other examples evaluated with it.
"""

from __future__ import annotations

import torch

from .base import VolumeControl

# Added to each unit's variance over the batch: torch's BatchNorm default, keeps a unit
# whose logit is constant over the batch (a dead ReLU row) at ẑ = 0 instead of 0/0.
EPSILON = 1e-5


class BatchNorm(VolumeControl):
    name = "batchnorm"
    description = "(1−λ) z + λ (z − mean)/sd per unit over the batch, before the activation"
    max_strength = 1.0
    normalises_logits = True

    free_energy_refusal = (
        "the {task} layer's output is the free energy of its distance logits, which "
        "normalising them would change"
    )

    def normalise_logits(self, z):
        mean = z.mean(-1, keepdim=True)
        var = (z - mean).pow(2).mean(-1, keepdim=True)
        lam = self.lam(z)
        return (1.0 - lam) * z + lam * (z - mean) / torch.sqrt(var + EPSILON)
