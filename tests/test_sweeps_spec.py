"""Sweep specs, presets and overrides; bad input gives one line, exit 2, and no folder."""

import dataclasses
import math

import numpy as np
import pytest

import cli.main as cli
import sweeps
from sweeps._fields import vocabulary
from sweeps.spec import Axis, SweepSpec, parse_overrides
from toymodels import ConfigError, ModelConfig, TrainConfig

TINY = """
name = "tiny"
description = "3x3 grid for tests"
family = "relu"
n_features = 2
n_hidden = 1
seeds = 2
root_seed = 7
chunk_size = 4
[model]
importance_decay = 1.0
[train]
steps = 60
batch_size = 64
eval_batch = 256
[axes]
density = { logspace = [0.05, 1.0], num = 3 }
importance = [0.5, 1.0, 2.0]
"""


@pytest.fixture
def main(monkeypatch):
    """``toymodels`` with only the sweep command registered (tested in isolation)."""
    monkeypatch.setattr(cli, "COMMANDS", ("cli.sweep_command",))
    return cli.main


@pytest.fixture
def tiny_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_spec_from_toml(tiny_file):
    spec = sweeps.load_spec(tiny_file)
    assert (spec.name, spec.family, spec.task) == ("tiny", "relu", "features")
    assert (spec.model["n_features"], spec.model["n_hidden"]) == (2, 1)
    assert (spec.seeds, spec.root_seed, spec.chunk_size) == (2, 7, 4)
    assert [a.name for a in spec.axes] == ["density", "importance"]
    np.testing.assert_allclose(spec.axes[0].values, [0.05, math.sqrt(0.05), 1.0], rtol=1e-12)
    assert spec.axes[0].values[0] == 0.05 and spec.axes[0].values[-1] == 1.0  # exact ends
    assert spec.axes[1].values == (0.5, 1.0, 2.0)
    assert spec.train == TrainConfig(steps=60, batch_size=64, eval_batch=256)
    assert spec.shape == (3, 3) and spec.n_cells == 9 and spec.n_models == 18
    # cells in C order over the axes; each point builds the paper's parametrisation
    point = spec.cell_point(5)
    assert point["density"] == spec.axes[0].values[1] and point["importance"] == 2.0
    assert spec.model_config(point) == ModelConfig.superposition(
        "relu", 2, 1, density=point["density"], importance=2.0
    )


def test_dict_round_trip_and_identity(tiny_file):
    spec = sweeps.load_spec(tiny_file)
    again = SweepSpec.from_dict(spec.to_dict())
    assert again == spec
    assert dataclasses.replace(spec, description="other").identity() == spec.identity()
    assert dataclasses.replace(spec, root_seed=8).identity() != spec.identity()
    # the same values given as a list or as a range are the same sweep
    listed = spec.with_overrides({"axes.density": list(spec.axes[0].values)})
    assert listed.identity() == spec.identity()


def test_overrides(tiny_file):
    spec = sweeps.load_spec(tiny_file)
    values = parse_overrides(
        ["train.steps=200", "seeds=3", "axes.density.num=5", "family=linear", "train.lr=1e-2"]
    )
    assert values == {
        "train.steps": 200,
        "seeds": 3,
        "axes.density.num": 5,
        "family": "linear",
        "train.lr": 0.01,
    }
    new = spec.with_overrides(values)
    assert (new.train.steps, new.seeds, new.family, new.train.lr) == (200, 3, "linear", 0.01)
    assert new.shape == (5, 3) and new.axes[0].values[0] == 0.05
    assert spec.train.steps == 60  # the original is unchanged (frozen)
    added = spec.with_overrides({"axes.lr": [1e-3, 1e-2], "axes.importance": None})
    assert [a.name for a in added.axes] == ["density", "lr"]
    assert added.train_config(added.cell_point(1)).lr == 1e-2


def test_integer_axes_round_spaced_values():
    vocab = vocabulary("relu")
    axis = Axis.parse("steps", {"logspace": [10, 1000], "num": 3}, vocab)
    assert axis.values == (10, 100, 1000) and all(type(v) is int for v in axis.values)
    assert Axis.parse("density", {"linspace": [0.5, 1.0], "num": 2}, vocab).values == (0.5, 1.0)


def test_presets_listed_and_loadable(main, capsys):
    table = sweeps.presets()
    assert {"paper-2to1", "paper-3to2"} <= set(table)
    assert all(table.values())
    for name, (n, m) in {"paper-2to1": (2, 1), "paper-3to2": (3, 2)}.items():
        spec = sweeps.load_preset(name)
        assert (spec.model["n_features"], spec.model["n_hidden"], spec.seeds) == (n, m, 10)
        assert spec.train == TrainConfig(
            steps=10_000, batch_size=1024, lr=1e-3, optimizer="adam", estimator="sampled"
        )
        density, importance = spec.axes
        assert (density.name, density.rule, density.values[0], density.values[-1]) == (
            "density",
            "logspace",
            0.01,
            1.0,
        )
        assert (importance.name, importance.rule, importance.values[0]) == (
            "importance",
            "logspace",
            0.1,
        )
        assert importance.values[-1] == 10.0 and spec.shape == (20, 20)
        assert sweeps.load_spec(name) == spec
    assert main(["sweep", "presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("paper-2to1 ") and table["paper-2to1"] in line for line in lines)
    assert len(lines) == len(table)


BAD_SPECS = {
    "malformed": ('name = "x"\nseeds = [\n', "malformed TOML"),
    "unknown key": ('name = "x"\nseedz = 3\n', 'did you mean "seeds"'),
    "unknown train key": ("[train]\nstepz = 3\n", 'did you mean "train.steps"'),
    "unknown axis": ("[axes]\ndensty = [0.5]\n", 'did you mean "density"'),
    "grid size 0": ("[axes]\ndensity = { logspace = [0.1, 1.0], num = 0 }\n", "num=0"),
    "steps 0": ("[train]\nsteps = 0\n", "steps=0"),
    "negative steps": ("[train]\nsteps = -5\n", "steps=-5"),
    "density > 1": ("[axes]\ndensity = [0.5, 1.5]\n", "outside (0, 1]"),
    "density 0": ("[model]\ndensity = 0.0\n", "outside (0, 1]"),
    "negative importance": ("[axes]\nimportance = [-1.0, 1.0]\n", "negative"),
    "fractional seeds": ("seeds = 2.5\n", "seeds=2.5 is not an integer"),
    "text seeds": ('seeds = "ten"\n', "is not an integer"),
    "zero seeds": ("seeds = 0\n", "seeds=0"),
    "structure": ("n_features = 2\nn_hidden = 2\n", "n_hidden=2 must be smaller"),
    # the fields a family, its task and a regulariser declare
    "unknown family": ('family = "hiden"\n', 'unknown model family "hiden" (did you mean'),
    "unknown task": ('family = "hidden"\ntask = "clusterz"\n', 'unknown task "clusterz"'),
    "task of another family": ('task = "clusters"\n', "relu family does not learn task"),
    "unknown regulariser": ('[model]\nregulariser = "l3"\n', 'unknown regulariser "l3"'),
    "unknown optimizer": ('[train]\noptimizer = "sgdd"\n', 'did you mean "sgd"'),
    "field the family lacks": (
        '[model]\nactivation = "relu"\n',
        'unknown key "model.activation" for the relu family',
    ),
    "negative strength": ('[model]\nregulariser = "l2"\nstrength = -0.1\n', "strength=-0.1"),
    "negative strength axis": (
        '[model]\nregulariser = "l2"\n[axes]\nstrength = [0.1, -1.0]\n',
        "axes.strength[1]: strength=-1 is negative",
    ),
    "strength without regulariser": ("[model]\nstrength = 0.1\n", "has no effect"),
    "record_every 0": ("[train]\nrecord_every = 0\n", "record_every=0 must be an integer >= 1"),
    "families with other fields": (
        'family = "hidden"\n[axes]\nfamily = ["hidden", "relu"]\n',
        "sweep them separately",
    ),
    "size inside [model]": ("[model]\nn_hidden = 1\n", "n_hidden is a top-level key"),
    "model field at the top": ("density = 0.5\n", "belongs in the [model] table"),
    "full batch on a stream": ('[train]\nestimator = "full"\n', "set n_samples > 0"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_files(case, main, tmp_path, capsys):
    text, expected = BAD_SPECS[case]
    spec_file = tmp_path / "bad.toml"
    spec_file.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", "run", str(spec_file), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not out.exists()


BAD_ARGS = {
    "jobs 0": (["--jobs", "0"], "0 must be an integer >= 1"),
    "unknown preset": (["--set", "seeds=2"], None),  # replaced below
    "bad override key": (["--set", "train.stepz=3"], 'did you mean "train.steps"'),
    "override without =": (["--set", "seeds"], "must look like key=value"),
    "override grid 0": (["--set", "axes.density.num=0"], "num=0"),
    "override density": (["--set", "axes.density=[0.5, 2.0]"], "density=2 is outside (0, 1]"),
    "override seeds": (["--set", "seeds=1.5"], "seeds=1.5 is not an integer"),
    "scheduler without dask": (["--scheduler", "tcp://127.0.0.1:9"], "needs backend dask"),
    "bad backend": (["--backend", "spark"], "invalid choice"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGS))
def test_bad_arguments(case, main, tiny_file, tmp_path, capsys):
    args, expected = BAD_ARGS[case]
    source = str(tiny_file)
    if case == "unknown preset":
        source, expected = "paper-2to", 'did you mean "paper-2to1"'
    out = tmp_path / "out"
    assert main(["sweep", "run", source, "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not out.exists()


def test_library_rejects_bad_execution_settings(tiny_file, tmp_path):
    spec = sweeps.load_spec(tiny_file)
    for kwargs, expected in [
        ({"jobs": 0}, "jobs=0"),
        ({"backend": "spark"}, 'unknown backend "spark"'),
        ({"scheduler": "tcp://127.0.0.1:9"}, "needs backend dask"),
    ]:
        with pytest.raises(ConfigError, match=expected):
            sweeps.run(spec, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_refuses_foreign_folders(tiny_file, tmp_path):
    spec = sweeps.load_spec(tiny_file)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty and holds no sweep"):
        sweeps.run(spec, tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is a file"):
        sweeps.run(spec, tmp_path / "file")


def test_status_and_load_of_non_sweeps(main, tmp_path, capsys):
    assert main(["sweep", "status", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="does not exist"):
        sweeps.load(tmp_path / "missing")


def test_per_model_axes_are_checked_at_the_corners_of_their_product():
    # Each value passes beside the other axis's first value; only the largest temperature
    # with the largest strength starts the anneal beyond float32's range (τ·e^λ).
    base = {
        "family": "competition",
        "task": "clusters",
        "model": {"volume": "anneal"},
        "axes": {"temperature": [0.01, 10.0], "volume_strength": [0.0, 88.0]},
    }
    with pytest.raises(ConfigError, match="temperature=10, volume_strength=88.*float32"):
        SweepSpec.from_dict(base)
    SweepSpec.from_dict(
        {**base, "axes": {"temperature": [0.01, 1.0], "volume_strength": [0, 88.0]}}
    )
