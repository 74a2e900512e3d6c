"""The exact expected loss of any small superposition model, derived in closed form.

Paper, "The Mathematical Understanding" of superposition: for ``x' = act(Wᵀ W x + b)`` with
every feature independently non-zero with probability ``p`` and then Uniform[0, 1],

    L = Σ_s p^|s| (1 - p)^(n - |s|) Σ_i I_i E[(x_i - act(b_i + Σ_{j∈s} (W_i·W_j) x_j))²]

over the sparsity patterns ``s``.  Each expectation is integrated exactly over the cube of
the active features (``analytics._cube_integrals``: piecewise polynomials in the bias whose knots
sit where the ReLU switches).  A bias that depends on ``p`` moves across those knots, so
the loss is then piecewise in ``p`` (only pieces inside ``0 < p <= 1`` are kept).

Derived expressions are cached in memory and on disk (``analytics._cache``), keyed by the
canonical inputs and ``FORMAT_VERSION``, so a repeated query is instant in a new process.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from fractions import Fraction

import sympy
from sympy.parsing.sympy_parser import parse_expr

from toymodels.errors import ConfigError, unknown_name

from . import _cache, inputs
from ._cube_integrals import Piecewise1D, evaluate, lincomb, moment
from .symbols import SYMBOLS, p

# Bump when the derivation or the stored form changes: old cache entries become misses.
FORMAT_VERSION = 1
# 2^n patterns, each integrated over a cube of up to n dimensions with up to 2^n knots:
# beyond 4 features the expressions stop being useful to read (and torch has the numbers).
MAX_FEATURES = 4
FAMILIES = ("relu", "linear")
# Decimal digits used to order roots and to decide on which side of a knot a bias lies.
_DIGITS = 50

_MEMORY: dict[str, tuple[sympy.Expr, float]] = {}


@dataclass(frozen=True)
class LossQuery:
    """Canonical, exact inputs of one derivation (what the cache is keyed on)."""

    family: str
    W: sympy.ImmutableMatrix  # [hidden, feature]
    b: tuple[sympy.Expr, ...]  # numbers or expressions in p
    importance: tuple[sympy.Expr, ...]  # numbers or expressions in r

    @classmethod
    def build(cls, W, b=None, importance=None, family: str = "relu") -> LossQuery:
        if family not in FAMILIES:
            raise unknown_name("model family", str(family), FAMILIES)
        W = inputs.matrix(W)
        n = W.shape[1]
        if n > MAX_FEATURES:
            raise ConfigError(
                f"W has {n} columns (features); exact losses support at most {MAX_FEATURES}"
            )
        b = (0,) * n if b is None else b
        importance = (1,) * n if importance is None else importance
        b = inputs.vector(b, "b", n, ("p",))
        importance = inputs.vector(importance, "importance", n, ("r",))
        for i, v in enumerate(importance):
            if v.is_number and v < 0:
                raise ConfigError(f"importance[{i}]={v} is negative; importances must be >= 0")
        return cls(family, sympy.ImmutableMatrix(W), b, importance)

    @property
    def n_features(self) -> int:
        return self.W.shape[1]

    def key(self) -> str:
        return json.dumps(
            {
                "version": FORMAT_VERSION,
                "family": self.family,
                "W": [[sympy.srepr(v) for v in row] for row in self.W.tolist()],
                "b": [sympy.srepr(v) for v in self.b],
                "importance": [sympy.srepr(v) for v in self.importance],
            },
            sort_keys=True,
        )

    def gram(self) -> list[list[Fraction]]:
        """``W_i·W_j`` as exact rationals (they are the slopes the engine integrates)."""
        G = self.W.T * self.W
        out = []
        for i in range(self.n_features):
            row = []
            for j in range(self.n_features):
                v = sympy.expand(G[i, j])
                if not v.is_Rational:
                    v = sympy.nsimplify(sympy.radsimp(v))
                if not v.is_Rational:
                    raise ConfigError(
                        f"W_{i}·W_{j} = {G[i, j]} is irrational; exact losses need rational "
                        "dot products between columns of W (e.g. rational or decimal entries)"
                    )
                row.append(Fraction(int(v.p), int(v.q)))
            out.append(row)
        return out


@dataclass(frozen=True)
class LossDerivation:
    """A derived loss and what it cost."""

    expr: sympy.Expr
    seconds: float  # wall time of this call (derivation or cache lookup)
    derived_seconds: float  # wall time of the symbolic derivation that produced ``expr``
    cache: str  # "miss" (derived now), "memory" or "disk"


def exact_loss(W, b=None, importance=None, family: str = "relu") -> sympy.Expr:
    """The exact expected loss ``E Σ_i I_i (x_i - x'_i)²`` as a sympy expression in ``p``
    (and ``r`` when an importance uses it).  See :func:`derive_loss`."""
    return derive_loss(W, b, importance, family).expr


def derive_loss(W, b=None, importance=None, family: str = "relu") -> LossDerivation:
    """Derive (or fetch from cache) the exact expected loss of one model.

    ``W``: m×n (n <= 4) numbers, decimals taken as the exact rationals they spell; ``b``: n
    numbers or expressions in ``p`` (default 0); ``importance``: n numbers or expressions
    in ``r`` (default 1); ``family``: ``"relu"`` (``ReLU(WᵀWx + b)``) or ``"linear"``.
    """
    start = time.perf_counter()
    query = LossQuery.build(W, b, importance, family)
    key = query.key()
    if key in _MEMORY:
        expr, derived = _MEMORY[key]
        return LossDerivation(expr, time.perf_counter() - start, derived, "memory")
    stored = _cache.load("loss", key)
    expr = _parse_stored(stored)
    if expr is not None:
        derived = float(stored.get("derived_seconds", float("nan")))
        _MEMORY[key] = (expr, derived)
        return LossDerivation(expr, time.perf_counter() - start, derived, "disk")
    expr = _derive(query)
    derived = time.perf_counter() - start
    _MEMORY[key] = (expr, derived)
    _cache.store("loss", key, {"loss": str(expr), "derived_seconds": derived})
    return LossDerivation(expr, derived, derived, "miss")


def _parse_stored(stored: dict | None) -> sympy.Expr | None:
    if stored is None or not isinstance(stored.get("loss"), str):
        return None
    try:
        expr = parse_expr(stored["loss"], local_dict=dict(SYMBOLS))
    except Exception:  # noqa: BLE001 - any unreadable entry is a cache miss
        return None
    if not isinstance(expr, sympy.Expr) or not expr.free_symbols <= set(SYMBOLS.values()):
        return None
    return expr


# -- the derivation -----------------------------------------------------------------------
def _output_terms(gram: list[list[Fraction]], relu: bool) -> list[list[tuple[int, Piecewise1D]]]:
    """For each output ``i``: ``(|s|, h)`` per pattern ``s`` with
    ``h(u) = E[(x_i - act(u + Σ_{j∈s} G_ij x_j))²]`` as a piecewise polynomial in ``u``."""
    n = len(gram)
    out: list[list[tuple[int, Piecewise1D]]] = [[] for _ in range(n)]
    for k in range(n + 1):
        for s in itertools.combinations(range(n), k):
            for i in range(n):
                a = tuple(gram[i][j] for j in s)
                square = moment(a, None, relu)  # E[z²]
                if i in s:  # E[x_i²] - 2 E[x_i z] + E[z²], with E[x_i²] = 1/3
                    cross = moment(a, s.index(i), relu)
                    h = lincomb([(Fraction(1), square), (Fraction(-2), cross)], Fraction(1, 3))
                else:
                    h = square
                out[i].append((k, h))
    return out


def _crossings(bias: sympy.Expr, knot: Fraction) -> list[sympy.Expr]:
    """Densities in (0, 1) where ``bias(p)`` equals ``knot``."""
    num, den = sympy.fraction(
        sympy.together(bias - sympy.Rational(knot.numerator, knot.denominator))
    )
    if not num.has(p):
        return []
    if num.is_polynomial(p):
        roots = sympy.Poly(num, p).real_roots()
    else:
        found = sympy.solveset(num, p, sympy.Interval.open(0, 1))
        if found is sympy.S.EmptySet:
            return []
        if not isinstance(found, sympy.FiniteSet):
            raise ConfigError(
                f"b entry {bias} crosses a ReLU switching point at densities sympy cannot "
                "solve for; use a bias polynomial (or rational) in p"
            )
        roots = list(found)
    out = []
    for root in set(roots):
        value = sympy.N(root, _DIGITS)
        if value.is_real and 0 < value < 1 and sympy.N(den.subs(p, root), _DIGITS) != 0:
            out.append(root)
    return out


def _check_bias(i: int, bias: sympy.Expr) -> None:
    """A bias depending on ``p`` must be real and finite on all of (0, 1]."""
    num, den = sympy.fraction(sympy.together(bias))
    if den.has(p):
        if den.is_polynomial(p):
            poles = [z for z in sympy.Poly(den, p).real_roots() if 0 < z <= 1]
        else:
            poles = sympy.solveset(den, p, sympy.Interval.Lopen(0, 1))
            poles = list(poles) if isinstance(poles, sympy.FiniteSet) else [None]
        if poles:
            raise ConfigError(f"b[{i}]={bias} is not finite for every density in (0, 1]")
    for probe in (sympy.Rational(1, 997), sympy.Rational(1, 2), sympy.Integer(1)):
        value = sympy.N(bias.subs(p, probe), _DIGITS)
        if not (value.is_real and value.is_finite):
            raise ConfigError(f"b[{i}]={bias} is not real at p={probe}; biases must be real")


def _derive(query: LossQuery) -> sympy.Expr:
    terms = _output_terms(query.gram(), query.family == "relu")

    # Densities where some p-dependent bias crosses a knot of its output's integrals.
    breaks: dict[sympy.Expr, float] = {}
    for i, bias in enumerate(query.b):
        if bias.has(p):
            _check_bias(i, bias)
            for knot in {k for _, h in terms[i] for k in h.knots}:
                for root in _crossings(bias, knot):
                    breaks.setdefault(root, float(sympy.N(root, _DIGITS)))
    cuts = sorted(breaks, key=breaks.get)
    values = [0.0, *(breaks[c] for c in cuts), 1.0]

    pieces = [
        _piece(query, terms, sympy.Rational(repr((lo + hi) / 2)))
        for lo, hi in zip(values[:-1], values[1:], strict=True)
    ]

    # Merge neighbouring pieces that are the same expression (a knot crossed by a term
    # whose pieces agree, or a double root).
    merged: list[tuple[sympy.Expr, sympy.Expr | None]] = []
    for expr, cut in zip(pieces, [*cuts, None], strict=True):
        if merged and sympy.expand(merged[-1][0] - expr) == 0:
            merged[-1] = (merged[-1][0], cut)
        else:
            merged.append((expr, cut))
    if len(merged) == 1:
        return merged[0][0]
    return sympy.Piecewise(*[(expr, p < cut) for expr, cut in merged[:-1]], (merged[-1][0], True))


def _piece(query: LossQuery, terms, probe: sympy.Rational) -> sympy.Expr:
    """The loss on the density interval containing ``probe`` (no bias crosses a knot
    inside it).  Polynomial biases go through ``sympy.Poly`` arithmetic in ``p`` (fast);
    other expressions through plain sympy."""
    n = query.n_features
    by_importance: dict[sympy.Expr, sympy.Expr] = {}
    for i, bias in enumerate(query.b):
        weight = query.importance[i]
        if weight == 0:
            continue
        if bias.is_Rational:
            at = Fraction(int(bias.p), int(bias.q))
            value = lambda poly, at=at: sympy.Poly(_rational(evaluate(poly, at)), p)  # noqa: E731
        elif bias.is_polynomial(p):
            at = sympy.N(bias.subs(p, probe), _DIGITS)
            bias_poly = sympy.Poly(bias, p, domain="QQ")
            value = lambda poly, b=bias_poly: evaluate(  # noqa: E731
                tuple(sympy.Poly(_rational(c), p, domain="QQ") for c in poly), b
            )
        else:
            at = sympy.N(bias.subs(p, probe), _DIGITS)
            value = lambda poly, b=bias: evaluate(tuple(_rational(c) for c in poly), b)  # noqa: E731
        poly_part, expr_part = sympy.Poly(0, p, domain="QQ"), sympy.Integer(0)
        for k, h in terms[i]:
            v = value(h.pieces[h.piece_index(at)])
            prob = sympy.Poly(p**k * (1 - p) ** (n - k), p, domain="QQ")
            if isinstance(v, sympy.Poly):
                poly_part = poly_part + prob * v
            else:
                expr_part = expr_part + prob.as_expr() * v
        total = poly_part.as_expr() + expr_part
        by_importance[weight] = by_importance.get(weight, 0) + total
    return sympy.expand(sum(w * sympy.expand(t) for w, t in by_importance.items()))


def _rational(v: Fraction) -> sympy.Rational:
    return sympy.Rational(v.numerator, v.denominator)
