"""Two-layer networks on the contextual task: ``ŷ = W₂ᵀ act(W₁ᵀ x)``, no biases.

``contextual_relu`` has a ReLU hidden layer, ``contextual_linear`` none.  Both start from
small weights (``init = "gaussian"``: every entry of ``W₁`` and ``W₂`` drawn from
``N(0, init_std²)``, the published 0.005/700 by default) or from the closed form's
initial condition (``init = "balanced"``: ``W₁ = V·√a₀·Rᵀ``, ``W₂ = R·√a₀·Uᵀ`` with the
task's modes ``U, V`` and a random orthonormal ``R``, so every mode starts at strength
``a₀ = init_std²·n_hidden/2``: the strength a random start of that scale grows from once
its aligned part dominates).  The gradient of the summed squared error is written by
hand: the family is trained for thousands of full-batch epochs.

Metrics describe the hidden units on the data set (the *census* of mixed selectivity):

- a unit's *strength* is ``‖W₂[k]‖ · ‖h_k‖`` (outgoing weight norm times activity
  norm over all samples); a unit is *strong* when its strength is at least
  ``STRONG_FRACTION`` of the model's largest;
- a unit is *active in context c* when its activity norm over that context's samples is
  at least ``ACTIVE_FRACTION`` of its largest per-context activity norm;
- strong units are counted as all-context, subset (more than one context, not all) or
  single-context units;
- ``hidden_distance`` holds the Euclidean distances between the hidden vectors of every
  pair of samples (classical MDS of them draws the representational geometry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..errors import ConfigError
from ..fields import POSITIVE, Config, choice, integer, param
from ..outputs import Output
from ..seeds import STREAM_INIT, generator
from ..tasks import TASKS, Batch
from ..tasks.contextual import config_modes
from .base import ToyModel

INITS = ("gaussian", "balanced")
# A strong unit carries at least this fraction of the largest unit's strength: units
# below it are the remains of the small initialisation (measured on the default task:
# after training, weak units are below 1e-3 of the largest).
STRONG_FRACTION = 0.1
# A unit is active in a context when its activity there is at least this fraction of its
# activity in its most active context.
ACTIVE_FRACTION = 0.1
DEFAULT_HIDDEN = 700
DEFAULT_INIT_STD = 0.005 / 700


@dataclass(frozen=True)
class ContextualNetConfig(Config):
    owner = "family contextual"

    n_hidden: int = param(DEFAULT_HIDDEN, integer(1), top=True, help="hidden units")
    init_std: float = param(
        DEFAULT_INIT_STD, POSITIVE, per_model=True, help="scale of the small initial weights"
    )
    init: str = param(
        "gaussian",
        choice("initialisation", lambda: INITS),
        help="gaussian: i.i.d. N(0, init_std^2); balanced: every theory mode at init_std^2*H/2",
    )


def initial_strength(init_std: float, n_hidden: int) -> float:
    """``a₀``: the mode strength a start of this scale and width grows from."""
    return init_std**2 * n_hidden / 2


def census(strength: torch.Tensor, contexts: torch.Tensor, n_contexts: int):
    """Counts of strong all-context, subset and single-context units ``[model]`` each, from
    unit strengths ``[model, unit]`` and context bitmasks ``[model, unit]``."""
    strong = strength >= STRONG_FRACTION * strength.amax(-1, keepdim=True)
    active = torch.stack([(contexts >> c) & 1 for c in range(n_contexts)]).sum(0)
    strong &= strength > 0
    count = {
        "units_all": strong & (active == n_contexts),
        "units_subset": strong & (active > 1) & (active < n_contexts),
        "units_single": strong & (active == 1),
    }
    return {k: v.sum(-1).to(torch.int32) for k, v in count.items()}


class ContextualNetwork(ToyModel):
    """``W₂ᵀ act(W₁ᵀ x)`` on the contextual task (see module docstring)."""

    Config = ContextualNetConfig
    tasks = ("contextual",)
    estimators = ("full", "sampled")
    hand_gradient = True
    # Stored examples-major (h = act(W1ᵀ x), ŷ = W2ᵀ h): the training step's products then
    # run as plain batched GEMMs (measured 1.5x faster than the transposed layout).
    params = {
        "W1": Output(("input", "unit"), "float32", "column k is unit k's input weights"),
        "W2": Output(("unit", "output"), "float32", "row k is unit k's output weights"),
    }
    weights = ("W1", "W2")
    metrics = {
        "unit_strength": Output(("unit",), "float32", "||W2[k]|| * ||h_k|| over the data set"),
        "unit_contexts": Output(
            ("unit",), "int32", "bit c set: unit active in context c (activity >= 0.1 of its most)"
        ),
        "units_all": Output(
            (), "int32", "strong units (>= 0.1 of the strongest) active in every context"
        ),
        "units_subset": Output((), "int32", "strong units active in 2 to K-1 contexts"),
        "units_single": Output((), "int32", "strong units active in one context"),
        "hidden_distance": Output(
            ("sample", "sample_b"), "float32", "distance between two samples' hidden vectors"
        ),
    }
    metrics_use_data = True
    definitions = {
        "strong_unit": f"strength >= {STRONG_FRACTION} of the model's strongest unit",
        "active_in_context": f"activity norm there >= {ACTIVE_FRACTION} of the unit's largest",
    }
    #: whether the hidden layer is rectified
    relu: ClassVar[bool]

    def initialise(self, init_scale: float) -> None:
        configs, dtype = self.configs, self.dtype
        sizes = self.dims(configs[0])
        d, k, out = sizes["input"], sizes["unit"], sizes["output"]
        found = config_modes(configs[0].data) if configs[0].arch.init == "balanced" else None
        w1, w2 = [], []
        for c, s in zip(configs, self.seeds, strict=True):
            rng = generator(s, STREAM_INIT)
            std = init_scale * c.arch.init_std
            if found is None:
                w1.append(rng.standard_normal((d, k)) * std)
                w2.append(rng.standard_normal((k, out)) * std)
                continue
            rank = len(found.s)
            rot, _ = np.linalg.qr(rng.standard_normal((k, rank)))
            root = np.sqrt(initial_strength(std, k))
            w1.append((found.V * root) @ rot.T)
            w2.append(rot @ (root * found.U.T))
        self.W1 = torch.nn.Parameter(torch.as_tensor(np.stack(w1), dtype=dtype))
        self.W2 = torch.nn.Parameter(torch.as_tensor(np.stack(w2), dtype=dtype))
        self._layout: tuple = (None, None)

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        task = TASKS[config.task].dims(config.data)
        return {"unit": config.arch.n_hidden, "sample_b": task["sample"], **task}

    @classmethod
    def validate(cls, config) -> None:
        if config.arch.init == "balanced":
            rank = TASKS[config.task].dims(config.data)["mode"]
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

    @torch.no_grad()
    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        x, xt, yt = self._examples_major(batch)
        act = torch.bmm(xt, self.W1)  # [model, example, unit]
        if self.relu:
            act.clamp_(min=0)
        resid = torch.baddbmm(yt, act, self.W2, beta=-1)  # ŷ − y, [model, example, output]
        w = float(row_weight)  # the estimators weigh every example alike
        loss = 0.5 * w * resid.square().sum((1, 2)) if need_loss else None
        if w != 1.0:
            resid.mul_(w)
        self.W2.grad = torch.bmm(act.mT, resid)
        back = torch.bmm(resid, self.W2.mT)  # [model, example, unit]
        if self.relu:
            back.mul_(torch.sign(act))  # 1 where the unit is on, 0 where it is off
        self.W1.grad = torch.bmm(x, back)
        return loss

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        h = self.hidden(probe.x)  # [model, unit, example]
        strength = self.W2.norm(dim=-1) * h.norm(dim=-1)
        n_contexts = self.configs[0].data.n_contexts
        per_context = torch.stack(
            [(h * (probe.labels == c).unsqueeze(1)).norm(dim=-1) for c in range(n_contexts)], -1
        )  # [model, unit, context]
        top = per_context.amax(-1, keepdim=True)
        active = (per_context >= ACTIVE_FRACTION * top) & (top > 0)
        bits = (active.to(torch.int32) << torch.arange(n_contexts, dtype=torch.int32)).sum(-1)
        out = {"unit_strength": strength, "unit_contexts": bits.to(torch.int32)}
        out |= census(strength, bits, n_contexts)
        out["hidden_distance"] = torch.cdist(h.mT, h.mT)
        return out


class ContextualReLU(ContextualNetwork):
    name = "contextual_relu"
    relu = True


class ContextualLinear(ContextualNetwork):
    name = "contextual_linear"
    relu = False
