"""What the metrics of a layer of K units mean: one definition of each, for every family
with such a layer (``hidden``, ``competition``, ``prototypes``).

A unit is a *row*: for a hyperplane unit ``z_k = w_k·x + b_k`` the row ``[w_k, b_k]``
(the bias is part of the cut a unit makes: two units with one ``w`` and different ``b``
cut the input in different places); for a prototype (``z_k = −‖x − w_k‖²``) the point
``w_k`` taken about the mean of the probe examples.  Where the activation computes the
same function when one vector is added to every unit's row (softmax, log-softmax; per
block for grouped softmax: ``Activation.shift_invariant``), that common part does
nothing, and the rows are taken about their mean over the units (per block,
:func:`centred_rows`); two centred rows are then alike when their *signed* cos exceeds
``SAME_DIRECTION`` (opposite centred rows win opposite regions of the input).  Its
*responsibilities* ``r [model, unit, example]`` are each example's distribution over units (the
activation's, ``Activation.responsibilities``).  Over the probe examples:

- ``unit_norm``: ``‖w_k‖`` of each unit's weights;
- ``usage`` ``p̄_k``: unit k's share of the responsibilities (:func:`usage`);
- ``max_abs_cos``: the largest ``|cos|`` between two rows (1: two units make the same
  cut up to sign; a zero row has no direction and counts as 0);
- ``effective_rank``: ``exp H(σ / Σσ)`` of the rows' singular values (Roy & Vetterli
  2007, the σ variant, not σ²): K for K orthogonal rows of equal norm, 1 for rank one;
- ``usage_entropy`` ``H(p̄)`` in nats and ``effective_units`` ``exp H(p̄)`` (K when every
  unit is used alike);
- ``sample_entropy``: the mean over examples of the entropy of one example's
  responsibilities;
- ``dead_fraction``: the share of dead units, whose usage is below ``DEAD_SHARE / K``
  (a unit that never or almost never fires or wins receives almost no gradient);
- ``n_distinct``: groups of alike alive units (hyperplanes with ``|cos| >
  SAME_DIRECTION``, prototypes closer than ``SAME_PLACE`` times the data's RMS radius).

The thresholds are named, with their reasons, in ``toymodels.phases.layer_competition``,
whose phase rule reads these metrics.
"""

from __future__ import annotations

import torch

from .linear_algebra import singular_values
from .phases.layer_competition import DEAD_SHARE, SAME_DIRECTION, SAME_PLACE


def hyperplane_metrics(
    W: torch.Tensor, b: torch.Tensor, r: torch.Tensor, shift_block: int | None = None
) -> dict:
    """The metrics of hyperplane units ``W [model, unit, input]``, ``b [model, unit]``
    with responsibilities ``r`` on the probe examples (see module docstring);
    ``shift_block`` (``Activation.shift_block``): the rows are centred over each block of
    that many units first, or taken as they are (None)."""
    rows = torch.cat([W, b.unsqueeze(-1)], dim=-1)
    if shift_block is None:
        cos = abs_cos(rows)
        return _layer_metrics(W, rows, cos, cos > SAME_DIRECTION, r)
    rows = centred_rows(rows, shift_block)
    signed = signed_cos(rows)
    return _layer_metrics(W, rows, signed.abs(), signed > SAME_DIRECTION, r)


def centred_rows(rows: torch.Tensor, block: int) -> torch.Tensor:
    """``rows [model, unit, col]`` less their mean over each block of ``block``
    consecutive units: the representative of the rows that a shift common to a block
    (which the activation ignores) does not change."""
    m, k, c = rows.shape
    grouped = rows.reshape(m, k // block, block, c)
    return (grouped - grouped.mean(2, keepdim=True)).reshape(m, k, c)


def prototype_metrics(W: torch.Tensor, x: torch.Tensor, r: torch.Tensor) -> dict:
    """The metrics of prototypes ``W [model, unit, input]`` with responsibilities ``r`` on
    the probe examples ``x [model, input, example]`` (see module docstring)."""
    centre = x.mean(-1, keepdim=True).transpose(1, 2)
    rows = W - centre
    spread = (x - centre.transpose(1, 2)).pow(2).sum(1).mean(-1).sqrt()
    same = torch.cdist(rows, rows) < SAME_PLACE * spread.view(-1, 1, 1)
    return _layer_metrics(W, rows, abs_cos(rows), same, r)


def _layer_metrics(W, rows, cos, same, r) -> dict[str, torch.Tensor]:
    p = usage(r)
    h = entropy(p)
    live = alive(p)
    return {
        "unit_norm": unit_norm(W),
        "usage": p,
        "max_abs_cos": max_off_diagonal(cos),
        "effective_rank": effective_rank(rows),
        "usage_entropy": h,
        "effective_units": h.exp(),
        "sample_entropy": entropy(r, dim=1).mean(-1),
        "dead_fraction": dead_fraction(p),
        "n_distinct": n_distinct(same, live),
        "log_volume": log_volume(rows),
    }


def usage(r: torch.Tensor) -> torch.Tensor:
    """``p̄ [model, unit]``: each unit's share of the responsibilities ``r [model, unit,
    example]`` over the examples.  For a normalised activation this is the mean of ``r``;
    a ReLU example where no unit fires has no responsibility to share and does not count."""
    total = r.sum((1, 2)).clamp_min(torch.finfo(r.dtype).tiny)
    return r.sum(-1) / total.unsqueeze(-1)


def alive(usage: torch.Tensor) -> torch.Tensor:
    """``[model, unit]``: the units whose usage is at least ``DEAD_SHARE / K``."""
    return usage >= DEAD_SHARE / usage.shape[1]


def dead_fraction(usage: torch.Tensor) -> torch.Tensor:
    """``[model]``: the share of units that are not :func:`alive`."""
    return (~alive(usage)).to(usage.dtype).mean(-1)


def unit_norm(W: torch.Tensor) -> torch.Tensor:
    """``[model, unit]``: each unit's weight norm."""
    return W.norm(dim=-1)


def max_abs_cos(rows: torch.Tensor) -> torch.Tensor:
    """``[model]``; 0 for a layer of one unit."""
    return max_off_diagonal(abs_cos(rows))


def effective_rank(rows: torch.Tensor) -> torch.Tensor:
    """``[model]``; 0 for a layer whose rows are all zero."""
    sigma = singular_values(rows.double())
    total = sigma.sum(-1, keepdim=True)
    share = torch.where(total > 0, sigma / total.clamp_min(1e-300), 0.0)
    entropy = -(share * torch.log(share.clamp_min(1e-300))).sum(-1)
    return torch.where(total[:, 0] > 0, entropy.exp(), 0.0).to(rows.dtype)


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
    return signed_cos(W).abs()


def signed_cos(W: torch.Tensor) -> torch.Tensor:
    """``[model, unit, unit]``: cos between unit rows (0 for a zero or non-finite row)."""
    unit = torch.where(W.norm(dim=-1, keepdim=True) > 0, row_normalised(W), 0.0)
    return torch.bmm(unit, unit.transpose(1, 2))


def max_off_diagonal(cos: torch.Tensor) -> torch.Tensor:
    """``[model]``: the largest entry of ``cos [model, unit, unit]`` off its diagonal (0
    for a layer of one unit)."""
    cos = cos.clone()
    cos.diagonal(dim1=1, dim2=2).zero_()
    return cos.flatten(1).amax(1)


# Added to the Gram's diagonal in ``log_volume`` (and the ``logdet`` control's): small
# against unit rows of norm ~1, large enough that a rank-deficient Gram (K > d rows, or
# coinciding ones) costs a finite log(1/ε) per missing direction.
GRAM_EPSILON = 1e-3


def log_volume(rows: torch.Tensor) -> torch.Tensor:
    """``[model]``: ``log det(Ŵ Ŵᵀ + εI)`` of the row-normalised unit rows ``Ŵ`` (the
    seed's measure of spread, ε = :data:`GRAM_EPSILON`): 0 for orthonormal rows, lower
    as rows align, ``log K + (K − 1) log ε`` about when all coincide; each direction
    missing costs about ``log ε``, so with K > d rows the most it reaches is
    ``d log(K/d) + (K − d) log ε`` (a tight frame).  A zero row counts as a missing
    direction."""
    unit = row_normalised(rows.double())
    eye = torch.eye(rows.shape[1], dtype=torch.float64)
    gram = unit @ unit.transpose(1, 2) + GRAM_EPSILON * eye
    return torch.linalg.slogdet(gram)[1].to(rows.dtype)
