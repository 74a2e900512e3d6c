"""The ``competition_deep`` family (two competitive hidden layers) and ``toymodels
competition depth``.  The common family checks (batched = alone, stored outputs, every
bad field value) run on it in ``tests/test_family_contract.py``."""

import json
import math

import numpy as np
import pytest
import torch

import cli.main as cli
from toymodels import unit_metrics
from toymodels.engine import train
from toymodels.errors import ConfigError
from toymodels.families import FAMILIES
from toymodels.model_config import ModelConfig
from toymodels.phases import layer_competition
from toymodels.phases.last_layer_competition import LAST_LAYER_COMPETITION_RULE, layer_phases
from toymodels.recording import probe_batch
from toymodels.seeds import model_seed
from toymodels.train_config import TrainConfig
from toymodels.volumes import VOLUMES

SHORT = TrainConfig(steps=60, batch_size=64, eval_batch=256, lr=1e-2)
RING = [[2 * math.cos(2 * math.pi * c / 6), 2 * math.sin(2 * math.pi * c / 6)] for c in range(6)]


def _deep(**values):
    return ModelConfig.build("competition_deep", "clusters", **values)


# -- one layer is the competition family ----------------------------------------------------
@pytest.mark.parametrize(
    ("volume", "strength"), [("none", 0.0), ("entropy", 0.2), ("revival", 0.5)]
)
def test_one_layer_is_the_competition_family_on_the_same_seed(volume, strength):
    fields = dict(volume=volume, volume_strength=strength, temperature=0.5, n_hidden=6)
    one = ModelConfig.build("competition", "clusters", **fields)
    deep = _deep(n_layers=1, **fields)
    seeds = [model_seed(3, 0, 0), model_seed(3, 0, 1)]
    a = FAMILIES["competition"]([one, one], seeds)
    b = FAMILIES["competition_deep"]([deep, deep], seeds)
    # the same initial parameters, bit for bit (competition's learned-τ shift aside: the
    # two-layer family refuses learned_tau)
    shared = [name for name in a.params if name != "tau_shift"]
    for name in shared:
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert b.Wh.shape[1] == 0  # no second layer
    # competition steps a hand-derived gradient (none) or autograd (entropy, revival);
    # competition_deep autograd: the same numbers to float32 rounding
    ra, rb = train([one, one], SHORT, seeds), train([deep, deep], SHORT, seeds)
    np.testing.assert_allclose(rb.loss, ra.loss, rtol=1e-5)
    for name in shared:
        np.testing.assert_allclose(rb.params[name], ra.params[name], rtol=1e-4, atol=1e-5)
    assert not np.allclose(ra.loss, ra.loss[::-1])  # the two seeds differ


# -- each layer its own settings --------------------------------------------------------------
def test_each_layer_has_its_own_temperature_and_schedule():
    model = FAMILIES["competition_deep"](
        [
            _deep(
                temperature=0.5,
                temperature_layer2=2.0,
                volume_layer2="anneal",
                volume_strength_layer2=1.0,
            )
        ],
        [model_seed(0, 0, 0)],
    )
    first, second = model.stages
    model.begin_step(0, 100)  # the second layer's anneal starts at τ e^λ; the first is fixed
    assert first.temperature.item() == pytest.approx(0.5)
    assert second.temperature.item() == pytest.approx(2.0 * math.e, rel=1e-6)
    assert second.activation.temperature.item() == pytest.approx(2.0 * math.e, rel=1e-6)
    model.begin_step(80, 100)  # annealed down to its own τ
    assert second.temperature.item() == pytest.approx(2.0)


def test_the_second_layers_penalty_is_on_its_own_rows():
    seeds = [model_seed(0, 0, 0)]
    plain = FAMILIES["competition_deep"]([_deep(activation_layer2="relu")], seeds)
    penalised = FAMILIES["competition_deep"](
        [_deep(activation_layer2="relu", volume_layer2="logdet", volume_strength_layer2=0.3)], seeds
    )
    batch = probe_batch(plain, 64)
    gap = penalised.objective(batch, 1.0) - plain.objective(batch, 1.0)
    rows = penalised.Wh[:, 0]  # the second layer's unit rows [model, unit, unit_in]
    expected = VOLUMES["logdet"]([penalised.stages[1].configs[0].arch], seeds).penalty(
        rows, None, None
    )
    torch.testing.assert_close(gap, expected, rtol=1e-5, atol=1e-6)
    assert abs(float(gap.detach())) > 1e-3


def test_metrics_are_each_layers_unit_metrics_on_its_inputs():
    model = FAMILIES["competition_deep"]([_deep(activation="relu")], [model_seed(0, 0, 1)])
    probe = probe_batch(model, 256)
    found = model.compute_metrics(probe)
    assert found["usage"].shape == (1, 2, 8) and found["max_abs_cos"].shape == (1, 2)
    with torch.no_grad():
        z1 = torch.baddbmm(model.b1.unsqueeze(-1), model.W1, probe.x)
        h1 = torch.relu(z1)
        z2 = torch.baddbmm(model.bh[:, 0].unsqueeze(-1), model.Wh[:, 0], h1)
        first = unit_metrics.hyperplane_metrics(
            model.W1, model.b1, model.stages[0].activation.responsibilities(z1)
        )
        # the second layer's softmax ignores a shift common to its rows: centred (8 units)
        second = unit_metrics.hyperplane_metrics(
            model.Wh[:, 0], model.bh[:, 0], torch.softmax(z2, 1), 8
        )
    for name in first:
        torch.testing.assert_close(found[name][:, 0], first[name])
        torch.testing.assert_close(found[name][:, 1], second[name])


def test_each_layers_phase_is_the_one_layer_rule_and_the_stored_one_the_last():
    metrics = {  # one model: layer 1 collapsed (1.2 effective units), layer 2 redundant
        "effective_units": np.array([[1.2, 6.0]]),
        "dead_fraction": np.array([[0.0, 0.0]]),
        "n_distinct": np.array([[5.0, 2.0]]),
        "usage": np.full((1, 2, 8), 1 / 8),
    }
    labels = layer_competition.LABELS
    assert [labels[c] for c in layer_phases(metrics)[0]] == ["collapsed", "redundant"]
    stored = LAST_LAYER_COMPETITION_RULE.classify(LAST_LAYER_COMPETITION_RULE.reduce(metrics))
    assert labels[stored[0]] == "redundant"


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"n_layers": 0}, "n_layers=0"),
        ({"n_layers": 3}, "n_layers=3"),
        ({"activation_layer2": "tanh"}, "activation_layer2"),
        ({"volume_layer2": "entropy", "activation_layer2": "relu"}, "second layer"),
        ({"volume_layer2": "none", "volume_strength_layer2": 0.5}, "volume_strength_layer2=0.5"),
        ({"volume": "learned_tau", "volume_strength": 1.0}, "learns τ"),
        ({"volume_layer2": "learned_tau", "volume_strength_layer2": 1.0}, "second layer"),
    ],
)
def test_bad_layer_settings_are_refused_naming_the_layer(values, named):
    with pytest.raises(ConfigError, match=named):
        _deep(**values)


def test_batch_normalisation_acts_on_its_own_layers_logits():
    model = FAMILIES["competition_deep"](
        [_deep(volume_layer2="batchnorm", volume_strength_layer2=1.0)], [model_seed(0, 0, 0)]
    )
    first, second = model.stages
    x = torch.randn(1, 2, 500)
    h = first.activation(first.logits(x))
    z = second.logits(h)  # standardised per unit over the examples
    torch.testing.assert_close(z.mean(-1), torch.zeros(1, 8), atol=1e-5, rtol=0)
    # (ε = 1e-5 beside a small variance keeps it a little below 1)
    torch.testing.assert_close(z.std(-1, unbiased=False), torch.ones(1, 8), atol=1e-2, rtol=0)
    assert (first.logits(x).std(-1) - 1).abs().max() > 0.1  # the first layer's are not


# -- the command ------------------------------------------------------------------------------
TINY = ["--seeds", "2", "--steps", "30", "--first", "relu", "softmax", "--second", "relu"]


@pytest.fixture(scope="module")
def depth_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("depth") / "out"
    assert (
        cli.main(["competition", "depth", *TINY, "--quiet", "--jobs", "1", "--out", str(out)]) == 0
    )
    return out


def test_summary_has_each_layers_phases_and_metrics_per_pair(depth_run):
    summary = json.loads((depth_run / "summary.json").read_text())
    assert summary["first"] == ["relu", "softmax"] and summary["second"] == ["relu"]
    assert summary["designs"]["softmax"] == {
        "activation": "softmax", "volume": "none", "volume_strength": 0.0
    }  # fmt: skip
    assert [(p["first"], p["second"]) for p in summary["pairs"]] == [
        ("relu", "relu"), ("softmax", "relu")
    ]  # fmt: skip
    for pair in summary["pairs"]:
        assert len(pair["layers"]) == 2 and len(pair["loss"]) == 2
        for layer in pair["layers"]:
            assert sum(layer["phase_fraction"].values()) == pytest.approx(1.0)
            assert len(layer["phase"]) == 2 and 1 <= layer["n_distinct_mean"] <= 10  # K
            assert 0.0 <= layer["max_abs_cos_mean"] <= 1.0
            seeds = np.array(layer["n_distinct"], float)
            assert layer["n_distinct_mean"] == pytest.approx(seeds.mean())
            assert layer["n_distinct_se"] == pytest.approx(seeds.std(ddof=1) / np.sqrt(2))
    # the answers are the pairs' numbers, rearranged
    second = summary["answers"]["second_layer_distinct"]["relu"]
    assert second["softmax"] == summary["pairs"][1]["layers"][1]["n_distinct_mean"]
    settings = summary["settings"]
    assert (settings["family"], settings["n_layers"], settings["seeds"]) == (
        "competition_deep", 2, 2
    )  # fmt: skip
    assert (summary["diverged_models"], summary["diverged_cells"]) == (0, 0)
    assert (depth_run / "depth.png").is_file()


def test_other_settings_in_an_earlier_output_are_refused(depth_run, capsys):
    before = (depth_run / "summary.json").read_text()
    code = cli.main(
        ["competition", "depth", *TINY, "--steps", "31", "--quiet", "--out", str(depth_run)]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "different sweep" in err, err
    assert (depth_run / "summary.json").read_text() == before


def test_the_figure_has_a_column_per_layer_and_one_for_the_network(depth_run):
    from figures.competition_layer_panels import COS_GID, DISTINCT_GID, LOSS_GID, depth_figure

    summary = json.loads((depth_run / "summary.json").read_text())
    fig = depth_figure(summary)
    gids = [im.get_gid() for ax in fig.axes for im in ax.images]
    assert gids.count(DISTINCT_GID) == 2 and gids.count(COS_GID) == 2
    assert gids.count(LOSS_GID) == 1
    first = next(ax for ax in fig.axes if ax.images and ax.images[0].get_gid() == DISTINCT_GID)
    assert [t.get_text() for t in first.get_yticklabels()] == ["relu", "softmax"]
    shown = first.images[0].get_array()
    assert shown.shape == (2, 1)
    assert shown[0, 0] == pytest.approx(summary["pairs"][0]["layers"][0]["n_distinct_mean"])


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (["--layers", "0"], "layers"),
        (["--layers", "3"], "layers"),
        (["--first", "tanh"], "--first tanh"),
        (["--second", "softmax+nosuch"], "--second softmax+nosuch"),
        (["--second", "relu+entropy"], "relu"),
        (["--first", "relu+dropout"], "dropout"),
        (["--layers", "1", "--second", "relu"], "--layers 2"),
        (["--strength", "-1"], "volume_strength"),
        (["--width", "100000", "--seeds", "1", "--steps", "1"], "memory"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(bad, named, folders, capsys):
    out = folders[0] / "depth"
    assert cli.main(["competition", "depth", *bad, "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "Traceback" not in err, err
    assert not out.exists()


def test_the_ring_task_is_accepted_as_explicit_centres():
    config = _deep(n_clusters=6, centers=RING, spread=0.3, n_hidden=10)
    dims = FAMILIES["competition_deep"].dims(config)
    assert (dims["output"], dims["unit"], dims["layer"]) == (6, 10, 2)


def test_one_layer_trains_the_first_layer_designs_alone():
    from cli.competition_depth import build_specs

    parser = cli.build_parser()
    args = parser.parse_args(
        ["competition", "depth", "--layers", "1", "--first", "relu", "softmax+revival"]
    )
    specs = build_specs(args)
    assert list(specs) == [("relu", None), ("softmax+revival", None)]
    spec = specs[("softmax+revival", None)].to_dict()
    assert spec["family"] == "competition_deep" and spec["n_layers"] == 1
    assert (spec["model"]["volume"], spec["model"]["volume_strength"]) == ("revival", 0.5)
    assert spec["model"]["activation"] == "softmax"


@pytest.mark.parametrize("layer", [0, 1])
def test_revival_moves_a_dead_unit_of_its_own_layer_and_zeroes_its_outgoing_weights(layer):
    values = {"volume": "revival", "volume_strength": 1.0}
    if layer == 1:
        values = {"volume_layer2": "revival", "volume_strength_layer2": 1.0}
    model = FAMILIES["competition_deep"]([_deep(**values)], [model_seed(0, 0, 2)])
    model.objective(probe_batch(model, 64), 1.0)  # the batch the revived unit moves onto
    stage = model.stages[layer]
    rows, out = stage.W1.detach().clone(), stage.W2.detach().clone()
    before = {n: getattr(model, n).detach().clone() for n in model.params}
    dead = torch.zeros(1, 8, dtype=torch.bool)
    dead[0, 3] = True
    stage.revive(dead)
    assert not torch.equal(stage.W1[0, 3], rows[0, 3])  # moved
    torch.testing.assert_close(stage.W1[0, :3], rows[0, :3])  # the others stay
    assert torch.all(stage.W2[0, :, 3] == 0) and bool(out[0, :, 3].abs().sum() > 0)
    torch.testing.assert_close(stage.W2[0, :, :3], out[0, :, :3])
    # nothing of the other layer moves (the first layer's outgoing weights are Wh)
    untouched = ("bh", "gain_h", "W2", "b2") if layer == 0 else ("W1", "b1", "gain")
    for name in untouched:
        assert torch.equal(getattr(model, name), before[name]), name
