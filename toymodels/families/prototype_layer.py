"""The ``prototypes`` family: K prototype points competing for the points of a Gaussian
mixture (the ``annealing`` task), soft k-means as a layer.

Prototype ``w_k`` (row k of ``W1 [model, unit, input]``) has the distance logit
``z_k = −‖x − w_k‖²``, the responsibilities are ``softmax(z/τ)`` and the model's output
is each example's free energy ``−τ log Σ_k exp(z_k/τ)``, whose gradient moves each
prototype towards the points it is responsible for.  Lowering τ splits the prototypes at
critical temperatures (deterministic annealing; ``analytics.annealing_theory``).  The
layer has nothing else: no bias, no gain, no read-out.

τ, the volume control and revival are those of every layer of competing units
(``toymodels.families.competing_units``); the controls that act on the units as
directions (weight normalisation, log-det, orthogonality) do not apply to points.  The
activation is the softmax (the responsibilities of distance logits are their softmax).

Metrics are the unit layer's (``toymodels.unit_metrics``) with the prototypes taken
about the mean of the probe examples as the unit rows; two prototypes are alike when
closer than ``SAME_PLACE`` times the data's RMS radius.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import unit_metrics
from ..activations import ACTIVATIONS
from ..activations.softmax import Softmax
from ..errors import ConfigError
from ..outputs import Output
from ..phases import layer_competition as rule
from ..tasks import TASKS, Batch
from .base import ToyModel
from .competing_units import COMPETING_METRICS, CompetingUnits, CompetingUnitsConfig
from .unit_layer import UNIT_DEFINITIONS, UNIT_METRICS, xavier_normal


@dataclass(frozen=True)
class PrototypeConfig(CompetingUnitsConfig):
    owner = "family prototypes"


class PrototypeLayer(CompetingUnits, ToyModel):
    """K prototype points with distance logits −‖x − w_k‖² and a free-energy output: soft
    k-means as a layer, whose prototypes split as the temperature falls."""

    name = "prototypes"
    Config = PrototypeConfig
    tasks = ("annealing",)
    estimators = ("sampled", "full")
    params = {"W1": Output(("unit", "input"), "float32", "row k: prototype k, a point")}
    weights = ("W1",)
    metrics = {**UNIT_METRICS, **COMPETING_METRICS}
    metrics_use_data = True
    square_dims = ("unit",)  # |cos|, distances and alike links between every pair of units
    phase_rule = rule.LAYER_COMPETITION_RULE
    definitions = {
        **UNIT_DEFINITIONS,
        "unit_rows": "w_k − the mean of the probe examples: a prototype about the data's centre",
        "alike": f"distance < {rule.SAME_PLACE} x RMS radius of the data about its mean",
        **rule.DEFINITIONS,
    }
    #: the unit gains the volume controls read: prototypes have none
    gain = None

    @classmethod
    def dims(cls, config) -> dict[str, int]:
        return {"unit": config.arch.n_hidden, **TASKS[config.task].dims(config.data)}

    @classmethod
    def validate(cls, config) -> None:
        arch = config.arch
        if ACTIVATIONS[arch.activation] is not Softmax:
            raise ConfigError(
                f'activation "{arch.activation}" does not apply to the {config.task} task: its '
                "responsibilities are the softmax of distance logits; use softmax"
            )
        cls.check_volume(config)

    # -- the model ------------------------------------------------------------------------
    def initialise(self, init_scale: float) -> None:
        sizes = self.dims(self.configs[0])
        shape = (sizes["unit"], sizes["input"])
        (W1,) = xavier_normal(self.seeds, [shape], init_scale, self.dtype)
        self.W1 = torch.nn.Parameter(W1)
        self.start_competition(sizes["unit"])

    def unit_weights(self) -> torch.Tensor:
        """The prototypes ``[model, unit, input]``."""
        return self.W1

    def logits(self, x: torch.Tensor, W: torch.Tensor | None = None) -> torch.Tensor:
        """``z [model, unit, example] = −‖x − w_k‖²`` for inputs ``x [model, input, example]``."""
        W = self.W1 if W is None else W
        cross = torch.bmm(W, x)
        return 2.0 * cross - (W * W).sum(-1, keepdim=True) - (x * x).sum(1, keepdim=True)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(z / self.temperature.view(-1, 1, 1), dim=1)

    def output(self, z: torch.Tensor) -> torch.Tensor:
        """Each example's free energy ``[model, 1, example]`` from its logits."""
        tau = self.temperature.view(-1, 1, 1)
        return -tau * torch.logsumexp(z / tau, dim=1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.logits(x))

    @torch.no_grad()
    def revive(self, dead: torch.Tensor) -> None:
        """Move each model's ``dead [model, unit]`` prototypes onto the examples of the
        last batch its alive prototypes claim least (:meth:`least_claimed`)."""
        target, _, _ = self.least_claimed(dead)
        self.W1.copy_(torch.where(dead.unsqueeze(-1), target, self.W1))

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        W = self.W1.detach()
        r = self.responsibilities(self.logits(probe.x, W))
        found = unit_metrics.prototype_metrics(W, probe.x, r)
        return found | {"final_temperature": self.temperature_in_use().to(self.dtype)}
