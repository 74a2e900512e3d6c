"""The fused descent (``ToyModel.fused_descent``): a plain gradient-descent step whose
update the gradient's own product writes into the weights equals the gradient then the
update (``batch_loss_and_grad``, ``θ −= lr·g``) up to float rounding, for every family
that declares it, and the engine takes it exactly where that is the step it would take."""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from toymodels import FAMILIES, ModelConfig, TrainConfig, model_seed
from toymodels.engine import build_model, fused_descent

FUSED = [(f, t) for f, cls in FAMILIES.items() if cls.fused_descent for t in cls.tasks]
SGD = TrainConfig(steps=60, lr=2e-3, optimizer="sgd", estimator="full")


def _pair(config: ModelConfig):
    seeds = [model_seed(7, 0, r) for r in range(2)]
    model = build_model([config, config.replace(init_std=config.arch.init_std * 1.5)], seeds, SGD)
    return model, copy.deepcopy(model)


@pytest.mark.parametrize(("family", "task"), FUSED, ids=[f"{f}-{t}" for f, t in FUSED])
def test_fused_descent_is_the_gradient_then_the_update(family, task):
    config = ModelConfig.build(family, task, init_std=0.02)
    assert fused_descent(config, SGD)
    fused, plain = _pair(config)
    data = fused.task.data_set
    weight = fused.task.row_weight(fused.task.n_samples)
    start = plain.batch_loss(data, weight).detach()
    for _ in range(SGD.steps):
        fused.descend(data, weight, SGD.lr)
        plain.batch_loss_and_grad(data, weight, need_loss=False)
        with torch.no_grad():
            for p in plain.parameters():
                p.add_(p.grad, alpha=-SGD.lr)
    end = plain.batch_loss(data, weight).detach()
    assert (end < 0.9 * start).all(), (start, end)  # it learned: the check can tell
    for (name, a), b in zip(fused.named_parameters(), plain.parameters(), strict=True):
        np.testing.assert_allclose(a.detach(), b.detach(), rtol=1e-4, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(fused.batch_loss(data, weight).detach(), end, rtol=1e-5)


def test_a_deep_network_takes_the_gradient_and_the_optimiser():
    """Two hidden layers have no fused descent: the engine steps them with the gradient
    and the optimiser, and ``descend`` refuses rather than step a one-layer network."""
    deep = ModelConfig.build("contextual_relu", "contextual", n_layers=2, n_hidden=48)
    assert not fused_descent(deep, SGD)
    assert fused_descent(deep.replace(n_layers=1), SGD)
    model = _pair(deep)[0]
    with pytest.raises(NotImplementedError, match="hidden links"):
        model.descend(model.task.data_set, 1.0, SGD.lr)


def test_the_engine_fuses_only_plain_full_batch_descent_without_a_penalty():
    relu = ModelConfig.build("contextual_relu", "contextual")
    assert fused_descent(relu, SGD)
    assert not fused_descent(relu, replace(SGD, optimizer="adam"))
    assert not fused_descent(relu, replace(SGD, estimator="sampled"))
    assert not fused_descent(ModelConfig.build("contextual_relu", "contextual",
                                               regulariser="l2"), SGD)  # fmt: skip
    assert not FAMILIES["gdln"].fused_descent
    assert not fused_descent(ModelConfig.build("gdln", "contextual"), SGD)
