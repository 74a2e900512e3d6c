"""Exact moments of ``relu(c + a·x)`` for ``x`` uniform on the unit cube ``[0, 1]^k``.

The expected loss of the ReLU output model is a sum over sparsity patterns of integrals
over the cube of a piecewise polynomial that switches where the ReLU does.  We integrate
one coordinate at a time: as a function of the offset ``c``, the integral over the inner
coordinates is a piecewise polynomial whose knots sit at ``c = -(sum of a subset of the
inner coefficients)`` (a B-spline), so the outer coordinate's interval splits at those
knots and Gauss-Legendre quadrature with enough nodes is exact on every piece.  The
innermost coordinate is integrated in closed form.

The knots are computed without gradient: moving a knot changes nothing because the
integrand is continuous across it, so autograd through the quadrature gives the exact
gradient (all integrands of the derivative are polynomials of the same degree per piece).
No division by a small coefficient survives: quotients only place knots, which are
clamped to [0, 1].
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import torch


@cache
def _gauss_legendre(q: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(q)
    return (x + 1.0) / 2.0, w / 2.0


def _subset_sums(a: torch.Tensor) -> torch.Tensor:
    """All 2**k subset sums of the last axis of ``a`` (``[..., k] -> [..., 2**k]``)."""
    k = a.shape[-1]
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=k)), dtype=a.dtype)
    return a @ masks.T if k else a.new_zeros((*a.shape[:-1], 1))


def _positive_interval(c: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``[lo, hi]``: the part of [0, 1] where ``c + a t > 0`` (no gradient)."""
    with torch.no_grad():
        root = (-c / a).clamp(0.0, 1.0)
        pos, neg = a > 0, a < 0
        lo = torch.where(pos, root, torch.zeros_like(c))
        hi = torch.where(neg, root, torch.where(pos | (c > 0), 1.0, 0.0).to(c.dtype))
        return lo, hi


def _moments_1d(c: torch.Tensor, a: torch.Tensor):
    """``E[relu(c + a t)^2]``, ``E[relu(c + a t)]``, ``E[t relu(c + a t)]`` for t ~ U[0, 1]."""
    lo, hi = _positive_interval(c, a)
    d1 = hi - lo
    d2 = hi * hi - lo * lo
    d3 = hi**3 - lo**3
    m2 = c * c * d1 + c * a * d2 + a * a * d3 / 3.0
    m1 = c * d1 + a * d2 / 2.0
    m1t = c * d2 / 2.0 + a * d3 / 3.0
    return m2, m1, m1t.unsqueeze(-1)


def relu_moments(c: torch.Tensor, a: torch.Tensor):
    """Moments of ``z = relu(c + a·x)`` with ``x ~ U[0, 1]^k``.

    ``c`` is ``[...]`` and ``a`` is ``[..., k]`` (broadcastable).  Returns ``E[z^2]``,
    ``E[z]`` (both ``[...]``) and ``E[x_j z]`` (``[..., k]``).
    """
    k = a.shape[-1]
    if k == 0:
        z = torch.relu(c)
        return z * z, z, c.new_zeros((*c.shape, 0))
    if k == 1:
        return _moments_1d(c, a[..., 0])
    inner, last = a[..., :-1], a[..., -1]
    xi, wi = _gauss_legendre((k + 3) // 2)  # exact for the degree-(k+1) pieces
    xi, wi = torch.as_tensor(xi, dtype=c.dtype), torch.as_tensor(wi, dtype=c.dtype)
    with torch.no_grad():
        offsets = c.unsqueeze(-1) + _subset_sums(inner)
        slope = last.unsqueeze(-1)
        knots = torch.where(slope == 0, 0.0, -offsets / slope).clamp(0.0, 1.0)
        edges = torch.cat(
            [torch.zeros_like(knots[..., :1]), knots, torch.ones_like(knots[..., :1])], dim=-1
        ).sort(dim=-1).values
        width = (edges[..., 1:] - edges[..., :-1]).unsqueeze(-1)
        nodes = (edges[..., :-1].unsqueeze(-1) + width * xi).flatten(-2)
        weights = (width * wi).flatten(-2)
    g2, g1, g1x = relu_moments(c.unsqueeze(-1) + last.unsqueeze(-1) * nodes, inner.unsqueeze(-2))
    m2 = (weights * g2).sum(-1)
    m1 = (weights * g1).sum(-1)
    m1x = torch.cat(
        [(weights.unsqueeze(-1) * g1x).sum(-2), (weights * nodes * g1).sum(-1, keepdim=True)],
        dim=-1,
    )
    return m2, m1, m1x
