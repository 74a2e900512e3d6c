"""Exact moments of ``z = c + a·x`` through a ReLU, for ``x`` uniform on the cube ``[0, 1]^k``.

The expected loss of the ReLU output model is a sum over sparsity patterns of integrals
over the cube of a piecewise polynomial that switches where the ReLU does.  Everything
it and its gradient need follows from the *region moments* of ``R = {x : z > 0}``:
``E[1_R]``, ``E[x_j 1_R]`` and ``E[x_j x_l 1_R]``, because ``relu(z) = z 1_R`` and ``z`` is
linear in ``x`` (``relu_moments`` combines them).  Moving the boundary of ``R`` changes
none of the loss integrands (they vanish on it), so with the region moments held fixed
the combination is differentiable by autograd with the exact gradient.

Region moments are integrated one coordinate at a time: as a function of the offset, the
moments over the inner coordinates are piecewise polynomials of degree <= k + 1 whose
knots sit where ``c + (a subset sum of the inner coefficients) + a_last t = 0``, so the
last coordinate's interval splits at those knots and Gauss-Legendre quadrature with
``(k + 3) // 2`` nodes per piece is exact.  The innermost coordinate is integrated in
closed form.  No division by a small coefficient survives: quotients only place knots
and interval ends, which are clamped to [0, 1].
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import torch


# Layout of the region moments of k coordinates along the first axis:
#   0: E[1_R];  1 + j: E[x_j 1_R];  then E[x_j x_l 1_R] for j <= l in row-major order.
def n_region_moments(k: int) -> int:
    return 1 + k + k * (k + 1) // 2


@cache
def _pairs(k: int) -> dict[tuple[int, int], int]:
    pairs = [(j, l) for j in range(k) for l in range(j, k)]
    return {pair: 1 + k + i for i, pair in enumerate(pairs)}


@cache
def second_moment_index(k: int) -> torch.Tensor:
    """``[k * k]``: where ``E[x_j x_l 1_R]`` (row-major ``j, l``) sits in the layout."""
    pos = _pairs(k)
    return torch.tensor([pos[min(j, l), max(j, l)] for j in range(k) for l in range(k)])


# Elements per array the inner levels of the quadrature work on at once (256 KiB float64).
_NESTED_ELEMENTS = 32_768


@cache
def _gauss_legendre(q: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    x, w = np.polynomial.legendre.leggauss(q)
    return torch.as_tensor((x + 1.0) / 2.0, dtype=dtype), torch.as_tensor(w / 2.0, dtype=dtype)


@cache
def _subset_masks(k: int, dtype: torch.dtype) -> torch.Tensor:
    """``[k, 2**k]``: column s selects subset s of k coordinates."""
    return torch.tensor(list(itertools.product((0.0, 1.0), repeat=k)), dtype=dtype).T


@cache
def _assembly(k: int) -> torch.Tensor:
    """Order of the k-coordinate layout within ``[inner sums (F'), t-weighted sums (k),
    t²-weighted sum]`` where the last coordinate ``t`` is integrated by quadrature."""
    f = n_region_moments(k - 1)
    inner = _pairs(k - 1)
    t_first, t2 = f, f + k  # Σ w t m0' (then Σ w t m1'_j), Σ w t² m0'
    idx = [0] + [1 + j for j in range(k - 1)] + [t_first]
    for j in range(k):
        for l in range(j, k):
            if l < k - 1:
                idx.append(inner[j, l])
            elif j < k - 1:
                idx.append(t_first + 1 + j)
            else:
                idx.append(t2)
    return torch.tensor(idx, dtype=torch.long)


def _one_coordinate(c: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``c``, ``a`` (broadcast to ``[*S]``) -> ``[3, *S]``: ``∫ t^q 1(c + a t > 0) dt`` over
    [0, 1] for q = 0, 1, 2."""
    # a == 0 acts as a tiny negative slope: all of [0, 1] when c > 0, nothing when c <= 0
    # (the convention relu'(0) = 0).
    tiny = torch.finfo(a.dtype).tiny
    pos = (a > 0).to(a.dtype)
    inv = torch.where(a == 0, -tiny, a).reciprocal_().neg_()
    root = (c * inv).clamp_(0.0, 1.0)
    lo = root * pos
    hi = root.mul_(1.0 - pos).add_(pos)
    lo2, hi2 = lo * lo, hi * hi
    out = torch.empty((3, *lo.shape), dtype=lo.dtype)
    torch.sub(hi, lo, out=out[0])
    torch.sub(hi2, lo2, out=out[1]).mul_(0.5)
    torch.sub(hi2.mul_(hi), lo2.mul_(lo), out=out[2]).mul_(1.0 / 3.0)
    return out


@torch.no_grad()
def region_moments(c: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Region moments of ``R = {x ∈ [0, 1]^k : c + a·x > 0}`` (layout above), without
    gradient.

    ``c`` is ``[*S]`` and ``a`` is ``[k, *S]``; returns ``[n_region_moments(k), *S]``.  The
    moment and coordinate axes come first so that the long (model) axis, last in ``S``,
    stays contiguous and every operation is a plain vectorised loop over it.
    """
    k = a.shape[0]
    if k == 0:
        return (c > 0).to(c.dtype).unsqueeze(0)
    if k == 1:
        return _one_coordinate(c, a[0])
    inner, last = a[:-1], a[-1]
    xi, wi = _gauss_legendre((k + 3) // 2, c.dtype)
    grid = (-1,) + (1,) * c.dim()
    subsets = _subset_masks(k - 1, c.dtype).T @ inner.reshape(k - 1, -1)
    offsets = subsets.view(-1, *inner.shape[1:]) + c  # [2^(k-1), *S]
    knots = (offsets / last).neg_().nan_to_num_(0.0, 1.0, 0.0).clamp_(0.0, 1.0)
    if len(knots) == 2:
        knots = torch.stack([knots.amin(0), knots.amax(0)])
    else:
        knots = knots.sort(dim=0).values
    start = torch.cat([torch.zeros_like(knots[:1]), knots])
    width = torch.cat([knots, torch.ones_like(knots[:1])]).sub_(start)  # [pieces, *S]
    nodes = (start.unsqueeze(1) + width.unsqueeze(1) * xi.view(grid)).flatten(0, 1)  # [Q, *S]
    w0 = (width.unsqueeze(1) * wi.view(grid)).flatten(0, 1)
    w1 = w0 * nodes
    w2 = w1 * nodes
    # Nodes go to the inner level in slices small enough for its temporaries to stay in
    # cache (and off fresh pages: large short-lived allocations page-fault every time).
    per_node = nodes[0].numel() * _inner_nodes(k - 1)
    step = max(1, _NESTED_ELEMENTS // per_node)
    sums = None
    for s in range(0, len(nodes), step):
        q = slice(s, s + step)
        sub = region_moments(torch.addcmul(c, last, nodes[q]), inner.unsqueeze(1))  # [F', q, *S]
        part = torch.cat(
            [(w0[q] * sub).sum(1), (w1[q] * sub[:k]).sum(1), (w2[q] * sub[0]).sum(0, keepdim=True)]
        )
        sums = part if sums is None else sums.add_(part)
    return sums.index_select(0, _assembly(k))


def _inner_nodes(k: int) -> int:
    """Quadrature nodes below a level of k coordinates (1 for the closed form)."""
    return 1 if k <= 1 else (k + 3) // 2 * (2 ** (k - 1) + 1) * _inner_nodes(k - 1)


def relu_moments(c: torch.Tensor, a: torch.Tensor, region: torch.Tensor | None = None):
    """``E[relu(z)²]``, ``E[relu(z)]`` (both ``[*S]``) and ``E[x_j relu(z)]`` (``[k, *S]``)
    of ``z = c + a·x``, ``x ~ U[0, 1]^k``, for ``c [*S]`` and ``a [k, *S]``.

    Differentiable in ``c`` and ``a`` with the exact gradient; pass ``region`` (from
    :func:`region_moments`) to reuse it.
    """
    k = a.shape[0]
    if region is None:
        region = region_moments(c, a)
    g1 = c * region[0]
    if k == 0:
        return c * g1, g1, c.new_zeros((0, *c.shape))
    m1 = region[1 : 1 + k]
    m2 = region.index_select(0, second_moment_index(k)).unflatten(0, (k, k))
    g1 = g1 + (a * m1).sum(0)
    g1x = c * m1 + (m2 * a).sum(1)
    g2 = c * g1 + (a * g1x).sum(0)
    return g2, g1, g1x
