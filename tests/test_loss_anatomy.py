"""The loss's anatomy (``analytics.loss_anatomy``): the terms ``L_k`` by number of active
features against the total loss (symbolically) and Monte Carlo of the conditional loss;
the 1-sparse split into feature benefit and interference against hand values, against
``L_1`` (its integral over ``x_i``) and against the torch metric the families store."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
import sympy
import torch
from scipy.integrate import quad

import analytics.loss_anatomy as anatomy
from analytics import candidates, exact_loss, p, r
from analytics.candidate_solutions import importances
from toymodels import ModelConfig
from toymodels.families import FAMILIES
from toymodels.families.superposition import loss_anatomy

# Monte Carlo of each L_k: 2e5 points per pattern; the bound is in standard errors.
MC_POINTS = 200_000
MC_SIGMAS = 5.0
x = sympy.Symbol("x", positive=True)


@pytest.fixture(autouse=True)
def _fresh_memory(private_analytics_cache, monkeypatch):
    monkeypatch.setattr(anatomy, "_MEMORY", {})


def rational_model(rng, n, m):
    """W, b, importance as exact fractions with two decimals (so sympy sees rationals)."""
    W = [[Fraction(int(v), 100) for v in rng.integers(-150, 150, size=n)] for _ in range(m)]
    b = [Fraction(int(v), 100) for v in rng.integers(-40, 40, size=n)]
    importance = [Fraction(int(v), 100) for v in rng.integers(20, 200, size=n)]
    return W, b, importance


def total_equals(terms, loss) -> bool:
    return sympy.expand(terms.total() - loss) == 0


@pytest.mark.parametrize("n", [2, 3])
def test_weighted_terms_equal_every_candidates_loss(n):
    for c in candidates(n):
        terms = anatomy.loss_by_sparsity(c.W, c.b, importances(n))
        assert len(terms.terms) == n + 1
        assert total_equals(terms, c.loss), c.name


@pytest.mark.parametrize("family", ["relu", "linear"])
@pytest.mark.parametrize(("n", "m", "seed"), [(2, 1, 0), (3, 2, 1), (3, 1, 2), (4, 2, 3)])
def test_weighted_terms_equal_the_loss_for_random_rational_models(family, n, m, seed):
    W, b, importance = rational_model(np.random.default_rng(seed), n, m)
    terms = anatomy.loss_by_sparsity(W, b, importance, family)
    assert total_equals(terms, exact_loss(W, b, importance, family))
    # L_0: the loss on the zero input, a penalty on (positive, for ReLU) biases
    act = (lambda v: max(v, 0)) if family == "relu" else (lambda v: v)
    L0 = sum(i * act(v) ** 2 for i, v in zip(importance, b, strict=True))
    assert terms.terms[0] == sympy.Rational(L0.numerator, L0.denominator)
    assert all(not t.free_symbols for t in terms.terms)  # constant biases: numbers


def test_density_dependent_bias_gives_piecewise_terms_whose_sum_is_the_loss():
    W, _, importance = rational_model(np.random.default_rng(4), 3, 2)
    b = ["p/2 - 1/10", "p/2 - 3/10", "-p/4"]
    terms = anatomy.loss_by_sparsity(W, b, importance)
    loss = exact_loss(W, b, importance)
    assert any(isinstance(t, sympy.Piecewise) for t in terms.terms)
    # exact at rational densities inside every piece (the cuts are at p = 1/5 and 3/5)
    for density in (sympy.Rational(1, 100), sympy.Rational(1, 3), sympy.Rational(9, 10), 1):
        assert sympy.nsimplify(terms.total().subs(p, density) - loss.subs(p, density)) == 0
    L0 = sum(i * max(v, 0) ** 2 for i, v in zip(importance, (0.4, 0.2, 0), strict=True))
    assert float(terms.terms[0].subs(p, 1)) == pytest.approx(float(L0), rel=1e-12)


def mc_terms(W, b, importance, relu, rng) -> tuple[np.ndarray, np.ndarray]:
    """``L_k`` and its standard error by plain Monte Carlo of the loss given each pattern."""
    W, b, importance = (np.asarray(v, dtype=np.float64) for v in (W, b, importance))
    n = W.shape[1]
    G = W.T @ W
    value, var = np.zeros(n + 1), np.zeros(n + 1)
    for k in range(n + 1):
        for s in itertools.combinations(range(n), k):
            xs = np.zeros((MC_POINTS, n))
            xs[:, list(s)] = rng.uniform(size=(MC_POINTS, k))
            pre = b + xs @ G
            out = np.maximum(pre, 0.0) if relu else pre
            loss = ((xs - out) ** 2) @ importance
            value[k] += loss.mean()
            var[k] += loss.var() / MC_POINTS
    return value, np.sqrt(var)


@pytest.mark.parametrize("family", ["relu", "linear"])
@pytest.mark.parametrize(("n", "m", "seed"), [(2, 1, 5), (3, 2, 6), (4, 2, 7)])
def test_each_term_matches_monte_carlo_of_the_conditional_loss(family, n, m, seed):
    rng = np.random.default_rng(seed)
    W, b, importance = rational_model(rng, n, m)
    terms = anatomy.loss_by_sparsity(W, b, importance, family).terms
    value, error = mc_terms(W, b, importance, family == "relu", rng)
    for k in range(n + 1):
        assert float(terms[k]) == pytest.approx(value[k], abs=MC_SIGMAS * error[k] + 1e-12), k


def test_terms_are_cached_on_disk():
    W = [[1, Fraction(1, 2), 0], [0, 1, -1]]
    first = anatomy.loss_by_sparsity(W, [0, Fraction(-1, 10), 0])
    anatomy._MEMORY.clear()
    again = anatomy.loss_by_sparsity(W, [0, Fraction(-1, 10), 0])
    assert (first.cache, again.cache) == ("miss", "disk")
    assert again.terms == first.terms
    assert again.seconds < 1.0
    assert anatomy.loss_by_sparsity(W, [0, Fraction(-1, 10), 0]).cache == "memory"


# -- the 1-sparse anatomy ------------------------------------------------------------------
# (W, b, importance, family, benefit per feature, interference per feature) worked by hand
HAND = [
    # antipodal pair: each feature exactly represented, its interference -1 is free
    ([[1, -1]], None, None, "relu", [0, 0], [0, 0]),
    # ... but not for the linear model: (-1)^2 charged to each output
    ([[1, -1]], None, None, "linear", [0, 0], [1, 1]),
    # one feature dropped and answered by its mean: (1 - p/2)^2 and the bias p/2 leaking
    # into its output when the other is on
    ([[1, 0]], [0, "p/2"], [1, "r"], "relu", [0, r * (1 - p / 2) ** 2], [0, r * p**2 / 4]),
    # G = [[1.04, .7, -.12], [.7, 1.25, .75], [-.12, .75, .9]]:
    # benefit (1 - 1.14)^2, 2 (1 - 1.05)^2, .5 (1 - .9)^2; interference 1 (.8^2 + 0),
    # 2 (.5^2 + .55^2), .5 (0 + .75^2)
    (
        [[1, 0.5, -0.3], [0.2, 1, 0.9]],
        [0.1, -0.2, 0],
        [1, 2, 0.5],
        "relu",
        ["0.0196", "0.005", "0.005"],
        ["0.64", "1.105", "0.28125"],
    ),
    # the same in the linear model: negative interference costs too
    (
        [[1, 0.5, -0.3], [0.2, 1, 0.9]],
        [0.1, -0.2, 0],
        [1, 2, 0.5],
        "linear",
        ["0.0196", "0.005", "0.005"],
        ["0.6404", "1.105", "0.28845"],
    ),
]


@pytest.mark.parametrize(("W", "b", "importance", "family", "benefit", "interference"), HAND)
def test_anatomy_equals_hand_values(W, b, importance, family, benefit, interference):
    found = anatomy.one_sparse_anatomy(W, b, importance, family)
    exact = [sympy.nsimplify(v) if isinstance(v, str) else v for v in benefit + interference]
    got = [*found.benefit, *found.interference]
    assert all(sympy.simplify(g - e) == 0 for g, e in zip(got, exact, strict=True)), got
    n = len(benefit)
    assert sympy.simplify(found.benefit_total - sum(exact[:n])) == 0
    assert sympy.simplify(found.interference_total - sum(exact[n:])) == 0


@pytest.mark.parametrize("family", ["relu", "linear"])
@pytest.mark.parametrize(("n", "m", "seed"), [(2, 1, 8), (3, 2, 9), (4, 2, 10)])
def test_without_bias_L1_is_a_third_of_the_anatomy_at_one(family, n, m, seed):
    W, _, importance = rational_model(np.random.default_rng(seed), n, m)
    L1 = anatomy.loss_by_sparsity(W, None, importance, family).terms[1]
    found = anatomy.one_sparse_anatomy(W, None, importance, family)
    assert L1 == (found.benefit_total + found.interference_total) / 3


@pytest.mark.parametrize("family", ["relu", "linear"])
@pytest.mark.parametrize(("n", "m", "seed"), [(2, 1, 11), (3, 2, 12), (4, 3, 13)])
def test_L1_integrates_the_anatomy_over_the_active_value(family, n, m, seed):
    W, b, importance = rational_model(np.random.default_rng(seed), n, m)
    L1 = anatomy.loss_by_sparsity(W, b, importance, family).terms[1]
    found = anatomy.one_sparse_anatomy(W, b, importance, family, x=x)
    integrand = sympy.lambdify(x, found.benefit_total + found.interference_total)
    kinks = sorted(
        float(-bj / (Gji)) for Gji, bj in _slopes(W, b) if Gji != 0 and 0 < -bj / Gji < 1
    )
    value, _ = quad(integrand, 0, 1, points=kinks or None, epsabs=1e-13, epsrel=1e-13)
    assert float(L1) == pytest.approx(value, rel=1e-10, abs=1e-13)


def _slopes(W, b):
    G = np.asarray(W, dtype=object).T @ np.asarray(W, dtype=object)
    return [(G[j][i], b[j]) for j in range(len(b)) for i in range(len(b))]


@pytest.mark.parametrize("family", ["relu", "linear"])
def test_torch_metric_equals_the_exact_anatomy(family):
    rng = np.random.default_rng(14)
    models = [rational_model(rng, n, m) for n, m in ((3, 2),) * 4]
    W = torch.tensor(
        [[[float(v) for v in row] for row in w] for w, _, _ in models], dtype=torch.float64
    )
    b = torch.tensor([[float(v) for v in bb] for _, bb, _ in models], dtype=torch.float64)
    imp = torch.tensor([[float(v) for v in i] for _, _, i in models], dtype=torch.float64)
    got = loss_anatomy(W, b, imp, relu=family == "relu")
    for k, (w, bb, i) in enumerate(models):
        found = anatomy.one_sparse_anatomy(w, bb, i, family)
        assert got["feature_benefit"][k].item() == pytest.approx(
            float(found.benefit_total), rel=1e-12, abs=1e-14
        )
        assert got["interference_loss"][k].item() == pytest.approx(
            float(found.interference_total), rel=1e-12, abs=1e-14
        )


@pytest.mark.parametrize("family", ["relu", "linear"])
def test_families_store_the_two_totals_as_metrics(family):
    W, b, importance = rational_model(np.random.default_rng(15), 3, 2)
    config = ModelConfig.superposition(family, 3, 2, 0.1, tuple(float(v) for v in importance))
    model = FAMILIES[family]([config], [np.random.SeedSequence(0)], dtype=torch.float64)
    assert {"feature_benefit", "interference_loss"} <= set(model.metrics)
    with torch.no_grad():
        model.W.copy_(torch.tensor([[[float(v) for v in row] for row in W]]))
        model.b.copy_(torch.tensor([[float(v) for v in b]]))
    metrics = model.compute_metrics(None)
    found = anatomy.one_sparse_anatomy(W, b, importance, family)
    assert metrics["feature_benefit"].shape == (1,)
    assert metrics["feature_benefit"].item() == pytest.approx(float(found.benefit_total), rel=1e-6)
    assert metrics["interference_loss"].item() == pytest.approx(
        float(found.interference_total), rel=1e-6
    )


def test_a_sweep_records_the_two_totals_on_the_trajectory(tmp_path):
    import sweeps

    spec = sweeps.load_preset("anatomy-2to1").with_overrides(
        {"train.steps": 10, "train.record_every": 5, "seeds": 2, "axes.density.num": 2}
    )
    ds = sweeps.run(spec, tmp_path / "run")
    for name in ("feature_benefit", "interference_loss"):
        trajectory = ds[f"{name}_trajectory"]
        assert trajectory.dims == ("density", "seed", "step")
        assert list(trajectory["step"].values) == [0, 5, 10]
        # the last recorded step is the final model
        np.testing.assert_array_equal(trajectory.isel(step=-1).values, ds[name].values)
    # and the stored totals are those of the stored W and b
    W = torch.as_tensor(ds["W"].values.reshape(-1, 1, 2), dtype=torch.float64)
    b = torch.as_tensor(ds["b"].values.reshape(-1, 2), dtype=torch.float64)
    found = loss_anatomy(W, b, torch.ones_like(b), relu=True)
    np.testing.assert_allclose(
        ds["feature_benefit"].values.ravel(), found["feature_benefit"].numpy(), rtol=1e-5
    )
