"""The candidate theory's phase map, its transitions and boundary curves.

Paper, "Superposition as a Phase Change": the theory panel colours each (density,
importance) by the candidate with the lowest exact loss.  Where the argmin switches the
optimal loss has a kink (a first-order transition); :func:`transitions` solves for those
densities exactly (the losses are polynomials in ``p``) and gives the jump of
``d(optimal loss)/dp`` there.  Numeric maps go through one cached ``lambdify`` per loss.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy

from toymodels.errors import ConfigError

from . import inputs
from .candidate_solutions import candidates, check_n_features
from .symbols import p, r

# Relative tolerance for "both candidates of a pair are the argmin" on boundary samples:
# the pair's losses are equal there up to root-finding error (~1e-12 relative).
_ARGMIN_RTOL = 1e-9
# Boundary samples further apart than this (in decades, on either axis; at least five
# sample spacings) start a new curve.
_GAP_DECADES = 0.05


@cache
def _loss_functions(n_features: int) -> tuple:
    return tuple(sympy.lambdify((p, r), c.loss, "numpy") for c in candidates(n_features))


def candidate_losses(n_features: int, density, importance) -> np.ndarray:
    """Exact losses ``[candidate, *broadcast(density, importance).shape]``."""
    density = np.asarray(density, dtype=np.float64)
    importance = np.asarray(importance, dtype=np.float64)
    shape = np.broadcast_shapes(density.shape, importance.shape)
    return np.stack(
        [
            np.broadcast_to(np.asarray(f(density, importance), dtype=np.float64), shape)
            for f in _loss_functions(check_n_features(n_features))
        ]
    )


@dataclass(frozen=True)
class TheoryMap:
    density: np.ndarray  # [density]
    importance: np.ndarray  # [importance]
    names: tuple[str, ...]  # [candidate]
    winner: np.ndarray  # int [density, importance], index into names
    phase: np.ndarray  # str [density, importance], the winner's extra-feature phase
    losses: np.ndarray  # [candidate, density, importance]


def theory_map(n_features: int, density, importance) -> TheoryMap:
    """Argmin over the candidates on the grid ``density × importance``."""
    density = np.atleast_1d(np.asarray(density, dtype=np.float64))
    importance = np.atleast_1d(np.asarray(importance, dtype=np.float64))
    if density.ndim != 1 or importance.ndim != 1:
        raise ConfigError("density and importance must be 1-D lists of values")
    cands = candidates(n_features)
    losses = candidate_losses(n_features, density[:, None], importance[None, :])
    winner = np.argmin(losses, axis=0)
    phases = np.array([c.phase for c in cands])
    return TheoryMap(
        density=density,
        importance=importance,
        names=tuple(c.name for c in cands),
        winner=winner,
        phase=phases[winner],
        losses=losses,
    )


@dataclass(frozen=True)
class Transition:
    """Where the winning candidate changes along the density axis at fixed importance."""

    density: float
    density_exact: sympy.Expr  # an exact root in (0, 1)
    from_: str  # winner just below ``density``
    to: str  # winner just above ``density``
    slope_jump: float  # d(optimal loss)/dp just above minus just below
    slope_jump_exact: sympy.Expr
    slope_jump_expr: sympy.Expr  # d(L_to - L_from)/dp in p and r (before substituting)


def _exact_importance(value) -> sympy.Expr:
    value = inputs.exact(value, "importance")
    if value < 0:
        raise ConfigError(f"importance={value} is negative; it must be >= 0")
    return value


def transitions(n_features: int, importance) -> list[Transition]:
    """Every density in (0, 1) where the argmin candidate changes, at importance ``r``.

    Each pair's loss difference is a polynomial in ``p``: its real roots in (0, 1) are the
    only places the argmin can change; between consecutive roots the winner is decided
    by exact rational arithmetic at an interior point, and only roots where it really
    changes are kept.
    """
    cands = candidates(n_features)
    rv = _exact_importance(importance)
    polys = [sympy.Poly(sympy.expand(c.loss.subs(r, rv)), p) for c in cands]
    roots: dict[sympy.Expr, float] = {}
    for a, b in itertools.combinations(polys, 2):
        diff = a - b
        if diff.is_zero:
            continue
        for root in diff.real_roots():
            value = float(root.evalf(30))
            if 0.0 < value < 1.0:
                roots.setdefault(root, value)
    cuts = sorted(roots, key=roots.get)
    edges = [0.0, *(roots[c] for c in cuts), 1.0]

    def winner(lo: float, hi: float) -> int:
        probe = sympy.Rational(repr((lo + hi) / 2))
        values = [poly.eval(probe) for poly in polys]
        return min(range(len(values)), key=values.__getitem__)

    winners = [winner(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    out = []
    for j, cut in enumerate(cuts):
        below, above = winners[j], winners[j + 1]
        if below == above:
            continue
        expr = sympy.diff(cands[above].loss - cands[below].loss, p)
        exact = sympy.nsimplify(sympy.simplify(expr.subs(r, rv).subs(p, cut)))
        if not exact.is_Rational:
            exact = sympy.simplify(expr.subs(r, rv).subs(p, cut))
        out.append(
            Transition(
                density=roots[cut],
                density_exact=cut,
                from_=cands[below].name,
                to=cands[above].name,
                slope_jump=float(sympy.N(exact, 30)),
                slope_jump_exact=exact,
                slope_jump_expr=sympy.factor(expr),
            )
        )
    return out


@dataclass(frozen=True)
class BoundaryCurve:
    between: tuple[str, str]
    density: np.ndarray  # [points]
    importance: np.ndarray  # [points]


def _real_roots_in(coeffs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Real roots in [lo, hi] of the polynomial with coefficients (highest first)."""
    coeffs = np.trim_zeros(coeffs, "f")
    if coeffs.size < 2:
        return np.empty(0)
    roots = np.roots(coeffs)
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots.real))].real
    return real[(real >= lo) & (real <= hi)]


def _coefficient_functions(expr: sympy.Expr, var: sympy.Symbol, other: sympy.Symbol):
    coeffs = sympy.Poly(expr, var).all_coeffs()
    return [sympy.lambdify(other, c, "numpy") for c in coeffs]


def boundary_curves(
    n_features: int,
    density_range: tuple[float, float] = (0.01, 1.0),
    importance_range: tuple[float, float] = (0.1, 10.0),
    points: int = 400,
) -> list[BoundaryCurve]:
    """Curves in the (density, importance) plane where the argmin switches between two
    candidates, for drawing over phase maps with log axes.

    For every pair the equation ``L_a = L_b`` is solved exactly in ``r`` at ``points``
    log-spaced densities and in ``p`` at ``points`` log-spaced importances (so boundaries
    that are vertical or horizontal in either axis are both sampled); only solutions
    where the pair is the argmin of all candidates are kept.  Samples are split into
    curves where consecutive ones are more than ``_GAP_DECADES`` apart and ordered along
    each curve's principal direction in log coordinates.
    """
    cands = candidates(n_features)
    (p_lo, p_hi), (r_lo, r_hi) = density_range, importance_range
    if not (0 < p_lo < p_hi <= 1) or not (0 < r_lo < r_hi):
        raise ConfigError(
            f"density_range={density_range} must satisfy 0 < lo < hi <= 1 and "
            f"importance_range={importance_range} 0 < lo < hi"
        )
    dens = np.geomspace(p_lo, p_hi, points)
    imps = np.geomspace(r_lo, r_hi, points)
    spacing = max(np.log10(p_hi / p_lo), np.log10(r_hi / r_lo)) / max(points - 1, 1)
    gap = max(_GAP_DECADES, 5 * spacing)
    curves = []
    for ia, ib in itertools.combinations(range(len(cands)), 2):
        diff = sympy.expand(cands[ia].loss - cands[ib].loss)
        if diff == 0:
            continue
        samples = []
        if diff.has(r):
            funcs = _coefficient_functions(diff, r, p)
            for pv in dens:
                coeffs = np.array([float(f(pv)) for f in funcs])
                samples += [(pv, rv) for rv in _real_roots_in(coeffs, r_lo, r_hi)]
        if diff.has(p):
            funcs = _coefficient_functions(diff, p, r)
            for rv in imps:
                coeffs = np.array([float(f(rv)) for f in funcs])
                samples += [(pv, rv) for pv in _real_roots_in(coeffs, p_lo, p_hi)]
        if not samples:
            continue
        pts = np.array(samples)
        losses = candidate_losses(n_features, pts[:, 0], pts[:, 1])
        best = losses.min(axis=0)
        pair = np.maximum(losses[ia], losses[ib])
        keep = pair <= best + _ARGMIN_RTOL * np.maximum(np.abs(best), 1e-300)
        for segment in _split_curves(pts[keep], gap):
            curves.append(
                BoundaryCurve((cands[ia].name, cands[ib].name), segment[:, 0], segment[:, 1])
            )
    return curves


def _split_curves(pts: np.ndarray, gap: float) -> list[np.ndarray]:
    """Order samples along their principal direction (log space) and split at gaps."""
    if len(pts) < 2:
        return []
    logs = np.log10(pts)
    centred = logs - logs.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    order = np.argsort(centred @ axis, kind="stable")
    pts, logs = pts[order], logs[order]
    # the two sweeps can hit the same point
    fresh = np.concatenate([[True], np.abs(np.diff(logs, axis=0)).max(axis=1) > 1e-12])
    pts, logs = pts[fresh], logs[fresh]
    breaks = np.flatnonzero(np.abs(np.diff(logs, axis=0)).max(axis=1) > gap) + 1
    return [seg for seg in np.split(pts, breaks) if len(seg) >= 2]
