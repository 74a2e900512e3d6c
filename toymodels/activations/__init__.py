"""Hidden-layer activations by name (``[model] activation = "..."``), one file each."""

from .base import Activation
from .linear import Linear
from .relu import ReLU

ACTIVATIONS: dict[str, type[Activation]] = {
    "relu": ReLU,
    "linear": Linear,
}

__all__ = ["ACTIVATIONS", "Activation"]
