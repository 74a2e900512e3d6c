"""Redundancy measured up to each activation's invariance: softmax (log-softmax; grouped
softmax per block) computes the same function when one vector is added to every unit's
row ``[w, b]``, so the layer metrics are taken on rows centred over the units.

Every registered activation's declaration is checked against what it computes; two layers
that compute the same function get the same metrics; a hand example has known values."""

import math

import numpy as np
import pytest
import torch

from toymodels import ACTIVATIONS, ModelConfig, TrainConfig, model_seed
from toymodels.engine import build_model
from toymodels.tasks import Batch
from toymodels.unit_metrics import centred_rows, hyperplane_metrics

K = 4
SHIFTED_METRICS = ("max_abs_cos", "effective_rank", "n_distinct", "usage", "dead_fraction")


class _Config:
    n_hidden = K
    temperature = 0.7
    group_size = 2
    k_active = 2


def _shift(n_units: int, block: int, gen) -> torch.Tensor:
    """A shift ``[model=1, unit, 1]`` common to each block of ``block`` units."""
    per_block = torch.randn(1, n_units // block, 1, generator=gen) * 3.0
    return per_block.repeat_interleave(block, dim=1)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_declares_the_shift_it_ignores(name):
    cls = ACTIVATIONS[name]
    act = cls([_Config()])
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(1, K, 50, generator=gen)
    if cls.shift_invariant is None:
        # a shift common to the whole layer changes the output
        assert not torch.allclose(act(z + 1.7), act(z), atol=1e-4)
    else:
        block = act.shift_block(K)
        assert cls.shift_invariant in ("layer", "blocks") and K % block == 0
        # a different shift per block (per example too) changes nothing
        shift = _shift(K, block, gen) + torch.randn(1, 1, 50, generator=gen).repeat_interleave(
            K, dim=1
        ) * (block == K)
        torch.testing.assert_close(act(z + shift), act(z), atol=1e-5, rtol=1e-5)


def test_the_declarations():
    invariant = {n: c.shift_invariant for n, c in ACTIVATIONS.items() if c.shift_invariant}
    assert invariant.get("softmax") == "layer"
    assert invariant.get("log_softmax") == "layer"
    assert invariant.get("grouped_softmax") == "blocks"
    # SoLU passes z ⊙ softmax(z): the shift reaches the output through z
    assert ACTIVATIONS["solu"].shift_invariant is None
    assert ACTIVATIONS["solu_ln"].shift_invariant is None
    assert ACTIVATIONS["relu"].shift_invariant is None


def _layer(activation: str, **fields):
    config = ModelConfig.build("competition", "clusters", n_hidden=K, activation=activation,
                               temperature=0.7, **fields)  # fmt: skip
    return build_model([config], [model_seed(0, 0, 0)], TrainConfig(steps=10))


def _metrics(layer, W, b):
    """The layer's metrics and its output on a probe, with rows ``[W, b]``."""
    with torch.no_grad():
        layer.W1.copy_(W)
        layer.gain.copy_(W.norm(dim=-1))
        layer.b1.copy_(b)
        probe = Batch(torch.randn(1, 2, 2000, generator=torch.Generator().manual_seed(5)) * 2)
        found = layer.compute_metrics(probe)
        return {k: v[0].numpy() for k, v in found.items()}, layer(probe.x)


@pytest.mark.parametrize("activation", ["softmax", "log_softmax", "grouped_softmax"])
def test_layers_computing_the_same_function_get_the_same_metrics(activation):
    gen = torch.Generator().manual_seed(11)
    layer = _layer(activation)
    W = torch.randn(1, K, 2, generator=gen)
    b = torch.randn(1, K, generator=gen)
    block = layer.activation.shift_block(K)
    # the same shift vector [v, β] for every unit of a block
    v = torch.randn(1, K // block, 3, generator=gen).mul(4.0).repeat_interleave(block, dim=1)
    before, out = _metrics(layer, W, b)
    after, shifted_out = _metrics(layer, W + v[..., :2], b + v[..., 2])
    torch.testing.assert_close(shifted_out, out, atol=1e-4, rtol=1e-4)  # the same function
    for key in SHIFTED_METRICS:
        np.testing.assert_allclose(after[key], before[key], atol=1e-4, err_msg=key)


def test_relu_rows_are_not_centred():
    gen = torch.Generator().manual_seed(2)
    layer = _layer("relu")
    W, b = torch.randn(1, K, 2, generator=gen), torch.randn(1, K, generator=gen)
    before, _ = _metrics(layer, W, b)
    after, _ = _metrics(layer, W + 5.0, b + 5.0)
    assert after["max_abs_cos"] > 0.99 > before["max_abs_cos"]


def test_a_hand_example():
    # Three softmax units pointing 120° apart, all carried far along one common vector:
    # uncentred, their rows [w, b] nearly coincide (|cos| ≈ 1, one distinct unit); the
    # shift does nothing to a softmax, and centred they are an equilateral frame:
    # cos = −1/2 between each pair, singular values equal in a plane (effective rank 2),
    # three distinct units.
    angles = [0.0, 2 * math.pi / 3, 4 * math.pi / 3]
    frame = torch.tensor([[math.cos(a), math.sin(a), 0.0] for a in angles])
    common = torch.tensor([20.0, 20.0, 20.0])
    rows = (frame + common).unsqueeze(0)
    r = torch.full((1, 3, 10), 1 / 3)  # every unit used alike
    W, b = rows[..., :2], rows[..., 2]
    plain = hyperplane_metrics(W, b, r)
    centred = hyperplane_metrics(W, b, r, shift_block=3)
    assert plain["max_abs_cos"].item() > 0.99 and plain["n_distinct"].item() == 1
    assert centred["max_abs_cos"].item() == pytest.approx(0.5, abs=1e-5)
    assert centred["effective_rank"].item() == pytest.approx(2.0, abs=1e-4)
    assert centred["n_distinct"].item() == 3
    torch.testing.assert_close(centred_rows(rows, 3), frame.unsqueeze(0), atol=1e-5, rtol=0)


def test_centred_rows_that_point_apart_are_not_alike():
    # centred, two units duplicate each other (cos 1) and the third points away (cos −1):
    # two distinct units, not one, although every |cos| is 1
    rows = torch.tensor([[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [-2.0, 0.0, 0.0]]]) + 7.0
    r = torch.full((1, 3, 10), 1 / 3)
    m = hyperplane_metrics(rows[..., :2], rows[..., 2], r, shift_block=3)
    assert m["max_abs_cos"].item() == pytest.approx(1.0, abs=1e-6)
    assert m["n_distinct"].item() == 2
    # per block of one unit everything centres to zero: no direction, nothing alike
    blocks = centred_rows(rows, 1)
    assert torch.count_nonzero(blocks) == 0


def test_competition_list_prints_the_declarations(capsys):
    from cli.main import main

    assert main(["competition", "list", "--json"]) == 0
    import json

    listed = {
        a["name"]: a["shift_invariant"] for a in json.loads(capsys.readouterr().out)["activations"]
    }
    assert listed == {name: cls.shift_invariant for name, cls in ACTIVATIONS.items()}
    assert listed["grouped_softmax"] == "blocks" and listed["relu"] is None
