"""The critical temperature of deterministic annealing: where the fully redundant solution
(every prototype at the data mean) stops being a minimum of the free energy.

Setting (the ``annealing`` task, ``toymodels.tasks.annealing``; Rose, "Deterministic
annealing for clustering, compression, classification, regression", Proc. IEEE 86(11),
1998, the phase transitions of clustering with squared distance): ``K``
prototypes ``w_k ∈ R^d``, data ``x`` from a Gaussian mixture with centres ``μ_c``,
isotropic standard deviation ``S`` and weights ``π_c``, responsibilities
``r_k(x) ∝ exp(−‖x − w_k‖²/τ)`` (this convention: ``/τ``, not ``/(2τ)``), and the loss is
the free energy ``F(w) = −τ·E_x log Σ_k exp(−‖x − w_k‖²/τ)``.

Why the mean is stationary for every τ: at ``w_k = μ̄ = Σ_c π_c μ_c`` every prototype is
equally far from every ``x``, so ``r_k = 1/K`` for every ``x`` and ``∂F/∂w_k =
−2·E[r_k (x − w_k)] = −(2/K)·E[x − μ̄] = 0``.

Why only ``Σ_x`` matters: at that point the responsibilities are constant, so each
second derivative of the log-sum-exp is a quadratic polynomial in ``x − μ̄``; its
expectation needs the data's mean and covariance only,
``Σ_x = Σ_c π_c (μ_c − μ̄)(μ_c − μ̄)ᵀ + S² I``, never the mixture's shape.  sympy derives
(:func:`derivation`) the Hessian block of prototypes ``k, j`` as

    H_kj = (2/K)·[δ_kj I − (2/τ)(δ_kj − 1/K) Σ_x],

i.e. ``H = (2/K)[I − (2/τ) P ⊗ Σ_x]`` with ``P = I − 11ᵀ/K`` the projector onto the
perturbations with ``Σ_k δw_k = 0``.  Moving every prototype together has curvature
``2/K > 0`` at every τ; a splitting perturbation ``(e_k − e_j) ⊗ q`` with
``Σ_x q = λ q`` has ``(2/K)(1 − 2λ/τ)``, which first crosses zero along the top
eigenvector, at

    τ_c = 2·λ_max(Σ_x).

Below τ_c the prototypes split along that eigenvector (``direction``).  Rose's
temperature ``T`` (Gibbs weights ``exp(−d(x, w)/T)``, ``d`` the squared distance) is this
τ, hence his ``T_c = 2λ_max``.  With the ``/(2τ)`` convention
(``r_k ∝ exp(−‖x − w_k‖²/(2τ))``, τ the variance of a Gaussian component as in EM) every
``τ`` above becomes ``2τ`` and the same derivation gives ``τ_c = λ_max(Σ_x)``.

The Hessian formula is exact on all of ``R^{K·d}``, translations included; the data's
mixture structure would only enter at higher order (where the prototypes have split).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from toymodels.errors import ConfigError, check_int, check_positive

# Exact (sympy) eigenvalues only for small covariances: the characteristic polynomial of a
# larger rational matrix and its roots get slow; above this the value comes from numpy.
EXACT_MAX_DIM = 3
# Likewise the exact covariance is a sum over centres; beyond this many the float path is
# used (the exact sum grows denominators and time linearly with the centres).
EXACT_MAX_CENTERS = 200
# Sizes accepted at all: the covariance is d x d (d = 1000 is 8 MB and an eigh of ~0.2 s;
# d = 30000, one JSON row on a command line, would be 7 GB) and the data a list of rows.
MAX_DIM = 1000
MAX_CENTERS = 100_000
# Eigenvalues within this (relative to λ_max) of λ_max are tied: the split direction is
# then any vector of that eigenspace and ``direction`` one of them.
EIGENVALUE_TIE = 1e-9

K, tau, lam = sp.symbols("K tau lambda", positive=True)
u1, u2 = sp.symbols("u_1 u_2", real=True)  # x − μ̄ in two coordinates
s11, s12, s22 = sp.symbols("Sigma_11 Sigma_12 Sigma_22", real=True)
delta_kj, delta_ab, sigma_ab = sp.symbols("delta_kj delta_ab Sigma_ab", real=True)
_W = sp.symbols("w_11 w_12 w_21 w_22", real=True)  # prototypes 1 and 2, two coordinates


@dataclass(frozen=True)
class AnnealingDerivation:
    """The derivation as sympy expressions (see :func:`derivation`)."""

    free_energy: sp.Expr  # per data point, prototypes 1, 2 free, K − 2 at the mean
    gradient: sp.Matrix  # E_x ∂F/∂w at the mean: zero
    hessian: sp.Matrix  # E_x ∂²F/∂w² at the mean, [w_11, w_12, w_21, w_22]
    entry: sp.Expr  # H_kj[a, b] in delta_kj, delta_ab, Sigma_ab, K, tau
    split_eigenvalue: sp.Expr  # on (e_k − e_j) ⊗ q, Σ_x q = λ q
    translation_eigenvalue: sp.Expr  # on 1 ⊗ q
    condition: sp.Eq  # split_eigenvalue = 0
    critical: sp.Expr  # its solution for tau, in lambda


def _moment(monomial: tuple[int, int]) -> sp.Expr:
    """``E[u_1^i u_2^j]`` of data with mean 0 and covariance ``[[s11, s12], [s12, s22]]``."""
    moments = {(0, 0): 1, (1, 0): 0, (0, 1): 0, (2, 0): s11, (1, 1): s12, (0, 2): s22}
    if monomial not in moments:
        raise AssertionError(f"moment {monomial} beyond the covariance: derivation broken")
    return sp.sympify(moments[monomial])


def _expectation(expr: sp.Expr) -> sp.Expr:
    # At the mean every exponential is 1, so ``cancel`` leaves a polynomial in u.
    poly = sp.Poly(sp.cancel(expr), u1, u2)
    return sp.factor(sum(c * _moment(m) for m, c in poly.terms()))


@cache
def derivation() -> AnnealingDerivation:
    """Derive the Hessian of the free energy at the redundant point and its instability.

    Generic in ``K`` and ``d`` without choosing either: the second derivatives involve at
    most two prototypes and two coordinates at once, and the prototypes and coordinates
    not differentiated enter only as constants.  So prototypes 1 and 2 move in two
    coordinates ``a, b`` (with ``μ̄ = 0``), the other ``K − 2`` stay at the mean (one lumped
    term ``(K − 2)·exp(−‖x‖²/τ)``), and the remaining coordinates add the same
    ``‖x‖²`` to every distance, a constant in ``F``.  By exchangeability every pair
    ``k ≠ j`` is the pair (1, 2) and every pair of coordinates is (1, 2).
    """
    w1, w2 = _W[:2], _W[2:]

    def dist(w):
        return (u1 - w[0]) ** 2 + (u2 - w[1]) ** 2

    # −τ log Σ_k e^{−‖u − w_k‖²/τ} with the common factor e^{−‖u‖²/τ} taken out of the sum
    # (the same function; at the mean every exponential is then e⁰ = 1, which keeps the
    # derivatives rational functions that sympy cancels quickly).
    def weight(w):
        return sp.exp(-sp.expand(dist(w) - dist((0, 0))) / tau)

    at_mean = dict.fromkeys(_W, 0)
    partition = weight(w1) + weight(w2) + (K - 2)
    free_energy = dist((0, 0)) - tau * sp.log(partition)
    gradient = sp.Matrix([free_energy]).jacobian(_W).subs(at_mean).T
    gradient = gradient.applyfunc(_expectation)
    hessian = sp.hessian(free_energy, _W).subs(at_mean).applyfunc(_expectation)

    # The claimed block form, checked entry by entry against the derived one.
    entry = (2 / K) * (delta_kj * delta_ab - (2 / tau) * (delta_kj - 1 / K) * sigma_ab)
    sigma = ((s11, s12), (s12, s22))
    claimed = sp.Matrix(
        4,
        4,
        lambda i, j: entry.subs(
            {
                delta_kj: int(i // 2 == j // 2),
                delta_ab: int(i % 2 == j % 2),
                sigma_ab: sigma[i % 2][j % 2],
            }
        ),
    )
    if (hessian - claimed).applyfunc(sp.cancel) != sp.zeros(4, 4):
        raise AssertionError("derived Hessian differs from the block formula")
    if gradient != sp.zeros(4, 1):
        raise AssertionError("the mean is not stationary: derivation broken")

    # Along an eigenvector q of Σ_x (Σ_ab -> λ, δ_ab -> 1) the block acts as the scalar
    # h(δ_kj).  Prototype classes: 1, 2 and "another" (K − 2 of them).
    def h(same: bool) -> sp.Expr:
        return entry.subs({delta_kj: int(same), delta_ab: 1, sigma_ab: lam})

    # Split (e_1 − e_2) ⊗ q: its image, over the prototypes (1, 2, any other), must be
    # split·(1, −1, 0).
    split = sp.factor(h(True) - h(False))
    image = sp.Matrix([h(True) - h(False), h(False) - h(True), h(False) - h(False)])
    if (image - split * sp.Matrix([1, -1, 0])).applyfunc(sp.cancel) != sp.zeros(3, 1):
        raise AssertionError("(e_1 - e_2) ⊗ q is not an eigenvector")
    # Translation 1 ⊗ q: row k gets h(same) + (K − 1)·h(other).
    translation = sp.factor(h(True) + (K - 1) * h(False))
    if sp.diff(split, lam).is_negative is not True:
        raise AssertionError("the split curvature must fall with λ (so λ_max decides)")
    condition = sp.Eq(split, 0)
    (critical,) = sp.solve(condition, tau)
    if sp.cancel(split.subs(tau, critical)) != 0:
        raise AssertionError("tau_c does not zero the split curvature")
    return AnnealingDerivation(
        free_energy=free_energy,
        gradient=gradient,
        hessian=hessian,
        entry=entry,
        split_eigenvalue=split,
        translation_eigenvalue=translation,
        condition=condition,
        critical=critical,
    )


@cache
def _numeric():
    d = derivation()
    return (
        sp.lambdify((lam,), d.critical, "numpy"),
        sp.lambdify((delta_kj, delta_ab, sigma_ab, K, tau), d.entry, "numpy"),
    )


@dataclass(frozen=True)
class CriticalTemperature:
    """``τ_c = 2 λ_max(Σ_x)`` for one mixture."""

    value: float
    latex: str  # the value: exact when ``exact``, else its float
    exact: str | None  # sympy's exact value (e.g. "109/50") when derived exactly
    covariance: np.ndarray  # [d, d] Σ_x
    direction: np.ndarray  # [d] unit top eigenvector: the axis the prototypes split along
    multiplicity: int  # eigenvalues tied with λ_max (> 1: direction is one of a subspace)


def _real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name}={value!r} is not a number; a finite real number is required")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range (JSON allows any length)
        digits = math.ceil(int(value).bit_length() * math.log10(2))
        raise ConfigError(
            f"{name} is an integer of ~{digits} digits, beyond the float range; "
            "a finite real number is required"
        ) from None
    if not math.isfinite(number):
        raise ConfigError(f"{name}={value!r} is not finite; a finite real number is required")
    return number


def _centers(centers) -> list[list]:
    example = "like [[1, 0], [-1, 0]] (one row per centre)"
    if isinstance(centers, np.ndarray):
        centers = centers.tolist()
    if (
        isinstance(centers, str | bytes)
        or not isinstance(centers, Sequence)
        or not centers
        or any(isinstance(row, str | bytes) or not isinstance(row, Sequence) for row in centers)
    ):
        raise ConfigError(f"centers={centers!r} must be a non-empty list of rows, {example}")
    if len(centers) > MAX_CENTERS:
        raise ConfigError(f"centers has {len(centers)} rows; at most {MAX_CENTERS}")
    widths = sorted({len(row) for row in centers})
    if len(widths) != 1 or widths[0] == 0:
        shown = repr(centers) if len(repr(centers)) <= 60 else repr(centers)[:57] + "..."
        raise ConfigError(
            f"centers={shown} has rows of lengths {widths}; every centre needs the same "
            "dimension >= 1"
        )
    if widths[0] > MAX_DIM:
        raise ConfigError(f"centers have dimension {widths[0]}; at most {MAX_DIM}")
    for i, row in enumerate(centers):
        for j, v in enumerate(row):
            _real(v, f"centers[{i}][{j}]")
    return [list(row) for row in centers]


def _weights(weights, n: int) -> list:
    if weights is None:
        return [1] * n
    if isinstance(weights, np.ndarray):
        weights = weights.tolist()
    if isinstance(weights, str | bytes) or not isinstance(weights, Sequence):
        raise ConfigError(f"weights={weights!r} must be a list of numbers, one per centre")
    if len(weights) != n:
        raise ConfigError(f"weights has {len(weights)} entries; there are {n} centres")
    for i, v in enumerate(weights):
        if _real(v, f"weights[{i}]") < 0:
            raise ConfigError(f"weights[{i}]={v!r} is negative; weights must be >= 0")
    total = sum(float(v) for v in weights)
    if total <= 0:
        raise ConfigError(f"weights={list(weights)!r} sum to 0; at least one must be > 0")
    if not math.isfinite(total):
        raise ConfigError("weights sum beyond the float range; rescale them (only ratios count)")
    return list(weights)


def _rational(value) -> sp.Rational:
    """The exact rational a number spells (``0.1 -> 1/10``, via its shortest repr)."""
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    return sp.Rational(repr(float(value)))


def _exact_covariance(centers, spread, weights) -> sp.Matrix:
    mu = sp.Matrix([[_rational(v) for v in row] for row in centers])
    pi = sp.Matrix([_rational(v) for v in weights])
    pi = pi / sum(pi)
    mean = pi.T * mu  # [1, d]
    diff = mu - sp.ones(mu.rows, 1) * mean
    between = diff.T * sp.diag(*pi) * diff
    return between + _rational(spread) ** 2 * sp.eye(mu.cols)


def _exact_top_eigenvalue(cov: sp.Matrix) -> sp.Expr:
    # Real roots of the characteristic polynomial, ascending: radicals where a rational
    # factor has degree <= 2, an exact CRootOf otherwise (cubics in three real roots have
    # no real radical form).
    roots = cov.charpoly().real_roots(radicals=True)
    return roots[-1]


def critical_temperature(
    centers: Sequence[Sequence[float]] | np.ndarray,  # [component, d]
    spread: float,
    weights: Sequence[float] | np.ndarray | None = None,  # [component]
) -> CriticalTemperature:
    """``τ_c = 2 λ_max(Σ_x)`` of the mixture with rows ``centers``, standard deviation
    ``spread`` and ``weights`` (equal by default, normalised), exact for ``d <= 3``."""
    rows = _centers(centers)
    spread = check_positive("spread", _real(spread, "spread"))
    pis = _weights(weights, len(rows))
    mu = np.asarray(rows, dtype=float)
    pi = np.asarray(pis, dtype=float)
    pi = pi / pi.sum()
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        diff = mu - pi @ mu
        # np.float64: a Python float's ** raises OverflowError instead of giving inf
        cov = (diff.T * pi) @ diff + np.float64(spread) ** 2 * np.eye(mu.shape[1])
    cov = (cov + cov.T) / 2
    if not np.all(np.isfinite(cov)):
        raise ConfigError(
            f"centers of magnitude up to {np.abs(mu).max():g} with spread {spread:g} overflow "
            "the covariance; rescale the data (tau_c scales with its square)"
        )
    eigvals, eigvecs = np.linalg.eigh(cov)
    top = float(eigvals[-1])
    direction = eigvecs[:, -1]
    # A sign convention so that equal inputs give equal outputs: largest entry positive.
    direction = direction * np.sign(direction[np.argmax(np.abs(direction))])
    multiplicity = int(np.sum(eigvals >= top - EIGENVALUE_TIE * abs(top)))
    critical = _numeric()[0]
    exact = None
    value = float(critical(top))
    if mu.shape[1] <= EXACT_MAX_DIM and mu.shape[0] <= EXACT_MAX_CENTERS:
        exact_cov = _exact_covariance(rows, spread, pis)
        exact = derivation().critical.subs(lam, _exact_top_eigenvalue(exact_cov))
        value = float(sp.N(exact, 17))
        cov = np.array(exact_cov.evalf(17).tolist(), dtype=float)
    return CriticalTemperature(
        value=value,
        latex=sp.latex(exact) if exact is not None else f"{value:.15g}",
        exact=str(exact) if exact is not None else None,
        covariance=cov,
        direction=direction,
        multiplicity=multiplicity,
    )


def stationary_hessian(covariance: np.ndarray, K: int, tau: float) -> np.ndarray:
    """The Hessian ``[K·d, K·d]`` of the free energy at the redundant point, from the derived
    block formula; rows and columns index ``w`` flattened as ``[prototype, d]``."""
    K = check_int("K", K, minimum=1)
    tau = check_positive("tau", tau)
    cov = np.asarray(covariance, dtype=float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or not np.all(np.isfinite(cov)):
        raise ConfigError(f"covariance of shape {cov.shape} must be a finite square matrix")
    d = cov.shape[0]
    same_proto = np.eye(K)[:, None, :, None]
    same_axis = np.eye(d)[None, :, None, :]
    block = _numeric()[1](same_proto, same_axis, cov[None, :, None, :], K, tau)
    return np.broadcast_to(block, (K, d, K, d)).reshape(K * d, K * d).copy()


def mixture_critical_temperature(data) -> float:
    """τ_c of a task config describing a Gaussian mixture (the ``clusters`` and
    ``annealing`` tasks' fields: centres, spread, weights)."""
    return critical_temperature(data.center_matrix(), data.spread, data.probabilities()).value
