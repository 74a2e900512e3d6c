"""The multi-task figures (figures.multitask_panels) on tiny trained runs of each contextual family
and on synthetic distance matrices: what is drawn, and that it is the data."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import sweeps  # noqa: E402
from analytics.mode_dynamics import predict  # noqa: E402
from figures import multitask_panels as mt  # noqa: E402
from figures._layout import overlapping_texts  # noqa: E402
from summaries.multitask_summary import prediction_for  # noqa: E402
from toymodels.contextual_data import (
    DEFAULT_INIT_STD,  # noqa: E402
    ContextualConfig,  # noqa: E402
)
from toymodels.families.gdln import pathway_names  # noqa: E402

SEEDS = 2
LR = 1e-2
HIDDEN = 16


def _train(tmp_path_factory, family: str) -> xr.Dataset:
    spec = {
        "name": "t",
        "family": family,
        "task": "contextual",
        "n_hidden": HIDDEN,
        "seeds": SEEDS,
        "train": {
            "steps": 200,
            "lr": LR,
            "optimizer": "sgd",
            "estimator": "full",
            "record_every": 50,
        },
    }
    folder = tmp_path_factory.mktemp(family)
    return sweeps.run(sweeps.SweepSpec.from_dict(spec), folder / "run", jobs=1)


@pytest.fixture(scope="module")
def relu(tmp_path_factory):
    return _train(tmp_path_factory, "contextual_relu")


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    return _train(tmp_path_factory, "contextual_linear")


@pytest.fixture(scope="module")
def gdln(tmp_path_factory):
    return _train(tmp_path_factory, "gdln")


def _gid(fig, gid: str) -> list:
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]


def _pairwise(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x[:, None] - x[None], axis=-1)


# -- classical MDS -----------------------------------------------------------------------
def test_classical_mds_recovers_a_planar_configuration():
    points = np.random.default_rng(0).normal(size=(12, 2)) * [3.0, 1.0] + [5.0, -2.0]
    coords = mt.classical_mds(_pairwise(points))
    assert coords.shape == (12, 2)
    np.testing.assert_allclose(_pairwise(coords), _pairwise(points), atol=1e-9)
    np.testing.assert_allclose(coords.mean(0), 0.0, atol=1e-9)
    # Sign convention: each axis's largest-magnitude coordinate is positive.
    assert all(coords[np.abs(coords[:, k]).argmax(), k] > 0 for k in range(2))
    # The first axis carries the larger spread (the points are 3x wider along one axis).
    assert coords[:, 0].var() > coords[:, 1].var()


def test_classical_mds_keeps_the_top_two_axes_of_higher_dimensional_points():
    # Points on a 3-D box, flattest along the third axis: MDS keeps the first two.
    points = np.random.default_rng(1).normal(size=(30, 3)) * [4.0, 2.0, 0.01]
    coords, kept = mt._mds(_pairwise(points))
    np.testing.assert_allclose(_pairwise(coords), _pairwise(points[:, :2]), atol=0.05)
    assert 0.99 < kept <= 1.0


# -- the closed form of a run ------------------------------------------------------------
def test_prediction_for_reads_the_runs_spec(relu):
    found = prediction_for(relu)
    expected = predict(ContextualConfig(), LR, DEFAULT_INIT_STD, HIDDEN)
    assert found.tau == pytest.approx(expected.tau) == pytest.approx(1 / (24 * LR))
    assert found.a0 == pytest.approx(DEFAULT_INIT_STD**2 * HIDDEN / 2)
    np.testing.assert_allclose(found.s, expected.s)


def test_prediction_for_falls_back_to_the_defaults():
    ds = xr.Dataset(attrs={"spec": json.dumps({"family": "gdln", "n_contexts": 4})})
    found = prediction_for(ds)
    assert found.tau == pytest.approx(1 / (32 * 1e-3))  # 8 objects x 4 contexts, lr 1e-3
    assert found.a0 == pytest.approx(DEFAULT_INIT_STD**2 * 100 / 2)  # gdln: 100 units
    expected = predict(ContextualConfig(n_contexts=4), 1e-3, DEFAULT_INIT_STD, 100)
    np.testing.assert_allclose(found.s, expected.s)
    # A cell picked out of a sweep over lr carries it as a coordinate.
    assert prediction_for(ds.assign_coords(lr=0.5)).tau == pytest.approx(1 / (32 * 0.5))


# -- figures -----------------------------------------------------------------------------
def test_loss_curves_draw_each_runs_mean_and_range_and_the_closed_form(relu, gdln):
    fig = mt.loss_curves({"ReLU": relu, "GDLN": gdln}, prediction_for(relu))
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    means = _gid(fig, mt.MEAN_GID)
    assert [line.get_label() for line in means] == ["ReLU", "GDLN"]
    np.testing.assert_allclose(means[0].get_ydata(), relu.loss_trajectory.mean("seed"))
    np.testing.assert_allclose(means[1].get_xdata(), gdln.step)
    assert len(_gid(fig, mt.BAND_GID)) == 2
    (theory,) = _gid(fig, mt.THEORY_GID)
    assert theory.get_label() == mt.THEORY_LABEL and theory.get_linestyle() == "--"
    # At epoch 0 the closed form starts from the untrained loss, ½·Σy² = 105.62.
    assert theory.get_ydata()[0] == pytest.approx(float(relu.loss_trajectory[0, 0]), rel=1e-3)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["ReLU", "GDLN", mt.THEORY_LABEL]
    lo, hi = ax.get_ylim()
    assert lo <= float(relu.loss_trajectory.min()) and hi >= float(relu.loss_trajectory.max())
    assert overlapping_texts(fig) == []


def test_loss_curves_draw_the_reln_closed_form_of_a_relu_run(relu):
    from analytics.reln_theory import predict_reln
    from summaries.reln_summary import reln_closed_form

    reln = reln_closed_form(relu)
    assert reln["epoch"] == relu.step.values.tolist()
    expected = predict_reln(ContextualConfig(), LR).loss(relu.step.values)
    np.testing.assert_allclose(reln["loss"], expected)
    fig = mt.loss_curves({"ReLU": relu}, prediction_for(relu), reln)
    (line,) = _gid(fig, mt.RELN_GID)
    assert line.get_label() == mt.RELN_LABEL and line.get_linestyle() == "-."
    np.testing.assert_allclose(line.get_ydata(), reln["loss"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["ReLU", mt.THEORY_LABEL, mt.RELN_LABEL]
    assert overlapping_texts(fig) == []


def test_mode_trajectories_pair_each_mode_with_its_closed_form(linear):
    prediction = prediction_for(linear)
    fig = mt.mode_trajectories(linear, prediction)
    modes = linear.sizes["mode"]
    theory = _gid(fig, mt.THEORY_GID)
    seeds = _gid(fig, mt.SEED_GID)
    assert len(theory) == modes == len(prediction.s)
    assert len(seeds) == modes * SEEDS
    # Seed lines and the closed form of one mode share its colour.
    for k in range(modes):
        assert {line.get_color() for line in seeds[k * SEEDS : (k + 1) * SEEDS]} == {
            theory[k].get_color()
        }
    np.testing.assert_allclose(
        seeds[SEEDS + 1].get_ydata(), linear.mode_strength_trajectory.isel(seed=1, mode=1)
    )
    np.testing.assert_allclose(
        theory[3].get_ydata(), prediction.strength(theory[3].get_xdata())[:, 3]
    )
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(legend) == modes + 2 and legend[0] == f"0: {prediction.s[0]:.3g}"
    assert overlapping_texts(fig) == []


def test_mode_trajectories_refuse_a_prediction_for_another_task(relu):
    with pytest.raises(ValueError, match="modes"):
        mt.mode_trajectories(relu, predict(ContextualConfig(n_contexts=5), LR))


def test_census_bars_show_the_mean_count_and_every_seed(relu):
    fig = mt.census_bars(relu)
    bars = _gid(fig, mt.BARS_GID)  # one rectangle per category
    counts = np.stack([relu[v].values for v in mt.CENSUS])
    np.testing.assert_allclose([b.get_height() for b in bars], counts.mean(1))
    (points,) = _gid(fig, mt.POINTS_GID)
    np.testing.assert_allclose(points.get_offsets()[:, 1], counts.ravel())
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["all contexts", "subset\n(2 contexts)", "one context"]
    assert overlapping_texts(fig) == []


def test_census_bars_need_a_census(gdln):
    with pytest.raises(ValueError, match="units_all"):
        mt.census_bars(gdln)


def _panel_coords(ax) -> np.ndarray:
    """The points of one MDS panel in sample order (one collection per object)."""
    objects = [c for c in ax.collections if c.get_gid() == mt.MDS_GID]
    assert len(objects) == mt.OBJECTS
    per_object = np.stack([c.get_offsets() for c in objects])  # [object, context, 2]
    return per_object.transpose(1, 0, 2).reshape(-1, 2)


def test_mds_snapshots_draw_the_mds_of_each_step(relu):
    fig = mt.mds_snapshots(relu, seed=1)
    # Default: 4 steps log-spaced from the first recorded after 0 up to the last.
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == [
        "epoch 50",
        "epoch 100",
        "epoch 150",
        "epoch 200",
    ]
    for ax, step in zip(fig.axes, (50, 100, 150, 200), strict=True):
        distances = relu.hidden_distance_trajectory.sel(seed=1, step=step).values
        drawn = _panel_coords(ax)
        # Alignment only rotates or reflects: the drawn geometry is the MDS's.
        np.testing.assert_allclose(
            _pairwise(drawn), _pairwise(mt.classical_mds(distances)), atol=1e-5
        )
    last = relu.hidden_distance_trajectory.sel(seed=1, step=200).values
    np.testing.assert_allclose(_panel_coords(fig.axes[-1]), mt.classical_mds(last), atol=1e-6)
    # Points coloured by context: the 3 contexts of object 0.
    colours = fig.axes[0].collections[0].get_facecolors()
    assert len({tuple(c) for c in colours}) == 3
    assert len(mt.mds_snapshots(relu, steps=[0, 200]).axes) == 2


def test_mds_snapshots_align_consecutive_panels():
    # The same geometry, rotated and mirrored each step: every panel must come out alike.
    rng = np.random.default_rng(2)
    base = rng.normal(size=(24, 2)) * [2.0, 1.0]
    frames = []
    for angle in (0.3, 1.7, 2.9):
        c, s = np.cos(angle), np.sin(angle)
        frames.append(_pairwise(base @ np.array([[c, -s], [s, c]]) * [1.0, -1.0]))
    ds = xr.Dataset(
        {"hidden_distance_trajectory": (("seed", "step", "sample", "sample_b"), [frames])},
        coords={"seed": [0], "step": [0, 10, 20]},
        attrs={"spec": json.dumps({"family": "contextual_relu"})},
    )
    fig = mt.mds_snapshots(ds, steps=[0, 10, 20])
    drawn = [_panel_coords(ax) for ax in fig.axes]
    for earlier in drawn[:-1]:
        np.testing.assert_allclose(earlier, drawn[-1], atol=1e-9)


def test_pathway_strengths_draw_every_pathway(gdln):
    fig = mt.pathway_strengths(gdln)
    names = pathway_names(3, "subsets")
    means = _gid(fig, mt.MEAN_GID)
    assert len(means) == len(names) == 7
    assert len(_gid(fig, mt.SEED_GID)) == len(names) * SEEDS
    top = gdln.pathway_singular_values_trajectory.isel(singular=0).mean("seed")
    for p, line in enumerate(means):
        np.testing.assert_allclose(line.get_ydata(), top.isel(pathway=p), rtol=1e-6)
        assert line.get_label() == f"{names[p]}: {float(top.isel(pathway=p)[-1]):.2f}"
        # Single-context pathways (ctx1, ctx2, ctx3) are dashed, the others solid.
        assert line.get_linestyle() == ("--" if names[p] in ("ctx1", "ctx2", "ctx3") else "-")
    assert len(fig.axes[0].get_legend().get_texts()) == len(names)
    assert overlapping_texts(fig) == []
