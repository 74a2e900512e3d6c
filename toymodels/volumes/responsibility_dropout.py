"""Dropout on responsibilities: in training each unit is dropped from each example with
probability λ and the rest renormalised, ``r̂_j = r_j m_j / Σ_k r_k m_k``.

No unit can be essential, so the others keep receiving gradient.  For a softmax this is
the softmax over the kept units, so the logits of dropped units are set to −∞; an
example whose every unit was dropped keeps them all.  Each model draws its masks from
its own stream.
"""

from __future__ import annotations

import torch

from ..random_words import UniformBlocks, uniform_from_bits
from ..seeds import STREAM_VOLUME
from .base import VolumeControl


class ResponsibilityDropout(VolumeControl):
    name = "dropout"
    description = "drop each unit from each example with probability λ, renormalise"
    max_strength = 0.9
    masks = True
    typical_strength = 0.8
    activation_needs = {
        "normalised": "dropout renormalises responsibilities: it needs an activation whose "
        "output is the layer's responsibility distribution (softmax)"
    }

    def __init__(self, configs, seeds, dtype=torch.float32):
        super().__init__(configs, seeds, dtype)
        self.blocks = None

    def mask_logits(self, z):
        shape = tuple(z.shape[1:])
        if self.blocks is None or self.blocks.shape != shape:
            self.blocks = UniformBlocks(self.seeds, STREAM_VOLUME, shape)
        keep = uniform_from_bits(self.blocks.next()) >= self.lam(z).float()
        keep |= ~keep.any(1, keepdim=True)
        return z.masked_fill(~keep, float("-inf"))
