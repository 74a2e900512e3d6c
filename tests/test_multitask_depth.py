"""``toymodels multitask depth`` on tiny settings: what it writes, resuming, refusals."""

import json

import numpy as np
import pytest

import sweeps
from cli.main import main

TINY = [
    "--hidden", "14", "--epochs", "60", "--seeds", "2", "--record-every", "20",
    "--lr", "0.01", "--init", "0.05", "--gdln-init", "0.05", "--quiet", "--jobs", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def depth_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("depth") / "out"
    assert main(["multitask", "depth", *TINY, "--out", str(out)]) == 0
    return out


def test_summary_has_the_census_per_layer_and_the_gated_counterpart(depth_run):
    summary = json.loads((depth_run / "summary.json").read_text())
    relu, gdln = sweeps.load(depth_run / "run"), sweeps.load(depth_run / "run_gdln")
    assert summary["final_loss"] == pytest.approx(relu["loss"].values.tolist())
    assert summary["gdln"]["final_loss"] == pytest.approx(gdln["loss"].values.tolist())
    for part, ds in ((summary, relu), (summary["gdln"], gdln)):
        assert len(part["layers"]) == 2
        for layer, found in enumerate(part["layers"]):
            census = found["census"]
            assert set(census) == {"all", "subset", "single"}
            assert census["all"] == ds["layer_units_all"].isel(layer=layer).values.tolist()
            total = np.add(census["all"], census["subset"]) + census["single"]
            assert found["shared_fraction"] == pytest.approx(np.divide(census["all"], total))
        trajectory = part["shared_fraction_trajectory"]
        assert trajectory["epoch"] == [0, 20, 40, 60] and len(trajectory["mean"]) == 2
    # The gated network's first layer is linear and ungated: every strong unit is shared.
    assert summary["gdln"]["layers"][0]["shared_fraction"] == [1.0, 1.0]
    assert list(summary["gdln"]["pathway_singular_values"]) == [
        "common", "ctx1+2", "ctx1+3", "ctx2+3"
    ]  # fmt: skip
    settings = summary["settings"]
    assert (settings["n_layers"], settings["n_hidden"], settings["epochs"]) == (2, 14, 60)
    gated = summary["gdln"]["settings"]
    # 7 modules share out the layer's width; the published delays at the same fractions
    assert (gated["n_hidden"], gated["start_epoch"], gated["context_epoch"]) == (2, 1, 24)
    for name in ("census_layers", "loss"):
        assert (depth_run / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert (depth_run / f"{name}.pdf").is_file()


def test_resumes_the_same_run_and_refuses_other_settings(depth_run, capsys):
    before = (depth_run / "summary.json").read_text()
    assert main(["multitask", "depth", *TINY, "--out", str(depth_run)]) == 0
    assert (depth_run / "summary.json").read_text() == before
    capsys.readouterr()
    changed = [*TINY, "--gdln-init", "0.04"]  # the last value given counts
    assert main(["multitask", "depth", *changed, "--out", str(depth_run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different sweep" in err and "Traceback" not in err, err
    assert (depth_run / "summary.json").read_text() == before


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (["--layers", "0"], "layers"),
        (["--layers", "3"], "layers"),
        (["--hidden", "0"], "--hidden"),
        (["--hidden", "300000"], "memory"),
        (["--contexts", "6"], "contexts"),
        (["--lr", "0"], "--lr"),
        (["--gdln-init", "nan"], "--gdln-init"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(bad, named, tmp_path, capsys):
    out = tmp_path / "depth"
    assert main(["multitask", "depth", *bad, "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "Traceback" not in err, err
    assert not out.exists()


def test_figures_draw_every_layer_of_every_run(depth_run):
    from figures.depth_panels import CENSUS_GID, depth_losses, layer_census_trajectories
    from figures.multitask_panels import MEAN_GID, SEED_GID

    runs = {"ReLU": sweeps.load(depth_run / "run"), "GDLN": sweeps.load(depth_run / "run_gdln")}
    fig = layer_census_trajectories(runs)
    axes = fig.axes
    assert len(axes) == 4
    titles = [ax.get_title() for ax in axes]
    assert titles[0].startswith("ReLU, layer 1: ") and titles[3].startswith("GDLN, layer 2: ")
    assert titles[2] == "GDLN, layer 1: 100% shared at the end"
    for ax in axes:  # three census kinds: a mean line each, and one line per seed
        gids = [line.get_gid() for line in ax.lines]
        assert gids.count(CENSUS_GID) == 3 and gids.count(SEED_GID) == 6
    loss = depth_losses(runs).axes[0]
    assert [line.get_label() for line in loss.lines if line.get_gid() == MEAN_GID] == [
        "ReLU", "GDLN"
    ]  # fmt: skip
    assert loss.get_yscale() == "log"
