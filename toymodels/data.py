"""Sparse uniform features (Elhage et al. 2022, "Experiment Setup").

Each feature of each example of each model is non-zero with probability ``p`` (its
density) and then Uniform[0, 1].  One uniform ``u`` per entry decides both: the entry is
active when ``u > 1 - p`` and its value is ``(u - (1 - p)) / p``, which given activity is
uniform on [0, 1).  This costs half the random numbers of drawing mask and value
separately and has exactly the same distribution (up to the 2**-24 lattice of float32
uniforms, i.e. values on a lattice of spacing 2**-24 / p).

Layout is ``[model, feature, batch]``: the batch is the long, contiguous axis, which
keeps the per-model matrix products in ``toymodels.families`` efficient.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .seeds import generator

# Each per-model generator call should produce at least this many numbers so that the
# Python loop over models costs little next to the generation itself.
_MIN_NUMBERS_PER_CALL = 32_768


class UniformBlocks:
    """Fresh float32 uniforms, ``shape`` per model per step, each model from its own stream.

    Numbers are drawn for several steps at a time (one generator call per model per
    block); the stream is the same whatever the block length, so a model's data does not
    depend on the models it is batched with.
    """

    def __init__(self, seeds: Sequence[np.random.SeedSequence], stream: int, shape: tuple[int, ...]):
        self.gens = [generator(s, stream) for s in seeds]
        self.shape = shape
        per_step = int(np.prod(shape))
        self.block = max(1, _MIN_NUMBERS_PER_CALL // per_step)
        self._buf: np.ndarray | None = None
        self._next = self.block

    def next(self) -> torch.Tensor:
        """Uniforms for the next step: a ``[model, *shape]`` float32 tensor (a view into the
        block buffer, valid until the following call; callers may modify it in place)."""
        if self._next == self.block:
            if self._buf is None:
                self._buf = np.empty((len(self.gens), self.block, *self.shape), dtype=np.float32)
            for gen, out in zip(self.gens, self._buf, strict=True):
                gen.random(out=out, dtype=np.float32)
            self._next = 0
        step = torch.from_numpy(self._buf[:, self._next])
        self._next += 1
        return step


def sparse_from_uniform(u: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """Turn uniforms ``u [model, feature, batch]`` into sparse features, in place.

    ``density`` is ``[model, feature]``.  ``relu(u/p - (1/p - 1))`` is zero with
    probability ``1 - p`` and uniform on [0, 1) otherwise.
    """
    inv = (1.0 / density).unsqueeze(-1)
    return u.mul_(inv).add_(1.0 - inv).clamp_min_(0.0)
