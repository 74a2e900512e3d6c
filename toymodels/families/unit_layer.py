"""A hidden layer of K units read out linearly: ``x → z = W₁ x + b₁ → a = act(z) → W₂ a + b₂``.

The base of the ``hidden`` and ``competition`` families.  ``W₁`` is ``[model, unit,
input]`` (row k is unit k's weight vector), ``W₂`` is ``[model, output, unit]``; the sizes
of ``input`` and ``output`` come from the task (the sparse features to reconstruct, or the
classes of a Gaussian mixture).  The activation is picked by name from
``toymodels.activations``; it is the axis along which units compete, or do not.  Both
weight matrices start Xavier-normal, each model's from its own seed (scaled by
``init_scale``), the biases at 0.  The affine maps run through
``toymodels.linear_algebra.baddbmm``, so a batch of one model rounds like a larger batch.

Metrics are those of ``toymodels.unit_metrics`` for hyperplane units (rows ``[w_k, b_k]``,
centred over the units where the activation ignores a shift common to them), on the probe
examples: usage, dead units, how alike the units are and how many distinct.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .. import unit_metrics
from ..activations import ACTIVATIONS
from ..errors import ConfigError
from ..linear_algebra import baddbmm
from ..outputs import Output
from ..phases.layer_competition import DEAD_SHARE, SAME_DIRECTION
from ..seeds import STREAM_INIT, generator
from ..tasks import TASKS, Batch
from .base import ToyModel

#: The metrics of a layer of K units (definitions: ``toymodels.unit_metrics``).
UNIT_METRICS = {
    "unit_norm": Output(("unit",), "float32", "|w_k| of each unit's weights"),
    "usage": Output(("unit",), "float32", "p̄_k: each unit's share of the responsibilities"),
    "max_abs_cos": Output((), "float32", "largest |cos| between two unit rows"),
    "effective_rank": Output((), "float32", "exp H(σ/Σσ), σ the singular values of the unit rows"),
    "usage_entropy": Output((), "float32", "H(p̄) in nats"),
    "effective_units": Output((), "float32", "exp H(p̄): K when every unit is used alike"),
    "sample_entropy": Output((), "float32", "H̄: mean entropy of one example's responsibilities"),
    "dead_fraction": Output((), "float32", f"share of units with p̄_k < {DEAD_SHARE}/K"),
    "n_distinct": Output((), "float32", "groups of alike alive units"),
    "log_volume": Output((), "float32", "log det(ŴŴᵀ + 1e-3 I) of the row-normalised unit rows"),
}
#: What the metrics' words mean, stored with the results (a family adds its unit rows and
#: when two of them are alike).
UNIT_DEFINITIONS = {
    "dead": f"usage p̄_k < {DEAD_SHARE}/K",
    "effective_rank": "exp of the entropy of the normalised singular values (σ, not σ²)",
}


def xavier_normal(
    seeds: Sequence[np.random.SeedSequence],
    shapes: Sequence[tuple[int, int]],
    init_scale: float,
    dtype: torch.dtype,
) -> list[torch.Tensor]:
    """One ``[model, rows, cols]`` matrix per shape, entries normal with standard deviation
    ``init_scale · √(2 / (rows + cols))`` (Glorot & Bengio 2010); each model draws its
    matrices in order from its own stream (``toymodels.seeds.STREAM_INIT``)."""
    drawn: list[list[np.ndarray]] = [[] for _ in shapes]
    for seed in seeds:
        rng = generator(seed, STREAM_INIT)
        for out, (rows, cols) in zip(drawn, shapes, strict=True):
            std = init_scale * math.sqrt(2.0 / (rows + cols))
            out.append(rng.standard_normal((rows, cols)) * std)
    return [torch.as_tensor(np.stack(out), dtype=dtype) for out in drawn]


class UnitLayer(ToyModel):
    """``W₂ act(W₁ x + b₁) + b₂`` (see module docstring); a family adds its config and
    tasks, and what it does beyond the layer."""

    params = {
        "W1": Output(("unit", "input"), "float32", "row k is unit k's weight vector"),
        "b1": Output(("unit",), "float32", "hidden bias"),
        "W2": Output(("output", "unit"), "float32", "read-out weights"),
        "b2": Output(("output",), "float32", "read-out bias"),
    }
    weights = ("W1", "W2")
    metrics = UNIT_METRICS
    metrics_use_data = True
    square_dims = ("unit",)  # |cos| and the alike links between every pair of units
    definitions = {
        **UNIT_DEFINITIONS,
        "unit_rows": "[w_k, b_k]: a unit's weights and bias (the cut it makes); for an "
        "activation that ignores a shift common to the units' rows (softmax, log_softmax; "
        "grouped_softmax per block), less their mean over the units (the block)",
        "alike": f"|cos| > {SAME_DIRECTION} between unit rows (centred rows: cos > "
        f"{SAME_DIRECTION})",
    }

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        return {"unit": config.arch.n_hidden, **TASKS[config.task].dims(config.data)}

    @classmethod
    def validate(cls, config) -> None:
        reason = ACTIVATIONS[config.arch.activation].refusal(config.arch)
        if reason:
            raise ConfigError(reason)

    def initialise(self, init_scale: float) -> None:
        start = self.initial_params(init_scale)
        for name in self.params:
            setattr(self, name, torch.nn.Parameter(start[name]))
        self.activation = ACTIVATIONS[self.configs[0].arch.activation](
            [c.arch for c in self.configs]
        )

    def initial_params(self, init_scale: float) -> dict[str, torch.Tensor]:
        """The starting value of every declared parameter, by name."""
        sizes = self.dims(self.configs[0])
        d, k, out = sizes["input"], sizes["unit"], sizes["output"]
        W1, W2 = xavier_normal(self.seeds, [(k, d), (out, k)], init_scale, self.dtype)
        n = self.n_models
        b1, b2 = torch.zeros(n, k, dtype=self.dtype), torch.zeros(n, out, dtype=self.dtype)
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

    def unit_weights(self) -> torch.Tensor:
        """The unit rows the layer uses ``[model, unit, input]``."""
        return self.W1

    def logits(self, x: torch.Tensor, W: torch.Tensor | None = None) -> torch.Tensor:
        """``z [model, unit, example]`` for inputs ``x [model, input, example]``."""
        W = self.unit_weights() if W is None else W
        return baddbmm(self.b1.unsqueeze(-1), W, x)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        """Each example's distribution over the units ``[model, unit, example]``."""
        return self.activation.responsibilities(z)

    def output(self, z: torch.Tensor) -> torch.Tensor:
        """The read-out ``[model, output, example]`` of the units' logits ``z``."""
        return baddbmm(self.b2.unsqueeze(-1), self.W2, self.activation(z))

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The units' activations ``[model, unit, example]``."""
        return self.activation(self.logits(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.logits(x))

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        W = self.unit_weights().detach()
        r = self.responsibilities(self.logits(probe.x, W))
        shift = self.activation.shift_block(W.shape[1])
        return unit_metrics.hyperplane_metrics(W, self.b1.detach(), r, shift)
