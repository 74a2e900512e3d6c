"""Geometry and usage of a hidden layer's units (rows of ``W [model, unit, input]``).

- ``max_abs_cos``: the largest ``|cos|`` between two units' weight vectors (1: two units
  learned the same hyperplane up to sign; a unit with zero weights has no direction and
  counts as 0);
- ``effective_rank``: ``exp H(σ / Σσ)`` of the singular values of ``W`` (Roy & Vetterli
  2007, the σ variant, not σ²): K for K orthogonal units of equal norm, 1 for rank one;
- ``dead_fraction``: the share of units whose activation is exactly 0 on every probe
  example (a unit that never fires receives no gradient through a ReLU);
- ``entropy`` of usage distributions, and ``n_distinct``: how many groups of alike units
  a layer has.
"""

from __future__ import annotations

import torch

from .linear_algebra import singular_values


def unit_norm(W: torch.Tensor) -> torch.Tensor:
    """``[model, unit]``: each unit's weight norm."""
    return W.norm(dim=-1)


def max_abs_cos(W: torch.Tensor) -> torch.Tensor:
    """``[model]``; 0 for a layer of one unit."""
    return max_off_diagonal(abs_cos(W))


def effective_rank(W: torch.Tensor) -> torch.Tensor:
    """``[model]``; 0 for a layer whose weights are all zero."""
    sigma = singular_values(W.double())
    total = sigma.sum(-1, keepdim=True)
    share = torch.where(total > 0, sigma / total.clamp_min(1e-300), 0.0)
    entropy = -(share * torch.log(share.clamp_min(1e-300))).sum(-1)
    return torch.where(total[:, 0] > 0, entropy.exp(), 0.0).to(W.dtype)


def dead_fraction(activity: torch.Tensor) -> torch.Tensor:
    """``[model]`` from activations ``[model, unit, example]``."""
    dead = (activity == 0).all(-1)
    return dead.to(activity.dtype).mean(-1)


def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``−Σ p log p`` along ``dim`` (``0 log 0 = 0``), in nats."""
    return -(p * torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))).sum(dim)


def n_distinct(same: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """``[model]``: groups of alive units linked by ``same [model, unit, unit]`` (two units
    are in one group when a chain of "same" pairs joins them); dead units are not counted."""
    k = same.shape[-1]
    link = same & alive.unsqueeze(-1) & alive.unsqueeze(-2)
    link |= torch.diag_embed(alive)
    reach = link.to(torch.float32)
    for _ in range(max(1, (k - 1).bit_length())):  # path lengths double each round
        reach = ((reach @ reach) > 0).to(torch.float32)
    earlier = torch.ones(k, k, dtype=torch.bool).tril(-1)
    has_earlier = ((reach > 0) & earlier).any(-1)
    return (alive & ~has_earlier).sum(-1).to(torch.float32)


def row_normalised(W: torch.Tensor) -> torch.Tensor:
    """Unit rows ``w_k / ‖w_k‖`` (a zero row stays zero)."""
    return W / W.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(W.dtype).tiny)


def abs_cos(W: torch.Tensor) -> torch.Tensor:
    """``[model, unit, unit]``: |cos| between unit rows (0 for a zero or non-finite row)."""
    unit = torch.where(W.norm(dim=-1, keepdim=True) > 0, row_normalised(W), 0.0)
    return torch.bmm(unit, unit.transpose(1, 2)).abs()


def max_off_diagonal(cos: torch.Tensor) -> torch.Tensor:
    """``[model]``: the largest entry of ``cos [model, unit, unit]`` off its diagonal (0
    for a layer of one unit)."""
    cos = cos.clone()
    cos.diagonal(dim1=1, dim2=2).zero_()
    return cos.flatten(1).amax(1)
