"""Phase rules by name: how a trained model is put into a phase.  A family declares its
rule (``phase_rule``); a new kind of phase is a new module here and a line below."""

from ..registry import by_name
from . import extra_feature, layer_competition, task_conflict
from .base import PhaseRule, aggregate

PHASE_RULES: dict[str, PhaseRule] = by_name(
    extra_feature.EXTRA_FEATURE_RULE,
    task_conflict.TASK_CONFLICT_RULE,
    layer_competition.LAYER_COMPETITION_RULE,
)

__all__ = [
    "PHASE_RULES",
    "PhaseRule",
    "aggregate",
    "extra_feature",
    "layer_competition",
    "task_conflict",
]
