"""Geometry and usage of a hidden layer's units (rows of ``W [model, unit, input]``).

- ``max_abs_cos``: the largest ``|cos|`` between two units' weight vectors (1: two units
  learned the same hyperplane up to sign; a unit with zero weights has no direction and
  counts as 0);
- ``effective_rank``: ``exp H(σ / Σσ)`` of the singular values of ``W`` (Roy & Vetterli
  2007, the σ variant, not σ²): K for K orthogonal units of equal norm, 1 for rank one;
- ``dead_fraction``: the share of units whose activation is exactly 0 on every probe
  example (a unit that never fires receives no gradient through a ReLU).
"""

from __future__ import annotations

import torch


def unit_norm(W: torch.Tensor) -> torch.Tensor:
    """``[model, unit]``: each unit's weight norm."""
    return W.norm(dim=-1)


def max_abs_cos(W: torch.Tensor) -> torch.Tensor:
    """``[model]``; 0 for a layer of one unit."""
    norm = W.norm(dim=-1, keepdim=True)
    unit = torch.where(norm > 0, W / norm.clamp_min(torch.finfo(W.dtype).tiny), 0.0)
    cos = torch.bmm(unit, unit.transpose(1, 2)).abs()
    cos.diagonal(dim1=1, dim2=2).zero_()
    return cos.flatten(1).amax(1)


def effective_rank(W: torch.Tensor) -> torch.Tensor:
    """``[model]``; 0 for a layer whose weights are all zero."""
    sigma = torch.linalg.svdvals(W.double())
    total = sigma.sum(-1, keepdim=True)
    share = torch.where(total > 0, sigma / total.clamp_min(1e-300), 0.0)
    entropy = -(share * torch.log(share.clamp_min(1e-300))).sum(-1)
    return torch.where(total[:, 0] > 0, entropy.exp(), 0.0).to(W.dtype)


def dead_fraction(activity: torch.Tensor) -> torch.Tensor:
    """``[model]`` from activations ``[model, unit, example]``."""
    dead = (activity == 0).all(-1)
    return dead.to(activity.dtype).mean(-1)
