"""Pruning a trained layer of units (``toymodels.pruning``) and ``toymodels competition
prune`` / ``width``: hand computations, the JSON written and bad input."""

import json
import math

import numpy as np
import pytest
import torch

import sweeps
from cli.main import main
from toymodels import ModelConfig, TrainConfig, train
from toymodels.pruning import keep_masks, masked_activation, pruned_scores, removal_order
from toymodels.random_words import UniformBlocks
from toymodels.seeds import STREAM_EVAL, model_seed
from toymodels.tasks import TASKS

RING = [[2 * math.cos(2 * math.pi * c / 3), 2 * math.sin(2 * math.pi * c / 3)] for c in range(3)]
EVAL = 2000


def _config(activation: str, units: int = 4) -> ModelConfig:
    return ModelConfig.build(
        "competition", "clusters", n_hidden=units, n_clusters=3, activation=activation,
        centers=RING, spread=0.3,
    )  # fmt: skip


def _trained(activation: str, units: int = 4, seeds: int = 2):
    configs = [_config(activation, units)] * seeds
    seed_list = [model_seed(0, 0, r) for r in range(seeds)]
    result = train(configs, TrainConfig(steps=60, lr=0.05, eval_batch=EVAL), seed_list)
    return configs, seed_list, result


def _labels(configs, seeds) -> np.ndarray:
    """``[model, example]``: the labels of the evaluation examples, drawn as the final
    loss draws them."""
    task = TASKS["clusters"]([c.data for c in configs], seeds)
    blocks = UniformBlocks(seeds, STREAM_EVAL, task.sample_shape(task.configs[0], EVAL))
    return task.draw(blocks.next()).labels.numpy()


@pytest.mark.parametrize("activation", ["relu", "softmax", "solu_ln", "kwta"])
def test_keeping_every_unit_gives_the_stored_loss(activation):
    configs, seeds, result = _trained(activation)
    keep = np.ones((1, 2, 4), dtype=bool)
    found = pruned_scores(configs, seeds, result.params, keep, EVAL)
    np.testing.assert_allclose(found["loss"][0], result.loss, rtol=1e-6)
    assert result.loss.max() < 0.5  # trained: well below chance, log 3 = 1.10


@pytest.mark.parametrize("activation", ["relu", "softmax", "log_softmax", "solu_ln", "lwta"])
def test_removing_every_unit_leaves_the_read_out_bias(activation):
    configs, seeds, result = _trained(activation)
    params = dict(result.params)
    params["b2"] = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -0.5]], dtype=np.float32)
    found = pruned_scores(configs, seeds, params, np.zeros((1, 2, 4), dtype=bool), EVAL)
    labels = _labels(configs, seeds)
    for m in range(2):  # every example's output is b2: −log softmax(b2)[y], averaged
        b = params["b2"][m].astype(float)
        log_p = b - np.log(np.exp(b).sum())
        assert found["loss"][0, m] == pytest.approx(-log_p[labels[m]].mean(), rel=1e-5)
        assert found["accuracy"][0, m] == pytest.approx((labels[m] == b.argmax()).mean())


def test_a_relu_unit_that_the_read_out_ignores_goes_for_free():
    configs, seeds, result = _trained("relu")
    params = dict(result.params)
    W2 = params["W2"].copy()
    W2[:, :, 1] = 0.0  # unit 1 of each model: no outgoing weight
    params["W2"] = W2
    keep = np.ones((3, 2, 4), dtype=bool)
    keep[1, :, 1] = False  # unit 1 removed
    keep[2, :, 0] = False  # unit 0 removed: it has outgoing weight, so the loss changes
    found = pruned_scores(configs, seeds, params, keep, EVAL)
    np.testing.assert_allclose(found["loss"][1], found["loss"][0], rtol=1e-6)
    assert np.all(np.abs(found["loss"][2] - found["loss"][0]) > 1e-3)
    # and the order by outgoing weight takes that unit first
    norms = np.linalg.norm(W2, axis=1)
    assert removal_order(norms)[:, 0].tolist() == [1, 1]


def test_a_removed_softmax_unit_leaves_the_others_renormalised():
    """K = 2 softmax: with unit 1 removed, unit 0 takes every example's whole share, so the
    output is W2[:, 0] + b2 everywhere (zeroing unit 1's output instead would leave
    W2[:, 0] r_0(x) + b2, which depends on x)."""
    configs, seeds, result = _trained("softmax", units=2)
    keep = np.array([[[True, False], [True, False]]])
    found = pruned_scores(configs, seeds, result.params, keep, EVAL)
    labels = _labels(configs, seeds)
    for m in range(2):
        out = result.params["W2"][m][:, 0].astype(float) + result.params["b2"][m]
        log_p = out - np.log(np.exp(out).sum())
        assert found["loss"][0, m] == pytest.approx(-log_p[labels[m]].mean(), rel=1e-5)


def test_masked_activations_by_hand():
    from toymodels.activations import ACTIVATIONS

    z = torch.tensor([[[1.0], [2.0], [3.0], [0.5]]])  # [model 1, unit 4, example 1]
    keep = torch.tensor([[True, False, True, True]])
    arch = _config("softmax").arch
    soft = masked_activation(ACTIVATIONS["softmax"]([arch]), z, keep)[0, :, 0]
    e = np.exp([1.0, 3.0, 0.5])
    np.testing.assert_allclose(soft.numpy(), [e[0] / e.sum(), 0.0, e[1] / e.sum(), e[2] / e.sum()],
                               rtol=1e-6)  # fmt: skip
    kwta = masked_activation(ACTIVATIONS["kwta"]([_config("kwta").arch]), z, keep)[0, :, 0]
    assert kwta.tolist() == [1.0, 0.0, 3.0, 0.0]  # the 2 largest of the units left
    ln = masked_activation(ACTIVATIONS["solu_ln"]([_config("solu_ln").arch]), z, keep)[0, :, 0]
    s = np.array([1.0, 3.0, 0.5]) * e / e.sum()
    y = (s - s.mean()) / np.sqrt(s.var() + 1e-5)
    np.testing.assert_allclose(ln.numpy(), [y[0], 0.0, y[1], y[2]], rtol=1e-5)
    # z/|z| over the units left: a removed unit adds nothing to the norm
    l2 = masked_activation(ACTIVATIONS["l2_norm"](), z, keep)[0, :, 0]
    left = np.array([1.0, 3.0, 0.5])
    np.testing.assert_allclose(l2.numpy(), np.insert(left / np.linalg.norm(left), 1, 0.0),
                               rtol=1e-6)  # fmt: skip


def test_keep_masks_follow_the_order():
    order = removal_order(np.array([[0.3, 0.1, 0.2], [0.0, 0.0, -1.0]]))
    assert order.tolist() == [[1, 2, 0], [2, 0, 1]]
    masks = keep_masks(order, [0, 1, 3])
    assert masks[0].all() and not masks[2].any()
    assert masks[1].tolist() == [[True, False, True], [True, True, False]]


# -- the command ----------------------------------------------------------------------------
# 5,000 evaluation examples: two of the engine's blocks, fewer than the preset's 16,384
SMALL = ["--seeds", "2", "--steps", "40", "--quiet", "--jobs", "1"]
SMALL += ["--set", "train.eval_batch=5000", "--set", "n_hidden=4"]


def test_prune_writes_strict_json_figure_and_run(folders):
    out = folders[0] / "p"
    argv = ["competition", "prune", "--activations", "relu", "softmax", "--fractions", "0.5",
            "0", "1", *SMALL, "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    text = (out / "prune.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    summary = json.loads(text)
    assert (out / "prune.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "prune.pdf").read_bytes()[:4] == b"%PDF"
    assert summary["fraction_removed"] == [0.0, 0.5, 1.0]
    assert summary["units_removed"] == [0, 2, 4]
    assert summary["fraction_kept"] == [1.0, 0.5, 0.0]
    assert set(summary["orders"]) == {"usage", "outgoing_norm"}
    assert list(summary["activations"]) == ["relu", "softmax"]
    ds = sweeps.load(out / "run")
    for name, entry in summary["activations"].items():
        stored = ds["loss"].sel(activation=name).values
        np.testing.assert_allclose(entry["stored_loss"], stored)
        for order in ("usage", "outgoing_norm"):
            curve = entry[order]
            assert np.shape(curve["loss"]) == np.shape(curve["accuracy"]) == (3, 2)
            np.testing.assert_allclose(curve["loss"][0], stored, rtol=1e-6)
            np.testing.assert_allclose(curve["loss_mean"], np.mean(curve["loss"], axis=1))
            # every unit removed: the read-out bias alone, whatever the order
            assert curve["loss_mean"][-1] == pytest.approx(entry["bias_loss_mean"])
            assert 0.0 <= curve["removable_fraction"] <= 1.0
    assert summary["settings"]["n_hidden"] == 4 and summary["settings"]["seeds"] == 2


def test_width_writes_json_and_figure(folders):
    out = folders[0] / "w"
    argv = ["competition", "width", "--widths", "4", "2", *SMALL[:-2], "--out", str(out)]
    assert main(argv) == 0
    summary = json.loads((out / "width.json").read_text())
    assert (out / "width.png").read_bytes()[:4] == b"\x89PNG"
    relu, competitive = summary["layers"]
    assert relu["label"] == "relu" == summary["reference"]
    assert competitive["label"] == "softmax + logdet (λ = 0.05)"
    for layer, run in zip((relu, competitive), ("run", "run_competitive"), strict=True):
        assert layer["width"] == [2, 4]
        ds = sweeps.load(out / run).sortby("n_hidden")
        np.testing.assert_allclose(layer["loss"], ds["loss"].transpose("n_hidden", "seed"))
    assert summary["reference_width"] == 4
    assert summary["reference_loss"] == pytest.approx(relu["loss_mean"][-1])
    assert summary["chance_loss"] == pytest.approx(math.log(6))  # the preset's 6 clusters


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "argv, names",
    [
        (["prune", "--fractions", "1.5"], ["1.5", "[0, 1]"]),
        (["prune", "--fractions", "-0.1"], ["-0.1", "[0, 1]"]),
        (["prune", "--fractions", "nan"], ["nan", "[0, 1]"]),
        (["prune", "--fractions", "0", "half"], ["half", "[0, 1]"]),
        (["prune", "--fractions", "--quiet"], ["--fractions", "expected"]),
        (["prune", "--activations", "--quiet"], ["--activations", "expected"]),
        (["prune", "--activations", "relu", "sigmoid"], ["sigmoid", "allowed"]),
        (["width", "--widths", "--quiet"], ["--widths", "expected"]),
        (["width", "--widths", "0"], ["0", ">= 1"]),
        (["width", "--activation", "sigmoid"], ["sigmoid", "allowed"]),
        (["width", "--volume", "nope"], ["nope", "allowed"]),
        (["width", "--volume", "entropy", "--activation", "relu"], ["entropy", "relu"]),
        (["width", "--activation", "relu", "--temperature", "0.5"], ["--temperature", "relu"]),
        (["width", "--volume", "none", "--strength", "0.5"], ["0.5", "none"]),
        (["width", "--set", "n_hidden=4"], ["n_hidden", "--widths"]),
        (["width", "--set", "model.volume=entropy"], ["model.volume", "--volume"]),
        (["prune", "--set", "axes.activation=['relu']"], ["axes.activation", "--activations"]),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(argv, names, folders, capsys):
    work = folders[0]
    assert main(["competition", *argv, "--out", "out", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for name in names:
        assert name in err, err
    assert _files(work) == []


# -- the figures ----------------------------------------------------------------------------
def test_pruning_figure_draws_a_line_per_activation_and_order():
    from figures.prune_panels import pruning_figure

    curve = {"loss_mean": [0.1, 0.5, None], "loss": [[0.1], [0.5], [None]]}
    summary = {
        "fraction_kept": [1.0, 0.5, 0.0],
        "activations": {
            name: {"bias_loss_mean": 1.0, "usage": curve, "outgoing_norm": curve}
            for name in ("relu", "softmax", "kwta")
        },
    }
    fig = pruning_figure(summary, title="t")
    assert len(fig.axes) == 2
    for ax, order in zip(fig.axes, ("usage", "outgoing_norm"), strict=True):
        lines = {line.get_gid(): line for line in ax.lines}
        assert {f"{order}:{a}" for a in ("relu", "softmax", "kwta")} < set(lines)
        y = lines[f"{order}:relu"].get_ydata()
        assert y[:2].tolist() == [0.1, 0.5] and np.isnan(y[2])
        assert lines["bias"].get_ydata()[0] == 1.0
        assert ax.get_xlabel() == "fraction of units kept"


def test_width_figure_draws_loss_and_units_against_k():
    from figures.prune_panels import width_figure

    layer = {
        "label": "relu",
        "width": [2, 4],
        "loss_mean": [0.2, 0.01],
        "loss": [[0.1, 0.3], [0.01, 0.01]],
        "n_distinct_mean": [2.0, 3.0],
        "effective_units_mean": [2.0, 3.5],
    }
    summary = {"reference": "relu", "reference_width": 4, "reference_loss": 0.01,
               "layers": [layer, {**layer, "label": "softmax + logdet"}]}  # fmt: skip
    fig = width_figure(summary)
    loss_ax, units_ax = fig.axes[:2]
    gids = {line.get_gid(): line for line in loss_ax.lines}
    assert gids["loss:relu"].get_ydata().tolist() == [0.2, 0.01]
    assert gids["reference"].get_ydata()[0] == 0.01
    assert len(loss_ax.collections) == 4  # each layer's seeds at each K
    units = {line.get_gid(): line for line in units_ax.lines}
    assert units["distinct:softmax + logdet"].get_ydata().tolist() == [2.0, 3.0]
    assert loss_ax.get_xscale() == "log" and units_ax.get_xlabel() == "units K"
