"""Config dataclasses: the paper's parametrisation, per-model fields, and one-line errors."""

import dataclasses
import math

import pytest

from toymodels import ConfigError, ModelConfig, TrainConfig


def test_superposition_parametrisation():
    cfg = ModelConfig.superposition(n_features=3, n_hidden=2, density=0.1, importance=4.0)
    assert (cfg.family, cfg.task) == ("relu", "features")
    assert cfg.data.feature_density == (0.1, 0.1, 0.1)
    assert cfg.data.feature_importance == (1.0, 1.0, 4.0)
    decayed = ModelConfig.superposition(n_features=4, n_hidden=2, importance_decay=0.7)
    assert decayed.data.feature_importance == pytest.approx((1.0, 0.7, 0.49, 0.343))
    every = ModelConfig.superposition(n_features=2, importance=(0.5, 3.0), density=(0.2, 0.4))
    assert every.data.feature_importance == (0.5, 3.0)
    assert every.data.feature_density == (0.2, 0.4)


def test_fields_split_between_family_task_and_regulariser():
    cfg = ModelConfig.build(
        "hidden", "clusters", n_features=3, n_clusters=3, n_hidden=8, spread=0.2, strength=0.1,
        regulariser="l2",
    )  # fmt: skip
    assert cfg.arch.n_hidden == 8 and cfg.arch.activation == "relu"
    assert (cfg.data.n_features, cfg.data.n_clusters, cfg.data.spread) == (3, 3, 0.2)
    assert (cfg.penalty.regulariser, cfg.penalty.strength) == ("l2", 0.1)
    assert cfg.values()["spread"] == 0.2
    # per-model fields may differ inside one batch; the rest may not
    assert cfg.replace(spread=0.5, strength=0.3).batch_key() == cfg.batch_key()
    assert cfg.replace(n_hidden=4).batch_key() != cfg.batch_key()
    assert cfg.replace(activation="linear").batch_key() != cfg.batch_key()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"density": 0.0}, "density=0 is outside (0, 1]"),
        ({"density": 1.5}, "density=1.5 is outside (0, 1]"),
        ({"density": math.nan}, "not finite"),
        ({"importance": -1.0}, "importance=-1 is negative"),
        ({"n_features": 2, "n_hidden": 2}, "n_hidden=2 must be smaller than n_features=2"),
        ({"n_features": 1, "n_hidden": 1}, "n_hidden=1 must be smaller"),
        ({"n_features": 0}, "n_features=0 must be an integer >= 1"),
        ({"n_features": 2.5}, "n_features=2.5 is not an integer"),
        ({"family": "rellu"}, 'unknown model family "rellu" (did you mean "relu"?)'),
        ({"strength": 0.1}, "strength=0.1 has no effect without a regulariser"),
        ({"regulariser": "l3"}, 'unknown regulariser "l3"'),
        ({"strength": -1.0, "regulariser": "l2"}, "strength=-1 is negative"),
        ({"activation": "relu"}, 'has no field "activation"'),
    ],
)
def test_bad_model_config_names_the_value(kwargs, fragment):
    with pytest.raises(ConfigError) as err:
        ModelConfig.superposition(**kwargs)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("family", "task", "kwargs", "fragment"),
    [
        ("hidden", "nope", {}, 'unknown task "nope"'),
        ("relu", "clusters", {}, 'the relu family does not learn task "clusters"'),
        ("hidden", "clusters", {"n_clusters": 4, "n_features": 2}, "give centers explicitly"),
        ("hidden", "clusters", {"spread": 0.0}, "spread=0 must be > 0"),
        ("hidden", "clusters", {"centers": [[0.0, 1.0]]}, "n_clusters=2 by n_features=2"),
        ("hidden", "features", {"activation": "gelu"}, 'unknown activation "gelu"'),
        ("hidden", "features", {"n_hidden": 0}, "n_hidden=0 must be an integer >= 1"),
        ("hidden", "features", {"n_samples": -1}, "n_samples=-1 must be an integer >= 0"),
    ],
)
def test_bad_fields_of_other_families_and_tasks(family, task, kwargs, fragment):
    with pytest.raises(ConfigError) as err:
        ModelConfig.build(family, task, **kwargs)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_per_feature_lists_are_checked():
    with pytest.raises(ConfigError, match=r"density\[1\]=2 is outside"):
        ModelConfig.superposition(n_features=2, n_hidden=1, density=(0.5, 2.0))
    with pytest.raises(ConfigError, match="importance has 3 entries; n_features=2 needs 2"):
        ModelConfig.superposition(n_features=2, n_hidden=1, importance=(1.0, 1.0, 1.0))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"steps": 0}, "steps=0 must be an integer >= 1"),
        ({"steps": -5}, "steps=-5"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"lr": 0.0}, "lr=0 is outside [1.17549e-38, 3.40282e+38]"),
        ({"optimizer": "sdg"}, 'unknown optimizer "sdg" (did you mean "sgd"?)'),
        ({"schedule": "cosin"}, '(did you mean "cosine"?)'),
        ({"estimator": "exakt"}, 'unknown estimator "exakt"'),
        ({"weight_decay": 0.01}, "weight_decay=0.01 needs optimizer=adamw"),
        ({"weight_decay": 0.01, "optimizer": "sgd"}, "sgd takes no decay"),
        ({"record_every": 0}, "record_every=0 must be an integer >= 1"),
        ({"record_every": 2.5}, "record_every=2.5 is not an integer"),
    ],
)
def test_bad_train_config(kwargs, fragment):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**kwargs)
    assert fragment in str(err.value)


def test_recorded_steps():
    assert TrainConfig().record_steps() == ()
    every_50 = TrainConfig(steps=300, record_every=50).record_steps()
    assert every_50 == (0, 50, 100, 150, 200, 250, 300)
    assert TrainConfig(steps=7, record_every=3).record_steps() == (0, 3, 6, 7)


def test_replace_revalidates():
    cfg = TrainConfig()
    assert dataclasses.replace(cfg, optimizer="adamw", weight_decay=0.01).weight_decay == 0.01
    with pytest.raises(ConfigError):
        dataclasses.replace(cfg, steps=0)
    model = ModelConfig.superposition()
    assert model.replace(density=0.5).data.density == 0.5
    with pytest.raises(ConfigError):
        model.replace(density=-0.1)
    with pytest.raises(ConfigError):
        dataclasses.replace(model.data, density=-0.1)
    assert model.replace(family="hidden", n_hidden=3).arch.n_hidden == 3
