"""Toy models: families, tasks, regularisers, configs, and the one training engine.

Names are imported on first use, so importing a light module such as
``toymodels.errors`` (as every CLI command does) does not load torch.
"""

from .lazy_imports import lazy_attributes

__all__ = [
    "ACTIVATIONS",
    "ESTIMATORS",
    "FAMILIES",
    "PHASE_RULES",
    "REGULARISERS",
    "TASKS",
    "ConfigError",
    "ModelConfig",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "feature_metrics",
    "field_specs",
    "model_seed",
    "train",
]

_HOME = {
    "ACTIVATIONS": "toymodels.activations",
    "ESTIMATORS": "toymodels.estimators",
    "FAMILIES": "toymodels.families",
    "PHASE_RULES": "toymodels.phases",
    "REGULARISERS": "toymodels.regularisers",
    "TASKS": "toymodels.tasks",
    "ConfigError": "toymodels.errors",
    "ModelConfig": "toymodels.model_config",
    "field_specs": "toymodels.model_config",
    "TrainConfig": "toymodels.train_config",
    "TrainResult": "toymodels.engine",
    "build_model": "toymodels.engine",
    "feature_metrics": "toymodels.families",
    "model_seed": "toymodels.seeds",
    "train": "toymodels.engine",
}


__getattr__, __dir__ = lazy_attributes(__name__, _HOME)
