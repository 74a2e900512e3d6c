"""The mode solution's numbers without sympy: ``tree_numeric`` evaluates the cached trees
exactly as ``sympy.lambdify`` did, refuses a tampered tree (then the solution is derived
again and the cache rewritten), and a warm cache keeps sympy out of the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from analytics import _cache, mode_dynamics, stored_expressions, tree_numeric
from analytics.symbols import p, r
from analytics.tree_limits import TREE, Undecodable


def _grid():
    """Times from 0 to far past the naive form's overflow, over many modes."""
    rng = np.random.default_rng(0)
    times = np.concatenate([[0, 1e-3, 1, 10, 100, 1e3, 1e4, 1e6, 1e9], rng.uniform(0, 500, 40)])
    s = rng.uniform(0.01, 5, 30)
    d = rng.uniform(0.05, 3, 30)
    a0 = rng.uniform(1e-8, 1e-2, 30) * s / d
    tau = rng.uniform(0.1, 1e3, 30)
    return times[:, None], s, d, a0, tau


@pytest.fixture
def stored():
    """The cached payload (derived once per session into the private cache)."""
    mode_dynamics._numeric()
    payload = _cache.read_entry("modes", mode_dynamics._cache_key())
    assert payload is not None and {"a_stable", "half_time", "latex"} <= set(payload)
    return payload


def test_cached_trees_evaluate_as_lambdify_did(stored):
    sol = mode_dynamics.mode_solution()
    x = mode_dynamics.SYMBOLS
    args = [x[n] for n in mode_dynamics.NAMES]
    grid = _grid()
    a = tree_numeric.numeric(stored["a_stable"], mode_dynamics.NAMES)(*grid)
    lambdified = sp.lambdify(args, mode_dynamics._stable_a(sol), "numpy")(*grid)
    # the trees list terms and factors in the printer's order: equal to the last bit
    np.testing.assert_array_equal(a, lambdified)
    half = tree_numeric.numeric(stored["half_time"], mode_dynamics.NAMES[1:])(*grid[1:])
    np.testing.assert_array_equal(half, sp.lambdify(args[1:], sol.half_time, "numpy")(*grid[1:]))
    # the stable form is the solution: equal to the naive one where that does not overflow,
    # finite at the asymptote where it does
    with np.errstate(over="ignore", invalid="ignore"):
        naive = sp.lambdify(args, sol.a, "numpy")(*grid)
    assert np.isnan(naive).any() and np.isfinite(a).all()
    fine = np.isfinite(naive)
    np.testing.assert_allclose(a[fine], naive[fine], rtol=1e-12)
    np.testing.assert_allclose(a[8], grid[1] / grid[2], rtol=1e-12)  # t = 1e9: the asymptote
    # what the package uses is the evaluator's
    np.testing.assert_array_equal(mode_dynamics.mode_strength(*grid), a)


@pytest.mark.parametrize(
    "expr",
    [
        p**2 * r / 3 - sp.sqrt(p) + sp.Rational(5, 7) * sp.exp(-r / p),
        sp.log(1 + p) / (p * r**3) - 1 / sp.sqrt(r) + sp.pi * p ** sp.Rational(3, 2),
        sp.Piecewise((p * r, p < r), (sp.E * p - r, p <= 2 * r), (1 / p, True)),
    ],
)
def test_evaluator_equals_lambdify_on_other_kinds(expr):
    tree = stored_expressions.encode(expr, printed=True)
    assert tree is not None
    grid = np.linspace(0.05, 3, 37)[:, None], np.linspace(0.1, 2, 11)
    found = tree_numeric.numeric(tree, ("p", "r"))(*grid)
    np.testing.assert_allclose(found, sp.lambdify((p, r), expr, "numpy")(*grid), rtol=1e-13)
    # a tree in sympy's own argument order evaluates to the same within rounding
    plain = tree_numeric.numeric(stored_expressions.encode(expr), ("p", "r"))(*grid)
    np.testing.assert_allclose(plain, found, rtol=1e-12)


def _deep(n: int) -> list:
    tree = ["symbol", "s"]
    for _ in range(n):
        tree = ["exp", tree]
    return tree


@pytest.mark.parametrize(
    ("tree", "match"),
    [
        (["call", ["symbol", "s"]], "no numeric form"),
        (["rootof", ["1", "0", "-2"], 0], "no numeric form"),
        (["symbol", "__import__"], "unknown symbol"),
        (_deep(TREE.depth + 1), "deeper"),
        (["add", ["symbol", "s"]], "two or more"),
        (["pow", ["symbol", "s"], ["symbol", "d"]], "exponent must be"),
        (["pow", ["symbol", "s"], ["int", str(10**9)]], "exponents must be"),
        (["int", "9" * 400], "OverflowError"),
        (["<", ["symbol", "s"], ["symbol", "d"]], "value, not a condition"),
        (["add", ["true"], ["symbol", "s"]], "needs an expression"),
        ("s*d", "a node must be"),
    ],
)
def test_tampered_trees_are_refused(tree, match):
    with pytest.raises(Undecodable, match=match):
        tree_numeric.numeric(tree, mode_dynamics.NAMES)


def _fresh_memory():
    for fn in (mode_dynamics._numeric, mode_dynamics.mode_solution):
        fn.cache_clear()


def test_a_tampered_entry_is_derived_again_and_rewritten(stored):
    key = mode_dynamics._cache_key()
    grid = _grid()
    good = mode_dynamics.mode_strength(*grid)
    try:
        for bad in (_deep(TREE.depth + 1), ["system", ["symbol", "t"]]):
            _cache.write_entry("modes", key, {**stored, "a_stable": bad})
            _fresh_memory()
            np.testing.assert_array_equal(mode_dynamics.mode_strength(*grid), good)
            assert _cache.read_entry("modes", key)["a_stable"] == stored["a_stable"]
        # a LaTeX string with a control character is printed again by sympy
        latex = {**stored["latex"], "a": "\x1b[2Jx"}
        _cache.write_entry("modes", key, {**stored, "latex": latex})
        _fresh_memory()
        assert mode_dynamics.solution_latex() == stored["latex"]
        assert _cache.read_entry("modes", key)["latex"] == stored["latex"]
    finally:
        _cache.write_entry("modes", key, stored)
        _fresh_memory()


_WARM_USE = """
import sys
from analytics.mode_dynamics import predict, solution_latex
from analytics.reln_theory import predict_reln
from toymodels.contextual_data import ContextualConfig
found = predict(ContextualConfig(), 0.01)
values = [*found.half_time, *found.loss([0, 100, 10**6]), *found.strength([50])[0]]
values += list(predict_reln(ContextualConfig(), 0.01).loss([0, 100]))
print(len(solution_latex()["a"]), all(v == v for v in values), "sympy" in sys.modules)
"""


def test_a_warm_cache_keeps_sympy_out(stored, tmp_path):
    env = {**os.environ, _cache.ENV_VAR: str(tmp_path)}
    key = mode_dynamics._cache_key()

    def run(payload) -> str:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(_cache.ENV_VAR, str(tmp_path))
            _cache.write_entry("modes", key, payload)
        done = subprocess.run(
            [sys.executable, "-c", _WARM_USE], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    latex_chars = str(len(stored["latex"]["a"]))
    assert run(stored) == [latex_chars, "True", "False"]
    # the same use on an entry whose numeric tree is refused needs sympy (to re-derive)
    assert run({**stored, "a_stable": ["unknown"]}) == [latex_chars, "True", "True"]
    rewritten = json.loads(next((tmp_path / "modes").glob("*.json")).read_text())
    assert rewritten["payload"]["a_stable"] == stored["a_stable"]
