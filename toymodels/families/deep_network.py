"""Networks of one or more hidden layers without biases: ``ŷ = W₂ᵀ act(Whᵀ act(W₁ᵀ x))``.

A :class:`~.two_layer.TwoLayerNetwork` with ``n_layers`` hidden layers of ``n_hidden``
units each: ``W1`` maps the input to the first hidden layer, ``Wh[l]`` hidden layer
``l + 1`` to layer ``l + 2`` (``n_layers − 1`` of them) and ``W2`` the last hidden layer
to the output (Jarvis et al. 2025, the depth experiment: 11 → 420 → 420 → 60).  With
one hidden layer ``Wh`` is empty and every number is the two-layer network's; deeper,
``W1`` and ``W2`` are drawn as there and ``Wh`` from its own stream
(``toymodels.seeds.STREAM_DEPTH``), every entry ``N(0, init_std²)``.  ``init =
"balanced"`` (the closed form's initial condition of a two-layer pathway) needs one
hidden layer.  The gradient of the squared error is written by hand for any depth
(back-propagation through the stored activities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ..fields import param
from ..limits import N_LAYERS
from ..outputs import Output
from ..seeds import STREAM_DEPTH, generator
from ..tasks import Batch
from .two_layer import TwoLayerConfig, TwoLayerNetwork, relu_backward


@dataclass(frozen=True)
class DeepConfig(TwoLayerConfig):
    """A two-layer network's config with its number of hidden layers."""

    n_layers: int = param(1, N_LAYERS, top=True, help=f"hidden layers, {N_LAYERS.allowed}")


class DeepNetwork(TwoLayerNetwork):
    """``W₂ᵀ act(Whᵀ … act(W₁ᵀ x))`` (see module docstring)."""

    params = {
        **TwoLayerNetwork.params,
        "Wh": Output(
            ("link", "unit", "unit_next"),
            "float32",
            "Wh[l]: hidden layer l+1 to layer l+2 (row k: unit k's outgoing weights)",
        ),
    }
    weights = (*TwoLayerNetwork.weights, "Wh")

    def initialise(self, init_scale: float) -> None:
        super().initialise(init_scale)
        k, links = self.configs[0].arch.n_hidden, self.configs[0].arch.n_layers - 1
        drawn = [
            generator(s, STREAM_DEPTH).standard_normal((links, k, k)) * init_scale * c.arch.init_std
            for c, s in zip(self.configs, self.seeds, strict=True)
        ]
        self.Wh = torch.nn.Parameter(torch.as_tensor(np.stack(drawn), dtype=self.dtype))

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        dims = super().dims(config)
        layers = config.arch.n_layers
        return dims | {"link": layers - 1, "unit_next": dims["unit"], "layer": layers}

    @classmethod
    def validate(cls, config) -> None:
        if config.arch.n_layers > 1 and config.arch.init == "balanced":
            raise ConfigError(
                "init=balanced is the initial condition of one hidden layer's closed form; "
                f"n_layers={config.arch.n_layers} needs init=gaussian"
            )
        super().validate(config)

    def hidden_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden layer's activity ``[model, unit, example]``, first to last."""
        layers = [super().hidden(x)]
        for link in range(self.Wh.shape[1]):
            h = torch.bmm(self.Wh[:, link].mT, layers[-1])
            layers.append(h.clamp_(min=0) if self.relu else h)
        return layers

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activity ``[model, unit, example]`` (the output's input)."""
        return self.hidden_layers(x)[-1]

    def outgoing_norms(self) -> list[torch.Tensor]:
        """Each hidden layer's outgoing weight norms per unit ``[model, unit]``."""
        links = [self.Wh[:, link].norm(dim=-1) for link in range(self.Wh.shape[1])]
        return [*links, self.W2.norm(dim=-1)]

    @classmethod
    def uses_fused_descent(cls, config) -> bool:
        # One hidden layer is the two-layer network, whose descent skips the empty links;
        # deeper networks take the gradient and the optimiser.
        return super().uses_fused_descent(config) and config.arch.n_layers == 1

    def descend(self, batch: Batch, row_weight, lr: float) -> None:
        if self.Wh.shape[1]:
            raise NotImplementedError("a network with hidden links has no fused descent")
        super().descend(batch, row_weight, lr)

    @torch.no_grad()
    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        if self.Wh.shape[1] == 0:  # no link: its gradient is empty (made once)
            if self.Wh.grad is None:
                self.Wh.grad = torch.zeros_like(self.Wh)
            return super().batch_loss_and_grad(batch, row_weight, need_loss)
        x, xt, yt = self._examples_major(batch)
        acts = [torch.bmm(xt, self.W1)]  # each layer's activity, [model, example, unit]
        if self.relu:
            acts[0].clamp_(min=0)
        for link in range(self.Wh.shape[1]):
            acts.append(torch.bmm(acts[-1], self.Wh[:, link]))
            if self.relu:
                acts[-1].clamp_(min=0)
        resid = torch.baddbmm(yt, acts[-1], self.W2, beta=-1)  # ŷ − y
        w = float(row_weight)  # the estimators weigh every example alike
        loss = 0.5 * w * resid.square().sum((1, 2)) if need_loss else None
        if w != 1.0:
            resid.mul_(w)
        self.W2.grad = torch.bmm(acts[-1].mT, resid)
        back = torch.bmm(resid, self.W2.mT)  # ∂loss/∂(last layer's activity)
        grad_h = []
        for link in reversed(range(self.Wh.shape[1])):
            if self.relu:
                back = relu_backward(back, acts[link + 1])
            grad_h.insert(0, torch.bmm(acts[link].mT, back))
            back = torch.bmm(back, self.Wh[:, link].mT)
        if self.relu:
            back = relu_backward(back, acts[0])
        # One link (the supported depth) needs no copy into a stacked gradient.
        self.Wh.grad = grad_h[0].unsqueeze(1) if len(grad_h) == 1 else torch.stack(grad_h, 1)
        self.W1.grad = torch.bmm(x, back)
        return loss
