"""Candidate solutions and the candidate theory: closed forms against Monte Carlo, the
phase map at clear-cut points, exact transitions against dense scans and finite
differences, and boundary curves against the transitions."""

import time

import numpy as np
import pytest
import sympy

import analytics.loss_derivation as engine
from analytics import (
    boundary_curves,
    candidate_losses,
    candidates,
    exact_loss,
    p,
    r,
    theory_map,
    transitions,
)
from toymodels.errors import ConfigError

NAMES = {
    2: ["[1,0]", "[0,1]", "[1,-1]"],
    3: ["W⊥[0,0,1]", "W⊥[1,0,0]", "W⊥[0,1,1]", "W⊥[1,1,0]"],
}
PHASES = {
    2: ["not_represented", "dedicated", "superposition"],
    3: ["not_represented", "dedicated", "superposition", "dedicated"],
}
# Monte Carlo: 2^18 examples, and a 5-sigma band on the sample mean.
MC_SAMPLES = 2**18
MC_SIGMAS = 5.0


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(engine, "_MEMORY", {})


@pytest.mark.parametrize("n", [2, 3])
def test_candidates_follow_the_paper(n):
    cands = candidates(n)
    assert [c.name for c in cands] == NAMES[n]
    assert [c.phase for c in cands] == PHASES[n]
    for c in cands:
        assert c.W.shape == (n - 1, n)
        assert c.W * sympy.Matrix(c.ignores) == sympy.zeros(n - 1, 1)  # W ⊥ v
        assert sympy.Matrix(c.W).rank() == n - 1
        norms = [sympy.sqrt(sum(v**2 for v in c.W[:, i])) for i in range(n)]
        for i in range(n):
            # represented: unit norm and zero bias; dropped: bias = its mean p/2
            assert (norms[i], c.b[i]) in {(1, 0), (0, p / 2)}
        assert c.loss.free_symbols <= {p, r}
        # one mechanism: the loss is the engine's
        importance = [1] * (n - 1) + ["r"]
        assert sympy.expand(c.loss - exact_loss(c.W, list(c.b), importance)) == 0


def _monte_carlo(W, b, importance, density, rng):
    n = W.shape[1]
    x = rng.random((MC_SAMPLES, n)) * (rng.random((MC_SAMPLES, n)) < density)
    out = np.maximum(x @ W.T @ W + b, 0.0)
    per_example = ((x - out) ** 2) @ importance
    return per_example.mean(), per_example.std() / np.sqrt(MC_SAMPLES)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize(("density", "importance"), [(0.05, 0.3), (0.3, 1.0), (0.9, 4.0)])
def test_candidate_losses_match_monte_carlo(n, density, importance):
    rng = np.random.default_rng([n, int(density * 100), int(importance * 10)])
    for c in candidates(n):
        W = np.array(c.W.tolist(), dtype=np.float64)
        b = np.array([float(v.subs(p, density)) for v in c.b])
        weights = np.array([1.0] * (n - 1) + [importance])
        mean, se = _monte_carlo(W, b, weights, density, rng)
        exact = float(c.loss.subs({p: density, r: importance}))
        assert abs(exact - mean) <= MC_SIGMAS * se + 1e-12, c.name


@pytest.mark.parametrize(
    ("n", "density", "importance", "winner"),
    [
        (2, 1.0, 0.1, "[1,0]"),
        (2, 1.0, 10.0, "[0,1]"),
        (2, 0.01, 1.0, "[1,-1]"),
        (3, 1.0, 0.1, "W⊥[0,0,1]"),
        (3, 1.0, 10.0, "W⊥[1,0,0]"),
        (3, 0.01, 0.5, "W⊥[0,1,1]"),
        (3, 0.01, 2.0, "W⊥[1,1,0]"),
    ],
)
def test_theory_map_at_clear_cut_points(n, density, importance, winner):
    tm = theory_map(n, [density], [importance])
    assert tm.names[tm.winner[0, 0]] == winner
    phase = dict(zip(NAMES[n], PHASES[n], strict=True))[winner]
    assert tm.phase[0, 0] == phase
    assert tm.losses.shape == (len(NAMES[n]), 1, 1)


@pytest.mark.parametrize("n", [2, 3])
def test_theory_map_200_by_200_is_fast(n):
    density, importance = np.geomspace(0.01, 1, 200), np.geomspace(0.1, 10, 200)
    theory_map(n, density, importance)  # expressions derived and lambdified
    times = []
    for _ in range(5):
        start = time.perf_counter()
        tm = theory_map(n, density, importance)
        times.append(time.perf_counter() - start)
    assert tm.winner.shape == (200, 200) and tm.losses.shape == (len(NAMES[n]), 200, 200)
    assert np.median(times) < 0.5
    # the map is the argmin of the exact losses
    lossf = candidate_losses(n, density[:, None], importance[None, :])
    np.testing.assert_array_equal(tm.winner, lossf.argmin(0))


def _optimal_loss(n, density, importance):
    return candidate_losses(n, np.asarray(density), importance).min(0)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("importance", [0.1, 0.5, 0.9, 2.0, 10.0])
def test_transitions_are_every_change_of_the_argmin(n, importance):
    found = transitions(n, importance)
    grid = np.linspace(1e-5, 1 - 1e-5, 100_001)
    winner = candidate_losses(n, grid, importance).argmin(0)
    changes = np.flatnonzero(winner[1:] != winner[:-1])
    assert len(found) == len(changes)
    names = NAMES[n]
    for t, j in zip(found, changes, strict=True):
        assert grid[j] <= t.density <= grid[j + 1]
        assert (t.from_, t.to) == (names[winner[j]], names[winner[j + 1]])
        assert float(t.density_exact) == pytest.approx(t.density, abs=1e-15)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("importance", [0.1, 0.5, 2.0, 10.0])
def test_slope_jump_matches_finite_differences(n, importance):
    for t in transitions(n, importance):
        h = 1e-6
        pc = t.density
        lo, mid, hi = _optimal_loss(n, [pc - h, pc, pc + h], importance)
        jump = (hi - mid) / h - (mid - lo) / h
        assert jump == pytest.approx(t.slope_jump, rel=1e-3, abs=1e-6)
        assert t.slope_jump < 0  # a first-order transition: the minimum of crossing losses
        assert float(t.slope_jump_exact) == pytest.approx(t.slope_jump, rel=1e-12)
        expr_value = t.slope_jump_expr.subs({p: t.density_exact, r: sympy.nsimplify(importance)})
        assert float(expr_value) == pytest.approx(t.slope_jump, rel=1e-12)


def test_n2_transitions_exact_values():
    # from the closed forms (r = 0.1 and 10 mirror each other through r -> 1/r)
    (low,) = transitions(2, 0.1)
    (high,) = transitions(2, 10)
    assert low.density_exact == sympy.Rational(4, 25) == high.density_exact
    assert (low.from_, low.to, high.from_, high.to) == ("[1,-1]", "[1,0]", "[1,-1]", "[0,1]")
    assert low.slope_jump_exact == sympy.Rational(-1, 30)


@pytest.mark.parametrize("n", [2, 3])
def test_boundary_curves_lie_on_argmin_switches(n):
    curves = boundary_curves(n, points=200)
    assert curves
    names = NAMES[n]
    for c in curves:
        assert len(c.density) == len(c.importance) >= 2
        assert np.all((c.density >= 0.01) & (c.density <= 1))
        assert np.all((c.importance >= 0.1) & (c.importance <= 10))
        losses = candidate_losses(n, c.density, c.importance)
        a, b = (names.index(x) for x in c.between)
        best = losses.min(0)
        np.testing.assert_allclose(losses[a], best, rtol=1e-8)
        np.testing.assert_allclose(losses[b], best, rtol=1e-8)
        # consecutive points are close in log space (one connected curve)
        steps = np.abs(np.diff(np.log10(np.stack([c.density, c.importance])), axis=1))
        assert steps.max() < 0.1


def test_boundary_curves_agree_with_transitions():
    curves = {c.between: c for c in boundary_curves(2, points=300)}
    for importance in (0.2, 0.5, 3.0, 8.0):
        (t,) = transitions(2, importance)
        curve = curves[tuple(sorted((t.from_, t.to), key=NAMES[2].index))]
        order = np.argsort(curve.importance)
        p_at_r = np.interp(importance, curve.importance[order], curve.density[order])
        assert p_at_r == pytest.approx(t.density, rel=1e-3)


def test_bad_feature_counts_are_config_errors():
    with pytest.raises(ConfigError, match="2 and 3"):
        candidates(4)
    with pytest.raises(ConfigError):
        transitions(2, -1.0)
