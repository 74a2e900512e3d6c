"""Two-layer networks ``ŷ = W₂ᵀ act(W₁ᵀ x)`` without biases, trained on a fixed data set.

The base of the families whose theory is the closed-form mode dynamics of a linear
pathway (``contextual_*`` and ``two_view_*``): a linear hidden layer (the theory's case)
or a ReLU one.  They start from small weights (``init = "gaussian"``: every entry of
``W₁`` and ``W₂`` drawn from ``N(0, init_std²)``) or from the closed form's initial
condition (``init = "balanced"``: ``W₁ = V·√a₀·Rᵀ``, ``W₂ = R·√a₀·Uᵀ`` with the task's
modes ``U, V`` and a random orthonormal ``R``, so every mode starts at strength
``a₀ = init_std²·n_hidden/2``: the strength a random start of that scale grows from once
its aligned part dominates).  The gradient of the task's squared error is written by
hand: these families are trained for thousands of full-batch epochs.

A subclass declares its config (a :class:`TwoLayerConfig` with its own ``n_hidden`` and
``init_std``), its tasks, its metrics and :meth:`compute_metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..correlation_modes import initial_strength
from ..errors import ConfigError
from ..fields import POSITIVE, Config, choice, param
from ..outputs import Output
from ..seeds import STREAM_INIT, generator
from ..tasks import TASKS, Batch
from .base import ToyModel

INITS = ("gaussian", "balanced")
INIT_HELP = "gaussian: i.i.d. N(0, init_std^2); balanced: every theory mode at init_std^2*H/2"


def init_std_field(default: float):
    """The ``init_std`` field (per model), with a family's default."""
    return param(default, POSITIVE, per_model=True, help="scale of the small initial weights")


@dataclass(frozen=True)
class TwoLayerConfig(Config):
    """How a two-layer network starts; a family's config adds ``n_hidden`` and
    ``init_std`` (:func:`init_std_field`) with its own defaults."""

    init: str = param("gaussian", choice("initialisation", lambda: INITS), help=INIT_HELP)


def relu_backward(grad: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The gradient through a ReLU from its output ``out``: ``grad`` where the unit is on,
    0 where it is off, in one pass (torch's own ReLU backward; multiplying by
    ``sign(out)`` took two, and a third of a step's element-wise time)."""
    return torch.ops.aten.threshold_backward(grad, out, 0)


class TwoLayerNetwork(ToyModel):
    """``W₂ᵀ act(W₁ᵀ x)`` (see module docstring)."""

    estimators = ("full", "sampled")
    hand_gradient = True
    thread_exact_step = True  # products and element-wise masks only
    fused_descent = True  # descend: the big product, W₂'s update, writes into W₂
    # Stored examples-major (h = act(W1ᵀ x), ŷ = W2ᵀ h): the training step's products then
    # run as plain batched GEMMs (measured 1.5x faster than the transposed layout).
    params = {
        "W1": Output(("input", "unit"), "float32", "column k is unit k's input weights"),
        "W2": Output(("unit", "output"), "float32", "row k is unit k's output weights"),
    }
    weights = ("W1", "W2")
    #: whether the hidden layer is rectified; a family says which when it subclasses,
    #: ``class X(Network, relu=True)``
    relu: ClassVar[bool]

    def __init_subclass__(cls, relu: bool | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if relu is not None:
            cls.relu = relu

    def initialise(self, init_scale: float) -> None:
        configs, dtype = self.configs, self.dtype
        sizes = self.dims(configs[0])
        d, k, out = sizes["input"], sizes["unit"], sizes["output"]
        task = TASKS[configs[0].task]
        w1, w2 = [], []
        for c, s in zip(configs, self.seeds, strict=True):
            rng = generator(s, STREAM_INIT)
            std = init_scale * c.arch.init_std
            if c.arch.init == "gaussian":
                w1.append(rng.standard_normal((d, k)) * std)
                w2.append(rng.standard_normal((k, out)) * std)
                continue
            found = task.correlation_modes(c.data)
            rot, _ = np.linalg.qr(rng.standard_normal((k, len(found.s))))
            root = np.sqrt(initial_strength(std, k))
            w1.append((found.V * root) @ rot.T)
            w2.append(rot @ (root * found.U.T))
        self.W1 = torch.nn.Parameter(torch.as_tensor(np.stack(w1), dtype=dtype))
        self.W2 = torch.nn.Parameter(torch.as_tensor(np.stack(w2), dtype=dtype))
        self._layout: tuple = (None, None)

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        task = TASKS[config.task].dims(config.data)
        return {"unit": config.arch.n_hidden, **task}

    @classmethod
    def validate(cls, config) -> None:
        if config.arch.init == "balanced":
            rank = len(TASKS[config.task].correlation_modes(config.data).s)
            if config.arch.n_hidden < rank:
                raise ConfigError(
                    f"init=balanced needs n_hidden >= {rank} (one unit per mode); "
                    f"n_hidden={config.arch.n_hidden}"
                )

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden activity ``[model, unit, example]``."""
        h = torch.bmm(self.W1.mT, x)
        return h.clamp_(min=0) if self.relu else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.bmm(self.W2.mT, self.hidden(x))

    def _examples_major(self, batch: Batch):
        """``x [m, input, p]``, ``xᵀ [m, p, input]`` and ``yᵀ [m, p, output]``, contiguous;
        cached for the batch a full-batch estimator passes at every step."""
        cached, layout = self._layout
        if cached is not batch:
            layout = tuple(t.contiguous() for t in (batch.x, batch.x.mT, batch.y.mT))
            self._layout = (batch, layout)
        return layout

    def _through(self, batch: Batch, row_weight, need_loss: bool):
        """The step's forward and backward passes up to the weights' gradients:
        ``(x, act, resid, back, loss)`` with the hidden activity ``act``, the weighted
        residual ``resid`` (∂loss/∂ŷ) and ``back`` (∂loss/∂act, through the ReLU), all
        ``[model, example, ·]``; W₂'s gradient is ``actᵀ resid`` and W₁'s ``x back``."""
        x, xt, yt = self._examples_major(batch)
        act = torch.bmm(xt, self.W1)  # [model, example, unit]
        if self.relu:
            act.clamp_(min=0)
        resid = torch.baddbmm(yt, act, self.W2, beta=-1)  # ŷ − y, [model, example, output]
        w = float(row_weight)  # the estimators weigh every example alike
        loss = 0.5 * w * resid.square().sum((1, 2)) if need_loss else None
        if w != 1.0:
            resid.mul_(w)
        back = torch.bmm(resid, self.W2.mT)  # [model, example, unit]
        if self.relu:
            back = relu_backward(back, act)
        return x, act, resid, back, loss

    def _first_layer_grad(self, x: torch.Tensor, back: torch.Tensor) -> torch.Tensor:
        """W₁'s gradient from :meth:`_through`'s ``x`` and ``back``."""
        return torch.bmm(x, back)

    def _descend_first_layer(self, x: torch.Tensor, back: torch.Tensor, lr: float) -> None:
        """``W₁ −= lr·∂W₁``, accumulated by the product that makes it."""
        self.W1.baddbmm_(x, back, alpha=-lr)

    @torch.no_grad()
    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        x, act, resid, back, loss = self._through(batch, row_weight, need_loss)
        self.W2.grad = torch.bmm(act.mT, resid)
        self.W1.grad = self._first_layer_grad(x, back)
        return loss

    @torch.no_grad()
    def descend(self, batch: Batch, row_weight, lr: float) -> None:
        """``batch_loss_and_grad`` then ``W −= lr·∂W``, with W₂'s update accumulated by the
        product that makes it (``baddbmm_``): its gradient, ``hidden × output`` per model,
        is never stored, and no separate pass reads it back (a sixth of a step)."""
        x, act, resid, back, _ = self._through(batch, row_weight, need_loss=False)
        self.W2.baddbmm_(act.mT, resid, alpha=-lr)
        self._descend_first_layer(x, back, lr)
