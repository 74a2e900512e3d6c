"""Superposition toy models: configs, model families, data, and the training engine."""

from .config import ModelConfig, TrainConfig
from .errors import ConfigError
from .estimators import ESTIMATORS
from .families import FAMILIES, feature_metrics
from .seeds import model_seed
from .train import TrainResult, build_model, train

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
