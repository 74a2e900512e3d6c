"""Per-model random streams.

Every model owns ``SeedSequence(root, spawn_key=(cell, replicate))``; from it come
independent streams: initialisation, training data (fresh samples, or the examples of a
finite data set), evaluation data, the probe examples that metrics and trajectories are
measured on, the picks of mini-batches from a finite data set, a volume control's random
masks, and the hidden-to-hidden weights of a deeper network.  Seeds are fixed before
any work is dispatched, so numbers never depend on how many models share a batch, how a
sweep is chunked, how many jobs run it, or in which order.
"""

from __future__ import annotations

import numpy as np

STREAM_INIT = 0
STREAM_DATA = 1
STREAM_EVAL = 2
STREAM_PROBE = 3
STREAM_BATCH = 4
STREAM_VOLUME = 5
# The hidden-to-hidden weights of a deeper network: a stream of their own, so that its
# first and last layers are drawn as a one-hidden-layer network's are.
STREAM_DEPTH = 6


def model_seed(root: int, cell: int, replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``replicate`` of grid cell ``cell`` in a sweep rooted at ``root``."""
    return np.random.SeedSequence(root, spawn_key=(cell, replicate))


def generator(seed: np.random.SeedSequence, stream: int) -> np.random.Generator:
    """A numpy Generator for one of the model's streams (stateless derivation, unlike
    ``SeedSequence.spawn`` which counts how often it was called)."""
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, stream))
    return np.random.Generator(np.random.PCG64(child))
