"""The true optimum (free W and b) against a brute-force grid search on n=2, and the
critical density where its extra feature changes phase."""

import time

import numpy as np
import pytest
import torch

import analytics.optimum as optimum
from analytics import critical_density, optimum_map, phase_switches, transitions
from toymodels import ModelConfig
from toymodels.families import ReLUOutput, feature_metrics
from toymodels.phases import extra_feature

LABELS = extra_feature.LABELS


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # one cache for the module: phase_switches results are reused across tests
    folder = tmp_path_factory.getbasetemp() / "analytics-optimum-cache"
    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(folder))


@pytest.fixture(autouse=True)
def _one_thread():
    # the brute-force grid is many small tensor ops: extra threads only contend
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _grid_losses(density, weights, W, b_values):
    """Exact losses ``[b value, model]`` with ``b = (v, v)`` (torch, float64)."""
    K = len(W)
    cfg = ModelConfig.superposition("relu", 2, 1, density, tuple(weights))
    model = ReLUOutput([cfg] * K, [np.random.SeedSequence(0)] * K, dtype=torch.float64)
    out = []
    with torch.no_grad():
        model.W.copy_(torch.as_tensor(W))
        for v in b_values:
            model.b.fill_(float(v))
            out.append(model.expected_loss().numpy().copy())
    return np.array(out)


def _search(density, importance, w1, w2, b_values):
    """Grid search over W = [w1, w2] and b.  Output i's term depends on b_i only, so with
    importances (1, 0) and (0, r) each bias is minimised on its own grid."""
    g1, g2 = np.meshgrid(w1, w2, indexing="ij")
    W = np.stack([g1.ravel(), g2.ravel()], axis=1)[:, None, :]
    l1 = _grid_losses(density, (1.0, 0.0), W, b_values)
    l2 = _grid_losses(density, (0.0, importance), W, b_values)
    total = l1.min(0) + l2.min(0)
    k = int(np.argmin(total))
    b = np.array([b_values[l1[:, k].argmin()], b_values[l2[:, k].argmin()]])
    return total[k], W[k], b


def brute_force(density, importance):
    """Coarse grid (w1 >= 0 by the W -> -W symmetry), then two zooms around the best."""
    loss, W, b = _search(
        density,
        importance,
        np.linspace(0, 1.5, 31),
        np.linspace(-1.5, 1.5, 61),
        np.linspace(-0.3, 0.6, 91),
    )
    for step in (0.005, 0.0005):
        around = step * np.arange(-10, 11)
        b_values = np.unique(np.concatenate([b[0] + 2 * around, b[1] + 2 * around]))
        loss, W, b = _search(density, importance, W[0, 0] + around, W[0, 1] + around, b_values)
    return loss, W, b


def _phase(W):
    m = feature_metrics(torch.as_tensor(W, dtype=torch.float64).reshape(1, *np.shape(W)))
    return LABELS[extra_feature.classify(m["norm"][:, -1], m["interference"][:, -1])[0]]


@pytest.mark.parametrize(
    ("density", "importance", "phase"),
    [
        (0.05, 1.0, "superposition"),
        (0.9, 0.3, "not_represented"),
        (0.9, 3.0, "dedicated"),
        # either side of the critical density at r = 2 (0.4846)
        (0.48, 2.0, "superposition"),
        (0.49, 2.0, "dedicated"),
    ],
)
def test_optimum_matches_brute_force(density, importance, phase):
    cells = optimum.optimise_cells(2, [density], [importance])
    loss, W, _ = brute_force(density, importance)
    # never worse than the grid, and the grid comes close to it
    assert cells.loss[0] <= loss * (1 + 1e-9)
    assert loss <= cells.loss[0] * (1 + 2e-4)
    assert LABELS[cells.code[0]] == _phase(W) == phase


def test_critical_density_n2():
    (switch,) = phase_switches(2, 2.0)
    assert (switch.below, switch.above) == ("superposition", "dedicated")
    assert switch.density_above - switch.density_below <= optimum.DENSITY_TOL
    assert 0.48 < switch.density < 0.49  # brute force: superposition at 0.48, dedicated at 0.49
    assert _phase(switch.W_below) == "superposition" and _phase(switch.W_above) == "dedicated"
    # the optimal loss is continuous across the switch (the slope jumps, not the value)
    assert switch.loss_above == pytest.approx(switch.loss_below, rel=1e-4)
    # free norms and biases enlarge the superposition region beyond the candidates'
    (candidate,) = transitions(2, 2.0)
    assert switch.density > candidate.density + 0.02
    # n=2 is symmetric under swapping the features and r -> 1/r (the loss scales by r)
    mirror = critical_density(2, 0.5)
    assert mirror == pytest.approx(switch.density, abs=2 * optimum.DENSITY_TOL)
    assert critical_density(2, 2.0) == switch.density  # cached


def test_optimum_map_small_grid_and_cache():
    density, importance = [0.01, 0.9], [0.2, 1.0, 5.0]
    start = time.perf_counter()
    m = optimum_map(2, density, importance)
    first = time.perf_counter() - start
    assert m.phase.shape == (2, 3) and m.W.shape == (2, 3, 1, 2) and m.b.shape == (2, 3, 2)
    assert m.phase[0, 1] == "superposition"
    assert m.phase[1, 0] == "not_represented" and m.phase[1, 2] == "dedicated"
    start = time.perf_counter()
    again = optimum_map(2, density, importance)
    assert time.perf_counter() - start < max(0.2, first / 10)
    np.testing.assert_array_equal(again.W, m.W)
    np.testing.assert_array_equal(again.phase, m.phase)


def test_cells_do_not_depend_on_their_batch_mates():
    alone = optimum.optimise_cells(2, [0.2], [1.5], seed=3)
    together = optimum.optimise_cells(2, [0.2, 0.7], [1.5, 0.3], seed=3)
    np.testing.assert_allclose(together.W[0], alone.W[0], rtol=0, atol=1e-12)
    assert together.loss[0] == pytest.approx(alone.loss[0], rel=1e-14)
