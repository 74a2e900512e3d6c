"""The modes of a data set for the closed-form learning dynamics of a linear pathway.

The singular value decomposition of the input–output correlation ``Σ_yx = Y Xᵀ/P`` and the
input variance along each right singular vector: what ``analytics.mode_dynamics`` solves
for, and what a task with exact theory (``contextual``, ``conflict``) offers as
``Task.modes(config)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Singular values below this fraction of the largest are not modes (numerical zeros).
RANK_TOLERANCE = 1e-9
# Singular values closer than this (relative to the largest) form one degenerate mode.
DEGENERATE = 1e-7


def initial_strength(init_std: float, n_hidden: int) -> float:
    """``a₀``: the mode strength a start of this scale and width grows from."""
    return init_std**2 * n_hidden / 2


@dataclass(frozen=True)
class Modes:
    """The modes of a data set for the closed-form dynamics, strongest first: ``s`` the
    singular values of ``Σ_yx = Y Xᵀ/P`` (columns ``U``, ``V`` its singular vectors) and
    ``d = vᵀ Σ_xx v`` the input variance along each right singular vector."""

    s: np.ndarray
    d: np.ndarray
    U: np.ndarray
    V: np.ndarray
    samples: int
    target_power: float  # tr Σ_yy = ‖Y‖²/P


def modes(x: np.ndarray, y: np.ndarray) -> Modes:
    """The modes of ``(X, Y)``.

    The closed form is exact when each right singular vector of ``Σ_yx`` is an eigenvector
    of ``Σ_xx`` (whitened inputs: d = 1).  With one-hot inputs it is not, and each mode
    gets the Rayleigh quotient ``d = vᵀ Σ_xx v`` (the published code pairs sorted singular
    values of the two matrices instead).  Within a degenerate singular value the basis is
    rotated to diagonalise ``Σ_xx`` there, which makes the pairing exact where it can be.
    """
    samples = x.shape[1]
    sxx = x @ x.T / samples
    u, s, vt = np.linalg.svd(y @ x.T / samples, full_matrices=False)
    keep = s > RANK_TOLERANCE * s[0]
    u, s, v = u[:, keep], s[keep], vt[keep].T
    start = 0
    while start < len(s):
        stop = start + 1
        while stop < len(s) and s[start] - s[stop] < DEGENERATE * s[0]:
            stop += 1
        if stop - start > 1:
            block = v[:, start:stop]
            _, rot = np.linalg.eigh(block.T @ sxx @ block)
            rot = rot[:, ::-1]  # largest input variance first
            v[:, start:stop] = block @ rot
            u[:, start:stop] = u[:, start:stop] @ rot
        start = stop
    # A deterministic sign: the largest entry of each v is positive.
    flip = np.sign(v[np.abs(v).argmax(0), np.arange(v.shape[1])])
    u, v = u * flip, v * flip
    d = np.einsum("ia,ij,ja->a", v, sxx, v)
    return Modes(s, d, u, v, samples, float((y**2).sum() / samples))
