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

import importlib.metadata
import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from toymodels.contextual_data import (
    DEFAULT_HIDDEN,
    DEFAULT_INIT_STD,
    ContextualConfig,
    config_modes,
)
from toymodels.correlation_modes import initial_strength
from toymodels.errors import ConfigError
from toymodels.limits import LEARNING_RATE

from . import _cache, tree_numeric
from .tree_limits import Undecodable

if TYPE_CHECKING:
    import sympy as sp

# sympy is imported only where the solution is derived or decoded (``mode_solution``,
# ``_derived_numeric``, ``solution_latex`` on a cold cache): with the solution cached, the
# numbers (``predict``, ``mode_strength``, ``half_time``) come from its stored trees through
# ``tree_numeric`` and the LaTeX from its stored strings, so ``multitask train`` and
# ``analytic modes`` never pay the ~0.3 s sympy import.

# The symbols of the solution, by name, in the order its numeric functions take them.
NAMES = ("t", "s", "d", "a_0", "tau")
_SYMBOL_NAMES = {"t": "t", "s": "s", "d": "d", "a0": "a_0", "tau": "tau"}


@cache
def _symbols() -> dict:
    import sympy as sp

    return {name: sp.Symbol(name, positive=True) for name in NAMES}


def __getattr__(name: str):
    """The sympy symbols ``t, s, d, a0, tau`` and ``SYMBOLS`` (the symbols a stored
    solution may hold, by name), made on first use so importing this module stays
    sympy-free."""
    if name in _SYMBOL_NAMES:
        return _symbols()[_SYMBOL_NAMES[name]]
    if name == "SYMBOLS":
        return _symbols()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class ModeSolution:
    """The solved mode equation as sympy expressions in ``t, s, d, a_0, tau``."""

    equation: sp.Eq
    a: sp.Expr
    asymptote: sp.Expr
    half_time: sp.Expr


def _sympy_version() -> str:
    try:
        return importlib.metadata.version("sympy")  # without importing sympy
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# Names the cache entry: a new derivation or sympy version derives afresh.  v2 added the
# numerically stable ``a_stable`` and the LaTeX strings, which the sympy-free path reads.
_CACHE_VERSION = "mode solution v2"
_PARTS = ("a", "asymptote", "half_time")
_LATEX_PARTS = ("equation", *_PARTS)
# A stored LaTeX string is printed as it is (``analytic modes --json``): printable ASCII
# only (what ``sympy.latex`` writes for this solution; no control characters a tampered
# entry could send to a terminal) and short (the real ones are < 200 characters).
_LATEX_CHARS = frozenset(map(chr, range(0x20, 0x7F)))
_LATEX_MAX = 2000


@cache
def _cache_key() -> str:
    return f"{_CACHE_VERSION}, sympy {_sympy_version()}"


def _equation() -> sp.Eq:
    import sympy as sp

    x = _symbols()
    a = sp.Function("a")
    t = x["t"]
    return sp.Eq(x["tau"] * a(t).diff(t), 2 * a(t) * (x["s"] - x["d"] * a(t)))


def _stable_a(sol: ModeSolution) -> sp.Expr:
    """``a(t)`` written in the decaying exponential e^{-2st/τ}: the solved form, a ratio
    of growing exponentials, overflows to inf/inf after a few hundred time constants."""
    import sympy as sp

    x = _symbols()
    growth = sp.exp(2 * x["s"] * x["t"] / x["tau"])
    decay = sp.Symbol("decay", positive=True)
    stable = sp.cancel(sol.a.subs(growth, 1 / decay))
    return stable.subs(decay, 1 / growth)


def _store(sol: ModeSolution) -> dict | None:
    """Write the cache entry of ``sol``: its parts and ``a_stable`` as trees, and its
    LaTeX; the payload, or None when a part has no stored form (then nothing is written)."""
    import sympy as sp

    from . import stored_expressions

    exprs = {**{k: getattr(sol, k) for k in _PARTS}, "a_stable": _stable_a(sol)}
    # in the printers' order, so ``tree_numeric`` rounds as ``lambdify`` did before
    trees = {k: stored_expressions.encode(e, _symbols(), printed=True) for k, e in exprs.items()}
    if any(tree is None for tree in trees.values()):
        return None
    latex = {k: sp.latex(getattr(sol, k)) for k in _LATEX_PARTS}
    payload = {**trees, "latex": latex}
    _cache.write_entry("modes", _cache_key(), payload)
    return payload


@cache
def mode_solution() -> ModeSolution:
    """Solve ``τ a' = 2a(s − d a)``, ``a(0) = a₀`` with sympy: the solution, its asymptote
    and half-time (taken from the disk cache, ``analytics._cache``, once derived: the solve
    takes ~9 s and is the same every time)."""
    import sympy as sp

    from . import stored_expressions

    x = _symbols()
    stored = _cache.read_entry("modes", _cache_key())
    if stored is not None:
        try:
            parts = [stored_expressions.decode(stored.get(k), x) for k in _PARTS]
        except Undecodable:
            parts = None
        if parts and all(
            isinstance(e, sp.Expr) and e.free_symbols <= set(x.values()) for e in parts
        ):
            return ModeSolution(_equation(), *parts)
    equation = _equation()
    a, t = sp.Function("a"), x["t"]
    (solution,) = [sp.dsolve(equation, a(t), ics={a(0): x["a_0"]})]
    expr = sp.simplify(solution.rhs)
    asymptote = sp.limit(expr, t, sp.oo)
    (half,) = sp.solve(sp.Eq(expr, asymptote / 2), t)
    found = ModeSolution(equation, expr, sp.simplify(asymptote), sp.simplify(half))
    _store(found)
    return found


def _compiled(payload) -> tuple | None:
    """The numeric ``a(t, s, d, a0, tau)`` and ``half_time(s, d, a0, tau)`` of a cache
    payload's trees, or None when they are missing or refused."""
    if payload is None:
        return None
    try:
        a = tree_numeric.numeric(payload.get("a_stable"), NAMES)
        half = tree_numeric.numeric(payload.get("half_time"), NAMES[1:])
    except Undecodable:
        return None
    return a, half


def _derived_numeric() -> tuple:
    """The numeric solution from sympy: derived (or decoded) and written to the cache, so
    the next process reads it without sympy."""
    import sympy as sp

    sol = mode_solution()
    found = _compiled(_store(sol))
    if found is not None:
        return found
    # no stored form (never seen): lambdify, as before the cache held numeric trees
    x = _symbols()
    args = tuple(x[name] for name in NAMES)
    return (
        sp.lambdify(args, _stable_a(sol), "numpy"),
        sp.lambdify(args[1:], sol.half_time, "numpy"),
    )


@cache
def _numeric():
    """``a(t, s, d, a0, tau)`` (the stable form) and ``half_time(s, d, a0, tau)`` on numpy
    arrays: from the cached trees without sympy, else derived with it (and cached)."""
    return _compiled(_cache.read_entry("modes", _cache_key())) or _derived_numeric()


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
    # The rate networks are trained at (``limits.LEARNING_RATE``): within it, the time
    # constant 1/(P lr) and every half-time are finite and positive.
    lr = LEARNING_RATE.apply("lr", lr)
    found = config_modes(config)
    tau = 1.0 / (found.samples * lr)
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


def _stored_latex(payload) -> dict[str, str] | None:
    latex = (payload or {}).get("latex")
    if not isinstance(latex, dict) or set(latex) != set(_LATEX_PARTS):
        return None
    for text in latex.values():
        if not (isinstance(text, str) and len(text) <= _LATEX_MAX and set(text) <= _LATEX_CHARS):
            return None
    return {k: latex[k] for k in _LATEX_PARTS}


def solution_latex() -> dict[str, str]:
    """The solution's parts in LaTeX: from the cache without sympy, else printed by it."""
    stored = _stored_latex(_cache.read_entry("modes", _cache_key()))
    if stored is not None:
        return stored
    import sympy as sp

    sol = mode_solution()
    payload = _store(sol)
    return _stored_latex(payload) or {k: sp.latex(getattr(sol, k)) for k in _LATEX_PARTS}
