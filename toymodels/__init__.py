"""Superposition toy models: configs, model families, data, and the training engine.

Names are imported on first use, so importing a light module such as
``toymodels.errors`` (as every CLI command does) does not load torch.
"""

import importlib

__all__ = [
    "ESTIMATORS",
    "FAMILIES",
    "ConfigError",
    "ModelConfig",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "feature_metrics",
    "model_seed",
    "train",
]

_HOME = {
    "ESTIMATORS": "toymodels.estimators",
    "FAMILIES": "toymodels.families",
    "ConfigError": "toymodels.errors",
    "ModelConfig": "toymodels.config",
    "TrainConfig": "toymodels.config",
    "TrainResult": "toymodels.engine",
    "build_model": "toymodels.engine",
    "feature_metrics": "toymodels.families",
    "model_seed": "toymodels.seeds",
    "train": "toymodels.engine",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'toymodels' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
