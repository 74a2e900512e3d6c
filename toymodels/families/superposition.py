"""Shared part of the superposition toy models (Elhage et al. 2022).

``x' = act(Wᵀ W x + b)`` with ``W`` of shape ``[model, hidden, feature]`` (column ``W_i``
is feature ``i``'s direction) and ``b`` of shape ``[model, feature]``; no hidden bias.
Loss per model: ``Σ_i I_i (x_i - x'_i)²`` averaged over the batch.  (The published
notebook also divides by the number of features; that constant rescaling changes nothing
under Adam and would make losses incomparable with the closed forms, so we do not.)
Models are independent: the batch loss is their sum, so each model gets exactly the
gradient it would get alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ..config import ModelConfig
from ..data import sparse_from_uniform
from ..errors import ConfigError
from ..seeds import STREAM_INIT, generator
from .base import ToyModel


class SuperpositionModel(ToyModel):
    estimators = ("sampled", "patterns", "exact")

    def __init__(
        self,
        configs: Sequence[ModelConfig],
        seeds: Sequence[np.random.SeedSequence],
        init_scale: float = 1.0,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__(configs, seeds, init_scale, dtype)
        n, m = configs[0].n_features, configs[0].n_hidden
        # Xavier-normal per model: the scale depends on (n, m) only, never on how many
        # models share the batch (a pitfall of initialising the batched tensor at once).
        std = init_scale * math.sqrt(2.0 / (n + m))
        w = np.stack([generator(s, STREAM_INIT).standard_normal((m, n)) * std for s in seeds])
        self.W = torch.nn.Parameter(torch.as_tensor(w, dtype=dtype))
        self.b = torch.nn.Parameter(torch.zeros(len(configs), n, dtype=dtype))
        self.register_buffer("density", torch.tensor([c.density for c in configs], dtype=dtype))
        self.register_buffer(
            "importance", torch.tensor([c.importance for c in configs], dtype=dtype)
        )

    @classmethod
    def validate(cls, config: ModelConfig) -> None:
        if config.n_hidden >= config.n_features:
            raise ConfigError(
                f"n_hidden={config.n_hidden} must be smaller than n_features="
                f"{config.n_features}: with a dimension per feature nothing is superposed"
            )

    # -- the model ----------------------------------------------------------------------
    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [model, feature, batch] -> x' [model, feature, batch]``."""
        h = torch.bmm(self.W, x)
        return self.activation(torch.baddbmm(self.b.unsqueeze(-1), self.W.transpose(1, 2), h))

    # -- data ---------------------------------------------------------------------------
    def sample_shape(self, batch_size: int) -> tuple[int, ...]:
        return (self.configs[0].n_features, batch_size)

    def draw(self, uniforms: torch.Tensor) -> torch.Tensor:
        return sparse_from_uniform(uniforms.to(self.dtype), self.density)

    # -- loss ---------------------------------------------------------------------------
    def batch_loss(self, x: torch.Tensor, row_weight) -> torch.Tensor:
        """``Σ_b w_b Σ_i I_i (x_ib - x'_ib)²`` per model; ``w_b = 1/B`` for plain batches."""
        r = self(x) - x
        return (self.importance.unsqueeze(-1) * r * r * row_weight).sum((1, 2))

    def batch_loss_and_grad(self, x: torch.Tensor, row_weight, need_loss: bool = True):
        """Hand-derived gradient of :meth:`batch_loss` (four batched matmuls, no autograd).

        With ``G = ∂L/∂pre = 2 w I (x' - x) act'(pre)``:  ``∂L/∂b = Σ_b G`` and
        ``∂L/∂W = h Gᵀ + (W G) xᵀ`` with ``h = W x``.
        """
        W, b = self.W.detach(), self.b.detach()
        h = torch.bmm(W, x)
        out = self.activation(torch.baddbmm(b.unsqueeze(-1), W.transpose(1, 2), h))
        r = out.sub_(x) if self.activation_is_identity else out - x
        scale = 2.0 * self.importance.unsqueeze(-1)  # [model, feature, 1]
        loss = None
        if need_loss:
            loss = (scale * 0.5 * r * r * row_weight).sum((1, 2))
        if not self.activation_is_identity:
            r.mul_(out.sign_())  # relu' = 1[x' > 0]; x' >= 0, so sign(x') is that indicator
        if isinstance(row_weight, torch.Tensor):
            r.mul_(row_weight)
        else:
            scale = scale * row_weight
        # r now holds G / scale; fold the per-(model, feature) scale into small matrices.
        scale_t = scale.transpose(1, 2)  # [model, 1, feature]
        grad_w = torch.bmm(h, r.transpose(1, 2)).mul_(scale_t)
        grad_w.add_(torch.bmm(torch.bmm(W * scale_t, r), x.transpose(1, 2)))
        self.W.grad = grad_w
        self.b.grad = r.sum(2).mul_(scale.squeeze(-1))
        return loss

    activation_is_identity = False

    # -- diagnostics --------------------------------------------------------------------
    def metrics(self) -> dict[str, torch.Tensor]:
        return feature_metrics(self.W.detach())


def feature_metrics(W: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-feature geometry of ``W [model, hidden, feature]`` (paper, "Feature Dimensionality").

    - ``norm``: ``‖W_i‖``;
    - ``interference``: ``Σ_{j≠i} (Ŵ_i·W_j)²`` (j = i excluded; an antipodal pair gives 1);
    - ``dimensionality``: ``D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)²`` (j = i included).
    A feature with ``W_i = 0`` has no direction: its interference and dimensionality are 0.
    """
    norm = W.norm(dim=1)
    unit = W / norm.clamp_min(torch.finfo(W.dtype).tiny).unsqueeze(1)
    unit = torch.where(norm.unsqueeze(1) > 0, unit, torch.zeros_like(unit))
    overlap = torch.bmm(unit.transpose(1, 2), W) ** 2  # [model, i, j] = (Ŵ_i·W_j)²
    total = overlap.sum(-1)
    interference = total - torch.diagonal(overlap, dim1=1, dim2=2)
    dims = torch.where(total > 0, norm**2 / total.clamp_min(torch.finfo(W.dtype).tiny), 0.0)
    return {"norm": norm, "interference": interference.clamp_min(0.0), "dimensionality": dims}
