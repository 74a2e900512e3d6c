"""The ``competition_deep`` family: one or two competitive hidden layers of K units,
``x → h₁ = act₁(W₁ x + b₁) → h₂ = act₂(Wh h₁ + bh) → W₂ h₂ + b₂``.

Each hidden layer has its own activation, temperature τ and volume control with its
strength λ: the first layer's are the ``competition`` family's fields (``activation``,
``temperature``, ``volume``, ``volume_strength``), the second's the same names with
``_layer2``; ``group_size`` and ``k_active`` are shared (an activation that reads them reads
the same value in either layer).  Both layers are K = ``n_hidden`` wide.

A layer is a :class:`Stage`: the competing-unit machinery of the one-layer family
(``toymodels.families.competing_units``: the temperature and its schedule, the volume
control built from that layer's fields, the running usage) with the layer's parameters
read through the names the ``competition`` layer's rules use, so weight normalisation,
revival, the logits and the responsibilities are that layer's code, not a copy.  Every
volume-control hook acts per layer: its reparametrisation of the unit rows, its penalty
(added to the objective), its temperature schedule, its logit masks (training only) and
its step after the optimiser's (revival moves a dead unit onto the inputs *of its layer*
that it claims least, and zeroes its outgoing weights in the next layer).

With ``n_layers = 1`` the network is the ``competition`` family's on the same seed:
``W1`` and ``W2`` are drawn by the same rule from the same stream; the second layer's
weights come from their own stream (``toymodels.seeds.STREAM_DEPTH``) and its volume
control draws from a seed derived with that stream too.  The gradient is autograd's
(the ``competition`` family's hand-derived path is for one layer).

Metrics are the unit layer's (``toymodels.unit_metrics``) for each hidden layer, with a
leading ``layer`` dim; a second-layer unit's row is ``[w_k, b_k]`` over the first
layer's units.  The stored phase is the last layer's
(``toymodels.phases.last_layer_competition``); every layer's phase is that rule on the
layer's slice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import torch

from .. import unit_metrics
from ..activations import ACTIVATIONS
from ..errors import ConfigError
from ..fields import Check, choice, param
from ..limits import N_LAYERS, TEMPERATURE, VOLUME_STRENGTH
from ..linear_algebra import baddbmm
from ..outputs import Output
from ..phases import last_layer_competition as rule
from ..seeds import STREAM_DEPTH, generator
from ..tasks import TASKS, Batch
from ..volumes import VOLUMES, volume_control
from .base import ToyModel
from .competing_units import USAGE_EMA, CompetingUnits
from .competitive_layer import CompetitionConfig, CompetitiveLayer
from .unit_layer import UNIT_METRICS, UnitLayer, xavier_normal


def layer_choice(kind: str, names) -> Check:
    """:func:`~toymodels.fields.choice`, its error prefixed with the field's name (the
    second layer's fields would otherwise read as the first's)."""
    check = choice(kind, names)

    def apply(name: str, value):
        try:
            return check.apply(name, value)
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None

    return replace(check, apply=apply)


@dataclass(frozen=True)
class DeepCompetitionConfig(CompetitionConfig):
    owner = "family competition_deep"

    n_layers: int = param(2, N_LAYERS, top=True, help=f"hidden layers, {N_LAYERS.allowed}")
    activation_layer2: str = param(
        "softmax",
        layer_choice("activation", lambda: ACTIVATIONS),
        help="the second hidden layer's activation",
    )
    temperature_layer2: float = param(
        1.0, TEMPERATURE, per_model=True, help="τ of the second layer (final τ if annealed)"
    )
    volume_layer2: str = param(
        "none",
        layer_choice("volume control", lambda: VOLUMES),
        help="what counters collapse in the second layer",
    )
    volume_strength_layer2: float = param(
        0.0, VOLUME_STRENGTH, per_model=True, help="λ of the second layer's volume control"
    )


def layer_config(arch: DeepCompetitionConfig, layer: int):
    """Hidden layer ``layer``'s (0-based) fields under the one-layer names (a
    ``CompetitionConfig``), which its activation and volume control read."""
    if layer == 0:
        return arch
    return CompetitionConfig(
        n_hidden=arch.n_hidden,
        activation=arch.activation_layer2,
        temperature=arch.temperature_layer2,
        volume=arch.volume_layer2,
        volume_strength=arch.volume_strength_layer2,
        group_size=arch.group_size,
        k_active=arch.k_active,
    )


# The fields each layer's error names (the second layer's carry the suffix).
LAYER_FIELDS = ("", "activation_layer2, temperature_layer2, volume_layer2, volume_strength_layer2")


def layer_seed(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """The seed the second layer's volume control draws from (its own streams)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, STREAM_DEPTH))


class Stage(CompetingUnits):
    """One hidden layer: its activation and competing-unit state, its parameters on the
    model (``W1``, ``b1``, ``gain``: the layer's rows, bias and gains; ``W2``: the next
    layer's weights out of its units, ``[model, next, unit]``), under the names the
    ``competition`` layer's methods borrowed below read."""

    def __init__(self, model: DeepCompetition, layer: int):
        self.model, self.layer = model, layer
        archs = [layer_config(c.arch, layer) for c in model.configs]
        self.configs = [SimpleNamespace(arch=a) for a in archs]
        self.seeds = model.seeds if layer == 0 else tuple(layer_seed(s) for s in model.seeds)
        self.dtype = model.dtype
        self.activation = ACTIVATIONS[archs[0].activation](archs)
        self.start_competition(archs[0].n_hidden)

    # the layer's parameters (views of the model's: a second layer is link 0 of Wh)
    @property
    def W1(self) -> torch.Tensor:
        return self.model.W1 if self.layer == 0 else self.model.Wh[:, 0]

    @property
    def b1(self) -> torch.Tensor:
        return self.model.b1 if self.layer == 0 else self.model.bh[:, 0]

    @property
    def gain(self) -> torch.Tensor:
        return self.model.gain if self.layer == 0 else self.model.gain_h[:, 0]

    @property
    def W2(self) -> torch.Tensor:
        last = self.layer == len(self.model.stages) - 1
        return self.model.W2 if last else self.model.Wh[:, self.layer]

    # the one-layer family's rules, on this layer's parameters
    unit_weights = CompetitiveLayer.unit_weights
    revive = CompetitiveLayer.revive
    responsibilities = UnitLayer.responsibilities

    def logits(self, x: torch.Tensor, W: torch.Tensor | None = None) -> torch.Tensor:
        """The layer's logits as its activation sees them (normalised over the batch under
        ``batchnorm``), as the ``competition`` layer's."""
        return self.volume.normalise_logits(UnitLayer.logits(self, x, W))

    def set_temperature(self, tau: torch.Tensor) -> bool:
        changed = super().set_temperature(tau)
        if changed:
            self.activation.set_temperature(tau)
        return changed


class DeepCompetition(ToyModel):
    """One or two competitive hidden layers, each with its own activation, temperature and
    volume control, read out linearly."""

    name = "competition_deep"
    Config = DeepCompetitionConfig
    tasks = ("clusters", "features")
    estimators = ("sampled", "full")
    params = {
        "W1": Output(("unit", "input"), "float32", "row k: first-layer unit k's weight vector"),
        "b1": Output(("unit",), "float32", "first layer's bias"),
        "gain": Output(("unit",), "float32", "first layer's unit gains (weight normalisation)"),
        "Wh": Output(
            ("link", "unit", "unit_in"),
            "float32",
            "Wh[0] row k: second-layer unit k's weights over the first layer's units",
        ),
        "bh": Output(("link", "unit"), "float32", "second layer's bias"),
        "gain_h": Output(("link", "unit"), "float32", "second layer's unit gains"),
        "W2": Output(("output", "unit"), "float32", "read-out weights of the last layer"),
        "b2": Output(("output",), "float32", "read-out bias"),
    }
    weights = ("W1", "Wh", "W2")
    metrics = {
        name: Output(("layer", *o.dims), o.dtype, f"{o.description}, per hidden layer")
        for name, o in UNIT_METRICS.items()
    }
    metrics_use_data = True
    square_dims = ("unit",)
    phase_rule = rule.LAST_LAYER_COMPETITION_RULE
    definitions = {
        **CompetitiveLayer.definitions,
        "unit_rows": "[w_k, b_k]: a unit's weights and bias over its layer's inputs",
        "layer": "hidden layer, first to last; the stored phase is the last layer's",
    }

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        k, layers = config.arch.n_hidden, config.arch.n_layers
        task = TASKS[config.task].dims(config.data)
        return {"unit": k, "unit_in": k, "link": layers - 1, "layer": layers, **task}

    @classmethod
    def validate(cls, config) -> None:
        """Each layer's activation and volume control, checked as the ``competition``
        family checks its one; a second layer's error names its fields."""
        for layer in range(config.arch.n_layers):
            view = SimpleNamespace(arch=layer_config(config.arch, layer), task=config.task)
            try:
                reason = ACTIVATIONS[view.arch.activation].refusal(view.arch)
                if reason:
                    raise ConfigError(reason)
                if volume_control(view.arch.volume).learns_temperature:
                    # the layer would need a trained log-τ shift of its own (the one-layer
                    # family's tau_shift); not built for two layers
                    raise ConfigError(
                        f'volume control "{view.arch.volume}" learns τ, which {cls.name} does '
                        "not support; use it with the competition family"
                    )
                CompetingUnits.check_volume(view)
            except ConfigError as exc:
                if layer == 0:
                    raise
                raise ConfigError(
                    f"second layer ({LAYER_FIELDS[layer]}): {exc}".replace(
                        "volume_strength=", "volume_strength_layer2="
                    )
                ) from None

    # -- the model ------------------------------------------------------------------------
    def initialise(self, init_scale: float) -> None:
        config = self.configs[0]
        sizes = self.dims(config)
        d, k, out, links = sizes["input"], sizes["unit"], sizes["output"], sizes["link"]
        # W1 and W2 as the one-layer family draws them (same stream, same order)
        W1, W2 = xavier_normal(self.seeds, [(k, d), (out, k)], init_scale, self.dtype)
        std = init_scale * math.sqrt(2.0 / (k + k))  # Xavier-normal, as the other layers
        Wh = np.stack(
            [generator(s, STREAM_DEPTH).standard_normal((links, k, k)) * std for s in self.seeds]
        )
        Wh = torch.as_tensor(Wh, dtype=self.dtype)
        n = self.n_models
        start = {
            "W1": W1,
            "b1": torch.zeros(n, k, dtype=self.dtype),
            # weight normalisation starts from the same effective rows as the others
            "gain": W1.norm(dim=-1),
            "Wh": Wh,
            "bh": torch.zeros(n, links, k, dtype=self.dtype),
            "gain_h": Wh.norm(dim=-1),
            "W2": W2,
            "b2": torch.zeros(n, out, dtype=self.dtype),
        }
        for name in self.params:
            setattr(self, name, torch.nn.Parameter(start[name]))
        self.stages = []
        for layer in range(config.arch.n_layers):
            self.stages.append(Stage(self, layer))

    def _read_out(self, h: torch.Tensor) -> torch.Tensor:
        return baddbmm(self.b2.unsqueeze(-1), self.W2, h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for stage in self.stages:
            h = stage.activation(stage.logits(h))
        return self._read_out(h)

    def objective(self, batch: Batch, row_weight) -> torch.Tensor:
        """The task loss through every layer (each layer's logits as its volume control
        uses them in training) plus each layer's penalty; the one-layer family's
        objective (``CompetingUnits.objective``) layer by layer."""
        h, extras = batch.x, []
        for stage in self.stages:
            W = stage.unit_weights()
            z = stage.logits(h, W)
            usage = None
            if stage.volume.needs_usage:
                usage = unit_metrics.usage(stage.responsibilities(z))
                stage.usage_ema.lerp_(usage.detach(), USAGE_EMA)
                stage._last = (h.detach(), z.detach())
            extra = stage.volume.penalty(W, stage.gain, usage)
            if extra is not None:
                extras.append(extra)
            h = stage.activation(stage.volume.mask_logits(z))
        loss = self.task.loss(self._read_out(h), batch, row_weight)
        return loss + sum(extras) if extras else loss

    def begin_step(self, step: int, steps: int) -> None:
        for stage in self.stages:
            stage.begin_step(step, steps)

    def end_step(self) -> None:
        for stage in self.stages:
            stage.end_step()

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        """Each layer's unit metrics on the probe examples (its inputs: the previous
        layer's activations), stacked along ``layer``."""
        h, per_layer = probe.x, []
        for stage in self.stages:
            W = stage.unit_weights().detach()
            z = stage.logits(h, W)
            per_layer.append(
                unit_metrics.hyperplane_metrics(
                    W,
                    stage.b1.detach(),
                    stage.responsibilities(z),
                    stage.activation.shift_block(W.shape[1]),  # as the one-layer family
                )
            )
            h = stage.activation(z)
        return {k: torch.stack([m[k] for m in per_layer], 1) for k in per_layer[0]}
