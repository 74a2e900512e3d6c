"""Hidden-layer activations by name (``[model] activation = "..."``), one file each."""

from .base import Activation
from .grouped_softmax import GroupedSoftmax
from .kwta import KWTA
from .l2_norm import L2Norm
from .linear import Linear
from .log_softmax import LogSoftmax
from .lwta import LWTA
from .parallel import Parallel
from .relu import ReLU
from .residual_softmax import ResidualSoftmax
from .softmax import Softmax
from .solu import SoLU, SoLULayerNorm

ACTIVATIONS: dict[str, type[Activation]] = {
    "relu": ReLU,
    "linear": Linear,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
    "solu": SoLU,
    "solu_ln": SoLULayerNorm,
    "grouped_softmax": GroupedSoftmax,
    "lwta": LWTA,
    "kwta": KWTA,
    "l2_norm": L2Norm,
    "parallel": Parallel,
    "residual_softmax": ResidualSoftmax,
}

__all__ = ["ACTIVATIONS", "Activation"]
