"""Networks on the contextual task: ``ŷ = W₂ᵀ act(W₁ᵀ x)``, or with a second hidden
layer ``W₂ᵀ act(Whᵀ act(W₁ᵀ x))``; no biases.

``contextual_relu`` has ReLU hidden layers, ``contextual_linear`` linear ones (the
network, its initialisations and its gradient: ``toymodels.families.two_layer``, and
``toymodels.families.deep_network`` for ``n_layers = 2``); the initial weights' scale is
the published 0.005/700 by default.

Metrics describe the hidden units on the data set (the *census* of mixed selectivity,
defined in ``toymodels.families.context_census``):

- a unit's *strength* is ``‖W₂[k]‖ · ‖h_k‖`` (outgoing weight norm times activity
  norm over all samples); a unit is *strong* when its strength is at least
  ``STRONG_FRACTION`` of the model's largest;
- a unit is *active in context c* when its activity norm over that context's samples is
  at least ``ACTIVE_FRACTION`` of its largest per-context activity norm;
- strong units are counted as all-context, subset (more than one context, not all) or
  single-context units;
- ``hidden_distance`` holds the Euclidean distances between the hidden vectors of every
  pair of samples (classical MDS of them draws the representational geometry).

These describe the last hidden layer (the one the output reads); ``layer_units_*`` count
the strong units of every hidden layer, each unit's strength taken with its outgoing
weights to the next layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..contextual_data import DEFAULT_HIDDEN, DEFAULT_INIT_STD
from ..fields import integer, param
from ..outputs import Output
from ..tasks import Batch
from ._gates import gates, pathway_totals, patterns
from .context_census import (
    ACTIVE_FRACTION,
    LAYER_CENSUS,
    STRONG_FRACTION,
    census,
    context_bits,
    layer_census,
    strong_units,
)
from .deep_network import DeepConfig, DeepNetwork
from .two_layer import init_std_field


@dataclass(frozen=True)
class ContextualNetConfig(DeepConfig):
    owner = "family contextual"

    n_hidden: int = param(DEFAULT_HIDDEN, integer(1), top=True, help="hidden units")
    init_std: float = init_std_field(DEFAULT_INIT_STD)


class ContextualNetwork(DeepNetwork):
    """``W₂ᵀ act(W₁ᵀ x)`` on the contextual task (see module docstring)."""

    Config = ContextualNetConfig
    tasks = ("contextual",)
    # The bitmasks and counts are whole numbers stored as floats, as every metric is, so
    # that a diverged model's are NaN rather than counts it never had.
    metrics = {
        "unit_strength": Output(("unit",), "float32", "||W2[k]|| * ||h_k|| over the data set"),
        "unit_contexts": Output(
            ("unit",),
            "float32",
            "bit c set: unit active in context c (activity >= 0.1 of its most)",
        ),
        "units_all": Output(
            (), "float32", "strong units (>= 0.1 of the strongest) active in every context"
        ),
        "units_subset": Output((), "float32", "strong units active in 2 to K-1 contexts"),
        "units_single": Output((), "float32", "strong units active in one context"),
        "hidden_distance": Output(
            ("sample", "sample_b"), "float32", "distance between two samples' hidden vectors"
        ),
        **LAYER_CENSUS,
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
        layers = self.hidden_layers(probe.x)  # each [model, unit, example]
        h = layers[-1]
        strength = self.W2.norm(dim=-1) * h.norm(dim=-1)
        n_contexts = self.configs[0].data.n_contexts
        bits = context_bits(h, probe.labels, n_contexts)
        out = {"unit_strength": strength, "unit_contexts": bits.float()}
        out |= {k: v.float() for k, v in census(strength, bits, n_contexts).items()}
        out["hidden_distance"] = torch.cdist(h.mT, h.mT)
        counts = layer_census(
            list(zip(layers, self.outgoing_norms(), strict=True)), probe.labels, n_contexts
        )
        return out | {k: v.float() for k, v in counts.items()}


class ContextualReLU(ContextualNetwork, relu=True):
    """W₂ relu(W₁ x) (or W₂ relu(Wh relu(W₁ x)) with n_layers = 2): a ReLU network on the
    contextual task, whose units may serve all, some or one of the contexts (mixed
    selectivity).  Its metrics add the gates of its last hidden layer and the pathways they
    form (``toymodels.families._gates``): ``pathway_*[b]`` is about the units whose context
    pattern is the bitmask ``b`` (bit c: context c + 1)."""

    name = "contextual_relu"
    metrics = ContextualNetwork.metrics | {
        "unit_gates": Output(("unit", "sample"), "float32", "G_k(x) = 1[h_k(x) > 0]"),
        "pathway_units": Output(
            ("pattern",), "float32", "units whose context pattern (unit_contexts) is the bitmask"
        ),
        "pathway_strong_units": Output(("pattern",), "float32", "strong units of each pattern"),
        "pathway_strength": Output(
            ("pattern",), "float32", "summed strength of the strong units of each pattern"
        ),
    }

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        return super().dims(config) | {"pattern": patterns(config.data.n_contexts)}

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        out = super().compute_metrics(probe)
        strength, bits = out["unit_strength"], out["unit_contexts"]
        n_contexts = self.configs[0].data.n_contexts
        out["unit_gates"] = gates(self.hidden_layers(probe.x)[-1])
        return out | pathway_totals(bits, strength, strong_units(strength), n_contexts)


class ContextualLinear(ContextualNetwork, relu=False):
    """W₂ W₁ x: a deep linear network on the contextual task, whose modes follow the
    closed-form learning dynamics."""

    name = "contextual_linear"
