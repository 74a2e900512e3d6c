"""The ``hidden`` family: a hidden layer of K units between the task's input and output,
``x → W₁ x + b₁ → act → W₂ a + b₂`` (``toymodels.families.unit_layer``), with an
activation whose units do not compete.

Its metrics are the unit layer's (``toymodels.unit_metrics``), the same as the
``competition`` family's: how alike the units' rows ``[w_k, b_k]`` are, their effective
rank, each unit's usage, and the share of dead units (usage below ``DEAD_SHARE/K`` on the
probe examples).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..activations import ACTIVATIONS
from ..fields import Config, choice, integer, param
from .unit_layer import UnitLayer

# The activations that read no setting of their own (no temperature, no blocks, no k):
# the competitive ones belong to the ``competition`` family, whose config has them.
PLAIN = tuple(
    name for name, cls in ACTIVATIONS.items() if not cls.uses_temperature and not cls.settings
)


@dataclass(frozen=True)
class HiddenConfig(Config):
    owner = "family hidden"

    n_hidden: int = param(4, integer(1), top=True, help="hidden units K")
    activation: str = param(
        "relu", choice("activation", lambda: PLAIN), help="the hidden layer's activation"
    )


class HiddenLayer(UnitLayer):
    """``W₂ act(W₁ x + b₁) + b₂``: a hidden layer of K units between the task's input and
    output."""

    name = "hidden"
    Config = HiddenConfig
    tasks = ("features", "clusters")
    estimators = ("sampled", "full")
