"""Phase rules by name: how a trained model is put into a phase.  A family declares its
rule (``phase_rule``); a new kind of phase is a new module here and a line below."""

from . import extra_feature, layer_competition, task_conflict
from .base import PhaseRule, aggregate

PHASE_RULES: dict[str, PhaseRule] = {
    extra_feature.RULE.name: extra_feature.RULE,
    task_conflict.RULE.name: task_conflict.RULE,
    layer_competition.RULE.name: layer_competition.RULE,
}

__all__ = [
    "PHASE_RULES",
    "PhaseRule",
    "aggregate",
    "extra_feature",
    "layer_competition",
    "task_conflict",
]
