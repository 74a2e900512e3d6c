"""The competition family: its layer metrics on constructed layers whose answer is known,
the phase rule, the bad configurations it refuses, its hand-derived gradient under every
volume control, and its chunking."""

import math

import numpy as np
import pytest
import torch
from gradient_checks import assert_batch_gradient_is_autograd

import toymodels.families.competitive_layer as competitive_layer
from toymodels import ACTIVATIONS, FAMILIES, ModelConfig, TrainConfig, model_seed, train
from toymodels.engine import build_model
from toymodels.errors import ConfigError
from toymodels.families import ToyModel
from toymodels.phases import layer_competition as rule
from toymodels.tasks import Batch
from toymodels.volumes import VOLUMES

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
        ({"temperature": 0.0}, r"temperature=0 is outside \[1e-06, 1e\+06\]"),
        ({"temperature": -1.0}, "is outside"),
        ({"temperature": 1e7}, "float32 inputs"),
        ({"volume": "entropy", "volume_strength": -0.1}, "is outside"),
        ({"volume": "logdet", "volume_strength": 2e6}, "the task must outweigh it"),
        ({"volume": "anneal", "temperature": 10.0, "volume_strength": 90.0}, "beyond float32"),
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


def test_prototypes_are_a_family_of_their_own():
    with pytest.raises(ConfigError, match="does not learn task"):
        ModelConfig.build("competition", "annealing")


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


# -- the hand-derived gradient ----------------------------------------------------------------
def _hand_configs(task, activation, volume):
    strengths = (0.0,) * 3 if volume == "none" else (0.0, 0.1, 0.4)
    return [
        ModelConfig.build(
            "competition", task, n_hidden=K, activation=activation, volume=volume,
            volume_strength=s, temperature=t,
        )
        for s, t in zip(strengths, (0.5, 1.0, 2.0), strict=True)
    ]  # fmt: skip


HAND_CASES = [
    (task, activation, volume)
    for task in ("clusters", "features")
    for activation in ACTIVATIONS
    for volume in VOLUMES
    if VOLUMES[volume].refusal(ACTIVATIONS[activation], task) is None
    and FAMILIES["competition"].uses_hand_gradient(_hand_configs(task, activation, volume)[0])
]


def test_the_controls_whose_gradient_goes_through_the_data_take_autograd():
    for name, control in VOLUMES.items():
        config = ModelConfig.build("competition", "clusters", volume=name)
        hand = FAMILIES["competition"].uses_hand_gradient(config)
        assert hand == (not control.acts_on_data()), name
    # revival reads the usage but is not differentiated through it: the hand path
    assert {v for _, _, v in HAND_CASES} == {
        "none", "weightnorm", "gain_norm", "anneal", "logdet", "orthogonality", "revival"
    }  # fmt: skip
    assert {a for _, a, v in HAND_CASES if v == "revival"} == set(ACTIVATIONS)


@pytest.mark.parametrize(
    ("task", "activation", "volume"), HAND_CASES, ids=["-".join(c) for c in HAND_CASES]
)
def test_hand_gradient_equals_autograd_under_every_volume_control(task, activation, volume):
    """Every activation under every control the hand-derived path takes (the unit rows and
    the penalty are differentiated inside it), at temperatures an anneal has moved."""
    configs = _hand_configs(task, activation, volume)
    model = FAMILIES["competition"](
        configs, [model_seed(3, i, 0) for i in range(3)], dtype=torch.float64
    )
    model.begin_step(10, 100)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, dtype=p.dtype, generator=gen))
    shape = (3, *model.task.sample_shape(model.task.configs[0], 96))
    batch = model.task.draw(torch.randint(-(2**31), 2**31, shape, dtype=torch.int32, generator=gen))
    assert_batch_gradient_is_autograd(model, batch, 1.0 / 96)
    if model.volume.needs_usage:  # the running usage and the last batch, as objective leaves them
        start = model.usage_ema.clone()
        model.batch_loss_and_grad(batch, 1.0 / 96)
        hand_ema, (hand_x, hand_z) = model.usage_ema.clone(), model._last
        model.usage_ema.copy_(start)
        ToyModel.batch_loss_and_grad(model, batch, 1.0 / 96)
        torch.testing.assert_close(hand_ema, model.usage_ema, rtol=1e-10, atol=1e-12)
        assert (hand_ema - start).abs().max() > 1e-4
        assert hand_x is batch.x or torch.equal(hand_x, model._last[0])
        torch.testing.assert_close(hand_z, model._last[1], rtol=1e-10, atol=1e-12)


# -- chunks of models ---------------------------------------------------------------------------
@pytest.mark.parametrize(("task", "activation"), [("clusters", "softmax"), ("features", "relu")])
def test_chunks_of_models_change_no_number(task, activation, monkeypatch):
    """The hand-derived path steps cache-sized chunks of models; one model per chunk gives
    the numbers of one chunk of all of them, bit for bit (a ``scale_free`` activation and
    one that is not)."""
    temperatures = (0.3, 0.7, 1.0, 2.0, 5.0)
    configs = [
        ModelConfig.build("competition", task, n_hidden=K, activation=activation, temperature=t)
        for t in temperatures
    ]
    seeds = [model_seed(6, i, 0) for i in range(len(configs))]
    cfg = TrainConfig(steps=60, batch_size=64, lr=1e-2, record_every=30)
    whole = train(configs, cfg, seeds)
    monkeypatch.setattr(competitive_layer, "LAYER_CHUNK_BYTES", 1)  # one model per chunk
    layer = build_model(configs, seeds, cfg)
    assert len(layer._chunks(cfg.batch_size)) == len(configs)
    cut = train(configs, cfg, seeds)
    for name in whole.params:
        np.testing.assert_array_equal(whole.params[name], cut.params[name])
    np.testing.assert_array_equal(whole.loss, cut.loss)
    for name in whole.metrics:
        np.testing.assert_array_equal(whole.metrics[name], cut.metrics[name])
    for name in whole.trajectory:
        np.testing.assert_array_equal(whole.trajectory[name], cut.trajectory[name])


def test_ring_layout_places_the_centres_evenly_on_a_circle():
    from toymodels.tasks.clusters import ClustersConfig

    ring = np.array(ClustersConfig(n_clusters=6, layout="ring", separation=2.0).center_matrix())
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
    np.testing.assert_allclose(ring[1], [1.0, math.sqrt(3)], atol=1e-12)  # 60° on
    np.testing.assert_allclose(ring.sum(0), 0.0, atol=1e-12)
    # in 3 dimensions the ring lies in the plane of the first two
    flat = np.array(ClustersConfig(n_features=3, n_clusters=5, layout="ring").center_matrix())
    np.testing.assert_allclose(flat[:, 2], 0.0)
    np.testing.assert_allclose(flat[0], [1.0, 0.0, 0.0])
    # the default layout is unchanged: coordinate axes
    axes = ClustersConfig(n_features=3, n_clusters=3).center_matrix()
    np.testing.assert_allclose(axes, np.eye(3))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"layout": "spiral"}, 'unknown layout "spiral"; allowed: axes, ring'),
        ({"layout": "ring", "n_features": 1}, "layout='ring' needs n_features >= 2"),
        ({"layout": "ring", "centers": ((0.0, 0.0), (1.0, 1.0))}, "give one or the other"),
        ({"n_clusters": 6}, "n_clusters=6 > n_features=2"),
    ],
)
def test_bad_layouts_are_refused_in_one_line(fields, message):
    from toymodels.tasks.clusters import ClustersConfig

    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as err:
        ClustersConfig(**fields)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("activation", ["softmax", "lwta", "kwta"])
def test_revival_trains_the_same_on_the_hand_path_as_through_autograd(activation, monkeypatch):
    """Revival used to train through autograd; the hand path gives the same trained layer
    (float32 rounding apart), revivals included (λ = 1 revives every unit below a fair
    share, from the first step)."""
    configs = [
        ModelConfig.build(
            "competition", "clusters", activation=activation, volume="revival",
            volume_strength=s, temperature=t,
        )
        for s, t in ((1.0, 0.3), (0.5, 1.0), (1.0, 2.0))
    ]  # fmt: skip
    seeds = [model_seed(8, i, 0) for i in range(len(configs))]
    cfg = TrainConfig(steps=120, batch_size=64, lr=1e-2, record_every=60)
    revived = []
    original = competitive_layer.CompetitiveLayer.revive
    monkeypatch.setattr(
        competitive_layer.CompetitiveLayer,
        "revive",
        lambda self, dead: revived.append(int(dead.sum())) or original(self, dead),
    )
    hand = train(configs, cfg, seeds)
    assert revived and sum(revived) > 0
    monkeypatch.setattr(
        competitive_layer.CompetitiveLayer, "uses_hand_gradient", classmethod(lambda c, cfg: False)
    )
    auto_revived = len(revived)
    auto = train(configs, cfg, seeds)
    assert revived[auto_revived:] == revived[:auto_revived]  # the same revivals
    for name in hand.params:
        np.testing.assert_allclose(hand.params[name], auto.params[name], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hand.loss, auto.loss, rtol=1e-4, atol=1e-6)
