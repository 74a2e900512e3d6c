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
On disk an expression is a JSON tree (``analytics.stored_expressions``) rebuilt node by
node from a fixed table, never text handed to a parser that evaluates Python: the cache
folder may be writable by others, and whatever is in an entry must not run.  An entry
that does not decode (tampered, corrupt, truncated, from another version) is a miss: the
loss is derived again and the entry overwritten.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import sympy

from toymodels.errors import ConfigError, unknown_name

from . import _cache, inputs, stored_expressions
from ._cube_integrals import Piecewise1D, horner, lincomb, moment
from .symbols import SYMBOLS, p

# Bump when the derivation or the stored form changes: old cache entries become misses.
# 2: expressions stored as JSON trees (1 stored sympy text, read with a parser that runs
# Python).
FORMAT_VERSION = 2
# 2^n patterns, each integrated over a cube of up to n dimensions with up to 2^n knots:
# beyond 4 features the expressions stop being useful to read (and torch has the numbers).
MAX_FEATURES = 4
DERIVED_FAMILIES = ("relu", "linear")
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
        if family not in DERIVED_FAMILIES:
            raise unknown_name("model family", str(family), DERIVED_FAMILIES)
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
            # is_negative also catches an expression negative for every r > 0, like -r
            if v.is_negative:
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
    stored = _cache.read_entry("loss", key)
    found = from_stored(stored)
    if found is not None:
        expr, derived = found
        _MEMORY[key] = (expr, derived)
        return LossDerivation(expr, time.perf_counter() - start, derived, "disk")
    expr = derive_expression(query)
    derived = time.perf_counter() - start
    _MEMORY[key] = (expr, derived)
    tree = stored_expressions.encode(expr)
    if tree is not None:  # an expression outside the stored table is just not cached
        _cache.write_entry("loss", key, {"loss": tree, "derived_seconds": derived})
    return LossDerivation(expr, derived, derived, "miss")


def from_stored(stored: dict | None) -> tuple[sympy.Expr, float] | None:
    """The loss and derivation time of a cache entry, or None for anything that is not
    exactly what :func:`derive_loss` writes (the caller then derives and overwrites)."""
    if stored is None:
        return None
    derived = stored.get("derived_seconds")
    if isinstance(derived, bool) or not isinstance(derived, int | float):
        return None
    if not (math.isfinite(derived) and derived >= 0):
        return None
    try:
        expr = stored_expressions.decode(stored.get("loss"))
    except stored_expressions.Undecodable:
        return None
    if not isinstance(expr, sympy.Expr) or not expr.free_symbols <= set(SYMBOLS.values()):
        return None
    if expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return None
    return expr, float(derived)


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


def _roots(expr: sympy.Expr, interval: sympy.Interval) -> list[sympy.Expr] | None:
    """Every root of ``expr`` in ``interval`` (inside [0, 1]), exact; None when sympy
    cannot list them.

    A polynomial in ``p**(1/L)`` with rational coefficients (``p**16 + sqrt(p) - 1/2``)
    becomes a polynomial in ``t = p**(1/L)`` whose real roots sympy isolates exactly and
    quickly; ``solveset`` on the same equation can run for minutes or fail.  Other forms
    (exp, log) go to ``solveset``.
    """
    powers = [a.exp for a in expr.atoms(sympy.Pow) if a.base == p]
    if all(e.is_Rational for e in powers):
        root = math.lcm(*(int(e.q) for e in powers)) if powers else 1
        t = sympy.Dummy("t", positive=True)
        in_t = sympy.expand(expr.subs(p, t**root)) if root > 1 else expr
        variable = t if root > 1 else p
        if in_t.is_polynomial(variable):
            poly = sympy.Poly(in_t, variable)
            if all(c.is_Rational for c in poly.coeffs()):
                # t -> t**root is increasing on [0, 1], so t's interval is p's
                found = [z**root for z in poly.real_roots()]
                return [z for z in set(found) if sympy.N(z, _DIGITS) in interval]
    try:
        found = sympy.solveset(expr, p, interval)
    except (TypeError, ValueError, NotImplementedError):
        return None
    if found is sympy.S.EmptySet:
        return []
    return list(found) if isinstance(found, sympy.FiniteSet) else None


def _crossings(bias: sympy.Expr, knot: Fraction) -> list[sympy.Expr]:
    """Densities in (0, 1) where ``bias(p)`` equals ``knot``."""
    num, den = sympy.fraction(
        sympy.together(bias - sympy.Rational(knot.numerator, knot.denominator))
    )
    if not num.has(p):
        return []
    roots = _roots(num, sympy.Interval.open(0, 1))
    if roots is None:
        raise ConfigError(
            f"b entry {bias} crosses a ReLU switching point at densities sympy cannot "
            "solve for; use a bias polynomial (or rational) in p"
        )
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
        # no pole at all (e.g. exp(p), the denominator of exp(-p)) is fine; a set sympy
        # cannot list is refused
        poles = _roots(den, sympy.Interval.Lopen(0, 1))
        if poles is None or poles:
            raise ConfigError(f"b[{i}]={bias} is not finite for every density in (0, 1]")
    for probe in (sympy.Rational(1, 997), sympy.Rational(1, 2), sympy.Integer(1)):
        value = sympy.N(bias.subs(p, probe), _DIGITS)
        if not (value.is_real and value.is_finite):
            raise ConfigError(f"b[{i}]={bias} is not real at p={probe}; biases must be real")


def output_terms(query: LossQuery) -> list[list[tuple[int, Piecewise1D]]]:
    """Every (output, pattern) integral of ``query`` (see :func:`_output_terms`)."""
    return _output_terms(query.gram(), query.family == "relu")


def derive_expression(query: LossQuery, size: int | None = None, terms=None) -> sympy.Expr:
    """The loss, or with ``size = k`` the unweighted sum ``L_k`` over the patterns with
    ``k`` active features (``terms``: :func:`output_terms`, passed to share them)."""
    terms = output_terms(query) if terms is None else terms

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
        _piece(query, terms, sympy.Rational(repr((lo + hi) / 2)), size)
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


def _piece(query: LossQuery, terms, probe: sympy.Rational, size: int | None) -> sympy.Expr:
    """The loss on the density interval containing ``probe`` (no bias crosses a knot
    inside it); with ``size = k`` only the patterns of ``k`` active features, each with
    weight 1 instead of its probability.  Polynomial biases go through ``sympy.Poly``
    arithmetic in ``p`` (fast); other expressions through plain sympy."""
    n = query.n_features
    by_importance: dict[sympy.Expr, sympy.Expr] = {}
    for i, bias in enumerate(query.b):
        weight = query.importance[i]
        if weight == 0:
            continue
        if bias.is_Rational:
            at = Fraction(int(bias.p), int(bias.q))
            value = lambda poly, at=at: sympy.Poly(_rational(horner(poly, at)), p)  # noqa: E731
        elif _rational_polynomial(bias):
            at = sympy.N(bias.subs(p, probe), _DIGITS)
            bias_poly = sympy.Poly(bias, p, domain="QQ")
            value = lambda poly, b=bias_poly: horner(  # noqa: E731
                tuple(sympy.Poly(_rational(c), p, domain="QQ") for c in poly), b
            )
        else:
            at = sympy.N(bias.subs(p, probe), _DIGITS)
            value = lambda poly, b=bias: horner(tuple(_rational(c) for c in poly), b)  # noqa: E731
        poly_part, expr_part = sympy.Poly(0, p, domain="QQ"), sympy.Integer(0)
        for k, h in terms[i]:
            if size is not None and k != size:
                continue
            v = value(h.pieces[h.piece_index(at)])
            weight_k = 1 if size is not None else p**k * (1 - p) ** (n - k)
            prob = sympy.Poly(weight_k, p, domain="QQ")
            if isinstance(v, sympy.Poly):
                poly_part = poly_part + prob * v
            else:
                expr_part = expr_part + prob.as_expr() * v
        total = poly_part.as_expr() + expr_part
        by_importance[weight] = by_importance.get(weight, 0) + total
    return sympy.expand(sum(w * sympy.expand(t) for w, t in by_importance.items()))


def _rational_polynomial(expr: sympy.Expr) -> bool:
    """A polynomial in ``p`` with rational coefficients: the fast exact paths (``Poly``
    over QQ, real roots by isolation) take only these; ``e*p - 1`` goes the general way."""
    return expr.is_polynomial(p) and all(c.is_Rational for c in sympy.Poly(expr, p).coeffs())


def _rational(v: Fraction) -> sympy.Rational:
    return sympy.Rational(v.numerator, v.denominator)
