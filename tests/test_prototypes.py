"""The prototypes family: its free energy against the definition, its metrics on
prototypes whose answer is known, the configurations it refuses, and trained layers
against the derived critical temperature."""

import numpy as np
import pytest
import torch

from analytics import critical_temperature
from toymodels import ModelConfig, TrainConfig, model_seed, train
from toymodels.engine import build_model
from toymodels.errors import ConfigError
from toymodels.phases import layer_competition as rule
from toymodels.tasks import Batch

K = 4


def _layer(**fields):
    config = ModelConfig.build("prototypes", "annealing", **{"n_hidden": K, **fields})
    return build_model([config], [model_seed(0, 0, 0)], TrainConfig(steps=10))


def _probe(points=400, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Batch(torch.randn(1, 2, points, generator=gen))


def test_output_is_the_free_energy_and_responsibilities_its_softmax():
    tau = 0.7
    layer = _layer(temperature=tau)
    x = _probe(5).x
    W = layer.W1.detach()[0]
    distances = ((x[0].T.unsqueeze(1) - W.unsqueeze(0)) ** 2).sum(-1)  # [example, unit]
    free_energy = -tau * torch.log(torch.exp(-distances / tau).sum(-1))
    with torch.no_grad():
        torch.testing.assert_close(layer(x)[0, 0], free_energy)
        r = layer.responsibilities(layer.logits(x))[0]
    torch.testing.assert_close(r.T, torch.softmax(-distances / tau, dim=-1))


def test_prototypes_at_one_place_are_one_distinct_unit():
    layer = _layer(temperature=1.0)
    probe = _probe()
    centre = probe.x.mean(-1)[0]
    with torch.no_grad():
        layer.W1.copy_(centre.expand(K, 2) + 1e-3 * torch.arange(K).view(-1, 1))
        assert layer.compute_metrics(probe)["n_distinct"].item() == 1
        layer.W1.copy_(centre + torch.tensor([[2.0, 0], [-2.0, 0], [0, 2.0], [0, -2.0]]))
        metrics = layer.compute_metrics(probe)
    assert metrics["n_distinct"].item() == K
    # about the data's centre the four prototypes are two antipodal pairs
    assert metrics["max_abs_cos"].item() == pytest.approx(1.0, abs=1e-6)
    assert metrics["effective_rank"].item() == pytest.approx(2.0, abs=1e-2)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"activation": "solu"}, "does not apply to the annealing task"),
        ({"volume": "orthogonality"}, "prototype points"),
        ({"volume": "weightnorm"}, "prototype points"),
        ({"volume": "logdet"}, "prototype points"),
        ({"volume": "dropout", "volume_strength": 0.95}, "above 0.9"),
        ({"group_size": 2}, 'no field "group_size"'),
        ({"k_active": 2}, 'no field "k_active"'),
    ],
)
def test_bad_configurations_are_refused_in_one_line(fields, message):
    with pytest.raises(ConfigError, match=message) as err:
        ModelConfig.build("prototypes", "annealing", **fields)
    assert "\n" not in str(err.value)


def test_trained_layers_split_below_the_critical_temperature_only():
    """Outside ±10% of τ_c the trained prototypes sit together above it and apart below.
    A small version of ``competition phase-diagram --task annealing`` (whose summary
    reports the agreement over the whole diagram)."""
    centres = [[1.0, 0.0], [0.0, 1.0]]
    tc = critical_temperature(centres, 0.3).value
    ratios = (0.5, 0.7, 0.85, 1.2, 1.5, 2.0)
    configs, seeds = [], []
    for i, ratio in enumerate(ratios):
        for s in range(2):
            configs.append(
                ModelConfig.build(
                    "prototypes", "annealing", n_hidden=2, temperature=ratio * tc, spread=0.3
                )
            )
            seeds.append(model_seed(0, i, s))
    result = train(configs, TrainConfig(steps=1500, batch_size=256, lr=0.01), seeds, threads=2)
    distinct = result.metrics["n_distinct"].reshape(len(ratios), 2)
    np.testing.assert_array_equal(distinct, [[2, 2]] * 3 + [[1, 1]] * 3)
    # the same through the phase rule
    found = rule.LAYER_COMPETITION_RULE.reduce(result.metrics)
    codes = rule.LAYER_COMPETITION_RULE.classify(found).reshape(len(ratios), 2)
    labels = np.array(rule.LABELS)[codes]
    assert (labels[:3] == "specialised").all() and (labels[3:] == "redundant").all()
