"""A gated deep linear network with two hidden layers: the depth experiment's GDLN.

The gated counterpart of a ``contextual_relu`` network with ``n_layers = 2`` (Jarvis et
al. 2025, the depth experiment), with the same weights ``W1 [input, unit]``,
``Wh [link, unit, unit_next]`` (one link) and ``W2 [unit, output]``, linear units, and
context gates in place of the ReLUs:

- each hidden layer has ``modules`` modules of ``n_hidden`` units (published: 7 of 60);
- the first layer is ungated and sees the whole input (object and context): every
  context shares it;
- in the second layer, the first ``common_modules`` modules (published: 4) are on in
  every context (the *common* pathway); each further module is on in one pair of
  contexts (with 3 contexts: 1+2, 2+3, 1+3), its units silent on every other sample;
- ``Wh`` is dense: every second-layer module reads the whole first layer.

Training follows the published schedule (full-batch gradient descent, steps = epochs;
published: 500 and 12,000, by default both 0): before ``start_epoch`` no weight moves;
until ``context_epoch`` only the common pathway's loss ``½Σ(ŷ_common − y)²`` is
descended; from then on also the context modules' loss on the residual the common
pathway leaves, ``½Σ(ŷ_context − (y − ŷ_common))²``, with the common output held
constant in it.  Both losses reach the shared first layer (and ``Wh`` into the modules
each one reads).  The stored loss is the whole network's, ``½Σ(ŷ_common + ŷ_context −
y)²``.  The gradient is written by hand.

Initial weights as published: base scale ``init_std`` (5e-4), times ``1.15`` for ``W1``,
``1.1`` for ``Wh`` and the common modules' read-out, and ``8`` for the context modules'
read-out (they start larger, to leave the small-weight plateau soon after they are
switched on).

Metrics: the per-layer census of strong units (``toymodels.families.context_census``;
a first-layer unit's outgoing weights are its row of ``Wh``, a second-layer unit's
activity is gated) and ``pathway_singular_values``, the largest singular values
of the common pathway's map (input to output through the common modules) and of each
context module's.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import torch

from ..contextual_data import OBJECTS
from ..errors import ConfigError
from ..fields import Config, integer, param
from ..linear_algebra import singular_values
from ..outputs import Output
from ..seeds import STREAM_INIT, generator
from ..tasks import TASKS, Batch
from .base import ToyModel
from .context_census import LAYER_CENSUS, layer_census
from .two_layer import init_std_field

# The published depth GDLN's initial scales, relative to init_std: first layer, second
# layer, the common modules' read-out and the context modules' read-out.
FIRST_SCALE, LINK_SCALE, COMMON_READOUT_SCALE, CONTEXT_READOUT_SCALE = 1.15, 1.1, 1.1, 8.0
DEFAULT_INIT_STD = 5e-4
# Singular values stored per pathway (a pathway's map has rank <= its input's 8 + K).
SINGULAR_VALUES = OBJECTS


@dataclass(frozen=True)
class DeepGDLNConfig(Config):
    owner = "family gdln_deep"

    n_hidden: int = param(60, integer(1), top=True, help="units of each module")
    common_modules: int = param(
        4, integer(1), help="second-layer modules on in every context (the common pathway)"
    )
    # The published run waits 500 epochs, then trains the common pathway alone until epoch
    # 12,000 (``toymodels multitask depth`` sets that schedule); by default every pathway
    # learns from the first step, as in the one-hidden-layer gdln family.
    start_epoch: int = param(0, integer(0), help="training steps before any weight moves")
    context_epoch: int = param(
        0,
        integer(0),
        help="training step from which the context modules learn the common pathway's residual",
    )
    init_std: float = init_std_field(DEFAULT_INIT_STD)


def context_pairs(n_contexts: int) -> list[tuple[int, int]]:
    """The contexts (0-based) each context module is on in, in module order."""
    return list(combinations(range(n_contexts), 2))


def pathway_names(n_contexts: int) -> list[str]:
    """``common``, then each context module as its contexts (1-based), e.g. ``ctx1+2``."""
    return ["common"] + [f"ctx{a + 1}+{b + 1}" for a, b in context_pairs(n_contexts)]


class DeepGatedLinearNetwork(ToyModel):
    """A two-hidden-layer gated deep linear network: a shared first layer, and a second
    layer of common modules and context modules gated on for pairs of contexts."""

    name = "gdln_deep"
    Config = DeepGDLNConfig
    tasks = ("contextual",)
    estimators = ("full", "sampled")
    hand_gradient = True
    thread_exact_step = True  # products and element-wise gates only
    params = {
        "W1": Output(("input", "unit"), "float32", "column k is first-layer unit k's input"),
        "Wh": Output(
            ("link", "unit", "unit_next"), "float32", "first layer to second (row k: unit k's)"
        ),
        "W2": Output(("unit", "output"), "float32", "row k is second-layer unit k's read-out"),
    }
    weights = ("W1", "Wh", "W2")
    metrics = {
        **LAYER_CENSUS,
        "pathway_singular_values": Output(
            ("pathway", "singular"),
            "float32",
            "largest singular values of each pathway's map (0: common, then context modules)",
        ),
    }
    metrics_use_data = True

    def initialise(self, init_scale: float) -> None:
        config = self.configs[0]
        sizes = self.dims(config)
        units, d, out = sizes["unit"], sizes["input"], sizes["output"]
        self.common_units = config.arch.common_modules * config.arch.n_hidden
        readout = np.full((units, 1), COMMON_READOUT_SCALE)
        readout[self.common_units :] = CONTEXT_READOUT_SCALE
        drawn = {"W1": [], "Wh": [], "W2": []}
        for c, s in zip(self.configs, self.seeds, strict=True):
            rng = generator(s, STREAM_INIT)
            std = init_scale * c.arch.init_std
            drawn["W1"].append(rng.standard_normal((d, units)) * std * FIRST_SCALE)
            drawn["Wh"].append(rng.standard_normal((1, units, units)) * std * LINK_SCALE)
            drawn["W2"].append(rng.standard_normal((units, out)) * std * readout)
        for name, values in drawn.items():
            value = torch.as_tensor(np.stack(values), dtype=self.dtype)
            setattr(self, name, torch.nn.Parameter(value))
        # gate[c, u]: context unit u (second layer, after the common ones) is on in context c
        pairs = context_pairs(config.data.n_contexts)
        gate = torch.zeros(config.data.n_contexts, units - self.common_units, dtype=self.dtype)
        for m, pair in enumerate(pairs):
            cols = slice(m * config.arch.n_hidden, (m + 1) * config.arch.n_hidden)
            gate[list(pair), cols] = 1.0
        self.gate = gate
        self.begin_step(0, 0)

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        task = TASKS[config.task].dims(config.data)
        pairs = len(context_pairs(config.data.n_contexts))
        units = (config.arch.common_modules + pairs) * config.arch.n_hidden
        return {
            "unit": units,
            "unit_next": units,
            "link": 1,
            "layer": 2,
            "pathway": pairs + 1,
            "singular": SINGULAR_VALUES,
            **task,
        }

    @classmethod
    def validate(cls, config) -> None:
        if config.data.inputs != "one_hot":
            raise ConfigError(
                f"the gdln_deep family reads each sample's context from one-hot inputs; "
                f"inputs={config.data.inputs} is not allowed (use one_hot)"
            )

    def begin_step(self, step: int, steps: int) -> None:
        arch = self.configs[0].arch
        self.common_on = step >= arch.start_epoch
        self.context_on = self.common_on and step >= arch.context_epoch

    # -- the network ------------------------------------------------------------------------
    def _gates(self, x: torch.Tensor) -> torch.Tensor:
        """The context units' gates ``[model, example, unit]`` (0 or 1), read from the
        inputs' context one-hot ``x [model, input, example]``."""
        return self.gate[x[:, OBJECTS:, :].argmax(1)]

    def _layers(self, xt: torch.Tensor):
        """First-layer activity, the common units' and the gated context units' second-layer
        activity, each ``[model, example, unit]``, from ``xt [model, example, input]``."""
        h1 = torch.bmm(xt, self.W1)
        h2 = torch.bmm(h1, self.Wh[:, 0])
        c = self.common_units
        return h1, h2[..., :c], h2[..., c:] * self._gates(xt.mT)

    def _outputs(self, x: torch.Tensor):
        """The common and the context pathways' outputs ``[model, example, output]``."""
        _, common, context = self._layers(x.mT)
        c = self.common_units
        return torch.bmm(common, self.W2[:, :c]), torch.bmm(context, self.W2[:, c:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        common, context = self._outputs(x)
        return (common + context).mT

    def objective(self, batch: Batch, row_weight) -> torch.Tensor:
        """The training objective at the current step (the published schedule): nothing
        before ``start_epoch``, the common pathway's loss, then also the context modules'
        loss on the residual the common pathway leaves (its output held constant)."""
        common, context = self._outputs(batch.x)
        loss = self.task.loss(common.mT, batch, row_weight) * float(self.common_on)
        if self.context_on:
            loss = loss + self.task.loss((common.detach() + context).mT, batch, row_weight)
        return loss

    @torch.no_grad()
    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        if not self.common_on:
            for p in self.parameters():
                p.grad = torch.zeros_like(p)
            return torch.zeros(self.n_models, dtype=self.dtype) if need_loss else None
        x, xt, yt = batch.x, batch.x.mT, batch.y.mT
        w, c = float(row_weight), self.common_units
        h1, common, context = self._layers(xt)
        resid_c = torch.baddbmm(yt, common, self.W2[:, :c], beta=-1)  # ŷ_common − y
        # ŷ − y with the common output a constant: the context modules' residual loss
        resid = torch.baddbmm(resid_c, context, self.W2[:, c:]) if self.context_on else None
        loss = None
        if need_loss:
            loss = 0.5 * w * resid_c.square().sum((1, 2))
            if resid is not None:
                loss += 0.5 * w * resid.square().sum((1, 2))
        grad_w2 = torch.zeros_like(self.W2)
        back = torch.zeros_like(h1)  # ∂objective/∂(second layer's activity, before gates)
        resid_c.mul_(w)
        grad_w2[:, :c] = torch.bmm(common.mT, resid_c)
        back[..., :c] = torch.bmm(resid_c, self.W2[:, :c].mT)
        if resid is not None:
            resid.mul_(w)
            grad_w2[:, c:] = torch.bmm(context.mT, resid)
            back[..., c:] = torch.bmm(resid, self.W2[:, c:].mT) * self._gates(x)
        self.W2.grad = grad_w2
        self.Wh.grad = torch.bmm(h1.mT, back).unsqueeze(1)
        self.W1.grad = torch.bmm(x, torch.bmm(back, self.Wh[:, 0].mT))
        return loss

    # -- metrics ----------------------------------------------------------------------------
    @torch.no_grad()
    def pathway_maps(self) -> torch.Tensor:
        """Each pathway's map ``[model, pathway, output, input]``: the common modules', then
        each context module's (input to output through that module's units)."""
        config = self.configs[0]
        k, c = config.arch.n_hidden, self.common_units
        first = torch.bmm(self.W1, self.Wh[:, 0])  # input to second layer, [model, input, unit]
        spans = [slice(0, c)] + [
            slice(c + m * k, c + (m + 1) * k)
            for m in range(len(context_pairs(config.data.n_contexts)))
        ]
        return torch.stack([torch.bmm(first[..., s], self.W2[:, s]).mT for s in spans], 1)

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        h1, common, context = self._layers(probe.x.mT)
        h2 = torch.cat([common, context], -1)
        layers = [(h1.mT, self.Wh[:, 0].norm(dim=-1)), (h2.mT, self.W2.norm(dim=-1))]
        out = layer_census(layers, probe.labels, self.configs[0].data.n_contexts)
        values = singular_values(self.pathway_maps())[..., :SINGULAR_VALUES]
        return out | {"pathway_singular_values": values}
