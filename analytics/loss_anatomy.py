"""The anatomy of the superposition loss: its terms by number of active features, and the
1-sparse loss split into feature benefit and interference.

Paper, "The Mathematical Understanding" of superposition: grouping the sparsity patterns
by how many features are active,

    L = Σ_k p^k (1 - p)^(n - k) L_k,

where ``L_k`` is the sum over the patterns with ``k`` active features of the loss given
that pattern (the active values uniform on the cube), not weighted by the pattern's
probability.  ``L_0 = Σ_i I_i act(b_i)²`` is the penalty on positive biases; ``L_1``, the
loss on 1-sparse inputs, dominates as ``p -> 0``.  On the input ``x_i = 1`` (feature ``i``
alone, at its largest value) the 1-sparse loss splits into

    feature benefit  Σ_i I_i (1 - act(‖W_i‖² + b_i))²
    interference     Σ_i Σ_{j≠i} I_j act(W_j·W_i + b_j)²

(``act`` = ReLU for the ReLU output model, the identity for the linear one: the paper's
linear form, with the bias the linear family has).  The benefit term is small when a
feature is represented (the loss a dropped feature costs); ReLU makes negative
interference free.  Interference is charged to the feature ``j`` whose output is
disturbed: ``interference[j] = Σ_{i≠j} I_j act(W_j·W_i + b_j)²``.

``L_1`` integrates ``x_i`` over [0, 1] instead of taking ``x_i = 1``: the integrand at
``x_i = x`` is :func:`one_sparse_anatomy` at ``x``, so ``L_1 = ∫_0^1 (benefit(x) +
interference(x)) dx``; with ``b = 0`` every term scales as ``x²`` and
``L_1 = (benefit + interference at x = 1) / 3`` exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sympy

from . import _cache, stored_expressions
from .loss_derivation import LossQuery, derive_expression, from_stored, output_terms

# The disk cache's folder for the L_k (apart from the total loss's "loss").
CACHE_KIND = "loss_by_sparsity"

_MEMORY: dict[str, tuple[tuple[sympy.Expr, ...], float]] = {}


@dataclass(frozen=True)
class SparsityTerms:
    """``L_0, ..., L_n`` of one model and what they cost (as :class:`LossDerivation`)."""

    terms: tuple[sympy.Expr, ...]  # terms[k] = L_k
    seconds: float
    derived_seconds: float
    cache: str  # "miss", "memory" or "disk"

    def total(self) -> sympy.Expr:
        """``Σ_k p^k (1 - p)^(n - k) L_k``: the expected loss."""
        from .symbols import p

        n = len(self.terms) - 1
        return sum(p**k * (1 - p) ** (n - k) * t for k, t in enumerate(self.terms))


def loss_by_sparsity(W, b=None, importance=None, family: str = "relu") -> SparsityTerms:
    """Every ``L_k`` (k = 0..n) of one model, derived exactly or fetched from the cache;
    the inputs are those of :func:`analytics.derive_loss`."""
    start = time.perf_counter()
    query = LossQuery.build(W, b, importance, family)
    key = query.key()
    if key in _MEMORY:
        terms, derived = _MEMORY[key]
        return SparsityTerms(terms, time.perf_counter() - start, derived, "memory")
    found = _read(key, query.n_features)
    if found is not None:
        _MEMORY[key] = found
        return SparsityTerms(found[0], time.perf_counter() - start, found[1], "disk")
    integrals = output_terms(query)
    terms = tuple(derive_expression(query, k, integrals) for k in range(query.n_features + 1))
    derived = time.perf_counter() - start
    _MEMORY[key] = (terms, derived)
    trees = [stored_expressions.encode(t) for t in terms]
    if all(tree is not None for tree in trees):  # otherwise just not cached
        _cache.write_entry(CACHE_KIND, key, {"terms": trees, "derived_seconds": derived})
    return SparsityTerms(terms, derived, derived, "miss")


def _read(key: str, n: int) -> tuple[tuple[sympy.Expr, ...], float] | None:
    """The cached terms, or None for anything but n + 1 terms that each decode as
    :func:`analytics.loss_derivation.from_stored` accepts a loss."""
    stored = _cache.read_entry(CACHE_KIND, key)
    if stored is None or not isinstance(stored.get("terms"), list):
        return None
    if len(stored["terms"]) != n + 1:
        return None
    out = []
    for tree in stored["terms"]:
        found = from_stored({"loss": tree, "derived_seconds": stored.get("derived_seconds")})
        if found is None:
            return None
        out.append(found[0])
    return tuple(out), found[1]


@dataclass(frozen=True)
class Anatomy:
    """The 1-sparse loss at ``x_i = x`` split per feature (see the module docstring)."""

    benefit: tuple[sympy.Expr, ...]  # [feature]: I_i (x - act(‖W_i‖² x + b_i))²
    interference: tuple[sympy.Expr, ...]  # [feature j]: Σ_{i≠j} I_j act(W_j·W_i x + b_j)²

    @property
    def benefit_total(self) -> sympy.Expr:
        return sympy.Add(*self.benefit)

    @property
    def interference_total(self) -> sympy.Expr:
        return sympy.Add(*self.interference)


def one_sparse_anatomy(W, b=None, importance=None, family: str = "relu", x=1) -> Anatomy:
    """Feature benefit and interference of one model on the 1-sparse inputs ``x_i = x``
    (the paper's form at ``x = 1``), exact; inputs as :func:`analytics.derive_loss`, and
    the same checks (so ``b`` may use ``p`` and importances ``r``)."""
    query = LossQuery.build(W, b, importance, family)
    x = sympy.sympify(x)
    G = query.W.T * query.W
    n = query.n_features

    def act(v):
        v = sympy.expand(v)
        return sympy.Max(0, v) if query.family == "relu" else v

    benefit = tuple(
        sympy.expand(query.importance[i] * (x - act(G[i, i] * x + query.b[i])) ** 2)
        for i in range(n)
    )
    interference = tuple(
        sympy.expand(
            query.importance[j]
            * sympy.Add(*(act(G[j, i] * x + query.b[j]) ** 2 for i in range(n) if i != j))
        )
        for j in range(n)
    )
    return Anatomy(benefit, interference)


@dataclass(frozen=True)
class CandidateValues:
    """The anatomy of each candidate solution evaluated on densities (plain arrays)."""

    names: tuple[str, ...]
    phases: tuple[str, ...]
    benefit: np.ndarray  # [candidate, density]
    interference: np.ndarray  # [candidate, density]
    weighted: np.ndarray  # [candidate, k, density]: p^k (1 - p)^(n - k) L_k


def candidate_anatomy_values(n_features: int, importance: float, density) -> CandidateValues:
    """Feature benefit, interference (1-sparse, ``x_i = 1``) and the weighted terms
    ``p^k (1 - p)^(n - k) L_k`` of every candidate of ``n_features`` at relative importance
    ``importance``, on the densities ``density [D]``."""
    from .candidate_solutions import candidates, importances
    from .symbols import p, r

    density = np.asarray(density, float)
    weights = importances(n_features)
    n = n_features

    def curve(expr) -> np.ndarray:
        f = sympy.lambdify(p, sympy.sympify(expr).subs(r, importance), "numpy")
        return np.broadcast_to(np.asarray(f(density), float), density.shape).copy()

    names, phases, benefit, interference, weighted = [], [], [], [], []
    for c in candidates(n_features):
        found = one_sparse_anatomy(c.W, c.b, weights)
        terms = loss_by_sparsity(c.W, c.b, weights).terms
        names.append(c.name)
        phases.append(c.phase)
        benefit.append(curve(found.benefit_total))
        interference.append(curve(found.interference_total))
        weighted.append([curve(p**k * (1 - p) ** (n - k) * t) for k, t in enumerate(terms)])
    return CandidateValues(
        tuple(names),
        tuple(phases),
        np.array(benefit),
        np.array(interference),
        np.array(weighted),
    )
