"""The hidden-layer family: its forward pass and activations against their definitions,
unit metrics on layers whose answer is known (the same definitions as the competition
family's), and trained layers against theory (a linear layer reaches the weighted-PCA
optimum; a ReLU layer the Bayes classifier)."""

import os

import numpy as np
import pytest
import torch
from scipy.stats import norm

from toymodels import (
    ACTIVATIONS,
    FAMILIES,
    ModelConfig,
    TrainConfig,
    model_seed,
    train,
    unit_metrics,
)
from toymodels.families.competing_units import COMPETING_METRICS
from toymodels.families.hidden import PLAIN

SEED = int(os.environ.get("TOYMODELS_TEST_SEED", "0"))


def _model(count=2, dtype=torch.float64, **fields):
    configs = [ModelConfig.build("hidden", "features", **fields)] * count
    return FAMILIES["hidden"](configs, [model_seed(SEED, i, 0) for i in range(count)], dtype=dtype)


def test_forward_is_the_definition():
    model = _model(n_features=5, n_hidden=3)
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype, generator=gen))
    x = torch.rand(2, 5, 7, dtype=torch.float64, generator=gen)
    out, hidden = model(x), model.hidden(x)
    for k in range(2):
        for b in range(7):
            h = torch.relu(model.W1[k] @ x[k, :, b] + model.b1[k])
            torch.testing.assert_close(hidden[k, :, b], h)
            torch.testing.assert_close(out[k, :, b], model.W2[k] @ h + model.b2[k])


@pytest.mark.parametrize("name", PLAIN)
def test_activation_jacobian_against_autograd_and_definition(name):
    act = ACTIVATIONS[name]()
    z = torch.tensor([[[1.5, -0.5], [-2.0, 0.25], [0.0, 3.0]]], dtype=torch.float64)  # [1, 3, 2]
    jac = act.jacobian(z)  # [model, example, unit, unit]
    for b in range(2):
        auto = torch.autograd.functional.jacobian(
            lambda v: act(v.view(1, 3, 1)).view(3), z[0, :, b]
        )
        torch.testing.assert_close(jac[0, b], auto)
    zt = z[0].T  # [example, unit]
    norm = torch.sqrt(zt.square().sum(-1) + 1e-12).view(2, 1, 1)  # ε = 1e-6 inside the root
    a = zt.unsqueeze(-1) / norm
    by_hand = {
        "relu": torch.diag_embed((zt > 0).double()),
        "linear": torch.eye(3, dtype=torch.float64).expand(2, 3, 3),
        # z/|z|: (I − a aᵀ)/|z|
        "l2_norm": (torch.eye(3, dtype=torch.float64) - a @ a.mT) / norm,
    }
    torch.testing.assert_close(jac[0], by_hand[name])


def test_unit_metrics_on_layers_whose_answer_is_known():
    identical = torch.tensor([[[1.0, 2.0, 0.0]] * 4])
    orthogonal = torch.eye(4, 6).unsqueeze(0) * torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 4, 1)
    equal_orthogonal = torch.eye(4, 6).unsqueeze(0)
    one_winner = torch.zeros(1, 4, 3)
    one_winner[0, 2] = torch.tensor([0.0, 5.0, 0.0])
    opposite = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]])
    assert unit_metrics.max_abs_cos(identical).item() == pytest.approx(1.0)
    assert unit_metrics.max_abs_cos(opposite).item() == pytest.approx(1.0)  # same hyperplane
    assert unit_metrics.max_abs_cos(orthogonal).item() == 0.0
    assert unit_metrics.max_abs_cos(one_winner).item() == 0.0  # zero rows have no direction
    assert unit_metrics.effective_rank(identical).item() == pytest.approx(1.0)
    assert unit_metrics.effective_rank(equal_orthogonal).item() == pytest.approx(4.0)
    shares = np.arange(1, 5) / 10
    expected = np.exp(-(shares * np.log(shares)).sum())
    assert unit_metrics.effective_rank(orthogonal).item() == pytest.approx(expected, rel=1e-6)
    assert unit_metrics.effective_rank(one_winner).item() == pytest.approx(1.0)
    assert unit_metrics.effective_rank(torch.zeros(1, 3, 3)).item() == 0.0
    np.testing.assert_allclose(unit_metrics.unit_norm(orthogonal)[0], [1, 2, 3, 4])


def test_usage_and_dead_units():
    # responsibilities of 4 units on 3 examples; the third example has none (no unit fired)
    r = torch.tensor([[[0.0, 0.0, 0.0], [0.25, 0.0, 0.0], [0.75, 1.0, 0.0], [0.0, 0.0, 0.0]]])
    np.testing.assert_allclose(unit_metrics.usage(r)[0], [0.0, 0.125, 0.875, 0.0])
    assert unit_metrics.dead_fraction(unit_metrics.usage(r)).item() == 0.5
    # dead: usage below DEAD_SHARE / K, here 0.0025
    usage = torch.tensor([[0.0, 0.002, 0.003, 0.995]])
    assert unit_metrics.alive(usage).tolist() == [[False, False, True, True]]
    assert unit_metrics.dead_fraction(usage).item() == 0.5


def test_a_metric_means_the_same_in_the_hidden_and_competition_families():
    """A hidden layer and a competition layer of the same ReLU units measure alike: the
    two families share one definition of every unit metric."""
    fields = dict(n_features=5, n_hidden=3, activation="relu")
    seeds = [model_seed(SEED, 0, 0)]
    layers = [
        FAMILIES[f]([ModelConfig.build(f, "features", **fields)], seeds, dtype=torch.float64)
        for f in ("hidden", "competition")
    ]
    # the competition layer adds what a layer of competing units has (its temperature)
    shared = set(FAMILIES["competition"].metrics) - set(COMPETING_METRICS)
    assert set(FAMILIES["hidden"].metrics) == shared
    for name in ("W1", "b1", "W2", "b2"):
        torch.testing.assert_close(getattr(layers[0], name), getattr(layers[1], name))
    words = torch.randint(-(2**31), 2**31, (1, 5, 512), dtype=torch.int32)
    probe = layers[0].task.draw(words)
    measured = [layer.compute_metrics(probe) for layer in layers]
    for name in measured[0]:
        torch.testing.assert_close(measured[0][name], measured[1][name], rtol=0, atol=0)


def test_dead_units_are_counted_on_the_probe():
    model = _model(count=1, n_features=4, n_hidden=4)
    with torch.no_grad():
        model.W1.copy_(torch.full_like(model.W1, 0.5))  # fire on any non-zero input...
        model.b1[0, :2] = -100.0  # ...but these two never fire on features in [0, 1]
    probe = model.task.draw(torch.randint(-(2**31), 2**31, (1, 4, 256), dtype=torch.int32))
    assert model.compute_metrics(probe)["dead_fraction"].item() == 0.5


def test_linear_layer_reaches_the_weighted_pca_optimum():
    """A linear autoencoder with biases minimises the importance-weighted squared error at
    the (affine) weighted PCA: the loss left is the sum of the n - K smallest ``I_i Var x_i``
    (features are independent, so the covariance is diagonal; Eckart-Young)."""
    p, n, k = 0.5, 6, 3
    configs = [
        ModelConfig.build(
            "hidden", "features", n_features=n, n_hidden=k, activation="linear", density=p,
            importance=0.7**5, importance_decay=0.7,
        )
    ] * 3  # fmt: skip
    result = train(
        configs,
        TrainConfig(steps=2000, lr=1e-2, schedule="cosine"),
        [model_seed(SEED, i, 0) for i in range(3)],
    )
    importance = np.array(configs[0].data.feature_importance)
    mean, var = p / 2, p / 3 - p * p / 4
    optimum = var * np.sort(importance)[: n - k].sum()
    for i in range(3):
        W1, b1, W2, b2 = (result.params[x][i].astype(float) for x in ("W1", "b1", "W2", "b2"))
        residual = np.eye(n) - W2 @ W1
        bias = residual @ np.full(n, mean) - (W2 @ b1 + b2)
        exact = (importance * (bias**2 + (residual**2) @ np.full(n, var))).sum()
        assert optimum <= exact <= optimum * (1 + 1e-3)


def test_relu_layer_reaches_the_bayes_classifier():
    """Two isotropic Gaussians (centres e0, e1, spread s): the Bayes accuracy is
    Φ(d / 2s) with d = √2, and the Bayes cross-entropy E softplus(-t) with the posterior
    log-odds t ~ N(d²/2s², (d/s)²) (by Gauss-Hermite quadrature)."""
    s, d = 0.3, np.sqrt(2.0)
    accuracy = norm.cdf(d / (2 * s))
    x, w = np.polynomial.hermite_e.hermegauss(80)
    cross_entropy = (w * np.logaddexp(0, -(d * d / (2 * s * s) + d / s * x))).sum() / w.sum()
    configs = [ModelConfig.build("hidden", "clusters", n_hidden=8, spread=s)] * 3
    result = train(
        configs,
        TrainConfig(steps=1500, lr=1e-2, schedule="cosine", eval_batch=2**16),
        [model_seed(SEED, i, 0) for i in range(3)],
    )
    # eval noise: the per-example cross-entropy is heavy-tailed (std ~ 4x its mean)
    np.testing.assert_allclose(result.loss, cross_entropy, rtol=0.12)
    np.testing.assert_allclose(result.metrics["accuracy"], accuracy, atol=0.006)
