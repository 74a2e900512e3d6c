"""The census of mixed selectivity: which contexts a network's strong hidden units serve.

One definition for every family on the contextual task (``contextual_*`` and the gated
networks), for any hidden layer:

- a unit's *strength* is ``‖w_out[k]‖ · ‖h_k‖``: the norm of its outgoing weights (to the
  next layer, or to the output) times the norm of its activity over all samples; a unit
  is *strong* when its strength is at least ``STRONG_FRACTION`` of the layer's largest;
- a unit is *active in context c* when its activity norm over that context's samples is
  at least ``ACTIVE_FRACTION`` of its largest per-context activity norm;
- strong units are counted as all-context, subset (more than one context, not all) or
  single-context units, per layer (``layer_units_*``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..outputs import Output

# A strong unit carries at least this fraction of the largest unit's strength: units
# below it are the remains of the small initialisation (measured on the default task:
# after training, weak units are below 1e-3 of the largest).
STRONG_FRACTION = 0.1
# A unit is active in a context when its activity there is at least this fraction of its
# activity in its most active context.
ACTIVE_FRACTION = 0.1

#: the per-layer census, declared by every family that measures it (whole numbers stored
#: as floats, as every metric is, so that a diverged model's are NaN)
LAYER_CENSUS = {
    "layer_units_all": Output(
        ("layer",), "float32", "strong units of each hidden layer active in every context"
    ),
    "layer_units_subset": Output(
        ("layer",), "float32", "strong units of each hidden layer active in 2 to K-1 contexts"
    ),
    "layer_units_single": Output(
        ("layer",), "float32", "strong units of each hidden layer active in one context"
    ),
}


def strong_units(strength: torch.Tensor) -> torch.Tensor:
    """Whether each unit is strong, ``[model, unit]`` from strengths ``[model, unit]``."""
    strong = strength >= STRONG_FRACTION * strength.amax(-1, keepdim=True)
    return strong & (strength > 0)


def census(strength: torch.Tensor, contexts: torch.Tensor, n_contexts: int):
    """Counts of strong all-context, subset and single-context units ``[model]`` each, from
    unit strengths ``[model, unit]`` and context bitmasks ``[model, unit]``."""
    strong = strong_units(strength)
    active = torch.stack([(contexts >> c) & 1 for c in range(n_contexts)]).sum(0)
    count = {
        "units_all": strong & (active == n_contexts),
        "units_subset": strong & (active > 1) & (active < n_contexts),
        "units_single": strong & (active == 1),
    }
    return {k: v.sum(-1).to(torch.int32) for k, v in count.items()}


def context_bits(h: torch.Tensor, labels: torch.Tensor, n_contexts: int) -> torch.Tensor:
    """Bit ``c`` set where a unit is active in context ``c``, ``[model, unit]`` int32, from
    activity ``h [model, unit, example]`` and each example's context ``[model, example]``."""
    per_context = torch.stack(
        [(h * (labels == c).unsqueeze(1)).norm(dim=-1) for c in range(n_contexts)], -1
    )  # [model, unit, context]
    top = per_context.amax(-1, keepdim=True)
    active = (per_context >= ACTIVE_FRACTION * top) & (top > 0)
    return (active.to(torch.int32) << torch.arange(n_contexts, dtype=torch.int32)).sum(-1)


def layer_census(
    layers: Sequence[tuple[torch.Tensor, torch.Tensor]], labels: torch.Tensor, n_contexts: int
) -> dict[str, torch.Tensor]:
    """:data:`LAYER_CENSUS` ``[model, layer]`` from each layer's ``(activity [model, unit,
    example], outgoing weight norms [model, unit])``."""
    counts = []
    for h, outgoing in layers:
        strength = outgoing * h.norm(dim=-1)
        counts.append(census(strength, context_bits(h, labels, n_contexts), n_contexts))
    return {f"layer_{name}": torch.stack([c[name] for c in counts], -1) for name in counts[0]}
