"""The Thomson geometry of superposition: points on a sphere and the 1-sparse loss.

Elhage et al. 2022, "Superposition as a Phase Change" (the loss anatomy): on inputs with
one active feature at ``x_i = 1``, uniform importance, the ReLU output model's loss is

    L₁ = Σ_i (1 − ReLU(‖W_i‖² + b_i))² + Σ_{i≠j} ReLU(W_j·W_i + b_j)²

(feature benefit, then interference), and with unit norms and no bias the interference
alone is a generalised Thomson problem: ``E = Σ_{i≠j} ReLU(cos θ_ij)²`` over the ordered
pairs (a regular hexagon in the plane: 6 points × 2 neighbours at 60° × 0.5² = 3).

:func:`minimise` finds the minimum of either over many random starts at once: each start
is one problem of the batched BFGS (``analytics._bfgs``) with the exact, hand-derived
gradient below (checked against autograd and finite differences in the tests).
``norms="fixed"`` minimises the Thomson energy over directions (each column ``v_i``
free, ``u_i = v_i/‖v_i‖``); ``norms="free"`` the 1-sparse loss over ``W`` with
``b = 0``, or over ``W`` and ``b`` with ``bias=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from toymodels.errors import ConfigError
from toymodels.limits import (
    THOMSON_DEFAULT_STARTS,
    THOMSON_DIMS,
    THOMSON_FEATURES,
    THOMSON_STARTS,
)

if TYPE_CHECKING:
    import torch

# torch is imported inside the functions that use it: the geometry helpers (kept features,
# angles, the few-active loss) are numpy only, and the figures read them through
# ``summaries`` without loading torch.

NORMS = ("fixed", "free")
DEFAULT_STARTS = THOMSON_DEFAULT_STARTS
# A feature is kept when its norm is above this: a kept feature has norm near 1 (0.92 in
# a pentagon), a dropped one decays to 0 (as the extra-feature phase rule's threshold).
KEPT_NORM = 0.5
# Starts whose energy is within this of the best (relative to it, or absolute below 1,
# for minima at 0) count as having found the minimum: BFGS stops at ~1e-9 relative.
SAME_ENERGY = 1e-6
# Features whose directions are closer than this (degrees) lie on one direction: BFGS
# leaves stacked features within 1e-4 degrees of each other (6e-5 at most, measured for
# N = 8 ... 12), distinct ones of a minimum are 68° or more apart.
STACKED_DEGREES = 0.01
# Tolerances of the minimiser are relative to the energy, or to this where the energy is
# smaller: with N <= 2M the minimum is 0 (orthogonal and antipodal directions), which a
# relative tolerance never reaches (12 features in 9 dimensions took 56 s without this
# floor, 14 s with it).
LOSS_FLOOR = 1.0
# Iterations per start: 33 parameters (11 features in 3 dimensions) converge in 67
# (median; 116 at most over 64 starts), so this bound only stops a pathological start.
MAX_ITER = 2000
# Most parameters N·(M+1) a problem may have: each start keeps a dense P×P inverse
# Hessian and updates it with P³ work per iteration; at 120 (24 features in 4
# dimensions) the default 128 starts took 11 s on a loaded 2-core machine, at 60 under
# a second.
MAX_PARAMETERS = 100


@dataclass(frozen=True)
class ThomsonMinimum:
    """The best of ``starts`` minimisations: ``W [dims, features]`` (unit columns for fixed
    norms), ``b [features]`` (zeros without a bias), the energy, each start's final energy
    (``energies [starts]``) and how many reached the best (``hits``)."""

    norms: str
    bias: bool
    energy: float
    W: np.ndarray
    b: np.ndarray
    energies: np.ndarray
    hits: int

    @property
    def feature_norms(self) -> np.ndarray:
        return np.linalg.norm(self.W, axis=0)

    @property
    def kept(self) -> np.ndarray:
        """Which features are kept (norm above :data:`KEPT_NORM`)."""
        return self.feature_norms > KEPT_NORM

    @property
    def nearest_angles(self) -> np.ndarray:
        return nearest_angles(self.W)


def check_size(features: int, dims: int, starts: int) -> None:
    """Refuse a problem the minimiser cannot solve in seconds (one line, ConfigError)."""
    THOMSON_FEATURES.apply("features", features)
    THOMSON_DIMS.apply("dims", dims)
    THOMSON_STARTS.apply("starts", starts)
    if features * (dims + 1) > MAX_PARAMETERS:
        raise ConfigError(
            f"features={features} x (dims={dims} + 1) = {features * (dims + 1)} parameters "
            f"per start, above the {MAX_PARAMETERS} the minimiser handles in seconds"
        )


def nearest_each(W: np.ndarray, kept: np.ndarray | None = None) -> np.ndarray:
    """Per feature, the angle (degrees) to its nearest kept neighbour: NaN for a feature
    not kept or without a kept neighbour.  ``W [dims, features]``; ``kept`` defaults to
    the features with norm above :data:`KEPT_NORM`."""
    W = np.asarray(W, dtype=float)
    norms = np.linalg.norm(W, axis=0)
    if kept is None:
        kept = norms > KEPT_NORM
    out = np.full(W.shape[1], np.nan)
    index = np.flatnonzero(kept)
    if len(index) < 2:
        return out
    U = W[:, index] / norms[index]
    cos = np.clip(U.T @ U, -1.0, 1.0)
    np.fill_diagonal(cos, -np.inf)
    out[index] = np.degrees(np.arccos(cos.max(axis=1)))
    return out


def nearest_angles(W: np.ndarray, kept: np.ndarray | None = None) -> np.ndarray:
    """Each kept feature's angle (degrees) to its nearest kept neighbour, sorted; empty
    with fewer than two kept features (see :func:`nearest_each`)."""
    angles = nearest_each(W, kept)
    return np.sort(angles[np.isfinite(angles)])


def angle_spectrum(W: np.ndarray, kept: np.ndarray | None = None) -> np.ndarray:
    """Every angle (degrees) between two kept features, sorted (each pair once)."""
    W = np.asarray(W, dtype=float)
    norms = np.linalg.norm(W, axis=0)
    if kept is None:
        kept = norms > KEPT_NORM
    U = W[:, kept] / norms[kept]
    i, j = np.triu_indices(U.shape[1], k=1)
    return np.sort(np.degrees(np.arccos(np.clip((U.T @ U)[i, j], -1.0, 1.0))))


def merge_stacked(W: np.ndarray) -> np.ndarray:
    """``W [dims, features]`` with the features on one direction merged into the first of
    them (the others set to 0), keeping their total squared norm.

    Without a bias, features ``i ∈ S`` on one direction with squared norms ``s_i`` cost
    ``Σ(1 − s_i)² + Σ_{i≠j∈S} s_i s_j = |S| − 1 + (1 − Σ s_i)²`` between themselves, and
    their interference with any other feature depends on ``Σ s_i`` only: the 1-sparse loss
    is the same for every split of the total, so the minimiser lands on an arbitrary one.
    Written with one feature per direction, the minimum reads as kept directions and
    dropped features, and its loss is unchanged.
    """
    W = np.array(W, dtype=float)
    norms = np.linalg.norm(W, axis=0)
    live = np.flatnonzero(norms > 0)
    U = W[:, live] / norms[live]
    close = U.T @ U >= np.cos(np.radians(STACKED_DEGREES))
    done = np.zeros(len(live), dtype=bool)
    for a in range(len(live)):
        if done[a]:
            continue
        group = np.flatnonzero(close[a] & ~done)
        done[group] = True
        total = np.sqrt((norms[live[group]] ** 2).sum())
        W[:, live[group]] = 0.0
        W[:, live[a]] = U[:, a] * total
    return W


# -- energies and their exact gradients (batched over a leading start axis) -------------
def _off_diagonal(n: int, dtype) -> torch.Tensor:
    import torch

    return 1.0 - torch.eye(n, dtype=dtype)


def thomson_energy(V: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``E = Σ_{i≠j} ReLU(u_i·u_j)²`` with ``u_i = v_i/‖v_i‖``; ``V [start, dim, feature]``
    -> ``(E [start], dE/dV [start, dim, feature])``."""
    import torch

    r = V.norm(dim=1, keepdim=True)  # [start, 1, feature]
    U = V / r
    # out of place (times the off-diagonal mask), so that autograd can check this
    C = torch.relu(U.transpose(1, 2) @ U) * _off_diagonal(V.shape[-1], V.dtype)
    energy = (C * C).sum((1, 2))
    # dE/dC_ij = 2 C_ij on both orders of a pair, so dE/dU = 4 U C (C symmetric); then
    # project out the radial part: the energy does not depend on ‖v_i‖.
    gU = 4.0 * (U @ C)
    radial = (gU * U).sum(1, keepdim=True)
    return energy, (gU - radial * U) / r


def one_sparse_loss(
    W: torch.Tensor, b: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``L₁ = Σ_i (1 − ReLU(‖W_i‖² + b_i))² + Σ_{i≠j} ReLU(W_j·W_i + b_j)²`` (uniform
    importance; ``b = 0`` when None).  ``W [start, dim, feature]``, ``b [start, feature]``
    -> ``(L [start], dL/dW, dL/db or None)``."""
    import torch

    A = W.transpose(1, 2) @ W  # A[i, j] = W_i·W_j: output j when feature i is active
    if b is not None:
        A = A + b.unsqueeze(1)
    R = torch.relu(A)
    miss = 1.0 - R.diagonal(dim1=1, dim2=2)
    off = R * _off_diagonal(W.shape[-1], W.dtype)
    loss = (miss * miss).sum(1) + (off * off).sum((1, 2))
    # dL/dA: 2 ReLU(A_ij) off the diagonal, −2(1 − ReLU(A_ii))·1[A_ii > 0] on it.
    D = 2.0 * off + torch.diag_embed(-2.0 * miss * (A.diagonal(dim1=1, dim2=2) > 0))
    gW = W @ (D + D.transpose(1, 2))
    gb = D.sum(1) if b is not None else None
    return loss, gW, gb


def few_active_loss(
    W: np.ndarray, b: np.ndarray, density: float, grid: tuple[int, int] = (400, 64)
) -> tuple[float, float]:
    """The expected loss ``E Σ_i (x_i − ReLU(WᵀW x + b)_i)²`` of a ReLU output model with
    uniform importance (each ``x_i`` zero with probability ``1 − density``, else uniform
    on [0, 1]) over the inputs with at most two active features, and the probability of
    the rest (left out).  ``W [dims, features]``, ``b [features]``.

    The sum over patterns is exact; the integrals over the active values are midpoint
    sums on ``grid`` points per active feature (``grid[0]`` for one, ``grid[1]`` per axis
    for two), accurate to ~1e-6 and ~1e-4 of their terms.  At density 0.01 and 11 features
    the patterns left out have probability 1.6e-4 (0.2% of those with an active feature),
    while the fresh-sample loss of 16,384 examples has a ~3% error: this ranks seeds that
    the sampled loss cannot tell apart.
    """
    W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    n, p = W.shape[1], float(density)
    G = W.T @ W  # G[i, j]: output j per unit of feature i
    zero = float((np.maximum(b, 0.0) ** 2).sum())
    t = (np.arange(grid[0]) + 0.5) / grid[0]
    # one active feature i at value t: out[i, t, j] = ReLU(G_ij t + b_j)
    out = np.maximum(G[:, None, :] * t[None, :, None] + b, 0.0)
    target = np.eye(n)[:, None, :] * t[None, :, None]
    one = float(((target - out) ** 2).sum(-1).mean(-1).sum())
    s = (np.arange(grid[1]) + 0.5) / grid[1]
    u, v = (a.ravel() for a in np.meshgrid(s, s, indexing="ij"))
    i, j = np.triu_indices(n, k=1)
    x = np.zeros((len(i), len(u), n))
    x[np.arange(len(i)), :, i] = u
    x[np.arange(len(i)), :, j] = v
    pre = G[i][:, None, :] * u[None, :, None] + G[j][:, None, :] * v[None, :, None] + b
    two = float(((x - np.maximum(pre, 0.0)) ** 2).sum(-1).mean(-1).sum())
    weights = [(1 - p) ** n, p * (1 - p) ** (n - 1), p * p * (1 - p) ** (n - 2)]
    loss = weights[0] * zero + weights[1] * one + weights[2] * two
    left_out = 1.0 - weights[0] - n * weights[1] - n * (n - 1) / 2 * weights[2]
    return loss, max(left_out, 0.0)


class _Problems:
    """Every start of one problem as a batched function ``theta [k, P] -> (loss, grad)``
    for ``analytics._bfgs.bfgs``; the starts share the function, so selecting rows is
    nothing to remember."""

    def __init__(self, norms: str, bias: bool, dims: int, features: int, size: int):
        self.norms, self.bias, self.m, self.n, self.size = norms, bias, dims, features, size

    def select(self, keep) -> None:
        pass

    def __call__(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        k, mn = theta.shape[0], self.m * self.n
        W = theta[:, :mn].reshape(k, self.m, self.n)
        if self.norms == "fixed":
            energy, g = thomson_energy(W)
            return energy, g.reshape(k, mn)
        b = theta[:, mn:] if self.bias else None
        loss, gW, gb = one_sparse_loss(W, b)
        grads = [gW.reshape(k, mn)] + ([gb] if gb is not None else [])
        return loss, torch.cat(grads, dim=1)


def minimise(
    features: int,
    dims: int,
    norms: str = "free",
    bias: bool = False,
    starts: int = DEFAULT_STARTS,
    seed: int = 0,
) -> ThomsonMinimum:
    """The lowest energy over ``starts`` random starts (from ``seed``: the same arguments
    give the same answer): the Thomson energy of ``features`` unit vectors in ``dims``
    dimensions (``norms="fixed"``), or the 1-sparse loss with free norms (``"free"``, with
    free biases when ``bias``)."""
    import torch

    from ._bfgs import bfgs

    if norms not in NORMS:
        raise ConfigError(f'norms "{norms}" is not one of {", ".join(NORMS)}')
    if bias and norms == "fixed":
        raise ConfigError("a bias needs free norms: the fixed-norm energy has no bias")
    check_size(features, dims, starts)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    # Directions uniform on the sphere; columns of norm ~1, where kept features end up.
    W0 = rng.standard_normal((starts, dims, features)) / np.sqrt(dims)
    theta = W0.reshape(starts, -1)
    if bias:
        theta = np.concatenate([theta, 0.1 * rng.standard_normal((starts, features))], axis=1)
    theta = torch.as_tensor(theta, dtype=torch.float64)
    problems = _Problems(norms, bias, dims, features, starts)
    out, energies, _, _ = bfgs(lambda index: problems, theta, MAX_ITER, loss_floor=LOSS_FLOOR)
    energies = energies.numpy()
    best = int(np.argmin(energies))
    mn = dims * features
    W = out[best, :mn].reshape(dims, features).numpy().copy()
    if norms == "fixed":
        W /= np.linalg.norm(W, axis=0)
    b = out[best, mn:].numpy().copy() if bias else np.zeros(features)
    if norms == "free" and not bias:
        W = merge_stacked(W)
    e = float(energies[best])
    hits = int((energies <= e + SAME_ENERGY * max(abs(e), 1.0)).sum())
    return ThomsonMinimum(norms, bias, e, W, b, energies, hits)


__all__ = [
    "DEFAULT_STARTS",
    "KEPT_NORM",
    "MAX_PARAMETERS",
    "NORMS",
    "ThomsonMinimum",
    "angle_spectrum",
    "check_size",
    "few_active_loss",
    "merge_stacked",
    "minimise",
    "nearest_angles",
    "nearest_each",
    "one_sparse_loss",
    "thomson_energy",
]
