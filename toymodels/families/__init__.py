"""Model families by name (the names sweep files and the CLI use)."""

from ..registry import by_name
from .base import ToyModel
from .competitive_layer import CompetitiveLayer
from .contextual_networks import ContextualLinear, ContextualReLU
from .deep_competition import DeepCompetition
from .deep_gdln import DeepGatedLinearNetwork
from .gdln import GatedLinearNetwork
from .hidden import HiddenLayer
from .linear_output import LinearOutput
from .prototype_layer import PrototypeLayer
from .reln_network import RectifiedLinearNetwork
from .relu_output import ReLUOutput
from .superposition import feature_metrics
from .two_view import TwoViewLinear, TwoViewReLU

FAMILIES: dict[str, type[ToyModel]] = by_name(
    ReLUOutput,
    LinearOutput,
    HiddenLayer,
    ContextualReLU,
    ContextualLinear,
    GatedLinearNetwork,
    DeepGatedLinearNetwork,
    RectifiedLinearNetwork,
    TwoViewLinear,
    TwoViewReLU,
    CompetitiveLayer,
    DeepCompetition,
    PrototypeLayer,
)

__all__ = ["FAMILIES", "HiddenLayer", "LinearOutput", "ReLUOutput", "ToyModel", "feature_metrics"]
