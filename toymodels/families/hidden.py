"""A hidden layer of K units: ``x → W₁ x + b₁ → act → W₂ a + b₂ → output``.

``W₁`` is ``[model, unit, input]`` (row k is unit k's weight vector), ``W₂`` is
``[model, output, unit]``; the sizes of ``input`` and ``output`` come from the task (the
sparse features to reconstruct, or the classes of a Gaussian mixture).  The activation is
picked by name from ``toymodels.activations``; it is the axis along which competition
between units would act.  Both weight matrices start Xavier-normal per model (scaled by
``init_scale``), biases at 0.  Metrics describe the units: how alike their weight vectors
are, the effective rank of ``W₁``, and how many never fire on the probe examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import unit_metrics
from ..activations import ACTIVATIONS
from ..fields import Config, choice, integer, param
from ..linear_algebra import baddbmm
from ..outputs import Output
from ..seeds import STREAM_INIT, generator
from ..tasks import TASKS, Batch
from .base import ToyModel

# The activations that read no setting of their own (no temperature, no blocks, no k):
# the competitive ones belong to the ``competition`` family, whose config has them.
PLAIN = tuple(
    name for name, cls in ACTIVATIONS.items() if not cls.uses_temperature and not cls.settings
)


@dataclass(frozen=True)
class HiddenConfig(Config):
    owner = "family hidden"

    n_hidden: int = param(4, integer(1), top=True, help="hidden units K")
    activation: str = param(
        "relu", choice("activation", lambda: PLAIN), help="the hidden layer's activation"
    )


class HiddenLayer(ToyModel):
    """``W₂ act(W₁ x + b₁) + b₂``: a hidden layer of K units between the task's input and
    output."""

    name = "hidden"
    Config = HiddenConfig
    tasks = ("features", "clusters")
    estimators = ("sampled", "full")
    params = {
        "W1": Output(("unit", "input"), "float32", "row k is unit k's weight vector"),
        "b1": Output(("unit",), "float32", "hidden bias"),
        "W2": Output(("output", "unit"), "float32", "read-out weights"),
        "b2": Output(("output",), "float32", "read-out bias"),
    }
    weights = ("W1", "W2")
    metrics = {
        "unit_norm": Output(("unit",), "float32", "||W1_k||"),
        "max_abs_cos": Output(
            (), "float32", "largest |cos| between two units' weight vectors (rows of W1)"
        ),
        "effective_rank": Output(
            (), "float32", "exp H(sigma / sum sigma), sigma the singular values of W1"
        ),
        "dead_fraction": Output(
            (), "float32", "share of units whose activation is 0 on every probe example"
        ),
    }
    metrics_use_data = True

    def initialise(self, init_scale: float) -> None:
        configs, seeds, dtype = self.configs, self.seeds, self.dtype
        sizes = self.dims(configs[0])
        d, k, out = sizes["input"], sizes["unit"], sizes["output"]
        std1 = init_scale * math.sqrt(2.0 / (d + k))
        std2 = init_scale * math.sqrt(2.0 / (k + out))
        w1, w2 = [], []
        for s in seeds:
            rng = generator(s, STREAM_INIT)
            w1.append(rng.standard_normal((k, d)) * std1)
            w2.append(rng.standard_normal((out, k)) * std2)
        self.W1 = torch.nn.Parameter(torch.as_tensor(np.stack(w1), dtype=dtype))
        self.b1 = torch.nn.Parameter(torch.zeros(len(configs), k, dtype=dtype))
        self.W2 = torch.nn.Parameter(torch.as_tensor(np.stack(w2), dtype=dtype))
        self.b2 = torch.nn.Parameter(torch.zeros(len(configs), out, dtype=dtype))
        self.activation = ACTIVATIONS[configs[0].arch.activation]([c.arch for c in configs])

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        task = TASKS[config.task].dims(config.data)
        return {"unit": config.arch.n_hidden, **task}

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The units' activations ``[model, unit, example]``."""
        return self.activation(baddbmm(self.b1.unsqueeze(-1), self.W1, x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return baddbmm(self.b2.unsqueeze(-1), self.W2, self.hidden(x))

    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        W = self.W1.detach()
        return {
            "unit_norm": unit_metrics.unit_norm(W),
            "max_abs_cos": unit_metrics.max_abs_cos(W),
            "effective_rank": unit_metrics.effective_rank(W),
            "dead_fraction": unit_metrics.dead_fraction(self.hidden(probe.x)),
        }
