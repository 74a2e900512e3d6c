"""The closed-form loss of a rectified linear network (ReLN) on the contextual task.

A ReLN is a gated deep linear network whose gates are a ReLU network's: each *pathway* is
a two-layer linear network switched on for the samples of a set of contexts (its mask).
Jarvis, Klein, Rosman & Saxe (ICLR 2025, section 4) predict its loss, and with it the
ReLU network's, from the mode dynamics of ``analytics.mode_dynamics``
(``τ da/dt = 2a(s − d·a)``, ``τ = 1/(P·lr)``, solved with sympy), one pathway at a time:

1. The **common pathway** (the mask of every context; it sees object and context inputs)
   learns the whole data set: its modes are the linear theory's (``config_modes``: ``s``
   the singular values of ``Σ_yx = Y Xᵀ/P``, ``d`` the input variance along each).
2. Every **gated pathway** p (any other mask; it sees the object inputs only) learns what
   the common pathway leaves at its end, the residual ``R = Y − Ŷ_common(∞)``, on the
   samples of its contexts.  Its modes are the singular vectors of its *drive*
   ``T_p / P = Σ_{n∈p} r_n x_nᵀ / P`` (``s``, with the whole data set's ``P``, so one ``τ``
   serves every pathway).
3. The output is the sum of the pathways' mode trajectories on their samples; the loss
   is ½·Σ of its squared error (over outputs and samples).

**How much of the residual a gated pathway takes: the rule for any set of masks.**  The
gated pathways share samples: a sample of context c is fitted by every pathway whose
mask holds c, so no pathway ends at its own least-squares fit of the residual.  Let
``A*`` be the joint fixed point of the gated pathways, the minimum-norm least-squares
solution of ``Σ_{q∋c(n)} A_q x_n = r_n`` over every sample (``A* = R Z⁺``, ``Z`` stacking
each pathway's inputs on its samples; gradient flow from a small start stays in the row
space of ``Z`` and ends there).  Its normal equations say, for every pathway p,
``Σ_{n∈p} (Σ_{q∋c(n)} A*_q x_n) x_nᵀ = T_p``.  So if every pathway is a fraction f of its
way to ``A*`` (``A_q = f·A*_q``, the shared-progress assumption), the gradient pathway p
feels is exactly ``(1 − f)·T_p``: its drive, shrunk by how far the *whole* set has come.
Along a mode α of ``T_p`` (singular value ``P·s``, end strength ``a* = u_αᵀ A*_p v_α``)
this is ``τ da/dt = 2a·s·(1 − a/a*)``, the mode equation with

    ``d = s / a*``.

That is the rule: ``d`` is the mode's drive over its share of the joint fixed point.  It is
exact at the start (the drive is ``T_p``) and at the end (the pathways reach ``A*``); in
between the modes do not progress in step, and the rule is the approximation.  A mode
that ``A*`` does not use (``a* ≤ 0``: other pathways fit it) is left out.

For the published sets (one pathway per K − 1 contexts, a common pathway) the residual
sums to zero over the contexts of each object when the common pathway has fitted every
function of the object alone (exactly on the same-structure data sets), so
``A*_p = T_p`` and ``d = 1/P``: the isolated pathway's ``d = (K − 1)/P`` divided by the
K − 1 pathways that share each of its samples, which is the published construction
(``3_context_diff/closed.py``, ``diff_context_num/closed*.py``: "d halved" for K = 3).
"Divide by the sharers" is not the rule for other masks: with every pair of 4 contexts
(3 sharers per sample) ``A*_p = T_p/2`` and ``d = 2/P``, not ``2/(3P)``.

``basis = "drive"`` (default) takes a pathway's modes from its drive, as the published
code does; where ``A*_p`` is not a multiple of ``T_p`` (a residual that does not sum to
zero, irregular masks) the drive's modes hold only the diagonal of ``A*_p`` and the
closed form ends above the fixed point.  ``basis = "fixed_point"`` takes the modes of
``A*_p`` itself, with ``s`` the drive along them, and ends at ``A*``, where gradient
descent on the pathways ends (less any mode of ``A*_p`` whose drive is not positive,
which is left out).  On the default 3-context task the drive's modes end at a loss of
0.33, ``A*`` at 0: context-level pathways can fit the task exactly.

The published code pairs the common pathway's ``s`` with the sorted eigenvalues of
``Σ_xx``; here each mode gets its Rayleigh quotient, as in the linear theory.  The initial
strengths ``a₀`` are the published ones (:data:`PUBLISHED_A0`), fitted numbers: the start
a network's initial scale implies (``init²·H/2``, 1.8e-8) leaves the gated pathways
~2,000 epochs behind a ReLU network, whose context pathways start far ahead of it in a way
the sequential construction does not derive.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from toymodels.contextual_data import OBJECTS, ContextualConfig, config_modes, contextual_data
from toymodels.correlation_modes import RANK_TOLERANCE
from toymodels.errors import ConfigError

from .mode_dynamics import mode_strength

# The published closed forms' initial strengths (common pathway, gated pathways) per
# number of contexts: ``3_context_diff/closed.py`` and ``diff_context_num/closed{3,4,5}.py``.
PUBLISHED_A0 = {3: (5e-9, 5e-5), 4: (1e-8, 1e-4), 5: (1e-9, 3e-4)}
# A gated pathway's modes: its drive's (the published construction) or its part of the
# joint fixed point's (ends where gradient descent on the pathways ends).
BASES = ("drive", "fixed_point")


def paper_pathways(n_contexts: int) -> tuple[tuple[int, ...], ...]:
    """The paper's pathways: one on in every context, one for every set of K − 1 contexts
    (contexts numbered from 1)."""
    every = tuple(range(1, n_contexts + 1))
    return (every, *itertools.combinations(every, n_contexts - 1))


def check_pathways(pathways, n_contexts: int) -> tuple[tuple[int, ...], ...]:
    """``pathways`` as sorted tuples of contexts (numbered from 1), or a one-line
    ``ConfigError``: a pathway must be a non-empty list of distinct contexts from 1 to K,
    and no two pathways may serve the same contexts."""
    allowed = f"a list of pathways, each a non-empty list of contexts from 1 to {n_contexts}"
    if isinstance(pathways, str | bytes) or not isinstance(pathways, Sequence) or not pathways:
        raise ConfigError(f"pathways {pathways!r} must be {allowed}")
    out, seen = [], {}
    for i, mask in enumerate(pathways):
        if isinstance(mask, str | bytes) or not isinstance(mask, Sequence) or not mask:
            raise ConfigError(
                f"pathway {i + 1} ({mask!r}) must be a non-empty list of contexts from 1 to "
                f"{n_contexts}"
            )
        for c in mask:
            if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= n_contexts:
                raise ConfigError(
                    f"pathway {i + 1} ({list(mask)!r}) names context {c!r}; the contexts are "
                    f"1 to {n_contexts}"
                )
        if len(set(mask)) != len(mask):
            raise ConfigError(f"pathway {i + 1} ({list(mask)!r}) repeats a context")
        key = tuple(sorted(mask))
        if key in seen:
            raise ConfigError(
                f"pathways {seen[key]} and {i + 1} both serve contexts {list(key)}; each set "
                "of contexts is one pathway"
            )
        seen[key] = i + 1
        out.append(key)
    return tuple(out)


@dataclass(frozen=True)
class Pathway:
    """One pathway's modes: ``contexts`` (numbered from 1), its initial strength ``a0``,
    singular values ``s``, input variances ``d`` and singular vectors ``U [output, mode]``,
    ``V [input, mode]`` (zero on the context inputs of a gated pathway), and the samples
    it is on (``on [sample]``)."""

    contexts: tuple[int, ...]
    a0: float
    s: np.ndarray
    d: np.ndarray
    U: np.ndarray
    V: np.ndarray
    on: np.ndarray

    @property
    def asymptote(self) -> np.ndarray:
        return self.s / self.d

    def strength(self, epochs, tau: float) -> np.ndarray:
        """``a_α(t)`` at ``epochs`` (``[time, mode]``)."""
        times = np.asarray(epochs, dtype=float)[:, None]
        return mode_strength(times, self.s, self.d, self.a0, tau)


@dataclass(frozen=True)
class RelnPrediction:
    """The closed form of a ReLN: its pathways, the time constant ``tau`` (epochs) and
    the data set ``x [input, sample]``, ``y [output, sample]``."""

    pathways: tuple[Pathway, ...]
    tau: float
    x: np.ndarray
    y: np.ndarray

    def _maps(self) -> np.ndarray:
        """Every mode's unit-strength output ``u vᵀ X`` on its pathway's samples,
        ``[mode, output, sample]`` (pathways in order)."""
        maps = [np.einsum("oa,ia,in->aon", p.U, p.V, self.x) * p.on for p in self.pathways]
        return np.concatenate(maps) if maps else np.zeros((0, *self.y.shape))

    def strengths(self, epochs) -> np.ndarray:
        """Every pathway's mode strengths side by side, ``[time, mode]``."""
        parts = [p.strength(epochs, self.tau) for p in self.pathways]
        return np.concatenate(parts, axis=1)

    def outputs(self, epochs) -> np.ndarray:
        """The network's output on the data set, ``[time, output, sample]``."""
        return np.einsum("ta,aon->ton", self.strengths(epochs), self._maps())

    def loss(self, epochs) -> np.ndarray:
        """½·Σ squared error at ``epochs``, from the modes' Gram matrix (the same number as
        ``½‖Y − outputs‖²`` without forming an output per epoch)."""
        maps = self._maps().reshape(-1, self.y.size)
        target = self.y.reshape(-1)
        gram, overlap = maps @ maps.T, maps @ target
        a = self.strengths(epochs)
        return 0.5 * (target @ target - 2 * a @ overlap + np.einsum("ta,ab,tb->t", a, gram, a))


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name}={value:g} must be a finite number > 0")
    return value


def predict_reln(
    config: ContextualConfig,
    lr: float,
    pathways=None,
    a0_common: float | None = None,
    a0_pathway: float | None = None,
    basis: str = "drive",
) -> RelnPrediction:
    """The ReLN's closed form (module docstring) on the task ``config`` trained at ``lr``,
    for ``pathways`` (lists of contexts numbered from 1; default :func:`paper_pathways`),
    starting from ``a0_common`` and ``a0_pathway`` (default :data:`PUBLISHED_A0`).
    ``basis`` picks a gated pathway's modes (:data:`BASES`, module docstring)."""
    if basis not in BASES:
        raise ConfigError(f"basis {basis!r} is not one of {', '.join(BASES)}")
    k = config.n_contexts
    masks = check_pathways(paper_pathways(k) if pathways is None else pathways, k)
    published = PUBLISHED_A0[k]
    a0_common = _positive("a0_common", published[0] if a0_common is None else a0_common)
    a0_pathway = _positive("a0_pathway", published[1] if a0_pathway is None else a0_pathway)
    lr = _positive("lr", lr)
    every = tuple(range(1, k + 1))
    gated = [m for m in masks if m != every]
    if gated and config.inputs != "one_hot":
        raise ConfigError(
            f"inputs={config.inputs}: the gated pathways see the object one-hots, so the "
            "ReLN's closed form needs inputs=one_hot (or only the all-context pathway)"
        )
    x, y, context = contextual_data(config)
    samples = x.shape[1]
    tau = 1.0 / (samples * lr)
    if not (math.isfinite(tau) and tau > 0):
        raise ConfigError(f"lr={lr:g} gives the time constant tau = {tau:g}; it must be finite")
    found: dict[tuple[int, ...], Pathway] = {}
    residual = y
    if every in masks:
        m = config_modes(config)
        found[every] = Pathway(every, a0_common, m.s, m.d, m.U, m.V, np.ones(samples))
        residual = y - (m.U * (m.s / m.d)) @ m.V.T @ x
    found_gated = _gated(residual, x, context, gated, a0_pathway, basis)
    for mask, pathway in zip(gated, found_gated, strict=True):
        found[mask] = pathway
    return RelnPrediction(tuple(found[m] for m in masks), tau, x, y)


def _gated(residual, x, context, masks, a0, basis) -> list[Pathway]:
    """The gated pathways' modes (module docstring, point 2 and the ``d`` rule)."""
    if not masks:
        return []
    objects = x[:OBJECTS]
    samples = objects.shape[1]
    on = [np.isin(context + 1, mask).astype(float) for mask in masks]
    width = objects.shape[0]
    # Z stacks each pathway's inputs on its samples; A* = R Z⁺ is the joint fixed point.
    z = np.concatenate([objects * gate for gate in on])
    joint = residual @ np.linalg.pinv(z)
    out = []
    for q, (mask, gate) in enumerate(zip(masks, on, strict=True)):
        drive = (residual * gate) @ objects.T / samples
        fixed = joint[:, q * width : (q + 1) * width]
        if basis == "drive":  # the drive's modes, each with its share of A*
            u, s, vt = np.linalg.svd(drive, full_matrices=False)
            share = np.einsum("oa,oi,ia->a", u, fixed, vt.T)
        else:  # A*'s modes, each with its part of the drive
            u, share, vt = np.linalg.svd(fixed, full_matrices=False)
            s = np.einsum("oa,oi,ia->a", u, drive, vt.T)
        v = vt.T
        # A mode is learned when it carries drive and the joint fixed point uses it.
        scale = max(s.max(initial=0.0), 1e-300)
        keep = (s > RANK_TOLERANCE * scale) & (share > RANK_TOLERANCE * scale)
        u, s, v, share = u[:, keep], s[keep], v[:, keep], share[keep]
        full_v = np.zeros((x.shape[0], len(s)))  # no weight on the context inputs
        full_v[:width] = v
        out.append(Pathway(mask, a0, s, s / share, u, full_v, gate))
    return out
