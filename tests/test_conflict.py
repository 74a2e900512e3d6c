"""The pathway-conflict task, the two-view networks, the task-conflict phase rule and the
linear theory: the data set at κ = 0 and κ = 1, the measures on constructed outputs and
networks, the theory against a direct reduced-rank computation and against trained linear
networks on clear-cut cells (the full grids: ``toymodels conflict phase-diagram``)."""

import math

import numpy as np
import pytest
import torch

from analytics.conflict_theory import learned_copies, predict_cell, predict_grid
from analytics.mode_dynamics import ModePrediction
from toymodels import ModelConfig, TrainConfig, model_seed, train
from toymodels.families.two_view import TwoViewLinear, TwoViewReLU
from toymodels.phases import task_conflict
from toymodels.tasks.conflict import (
    ConflictConfig,
    conflict_data,
    item_codes,
    routing,
    view_gains,
)

GD = dict(optimizer="sgd", estimator="full")


def correlations(config):
    x, y = conflict_data(config)
    p = x.shape[1]
    return x @ x.T / p, y @ x.T / p, y @ y.T / p


# -- the data set ---------------------------------------------------------------------------
@pytest.mark.parametrize("items", [2, 4, 6])
def test_item_codes_are_centred_orthonormal(items):
    c = item_codes(items)
    assert c.shape == (items - 1, items)
    np.testing.assert_allclose(c @ c.T / items, np.eye(items - 1), atol=1e-12)
    np.testing.assert_allclose(c.sum(1), 0.0, atol=1e-12)


@pytest.mark.parametrize("ratio", [0.5, 1.0, 3.0])
def test_no_conflict_is_one_task_both_views_serve(ratio):
    config = ConflictConfig(n_items=5, conflict=0.0, view_ratio=ratio)
    x, y = conflict_data(config)
    assert x.shape == (8, 25) and y.shape == (8, 25)
    sxx, syx, _ = correlations(config)
    np.testing.assert_allclose(sxx, np.eye(8), atol=1e-12)
    np.testing.assert_allclose(y[:4], y[4:])  # both heads ask for the same target
    s = np.linalg.svd(syx, compute_uv=False)
    np.testing.assert_allclose(s[:4], s[0])  # rank 4: one mode in 4 copies
    np.testing.assert_allclose(s[4:], 0.0, atol=1e-12)
    # every mode reads both views, in proportion to their strengths
    g1, g2 = view_gains(ratio)
    _, _, vt = np.linalg.svd(syx)
    share = (vt[:4, :4] ** 2).sum(1)
    np.testing.assert_allclose(share, g1**2 / (g1**2 + g2**2))
    # the target is (g1 c_a + g2 c_b)/sqrt(2)
    c = item_codes(5)
    np.testing.assert_allclose(y[:4, 5 * 2 + 3], (g1 * c[:, 2] + g2 * c[:, 3]) / math.sqrt(2))


@pytest.mark.parametrize("ratio", [0.5, 1.0])
def test_full_conflict_is_two_unrelated_tasks_one_view_each(ratio):
    config = ConflictConfig(n_items=5, conflict=1.0, view_ratio=ratio)
    _, syx, syy = correlations(config)
    g1, g2 = view_gains(ratio)
    np.testing.assert_allclose(syx[:4, :4], g1 * np.eye(4), atol=1e-12)  # A reads view 1
    np.testing.assert_allclose(syx[:4, 4:], 0.0, atol=1e-12)
    np.testing.assert_allclose(syx[4:, :4], 0.0, atol=1e-12)  # B reads view 2
    np.testing.assert_allclose(syx[4:, 4:], g2 * np.eye(4), atol=1e-12)
    np.testing.assert_allclose(syy[:4, 4:], 0.0, atol=1e-12)  # A and B unrelated
    assert np.linalg.matrix_rank(syx) == 8


@pytest.mark.parametrize("kappa", [0.0, 0.3, 0.7, 1.0])
@pytest.mark.parametrize("ratio", [0.25, 1.0, 2.0])
def test_target_power_is_the_same_for_every_conflict(kappa, ratio):
    _, syx, syy = correlations(ConflictConfig(n_items=4, conflict=kappa, view_ratio=ratio))
    assert np.trace(syy) == pytest.approx(2 * 3)
    m = routing(kappa, ratio)
    np.testing.assert_allclose(syx, np.kron(m, np.eye(3)), atol=1e-12)


@pytest.mark.parametrize(
    ("field", "value"), [("conflict", -0.1), ("conflict", 1.5), ("view_ratio", 0.0)]
)
def test_bad_task_values_are_refused(field, value):
    from toymodels.errors import ConfigError

    with pytest.raises(ConfigError, match=field):
        ConflictConfig(**{field: value})


# -- measures on constructed outputs and networks -------------------------------------------
def task_of(kappa=1.0, ratio=1.0, items=4, models=1):
    config = ModelConfig.build("two_view_linear", "conflict", n_items=items, n_hidden=3)
    from dataclasses import replace

    configs = [
        replace(config, data=replace(config.data, conflict=kappa, view_ratio=ratio))
        for _ in range(models)
    ]
    return TwoViewLinear(configs, [model_seed(0, 0, i) for i in range(models)])


def test_explained_and_task_loss_on_constructed_outputs():
    model = task_of(kappa=1.0)
    batch = model.task.data_set
    y = batch.y
    only_a = y.clone()
    only_a[:, 3:] = 0.0
    outputs = torch.cat([y, torch.zeros_like(y), only_a])
    big = type(batch)(batch.x.expand(3, -1, -1), y.expand(3, -1, -1))
    m = model.task.metrics(outputs, big)
    np.testing.assert_allclose(m["explained"].numpy(), [[1, 1], [0, 0], [1, 0]], atol=1e-6)
    power = 0.5 * (y[0, :3] ** 2).sum().item()
    np.testing.assert_allclose(m["task_loss"][1].numpy(), [power, power], rtol=1e-6)
    np.testing.assert_allclose(m["task_loss"][0].numpy(), 0.0, atol=1e-5)


def test_dominance_on_constructed_outputs():
    model = task_of(kappa=1.0)
    x = model.task.data_set.x  # [1, 6, 16]: view 1 rows 0-2, view 2 rows 3-5
    view1 = torch.cat([x[:, :3], x[:, :3]], 1)  # every output driven by view 1 only
    view2 = torch.cat([x[:, 3:], x[:, 3:]], 1)
    inter = torch.cat([x[:, :3] * x[:, 3:]] * 2, 1)  # an interaction: no main effect
    outs = torch.cat([view1, view2, view1 + view2, view1 + 2 * view2, view2 + 5 * inter])
    batch = type(model.task.data_set)(x.expand(5, -1, -1), outs)
    dom = model.task.metrics(outs, batch)["dominance"].numpy()
    np.testing.assert_allclose(dom, [1.0, 0.0, 0.5, 1 / 5, 0.0], atol=1e-6)


def test_dominance_and_weight_share_of_constructed_networks():
    model = task_of(kappa=1.0, models=2)
    with torch.no_grad():
        model.W1.zero_()
        model.W2.zero_()
        model.W1[0, :3, :3] = torch.eye(3)  # model 0: the layer reads view 1 only
        model.W1[1, :3, :3] = torch.eye(3)  # model 1: both views, view 2 twice as strong
        model.W1[1, 3:, :3] = 2 * torch.eye(3)
        model.W2[:, :3, :3] = torch.eye(3)
    batch = model.task.data_set
    with torch.no_grad():
        dom = model.task.metrics(model(batch.x), batch)["dominance"].numpy()
    np.testing.assert_allclose(dom, [1.0, 1 / 5], atol=1e-6)
    share = model.compute_metrics(None)["weight_share"].numpy()
    np.testing.assert_allclose(share, [1.0, 1 / 5], atol=1e-6)


# -- the phase rule -------------------------------------------------------------------------
def test_phase_rule_on_known_fractions():
    explained = np.array([[0.9, 0.8], [1.0, 0.3], [0.2, 0.2], [0.01, 0.0], [np.nan, 0.5]])
    values = task_conflict.balance_and_learned(explained)
    np.testing.assert_allclose(values["balance"][:4], [8 / 9, 0.3, 1.0, 0.0])
    labels = [task_conflict.LABELS[c] for c in task_conflict.TASK_CONFLICT_RULE.classify(values)]
    assert labels == [
        "learn_everything", "winner_take_all", "learn_everything", "not_learned", "not_learned"
    ]  # fmt: skip
    assert task_conflict.BALANCED == 0.5  # the thresholds are the ones stated in the README


# -- the theory -----------------------------------------------------------------------------
def reduced_rank(config, width):
    """Each task's explained fraction and view 1's dominance of the best rank-``width`` map
    (Σ_xx = I: the truncated SVD of Σ_yx), computed directly on the data."""
    x, y = conflict_data(config)
    u, s, vt = np.linalg.svd(y @ x.T / x.shape[1])
    w = (u[:, :width] * s[:width]) @ vt[:width]
    out = w @ x
    r = x.shape[0] // 2
    explained = [
        1 - ((out - y)[h * r : (h + 1) * r] ** 2).sum() / (y[h * r : (h + 1) * r] ** 2).sum()
        for h in (0, 1)
    ]  # noqa: E501
    v1, v2 = (w[:, :r] ** 2).sum(), (w[:, r:] ** 2).sum()
    return np.array(explained), v1 / (v1 + v2)


@pytest.mark.parametrize("kappa", [0.0, 0.4, 0.8, 1.0])
@pytest.mark.parametrize("ratio", [0.5, 0.7, 2.0])
@pytest.mark.parametrize("width", [1, 3, 5, 7, 10, 12])
def test_theory_at_long_times_is_the_best_rank_h_map(kappa, ratio, width):
    config = ConflictConfig(n_items=6, conflict=kappa, view_ratio=ratio)
    explained, dominance = reduced_rank(config, width)
    # long enough that every learned mode has reached its asymptote
    p = predict_cell(6, kappa, ratio, width, lr=0.01, init_std=1e-3, epochs=200_000)
    np.testing.assert_allclose(p.explained, explained, atol=1e-9)
    assert p.dominance == pytest.approx(dominance, abs=1e-9)
    assert not p.tie


def test_theory_follows_the_closed_form_mode_by_mode_in_time():
    # width 10 learns both singular values: e_A(t) is the closed-form sum over both modes
    lr, std, epochs = 0.002, 0.01, 300
    p = predict_cell(6, 1.0, 0.5, 10, lr, std, epochs)
    g1, g2 = view_gains(0.5)
    dyn = ModePrediction(np.array([g1, g2]), np.ones(2), 1 / (36 * lr), std**2 * 10 / 2, 36, 0)
    a = dyn.strength([epochs])[0]
    # at κ = 1 mode 1 is task A's (u = e_A), mode 2 task B's: e_h = (2 s a − a²) / s²
    np.testing.assert_allclose(p.explained, (2 * dyn.s * a - a**2) / dyn.s**2, rtol=1e-9)
    # half of each task's final fraction is reached at the closed form's crossing
    half = [dyn.strength([t])[0] for t in p.learn_time]
    for h in range(2):
        got = (2 * dyn.s[h] * half[h][h] - half[h][h] ** 2) / dyn.s[h] ** 2
        assert got == pytest.approx(p.explained[h] / 2, rel=1e-3)


def test_ties_and_learned_copies():
    copies, tie = learned_copies(np.array([1.0, 1.0]), 3, 5)
    assert tie and copies.tolist() == [1.5, 1.5]
    copies, tie = learned_copies(np.array([1.2, 0.5]), 7, 5)
    assert not tie and copies.tolist() == [5, 2]
    copies, _ = learned_copies(np.array([1.2, 0.0]), 7, 5)
    assert copies.tolist() == [5, 0]  # κ = 0: the second singular value is 0
    p = predict_cell(6, 1.0, 1.0, 5, 0.01, 0.01, 5000)  # equal strengths, full conflict
    assert p.tie and p.phase == "learn_everything"
    np.testing.assert_allclose(p.explained, [0.5, 0.5], atol=1e-6)


def test_theory_grid_shapes_and_boundary_direction():
    grid = predict_grid(6, np.linspace(0, 1, 5), 0.7, [1, 5, 12], 0.01, 0.01, 2000)
    assert grid["phase"].shape == (5, 1, 3)
    phase = grid["phase"][:, 0]
    assert (phase[0] == "learn_everything").all()  # one task: always learned together
    assert list(phase[-1]) == ["winner_take_all", "winner_take_all", "learn_everything"]


def test_closed_form_is_finite_at_long_times():
    dyn = ModePrediction(np.array([1.3, 0.2]), np.ones(2), 1.0, 1e-8, 10, 0.0)
    np.testing.assert_allclose(dyn.strength([1e6])[0], [1.3, 0.2])


# -- trained networks against the theory on clear-cut cells --------------------------------
CELLS = [(0.0, 0.7, 5), (1.0, 0.7, 5), (1.0, 0.7, 10), (0.5, 0.7, 3), (1.0, 0.4, 7)]


@pytest.fixture(scope="module")
def trained_linear():
    cfg = TrainConfig(steps=3000, lr=0.002, **GD)
    out = {}
    for kappa, ratio, width in CELLS:
        base = ModelConfig.build(
            "two_view_linear", "conflict", n_hidden=width, conflict=kappa, view_ratio=ratio
        )
        out[(kappa, ratio, width)] = train([base] * 4, cfg, [model_seed(0, 0, s) for s in range(4)])
    return out


@pytest.mark.parametrize("cell", CELLS)
def test_trained_linear_networks_match_the_theory(trained_linear, cell):
    kappa, ratio, width = cell
    result = trained_linear[cell]
    p = predict_cell(6, kappa, ratio, width, 0.002, 0.01, 3000)
    np.testing.assert_allclose(
        result.metrics["explained"], p.explained[None].repeat(4, 0), atol=0.01
    )  # noqa: E501
    np.testing.assert_allclose(result.metrics["dominance"], p.dominance, atol=0.01)
    values = task_conflict.balance_and_learned(result.metrics["explained"])
    phases = [task_conflict.LABELS[c] for c in task_conflict.TASK_CONFLICT_RULE.classify(values)]
    assert phases == [p.phase] * 4


def test_no_conflict_gives_every_seed_the_same_dominance(trained_linear):
    dominance = trained_linear[(0.0, 0.7, 5)].metrics["dominance"]
    assert dominance.std() < 0.01
    g1, g2 = view_gains(0.7)
    assert dominance.mean() == pytest.approx(g1**2 / (g1**2 + g2**2), abs=1e-3)


def test_narrow_layer_under_full_conflict_gives_the_stronger_view_everything(trained_linear):
    result = trained_linear[(1.0, 0.7, 5)]
    np.testing.assert_allclose(result.metrics["explained"][:, 0], 1.0, atol=0.01)
    np.testing.assert_allclose(result.metrics["explained"][:, 1], 0.0, atol=0.01)
    assert (result.metrics["dominance"] > 0.99).all()


def test_relu_layer_splits_seeds_at_a_tie():
    # equal strengths, full conflict, room for one task: the ReLU layer's winner depends on
    # the seed (the linear theory is degenerate there)
    base = ModelConfig.build("two_view_relu", "conflict", n_hidden=5, conflict=1.0, view_ratio=1.0)
    result = train([base] * 8, TrainConfig(steps=3000, lr=0.002, **GD),
                   [model_seed(0, 0, s) for s in range(8)])  # fmt: skip
    dominance = result.metrics["dominance"]
    assert dominance.std() > 0.05
    assert TwoViewReLU.relu and not TwoViewLinear.relu
