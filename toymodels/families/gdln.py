"""A gated deep linear network (GDLN) on the contextual task: pathways racing to fit it.

The *common* pathway ``W₂ᶜ W₁ᶜ x`` sees the whole input (object and context) and is always
on.  Each *gated* pathway ``m`` sees only the object (the first 8 inputs) through
``W₂ᵐ W₁ᵐ`` and is switched on for a fixed set of contexts, read from the input's
context one-hot:

- ``gating = "single"``: one pathway per context;
- ``"pairs"``: one per pair of contexts;
- ``"all_but_one"``: one per set of K−1 contexts;
- ``"subsets"``: one per proper non-empty subset of contexts (singles, pairs, …), so
  pathways serving one context race against pathways serving several;
- ``"masks"``: one per set of contexts listed in ``masks`` (contexts numbered from 1), any
  sets: the pathways a ReLU network's gates form (its ReLN, ``summaries.reln``).

``units`` gives each model its own number of units per pathway (the common one first,
then the gated ones; default ``n_hidden`` each, at most ``n_hidden``): the pathway's first
``units`` units start as drawn and the rest start at zero, where a linear pathway's
gradient is zero, so they stay zero.  Models of one batch then share the gated pathways
but not their sizes (0 leaves a pathway out of a model).

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
from ..fields import Check, Config, choice, integer, param
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


def context_masks() -> Check:
    """A list of sets of contexts (numbered from 1): none empty, no context twice in one,
    no set twice; each set stored sorted.  Whether the contexts exist is checked against
    the task (:meth:`GatedLinearNetwork.validate`).  Not an axis."""

    def apply(name: str, value):
        if value is None or (isinstance(value, list | tuple) and len(value) == 0):
            return ()
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigError(f"{name}={value!r} must be a list of lists of contexts (from 1)")
        masks = []
        for i, mask in enumerate(value):
            if isinstance(mask, str) or not isinstance(mask, list | tuple) or not mask:
                raise ConfigError(f"{name}[{i}]={mask!r} must be a non-empty list of contexts")
            for c in mask:
                if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1:
                    raise ConfigError(f"{name}[{i}]={list(mask)}: contexts are integers from 1")
            if len(set(mask)) != len(mask):
                raise ConfigError(f"{name}[{i}]={list(mask)} names a context twice")
            mask = tuple(sorted(int(c) for c in mask))
            if mask in masks:
                raise ConfigError(f"{name}: the set {list(mask)} appears twice")
            masks.append(mask)
        return tuple(masks)

    bad = ("x", [[]], [[0]], [[1, 1]], [[1], [1]])
    return Check(tuple, apply, "a list of lists of contexts (from 1)", bad)


def unit_counts() -> Check:
    """A list of integers >= 0 (units of each pathway), or an empty list for the default."""

    def apply(name: str, value):
        if value is None or (isinstance(value, list | tuple) and len(value) == 0):
            return ()
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigError(f"{name}={value!r} must be a list of integers >= 0")
        for i, u in enumerate(value):
            if isinstance(u, bool) or not isinstance(u, int | np.integer) or u < 0:
                raise ConfigError(f"{name}[{i}]={u!r} must be an integer >= 0")
        return tuple(int(u) for u in value)

    return Check(tuple, apply, "a list of integers >= 0", ("x", [-1], [1.5]))


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
    masks: tuple = param(
        (),
        context_masks(),
        help="gating=masks: the contexts (from 1) of each gated pathway, e.g. [[1, 2], [2, 3]]",
    )
    units: tuple = param(
        (),
        unit_counts(),
        per_model=True,
        help="units of each pathway, the common one first (default: n_hidden each)",
    )

    def validate(self) -> None:
        if (self.gating == "masks") != bool(self.masks):
            raise ConfigError(
                f"masks={list(map(list, self.masks))} goes with gating=masks and only with it "
                f"(gating={self.gating})"
            )
        if any(u > self.n_hidden for u in self.units):
            raise ConfigError(
                f"units={list(self.units)}: a pathway has at most n_hidden={self.n_hidden} units"
            )


def check_gated_task(family: str, config) -> None:
    """Refuse (``ConfigError``) a mask naming a context the task does not have, and inputs
    a gated family cannot read each sample's context from (it needs them one-hot)."""
    k = config.data.n_contexts
    for i, mask in enumerate(config.arch.masks):
        if mask[-1] > k:
            raise ConfigError(
                f"masks[{i}]={list(mask)} names context {mask[-1]}; the task has contexts 1 to {k}"
            )
    if config.data.inputs != "one_hot":
        raise ConfigError(
            f"the {family} family reads each sample's context from one-hot inputs; "
            f"inputs={config.data.inputs} is not allowed (use one_hot)"
        )


def gate_sets(n_contexts: int, gating: str, masks=()) -> list[tuple[int, ...]]:
    """The contexts each gated pathway is on in (0-based), in pathway order; ``masks`` (as
    in the config, from 1) with ``gating = "masks"``."""
    if gating == "masks":
        return [tuple(c - 1 for c in mask) for mask in masks]
    sizes = {
        "single": [1],
        "pairs": [2],
        "all_but_one": [n_contexts - 1],
        "subsets": list(range(1, n_contexts)),
    }[gating]
    return [c for size in sizes for c in combinations(range(n_contexts), size)]


def pathway_names(n_contexts: int, gating: str, masks=()) -> list[str]:
    """``common``, then each gated pathway as its contexts (1-based), e.g. ``ctx1+2``."""
    sets = gate_sets(n_contexts, gating, masks)
    return ["common"] + ["ctx" + "+".join(str(c + 1) for c in s) for s in sets]


class GatedLinearNetwork(ToyModel):
    """A gated deep linear network: a common pathway always on and context pathways gated
    on for fixed sets of contexts, racing to fit the contextual task."""

    name = "gdln"
    Config = GDLNConfig
    tasks = ("contextual",)
    estimators = ("full", "sampled")
    hand_gradient = True
    thread_exact_step = True  # products and element-wise gates only
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
            # Units beyond a pathway's size start at zero, where they get no gradient.
            _zero_beyond({name: values[-1] for name, values in drawn.items()}, c.arch.units)
        for name, values in drawn.items():
            setattr(
                self, name, torch.nn.Parameter(torch.as_tensor(np.stack(values), dtype=self.dtype))
            )
        config = self.configs[0]
        # Units computed per pathway (common first): the most any model of the batch has.
        full = (config.arch.n_hidden,) * (1 + mods)
        counts = [c.arch.units or full for c in self.configs]
        self.live = tuple(max(column) for column in zip(*counts, strict=True))
        sets = gate_sets(config.data.n_contexts, config.arch.gating, config.arch.masks)
        # gate[m, c]: pathway m is on in context c
        gate = torch.zeros(len(sets), config.data.n_contexts, dtype=self.dtype)
        for m, contexts in enumerate(sets):
            gate[m, list(contexts)] = 1.0
        self.gate = gate

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        task = TASKS[config.task].dims(config.data)
        modules = len(gate_sets(config.data.n_contexts, config.arch.gating, config.arch.masks))
        return {
            "unit": config.arch.n_hidden,
            "module": modules,
            "object": OBJECTS,
            "pathway": modules + 1,
            "singular": SINGULAR_VALUES,
            **task,
        }

    @classmethod
    def uses_hand_gradient(cls, config) -> bool:
        # Both trainings take the hand gradient, but only the joint one is the gradient of
        # the loss the common checks compare with autograd; the residual one has its own
        # check (tests/test_multitask.py).
        return config.arch.training == "joint"

    @classmethod
    def validate(cls, config) -> None:
        check_gated_task(cls.name, config)
        arch, k = config.arch, config.data.n_contexts
        pathways = 1 + len(gate_sets(k, arch.gating, arch.masks))
        if arch.units and len(arch.units) != pathways:
            raise ConfigError(
                f"units={list(arch.units)} needs one count per pathway: {pathways} (the "
                f"common one, then {', '.join(pathway_names(k, arch.gating, arch.masks)[1:])})"
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

    @torch.no_grad()
    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        """The gradient by hand (every pathway is linear; trained for thousands of
        full-batch epochs).  ``residual``: the common pathway's gradient comes from its own
        error, the gated pathways' from the network's; ``joint``: every gradient from the
        network's error.  Only each pathway's first ``live`` units are computed (the rest
        are zero in every model of the batch, ``units``, and stay so), the gated ones
        packed side by side into one layer, so a step is a few batched products."""
        x, y = batch.x, batch.y
        objects = x[:, :OBJECTS, :]  # [model, object, example]
        live_c, live_g = self.live[0], self.live[1:]
        on = self._packed_gate(batch)
        W1 = torch.cat([self.Wg1[:, m, :u] for m, u in enumerate(live_g)], 1)
        W2 = torch.cat([self.Wg2[:, m, :, :u] for m, u in enumerate(live_g)], 2)
        Wc1, Wc2 = self.Wc1[:, :live_c], self.Wc2[:, :, :live_c]
        hc = torch.bmm(Wc1, x)  # [model, unit, example]
        common = torch.bmm(Wc2, hc)
        hg = torch.bmm(W1, objects).mul_(on)  # the gated units, [model, unit, example]
        resid = torch.baddbmm(common, W2, hg).sub_(y)  # ŷ − y
        w = float(row_weight)  # the estimators weigh every example alike
        loss = 0.5 * w * resid.square().sum((1, 2)) if need_loss else None
        own = common.sub_(y) if self.configs[0].arch.training == "residual" else resid
        resid, own = resid * w, own * w
        grads = {name: self._zero_grad(name) for name in self.weights}
        grads["Wc2"][:, :, :live_c] = torch.bmm(own, hc.mT)
        grads["Wc1"][:, :live_c] = torch.bmm(torch.bmm(Wc2.mT, own), x.mT)
        g2 = torch.bmm(resid, hg.mT).split(live_g, 2)
        g1 = torch.bmm(torch.bmm(W2.mT, resid).mul_(on), objects.mT).split(live_g, 1)
        for m, u in enumerate(live_g):
            grads["Wg2"][:, m, :, :u] = g2[m]
            grads["Wg1"][:, m, :u] = g1[m]
        return loss

    def _packed_gate(self, batch: Batch) -> torch.Tensor:
        """Whether each packed gated unit is on for each example, ``[model, unit, example]``;
        cached for the batch a full-batch estimator passes at every step."""
        cached, on = getattr(self, "_gate_cache", (None, None))
        if cached is not batch:
            on = self.gate[:, batch.x[:, OBJECTS:, :].argmax(1)]  # [module, model, example]
            on = on.repeat_interleave(torch.tensor(self.live[1:]), dim=0).transpose(0, 1)
            on = on.contiguous()
            self._gate_cache = (batch, on)
        return on

    def _zero_grad(self, name: str) -> torch.Tensor:
        """``name``'s gradient buffer, kept between steps: only its live units are
        written, the rest stay zero (a weight penalty adds λ·W there, which is zero)."""
        p = getattr(self, name)
        if p.grad is None or p.grad.shape != p.shape:
            p.grad = torch.zeros_like(p)
        return p.grad

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


def _zero_beyond(arrays: dict[str, np.ndarray], units: tuple[int, ...]) -> None:
    """Set to zero, in one model's drawn arrays (layout of ``params``), the units beyond
    each pathway's size ``units`` (common first); nothing when ``units`` is the default."""
    if not units:
        return
    arrays["Wc1"][units[0] :] = 0.0
    arrays["Wc2"][:, units[0] :] = 0.0
    for m, u in enumerate(units[1:]):
        arrays["Wg1"][m, u:] = 0.0
        arrays["Wg2"][m, :, u:] = 0.0
