"""The closed-form ReLN (``analytics.reln_theory``): against a numerical integration of
its pathways' mode equations, against the linear theory for one all-context pathway,
against the published curve, and its refusals."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from analytics.mode_dynamics import predict
from analytics.reln_theory import check_pathways, paper_pathways, predict_reln
from toymodels.contextual_data import DEFAULT_INIT_STD, ContextualConfig
from toymodels.correlation_modes import initial_strength
from toymodels.errors import ConfigError

LR = 1e-3
# The published closed form's loss (3_context_diff/closed.py, measured on the published code).
PUBLISHED = {0: 105.6, 500: 71.0, 1000: 47.3, 2000: 23.1, 3000: 8.35, 4000: 5.02,
             5000: 3.82, 6000: 2.21, 8000: 0.62}  # fmt: skip


def _integrated_loss(found, epochs):
    """Each pathway's mode equations ``τ da/dt = 2a(s − d a)`` integrated numerically, the
    output summed over the pathways on their samples, and ½·Σ of its squared error."""
    out = np.zeros((len(epochs), *found.y.shape))
    for p in found.pathways:
        if not len(p.s):
            continue

        def rate(_, log_a, p=p):  # in log a: the strengths span ten decades
            return 2 * (p.s - p.d * np.exp(log_a)) / found.tau

        sol = solve_ivp(
            rate, (0, epochs[-1]), np.full(len(p.s), np.log(p.a0)), t_eval=epochs,
            method="DOP853", rtol=1e-12, atol=1e-12,
        )  # fmt: skip
        a = np.exp(sol.y.T)  # [time, mode]
        out += np.einsum("ta,oa,ia,in->ton", a, p.U, p.V, found.x) * p.on
    return 0.5 * ((out - found.y) ** 2).sum((1, 2))


@pytest.mark.parametrize(
    ("config", "pathways"),
    [
        (ContextualConfig(), None),
        (ContextualConfig(), [[1, 2, 3], [1, 2], [3]]),
        (ContextualConfig(n_contexts=4, structure="same", context_scale=1.1), None),
        (ContextualConfig(n_contexts=5), [[1, 2, 3, 4, 5], [1, 2], [2, 3, 4], [5, 1]]),
        (ContextualConfig(), [[1, 2], [2, 3]]),  # no common pathway: the residual is Y
    ],
)
def test_closed_form_equals_integrated_pathway_equations(config, pathways):
    found = predict_reln(config, LR, pathways)
    epochs = np.linspace(0, 12000, 25)
    # atol: where the loss is ~1e-10 of its start, the Gram sum cancels to ~1e-12
    expected = _integrated_loss(found, epochs)
    np.testing.assert_allclose(found.loss(epochs), expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("inputs", ["one_hot", "whitened"])
@pytest.mark.parametrize("k", [3, 5])
def test_one_all_context_pathway_is_the_linear_theory(k, inputs):
    config = ContextualConfig(n_contexts=k, inputs=inputs)
    a0 = initial_strength(DEFAULT_INIT_STD, 700)
    found = predict_reln(config, LR, [list(range(1, k + 1))], a0_common=a0)
    epochs = np.linspace(0, 8000, 17)
    linear = predict(config, LR, DEFAULT_INIT_STD, 700)
    np.testing.assert_allclose(found.loss(epochs), linear.loss(epochs), rtol=1e-9)
    (common,) = found.pathways
    np.testing.assert_array_equal(common.s, linear.s)
    np.testing.assert_array_equal(common.d, linear.d)


def test_published_pathways_reproduce_the_published_curve():
    found = predict_reln(ContextualConfig(), LR)
    assert [p.contexts for p in found.pathways] == [(1, 2, 3), (1, 2), (1, 3), (2, 3)]
    loss = found.loss(list(PUBLISHED))
    want = np.array(list(PUBLISHED.values()))
    # to the published rounding up to epoch 6,000; the last point differs by the common
    # pathway's pairing of s and d (Rayleigh quotients here, sorted eigenvalues there)
    np.testing.assert_allclose(loss[:-1], want[:-1], rtol=1e-2)
    assert loss[-1] == pytest.approx(want[-1], rel=0.03)
    # the linear theory alone stays far above from epoch 3,000 on
    linear = predict(ContextualConfig(), LR, DEFAULT_INIT_STD, 700).loss([3000, 8000])
    assert np.all(linear > 1.8 * loss[[4, 8]])


@pytest.mark.parametrize(("k", "scale"), [(4, 1.1), (5, 1.35)])
def test_published_sets_divide_d_by_the_pathways_sharing_a_sample(k, scale):
    """With every set of K − 1 contexts the residual sums to zero over the contexts, and the
    rule d = s/a* is the published one: the isolated (K − 1)/P over K − 1 sharers."""
    config = ContextualConfig(n_contexts=k, structure="same", context_scale=scale)
    found = predict_reln(config, LR)
    for p in found.pathways[1:]:
        assert len(p.s) > 0
        np.testing.assert_allclose(p.d * 8 * k, 1.0, rtol=1e-6)
    # and together they end at the joint fixed point, which fits every sample
    assert found.loss([1e6])[0] < 1e-8


def test_paper_pathways():
    assert paper_pathways(3) == ((1, 2, 3), (1, 2), (1, 3), (2, 3))
    assert len(paper_pathways(5)) == 6 and all(len(p) == 4 for p in paper_pathways(5)[1:])


@pytest.mark.parametrize(
    ("pathways", "match"),
    [
        ([], "must be a list of pathways"),
        ("[[1]]", "must be a list of pathways"),
        ([[1, 2], []], "pathway 2"),
        ([[1, 4]], "context 4; the contexts are 1 to 3"),
        ([[0, 1]], "context 0"),
        ([[1, 1.5]], "context 1.5"),
        ([[1, True]], "context True"),
        ([[1, 2, 2]], "repeats a context"),
        ([[1, 2], [2, 1]], "pathways 1 and 2 both serve contexts \\[1, 2\\]"),
    ],
)
def test_bad_pathways_are_refused(pathways, match):
    with pytest.raises(ConfigError, match=match):
        check_pathways(pathways, 3)


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="inputs=one_hot"):
        predict_reln(ContextualConfig(inputs="whitened"), LR)
    with pytest.raises(ConfigError, match="a0_pathway"):
        predict_reln(ContextualConfig(), LR, a0_pathway=0.0)
    with pytest.raises(ConfigError, match="lr"):
        predict_reln(ContextualConfig(), float("nan"))


def test_closed_form_follows_a_relu_network_while_its_loss_is_above_5():
    """A small version of the measured comparison (docs/multitask.md): one seed of the
    default ReLU network to epoch 3,800, where its loss falls through 5; the closed-form
    ReLN is within 15% at every recorded epoch, the linear theory is not."""
    from toymodels import ModelConfig, TrainConfig, model_seed, train

    config = ModelConfig.build("contextual_relu", "contextual")
    cfg = TrainConfig(steps=3800, lr=LR, record_every=100, optimizer="sgd", estimator="full")
    result = train([config], cfg, [model_seed(0, 0, 0)])
    steps = np.array(result.record_steps, dtype=float)
    trained = np.asarray(result.trajectory["loss"][0], dtype=float)
    keep = trained >= 5
    assert keep.sum() >= 35  # to epoch ~3,600
    reln = predict_reln(ContextualConfig(), LR).loss(steps)
    linear = predict(ContextualConfig(), LR).loss(steps)
    gap = np.abs(reln - trained)[keep] / trained[keep]
    assert gap.max() < 0.15, steps[keep][gap.argmax()]
    assert (np.abs(linear - trained)[keep] / trained[keep]).max() > 1.0


# -- the d rule against gradient descent on the gated pathways ------------------------------
def _masks_and_residual(config, pathways):
    from toymodels.contextual_data import config_modes, contextual_data

    x, y, context = contextual_data(config)
    m = config_modes(config)
    residual = y - (m.U * (m.s / m.d)) @ m.V.T @ x
    gated = [p for p in pathways if len(p) < config.n_contexts]
    on = [np.isin(context + 1, p).astype(float) for p in gated]
    return x[:8], residual, on


def _descend(objects, residual, on, lr, epochs, record, hidden=100, std=1e-3):
    """Plain gradient descent on two-layer linear gated pathways (object inputs) fitting a
    fixed residual: ½·Σ squared error, from a small random start."""
    rng = np.random.default_rng(0)
    w1 = [rng.normal(0, std, (hidden, 8)) for _ in on]
    w2 = [rng.normal(0, std, (residual.shape[0], hidden)) for _ in on]
    losses = []
    for t in range(epochs + 1):
        err = residual - sum((b @ a @ objects) * g for a, b, g in zip(w1, w2, on, strict=True))
        if t in record:
            losses.append(0.5 * (err**2).sum())
        for q, gate in enumerate(on):
            grad = (err * gate) @ objects.T
            w1[q], w2[q] = w1[q] + lr * w2[q].T @ grad, w2[q] + lr * grad @ w1[q].T
    return np.array(losses)


def _gated_loss(found, residual, epochs):
    out = np.zeros((len(epochs), *residual.shape))
    for p in found.pathways:
        if len(p.contexts) < found.x.shape[0] - 8:
            a = p.strength(epochs, found.tau)
            out += np.einsum("ta,oa,ia,in->ton", a, p.U, p.V, found.x) * p.on
    return 0.5 * ((residual - out) ** 2).sum((1, 2))


def test_every_pair_of_four_contexts_follows_gradient_descent():
    """Three pathways share each sample, yet each ends at half its drive (d = 2/P): the
    closed form follows gradient descent; "divide d by the sharers" would overshoot."""
    config = ContextualConfig(n_contexts=4, structure="same", context_scale=1.1)
    pathways = [[1, 2, 3, 4], *([a, b] for a in range(1, 5) for b in range(a + 1, 5))]
    lr = 4e-3  # four times the default: the same dynamics in a quarter of the epochs
    # a0 of the random start below (N(0, 1e-3²), 100 units), as for the linear theory
    found = predict_reln(config, lr, pathways, a0_pathway=initial_strength(1e-3, 100))
    for p in found.pathways[1:]:
        np.testing.assert_allclose(p.d * 32, 2.0, rtol=1e-6)
    objects, residual, on = _masks_and_residual(config, pathways)
    record = list(range(0, 2001, 250))
    descended = _descend(objects, residual, on, lr, 2000, record)
    closed = _gated_loss(found, residual, np.array(record, float))
    assert descended[0] == pytest.approx(closed[0], rel=1e-3)
    big = descended > 1.0
    np.testing.assert_allclose(closed[big], descended[big], rtol=0.1)
    assert closed[-1] < 0.01 and descended[-1] < 0.01


@pytest.mark.parametrize(
    ("config", "pathways", "rel"),
    [
        (ContextualConfig(), [[1, 2, 3], [1, 2], [1, 3], [2, 3]], 1e-6),
        # one mode of A* has a drive below zero there and is left out
        (ContextualConfig(n_contexts=5), [[1, 2, 3, 4, 5], [1, 2], [2, 3, 4], [5, 1]], 3e-3),
    ],
)
def test_fixed_point_basis_ends_at_the_joint_least_squares_fit(config, pathways, rel):
    objects, residual, on = _masks_and_residual(config, pathways)
    z = np.concatenate([objects * g for g in on])
    floor = 0.5 * ((residual - residual @ np.linalg.pinv(z) @ z) ** 2).sum()
    fixed = predict_reln(config, LR, pathways, basis="fixed_point").loss([1e7])[0]
    drive = predict_reln(config, LR, pathways).loss([1e7])[0]
    assert fixed == pytest.approx(floor, rel=rel, abs=1e-9)
    assert drive > floor * 1.1  # the drive's modes miss the off-diagonal part of A*
