"""The gates of a ReLU hidden layer and the pathways they form (the ReLN of Jarvis et al.
2025, §4: a gated linear network whose gates are the ReLU network's own).

A unit's *gate* on a sample is ``G_k(x) = 1[h_k(x) > 0]``.  A unit's *pattern* is the set
of contexts it is on in, a bitmask (bit ``c``: context ``c + 1``); it is the census's
``unit_contexts`` (active where its activity is at least ``ACTIVE_FRACTION`` of its
largest per-context activity), so a unit that fires on some objects of a context counts as
on in it, as the census counts it.  Units of one pattern form one *pathway*.
"""

from __future__ import annotations

import torch


def patterns(n_contexts: int) -> int:
    """Bitmasks of a set of contexts: ``0 … 2^K − 1`` (0: a unit on in no context)."""
    return 2**n_contexts


def gates(h: torch.Tensor) -> torch.Tensor:
    """``G_k(x)`` per unit and sample, ``[model, unit, example]`` (0 or 1, float32 like
    every metric, so that a diverged model's are NaN), from the rectified hidden activity
    ``h [model, unit, example]``."""
    return (h > 0).to(torch.float32)


def pathway_totals(
    bits: torch.Tensor, strength: torch.Tensor, strong: torch.Tensor, n_contexts: int
) -> dict[str, torch.Tensor]:
    """Per pattern ``[model, pattern]``: units, strong units and their summed strength, from
    each unit's pattern ``bits``, ``strength`` and ``strong`` flags (all ``[model, unit]``);
    one scatter over the batch."""
    size = (bits.shape[0], patterns(n_contexts))
    index = bits.long()

    def total(values: torch.Tensor, dtype) -> torch.Tensor:
        return torch.zeros(size, dtype=dtype).scatter_add_(1, index, values.to(dtype))

    return {
        "pathway_units": total(torch.ones_like(bits), torch.float32),
        "pathway_strong_units": total(strong, torch.float32),
        "pathway_strength": total(strength * strong, strength.dtype),
    }
