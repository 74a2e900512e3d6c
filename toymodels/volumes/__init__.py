"""Volume controls by name (``volume = "..."``, strength ``volume_strength``): what keeps
a competitive layer's units from collapsing onto one winner.  ``volume`` may also list
several, each with its own strength (``toymodels.volumes.combined``); :func:`volume_control`
gives the control a ``volume`` value names."""

from ..registry import by_name
from .base import NoControl, VolumeControl
from .batch_norm import BatchNorm
from .combined import SEPARATOR, STRENGTH_FIELDS, combination, parse_volume
from .gain_norm import GainNorm
from .learned_temperature import LearnedTemperature
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
    GainNorm,
    TemperatureAnnealing,
    LearnedTemperature,
    BatchNorm,
    UsageEntropy,
    LogDet,
    Orthogonality,
    ResponsibilityDropout,
    Revival,
)


def volume_names(volume: str) -> tuple[str, ...]:
    """The controls a ``volume`` value (one name, or names joined by ``+``) holds."""
    return tuple(volume.split(SEPARATOR))


def volume_control(volume: str) -> type[VolumeControl]:
    """The control a checked ``volume`` value names: a registered one, or their
    combination."""
    return combination(tuple(VOLUMES[n] for n in volume_names(volume)))


__all__ = [
    "STRENGTH_FIELDS",
    "VOLUMES",
    "VolumeControl",
    "parse_volume",
    "volume_control",
    "volume_names",
]
