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
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ..estimators.patterns import PATTERNS_MAX_FEATURES
from ..fields import Config, integer, param
from ..linear_algebra import baddbmm
from ..outputs import Output
from ..phases import extra_feature
from ..seeds import STREAM_INIT, generator
from ..tasks import Batch
from .base import ToyModel

INTERFERENCE_DEFINITION = (
    "sum over j != i of (unit(W_i) . W_j)^2, j = i excluded (an antipodal pair gives 1)"
)

# The 1-sparse loss at x_i = 1 split as in the paper ("The Mathematical Understanding");
# "interference" above is the geometric overlap, so the loss term has its own name.
FEATURE_BENEFIT_DEFINITION = "sum over i of I_i (1 - act(||W_i||^2 + b_i))^2 (1-sparse, x_i = 1)"
INTERFERENCE_LOSS_DEFINITION = "sum over i != j of I_j act(W_j . W_i + b_j)^2 (1-sparse, x_i = 1)"


@dataclass(frozen=True)
class SuperpositionConfig(Config):
    owner = "family relu/linear"

    n_hidden: int = param(1, integer(1), top=True, help="hidden dimensions m (< n_features)")


class SuperpositionModel(ToyModel):
    Config = SuperpositionConfig
    tasks = ("features",)
    estimators = ("sampled", "patterns", "exact", "full")
    closed_form = True
    hand_gradient = True
    chunked = True
    params = {
        "W": Output(("hidden", "feature"), "float32", "W_i (column i) is feature i's direction"),
        "b": Output(("feature",), "float32", "output bias"),
    }
    weights = ("W",)
    square_dims = ("feature",)  # WᵀW of a step and the overlaps (Ŵ_i·W_j)² of the metrics
    metrics = {
        "norm": Output(("feature",), "float32", "||W_i||"),
        "interference": Output(("feature",), "float32", INTERFERENCE_DEFINITION),
        "dimensionality": Output(
            ("feature",), "float32", "D_i = ||W_i||^2 / sum over j of (unit(W_i) . W_j)^2"
        ),
        "feature_benefit": Output((), "float32", FEATURE_BENEFIT_DEFINITION),
        "interference_loss": Output((), "float32", INTERFERENCE_LOSS_DEFINITION),
    }
    phase_rule = extra_feature.EXTRA_FEATURE_RULE
    #: the most features an estimator handles (beyond, a step costs more than it saves)
    max_features = {"patterns": PATTERNS_MAX_FEATURES}
    definitions = {"interference_definition": INTERFERENCE_DEFINITION}

    def initialise(self, init_scale: float) -> None:
        configs, seeds, dtype = self.configs, self.seeds, self.dtype
        n, m = configs[0].data.n_features, configs[0].arch.n_hidden
        self.n_features, self.n_hidden = n, m
        # Xavier-normal per model: the scale depends on (n, m) only, never on how many
        # models share the batch (a pitfall of initialising the batched tensor at once).
        std = init_scale * math.sqrt(2.0 / (n + m))
        w = np.stack([generator(s, STREAM_INIT).standard_normal((m, n)) * std for s in seeds])
        self.W = torch.nn.Parameter(torch.as_tensor(w, dtype=dtype))
        self.b = torch.nn.Parameter(torch.zeros(len(configs), n, dtype=dtype))
        self.register_buffer("density", self.task.density)
        self.register_buffer("importance", self.task.importance)

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        return {"hidden": config.arch.n_hidden, "feature": config.data.n_features}

    @classmethod
    def check_estimator(cls, estimator: str, config) -> None:
        super().check_estimator(estimator, config)
        n, most = config.data.n_features, cls.max_features.get(estimator)
        if most is not None and n > most:
            others = [e for e in ("patterns", "sampled") if e != estimator and e in cls.estimators]
            raise ConfigError(
                f"estimator={estimator} supports n_features <= {most} for the {cls.name} "
                f"family, got {n}; use estimator={' or '.join(others)}"
            )

    @classmethod
    def exact_loss_available(cls, config) -> bool:
        return config.data.n_features <= cls.max_features.get("exact", config.data.n_features)

    @classmethod
    def validate(cls, config) -> None:
        n, m = config.data.n_features, config.arch.n_hidden
        if m >= n:
            raise ConfigError(
                f"n_hidden={m} must be smaller than n_features={n}: with a dimension per "
                "feature nothing is superposed"
            )

    # -- the model ----------------------------------------------------------------------
    def activation(self, pre: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [model, feature, batch] -> x' [model, feature, batch]``."""
        h = torch.bmm(self.W, x)
        return self.activation(baddbmm(self.b.unsqueeze(-1), self.W.transpose(1, 2), h))

    # -- loss ---------------------------------------------------------------------------
    def batch_loss(self, batch: Batch, row_weight) -> torch.Tensor:
        """``Σ_b w_b Σ_i I_i (x_ib - x'_ib)²`` per model; ``w_b = 1/B`` for plain batches."""
        if torch.is_grad_enabled():
            return super().batch_loss(batch, row_weight)  # the task's differentiable loss
        # Evaluation: the same sum in place, one batch-sized temporary instead of five.
        x = batch.x
        r = self(x).sub_(x)
        return r.mul_(r).mul_(self.importance.unsqueeze(-1) * row_weight).sum((1, 2))

    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        """Hand-derived gradient of :meth:`batch_loss` (see :meth:`loss_and_grad_rows`)."""
        x = batch.x
        if isinstance(row_weight, torch.Tensor):
            scale, weight = 2.0 * self.importance.unsqueeze(-1), row_weight
        else:
            scale, weight = 2.0 * row_weight * self.importance.unsqueeze(-1), None
        self.W.grad = torch.empty_like(self.W)
        self.b.grad = torch.empty_like(self.b)
        work = self.workspace(self.n_models, x.shape[-1])
        return self.loss_and_grad_rows(slice(None), x, scale, weight, work, need_loss)

    def workspace(self, models: int, batch: int) -> dict[str, torch.Tensor]:
        """Scratch buffers for :meth:`loss_and_grad_rows` on ``models`` models (reused across
        steps: large fresh allocations cost page faults on every step)."""
        n, m = self.n_features, self.n_hidden
        work = {"pre": torch.empty(models, n, batch, dtype=self.dtype)}
        if not self.activation_is_identity:
            work["mask"] = torch.empty(models, n, batch, dtype=self.dtype)
        if not self.uses_gram:
            work["h"] = torch.empty(models, m, batch, dtype=self.dtype)
            work["u"] = torch.empty(models, m, batch, dtype=self.dtype)
        return work

    @property
    def uses_gram(self) -> bool:
        # Through G = WᵀW a column costs 2n² multiply-adds (forward and ∂G), through W it
        # costs 5nm (h = Wx, Wᵀh, h gᵀ, W g, (W g) xᵀ): the Gram path wins for n < 2.5 m.
        n, m = self.n_features, self.n_hidden
        return 2 * n < 5 * m

    def loss_and_grad_rows(
        self,
        rows: slice,
        x: torch.Tensor,
        scale: torch.Tensor,
        row_weight: torch.Tensor | None,
        work: dict[str, torch.Tensor],
        need_loss: bool = False,
    ) -> torch.Tensor | None:
        """Gradients of models ``rows`` on batch ``x [model, feature, batch]``, written into
        ``W.grad[rows]`` and ``b.grad[rows]`` (no autograd); their loss when ``need_loss``.

        ``scale [model, feature, 1]`` is ``2 I_i`` times the row weight when that is one
        number, else ``row_weight [model, 1, batch]`` weights the rows.  With
        ``G = ∂L/∂pre = scale w (x' - x) act'(pre)``:  ``∂L/∂b = Σ_batch G``,
        ``∂L/∂W = W (G xᵀ + x Gᵀ)`` (through the Gram matrix) or ``h Gᵀ + (W G) xᵀ`` with
        ``h = W x``.  Every large tensor lives in ``work`` or is ``x`` itself.
        """
        W, b = self.W.detach()[rows], self.b.detach()[rows]
        pre = work["pre"]
        if self.uses_gram:
            torch.baddbmm(b.unsqueeze(-1), torch.bmm(W.transpose(1, 2), W), x, out=pre)
        else:
            h = torch.bmm(W, x, out=work["h"])
            torch.baddbmm(b.unsqueeze(-1), W.transpose(1, 2), h, out=pre)
        loss = None
        if need_loss:
            r = self.activation(pre.clone()).sub_(x)
            r = r * r * (scale * 0.5)
            loss = (r if row_weight is None else r * row_weight).sum((1, 2))
        if self.activation_is_identity:
            g = pre.sub_(x)
        else:
            # (relu(pre) - x) relu'(pre) = (pre - x) 1[pre > 0]; comparing into a float
            # buffer and multiplying is much faster than boolean masks or torch.where.
            mask = torch.gt(pre, 0.0, out=work["mask"])
            g = pre.sub_(x).mul_(mask)
        if row_weight is not None:
            g.mul_(row_weight)
        torch.sum(g, 2, out=self.b.grad[rows]).mul_(scale.squeeze(-1))
        grad_w = self.W.grad[rows]
        if self.uses_gram:
            dg = torch.bmm(g, x.transpose(1, 2)).mul_(scale)  # rows i scaled by s_i
            torch.bmm(W, dg + dg.transpose(1, 2), out=grad_w)
        else:
            s_row = scale.transpose(1, 2)  # [model, 1, feature]
            torch.bmm(work["h"], g.transpose(1, 2), out=grad_w).mul_(s_row)
            u = torch.bmm(W * s_row, g, out=work["u"])
            grad_w.baddbmm_(u, x.transpose(1, 2))
        return loss

    activation_is_identity = False

    # -- diagnostics --------------------------------------------------------------------
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        W, b = self.W.detach(), self.b.detach()
        relu = not self.activation_is_identity
        return feature_metrics(W) | loss_anatomy(W, b, self.importance, relu)


def loss_anatomy(
    W: torch.Tensor, b: torch.Tensor, importance: torch.Tensor, relu: bool
) -> dict[str, torch.Tensor]:
    """The 1-sparse loss at ``x_i = 1`` of ``W [model, hidden, feature]``, ``b [model,
    feature]`` and ``importance [model, feature]`` split into ``feature_benefit`` ``Σ_i I_i
    (1 - act(‖W_i‖² + b_i))²`` and ``interference_loss`` ``Σ_{i≠j} I_j act(W_j·W_i + b_j)²``
    (paper, "The Mathematical Understanding"), each ``[model]``; ``act`` is ReLU when
    ``relu``, else the identity.  The exact symbolic twin is
    ``analytics.loss_anatomy.one_sparse_anatomy``."""
    # pre[m, j, i]: output j's pre-activation when feature i alone is 1
    pre = torch.bmm(W.transpose(1, 2), W) + b.unsqueeze(-1)
    out = pre.clamp_min(0.0) if relu else pre
    own = torch.diagonal(out, dim1=1, dim2=2)  # [model, feature]
    benefit = (importance * (1.0 - own) ** 2).sum(-1)
    others = out - torch.diag_embed(own)  # i = j is benefit, not interference
    interference = (importance * (others**2).sum(-1)).sum(-1)
    return {"feature_benefit": benefit, "interference_loss": interference}


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
