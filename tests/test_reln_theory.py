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
