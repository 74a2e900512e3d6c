"""Exact integrals over the unit cube of a ReLU of a linear form, as piecewise polynomials.

For ``x`` uniform on ``[0, 1]^k`` and rational coefficients ``a`` we need, as functions of
the offset ``u`` (the bias), ``E[relu(u + a·x)^2]`` and ``E[x_j relu(u + a·x)]`` (and the
same without the ReLU for the linear control).  Both are piecewise polynomials in ``u``
whose knots sit at minus the subset sums of ``a`` (a B-spline).  We integrate one
coordinate at a time: substituting ``u -> u + a_t x_t`` in a piecewise polynomial and
integrating ``x_t`` over ``[0, 1]`` splits the interval where ``u + a_t x_t`` crosses a
knot, so every new piece is an integral of a polynomial between bounds linear in ``u``,
done exactly in rational arithmetic (``fractions.Fraction``; sympy only sees the result).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from math import comb

Poly = tuple[Fraction, ...]  # coefficients of u^0, u^1, ... (no trailing zeros)


def _trim(c: list[Fraction]) -> Poly:
    while c and c[-1] == 0:
        c.pop()
    return tuple(c)


def _add(a: Sequence[Fraction], b: Sequence[Fraction]) -> list[Fraction]:
    out = [Fraction(0)] * max(len(a), len(b))
    for i, v in enumerate(a):
        out[i] += v
    for i, v in enumerate(b):
        out[i] += v
    return out


def _mul(a: Sequence[Fraction], b: Sequence[Fraction]) -> list[Fraction]:
    if not a or not b:
        return []
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


def _pow(a: Sequence[Fraction], e: int) -> list[Fraction]:
    out: list[Fraction] = [Fraction(1)]
    for _ in range(e):
        out = _mul(out, a)
    return out


def horner(poly: Poly, u):
    """Horner evaluation; works for Fractions, floats and sympy expressions alike."""
    acc = 0
    for c in reversed(poly):
        acc = acc * u + c
    return acc


@dataclass(frozen=True)
class Piecewise1D:
    """A piecewise polynomial in ``u``: ``pieces[j]`` holds on ``(knots[j-1], knots[j])``
    (with ``knots[-1] = -inf`` and ``knots[len] = +inf``).  Continuous in our uses, so the
    value at a knot does not matter."""

    knots: tuple[Fraction, ...]
    pieces: tuple[Poly, ...]

    def piece_index(self, u) -> int:
        """Index of the piece containing ``u`` (anything comparable with Fractions)."""
        return sum(1 for k in self.knots if u > k)

    def __call__(self, u: Fraction) -> Fraction:
        return horner(self.pieces[self.piece_index(u)], u)


def _inside(left: Fraction | None, right: Fraction | None) -> Fraction:
    """A point strictly between two knots (``None``: unbounded on that side)."""
    if left is None:
        return Fraction(0) if right is None else right - 1
    return left + 1 if right is None else (left + right) / 2


def _merge(knots: list[Fraction], pieces: list[Poly]) -> Piecewise1D:
    """Drop knots between identical pieces."""
    out_k: list[Fraction] = []
    out_p: list[Poly] = [pieces[0]]
    for k, piece in zip(knots, pieces[1:], strict=True):
        if piece == out_p[-1]:
            continue
        out_k.append(k)
        out_p.append(piece)
    return Piecewise1D(tuple(out_k), tuple(out_p))


def _integrate_piece(poly: Poly, a: Fraction, e: int, lo: Poly, hi: Poly) -> list[Fraction]:
    """``∫_lo^hi x^e poly(u + a x) dx`` with ``lo``, ``hi`` polynomials (linear) in ``u``."""
    top = len(poly) + e  # highest power of x after integrating
    diff = [[]]  # diff[q] = hi^q - lo^q
    hi_pow, lo_pow = [Fraction(1)], [Fraction(1)]
    for _ in range(top):
        hi_pow, lo_pow = _mul(hi_pow, hi), _mul(lo_pow, lo)
        diff.append(_add(hi_pow, [-v for v in lo_pow]))
    out = [Fraction(0)] * (top + 1)
    for d, c in enumerate(poly):
        if not c:
            continue
        # (u + a x)^d = Σ_t C(d, t) u^(d-t) a^t x^t, and ∫ x^(t+e) = x^q / q
        a_t = Fraction(1)
        for t in range(d + 1):
            q = t + e + 1
            coef = c * comb(d, t) * a_t / q
            a_t *= a
            if coef:
                for k, v in enumerate(diff[q]):
                    if v:
                        out[d - t + k] += coef * v
    return out


def integrate_step(f: Piecewise1D, a: Fraction, e: int) -> Piecewise1D:
    """``g(u) = ∫_0^1 x^e f(u + a x) dx``, again piecewise polynomial in ``u``."""
    if a == 0:
        return Piecewise1D(f.knots, tuple(tuple(c / (e + 1) for c in p) for p in f.pieces))
    new_knots = sorted(set(f.knots) | {k - a for k in f.knots})
    bounds = [None, *f.knots, None]  # None = -inf (first) / +inf (last)
    pieces: list[Poly] = []
    edges = [None, *new_knots, None]
    for left, right in zip(edges[:-1], edges[1:], strict=True):
        # A point strictly inside this u-interval fixes the order of every bound below.
        um = _inside(left, right)
        total: list[Fraction] = []
        for j, poly in enumerate(f.pieces):
            if not poly:
                continue
            # x where u + a x lies in (bounds[j], bounds[j+1]): bound (k - u) / a each side
            ends = []
            for k in (bounds[j], bounds[j + 1]):
                if k is None:
                    ends.append(None)
                else:
                    ends.append(((k - um) / a, (k / a, -1 / a)))
            lo_end, hi_end = (ends[0], ends[1]) if a > 0 else (ends[1], ends[0])
            # clamp to [0, 1]: pick the active bound at um
            lo_val, lo_poly = Fraction(0), (Fraction(0),)
            if lo_end is not None and lo_end[0] > 0:
                lo_val, lo_poly = lo_end
            hi_val, hi_poly = Fraction(1), (Fraction(1),)
            if hi_end is not None and hi_end[0] < 1:
                hi_val, hi_poly = hi_end
            if hi_val <= lo_val:
                continue
            total = _add(total, _integrate_piece(poly, a, e, lo_poly, hi_poly))
        pieces.append(_trim(total))
    return _merge(new_knots, pieces)


def _base(power: int, relu: bool) -> Piecewise1D:
    q: Poly = tuple([Fraction(0)] * power + [Fraction(1)])
    if not relu:
        return Piecewise1D((), (q,))
    return Piecewise1D((Fraction(0),), ((), q))


@cache
def moment(coeffs: tuple[Fraction, ...], weighted: int | None, relu: bool) -> Piecewise1D:
    """As a function of the offset ``u``, with ``z = act(u + coeffs·x)``:
    ``E[z^2]`` when ``weighted`` is None, else ``E[x_weighted · z]`` (x uniform on the cube).

    ``act`` is the ReLU or (``relu=False``) the identity.  Exact, rational knots and
    coefficients.
    """
    if weighted is None:
        f = _base(2, relu)
        order = list(range(len(coeffs)))
    else:
        f = _base(1, relu)
        # integrate the weighted coordinate first so that only u is ever left over
        order = [weighted] + [j for j in range(len(coeffs)) if j != weighted]
    for step, j in enumerate(order):
        f = integrate_step(f, coeffs[j], 1 if (weighted is not None and step == 0) else 0)
    return f


def lincomb(terms: Sequence[tuple[Fraction, Piecewise1D]], constant: Fraction = Fraction(0)):
    """``constant + Σ c_t f_t`` as one piecewise polynomial (knots: the union)."""
    knots = sorted({k for _, f in terms for k in f.knots})
    edges = [None, *knots, None]
    pieces: list[Poly] = []
    for left, right in zip(edges[:-1], edges[1:], strict=True):
        um = _inside(left, right)
        total: list[Fraction] = [constant]
        for c, f in terms:
            total = _add(total, [c * v for v in f.pieces[f.piece_index(um)]])
        pieces.append(_trim(total))
    return _merge(knots, pieces)
