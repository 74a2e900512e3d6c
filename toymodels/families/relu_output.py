"""The ReLU output model ``x' = ReLU(Wᵀ W x + b)`` (Elhage et al. 2022)."""

from __future__ import annotations

import itertools
from functools import cache

import torch

from ..config import ModelConfig
from ..errors import ConfigError
from ._cube import relu_moments
from .superposition import SuperpositionModel

# The exact expected loss integrates every sparsity pattern over its cube; the work per
# model grows like 2^n * (2^(k-1)+1)!-ish in the pattern size k.  Up to 4 features it is a
# few thousand closed-form evaluations per model and output; beyond that the enumerated
# estimator ("patterns") is the better tool.
EXACT_MAX_FEATURES = 4


@cache
def _patterns(n: int, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sparsity patterns with ``k`` of ``n`` features active.

    Returns ``members [P, k]`` (active feature indices), ``active [P, n]`` (0/1) and
    ``position [P, n, k]`` (1 where output ``i`` is the ``j``-th active feature).
    """
    combos = list(itertools.combinations(range(n), k))
    members = torch.tensor(combos, dtype=torch.long).reshape(len(combos), k)
    active = torch.zeros(len(combos), n)
    position = torch.zeros(len(combos), n, k)
    for p, combo in enumerate(combos):
        for j, i in enumerate(combo):
            active[p, i] = 1.0
            position[p, i, j] = 1.0
    return members, active, position


class ReLUOutput(SuperpositionModel):
    """``ReLU(Wᵀ W x + b)``: superposes features once they are sparse enough."""

    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        return pre.clamp_min_(0.0) if not pre.requires_grad else torch.relu(pre)

    @classmethod
    def check_estimator(cls, estimator: str, config: ModelConfig) -> None:
        super().check_estimator(estimator, config)
        if estimator == "exact" and config.n_features > EXACT_MAX_FEATURES:
            raise ConfigError(
                f"estimator=exact supports n_features <= {EXACT_MAX_FEATURES} for the relu "
                f"family, got {config.n_features}; use estimator=patterns or sampled"
            )

    def expected_loss(self) -> torch.Tensor:
        """``E Σ_i I_i (x_i - x'_i)²`` exactly: a sum over sparsity patterns ``s`` of
        ``P(s) Σ_i I_i E[(x_i - relu(b_i + Σ_{j∈s} (W_i·W_j) x_j))²]`` with the active
        values uniform on the cube (paper, "The Mathematical Understanding" of L_k terms).
        """
        n = self.configs[0].n_features
        gram = torch.bmm(self.W.transpose(1, 2), self.W)  # [model, i, j] = W_i·W_j
        p = self.density.unsqueeze(1)  # [model, 1, n]
        total = torch.zeros(self.n_models, dtype=self.W.dtype)
        for k in range(n + 1):
            members, active, position = _patterns(n, k)
            active = active.to(self.W.dtype)
            prob = torch.where(active > 0, p, 1.0 - p).prod(-1)  # [model, P]
            slopes = gram[:, :, members].permute(0, 2, 1, 3)  # [model, P, i, k]
            offsets = self.b.unsqueeze(1).expand(-1, len(members), -1)  # [model, P, i]
            m2, _, m1x = relu_moments(offsets, slopes)
            cross = (m1x * position.to(self.W.dtype)).sum(-1)  # E[x_i relu(.)] for i in s
            err = active / 3.0 - 2.0 * cross + m2
            total = total + (prob.unsqueeze(-1) * self.importance.unsqueeze(1) * err).sum((1, 2))
        return total
