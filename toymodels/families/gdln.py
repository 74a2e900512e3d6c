"""A gated deep linear network (GDLN) on the contextual task: pathways racing to fit it.

The *common* pathway ``W₂ᶜ W₁ᶜ x`` sees the whole input (object and context) and is always
on.  Each *gated* pathway ``m`` sees only the object (the first 8 inputs) through
``W₂ᵐ W₁ᵐ`` and is switched on for a fixed set of contexts, read from the input's
context one-hot:

- ``gating = "single"``: one pathway per context;
- ``"pairs"``: one per pair of contexts;
- ``"all_but_one"``: one per set of K−1 contexts;
- ``"subsets"``: one per proper non-empty subset of contexts (singles, pairs, …), so
  pathways serving one context race against pathways serving several.

``training = "residual"`` (as published) trains the common pathway on the targets alone
and the gated pathways on what it leaves (its output held constant in their gradient);
``"joint"`` trains every pathway on the full loss.  The stored loss is the network's.
Each pathway has ``n_hidden`` linear units, all weights start ``N(0, init_std²)``.
``pathway_singular_values`` holds the largest singular values of each pathway's map
(pathway 0 is the common one, then the gated ones in the order of :func:`gate_sets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import torch

from ..contextual_data import DEFAULT_INIT_STD, OBJECTS
from ..errors import ConfigError
from ..fields import Config, choice, integer, param
from ..limits import GATINGS
from ..linear_algebra import singular_values
from ..outputs import Output
from ..seeds import STREAM_INIT, generator
from ..tasks import TASKS, Batch
from .base import ToyModel
from .two_layer import init_std_field

TRAININGS = ("residual", "joint")
# Singular values stored per pathway (a gated pathway's map has rank <= 8 objects).
SINGULAR_VALUES = OBJECTS


@dataclass(frozen=True)
class GDLNConfig(Config):
    owner = "family gdln"

    n_hidden: int = param(100, integer(1), top=True, help="hidden units of each pathway")
    gating: str = param(
        "subsets",
        choice("gating", lambda: GATINGS),
        help="the context sets gated pathways serve: " + ", ".join(GATINGS),
    )
    training: str = param(
        "residual",
        choice("training", lambda: TRAININGS),
        help="residual: gated pathways learn what the common one leaves; joint: one loss",
    )
    init_std: float = init_std_field(DEFAULT_INIT_STD)


def gate_sets(n_contexts: int, gating: str) -> list[tuple[int, ...]]:
    """The contexts each gated pathway is on in (0-based), in pathway order."""
    sizes = {
        "single": [1],
        "pairs": [2],
        "all_but_one": [n_contexts - 1],
        "subsets": list(range(1, n_contexts)),
    }[gating]
    return [c for size in sizes for c in combinations(range(n_contexts), size)]


def pathway_names(n_contexts: int, gating: str) -> list[str]:
    """``common``, then each gated pathway as its contexts (1-based), e.g. ``ctx1+2``."""
    sets = gate_sets(n_contexts, gating)
    return ["common"] + ["ctx" + "+".join(str(c + 1) for c in s) for s in sets]


class GatedLinearNetwork(ToyModel):
    """A gated deep linear network: a common pathway always on and context pathways gated
    on for fixed sets of contexts, racing to fit the contextual task."""

    name = "gdln"
    Config = GDLNConfig
    tasks = ("contextual",)
    estimators = ("full", "sampled")
    params = {
        "Wc1": Output(("unit", "input"), "float32", "common pathway, first layer"),
        "Wc2": Output(("output", "unit"), "float32", "common pathway, second layer"),
        "Wg1": Output(("module", "unit", "object"), "float32", "gated pathways, first layers"),
        "Wg2": Output(("module", "output", "unit"), "float32", "gated pathways, second layers"),
    }
    weights = ("Wc1", "Wc2", "Wg1", "Wg2")
    metrics = {
        "pathway_singular_values": Output(
            ("pathway", "singular"),
            "float32",
            "largest singular values of each pathway's map (0: common, then gated)",
        )
    }

    def initialise(self, init_scale: float) -> None:
        sizes = self.dims(self.configs[0])
        k, d, out, mods = sizes["unit"], sizes["input"], sizes["output"], sizes["module"]
        shapes = {"Wc1": (k, d), "Wc2": (out, k), "Wg1": (mods, k, OBJECTS), "Wg2": (mods, out, k)}
        drawn = {name: [] for name in shapes}
        for c, s in zip(self.configs, self.seeds, strict=True):
            rng = generator(s, STREAM_INIT)
            std = init_scale * c.arch.init_std
            for name, shape in shapes.items():
                drawn[name].append(rng.standard_normal(shape) * std)
        for name, values in drawn.items():
            setattr(
                self, name, torch.nn.Parameter(torch.as_tensor(np.stack(values), dtype=self.dtype))
            )
        config = self.configs[0]
        sets = gate_sets(config.data.n_contexts, config.arch.gating)
        # gate[m, c]: pathway m is on in context c
        gate = torch.zeros(len(sets), config.data.n_contexts, dtype=self.dtype)
        for m, contexts in enumerate(sets):
            gate[m, list(contexts)] = 1.0
        self.gate = gate

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        task = TASKS[config.task].dims(config.data)
        modules = len(gate_sets(config.data.n_contexts, config.arch.gating))
        return {
            "unit": config.arch.n_hidden,
            "module": modules,
            "object": OBJECTS,
            "pathway": modules + 1,
            "singular": SINGULAR_VALUES,
            **task,
        }

    @classmethod
    def validate(cls, config) -> None:
        if config.data.inputs != "one_hot":
            raise ConfigError(
                f"the gdln family reads each sample's context from one-hot inputs; "
                f"inputs={config.data.inputs} is not allowed (use one_hot)"
            )

    def common(self, x: torch.Tensor) -> torch.Tensor:
        return torch.bmm(self.Wc2, torch.bmm(self.Wc1, x))

    def gated(self, x: torch.Tensor) -> torch.Tensor:
        """The gated pathways' summed output ``[model, output, example]``."""
        context = x[:, OBJECTS:, :].argmax(1)  # [model, example]
        on = self.gate[:, context].permute(1, 0, 2)  # [model, module, example]
        hidden = torch.matmul(self.Wg1, x[:, None, :OBJECTS, :]) * on.unsqueeze(2)
        return torch.matmul(self.Wg2, hidden).sum(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.common(x) + self.gated(x)

    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        if self.configs[0].arch.training == "joint":
            return super().batch_loss_and_grad(batch, row_weight, need_loss)
        params = list(self.parameters())
        with torch.enable_grad():
            common = self.common(batch.x)
            network = common.detach() + self.gated(batch.x)
            total = self.task.loss(network, batch, row_weight)
            # Each loss reaches only its own pathways' parameters.
            objective = self.task.loss(common, batch, row_weight) + total
            grads = torch.autograd.grad(objective.sum(), params)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        return total.detach() if need_loss else None

    @torch.no_grad()
    def pathway_maps(self) -> list[torch.Tensor]:
        """Each pathway's map: common ``[model, output, input]``, then the gated ones
        ``[model, module, output, object]``."""
        return [torch.bmm(self.Wc2, self.Wc1), torch.matmul(self.Wg2, self.Wg1)]

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        common, gated = self.pathway_maps()
        top = singular_values(common)[:, None, :SINGULAR_VALUES]
        values = torch.cat([top, singular_values(gated)[..., :SINGULAR_VALUES]], dim=1)
        return {"pathway_singular_values": values}
