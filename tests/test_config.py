import dataclasses
import math

import pytest

from toymodels import ConfigError, ModelConfig, TrainConfig


def test_superposition_parametrisation():
    cfg = ModelConfig.superposition(n_features=3, n_hidden=2, density=0.1, importance=4.0)
    assert cfg.density == (0.1, 0.1, 0.1)
    assert cfg.importance == (1.0, 1.0, 4.0)
    decayed = ModelConfig.superposition(n_features=4, n_hidden=2, importance_decay=0.7)
    assert decayed.importance == pytest.approx((1.0, 0.7, 0.49, 0.343))


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
    ],
)
def test_bad_model_config_names_the_value(kwargs, fragment):
    with pytest.raises(ConfigError) as err:
        ModelConfig.superposition(**kwargs)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_per_feature_lists_are_checked():
    with pytest.raises(ConfigError, match=r"density\[1\]=2 is outside"):
        ModelConfig(n_features=2, n_hidden=1, density=(0.5, 2.0))
    with pytest.raises(ConfigError, match="importance has 3 entries; n_features=2 needs 2"):
        ModelConfig(n_features=2, n_hidden=1, importance=(1.0, 1.0, 1.0))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"steps": 0}, "steps=0 must be an integer >= 1"),
        ({"steps": -5}, "steps=-5"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"lr": 0.0}, "lr=0 must be > 0"),
        ({"optimizer": "sgd"}, 'unknown optimizer "sgd"'),
        ({"schedule": "cosin"}, '(did you mean "cosine"?)'),
        ({"estimator": "exakt"}, 'unknown estimator "exakt"'),
        ({"weight_decay": 0.01}, "weight_decay=0.01 needs optimizer=adamw"),
    ],
)
def test_bad_train_config(kwargs, fragment):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**kwargs)
    assert fragment in str(err.value)


def test_replace_revalidates():
    cfg = TrainConfig()
    assert dataclasses.replace(cfg, optimizer="adamw", weight_decay=0.01).weight_decay == 0.01
    with pytest.raises(ConfigError):
        dataclasses.replace(cfg, steps=0)
    model = ModelConfig.superposition()
    with pytest.raises(ConfigError):
        dataclasses.replace(model, density=-0.1)
