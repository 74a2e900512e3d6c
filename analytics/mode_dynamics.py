"""Closed-form learning dynamics of a two-layer linear pathway, mode by mode.

From small, balanced, aligned initial conditions, gradient descent on ½·Σ squared error
decouples into one scalar equation per mode α of the input–output correlation
``Σ_yx = Y Xᵀ/P`` (singular value ``s``, input variance ``d`` along its right singular
vector): ``τ da/dt = 2a(s − d·a)`` with ``τ = 1/(P·lr)`` epochs (Saxe, McClelland &
Ganguli 2014).  sympy solves it (a Bernoulli equation) for ``a(t)`` from ``a(0) = a₀``,
its asymptote ``s/d`` and its half-time (the time ``a`` reaches half the asymptote).

The network's loss along the way is ``(P/2)·[tr Σ_yy − Σ_α (2 s_α a_α − d_α a_α²)]``, exact
when every right singular vector is an input eigenvector (whitened inputs) and, with
one-hot inputs, the closed form's approximation (see ``toymodels.tasks.contextual.modes``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from toymodels.contextual_data import (
    DEFAULT_HIDDEN,
    DEFAULT_INIT_STD,
    ContextualConfig,
    config_modes,
)
from toymodels.correlation_modes import initial_strength
from toymodels.errors import ConfigError

from . import _cache, stored_expressions

t, s, d, a0, tau = sp.symbols("t s d a_0 tau", positive=True)


@dataclass(frozen=True)
class ModeSolution:
    """The solved mode equation as sympy expressions in ``t, s, d, a_0, tau``."""

    equation: sp.Eq
    a: sp.Expr
    asymptote: sp.Expr
    half_time: sp.Expr


# The symbols a stored solution may hold, by name (``stored_expressions`` refuses others).
SYMBOLS = {str(x): x for x in (t, s, d, a0, tau)}
# Names the cache entry: a new derivation or sympy version derives afresh.
_CACHE_KEY = f"mode solution v1, sympy {sp.__version__}"
_PARTS = ("a", "asymptote", "half_time")


_a = sp.Function("a")


def _equation() -> sp.Eq:
    return sp.Eq(tau * _a(t).diff(t), 2 * _a(t) * (s - d * _a(t)))


@cache
def mode_solution() -> ModeSolution:
    """Solve ``τ a' = 2a(s − d a)``, ``a(0) = a₀`` with sympy: the solution, its asymptote
    and half-time (taken from the disk cache, ``analytics._cache``, once derived: the solve
    takes ~9 s and is the same every time)."""
    stored = _cache.read_entry("modes", _CACHE_KEY)
    if stored is not None:
        try:
            parts = [stored_expressions.decode(stored.get(k), SYMBOLS) for k in _PARTS]
        except stored_expressions.Undecodable:
            parts = None
        if parts and all(
            isinstance(e, sp.Expr) and e.free_symbols <= {t, s, d, a0, tau} for e in parts
        ):
            return ModeSolution(_equation(), *parts)
    equation = _equation()
    (solution,) = [sp.dsolve(equation, _a(t), ics={_a(0): a0})]
    expr = sp.simplify(solution.rhs)
    asymptote = sp.limit(expr, t, sp.oo)
    (half,) = sp.solve(sp.Eq(expr, asymptote / 2), t)
    found = ModeSolution(equation, expr, sp.simplify(asymptote), sp.simplify(half))
    trees = {k: stored_expressions.encode(getattr(found, k), SYMBOLS) for k in _PARTS}
    if all(tree is not None for tree in trees.values()):
        _cache.write_entry("modes", _CACHE_KEY, trees)
    return found


@cache
def _numeric():
    sol = mode_solution()
    args = (t, s, d, a0, tau)
    # Written in the decaying exponential e^{-2st/τ}: the solved form, a ratio of growing
    # exponentials, overflows to inf/inf after a few hundred time constants.
    decay = sp.Symbol("decay", positive=True)
    stable = sp.cancel(sol.a.subs(sp.exp(2 * s * t / tau), 1 / decay))
    stable = stable.subs(decay, sp.exp(-2 * s * t / tau))
    return sp.lambdify(args, stable, "numpy"), sp.lambdify(args[1:], sol.half_time, "numpy")


def mode_strength(times, s_, d_, a0_, tau_) -> np.ndarray:
    """The solved ``a(t)`` at ``times`` (broadcast against the modes' ``s, d, a₀``)."""
    return _numeric()[0](np.asarray(times, dtype=float), s_, d_, a0_, tau_)


@dataclass(frozen=True)
class ModePrediction:
    """The closed form for every mode of one task and learning rate."""

    s: np.ndarray
    d: np.ndarray
    tau: float  # epochs
    a0: float
    samples: int
    target_power: float  # tr Σ_yy

    @property
    def asymptote(self) -> np.ndarray:
        return self.s / self.d

    @property
    def half_time(self) -> np.ndarray:
        return _numeric()[1](self.s, self.d, self.a0, self.tau)

    def strength(self, epochs) -> np.ndarray:
        """``a_α(t)`` at ``epochs`` (``[time, mode]``)."""
        times = np.asarray(epochs, dtype=float)[:, None]
        return mode_strength(times, self.s, self.d, self.a0, self.tau)

    def loss(self, epochs) -> np.ndarray:
        """The network's ½·Σ squared error along the closed form."""
        a = self.strength(epochs)
        gain = (2 * self.s * a - self.d * a**2).sum(-1)
        return 0.5 * self.samples * (self.target_power - gain)


def predict(
    config: ContextualConfig,
    lr: float,
    init_std: float = DEFAULT_INIT_STD,
    n_hidden: int = DEFAULT_HIDDEN,
) -> ModePrediction:
    """The closed form on the contextual task of ``config`` trained at ``lr``, from the
    initial strength ``a₀ = init_std²·n_hidden/2`` of that network's start."""
    found = config_modes(config)
    with np.errstate(over="ignore"):
        tau = 1.0 / (found.samples * lr) if lr > 0 else math.inf
    if not (math.isfinite(tau) and tau > 0):
        raise ConfigError(f"lr={lr:g} gives the time constant tau = {tau:g}; it must be finite")
    try:
        a0 = initial_strength(init_std, n_hidden)
    except OverflowError:
        a0 = math.inf
    # The closed form describes growth from a small start: a0 must be positive (not
    # underflowed to 0, where every half-time is infinite) and below every asymptote s/d
    # (above it a mode decays, and "half its asymptote" is never reached from below).
    asymptote = float(np.min(found.s / found.d))
    if not (0 < a0 < asymptote):
        raise ConfigError(
            f"init={init_std:g}, hidden={n_hidden} give the initial strength a0 = "
            f"init^2 * hidden / 2 = {a0:g}; it must be > 0 and below the smallest asymptote "
            f"s/d = {asymptote:.4g}"
        )
    return ModePrediction(found.s, found.d, tau, a0, found.samples, found.target_power)


def solution_latex() -> dict[str, str]:
    sol = mode_solution()
    return {
        "equation": sp.latex(sol.equation),
        "a": sp.latex(sol.a),
        "asymptote": sp.latex(sol.asymptote),
        "half_time": sp.latex(sol.half_time),
    }
