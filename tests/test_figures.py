"""What each figure draws (axes, labels, scales, colour limits, artists), on synthetic
inputs that follow the results schema; never pixels."""

from __future__ import annotations

import json
import os
import re
import stat
from html.parser import HTMLParser
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

import figures  # noqa: E402
from figures._layout import (  # noqa: E402
    BOUNDARY_GID,
    CROSSING_GID,
    REFERENCE_GID,
    log_edges,
    overlapping_texts,  # noqa: E402
)
from figures.candidate_losses import OPTIMAL_GID, loss_crossings  # noqa: E402
from figures.colour import feature_rgb  # noqa: E402
from figures.dimensionality import POINTS_GID, STICKY_FRACTIONS, dimensionality  # noqa: E402
from figures.gallery import GalleryEntry, write_gallery  # noqa: E402
from figures.intro_2d import ARROW_GID, intro_2d  # noqa: E402
from figures.style import AXIS_LABELS, NOT_REPRESENTED_GREY, PHASE_COLOURS  # noqa: E402
from figures.wtw import BARS_GID, HEATMAP_GID, wtw_sparsity  # noqa: E402
from summaries import phase_maps  # noqa: E402
from summaries.superposition_theory import LossCurves  # noqa: E402
from summaries.trained_models import dimensionality_data, trained_models  # noqa: E402
from toymodels import feature_metrics  # noqa: E402
from toymodels.errors import ConfigError  # noqa: E402


# -- synthetic inputs (results schema) ----------------------------------------------------
def _metrics(W: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    flat = torch.as_tensor(W.reshape(-1, *W.shape[-2:]), dtype=torch.float64)
    return {
        k: v.numpy().reshape(*W.shape[:-2], W.shape[-1]) for k, v in feature_metrics(flat).items()
    }


def _results(W, loss, axes: dict, spec: dict | None = None) -> xr.Dataset:
    """A results dataset for ``W [*axes, seed, hidden, feature]`` (metrics from the engine)."""
    dims = (*axes, "seed")
    k, m, n = W.shape[-3:]
    spec = {"family": "relu", "n_features": n, "n_hidden": m, **(spec or {})}
    return xr.Dataset(
        {
            "W": ((*dims, "hidden", "feature"), W.astype(np.float32)),
            "b": ((*dims, "feature"), np.zeros(W.shape[:-2] + (n,), np.float32)),
            "loss": (dims, loss),
            "loss_exact": (dims, np.full(loss.shape, np.nan)),
            **{key: ((*dims, "feature"), v.astype(np.float32)) for key, v in _metrics(W).items()},
        },
        coords={**axes, "seed": np.arange(k), "hidden": np.arange(m), "feature": np.arange(n)},
        attrs={"spec": json.dumps(spec)},
    )


DEDICATED, ANTIPODAL, DROPPED = [0.0, 1.0], [1.0, -1.0], [1.0, 0.0]


def _phase_results(nd=6, nr=5, seeds=4, rng=None) -> xr.Dataset:
    """n=2, m=1: extra feature dedicated at r > 2, antipodal at density < 0.1, else absent."""
    rng = rng or np.random.default_rng(0)
    density, importance = np.geomspace(0.01, 1.0, nd), np.geomspace(0.1, 10.0, nr)
    W = np.zeros((nd, nr, seeds, 1, 2))
    for i, p in enumerate(density):
        for j, r in enumerate(importance):
            W[i, j, :, 0] = DEDICATED if r > 2 else (ANTIPODAL if p < 0.1 else DROPPED)
    W += 0.01 * rng.standard_normal(W.shape)
    return _results(W, rng.random((nd, nr, seeds)), {"density": density, "importance": importance})


def _theory_like(grid=30):
    """Shaped like ``analytics.theory_map``'s result."""
    density, importance = np.geomspace(0.01, 1.0, grid), np.geomspace(0.1, 10.0, grid)
    D, R = np.meshgrid(density, importance, indexing="ij")
    winner = np.where(R > 2, 1, np.where(D < 0.1, 2, 0))
    phases = np.array(["not_represented", "dedicated", "superposition"])
    return SimpleNamespace(
        density=density,
        importance=importance,
        names=("[1,0]", "[0,1]", "[1,-1]"),
        winner=winner,
        phase=phases[winner],
    )


def _boundaries():
    r = np.geomspace(0.1, 2.0, 20)
    return [
        phase_maps.Boundary(("[1,0]", "[1,-1]"), np.full_like(r, 0.1), r),
        {
            "between": ("[1,0]", "[0,1]"),
            "density": np.geomspace(0.01, 1, 9),
            "importance": np.full(9, 2.0),
        },
    ]


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_title()]


def _norm_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# -- style and colours ----------------------------------------------------------------------
def test_house_style_leaves_global_rcparams_alone():
    before = dict(matplotlib.rcParams)
    with figures.house_style():
        assert matplotlib.rcParams["font.size"] == 8
        assert matplotlib.rcParams["pdf.fonttype"] == 42
    figures.phase_diagram(_phase_results())
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_house_style_pauses_the_garbage_collector_and_restores_it():
    import gc

    assert gc.isenabled()
    with figures.house_style():
        assert not gc.isenabled()
        with figures.house_style():  # nested: the inner block leaves it paused
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()  # a caller that paused it itself finds it paused after
    try:
        with figures.house_style():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), figures.house_style():
        raise RuntimeError
    assert gc.isenabled()


def test_save_lays_out_once_and_gives_the_figure_its_layout_engine_back(tmp_path):
    fig = figures.phase_diagram(_phase_results())
    engine = fig.get_layout_engine()
    runs = []
    execute = engine.execute
    engine.execute = lambda f: runs.append(f) or execute(f)
    figures.save(fig, tmp_path / "phase")
    assert len(runs) == 1  # by the PNG; the PDF reuses its layout
    assert fig.get_layout_engine() is engine
    assert (tmp_path / "phase.pdf").read_bytes()[:4] == b"%PDF"
    figures.save(fig, tmp_path / "only", formats=("pdf",))  # a lone PDF lays itself out
    assert len(runs) == 2


def test_log_edges_centre_each_cell_in_log_space():
    values = np.geomspace(0.01, 1.0, 7)
    edges = log_edges(values)
    assert edges.shape == (8,)
    np.testing.assert_allclose(np.sqrt(edges[:-1] * edges[1:]), values, rtol=1e-12)
    single = log_edges(np.array([0.3]))
    assert single[0] < 0.3 < single[1]
    np.testing.assert_allclose(np.sqrt(single.prod()), 0.3)


def test_feature_colour_encodes_interference_as_hue_and_norm_as_saturation():
    grey, blue, red = (
        np.array(to_rgb(PHASE_COLOURS[k]) if k != "grey" else to_rgb(NOT_REPRESENTED_GREY))
        for k in ("grey", "dedicated", "superposition")
    )
    np.testing.assert_allclose(feature_rgb(0.0, 1.0), grey)  # norm 0: grey whatever the hue
    np.testing.assert_allclose(feature_rgb(0.0, 0.0), grey)
    np.testing.assert_allclose(feature_rgb(1.0, 0.0), blue)
    np.testing.assert_allclose(feature_rgb(1.0, 1.0), red)
    np.testing.assert_allclose(feature_rgb(3.0, 7.0), red)  # both saturate at 1
    np.testing.assert_allclose(feature_rgb(0.5, 0.0), (grey + blue) / 2)
    np.testing.assert_allclose(feature_rgb(np.nan, 0.0), [1, 1, 1])


# -- phase diagram --------------------------------------------------------------------------
def test_phase_diagram_panels_axes_and_boundaries():
    ds = _phase_results()
    fig = figures.phase_diagram(ds, _theory_like(), None, _boundaries())
    panels = _panels(fig)
    assert len(panels) == 3  # paper rule, best of N, candidate theory
    assert "paper rule" in panels[0].get_title() and "best of 4" in panels[1].get_title()
    for i, ax in enumerate(panels):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        lo, hi = ax.get_ylim()
        assert (lo, hi) == pytest.approx((0.01, 1.0)) and not ax.yaxis_inverted()
        assert ax.get_xlim() == pytest.approx((0.1, 10.0))
        assert _norm_space(ax.get_xlabel()) == AXIS_LABELS["importance"]
        assert ax.get_ylabel() == (AXIS_LABELS["density"] if i == 0 else "")
        assert len([ln for ln in ax.lines if ln.get_gid() == BOUNDARY_GID]) == 2
        # cells are centred on the grid coordinates, lowest density in the bottom row
        mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
        coords = mesh.get_coordinates()
        assert coords[0, 0, 1] < coords[-1, 0, 1]
        np.testing.assert_allclose(np.sqrt(coords[0, 0, 1] * coords[1, 0, 1]), 0.01, rtol=1e-9)
    assert overlapping_texts(fig) == []


def test_phase_diagram_colours_follow_the_extra_feature():
    ds = _phase_results(nd=6, nr=5)
    fig = figures.phase_diagram(ds)
    best = _panels(fig)[1]
    colours = next(c for c in best.collections if isinstance(c, QuadMesh)).get_array()
    assert colours.shape == (6, 5, 3)  # rows = density, bottom row first
    blue, red = to_rgb(PHASE_COLOURS["dedicated"]), to_rgb(PHASE_COLOURS["superposition"])
    grey = to_rgb(NOT_REPRESENTED_GREY)
    np.testing.assert_allclose(colours[0, -1], blue, atol=0.05)  # density 0.01, r = 10
    np.testing.assert_allclose(colours[0, 0], red, atol=0.05)  # density 0.01, r = 0.1
    np.testing.assert_allclose(colours[-1, 0], grey, atol=0.05)  # density 1, r = 0.1


def test_paper_rule_drops_the_worst_and_best_of_n_takes_the_lowest_loss():
    # One cell, 3 seeds: the highest-loss seed has the extra feature absent.
    W = np.array([ANTIPODAL, ANTIPODAL, DROPPED])[None, None, :, None, :]
    loss = np.array([[[0.2, 0.1, 0.9]]])
    ds = _results(W, loss, {"density": np.array([0.05]), "importance": np.array([1.0])})
    paper, best = phase_maps.empirical_maps(ds)
    assert paper.norm[0, 0] == pytest.approx(1.0) and paper.interference[0, 0] == pytest.approx(1.0)
    loss2 = np.array([[[0.2, 0.3, 0.1]]])  # now the absent one is best and the middle dropped
    ds2 = _results(W, loss2, {"density": np.array([0.05]), "importance": np.array([1.0])})
    paper2, best2 = phase_maps.empirical_maps(ds2)
    assert best2.norm[0, 0] == pytest.approx(0.0) and best.norm[0, 0] == pytest.approx(1.0)
    assert paper2.norm[0, 0] == pytest.approx(0.5)


def test_phase_diagram_theory_and_optimum_panels_and_legends():
    theory = _theory_like()
    labels = np.asarray(theory.phase)
    optimum = SimpleNamespace(density=theory.density, importance=theory.importance, phase=labels)
    fig = figures.phase_diagram(_phase_results(), theory, optimum, curves=_boundaries())
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels[2:]] == ["candidate theory", "exact optimum"]
    mesh = next(c for c in panels[2].collections if isinstance(c, QuadMesh))
    assert (mesh.norm.vmin, mesh.norm.vmax) == (-0.5, 2.5)
    np.testing.assert_array_equal(mesh.get_array().reshape(30, 30), theory.winner)
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    texts = [[t.get_text() for t in lg.get_texts()] for lg in legends]
    assert ["not represented", "dedicated dimension", "superposition"] in texts
    assert ["W = [1, 0]", "W = [0, 1]", "W = [1, −1]", "candidate boundary"] in texts
    key = [ax for ax in fig.axes if ax.get_gid() == "feature_key"]
    assert len(key) == 1 and key[0].get_xlabel() == "interference" and key[0].get_ylabel() == "norm"
    assert overlapping_texts(fig) == []


def test_seed_panel_gives_each_seed_a_column_sorted_by_phase():
    ds = _phase_results(nd=2, nr=3, seeds=4)
    names = ["not_represented", "dedicated", "superposition", "diverged"]
    each = np.array(
        [
            [["superposition", "dedicated", "superposition", "diverged"]] * 3,
            [["dedicated"] * 4] * 3,
        ]
    )
    ds = ds.assign(phase_model=(("density", "importance", "seed"), each)).assign_coords(phase=names)
    seeds = phase_maps.seed_phase_map(ds)
    np.testing.assert_array_equal(seeds.codes[0, 0], [1, 2, 2, 3])  # sorted by phase
    np.testing.assert_allclose(seeds.fraction[0, 0], [0, 0.25, 0.5, 0.25])
    np.testing.assert_allclose(seeds.fraction[1, 2], [0, 1, 0, 0])
    fig = figures.phase_diagram(ds, rules=phase_maps.panel_rules(3))
    panels = _panels(fig)
    assert "per seed" in panels[1].get_title()
    mesh = next(c for c in panels[1].collections if isinstance(c, QuadMesh))
    drawn = np.asarray(mesh.get_array()).reshape(2, 3 * 4)
    np.testing.assert_array_equal(drawn[0, :4], [1, 2, 2, 3])
    coords = mesh.get_coordinates()[0, :, 0]  # x edges: 4 equal log-widths per cell
    widths = np.diff(np.log10(coords))
    np.testing.assert_allclose(widths, widths[0])
    np.testing.assert_allclose(coords[::4], log_edges(ds["importance"].values))
    legends = [
        [t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes if ax.get_legend()
    ]
    assert ["not represented", "dedicated dimension", "superposition", "diverged"] in legends
    assert overlapping_texts(fig) == []
    assert phase_maps.panel_rules(2) == ("paper", "best")
    with pytest.raises(ConfigError, match='unknown aggregation rule "median"'):
        phase_maps.empirical_maps(ds, ("paper", "median"))


def test_phase_diagram_refuses_a_second_grid_axis_and_unknown_labels():
    ds = _phase_results().expand_dims(lr=[1e-3, 1e-2])
    with pytest.raises(ConfigError, match="lr"):
        figures.phase_diagram(ds)
    figures.phase_diagram(ds.isel(lr=[0]))  # a single value is fine
    with pytest.raises(ConfigError, match="nonsense"):
        phase_maps.phase_map([0.1], [1.0], np.array([["nonsense"]]))


# -- candidate losses -----------------------------------------------------------------------
def _loss_curves():
    p = np.geomspace(0.01, 1.0, 200)
    out = []
    for n, names, phases in [
        (2, ("[1,0]", "[0,1]", "[1,-1]"), ("not_represented", "dedicated", "superposition")),
        (
            3,
            ("W⊥[0,0,1]", "W⊥[1,0,0]", "W⊥[0,1,1]", "W⊥[1,1,0]"),
            ("not_represented", "dedicated", "superposition", "dedicated"),
        ),
    ]:
        for r in (0.5, 2.0):
            # n=2 closed forms (Elhage et al.); n=3 adds W⊥[1,1,0] = p²/3
            losses = [r * (p / 3 - p**2 / 4), p / 3 - p**2 / 4, (r + 1) * p**2 / 6, p**2 / 3]
            losses = np.stack(losses[: len(names)])
            w = losses.argmin(0)
            cross = [(p[i], names[w[i]], names[w[i + 1]]) for i in np.flatnonzero(np.diff(w))]
            out.append(LossCurves(n, n - 1, r, p, names, phases, losses, cross))
    return out


def test_candidate_losses_panels_crossings_and_optimal_envelope():
    curves = _loss_curves()
    fig = loss_crossings(curves)
    panels = _panels(fig)
    assert len(panels) == 4
    assert fig.get_supylabel() == AXIS_LABELS["loss_per_density"]
    for ax, c in zip(panels, curves, strict=True):
        assert ax.get_xscale() == "log" and ax.get_title() == f"r = {c.importance:g}"
        optimal = [ln for ln in ax.lines if ln.get_gid() == OPTIMAL_GID]
        assert len(optimal) == 1
        np.testing.assert_allclose(optimal[0].get_ydata(), c.losses.min(0) / c.density)
        marks = [ln for ln in ax.lines if ln.get_gid() == CROSSING_GID]
        assert len(marks) == 1 and len(marks[0].get_xdata()) == len(c.transitions) >= 1
        assert len(ax.lines) == 1 + len(c.names) + 1
    assert [ax.get_xlabel() for ax in panels] == [
        "",
        "",
        AXIS_LABELS["density"],
        AXIS_LABELS["density"],
    ]
    legends = [ax.get_legend() for ax in panels if ax.get_legend()]
    assert [lg.get_title().get_text() for lg in legends] == ["n=2, m=1", "n=3, m=2"]
    assert overlapping_texts(fig) == []


# -- model figures --------------------------------------------------------------------------
def _models_ds(n=20, m=5, densities=(1.0, 0.1, 0.01), seeds=2, families=("linear", "relu")):
    rng = np.random.default_rng(1)
    W = rng.standard_normal((len(families), len(densities), seeds, m, n)) * 0.5
    loss = rng.random((len(families), len(densities), seeds))
    return _results(
        W,
        loss,
        {"family": np.array(families), "density": np.array(densities)},
        spec={"model": {"importance_decay": 0.7, "importance": 1.0}},
    )


def test_trained_models_take_the_lowest_loss_replicate_dense_first():
    ds = _models_ds(densities=(0.01, 1.0, 0.1))
    models = trained_models(ds)
    assert [(m.family, m.density) for m in models] == [
        (f, d) for f in ("linear", "relu") for d in (1.0, 0.1, 0.01)
    ]
    first = ds.sel(family="linear", density=1.0)
    k = int(np.argmin(first["loss"].values))
    np.testing.assert_allclose(models[0].W, first["W"].isel(seed=k).values)
    np.testing.assert_allclose(models[0].importance, 0.7 ** np.arange(20))


def test_wtw_sparsity_heat_maps_and_bars():
    models = trained_models(_models_ds())
    fig = wtw_sparsity(models)
    images = [im for ax in fig.axes for im in ax.images if im.get_gid() == HEATMAP_GID]
    assert len(images) == len(models)
    assert all(im.get_clim() == (-1.0, 1.0) for im in images)
    np.testing.assert_allclose(images[2].get_array(), models[2].W.T @ models[2].W, rtol=1e-6)
    bar_axes = [ax for ax in fig.axes if any(p.get_gid() == BARS_GID for p in ax.patches)]
    assert len(bar_axes) == len(models)
    for ax, model in zip(bar_axes, models, strict=True):
        widths = [p.get_width() for p in ax.patches]
        np.testing.assert_allclose(widths, model.norm, rtol=1e-6)
        assert ax.get_ylim()[0] > ax.get_ylim()[1]  # feature 0 on top
        colours = np.array([p.get_facecolor()[:3] for p in ax.patches])
        np.testing.assert_allclose(colours, feature_rgb(1.0, model.interference), atol=1e-6)
    assert len(fig.axes) == 2 * len(models) + 2  # plus two colour bars
    assert overlapping_texts(fig) == []


def test_intro_2d_draws_one_arrow_per_feature_per_panel():
    rng = np.random.default_rng(2)
    dens = (1.0, 0.3, 0.05)
    W = rng.standard_normal((2, 3, 1, 2, 5))
    ds = _results(
        W,
        rng.random((2, 3, 1)),
        {"family": np.array(["linear", "relu"]), "density": np.array(dens)},
    )
    fig = intro_2d(trained_models(ds))
    panels = _panels(fig)
    assert len(panels) == 6
    assert [ax.get_ylabel() for ax in panels] == ["linear", "", "", "ReLU", "", ""]
    for ax in panels:
        arrows = [t for t in ax.texts if t.get_gid() == ARROW_GID]
        assert len(arrows) == 5 and ax.get_aspect() == 1.0
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 5
    with pytest.raises(ValueError, match="2 hidden"):
        intro_2d(trained_models(_models_ds()))
    assert overlapping_texts(fig) == []


def test_dimensionality_reference_fractions_and_points():
    rng = np.random.default_rng(3)
    dens = np.geomspace(1.0, 0.05, 8)
    W = rng.standard_normal((8, 1, 10, 60)) * 0.3
    data = dimensionality_data(trained_models(_results(W, rng.random((8, 1)), {"density": dens})))
    fig = dimensionality(data)
    top, bottom = fig.axes
    assert bottom.get_xscale() == "log" and top.get_xscale() == "log"
    refs = sorted(ln.get_ydata()[0] for ln in bottom.lines if ln.get_gid() == REFERENCE_GID)
    assert refs == pytest.approx(sorted(float(f) for f in STICKY_FRACTIONS))
    assert {t.get_text() for t in bottom.texts} == {"1", "3/4", "2/3", "1/2", "2/5", "3/8"}
    points = next(c for c in bottom.collections if c.get_gid() == POINTS_GID).get_offsets()
    assert points.shape == (8 * 60, 2)
    np.testing.assert_allclose(np.unique(points[:, 0]), np.sort(1 / dens))
    frob = (W[:, 0] ** 2).sum((1, 2))
    np.testing.assert_allclose(top.lines[0].get_ydata(), 10 / frob, rtol=1e-5)
    assert bottom.get_xlabel() == AXIS_LABELS["inverse_density"]
    assert overlapping_texts(fig) == []


# -- gallery and saving ---------------------------------------------------------------------
class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self.links.append(attrs["href"])
        if tag == "img":
            self.images.append(attrs["src"])


def test_gallery_links_every_file_and_escapes_text(tmp_path):
    fig = figures.phase_diagram(_phase_results())
    paths = figures.save(fig, tmp_path / "phase-2to1")
    assert [p.name for p in paths] == ["phase-2to1.png", "phase-2to1.pdf"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"
    umask = os.umask(0)
    os.umask(umask)
    # readable as any file the user writes (not mkstemp's private 0o600): servable as is
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o666 & ~umask}
    entries = [
        GalleryEntry(
            "phase-2to1",
            "a <b> & c",
            "toymodels figures phase-2to1",
            ["phase-2to1.png", "phase-2to1.pdf"],
        ),
        GalleryEntry("other", "x", "toymodels figures other", ["other.png", "other.pdf"]),
    ]
    index = write_gallery(tmp_path, entries, "figures")
    text = index.read_text()
    parser = _Links()
    parser.feed(text)
    for e in entries:
        assert set(e.files) <= set(parser.links)
        assert e.files[0] in parser.images
    assert "a &lt;b&gt; &amp; c" in text and "toymodels figures other" in text


def test_phase_diagram_takes_analytics_theory_and_curves_as_they_come():
    import analytics

    ds = _phase_results()
    theory = analytics.theory_map(2, np.geomspace(0.01, 1, 50), np.geomspace(0.1, 10, 50))
    curves = analytics.boundary_curves(2)
    fig = figures.phase_diagram(ds, theory=theory, curves=curves)
    panels = _panels(fig)
    assert len(panels) == 3 and panels[2].get_title() == "candidate theory"
    for ax in panels:
        assert len([ln for ln in ax.lines if ln.get_gid() == BOUNDARY_GID]) == len(curves) >= 2
    names = [figures.display_name(n) for n in theory.names]
    legend_texts = [
        [t.get_text() for t in ax.get_legend().get_texts()]
        for ax in fig.axes
        if ax.get_legend() is not None
    ]
    assert [*names, "candidate boundary"] in legend_texts
