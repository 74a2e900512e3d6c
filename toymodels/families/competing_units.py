"""What a layer of competing units has, whatever its units are (the ``competition``
family's hyperplanes, the ``prototypes`` family's points): a per-model temperature τ, a
volume control (``toymodels.volumes``, strength λ per model) that may keep the layer
from collapsing onto one unit, and the running usage of each unit that revival reads.

τ and λ are per-model fields, so a τ × λ phase diagram trains as one batch.  ``volume``
may list several controls (``toymodels.volumes.combined``), each with its own per-model
strength (``volume_strength``, ``volume_strength_2``, ``volume_strength_3``).  The
training objective is the task loss plus the volume control's penalty; the stored loss
is the task loss alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import unit_metrics
from ..activations import ACTIVATIONS
from ..errors import ConfigError
from ..fields import Check, Config, choice, integer, param
from ..limits import TEMPERATURE, VOLUME_STRENGTH
from ..outputs import Output
from ..tasks import Batch
from ..volumes import STRENGTH_FIELDS, VOLUMES, parse_volume, volume_control, volume_names

# Running usage of a unit (for revival) follows the batches with this weight on the newest.
USAGE_EMA = 0.1

#: a volume control's name, a list of names, or names joined by ``+`` (stored joined)
VOLUME_NAMES = Check(
    str,
    lambda name, value: parse_volume(name, value, VOLUMES),
    "a volume control name, or a list of them",
    ("no-such-name", ["anneal", "anneal"], ["none", "entropy"]),
)

#: what every layer of competing units measures beyond the unit metrics
COMPETING_METRICS = {
    "final_temperature": Output(
        (), "float32", "τ in use at the end (learned under learned_tau, else as configured)"
    ),
}


@dataclass(frozen=True)
class CompetingUnitsConfig(Config):
    """The fields every layer of competing units has (a family adds its own)."""

    n_hidden: int = param(8, integer(1), top=True, help="hidden units K")
    activation: str = param(
        "softmax", choice("activation", lambda: ACTIVATIONS), help="the layer's activation"
    )
    temperature: float = param(
        1.0, TEMPERATURE, per_model=True, help="τ of softmax-type activations (final τ if annealed)"
    )
    volume: str = param(
        "none", VOLUME_NAMES, help="what counters collapse: a control, or a list of them"
    )
    volume_strength: float = param(
        0.0, VOLUME_STRENGTH, per_model=True, help="λ, the (first) volume control's strength"
    )
    volume_strength_2: float = param(
        0.0, VOLUME_STRENGTH, per_model=True, help="λ of the second volume control listed"
    )
    volume_strength_3: float = param(
        0.0, VOLUME_STRENGTH, per_model=True, help="λ of the third volume control listed"
    )


class CompetingUnits:
    """Mixed into a family (before its ``ToyModel`` base) whose layer has
    ``unit_weights()``, ``logits(x, W)``, ``responsibilities(z)``, ``output(z)`` (the
    model's output from the logits), ``gain`` (the unit gains, or None) and
    ``revive(dead)``; :meth:`start_competition` is called from its ``initialise``."""

    @classmethod
    def check_volume(cls, config) -> None:
        """Raise ``ConfigError`` when a volume control cannot act on the layer's activation
        and task, its strength is above what it allows, or a strength is set for a control
        that ``volume`` does not list."""
        arch, task = config.arch, config.task
        names = volume_names(arch.volume)
        for i, field in enumerate(STRENGTH_FIELDS):
            strength = getattr(arch, field)
            if i >= len(names):
                if strength != 0:
                    raise ConfigError(
                        f"{field}={strength:g} is the strength of volume control {i + 1}, but "
                        f'volume "{arch.volume}" lists {len(names)}; list it or leave it at 0'
                    )
                continue
            control, name = VOLUMES[names[i]], names[i]
            reason = control.refusal(ACTIVATIONS[arch.activation], task)
            if reason:
                raise ConfigError(
                    f'volume control "{name}" does not apply to {arch.activation} on '
                    f"{task}: {reason}"
                )
            top = control.max_strength
            if top is not None and strength > top:
                raise ConfigError(
                    f"{field}={strength:g} is above {top:g}, the most volume control "
                    f'"{name}" allows'
                    + ("; set a volume control to use a strength" if top == 0 else "")
                )
            reason = control.strength_refusal(strength, arch.temperature)
            if reason:
                raise ConfigError(f'{field}={strength:g} of volume control "{name}": {reason}')

    def start_competition(self, units: int) -> None:
        """The volume control, the temperatures (τ as configured, and as scheduled) and
        an equal running usage of the ``units`` units."""
        arch = [c.arch for c in self.configs]
        self.volume = volume_control(arch[0].volume)(arch, self.seeds, self.dtype)
        self.base_temperature = torch.tensor([a.temperature for a in arch], dtype=torch.float64)
        # float64 so an annealing schedule's small steps survive; ``temperature`` is the
        # layer's dtype
        self.scheduled_temperature = self.base_temperature
        self.temperature = self.base_temperature.to(self.dtype)
        self.usage_ema = torch.full((len(arch), units), 1.0 / units, dtype=self.dtype)
        self.step, self.steps = 0, 1
        # the last batch's inputs and logits, where revival finds the least-claimed examples
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def objective(self, batch: Batch, row_weight) -> torch.Tensor:
        """Training objective per model: the task loss on the (possibly masked) layer plus
        the volume control's penalty."""
        W = self.unit_weights()
        z = self.logits(batch.x, W)
        loss = self.task.loss(self.output(self.volume.mask_logits(z)), batch, row_weight)
        usage = None
        if self.volume.needs_usage:
            usage = unit_metrics.usage(self.responsibilities(z))
            self.usage_ema.lerp_(usage.detach(), USAGE_EMA)
            self._last = (batch.x.detach(), z.detach())
        extra = self.volume.penalty(W, self.gain, usage)
        return loss if extra is None else loss + extra

    def begin_step(self, step: int, steps: int) -> None:
        self.step, self.steps = step, steps
        factor = self.volume.temperature_factor(step, steps)
        tau = self.base_temperature if factor is None else self.base_temperature * factor
        self.set_temperature(tau)

    def end_step(self) -> None:
        self.volume.after_step(self)

    def set_temperature(self, tau: torch.Tensor) -> bool:
        """Use temperatures ``tau [model]``; whether they differ from the ones in use."""
        self.scheduled_temperature = tau.to(torch.float64)
        if torch.equal(tau.to(self.dtype), self.temperature):
            return False
        self.temperature = tau.to(self.dtype)
        return True

    def temperature_in_use(self) -> torch.Tensor:
        """``[model]``: the temperature the activation uses now, the scheduled one times
        ``e^shift`` when the volume control learns a shift of log τ (differentiable)."""
        shift = getattr(self, "tau_shift", None)
        shift = None if shift is None else self.volume.temperature_shift(shift)
        if shift is None:
            return self.scheduled_temperature
        return self.scheduled_temperature * torch.exp(shift.to(torch.float64))

    @torch.no_grad()
    def least_claimed(self, dead: torch.Tensor):
        """Where each model's ``dead [model, unit]`` units go: the examples of the last
        batch that its alive units claim least (lowest largest logit), one example each.
        Returns the examples ``[model, unit, input]``, every example's claim ``[model,
        example]`` and each unit's example ``[model, unit]``."""
        x, z = self._last
        claim = z.masked_fill(dead.unsqueeze(-1), float("-inf")).amax(1)
        order = claim.argsort(-1)
        rank = (dead.cumsum(-1) - 1).clamp(0, order.shape[-1] - 1)
        pick = torch.gather(order, 1, rank)
        target = torch.gather(x, 2, pick.unsqueeze(1).expand(-1, x.shape[1], -1)).transpose(1, 2)
        return target, claim, pick
