"""The contextual multi-task data set as numpy arrays, and its closed-form modes.

Torch-free, so the closed form (``analytics.mode_dynamics``, ``toymodels analytic
modes``) is computed without loading torch; the task that trains on it is
``toymodels.tasks.contextual``, whose docstring describes the data set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from .correlation_modes import RANK_TOLERANCE, Modes, modes
from .fields import Config, choice, param
from .limits import CONTEXT_SCALE, INPUTS, N_CONTEXTS, STRUCTURES

OBJECTS = 8
FEATURES = 15  # rows of a structure: 1 + 2 + 4 + 8
# The published networks' width and initial scale (the contextual families' defaults).
DEFAULT_HIDDEN = 700
DEFAULT_INIT_STD = 0.005 / 700


@dataclass(frozen=True)
class ContextualConfig(Config):
    owner = "task contextual"

    n_contexts: int = param(3, N_CONTEXTS, top=True, help="contexts K (3 to 5)")
    structure: str = param(
        "different",
        choice("structure", lambda: STRUCTURES),
        help="same: the hierarchy in every context block; different: hierarchy, ring, regrouped",
    )
    inputs: str = param(
        "one_hot",
        choice("inputs", lambda: INPUTS),
        help="one_hot object and context; whitened: the same, ZCA-whitened (exact theory)",
    )
    context_scale: float = param(
        1.0,
        CONTEXT_SCALE,
        help="the value of the context one-hot inputs (published: 1 for K = 3, 1.1 for "
        "K = 4, 1.35 for K = 5)",
    )


# -- the data ------------------------------------------------------------------------------
def hierarchy() -> np.ndarray:
    """``H`` (15 x 8): all objects, two halves, four pairs, eight singletons."""
    rows = []
    for groups in (1, 2, 4, 8):
        size = OBJECTS // groups
        rows += [[1.0 * (o // size == g) for o in range(OBJECTS)] for g in range(groups)]
    return np.array(rows)


# The published ring's bump, with its values as written there (0.33 and 0.66, not 1/3 and
# 2/3): the data set is the published one to the bit.
RING_BUMP = (0.0, 0.33, 0.66, 1.0, 1.0, 0.66, 0.33, 0.0)


def ring() -> np.ndarray:
    """The all-objects row, then the bump :data:`RING_BUMP` as written and its circular
    shifts, the peak moving one object to the left each row: rows 1–8 are the eight
    shifts, rows 9–14 repeat rows 1–6 (the published ``gen_ring``; its scaling by 0.5 and
    then by 2 is exact in floating point and leaves these values)."""
    bump = np.array(RING_BUMP)
    rows = [np.ones(OBJECTS)] + [np.roll(bump, -(r % OBJECTS)) for r in range(FEATURES - 1)]
    return np.array(rows)


def regrouped() -> np.ndarray:
    """``H`` with its pairs regrouped as {0,2}, {1,3}, {4,6}, {5,7}."""
    h = hierarchy()
    for row, pair in enumerate(((0, 2), (1, 3), (4, 6), (5, 7)), start=3):
        h[row] = [1.0 * (o in pair) for o in range(OBJECTS)]
    return h


def structures(n_contexts: int, structure: str) -> list[np.ndarray]:
    """Each context block's structure (15 x 8)."""
    if structure == "same":
        return [hierarchy()] * n_contexts
    cycle = (hierarchy(), ring(), regrouped())
    return [cycle[k] if k < 3 else cycle[k - 3] for k in range(n_contexts)]


@cache
def _data(n_contexts: int, structure: str, inputs: str, context_scale: float = 1.0):
    k, samples = n_contexts, OBJECTS * n_contexts
    context = np.repeat(np.arange(k), OBJECTS)
    obj = np.tile(np.arange(OBJECTS), k)
    x = np.zeros((OBJECTS + k, samples))
    x[obj, np.arange(samples)] = 1.0
    x[OBJECTS + context, np.arange(samples)] = context_scale
    blocks = [np.tile(hierarchy(), (1, k))]
    for c, h in enumerate(structures(k, structure)):
        block = np.zeros((FEATURES, samples))
        block[:, context == c] = h
        blocks.append(block)
    y = np.vstack(blocks)
    if inputs == "whitened":
        evals, evecs = np.linalg.eigh(x @ x.T / samples)
        keep = evals > RANK_TOLERANCE * evals.max()
        root = evecs[:, keep] @ np.diag(evals[keep] ** -0.5) @ evecs[:, keep].T
        x = root @ x
    for a in (x, y, context):
        a.flags.writeable = False
    return x, y, context


def contextual_data(config: ContextualConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs ``X [8+K, 8K]``, targets ``Y [15(K+1), 8K]`` and each sample's context."""
    return _data(config.n_contexts, config.structure, config.inputs, config.context_scale)


@cache
def _config_modes(n_contexts: int, structure: str, inputs: str, context_scale: float) -> Modes:
    x, y, _ = _data(n_contexts, structure, inputs, context_scale)
    return modes(x, y)


def config_modes(config: ContextualConfig) -> Modes:
    return _config_modes(
        config.n_contexts, config.structure, config.inputs, config.context_scale
    )
