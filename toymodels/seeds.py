"""Per-model random streams.

Every model owns ``SeedSequence(root, spawn_key=(cell, replicate))``; from it come three
independent streams (initialisation, training data, evaluation data).  Seeds are fixed
before any work is dispatched, so numbers never depend on how many models share a
batch, how a sweep is chunked, how many jobs run it, or in which order.
"""

from __future__ import annotations

import numpy as np

STREAM_INIT = 0
STREAM_DATA = 1
STREAM_EVAL = 2


def model_seed(root: int, cell: int, replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``replicate`` of grid cell ``cell`` in a sweep rooted at ``root``."""
    return np.random.SeedSequence(root, spawn_key=(cell, replicate))


def generator(seed: np.random.SeedSequence, stream: int) -> np.random.Generator:
    """A numpy Generator for one of the model's streams (stateless derivation, unlike
    ``SeedSequence.spawn`` which counts how often it was called)."""
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, stream))
    return np.random.Generator(np.random.PCG64(child))
