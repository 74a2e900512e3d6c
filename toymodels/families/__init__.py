"""Model families by name (the names sweep files and the CLI use)."""

from .base import ToyModel
from .linear_output import LinearOutput
from .relu_output import ReLUOutput
from .superposition import feature_metrics

FAMILIES: dict[str, type[ToyModel]] = {
    "relu": ReLUOutput,
    "linear": LinearOutput,
}

__all__ = ["FAMILIES", "LinearOutput", "ReLUOutput", "ToyModel", "feature_metrics"]
