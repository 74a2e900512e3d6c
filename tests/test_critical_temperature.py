"""Deterministic annealing's critical temperature (``analytics.annealing_theory``) against
an independent numerical Hessian of the free energy, hand-derived values and the CLI."""

import json
import time

import numpy as np
import pytest
import sympy as sp
import torch

from analytics import critical_temperature, stationary_hessian
from analytics.annealing_theory import K, derivation, lam, tau
from cli.main import main
from toymodels.errors import ConfigError

# Gauss–Hermite nodes per axis.  At the redundant point every responsibility is 1/K, so the
# Hessian's integrand is a quadratic polynomial in x: the quadrature is then exact (any
# n >= 2), and the comparison below is limited by float64 rounding only.
GH_NODES = 6
ATOL = 1e-10


def _rotate(points, degrees):
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.asarray(points, dtype=float) @ np.array([[c, s], [-s, c]])


# An anisotropic 3-component mixture, rotated so that the split axis is no coordinate axis.
CENTERS = _rotate([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5]], 30.0)
WEIGHTS = np.array([0.5, 0.3, 0.2])
SPREAD = 0.4


def _quadrature(centers, spread, weights):
    """Points ``[n, d]`` and probabilities ``[n]`` integrating the mixture exactly for
    polynomials of degree < 2·GH_NODES in every coordinate."""
    z, w = np.polynomial.hermite_e.hermegauss(GH_NODES)
    w = w / w.sum()
    d = centers.shape[1]
    nodes = np.stack([g.ravel() for g in np.meshgrid(*[z] * d, indexing="ij")], -1)
    node_w = np.prod(np.meshgrid(*[w] * d, indexing="ij"), axis=0).ravel()
    pi = np.asarray(weights, dtype=float) / np.sum(weights)
    x = (centers[:, None, :] + spread * nodes[None]).reshape(-1, d)
    p = (pi[:, None] * node_w[None]).ravel()
    return torch.tensor(x), torch.tensor(p)


def _free_energy(w_flat, x, p, n_protos, temperature):
    """``F(w) = −τ E_x log Σ_k exp(−‖x − w_k‖²/τ)``, straight from the definition."""
    w = w_flat.reshape(n_protos, -1)
    dist = ((x[:, None, :] - w[None]) ** 2).sum(-1)
    return -temperature * (p * torch.logsumexp(-dist / temperature, dim=1)).sum()


def _at_mean(centers, spread, weights, n_protos, temperature):
    """Gradient and Hessian of F at every prototype on the data mean, by autograd."""
    x, p = _quadrature(centers, spread, weights)
    w0 = ((p[:, None] * x).sum(0)).repeat(n_protos)

    def f(w):
        return _free_energy(w, x, p, n_protos, temperature)

    grad = torch.autograd.functional.jacobian(f, w0)
    hess = torch.autograd.functional.hessian(f, w0)
    return grad.numpy(), hess.numpy()


def _splitting_basis(n_protos, d):
    """Orthonormal basis ``[K·d, (K−1)·d]`` of the perturbations with Σ_k δw_k = 0."""
    sum_zero = np.linalg.svd(np.ones((1, n_protos)))[2][1:]  # [K − 1, K]
    return np.kron(sum_zero.T, np.eye(d))


# -- the derivation -------------------------------------------------------------------------
def test_derivation_gives_the_block_hessian_and_tau_c():
    found = derivation()
    assert found.gradient == sp.zeros(4, 1)
    s11, s12, s22 = sp.symbols("Sigma_11 Sigma_12 Sigma_22", real=True)
    sigma = sp.Matrix([[s11, s12], [s12, s22]])
    delta = sp.eye(2)
    expected = sp.zeros(4, 4)
    for k in range(2):
        for j in range(2):
            block = (2 / K) * (delta[k, j] * sp.eye(2) - (2 / tau) * (delta[k, j] - 1 / K) * sigma)
            expected[2 * k : 2 * k + 2, 2 * j : 2 * j + 2] = block
    assert (found.hessian - expected).applyfunc(sp.simplify) == sp.zeros(4, 4)
    assert sp.simplify(found.split_eigenvalue - (2 / K) * (1 - 2 * lam / tau)) == 0
    assert sp.simplify(found.translation_eigenvalue - 2 / K) == 0
    assert found.critical == 2 * lam


# -- the formula against the free energy ----------------------------------------------------
@pytest.mark.parametrize("n_protos", [2, 3])
@pytest.mark.parametrize("temperature", [0.3, 1.7])
def test_stationary_hessian_equals_autograd_hessian(n_protos, temperature):
    found = critical_temperature(CENTERS, SPREAD, WEIGHTS)
    grad, hess = _at_mean(CENTERS, SPREAD, WEIGHTS, n_protos, temperature)
    np.testing.assert_allclose(grad, 0.0, atol=ATOL)  # the mean is stationary at every τ
    formula = stationary_hessian(found.covariance, n_protos, temperature)
    assert formula.shape == (2 * n_protos, 2 * n_protos)
    np.testing.assert_allclose(formula, hess, atol=ATOL)


def test_two_component_hessian_and_equal_weights():
    centers = np.array([[1.0, 0.0], [-1.0, 0.0]])
    found = critical_temperature(centers, 0.3)
    _, hess = _at_mean(centers, 0.3, [1, 1], 2, 1.0)
    np.testing.assert_allclose(stationary_hessian(found.covariance, 2, 1.0), hess, atol=ATOL)


@pytest.mark.parametrize("n_protos", [2, 3])
def test_splitting_curvature_changes_sign_at_tau_c(n_protos):
    found = critical_temperature(CENTERS, SPREAD, WEIGHTS)
    assert min(abs(found.direction)) > 0.1  # not a coordinate axis
    basis = _splitting_basis(n_protos, 2)

    def splitting_eigen(factor):
        _, hess = _at_mean(CENTERS, SPREAD, WEIGHTS, n_protos, factor * found.value)
        return np.linalg.eigh(basis.T @ hess @ basis)

    assert splitting_eigen(1.1)[0][0] > 0
    assert abs(splitting_eigen(1.0)[0][0]) < ATOL
    values, vectors = splitting_eigen(0.9)
    assert values[0] < 0
    # The unstable perturbation moves every prototype along ``direction``.
    moves = (basis @ vectors[:, 0]).reshape(n_protos, 2)
    across = moves - np.outer(moves @ found.direction, found.direction)
    np.testing.assert_allclose(across, 0.0, atol=1e-8)
    # Moving all prototypes together is stable at every τ (curvature 2/K).
    _, hess = _at_mean(CENTERS, SPREAD, WEIGHTS, n_protos, 0.5 * found.value)
    together = np.kron(np.ones((n_protos, 1)), np.eye(2)) / np.sqrt(n_protos)
    np.testing.assert_allclose(together.T @ hess @ together, 2 / n_protos * np.eye(2), atol=ATOL)


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_gradient_descent_splits_only_below_tau_c(factor):
    found = critical_temperature(CENTERS, SPREAD, WEIGHTS)
    x, p = _quadrature(CENTERS, SPREAD, WEIGHTS)
    mean = (p[:, None] * x).sum(0)
    start = mean.repeat(2) + 1e-4 * torch.tensor([1.0, -2.0, -1.0, 2.0], dtype=torch.float64)
    w = start.clone().requires_grad_(True)
    for _ in range(60):
        (grad,) = torch.autograd.grad(_free_energy(w, x, p, 2, factor * found.value), w)
        with torch.no_grad():
            w -= 0.5 * grad
    gap = (w[:2] - w[2:]).detach().numpy()
    initial = (start[:2] - start[2:]).numpy()
    if factor < 1:  # grows, along the top eigenvector
        assert np.linalg.norm(gap) > 10 * np.linalg.norm(initial)
        assert abs(gap @ found.direction) / np.linalg.norm(gap) > 0.999
    else:
        assert np.linalg.norm(gap) < 0.1 * np.linalg.norm(initial)


# -- exact values ---------------------------------------------------------------------------
def test_two_centres_on_an_axis():
    found = critical_temperature([[1, 0], [-1, 0]], 0.3)
    assert found.value == pytest.approx(2.18, rel=1e-15)
    assert found.exact == "109/50" and found.latex == r"\frac{109}{50}"
    np.testing.assert_allclose(found.direction, [1.0, 0.0])
    np.testing.assert_allclose(found.covariance, [[1.09, 0.0], [0.0, 0.09]])
    assert found.multiplicity == 1


@pytest.mark.parametrize(
    ("a", "pi", "spread"), [("1", "0.2", "0.3"), ("2", "0.25", "0.1"), ("0.5", "0.5", "1")]
)
def test_weights_scale_the_between_variance(a, pi, spread):
    # Centres ±a with weights π, 1 − π: between-variance 4π(1 − π)a².
    a_, pi_, s_ = (sp.Rational(v) for v in (a, pi, spread))
    expected = 2 * (4 * pi_ * (1 - pi_) * a_**2 + s_**2)
    found = critical_temperature(
        [[float(a)], [-float(a)]], float(spread), [float(pi), 1 - float(pi)]
    )
    assert sp.sympify(found.exact) == expected
    assert found.value == pytest.approx(float(expected), rel=1e-15)
    unnormalised = critical_temperature(
        [[float(a), 0.0], [-float(a), 0.0]], float(spread), [4 * float(pi), 4 * (1 - float(pi))]
    )
    assert sp.sympify(unnormalised.exact) == expected


def test_single_centre_is_isotropic():
    found = critical_temperature([[3, -1, 2]], 0.5)
    assert found.exact == "1/2" and found.multiplicity == 3


@pytest.mark.parametrize(
    ("centers", "weights"),
    [
        ([[1, 0.5], [-1, 0], [0.3, 2]], [1, 2, 3]),  # irrational eigenvalue (a square root)
        ([[1, 0, 0], [0, 1, 0.3], [0.2, 0, 1], [0.1, 0.2, 0.3]], [1, 2, 3, 4]),  # cubic
    ],
)
def test_exact_values_match_numpy(centers, weights):
    found = critical_temperature(centers, 0.3, weights)
    assert found.exact is not None
    top = np.linalg.eigvalsh(found.covariance)[-1]
    assert found.value == pytest.approx(2 * top, rel=1e-13)
    assert float(sp.sympify(found.exact).evalf(20)) == pytest.approx(found.value, rel=1e-15)


def test_high_dimension_is_numeric_and_fast():
    centers = np.random.default_rng(0).normal(size=(30, 50))
    critical_temperature([[1, 0], [-1, 0]], 1.0)  # the one-off derivation
    start = time.perf_counter()
    found = critical_temperature(centers, 0.4)
    assert time.perf_counter() - start < 1.0
    assert found.exact is None and found.latex == f"{found.value:.15g}"
    assert found.value == pytest.approx(2 * np.linalg.eigvalsh(found.covariance)[-1], rel=1e-12)
    assert found.direction.shape == (50,)


@pytest.mark.parametrize(
    ("centers", "spread", "weights"),
    [
        ([], 1.0, None),
        ([1.0, 2.0], 1.0, None),
        ([[1, 0], [1]], 1.0, None),
        ([[1, float("nan")]], 1.0, None),
        ([["a", 0]], 1.0, None),
        ([[1, 0]], 0.0, None),
        ([[1, 0]], float("inf"), None),
        ([[1, 0], [0, 1]], 1.0, [1, -1]),
        ([[1, 0], [0, 1]], 1.0, [1]),
        ([[1, 0], [0, 1]], 1.0, [0, 0]),
        ([[1e200], [-1e200]], 1.0, None),
    ],
)
def test_bad_input_is_one_config_error(centers, spread, weights):
    with pytest.raises(ConfigError) as err:
        critical_temperature(centers, spread, weights)
    assert "\n" not in str(err.value)


# -- the CLI --------------------------------------------------------------------------------
def run(capsys, *argv):
    code = main(["analytic", "critical-temperature", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json(capsys):
    code, out, err = run(
        capsys, "--centers", "[[1,0],[-1,0]]", "--spread", "0.3", "--weights", "[0.5,0.5]", "--json"
    )
    assert code == 0 and err == ""
    data = json.loads(out)
    assert list(data)[:2] == ["critical_temperature", "latex"]
    assert data["critical_temperature"] == pytest.approx(2.18, rel=1e-15)
    assert data["latex"] == r"\frac{109}{50}"
    np.testing.assert_allclose(data["direction"], [1.0, 0.0])
    np.testing.assert_allclose(data["covariance"], [[1.09, 0.0], [0.0, 0.09]])


def test_cli_text(capsys):
    code, out, _ = run(capsys, "--centers", "[[1],[-1]]", "--spread", "0.3", "--weights", "[1,4]")
    assert code == 0 and out.startswith("tau_c = 1.46 (exact: 73/50)")
    assert len(out.strip().splitlines()) == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["--centers", "[[1,0],[-1,0]", "--spread", "1"],  # malformed JSON
        ["--centers", "[[1,0],[-1]]", "--spread", "1"],  # ragged
        ["--centers", "[[1,NaN]]", "--spread", "1"],
        ["--centers", "[[1,0]]", "--spread", "0"],
        ["--centers", "[[1,0]]", "--spread", "-1"],
        ["--centers", "[[1,0]]", "--spread", "nan"],
        ["--centers", "[[1,0],[0,1]]", "--spread", "1", "--weights", "[1,-1]"],
        ["--centers", "[[1,0],[0,1]]", "--spread", "1", "--weights", "[1]"],
        ["--centers", "[[1,0],[0,1]]", "--spread", "1", "--weights", "[1,"],
        ["--centers", "[]", "--spread", "1"],
        ["--centers", "[[1,0]]"],  # no spread
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err
    assert "Traceback" not in err
