"""Two-layer networks on the contextual task: ``ŷ = W₂ᵀ act(W₁ᵀ x)``, no biases.

``contextual_relu`` has a ReLU hidden layer, ``contextual_linear`` none (the network,
its initialisations and its gradient: ``toymodels.families.two_layer``); the initial
weights' scale is the published 0.005/700 by default.

Metrics describe the hidden units on the data set (the *census* of mixed selectivity):

- a unit's *strength* is ``‖W₂[k]‖ · ‖h_k‖`` (outgoing weight norm times activity
  norm over all samples); a unit is *strong* when its strength is at least
  ``STRONG_FRACTION`` of the model's largest;
- a unit is *active in context c* when its activity norm over that context's samples is
  at least ``ACTIVE_FRACTION`` of its largest per-context activity norm;
- strong units are counted as all-context, subset (more than one context, not all) or
  single-context units;
- ``hidden_distance`` holds the Euclidean distances between the hidden vectors of every
  pair of samples (classical MDS of them draws the representational geometry).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..contextual_data import DEFAULT_HIDDEN, DEFAULT_INIT_STD
from ..fields import integer, param
from ..outputs import Output
from ..tasks import Batch
from .two_layer import TwoLayerConfig, TwoLayerNetwork, init_std_field

# A strong unit carries at least this fraction of the largest unit's strength: units
# below it are the remains of the small initialisation (measured on the default task:
# after training, weak units are below 1e-3 of the largest).
STRONG_FRACTION = 0.1
# A unit is active in a context when its activity there is at least this fraction of its
# activity in its most active context.
ACTIVE_FRACTION = 0.1


@dataclass(frozen=True)
class ContextualNetConfig(TwoLayerConfig):
    owner = "family contextual"

    n_hidden: int = param(DEFAULT_HIDDEN, integer(1), top=True, help="hidden units")
    init_std: float = init_std_field(DEFAULT_INIT_STD)


def census(strength: torch.Tensor, contexts: torch.Tensor, n_contexts: int):
    """Counts of strong all-context, subset and single-context units ``[model]`` each, from
    unit strengths ``[model, unit]`` and context bitmasks ``[model, unit]``."""
    strong = strength >= STRONG_FRACTION * strength.amax(-1, keepdim=True)
    active = torch.stack([(contexts >> c) & 1 for c in range(n_contexts)]).sum(0)
    strong &= strength > 0
    count = {
        "units_all": strong & (active == n_contexts),
        "units_subset": strong & (active > 1) & (active < n_contexts),
        "units_single": strong & (active == 1),
    }
    return {k: v.sum(-1).to(torch.int32) for k, v in count.items()}


class ContextualNetwork(TwoLayerNetwork):
    """``W₂ᵀ act(W₁ᵀ x)`` on the contextual task (see module docstring)."""

    Config = ContextualNetConfig
    tasks = ("contextual",)
    metrics = {
        "unit_strength": Output(("unit",), "float32", "||W2[k]|| * ||h_k|| over the data set"),
        "unit_contexts": Output(
            ("unit",), "int32", "bit c set: unit active in context c (activity >= 0.1 of its most)"
        ),
        "units_all": Output(
            (), "int32", "strong units (>= 0.1 of the strongest) active in every context"
        ),
        "units_subset": Output((), "int32", "strong units active in 2 to K-1 contexts"),
        "units_single": Output((), "int32", "strong units active in one context"),
        "hidden_distance": Output(
            ("sample", "sample_b"), "float32", "distance between two samples' hidden vectors"
        ),
    }
    metrics_use_data = True
    definitions = {
        "strong_unit": f"strength >= {STRONG_FRACTION} of the model's strongest unit",
        "active_in_context": f"activity norm there >= {ACTIVE_FRACTION} of the unit's largest",
    }

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        dims = super().dims(config)
        return dims | {"sample_b": dims["sample"]}

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        h = self.hidden(probe.x)  # [model, unit, example]
        strength = self.W2.norm(dim=-1) * h.norm(dim=-1)
        n_contexts = self.configs[0].data.n_contexts
        per_context = torch.stack(
            [(h * (probe.labels == c).unsqueeze(1)).norm(dim=-1) for c in range(n_contexts)], -1
        )  # [model, unit, context]
        top = per_context.amax(-1, keepdim=True)
        active = (per_context >= ACTIVE_FRACTION * top) & (top > 0)
        bits = (active.to(torch.int32) << torch.arange(n_contexts, dtype=torch.int32)).sum(-1)
        out = {"unit_strength": strength, "unit_contexts": bits.to(torch.int32)}
        out |= census(strength, bits, n_contexts)
        out["hidden_distance"] = torch.cdist(h.mT, h.mT)
        return out


class ContextualReLU(ContextualNetwork, relu=True):
    """W₂ relu(W₁ x): a ReLU network on the contextual task, whose units may serve all,
    some or one of the contexts (mixed selectivity)."""

    name = "contextual_relu"


class ContextualLinear(ContextualNetwork, relu=False):
    """W₂ W₁ x: a deep linear network on the contextual task, whose modes follow the
    closed-form learning dynamics."""

    name = "contextual_linear"
