"""The Thomson geometry of superposition: energies, gradients, minima, the command, the
comparison with trained models and its figure."""

import json
import math

import numpy as np
import pytest
import torch

from analytics import thomson
from cli.main import main
from toymodels.errors import ConfigError


def polygon(k: int, radius: float = 1.0) -> np.ndarray:
    """A regular k-gon in the plane as ``W [2, k]``."""
    a = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(a), np.sin(a)])


def energy(W) -> float:
    return float(thomson.thomson_energy(torch.as_tensor(W, dtype=torch.float64)[None])[0][0])


# -- the energies, by hand --------------------------------------------------------------
def test_fixed_norm_energy_of_regular_polygons_by_hand():
    # Ordered pairs i != j: each vertex has two neighbours at 360°/k; beyond 90° the ReLU
    # makes the overlap free.  Hexagon: 6 x 2 x cos(60°)² = 6 x 2 x 0.25 = 3.
    assert energy(polygon(6)) == pytest.approx(3.0, abs=1e-12)
    # Pentagon: 5 x 2 x cos(72°)², cos 72° = (√5 − 1)/4, so (15 − 5√5)/4 = 0.9549...
    assert energy(polygon(5)) == pytest.approx((15 - 5 * math.sqrt(5)) / 4, abs=1e-12)
    assert energy(polygon(5)) == pytest.approx(0.955, abs=5e-4)
    # Square and triangle: no neighbour closer than 90°.
    assert energy(polygon(4)) == pytest.approx(0.0, abs=1e-12)
    assert energy(polygon(3)) == 0.0
    # The energy of directions: scaling a vector changes nothing.
    assert energy(polygon(5) * np.array([1, 2, 3, 0.5, 7])) == pytest.approx(energy(polygon(5)))


def test_one_sparse_loss_of_a_pentagon_by_hand():
    # Σ_i (1 − r²)² + 5 x 2 x (r² cos 72°)²; its minimum over r² is at 1/(1 + 2cos²72°).
    c2 = math.cos(math.radians(72)) ** 2
    for r in (0.5, 0.9163, 1.0):
        W = torch.as_tensor(polygon(5, r))[None]
        expected = 5 * (1 - r * r) ** 2 + 10 * (r * r) ** 2 * c2
        assert float(thomson.one_sparse_loss(W)[0][0]) == pytest.approx(expected, abs=1e-12)
    # A bias b_j enters output j: with b = −0.2 the pentagon's interference at r = 1 is
    # ReLU(0.309 − 0.2)² per neighbour and its benefit (1 − ReLU(1 − 0.2))².
    W = torch.as_tensor(polygon(5))[None]
    b = torch.full((1, 5), -0.2, dtype=torch.float64)
    expected = 5 * 0.2**2 + 10 * (math.cos(math.radians(72)) - 0.2) ** 2
    assert float(thomson.one_sparse_loss(W, b)[0][0]) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("which", ["fixed", "free", "bias"])
def test_gradients_equal_autograd_and_finite_differences(which):
    rng = np.random.default_rng(3)
    W = torch.as_tensor(rng.standard_normal((4, 3, 7)) / 1.5, dtype=torch.float64)
    b = torch.as_tensor(rng.standard_normal((4, 7)) * 0.3, dtype=torch.float64)

    def f(W, b):
        if which == "fixed":
            e, gW = thomson.thomson_energy(W)
            return e, gW, None
        return thomson.one_sparse_loss(W, b if which == "bias" else None)

    value, gW, gb = f(W, b)
    Wa, ba = W.clone().requires_grad_(), b.clone().requires_grad_()
    auto = f(Wa, ba)[0].sum()
    auto.backward()
    torch.testing.assert_close(gW, Wa.grad, rtol=1e-10, atol=1e-12)
    if which == "bias":
        torch.testing.assert_close(gb, ba.grad, rtol=1e-10, atol=1e-12)
    # one central difference per entry of the first start, independent of autograd
    h = 1e-6
    for idx in [(0, 0, 0), (0, 2, 5), (0, 1, 3)]:
        up, down = W.clone(), W.clone()
        up[idx] += h
        down[idx] -= h
        fd = (f(up, b)[0][0] - f(down, b)[0][0]) / (2 * h)
        assert float(gW[idx]) == pytest.approx(float(fd), rel=1e-6, abs=1e-8)


# -- the minima ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "expected", "angle"), [(5, (15 - 5 * 5**0.5) / 4, 72.0), (6, 3.0, 60.0)]
)
def test_fixed_norm_minimum_in_the_plane_is_the_regular_polygon(n, expected, angle):
    found = thomson.minimise(n, 2, "fixed", starts=32, seed=1)
    assert found.energy == pytest.approx(expected, abs=1e-7)
    assert found.hits == 32  # every start finds it
    np.testing.assert_allclose(found.nearest_angles, angle, atol=1e-3)
    np.testing.assert_allclose(found.feature_norms, 1.0, atol=1e-12)


def test_fixed_norm_minimum_stacks_features_from_seven_in_the_plane():
    # The heptagon's energy is 7 x 2 x cos²(360°/7) = 5.442; two stacked pairs and three
    # more directions do better (5.432), and ten points are a pentagon of stacked pairs.
    heptagon = energy(polygon(7))
    found = thomson.minimise(7, 2, "fixed", starts=64, seed=0)
    assert found.energy < heptagon - 5e-3
    assert (found.nearest_angles < 1e-3).sum() == 4
    ten = thomson.minimise(10, 2, "fixed", starts=64, seed=0)
    assert ten.energy == pytest.approx(10 * 1.0 + 2 * 2 * 5 * (math.cos(math.radians(72))) ** 2 * 2)
    np.testing.assert_allclose(ten.nearest_angles, 0.0, atol=1e-3)


@pytest.mark.parametrize("n", range(5, 11))
def test_free_norm_minimum_in_the_plane_is_a_pentagon(n):
    a = 2 * math.cos(math.radians(72)) ** 2
    found = thomson.minimise(n, 2, "free", starts=32, seed=n)
    # 5 kept at r² = 1/(1 + a), each costing a/(1 + a); every other feature dropped (1)
    assert found.energy == pytest.approx(n - 5 + 5 * a / (1 + a), abs=1e-7)
    assert found.kept.sum() == 5
    norms = np.sort(found.feature_norms)[::-1]
    np.testing.assert_allclose(norms[:5], (1 / (1 + a)) ** 0.5, atol=1e-4)
    assert norms[:5] == pytest.approx(0.9163, abs=1e-4)
    np.testing.assert_allclose(norms[5:], 0.0, atol=1e-6)
    np.testing.assert_allclose(found.nearest_angles, 72.0, atol=1e-3)


def test_free_norm_minimum_of_eight_in_three_dimensions():
    # Eight features kept with every nearest neighbour at 72.04° (measured; not exactly
    # the pentagon's 72°), norms 0.8925, loss 1.627931.
    found = thomson.minimise(8, 3, "free", starts=64, seed=0)
    assert found.kept.sum() == 8
    assert found.energy == pytest.approx(1.627931, abs=1e-6)
    np.testing.assert_allclose(found.nearest_angles, 72.04, atol=0.01)
    np.testing.assert_allclose(found.feature_norms, 0.8925, atol=1e-3)


def test_free_biases_make_the_one_sparse_loss_vanish():
    # With b_i = 1 − ‖W_i‖² and ‖W_i‖² ≥ 1/(1 − cos θ_min) every interference is cut off:
    # the loss at x_i = 1 reaches 0 and every feature is kept.
    found = thomson.minimise(7, 2, "free", bias=True, starts=32, seed=0)
    assert found.energy == pytest.approx(0.0, abs=1e-8)
    assert found.kept.sum() == 7
    assert (found.b < 0).all()


def test_stacked_features_are_merged_without_changing_the_loss():
    rng = np.random.default_rng(0)
    W = polygon(5, 0.9)
    W = np.concatenate([W, W[:, :2] * 0.5, rng.standard_normal((2, 1)) * 0], axis=1)
    merged = thomson.merge_stacked(W)
    loss = [float(thomson.one_sparse_loss(torch.as_tensor(w)[None])[0][0]) for w in (W, merged)]
    assert loss[0] == pytest.approx(loss[1], abs=1e-12)
    assert (np.linalg.norm(merged, axis=0) > 1e-12).sum() == 5
    np.testing.assert_allclose(np.linalg.norm(merged[:, :2], axis=0), (0.81 + 0.2025) ** 0.5)


def test_the_same_seed_gives_the_same_minimum():
    a, b = (thomson.minimise(9, 3, "free", starts=16, seed=7) for _ in range(2))
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.energies, b.energies)
    c = thomson.minimise(9, 3, "free", starts=16, seed=8)
    assert not np.array_equal(a.W, c.W)
    assert c.energy == pytest.approx(a.energy, abs=1e-6)


def test_few_active_loss_equals_monte_carlo():
    rng = np.random.default_rng(5)
    W, b, p = rng.standard_normal((2, 6)) * 0.8, rng.standard_normal(6) * 0.3, 0.05
    loss, left_out = thomson.few_active_loss(W, b, p)
    # Monte Carlo over inputs with at most two active features, weighted the same way
    n_samples = 400_000
    x = (rng.random((n_samples, 6)) < p) * rng.random((n_samples, 6))
    few = (x > 0).sum(1) <= 2
    per = ((x - np.maximum(x @ W.T @ W + b, 0)) ** 2).sum(1) * few
    err = per.std() / n_samples**0.5
    assert abs(per.mean() - loss) < 4 * err
    assert left_out == pytest.approx(
        1 - ((1 - p) ** 6 + 6 * p * (1 - p) ** 5 + 15 * p**2 * (1 - p) ** 4)
    )


# -- the command --------------------------------------------------------------------------
def test_command_json(capsys):
    assert main(["analytic", "thomson", "--features", "6", "--dims", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"energy", "W", "norms", "kept", "nearest_angles"} <= set(out)
    assert out["kept"] == 5 and len(out["nearest_angles"]) == 5
    assert np.array(out["W"]).shape == (2, 6)
    assert out["energy"] == pytest.approx(1.801787, abs=1e-6)
    assert main(["analytic", "thomson", "--features", "6", "--dims", "2", "--norms", "fixed"]) == 0
    text = capsys.readouterr().out
    assert "Thomson energy 3.000000" in text and "60.00" in text


@pytest.mark.parametrize(
    "args",
    [
        ["--features", "1", "--dims", "2"],
        ["--features", "5", "--dims", "0"],
        ["--features", "51", "--dims", "2"],
        ["--features", "50", "--dims", "10"],  # 550 parameters per start
        ["--features", "nan", "--dims", "2"],
        ["--features", "5", "--dims", "inf"],
        ["--features", "5", "--dims", "2", "--starts", "4097"],
        ["--features", "5", "--dims", "2", "--starts", "0"],
        ["--features", "5", "--dims", "2", "--seed", "-1"],
        ["--features", "5", "--dims", "2", "--norms", "fixed", "--bias"],
        ["--features", "5", "--dims", "2", "--norms", "both"],
        ["--features", "40", "--dims", "1", "--starts", "4096", "--time-limit", "0.05"],
    ],
)
def test_command_refuses_bad_input_in_one_line(capsys, args):
    assert main(["analytic", "thomson", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "error:" in err and "Traceback" not in err


# -- trained models beside the minimum --------------------------------------------------
def test_trained_pentagon_matches_the_minimum_in_the_plane(tmp_path):
    from summaries.thomson_comparison import ANGLE_TOLERANCE, summarise, thomson_rows
    from sweeps import load_preset, run

    # A short version of the thomson-plane preset: 2,000 steps at lr 5e-3 reach the same
    # shapes as 10,000 at 1e-3 (docs/superposition.md).
    spec = load_preset("thomson-plane").with_overrides(
        {"axes.n_features": [5, 8], "seeds": 3, "train.steps": 2000, "train.lr": 0.005}
    )
    ds = run(spec, tmp_path / "run", jobs=1)
    rows = {r.features: r for r in thomson_rows({"plane": ds})}
    five, eight = rows[5], rows[8]
    assert five.minimum.kept == 5 and five.seeds_kept == (5, 5, 5)
    assert five.agrees and five.nearest_gap < ANGLE_TOLERANCE
    # N = 8: the minimum is still the pentagon; a trained seed keeps at least as many
    # features (its bias buys more: a hexagon, or stacked pairs), and any seed that keeps
    # five has the pentagon's angles.
    assert eight.minimum.kept == 5
    assert all(k >= 5 for k in eight.seeds_kept)
    assert eight.trained.kept >= 5
    summary = summarise([five, eight])
    json.dumps(summary, allow_nan=False)
    assert [r["features"] for r in summary["rows"]] == [5, 8]
    # a sweep with another axis is refused, not read cell by cell
    with pytest.raises(ConfigError, match="n_features alone.*density"):
        thomson_rows({"plane": ds.expand_dims(density=[0.01, 0.02])})


def test_figure_draws_every_feature_of_both_sides():
    import matplotlib

    matplotlib.use("Agg")
    from figures.thomson_geometry import FEATURE_GID, thomson_figure
    from summaries.thomson_comparison import Geometry, ThomsonRow

    def row(n, m, W_trained):
        found = thomson.minimise(n, m, "free", starts=8, seed=0)
        return ThomsonRow(
            n,
            m,
            Geometry.of(found.W, found.b, found.energy),
            Geometry.of(W_trained, np.zeros(n), 0.0),
            (5,),
            (0.0,),
        )

    rng = np.random.default_rng(0)
    rows = [row(5, 2, polygon(5)), row(6, 2, polygon(6)), row(6, 3, rng.standard_normal((3, 6)))]
    fig = thomson_figure(rows)
    lines = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == FEATURE_GID]
    assert len(lines) == 2 * (5 + 6 + 6)
    labels = {ax.get_xlabel() for ax in fig.axes}
    assert "features N" in labels
    titles = [ax.get_title() for ax in fig.axes]
    assert titles.count("N = 6") == 2 and titles.count("N = 5") == 1
    with pytest.raises(ValueError):
        thomson_figure([])
