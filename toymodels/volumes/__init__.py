"""Volume controls by name (``volume = "..."``, strength ``volume_strength``): what keeps
a competitive layer's units from collapsing onto one winner."""

from ..registry import by_name
from .base import NoControl, VolumeControl
from .log_det import LogDet
from .orthogonality import Orthogonality
from .responsibility_dropout import ResponsibilityDropout
from .revival import Revival
from .temperature_annealing import TemperatureAnnealing
from .usage_entropy import UsageEntropy
from .weight_norm import WeightNorm

VOLUMES: dict[str, type[VolumeControl]] = by_name(
    NoControl,
    WeightNorm,
    TemperatureAnnealing,
    UsageEntropy,
    LogDet,
    Orthogonality,
    ResponsibilityDropout,
    Revival,
)

__all__ = ["VOLUMES", "VolumeControl"]
