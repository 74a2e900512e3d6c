"""The estimators of the expected loss: the exact closed form against numerical
integration, every hand-derived gradient against autograd, and the low-variance
estimators against the sampled loss's mean (unbiasedness)."""

import itertools
import os

import numpy as np
import pytest
import torch

from toymodels import FAMILIES, ModelConfig, TrainConfig
from toymodels.estimators import ESTIMATORS
from toymodels.families.base import ToyModel
from toymodels.optim import make_optimizer
from toymodels.tasks import Batch

SEED = int(os.environ.get("TOYMODELS_TEST_SEED", "0"))

# Tolerances by dtype for hand-derived vs autograd gradients (same arithmetic, different
# order of operations).
RTOL = {torch.float32: 2e-5, torch.float64: 1e-11}
# Estimates further than this many standard errors from the truth fail the unbiasedness
# tests (a false alarm about once in a million comparisons).
SIGMAS = 5.0


def _random_models(family, n, m, count, rng, dtype, densities=None):
    densities = densities or [tuple(rng.uniform(0.05, 1.0, n)) for _ in range(count)]
    configs = [
        ModelConfig.superposition(
            family, n, m, density=d, importance=tuple(rng.uniform(0.2, 2.0, n))
        )
        for d in densities
    ]
    seeds = [np.random.SeedSequence([SEED, i]) for i in range(len(configs))]
    model = FAMILIES[family](configs, seeds, dtype=dtype)
    with torch.no_grad():
        model.b.copy_(torch.as_tensor(rng.normal(0.0, 0.3, (len(configs), n))))
    return model


def _copy(model, dtype):
    twin = FAMILIES[model.configs[0].family](model.configs, model.seeds, dtype=dtype)
    with torch.no_grad():
        twin.W.copy_(model.W)
        twin.b.copy_(model.b)
    return twin


# -- the exact expected loss ----------------------------------------------------------------
def _numerical_loss(W, b, p, importance, panels, nodes):
    """Tensor-product composite Gauss-Legendre over every sparsity pattern's cube."""
    n = W.shape[1]
    gram = W.T @ W
    x, w = np.polynomial.legendre.leggauss(nodes)
    h = 1.0 / panels
    pts_1d = (np.arange(panels)[:, None] * h + (x + 1.0) / 2.0 * h).ravel()
    wts_1d = np.tile(w / 2.0 * h, panels)
    total = 0.0
    for k in range(n + 1):
        for active in itertools.combinations(range(n), k):
            prob = np.prod([p[j] if j in active else 1.0 - p[j] for j in range(n)])
            grids = np.meshgrid(*[pts_1d] * k, indexing="ij")
            weights = np.ones(1)
            for g in np.meshgrid(*[wts_1d] * k, indexing="ij"):
                weights = weights * g.ravel()
            X = np.zeros((weights.size, n))
            for j, g in zip(active, grids, strict=True):
                X[:, j] = g.ravel()
            out = np.maximum(X @ gram.T + b, 0.0)
            total += prob * (weights * ((X - out) ** 2 * importance).sum(1)).sum()
    return total


# (n, m, panels, nodes, tolerance): the numerical rule's own error (kinks cost it its
# order) stayed below half the tolerance over 40 seeds (120 models each, checked by
# refining); a wrong term in the closed form is off by 1e-3 or more.
QUADRATURE = [(2, 1, 64, 4, 1e-5), (3, 2, 20, 3, 5e-5), (3, 1, 20, 3, 5e-5), (4, 2, 10, 3, 1e-4)]


@pytest.mark.parametrize("n, m, panels, nodes, tol", QUADRATURE)
def test_exact_relu_loss_matches_numerical_integration(n, m, panels, nodes, tol):
    rng = np.random.default_rng([SEED, n, m])
    model = _random_models("relu", n, m, 3, rng, torch.float64)
    with torch.no_grad():
        model.W[0, :, 0] = 0.0  # an unused feature: zero slopes in every pattern
        model.b[1] = 0.0  # kinks at the cube's corner
    exact = model.expected_loss().detach().numpy()
    for i, config in enumerate(model.configs):
        W, b = model.W[i].detach().numpy(), model.b[i].detach().numpy()
        p = np.array(config.data.feature_density)
        imp = np.array(config.data.feature_importance)
        reference = _numerical_loss(W, b, p, imp, panels, nodes)
        assert exact[i] == pytest.approx(reference, abs=tol * max(1.0, reference))


def test_exact_relu_loss_of_the_theory_candidates():
    # W = [1, 0], b = [0, p/2]: feature 1 exact, feature 2 answered by its mean:
    # p/3 - p²/4 for the dropped feature, plus the represented feature's error when the
    # dropped one is... never (it does not reach output 1), i.e. only the variance term.
    p, r = 0.2, 3.0
    config = ModelConfig.superposition("relu", 2, 1, density=p, importance=r)
    model = FAMILIES["relu"]([config], [np.random.SeedSequence(0)], dtype=torch.float64)
    with torch.no_grad():
        model.W.copy_(torch.tensor([[[1.0, 0.0]]]))
        model.b.copy_(torch.tensor([[0.0, p / 2]]))
    assert model.expected_loss().item() == pytest.approx(r * (p / 3 - p * p / 4), rel=1e-12)
    # W = [1, -1], b = 0: each active feature is exact unless both are active, when
    # output i is relu(x_i - x_j):  E[(x_i - relu(x_i - x_j))²] = E[min(x_i, x_j)²] = 1/6.
    with torch.no_grad():
        model.W.copy_(torch.tensor([[[1.0, -1.0]]]))
        model.b.zero_()
    assert model.expected_loss().item() == pytest.approx(p * p * (1 + r) / 6, rel=1e-12)


@pytest.mark.parametrize(
    "family, n, m",
    [("relu", 2, 1), ("relu", 3, 2), ("relu", 4, 2), ("relu", 3, 1), ("linear", 5, 2)],
)
def test_exact_gradient_equals_autograd(family, n, m):
    rng = np.random.default_rng([SEED, n, m, 1])
    model = _random_models(family, n, m, 8, rng, torch.float64)
    with torch.no_grad():
        model.W[0, :, -1] = 0.0
        model.b[0] = 0.0
    loss = model.expected_loss()
    grad_w, grad_b = torch.autograd.grad(loss.sum(), [model.W, model.b])
    hand_loss, (hand_w, hand_b) = model.expected_loss_and_grad()
    torch.testing.assert_close(hand_loss, loss.detach(), rtol=RTOL[torch.float64], atol=1e-14)
    torch.testing.assert_close(hand_w, grad_w, rtol=RTOL[torch.float64], atol=1e-13)
    torch.testing.assert_close(hand_b, grad_b, rtol=RTOL[torch.float64], atol=1e-13)


@pytest.mark.parametrize("n, m", [(2, 1), (3, 2)])
def test_exact_gradient_equals_finite_differences(n, m):
    rng = np.random.default_rng([SEED, n, m, 2])
    model = _random_models("relu", n, m, 4, rng, torch.float64)
    _, (grad_w, grad_b) = model.expected_loss_and_grad()
    eps = 1e-6
    for param, grad in ((model.W, grad_w), (model.b, grad_b)):
        flat = param.data.view(len(model.configs), -1)
        for j in range(flat.shape[1]):
            old = flat[:, j].clone()
            flat[:, j] = old + eps
            up = model.expected_loss().detach()
            flat[:, j] = old - eps
            down = model.expected_loss().detach()
            flat[:, j] = old
            numeric = (up - down) / (2 * eps)
            torch.testing.assert_close(
                grad.view(len(model.configs), -1)[:, j], numeric, rtol=1e-6, atol=1e-8
            )


def test_exact_estimator_writes_the_exact_gradient():
    rng = np.random.default_rng([SEED, 3])
    model = _random_models("relu", 3, 2, 4, rng, torch.float64)
    estimator = ESTIMATORS["exact"](model, TrainConfig(estimator="exact"))
    loss = estimator.step(need_loss=True)
    reference = _copy(model, torch.float64)
    expected = reference.expected_loss()
    grad_w, grad_b = torch.autograd.grad(expected.sum(), [reference.W, reference.b])
    torch.testing.assert_close(loss, expected.detach())
    torch.testing.assert_close(model.W.grad, grad_w)
    torch.testing.assert_close(model.b.grad, grad_b)


# -- hand-derived gradient of a sampled batch -----------------------------------------------
@pytest.mark.parametrize("family", ["relu", "linear"])
@pytest.mark.parametrize("n, m", [(2, 1), (3, 2), (20, 5), (6, 1)])  # Gram path and W path
@pytest.mark.parametrize("weighted", [False, True])
def test_batch_gradient_equals_autograd(family, n, m, weighted):
    rng = np.random.default_rng([SEED, n, m, 4])
    model = _random_models(family, n, m, 5, rng, torch.float32)
    batch = 96
    words = torch.as_tensor(rng.integers(-(2**31), 2**31, (5, n, batch)), dtype=torch.int32)
    x = model.task.draw(words).x
    weight = torch.as_tensor(rng.uniform(0, 2 / batch, (5, 1, batch)), dtype=torch.float32)
    row_weight = weight if weighted else 1.0 / batch
    loss = model.batch_loss_and_grad(Batch(x.clone()), row_weight, need_loss=True)
    hand_w, hand_b = model.W.grad.clone(), model.b.grad.clone()
    reference = ToyModel.batch_loss_and_grad(model, Batch(x.clone()), row_weight, need_loss=True)
    scale_w, scale_b = model.W.grad.abs().max(), model.b.grad.abs().max()
    torch.testing.assert_close(loss, reference, rtol=RTOL[torch.float32], atol=1e-6)
    torch.testing.assert_close(hand_w, model.W.grad, rtol=RTOL[torch.float32], atol=1e-6 * scale_w)
    torch.testing.assert_close(hand_b, model.b.grad, rtol=RTOL[torch.float32], atol=1e-6 * scale_b)


def test_engine_step_is_an_adam_step_on_the_autograd_gradient():
    # The paper-faithful engine: one step equals torch's Adam on the batch-mean loss.
    rng = np.random.default_rng([SEED, 5])
    model = _random_models("relu", 2, 1, 64, rng, torch.float32)
    cfg = TrainConfig(batch_size=256)
    estimator = ESTIMATORS["sampled"](model, cfg)
    words = estimator.blocks.next().clone()
    estimator.blocks.next = lambda: words.clone()
    reference = _copy(model, torch.float32)
    opt, _ = make_optimizer(model.parameters(), TrainConfig(lr=1e-2))
    opt_ref = torch.optim.Adam(reference.parameters(), lr=1e-2)
    for _ in range(3):
        estimator.step()
        opt.step()
        batch = reference.task.draw(words.clone())
        opt_ref.zero_grad()
        reference.batch_loss(batch, 1.0 / cfg.batch_size).sum().backward()
        opt_ref.step()
    torch.testing.assert_close(model.W, reference.W, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.b, reference.b, rtol=1e-5, atol=1e-6)


# -- unbiasedness: the low-variance estimators estimate the same expected loss --------------
def _estimates(model, estimator, steps, batch):
    est = ESTIMATORS[estimator](model, TrainConfig(batch_size=batch, estimator=estimator))
    losses, grads = [], []
    for _ in range(steps):
        losses.append(est.step(need_loss=True).double())
        grads.append(torch.cat([model.W.grad.flatten(1), model.b.grad], 1).double())
    return torch.stack(losses), torch.stack(grads)


def _assert_unbiased(samples, truth, scale):
    mean = samples.mean(0)
    se = samples.std(0) / np.sqrt(samples.shape[0])
    excess = (mean - truth).abs() - (SIGMAS * se + 1e-5 * scale)
    # An entry that only rare events move (zero in most steps) has an unreliable standard
    # error (often exactly 0); the common entries carry the test.
    common = (samples != 0).double().mean(0) >= 0.25
    assert common.double().mean() > 0.5
    worst = excess[common].max()
    assert worst <= 0, f"bias beyond {SIGMAS} standard errors: {worst:.3g}"


@pytest.mark.parametrize("n, m", [(2, 1), (3, 2)])
def test_sampled_and_patterns_estimate_the_exact_loss_and_gradient(n, m):
    rng = np.random.default_rng([SEED, n, m, 6])
    densities = [p for p in (1.0, 0.3, 0.05) for _ in range(3)]
    model = _random_models("relu", n, m, len(densities), rng, torch.float32, densities)
    exact = _copy(model, torch.float64)
    loss, (grad_w, grad_b) = exact.expected_loss_and_grad()
    grad = torch.cat([grad_w.flatten(1), grad_b], 1)
    for estimator in ("sampled", "patterns"):
        losses, grads = _estimates(model, estimator, steps=150, batch=512)
        _assert_unbiased(losses, loss, loss.abs().max())
        _assert_unbiased(grads, grad, grad.abs().max())


def test_patterns_has_lower_variance_than_sampled_at_low_density():
    rng = np.random.default_rng([SEED, 7])
    model = _random_models("relu", 2, 1, 4, rng, torch.float32, [(0.02, 0.02)] * 4)
    sampled, _ = _estimates(model, "sampled", steps=60, batch=512)
    patterns, _ = _estimates(model, "patterns", steps=60, batch=512)
    assert (patterns.std(0) < 0.5 * sampled.std(0)).all()
