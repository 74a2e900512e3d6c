"""The ReLN laid out as the ReLU network it comes from: ``ŷ = W₂ᵀ (G ⊙ W₁ᵀ x)`` with every
unit's gate fixed to its pathway's contexts (Jarvis et al. 2025, §4).

A ReLU network's unit ``k`` is on in a set of contexts (its pattern); freeze that gate and
the network is a gated deep linear network whose pathways are the patterns, each with as
many units as the ReLU network gave it.  ``gdln`` with ``gating = "masks"`` holds the same
network as one ``[module, unit]`` array per pathway; here the units sit side by side in one
layer, as in the ReLU network, so a step costs what the ReLU network's does (four batched
products) and no pathway is padded to the largest.

- ``masks``: each pathway's contexts (from 1); the pathway on in every context is the
  *common* one and sees the whole input (objects and context, as a ReLU unit does); every
  other pathway sees the objects only (its context inputs are masked), as a GDLN's gated
  pathways do.  Default: the common pathway and one per set of K − 1 contexts (the
  strategy that wins the race on the default task).
- ``units`` (per model): units of each pathway, in the order of ``masks``, side by side
  from unit 0; the layer's units beyond their sum start at zero and stay there (a linear
  unit with zero weights gets no gradient).  Default: ``n_hidden`` split evenly.

- ``basis = "span"``: each pathway's units are trained in the orthonormal basis of the
  span plain gradient descent can reach.  A pathway's units share one gate, so every update
  of its input weights lies in the span of its output weights' columns and the other way
  round: from the start, its ``n`` units move within the span of their initial input
  weights (the inputs it sees) and output weights, ``min(n, inputs seen + outputs)``
  directions.  The same network and the same dynamics, in fewer columns (about half of the
  default ReLN's 680: the common pathway's 350 units move in 71 directions), so a step
  costs half.  Then ``n_hidden`` is the layer's directions and ``W1``/``W2`` hold the
  weights in each pathway's basis (the maps, losses and metrics are the units'; the unit
  weights themselves are not kept).  Exact for plain gradient descent (``optimizer =
  sgd``) with no penalty or an L2 one (``-λW`` stays in the span); anything else is refused.

Weights start ``N(0, init_std²)`` as the ReLU network's do (then the masked inputs and
unused units are zeroed; with ``basis = "span"`` the draw is of each model's own units,
``sum(units)`` columns).  ``pathway_singular_values`` holds the largest singular values
of each pathway's map ``Σ_{k∈m} W₁[:, k] W₂[k]``, pathways in the order of ``masks``.
Trained with the one engine by a hand-derived gradient (full-batch epochs by the thousand).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import torch

from ..contextual_data import DEFAULT_HIDDEN, DEFAULT_INIT_STD, OBJECTS
from ..errors import ConfigError
from ..fields import Config, choice, integer, param
from ..linear_algebra import singular_values
from ..outputs import Output
from ..seeds import STREAM_INIT, generator
from ..tasks import TASKS, Batch
from .gdln import SINGULAR_VALUES, check_gated_task, context_masks, unit_counts
from .two_layer import TwoLayerNetwork, init_std_field


@dataclass(frozen=True)
class ReLNConfig(Config):
    owner = "family reln"

    n_hidden: int = param(
        DEFAULT_HIDDEN, integer(1), top=True, help="units of the layer (at least the sum of units)"
    )
    masks: tuple = param(
        (),
        context_masks(),
        help="each pathway's contexts (from 1), e.g. [[1, 2, 3], [1, 2]]; default: all "
        "contexts, then every set of K-1",
    )
    units: tuple = param(
        (),
        unit_counts(),
        per_model=True,
        help="units of each pathway in the order of masks (default: n_hidden split evenly)",
    )
    init_std: float = init_std_field(DEFAULT_INIT_STD)
    basis: str = param(
        "units",
        choice("basis", lambda: BASES),
        help="units: a column per unit; span: each pathway's units in the basis of the span "
        "gradient descent reaches (n_hidden: the layer's directions)",
    )


# How the layer's columns are laid out (see the module docstring).
BASES = ("units", "span")
# The penalties whose gradient keeps the weights in the span (-λW for L2): basis=span
# is the unit network's dynamics exactly under these and plain gradient descent only.
SPAN_PENALTIES = ("none", "l2")


def pathway_sets(config) -> list[tuple[int, ...]]:
    """Each pathway's contexts (0-based), in the order of ``masks`` or the default's."""
    k = config.data.n_contexts
    if config.arch.masks:
        return [tuple(c - 1 for c in mask) for mask in config.arch.masks]
    return [tuple(range(k)), *combinations(range(k), k - 1)]


def pathway_units(config) -> tuple[int, ...]:
    """Units of each pathway: ``units``, or ``n_hidden`` split evenly (the remainder to the
    first pathways)."""
    if config.arch.units:
        return config.arch.units
    n, width = len(pathway_sets(config)), config.arch.n_hidden
    return tuple(width // n + (i < width % n) for i in range(n))


def pathway_inputs(config, contexts: tuple[int, ...]) -> int:
    """Inputs a pathway on in ``contexts`` sees: all of them for the common pathway, the
    objects only for the others (their context inputs are masked)."""
    every = len(contexts) == config.data.n_contexts
    return TASKS[config.task].dims(config.data)["input"] if every else OBJECTS


def pathway_columns(config) -> tuple[int, ...]:
    """Columns of the layer each pathway takes: its units, or with ``basis = "span"`` the
    directions they move in, ``min(units, inputs seen + outputs)``."""
    units = pathway_units(config)
    if config.arch.basis == "units":
        return units
    out = TASKS[config.task].dims(config.data)["output"]
    sets = pathway_sets(config)
    return tuple(min(u, pathway_inputs(config, m) + out) for u, m in zip(units, sets, strict=True))


class RectifiedLinearNetwork(TwoLayerNetwork, relu=False):
    """``W₂ᵀ (G ⊙ W₁ᵀ x)``: a ReLU network's units with their gates frozen to their
    pathways' contexts, the ReLN laid out as the ReLU network's layer."""

    name = "reln"
    Config = ReLNConfig
    tasks = ("contextual",)
    metrics = {
        "pathway_singular_values": Output(
            ("pathway", "singular"),
            "float32",
            "largest singular values of each pathway's map (pathways in the order of masks)",
        )
    }

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        task = TASKS[config.task].dims(config.data)
        return {
            "unit": config.arch.n_hidden,
            "pathway": len(pathway_sets(config)),
            "singular": SINGULAR_VALUES,
            **task,
        }

    @classmethod
    def validate(cls, config) -> None:
        check_gated_task(cls.name, config)
        arch = config.arch
        sets = pathway_sets(config)
        if arch.units and len(arch.units) != len(sets):
            raise ConfigError(
                f"units={list(arch.units)} needs one count per pathway of masks: {len(sets)}"
            )
        if arch.basis == "units" and sum(pathway_units(config)) > arch.n_hidden:
            raise ConfigError(
                f"units={list(arch.units)} add up to {sum(arch.units)}, more than "
                f"n_hidden={arch.n_hidden}"
            )
        if arch.basis == "span":
            columns = sum(pathway_columns(config))
            if columns > arch.n_hidden:
                raise ConfigError(
                    f"units={list(arch.units)} move in {columns} directions with basis=span, "
                    f"more than n_hidden={arch.n_hidden}"
                )
            if config.penalty.regulariser not in SPAN_PENALTIES:
                raise ConfigError(
                    f"basis=span is exact with regulariser {' or '.join(SPAN_PENALTIES)} "
                    f"only (its gradient must stay in the span); regulariser="
                    f"{config.penalty.regulariser} needs basis=units"
                )

    @classmethod
    def check_training(cls, train, config) -> None:
        super().check_training(train, config)
        if config.arch.basis == "span" and train.optimizer != "sgd":
            raise ConfigError(
                f"basis=span is exact for plain gradient descent only (optimizer=sgd); "
                f"optimizer={train.optimizer} rescales each weight on its own and leaves the "
                "span: use basis=units"
            )

    def initialise(self, init_scale: float) -> None:
        sizes = self.dims(self.configs[0])
        d, k, out = sizes["input"], sizes["unit"], sizes["output"]
        n_contexts = self.configs[0].data.n_contexts
        sets = pathway_sets(self.configs[0])
        sees = np.ones((len(sets), d))  # pathway m reads input i
        for m, contexts in enumerate(sets):
            if len(contexts) < n_contexts:
                sees[m, OBJECTS:] = 0.0
        w1, w2, member = [], [], []
        for c, s in zip(self.configs, self.seeds, strict=True):
            rng = generator(s, STREAM_INIT)
            std = init_scale * c.arch.init_std
            units = k if c.arch.basis == "units" else sum(pathway_units(c))
            w1.append(rng.standard_normal((d, units)) * std)
            w2.append(rng.standard_normal((units, out)) * std)
            if c.arch.basis == "span":
                w1[-1], w2[-1] = _span_coordinates(w1[-1], w2[-1], c, sees, k)
            # member[m, k]: column k belongs to pathway m (side by side from 0)
            edges = np.cumsum((0, *pathway_columns(c)))
            member.append((np.arange(k) >= edges[:-1, None]) & (np.arange(k) < edges[1:, None]))
        member = torch.as_tensor(np.stack(member), dtype=self.dtype)  # [model, pathway, unit]
        on = torch.zeros(len(sets), n_contexts, dtype=self.dtype)  # pathway m on in context c
        for m, contexts in enumerate(sets):
            on[m, list(contexts)] = 1.0
        sees = torch.as_tensor(sees, dtype=self.dtype)
        self.member = member
        # [model, context, unit] and [model, input, unit]: each unit's gate and inputs
        self.unit_gate = torch.einsum("pc,mpk->mck", on, member)
        self.unit_inputs = torch.einsum("pi,mpk->mik", sees, member)
        self.W1 = torch.nn.Parameter(
            torch.as_tensor(np.stack(w1), dtype=self.dtype) * self.unit_inputs
        )
        self.W2 = torch.nn.Parameter(
            torch.as_tensor(np.stack(w2), dtype=self.dtype) * member.amax(1).unsqueeze(-1)
        )
        self._layout: tuple = (None, None)

    def _gate(self, x: torch.Tensor) -> torch.Tensor:
        """Each unit's gate on each example, ``[model, example, unit]``, from the example's
        context (its one-hot inputs)."""
        context = x[:, OBJECTS:, :].argmax(1)  # [model, example]
        index = context.unsqueeze(-1).expand(-1, -1, self.unit_gate.shape[-1])
        return torch.gather(self.unit_gate, 1, index)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Gated hidden activity ``[model, unit, example]``."""
        return torch.bmm((self.W1 * self.unit_inputs).mT, x) * self._gate(x).mT

    def _examples_major(self, batch: Batch):
        """As the two-layer network's, with the gates ``[model, example, unit]`` of the
        batch; cached for the batch a full-batch estimator passes at every step."""
        cached, layout = self._layout
        if cached is not batch:
            x = batch.x
            layout = (x.contiguous(), x.mT.contiguous(), batch.y.mT.contiguous(), self._gate(x))
            self._layout = (batch, layout)
        return layout

    def _through(self, batch: Batch, row_weight, need_loss: bool):
        """The two-layer network's passes (its :meth:`_through`) with every unit's gate and
        inputs: ``act = G ⊙ (W₁ masked)ᵀ x`` and ``back`` through the same gates."""
        x, xt, yt, gate = self._examples_major(batch)
        # masked here too, so that weights set from outside (a test, a loaded model) read
        # only the inputs their pathway sees
        act = torch.bmm(xt, self.W1 * self.unit_inputs).mul_(gate)  # [model, example, unit]
        resid = torch.baddbmm(yt, act, self.W2, beta=-1)  # ŷ − y, [model, example, output]
        w = float(row_weight)  # the estimators weigh every example alike
        loss = 0.5 * w * resid.square().sum((1, 2)) if need_loss else None
        if w != 1.0:
            resid.mul_(w)
        back = torch.bmm(resid, self.W2.mT).mul_(gate)
        return x, act, resid, back, loss

    def _first_layer_grad(self, x: torch.Tensor, back: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x, back).mul_(self.unit_inputs)

    def _descend_first_layer(self, x: torch.Tensor, back: torch.Tensor, lr: float) -> None:
        # W₁ is small: its masked gradient is made, then added
        self.W1.add_(self._first_layer_grad(x, back), alpha=-lr)

    @torch.no_grad()
    def pathway_maps(self) -> torch.Tensor:
        """Each pathway's map ``[model, pathway, output, input]``."""
        return torch.einsum("mik,mpk,mko->mpoi", self.W1, self.member, self.W2)

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        values = singular_values(self.pathway_maps())[..., :SINGULAR_VALUES]
        return {"pathway_singular_values": values}


def _span_coordinates(w1: np.ndarray, w2: np.ndarray, config, sees: np.ndarray, width: int):
    """One model's unit weights ``w1 [input, units]``, ``w2 [units, output]`` (pathways side
    by side, in the order of masks) in each pathway's orthonormal basis of the span its
    units move in (module docstring), laid side by side into ``width`` columns."""
    d, out = w1.shape[0], w2.shape[1]
    a, b = np.zeros((d, width)), np.zeros((width, out))
    units, columns = pathway_units(config), pathway_columns(config)
    start, col = 0, 0
    for m, (u, r) in enumerate(zip(units, columns, strict=True)):
        if u:
            seen = np.flatnonzero(sees[m])
            w1_m, w2_m = w1[seen, start : start + u], w2[start : start + u]
            # The columns of [w1ᵀ | w2] span where the pathway's units can go.
            q, _ = np.linalg.qr(np.concatenate([w1_m.T, w2_m], axis=1))
            q = q[:, :r]
            a[seen, col : col + r] = w1_m @ q
            b[col : col + r] = q.T @ w2_m
        start, col = start + u, col + r
    return a, b
