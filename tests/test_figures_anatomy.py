"""The loss-anatomy figure and its data: the candidates' curves from analytics, trained
models' metrics from a results dataset (synthetic, following the schema), and what the
figure draws (never pixels)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy  # noqa: E402
import torch  # noqa: E402
import xarray as xr  # noqa: E402

from analytics import candidates, p, r  # noqa: E402
from figures.anatomy import BEST_GID, TRAINED_GID, loss_anatomy  # noqa: E402
from figures.catalog import FIGURES  # noqa: E402
from summaries.anatomy_curves import candidate_anatomy, trained_anatomy  # noqa: E402
from toymodels.errors import ConfigError  # noqa: E402
from toymodels.families.superposition import loss_anatomy as metric  # noqa: E402


def _results(nd=5, seeds=4, importance=None, rng=None) -> xr.Dataset:
    """n=2, m=1 models near the antipodal pair (seed 0 exactly, without bias), with the
    two metrics from the engine's own function and seed 0 given the lowest loss."""
    rng = rng or np.random.default_rng(0)
    density = np.geomspace(0.01, 1.0, nd)
    W = np.array([1.0, -1.0]) + 0.3 * rng.standard_normal((nd, seeds, 1, 2))
    W[:, 0, 0] = [1.0, -1.0]
    b = 0.1 * rng.standard_normal((nd, seeds, 2))
    b[:, 0] = 0.0
    found = metric(
        torch.as_tensor(W.reshape(-1, 1, 2)),
        torch.as_tensor(b.reshape(-1, 2)),
        torch.ones(nd * seeds, 2, dtype=torch.float64),
        relu=True,
    )
    loss = rng.uniform(1.0, 2.0, (nd, seeds))
    loss[:, 0] = 0.5
    dims = ("density", "seed")
    ds = xr.Dataset(
        {
            "W": ((*dims, "hidden", "feature"), W.astype(np.float32)),
            "b": ((*dims, "feature"), b.astype(np.float32)),
            "loss": (dims, loss + 0.1),
            "loss_exact": (dims, loss),
            **{k: (dims, v.numpy().reshape(nd, seeds)) for k, v in found.items()},
        },
        coords={"density": density, "seed": np.arange(seeds)},
    )
    if importance is not None:
        ds = xr.concat([ds.assign(loss_exact=ds.loss_exact + i) for i in importance], "importance")
        ds = ds.assign_coords(importance=list(importance))
    return ds


def test_candidate_curves_are_the_closed_forms():
    theory = candidate_anatomy(2, 1.0, (0.01, 1.0), points=50)
    assert theory.names == ("[1,0]", "[0,1]", "[1,-1]")
    at = np.argmin(abs(theory.density - 0.1))
    q = theory.density[at]
    # a dropped feature answered by its mean p/2: (1 - p/2)^2 and (p/2)^2; antipodal: 0
    np.testing.assert_allclose(theory.benefit[:, at], [(1 - q / 2) ** 2] * 2 + [0], rtol=1e-12)
    np.testing.assert_allclose(theory.interference[:, at], [q**2 / 4] * 2 + [0], atol=1e-15)
    # the weighted terms add up to each candidate's loss
    for c, cand in enumerate(candidates(2)):
        f = sympy.lambdify(p, cand.loss.subs(r, 1))
        np.testing.assert_allclose(theory.weighted[c].sum(0), f(theory.density), rtol=1e-12)
    # the antipodal pair pays only on 2-sparse inputs: p^2 (1 + r)/6
    np.testing.assert_allclose(theory.weighted[2, 2], theory.density**2 / 3, rtol=1e-12)
    assert not theory.weighted[2, :2].any()


def test_trained_anatomy_reads_the_metrics_and_the_lowest_loss_seed():
    ds = _results()
    found = trained_anatomy(ds)
    assert found.benefit.shape == (5, 4) and (found.best == 0).all()
    np.testing.assert_allclose(found.benefit[:, 0], 0.0, atol=1e-12)
    np.testing.assert_array_equal(found.interference, ds["interference_loss"].values)
    # an importance axis is read at the value nearest the one asked for
    ds = _results(importance=[0.5, 0.9, 3.0])
    assert trained_anatomy(ds, 1.0).importance == 0.9


def test_trained_anatomy_of_a_run_without_the_metrics_is_refused():
    with pytest.raises(ConfigError, match="interference_loss"):
        trained_anatomy(_results().drop_vars(["interference_loss"]))


def test_figure_draws_candidates_trained_models_and_terms():
    theory = candidate_anatomy(2, 1.0, (0.01, 1.0), points=40)
    trained = trained_anatomy(_results())
    fig = loss_anatomy(theory, trained)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(axes) == 3
    assert "feature benefit" in axes[0].get_title() and "interference" in axes[1].get_title()
    for ax, key in zip(axes[:2], ("benefit", "interference"), strict=True):
        assert all(a.get_xscale() == "log" for a in axes)
        lines = [ln for ln in ax.get_lines() if ln.get_gid() is None]
        assert len(lines) == 3  # one per candidate
        (dots,) = [ln for ln in ax.get_lines() if ln.get_gid() == TRAINED_GID]
        assert len(dots.get_xdata()) == 5 * 4
        (best,) = [ln for ln in ax.get_lines() if ln.get_gid() == BEST_GID]
        np.testing.assert_allclose(best.get_ydata(), getattr(trained, key)[:, 0])
    # k = 1 and k = 2 for each of the three candidates
    assert len(axes[2].get_lines()) == 6
    assert [t.get_text() for t in axes[2].get_legend().get_texts()] == [
        "k = 1 active",
        "k = 2 active",
    ]


def test_catalog_builds_the_figure_from_its_preset():
    entry = FIGURES["anatomy-2to1"]
    assert entry.presets("default") == ("anatomy-2to1",)
    fig = entry.build({"anatomy-2to1": _results()}, "default")
    assert len([ax for ax in fig.axes if ax.get_title()]) == 3


def test_command_trains_the_preset_and_writes_the_figure(tmp_path, capsys):
    from cli.main import main

    tiny = ["--set", "train.steps=5", "--set", "seeds=2", "--set", "axes.density.num=3"]
    assert main(["figures", "anatomy-2to1", "--out", str(tmp_path), "--quiet", *tiny]) == 0
    assert (tmp_path / "anatomy-2to1.png").is_file() and (tmp_path / "anatomy-2to1.pdf").is_file()
