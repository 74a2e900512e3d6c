"""The gates and pathways of a ReLU network on the contextual task, the GDLN on any list of
context masks, and the ReLN: the GDLN whose pathways are the ReLU network's gating patterns."""

import json

import numpy as np
import pytest
import torch
import xarray as xr

import sweeps
from cli.main import main
from summaries import reln
from summaries.crossing import first_crossing
from toymodels import ModelConfig, TrainConfig, model_seed, train
from toymodels.contextual_data import contextual_data
from toymodels.families.contextual_networks import ContextualReLU
from toymodels.families.gdln import GATINGS, GatedLinearNetwork, gate_sets
from toymodels.families.reln_network import RectifiedLinearNetwork

GD = dict(optimizer="sgd", estimator="full")


# -- gates and pathways ---------------------------------------------------------------------
def test_gates_and_pathways_of_a_constructed_relu_network():
    config = ModelConfig.build("contextual_relu", "contextual", n_hidden=5)
    model = ContextualReLU([config], [model_seed(0, 0, 0)])
    with torch.no_grad():
        W1 = torch.zeros(11, 5)
        W1[8, 0] = 1.0  # unit 0: context 1 only
        W1[8:10, 1] = 1.0  # unit 1: contexts 1 and 2
        W1[0, 2] = 1.0  # unit 2: object 0, so some objects of every context
        W1[:, 3] = -1.0  # unit 3: never on
        W1[:8, 4] = 1.0  # unit 4: every sample, but its output weight is tiny (weak)
        model.W1.copy_(W1[None])
        model.W2.copy_(torch.tensor([2.0, 1.0, 3.0, 1.0, 1e-3])[:, None].expand(5, 60)[None])
    m = model.compute_metrics(model.task.data_set)
    _, _, context = contextual_data(config.data)
    obj = np.arange(24) % 8
    expected = np.stack(
        [context == 0, context <= 1, obj == 0, np.zeros(24, bool), np.ones(24, bool)]
    )
    np.testing.assert_array_equal(m["unit_gates"][0].numpy(), expected.astype(np.int8))
    assert m["unit_contexts"][0].tolist() == [0b001, 0b011, 0b111, 0, 0b111]
    units = m["pathway_units"][0].tolist()
    assert units == [1, 1, 0, 1, 0, 0, 0, 2]  # bitmask 7 holds the strong unit 2 and weak unit 4
    assert m["pathway_strong_units"][0].tolist() == [0, 1, 0, 1, 0, 0, 0, 1]
    # a unit's strength ||W2[k]|| ||h_k||: unit 0: 2 √60 √8; unit 2: 3 √60 √3
    strength = m["pathway_strength"][0].numpy()
    np.testing.assert_allclose(
        strength[[1, 3, 7]], np.sqrt(60) * np.array([2 * 8**0.5, 16**0.5, 3 * 3**0.5]), rtol=1e-6
    )
    assert strength[[0, 2, 4, 5, 6]].tolist() == [0.0] * 5


def _relu_run(settle_pattern):
    """A stand-in run: two units, unit 1 weak; unit 0's pattern over 5 recorded steps."""
    steps = [0, 10, 20, 30, 40]
    pattern = np.array([[settle_pattern, [7, 1, 7, 3, 7]]]).transpose(0, 2, 1)
    return xr.Dataset(
        {
            "unit_contexts_trajectory": (("seed", "step", "unit"), pattern.astype(np.int32)),
            "unit_strength": (("seed", "unit"), np.array([[1.0, 0.01]])),
        },
        coords={"step": steps},
    )


@pytest.mark.parametrize(
    ("trajectory", "settle"),
    [([7, 3, 7, 3, 3], 30), ([3, 3, 3, 3, 3], 0), ([3, 3, 3, 3, 7], 40)],
)
def test_gates_settle_at_the_first_step_after_the_last_change_of_a_strong_unit(trajectory, settle):
    # the weak unit changes to the end and is ignored
    assert reln.gates_settle_epoch(_relu_run(trajectory)) == [settle]


# -- the GDLN on a list of masks --------------------------------------------------------------
def test_mask_list_gdln_equals_a_direct_computation_and_padding_units_stay_zero():
    config = ModelConfig.build(
        "gdln", "contextual", n_hidden=4, gating="masks", masks=[[1, 2], [3]], units=[3, 2, 1],
        training="joint", init_std=0.3,
    )  # fmt: skip
    model = GatedLinearNetwork([config], [model_seed(0, 0, 0)], dtype=torch.float64)
    W = {n: p.detach()[0].numpy().copy() for n, p in model.named_parameters()}
    assert not W["Wc1"][3:].any() and not W["Wc2"][:, 3:].any() and W["Wc1"][:3].all()
    assert not W["Wg1"][0, 2:].any() and not W["Wg1"][1, 1:].any() and W["Wg1"][1, 0].all()
    x, y, context = contextual_data(config.data)
    expected = np.stack(
        [
            W["Wc2"] @ W["Wc1"] @ x[:, p]
            + (context[p] in (0, 1)) * W["Wg2"][0] @ W["Wg1"][0] @ x[:8, p]
            + (context[p] == 2) * W["Wg2"][1] @ W["Wg1"][1] @ x[:8, p]
            for p in range(24)
        ],
        1,
    )
    got = model(torch.tensor(x)[None]).detach()[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the hand gradient is the loss's, and zero on the padding units
    loss = model.batch_loss_and_grad(model.task.data_set, 1.0)
    np.testing.assert_allclose(loss.item(), 0.5 * ((expected - y) ** 2).sum(), rtol=1e-12)
    hand = {n: p.grad.clone() for n, p in model.named_parameters()}
    with torch.enable_grad():
        params = list(model.parameters())
        auto = torch.autograd.grad(model.batch_loss(model.task.data_set, 1.0).sum(), params)
    for (name, g), a in zip(hand.items(), auto, strict=True):
        torch.testing.assert_close(g, a, msg=name)
    assert not hand["Wg2"][0, 1, :, 1:].any() and not hand["Wc1"][0, 3:].any()


@pytest.mark.parametrize("gating", [g for g in GATINGS if g != "masks"])
def test_fixed_gatings_as_mask_lists_are_todays_gdln(gating):
    cfg = TrainConfig(steps=60, lr=0.02, record_every=20, **GD)
    fixed = ModelConfig.build("gdln", "contextual", n_hidden=6, gating=gating, init_std=0.2)
    masks = [[c + 1 for c in s] for s in gate_sets(3, gating)]
    listed = fixed.replace(gating="masks", masks=masks)
    seeds = [model_seed(4, 0, r) for r in range(2)]
    a, b = train([fixed] * 2, cfg, seeds), train([listed] * 2, cfg, seeds)
    assert a.loss[0] < 0.9 * a.trajectory["loss"][0, 0]  # it trained
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    np.testing.assert_array_equal(a.trajectory["loss"], b.trajectory["loss"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (dict(masks=[[1, 2], []]), "non-empty"),
        (dict(masks=[[1, 4]]), "names context 4"),
        (dict(masks=[[0]]), "from 1"),
        (dict(masks=[[2, 1], [1, 2]]), "appears twice"),
        (dict(masks=[[1, 1]]), "twice"),
        (dict(masks=[[1]], units=[1]), "one count per pathway"),
        (dict(masks=[[1]], units=[1, 500]), "at most n_hidden"),
        (dict(masks=[]), "masks"),
    ],
)
def test_bad_masks_are_refused(values, message):
    from toymodels.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        ModelConfig.build("gdln", "contextual", gating="masks", **values)


# -- the reln family: the same network laid out as the ReLU network's layer ------------------
def _gdln_and_reln():
    """A mask-list GDLN (float64) and the ``reln`` network holding the same weights."""
    gdln = ModelConfig.build(
        "gdln", "contextual", n_hidden=4, gating="masks", masks=[[1, 2], [3]], units=[3, 2, 1],
        training="joint", init_std=0.3,
    )  # fmt: skip
    layer = ModelConfig.build(
        "reln", "contextual", n_hidden=7, masks=[[1, 2, 3], [1, 2], [3]], units=[3, 2, 1],
        init_std=0.3,
    )  # fmt: skip
    seed = [model_seed(0, 0, 0)]
    a = GatedLinearNetwork([gdln], seed, dtype=torch.float64)
    b = RectifiedLinearNetwork([layer], seed, dtype=torch.float64)
    with torch.no_grad():
        W1, W2 = torch.zeros_like(b.W1), torch.zeros_like(b.W2)
        W1[0, :, :3], W2[0, :3] = a.Wc1[0, :3].T, a.Wc2[0, :, :3].T
        W1[0, :8, 3:5], W2[0, 3:5] = a.Wg1[0, 0, :2].T, a.Wg2[0, 0, :, :2].T
        W1[0, :8, 5:6], W2[0, 5:6] = a.Wg1[0, 1, :1].T, a.Wg2[0, 1, :, :1].T
        b.W1.copy_(W1), b.W2.copy_(W2)
    return a, b


def test_reln_family_is_the_mask_list_gdln_step_for_step():
    a, b = _gdln_and_reln()
    # its own start: masked inputs and the unit beyond the pathways are zero
    fresh = _gdln_and_reln()[1].__class__(b.configs, b.seeds, dtype=torch.float64)
    assert not fresh.W1[0, 8:, 3:].any() and not fresh.W2[0, 6:].any() and fresh.W1[0, :, :3].all()
    data = a.task.data_set
    losses = []
    for _ in range(40):  # plain gradient descent on both
        la, lb = a.batch_loss_and_grad(data, 1.0), b.batch_loss_and_grad(data, 1.0)
        losses.append((la.item(), lb.item()))
        assert not b.W1.grad[0, 8:, 3:].any() and not b.W2.grad[0, 6:].any()
        with torch.no_grad():
            for p in (*a.parameters(), *b.parameters()):
                p -= 0.002 * p.grad
    la, lb = np.array(losses).T
    assert la[-1] < 0.7 * la[0]  # it learned
    np.testing.assert_allclose(lb, la, rtol=1e-10)
    sa = a.compute_metrics(data)["pathway_singular_values"]
    sb = b.compute_metrics(data)["pathway_singular_values"]
    torch.testing.assert_close(sb[..., :3], sa[..., :3], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (dict(masks=[[1, 4]]), "names context 4"),
        (dict(masks=[[1, 2, 3]], units=[1, 2]), "one count per pathway"),
        (dict(masks=[[1, 2, 3], [1]], units=[400, 400]), "add up to 800, more than n_hidden=700"),
        (dict(inputs="whitened"), "one-hot"),
        (dict(basis="rows"), "unknown basis"),
        # 300 common units move in 11 + 60 directions, 100 gated ones in 8 + 60
        (
            dict(masks=[[1, 2, 3], [1]], units=[300, 100], n_hidden=138, basis="span"),
            "move in 139 directions with basis=span, more than n_hidden=138",
        ),
        (dict(basis="span", regulariser="l1"), "regulariser=l1 needs basis=units"),
    ],
)
def test_bad_reln_layers_are_refused(values, message):
    from toymodels.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        ModelConfig.build("reln", "contextual", **values)


def test_span_basis_refuses_an_optimiser_that_leaves_the_span():
    from toymodels.errors import ConfigError

    config = ModelConfig.build("reln", "contextual", basis="span")
    with pytest.raises(ConfigError, match="optimizer=adam rescales each weight"):
        train(
            [config],
            TrainConfig(steps=1, optimizer="adam", estimator="full"),
            [model_seed(0, 0, 0)],
        )


def test_span_basis_is_the_layer_of_units_in_fewer_columns():
    """From the same unit weights (a layer exactly as wide as the units, so both draw the
    same), the span basis trains the same network: the same losses and pathway singular
    values along the way, in 290 columns instead of 410 (pathways of more units than the
    inputs they see plus the 60 outputs are cut to that)."""
    from toymodels.families.reln_network import pathway_columns

    masks = [[1, 2, 3], [1, 2], [1, 3], [2, 3], [1], [2], [3]]
    units = [[150, 80, 75, 90, 2, 10, 3], [160, 70, 80, 85, 0, 10, 5]]
    common = dict(masks=masks, init_std=0.01, n_hidden=410)
    layer = [ModelConfig.build("reln", "contextual", **common, units=u) for u in units]
    span = [c.replace(basis="span", n_hidden=290) for c in layer]
    assert [pathway_columns(c) for c in span] == [
        (71, 68, 68, 68, 2, 10, 3),
        (71, 68, 68, 68, 0, 10, 5),
    ]
    seeds = [model_seed(1, 0, r) for r in range(2)]
    cfg = TrainConfig(steps=1500, lr=1e-3, record_every=150, **GD)
    a, b = train(layer, cfg, seeds), train(span, cfg, seeds)
    assert a.trajectory["loss"][:, -1].max() < 0.05 * a.trajectory["loss"][:, 0].min()
    np.testing.assert_allclose(b.trajectory["loss"], a.trajectory["loss"], rtol=2e-5)
    np.testing.assert_allclose(
        b.trajectory["pathway_singular_values"],
        a.trajectory["pathway_singular_values"],
        rtol=2e-5,
        atol=1e-6,
    )


# -- the ReLN ---------------------------------------------------------------------------------
# A loss the ReLU network reaches and the linear network (plateau 16.7) does not.
LOW = 10.0
SMALL = ["--hidden", "60", "--epochs", "1500", "--lr", "5e-3", "--record-every", "50"]


@pytest.fixture(scope="module")
def relu_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("reln") / "mt"
    assert main(["multitask", "train", *SMALL, "--seeds", "2", "--quiet", "--out", str(out)]) == 0
    return out


def test_trained_reln_follows_its_relu_network_and_wrong_gates_do_not(relu_out):
    summary = json.loads((relu_out / "summary.json").read_text())["reln"]
    relu = sweeps.load(relu_out / "run")
    stored = xr.load_dataset(relu_out / "reln.nc")
    a = relu["loss_trajectory"].transpose("seed", "step").values
    b = stored["loss_trajectory"].transpose("seed", "step").values
    # Where the loss falls from 106 to 20 the context-level gates carry the ReLU network's
    # learning (later it gates within contexts too, which a ReLN cannot)
    learning = a >= 20
    assert learning.sum() > 10 and (a < 20).any()
    gap = np.abs(b - a)[learning] / a[learning]
    assert gap.max() < 0.2, gap.max()  # 0.095 for the default network (docs/multitask.md)
    # Below it the ReLN goes on learning, later than the ReLU network but close, while the
    # same units in the common pathway alone (a linear network) stall above 16
    configs, cfg, seeds, masks = reln.reln_configs(relu)
    steps = relu["step"].values
    # (masks[0] is the common pathway, on in every context)
    linear = [c.replace(units=[sum(c.arch.units)] + [0] * (len(masks) - 1)) for c in configs]
    stalled = train(linear, cfg, seeds).trajectory["loss"]
    for i in range(2):
        relu_at, reln_at = (first_crossing(steps, -v[i], -LOW) for v in (a, b))
        assert abs(reln_at - relu_at) < 0.15 * relu_at, (relu_at, reln_at)
        assert stalled[i].min() > 16 and np.isnan(first_crossing(steps, -stalled[i], -LOW))
    # summary: pathways per seed with their units, numbered from 1, settle epochs, gaps
    assert len(summary["pathways"]) == 2
    assert [1, 2, 3] in [p["contexts"] for p in summary["pathways"][0]]
    units = relu["pathway_units"].values
    for seed, found in enumerate(summary["pathways"]):
        for p in found:
            assert p["units"] == units[seed, sum(1 << (c - 1) for c in p["contexts"])]
    assert all(e in relu["step"].values for e in summary["gates_settle_epoch"])
    assert summary["trained_loss_gap"] == pytest.approx(
        reln.loss_gap(relu, stored, summary["gates_settle_epoch"])
    )


def test_reln_command_on_a_stored_run_gives_the_trains_summary(relu_out, tmp_path):
    out = tmp_path / "r"
    assert main(["multitask", "reln", "--run", str(relu_out), "--out", str(out)]) == 0
    train_summary = json.loads((relu_out / "summary.json").read_text())["reln"]
    assert json.loads((out / "summary.json").read_text())["reln"] == train_summary
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG" and (out / "reln.nc").is_file()
    # a folder holding a run is not overwritten
    before = (relu_out / "summary.json").read_bytes()
    assert main(["multitask", "reln", "--run", str(relu_out), "--out", str(relu_out)]) == 2
    assert (relu_out / "summary.json").read_bytes() == before


def test_reln_of_a_run_that_is_not_a_relu_run_is_one_line_exit_2_nothing_written(tmp_path, capsys):
    run = tmp_path / "gd"
    args = ["--hidden", "4", "--epochs", "20", "--seeds", "1", "--quiet"]
    assert main(["multitask", "train", "--model", "gdln", *args, "--out", str(run)]) == 0
    assert not (run / "reln").exists()
    capsys.readouterr()
    for bad, says in ((run, "is a gdln run"), (tmp_path / "none", "holds no run")):
        out = tmp_path / "r"
        assert main(["multitask", "reln", "--run", str(bad), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err and "Traceback" not in err, err
        assert not out.exists()


@pytest.mark.parametrize(
    "bad",
    [
        ["--model", "gdln", "--masks", "[[1, 2], []]"],
        ["--model", "gdln", "--masks", "[[1, 4]]"],
        ["--model", "gdln", "--masks", "[[1], [1]]"],
        ["--model", "gdln", "--masks", "[[1"],
        ["--model", "contextual_relu", "--masks", "[[1]]"],
    ],
)
def test_bad_masks_on_the_command_line_are_one_line_exit_2_nothing_written(bad, tmp_path, capsys):
    out = tmp_path / "mt"
    assert main(["multitask", "train", *bad, "--epochs", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "masks" in err and "Traceback" not in err, err
    assert not out.exists()


def test_a_rerun_reads_the_stored_reln_and_a_foreign_one_is_retrained(relu_out, monkeypatch):
    from summaries import reln as reln_module

    summary = (relu_out / "summary.json").read_text()
    stored = (relu_out / "reln.nc").stat().st_mtime_ns

    def untrained(results):
        raise AssertionError("the stored ReLN is this run's: nothing to train")

    monkeypatch.setattr(reln_module, "train_reln", untrained)
    assert (
        main(["multitask", "train", *SMALL, "--seeds", "2", "--quiet", "--out", str(relu_out)]) == 0
    )
    assert (relu_out / "reln.nc").stat().st_mtime_ns == stored
    assert (relu_out / "summary.json").read_text() == summary
    monkeypatch.undo()
    # A ReLN of other pathways in its place is not taken for this run's.
    other = xr.load_dataset(relu_out / "reln.nc")
    other.attrs["masks"] = json.dumps([[1]])
    reln_module.save_reln(other, relu_out)
    assert (
        main(["multitask", "train", *SMALL, "--seeds", "2", "--quiet", "--out", str(relu_out)]) == 0
    )
    assert (relu_out / "summary.json").read_text() == summary
    assert xr.load_dataset(relu_out / "reln.nc").attrs["masks"] != json.dumps([[1]])
