"""The ReLU output model ``x' = ReLU(Wᵀ W x + b)`` (Elhage et al. 2022)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import torch

from ._relu_moments import region_moments, relu_moments, second_moment_index
from .superposition import SuperpositionModel

# The exact expected loss integrates every sparsity pattern over its cube; a pattern of
# k active features costs (k + 3) // 2 * (2^(k-1) + 1) quadrature nodes per level of
# nesting.  Up to 4 features that is a few thousand closed-form evaluations per model;
# beyond it the enumerated estimator ("patterns") is the better tool.
EXACT_MAX_FEATURES = 4


@dataclass(frozen=True)
class _Rows:
    """Every (sparsity pattern with k of n features active, output i) pair: one row each.

    The active features of a row are listed with the output's own feature last when it is
    active, so that ``E[x_i relu(.)]`` and its gradient are moments of the last coordinate.
    """

    active: torch.Tensor  # [P, n] 0/1: feature j active in pattern p
    output: torch.Tensor  # [R]: output i of each row (R = P * n, pattern-major)
    own: torch.Tensor  # [R] 0/1: output i is itself active
    gram_index: torch.Tensor  # [k * R]: flat index i * n + j into WᵀW, coordinate-major


@cache
def _rows(n: int, k: int) -> _Rows:
    combos = list(itertools.combinations(range(n), k))
    active = torch.zeros(len(combos), n)
    output, own, orders = [], [], []
    for p, combo in enumerate(combos):
        active[p, list(combo)] = 1.0
        for i in range(n):
            output.append(i)
            own.append(float(i in combo))
            orders.append([j for j in combo if j != i] + ([i] if i in combo else []))
    index = [[i * n + order[j] for i, order in zip(output, orders, strict=True)] for j in range(k)]
    return _Rows(
        active,
        torch.tensor(output),
        torch.tensor(own),
        torch.tensor(index, dtype=torch.long).reshape(-1),
    )


class ReLUOutput(SuperpositionModel):
    """``ReLU(Wᵀ W x + b)``: superposes features once they are sparse enough."""

    name = "relu"
    max_features = {**SuperpositionModel.max_features, "exact": EXACT_MAX_FEATURES}

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        return pre.clamp_min_(0.0) if not pre.requires_grad else torch.relu(pre)

    def expected_loss(self) -> torch.Tensor:
        """``E Σ_i I_i (x_i - x'_i)²`` exactly (differentiable by autograd): a sum over
        sparsity patterns ``s`` of ``P(s) Σ_i I_i E[(x_i 1(i∈s) - relu(b_i + Σ_{j∈s}
        (W_i·W_j) x_j))²]`` with the active values uniform on the cube (paper, "The
        Mathematical Understanding", the ``L_k`` terms)."""
        return self._expected(with_grad=False)[0]

    def expected_loss_and_grad(self) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """The exact loss ``[model]`` and its gradients ``([model, hidden, feature],
        [model, feature])`` for ``(W, b)``, hand-derived (no autograd).  With
        ``z = b_i + Σ_j G_ij x_j`` and ``G = WᵀW``: ``∂/∂b_i = 2 I_i E[(relu(z) - x_i) 1(z > 0)]``,
        ``∂/∂G_ij = 2 I_i E[(relu(z) - x_i) 1(z > 0) x_j]`` and ``∂/∂W = W (∂G + ∂Gᵀ)``.
        """
        with torch.no_grad():
            loss, grad_g, grad_b = self._expected(with_grad=True)
            grad_g = grad_g + grad_g.transpose(1, 2)
            return loss, (torch.bmm(self.W, grad_g), grad_b)

    def _expected(self, with_grad: bool):
        # Rows (pattern, output) first and models last: see ``region_moments``.
        n = self.n_features
        K = self.n_models
        W, b = self.W, self.b
        gram = torch.bmm(W.transpose(1, 2), W).reshape(K, n * n).T.contiguous()  # [n*n, K]
        bias = b.T.contiguous()  # [n, K]
        p = self.density.T.contiguous().unsqueeze(1)  # [n, 1, K]
        importance = self.importance.T.contiguous()  # [n, K]
        loss = W.new_zeros(K)
        grad_g = W.new_zeros(n * n, K) if with_grad else None
        grad_b = W.new_zeros(n, K) if with_grad else None
        for k in range(n + 1):
            rows = _rows(n, k)
            active = rows.active.T.to(W.dtype).unsqueeze(-1)  # [n, P, 1]
            prob = (1.0 - p + active * (2.0 * p - 1.0)).prod(0)  # [P, K]
            weight = (prob.unsqueeze(1) * importance).reshape(-1, K)  # [R, K]
            c = bias.index_select(0, rows.output)  # [R, K]
            a = gram.index_select(0, rows.gram_index).view(k, len(c), K)  # [k, R, K]
            region = region_moments(c, a)
            g2, g1, g1x = relu_moments(c, a, region)
            own = rows.own.to(W.dtype).unsqueeze(-1)  # [R, 1]
            # E[(x_i 1(i∈s) - relu z)²] = 1(i∈s)/3 - 2 E[x_i relu z] + E[relu z²]; output i
            # is the last coordinate when it is active.
            err = g2 + own * (1.0 / 3.0 - 2.0 * g1x[-1]) if k else g2
            loss = loss + (weight * err).sum(0)
            if not with_grad:
                continue
            if k:
                # minus E[x_i 1(z>0)] and E[x_i x_j 1(z>0)] where output i is active
                g1 = g1 - own * region[k]
                last_row = second_moment_index(k)[(k - 1) * k :]
                g1x = g1x - own * region.index_select(0, last_row)
                grad_g.index_add_(0, rows.gram_index, (2.0 * weight * g1x).view(-1, K))
            grad_b.index_add_(0, rows.output, 2.0 * weight * g1)
        if not with_grad:
            return loss, None, None
        return loss, grad_g.T.reshape(K, n, n), grad_b.T.contiguous()
