"""The competition family: its layer metrics on constructed layers whose answer is known,
the phase rule, the bad configurations it refuses, and trained annealing layers against
the derived critical temperature."""

import math

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


def _layer(task="clusters", **fields):
    fields = {"n_hidden": K, **fields}
    config = ModelConfig.build("competition", task, **fields)
    return build_model([config], [model_seed(0, 0, 0)], TrainConfig(steps=10))


def _set(layer, W, b=None):
    with torch.no_grad():
        layer.W1.copy_(torch.as_tensor(W, dtype=torch.float32).unsqueeze(0))
        layer.gain.copy_(layer.W1.norm(dim=-1))
        layer.b1.copy_(torch.zeros(1, K) if b is None else torch.as_tensor([b]))


def _probe(points=400, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Batch(torch.randn(1, 2, points, generator=gen))


def _metrics(layer, probe=None):
    found = layer.compute_metrics(probe or _probe())
    return {k: v[0].numpy() for k, v in found.items()}


def test_identical_units_are_one_distinct_unit_and_redundant():
    layer = _layer(activation="relu", n_features=2)
    _set(layer, [[1.0, 0.5]] * K, [0.1] * K)
    m = _metrics(layer)
    assert m["max_abs_cos"] == pytest.approx(1.0, abs=1e-6)
    assert m["effective_rank"] == pytest.approx(1.0, abs=1e-5)
    assert m["n_distinct"] == 1
    np.testing.assert_allclose(m["usage"], 1 / K, atol=1e-6)  # they share every example
    assert m["dead_fraction"] == 0 and m["effective_units"] == pytest.approx(K, rel=1e-5)
    values = rule.LAYER_COMPETITION_RULE.reduce({k: v[None] for k, v in m.items()})
    assert rule.LABELS[rule.LAYER_COMPETITION_RULE.classify(values)[0]] == "redundant"


def test_orthogonal_units_are_all_distinct_and_specialised():
    layer = _layer(activation="relu", n_features=4, n_clusters=2)
    _set(layer, np.eye(K))
    gen = torch.Generator().manual_seed(1)
    probe = Batch(torch.randn(1, 4, 8000, generator=gen))
    m = _metrics(layer, probe)
    assert m["max_abs_cos"] == pytest.approx(0.0, abs=1e-6)
    assert m["effective_rank"] == pytest.approx(K, rel=1e-5)
    assert m["n_distinct"] == K
    # each unit fires on half the examples, alike: usage near 1/K, entropy near log K
    np.testing.assert_allclose(m["usage"], 1 / K, atol=0.02)
    assert m["usage_entropy"] == pytest.approx(math.log(K), abs=0.01)
    values = rule.LAYER_COMPETITION_RULE.reduce({k: v[None] for k, v in m.items()})
    assert rule.LABELS[rule.LAYER_COMPETITION_RULE.classify(values)[0]] == "specialised"


def test_one_winner_takes_the_layer_and_collapses_it():
    layer = _layer(activation="softmax", n_features=2, temperature=0.1)
    _set(layer, np.eye(K, 2) * 0.1, [30.0, 0.0, 0.0, 0.0])  # unit 0 wins every example
    m = _metrics(layer)
    assert m["usage"][0] == pytest.approx(1.0, abs=1e-6)
    assert m["effective_units"] == pytest.approx(1.0, abs=1e-4)
    assert m["sample_entropy"] == pytest.approx(0.0, abs=1e-4)
    assert m["dead_fraction"] == pytest.approx((K - 1) / K)
    assert m["n_distinct"] == 1  # dead units are not counted
    values = rule.LAYER_COMPETITION_RULE.reduce({k: v[None] for k, v in m.items()})
    assert rule.LABELS[rule.LAYER_COMPETITION_RULE.classify(values)[0]] == "collapsed"


def test_a_chain_of_alike_units_is_one_group():
    from toymodels.unit_metrics import n_distinct

    # 0~1 and 1~2 (so 0, 1, 2 are one group), 3 alone; unit 4 dead
    same = torch.zeros(1, 5, 5, dtype=torch.bool)
    for i, j in ((0, 1), (1, 2)):
        same[0, i, j] = same[0, j, i] = True
    alive = torch.tensor([[True, True, True, True, False]])
    assert n_distinct(same, alive).item() == 2
    assert n_distinct(torch.zeros_like(same), alive).item() == 4


def test_prototypes_at_one_place_are_one_distinct_unit():
    layer = _layer("annealing", n_hidden=K, temperature=1.0)
    probe = _probe()
    centre = probe.x.mean(-1)[0]
    _set(layer, centre.expand(K, 2) + 1e-3 * torch.arange(K).view(-1, 1))
    assert _metrics(layer, probe)["n_distinct"] == 1
    _set(layer, centre + torch.tensor([[2.0, 0], [-2.0, 0], [0, 2.0], [0, -2.0]]))
    assert _metrics(layer, probe)["n_distinct"] == K


@pytest.mark.parametrize(
    ("units", "dead", "distinct", "label"),
    [
        (1.2, 0.0, 1.0, "collapsed"),  # fewer than 1.5 effective units
        (4.0, 0.75, 1.0, "collapsed"),  # most of the layer dead
        (4.0, 0.5, 1.0, "specialised"),  # half dead, each alive unit its own
        (8.0, 0.0, 0.5, "redundant"),  # every distinct unit has a copy
        (8.0, 0.0, 0.625, "specialised"),
    ],
)
def test_phase_rule_thresholds(units, dead, distinct, label):
    code = rule.classify(np.array([units]), np.array([dead]), np.array([distinct]))
    assert rule.LABELS[code[0]] == label


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"activation": "grouped_softmax", "n_hidden": 6, "group_size": 4}, "does not divide"),
        ({"activation": "lwta", "n_hidden": 5}, "does not divide"),
        ({"activation": "kwta", "n_hidden": 3, "k_active": 4}, "k_active=4 > n_hidden=3"),
        ({"temperature": 0.0}, "temperature=0 must be > 0"),
        ({"temperature": -1.0}, "must be > 0"),
        ({"volume": "entropy", "volume_strength": -0.1}, "negative"),
        ({"volume": "dropout", "volume_strength": 0.95}, "above 0.9"),
        ({"volume": "none", "volume_strength": 0.1}, "above 0"),
        ({"activation": "relu", "volume": "anneal"}, "no temperature to anneal"),
        ({"activation": "relu", "volume": "entropy"}, "does not apply to relu"),
        ({"activation": "nope"}, 'unknown activation "nope"'),
        ({"volume": "nope"}, 'unknown volume control "nope"'),
    ],
)
def test_bad_configurations_are_refused_in_one_line(fields, message):
    with pytest.raises(ConfigError, match=message) as err:
        ModelConfig.build("competition", "clusters", **fields)
    assert "\n" not in str(err.value)


def test_the_annealing_layer_needs_the_softmax():
    with pytest.raises(ConfigError, match="annealing task"):
        ModelConfig.build("competition", "annealing", activation="solu")
    with pytest.raises(ConfigError, match="prototype points"):
        ModelConfig.build("competition", "annealing", volume="orthogonality")


def test_the_stored_loss_is_the_task_loss_and_the_objective_adds_the_penalty():
    config = ModelConfig.build(
        "competition", "clusters", volume="entropy", volume_strength=0.5, n_hidden=K
    )
    layer = build_model([config], [model_seed(0, 0, 0)], TrainConfig(steps=10))
    batch = _probe(256)
    batch.labels = torch.zeros(1, 256, dtype=torch.int64)
    task = layer.batch_loss(batch, 1 / 256)
    usage = layer.responsibilities(layer.logits(batch.x)).mean(-1)
    entropy = -(usage * usage.log()).sum(-1)
    np.testing.assert_allclose(
        layer.objective(batch, 1 / 256).detach(), (task - 0.5 * entropy).detach(), rtol=1e-5
    )


def test_trained_annealing_layers_split_below_the_critical_temperature_only():
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
                    "competition", "annealing", n_hidden=2, temperature=ratio * tc, spread=0.3
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
