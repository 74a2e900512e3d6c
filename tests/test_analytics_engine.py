"""The exact-loss engine against independent numerics: scrambled-Sobol quadrature of the
cube integrals, toymodels' torch ``expected_loss``, and its own cache and input checks."""

import itertools
import json
import os

import numpy as np
import pytest
import sympy
import torch
from scipy.stats import qmc

import analytics.loss_derivation as engine
from analytics import derive_loss, exact_loss, p, r, stored_expressions
from toymodels import ModelConfig
from toymodels.errors import ConfigError
from toymodels.families import FAMILIES

# Scrambled Sobol with 2^17 points per sparsity pattern: the integrands are continuous
# with kinks (the ReLU), where QMC errors measured ~1e-5 relative; 1e-3 leaves margin.
QMC_LOG2_POINTS = 17
QMC_RTOL = 1e-3
# The engine is exact; torch evaluates the same closed form in float64.
TORCH_RTOL = 1e-10


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(engine, "_MEMORY", {})


def qmc_terms(W, b, importance, seed, relu=True) -> np.ndarray:
    """``[k]``: Σ over patterns s with |s| = k of Σ_i I_i E[(x_i - act(b_i + Σ_{j∈s} G_ij
    x_j))²], each cube integral by scrambled Sobol QMC."""
    W, b, importance = (np.asarray(v, dtype=np.float64) for v in (W, b, importance))
    n = W.shape[1]
    G = W.T @ W
    x_all = qmc.Sobol(d=n, scramble=True, seed=seed).random_base2(QMC_LOG2_POINTS)
    terms = np.zeros(n + 1)
    for k in range(n + 1):
        for s in itertools.combinations(range(n), k):
            x = np.zeros((len(x_all), n))
            x[:, list(s)] = x_all[:, :k]
            pre = b + x @ G.T  # G symmetric: column i is output i
            out = np.maximum(pre, 0.0) if relu else pre
            terms[k] += float(importance @ ((x - out) ** 2).mean(0))
    return terms


def qmc_loss(terms: np.ndarray, density: float) -> float:
    n = len(terms) - 1
    return float(sum(t * density**k * (1 - density) ** (n - k) for k, t in enumerate(terms)))


def random_model(rng, n, m):
    W = np.round(rng.normal(size=(m, n)), 2)
    b = np.round(rng.uniform(-0.4, 0.4, size=n), 2)
    importance = np.round(rng.uniform(0.2, 2.0, size=n), 2)
    return W, b, importance


@pytest.mark.parametrize(
    ("n", "m", "seed"), [(2, 1, 0), (2, 1, 1), (3, 2, 2), (3, 1, 3), (4, 2, 4), (4, 3, 5)]
)
def test_engine_matches_quasi_monte_carlo(n, m, seed):
    rng = np.random.default_rng(seed)
    W, b, importance = random_model(rng, n, m)
    # the last importance symbolic: checks that r is carried through the integration
    imp = [*importance[:-1].tolist(), "r"]
    loss = exact_loss(W.tolist(), b.tolist(), imp)
    assert loss.free_symbols == {p, r}
    f = sympy.lambdify((p, r), loss)
    terms = qmc_terms(W, b, importance, seed)
    for density in (0.03, 0.3, 1.0):
        assert f(density, importance[-1]) == pytest.approx(qmc_loss(terms, density), rel=QMC_RTOL)


@pytest.mark.parametrize(("n", "m", "seed"), [(2, 1, 6), (3, 2, 7), (4, 2, 8)])
def test_bias_depending_on_density_is_piecewise_and_matches_qmc(n, m, seed):
    rng = np.random.default_rng(seed)
    W, _, importance = random_model(rng, n, m)
    # biases that cross zero (a ReLU switching point) inside (0, 1)
    b = [f"p/2 - {0.1 * (i + 1):.1f}" for i in range(n)]
    loss = exact_loss(W.tolist(), b, importance.tolist())
    assert isinstance(loss, sympy.Piecewise)
    f = sympy.lambdify(p, loss)
    # densities between the crossings (b_i = 0 at p = 0.2, 0.4, ...)
    for density in (0.05, 0.3, 0.7) if n == 4 else (0.05, 0.15, 0.35, 0.55, 0.9):
        b_num = np.array([density / 2 - 0.1 * (i + 1) for i in range(n)])
        expected = qmc_loss(qmc_terms(W, b_num, importance, seed), density)
        assert f(density) == pytest.approx(expected, rel=QMC_RTOL)
    # the pieces join continuously (the ReLU moments are continuous in the bias)
    for expr, cond in loss.args[:-1]:
        cut = cond.rhs
        nxt = loss.subs(p, cut + sympy.Rational(1, 10**12))
        assert float(expr.subs(p, cut)) == pytest.approx(float(nxt), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("family", ["relu", "linear"])
@pytest.mark.parametrize(("n", "m", "seed"), [(2, 1, 10), (3, 2, 11), (4, 3, 12)])
def test_engine_matches_torch_expected_loss(family, n, m, seed):
    rng = np.random.default_rng(seed)
    W, b, importance = random_model(rng, n, m)
    f = sympy.lambdify(p, exact_loss(W.tolist(), b.tolist(), importance.tolist(), family))
    densities = (0.02, 0.4, 1.0)
    configs = [ModelConfig.superposition(family, n, m, d, tuple(importance)) for d in densities]
    model = FAMILIES[family](configs, [np.random.SeedSequence(0)] * 3, dtype=torch.float64)
    with torch.no_grad():
        model.W.copy_(torch.as_tensor(W).expand(3, m, n))
        model.b.copy_(torch.as_tensor(b).expand(3, n))
        expected = model.expected_loss().numpy()
    got = np.array([f(d) for d in densities])
    np.testing.assert_allclose(got, expected, rtol=TORCH_RTOL)


def test_linear_family_matches_qmc():
    rng = np.random.default_rng(13)
    W, b, importance = random_model(rng, 3, 2)
    f = sympy.lambdify(p, exact_loss(W.tolist(), b.tolist(), importance.tolist(), "linear"))
    expected = qmc_loss(qmc_terms(W, b, importance, 13, relu=False), 0.2)
    assert f(0.2) == pytest.approx(expected, rel=QMC_RTOL)


def test_decimals_are_exact_rationals():
    a = exact_loss([[0.1, -0.3]], [0.05, 0], [1, 1])
    b = exact_loss([["1/10", "-3/10"]], ["1/20", 0], [1, 1])
    assert sympy.expand(a - b) == 0
    assert all(c.is_Rational for c in sympy.Poly(a, p).all_coeffs())


def test_derivation_is_cached_in_memory_and_on_disk(tmp_path):
    first = derive_loss([[1, -1, 0.5]], [0, 0, "p/4"], [1, 1, "r"])
    assert first.cache == "miss" and first.derived_seconds > 0
    again = derive_loss([[1, -1, 0.5]], [0, 0, "p/4"], [1, 1, "r"])
    assert again.cache == "memory" and again.expr == first.expr
    engine._MEMORY.clear()  # as in a new process
    disk = derive_loss([[1, -1, 0.5]], [0, 0, "p/4"], [1, 1, "r"])
    assert disk.cache == "disk" and sympy.simplify(disk.expr - first.expr) == 0
    assert disk.derived_seconds == pytest.approx(first.derived_seconds)
    files = list((tmp_path / "cache").rglob("*"))
    assert not [f for f in files if f.name.startswith(".tmp-")]  # atomic writes leave none


def test_corrupt_cache_file_is_ignored_and_rewritten(tmp_path):
    first = derive_loss([[1, 2]], None, None)
    (entry,) = (tmp_path / "cache" / "loss").glob("*.json")
    entry.write_text("{ not json")
    engine._MEMORY.clear()
    again = derive_loss([[1, 2]], None, None)
    assert again.cache == "miss" and again.expr == first.expr
    stored = json.loads(entry.read_text())["payload"]["loss"]
    assert stored == stored_expressions.encode(first.expr)  # overwritten with the tree
    assert stored_expressions.decode(stored) == first.expr
    # a readable file holding garbage for the expression is a miss as well
    data = json.loads(entry.read_text())
    data["payload"]["loss"] = "import os"
    entry.write_text(json.dumps(data))
    engine._MEMORY.clear()
    assert derive_loss([[1, 2]]).cache == "miss"


def test_unwritable_cache_folder_only_disables_the_disk_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(blocker / "sub"))
    assert derive_loss([[1, -1]]).expr == p**2 / 3
    assert os.path.isfile(blocker)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"W": [[1, "nan"]]}, "not finite"),
        ({"W": [[1, float("inf")]]}, "not finite"),
        ({"W": [[1, -1]], "b": [0, "q"]}, "unknown symbol"),
        ({"W": [[1, -1]], "b": [0, "r"]}, "unknown symbol"),
        ({"W": [[1, -1]], "importance": [1, "p"]}, "unknown symbol"),
        ({"W": [[1, -1]], "b": [0]}, "entries"),
        ({"W": [[1, -1], [1]]}, "same length"),
        ({"W": [[1, 1, 1, 1, 1]]}, "at most 4"),
        ({"W": [["sqrt(2)", 1]]}, "irrational"),
        ({"W": [[1, -1]], "importance": [1, -1]}, "negative"),
        ({"W": [[1, -1]], "b": ["1/(p - 1/2)", 0]}, "not finite"),
        ({"W": [[1, -1]], "family": "tanh"}, "unknown model family"),
        ({"W": [[1, -1]], "b": ["__import__('os')", 0]}, "characters"),
        ({"W": [[1, -1]], "b": ["exec", 0]}, "unknown symbol"),
    ],
)
def test_bad_inputs_raise_one_line_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message) as info:
        derive_loss(**kwargs)
    assert "\n" not in str(info.value)
