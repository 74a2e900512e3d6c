"""The two-view network of the pathway-conflict task: two views of the items feed one
shared hidden layer, which feeds the heads of tasks A and B (``ŷ = W₂ᵀ act(W₁ᵀ x)``, no
biases; ``toymodels.families.two_layer``).

``two_view_linear`` has a linear shared layer: the theory's case, and the gated deep linear
network of this task with every gate open (the pathways view 1 → shared layer → heads and
view 2 → shared layer → heads, both always on; their race is the race of the modes of
``Σ_yx``).  ``two_view_relu`` rectifies the shared layer.  ``n_hidden`` is the shared
layer's width: the capacity the two tasks compete for.

Besides the task's measures (each task's loss and explained fraction, and view 1's
dominance of the output), the family stores ``weight_share``: view 1's share
``‖W₁[view 1]‖² / ‖W₁‖²`` of the shared layer's input weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..fields import integer, param
from ..outputs import Output
from ..phases import task_conflict
from ..tasks import Batch
from .two_layer import TwoLayerConfig, TwoLayerNetwork, init_std_field

# Room for exactly one task with the default 6 items (5 modes a task).
DEFAULT_HIDDEN = 5
# Small enough that every mode starts far below its asymptote (a₀ = 2.5e-4 at width 5
# against asymptotes of 0.3 to 1.4), large enough that the slowest modes of the default
# diagram are learned in the default epochs.
DEFAULT_INIT_STD = 0.01


@dataclass(frozen=True)
class TwoViewConfig(TwoLayerConfig):
    owner = "family two_view"

    n_hidden: int = param(DEFAULT_HIDDEN, integer(1), top=True, help="shared layer width")
    init_std: float = init_std_field(DEFAULT_INIT_STD)


class TwoViewNetwork(TwoLayerNetwork):
    """Two views -> one shared layer -> two task heads (see module docstring)."""

    Config = TwoViewConfig
    tasks = ("conflict",)
    metrics = {
        "weight_share": Output(
            (), "float32", "view 1's share ||W1[view 1]||^2 / ||W1||^2 of the input weight"
        )
    }
    phase_rule = task_conflict.TASK_CONFLICT_RULE
    definitions = {
        "balance": "min / max of the two tasks' explained fractions",
        "learn_everything": f"balance >= {task_conflict.BALANCED}",
        "winner_take_all": f"balance < {task_conflict.BALANCED}",
        "not_learned": f"the better task's explained fraction < {task_conflict.NOT_LEARNED}",
    }

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        half = self.W1.shape[1] // 2
        power = self.W1.square().sum(-1)  # [model, input]
        return {"weight_share": power[:, :half].sum(-1) / power.sum(-1)}


class TwoViewLinear(TwoViewNetwork, relu=False):
    """W₂ W₁ x: two views through one shared linear layer to two task heads, beside the
    linear theory of which modes it learns."""

    name = "two_view_linear"


class TwoViewReLU(TwoViewNetwork, relu=True):
    """W₂ relu(W₁ x): two views through one shared ReLU layer to two task heads."""

    name = "two_view_relu"
