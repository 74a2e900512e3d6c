"""The contract of a volume control: what keeps a competitive layer from collapsing.

A competitive activation couples a layer's units, and without a counterweight one unit
can take every example and starve the rest (collapse).  A volume control is that
counterweight.  Controls act in different places, so the contract is a set of hooks with
neutral defaults, and each control overrides the one or two it needs:

- :meth:`unit_weights`: a reparametrisation of the units' weight rows (weight
  normalisation);
- :meth:`penalty`: a term added to the training objective, from the unit rows and the
  responsibilities on the batch (usage entropy, log-det, orthogonality);
- :meth:`temperature_factor`: a schedule multiplying the temperature (annealing);
- :meth:`mask_logits`: a training-time change of the logits (dropout on responsibilities);
- :meth:`after_step`: an intervention on the parameters after an optimiser step (revival);
- :meth:`temperature_shift`: a trained change of log τ (learned temperature);
- :meth:`normalise_logits`: a change of the logits in training and evaluation alike
  (batch normalisation).

Every control has a per-model strength λ (``volume_strength``, or ``volume_strength_2``
and ``_3`` for the second and third of a combination, ``toymodels.volumes.combined``);
``λ = 0`` is the uncontrolled layer for every control but ``gain_norm`` (free gains).
:meth:`refusal` says why a control cannot act on an activation or task, for the one-line
errors, from what the control needs the activation to declare (``activation_needs``)
and what the task declares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch

from ..tasks import TASKS


class VolumeControl:
    name: ClassVar[str]
    #: one line: what the control does and what λ is
    description: ClassVar[str]
    #: the largest λ allowed (None: unbounded); e.g. a drop probability must stay below 1
    max_strength: ClassVar[float | None] = None
    #: the top of a phase diagram's default λ axis: where the control has clearly acted
    #: (0 for ``none``, whose axis is the single value 0)
    typical_strength: ClassVar[float] = 1.0
    #: the layer must track its usage (the batch's mean responsibilities, and their running
    #: mean ``usage_ema``) for this control
    needs_usage: ClassVar[bool] = False
    #: its penalty is differentiated through the usage (the usage-entropy bonus), so the
    #: gradient flows back through the responsibilities; a control that only reads the
    #: usage (revival) does not
    penalty_reads_usage: ClassVar[bool] = False
    #: the control changes the logits in training (:meth:`mask_logits`)
    masks: ClassVar[bool] = False
    #: what it needs an activation to declare: the activation's flag (``uses_temperature``,
    #: ``soft``, ``normalised``) -> why, for the error when it does not (``{activation}``:
    #: its name)
    activation_needs: ClassVar[dict[str, str]] = {}
    #: why the control cannot act on a layer whose output is the free energy (its task
    #: declares ``free_energy``; ``{task}``: the task's name), or None when it can
    free_energy_refusal: ClassVar[str | None] = None
    #: the layer trains a per-model shift of log τ for this control
    #: (:meth:`temperature_shift`)
    learns_temperature: ClassVar[bool] = False
    #: the control changes the logits in training and evaluation (:meth:`normalise_logits`)
    normalises_logits: ClassVar[bool] = False

    def __init__(
        self,
        configs: Sequence,
        seeds: Sequence,
        dtype: torch.dtype = torch.float32,
        strength_field: str = "volume_strength",
    ):
        self.seeds = tuple(seeds)
        # [model]: each model's λ
        self.strength = torch.tensor([getattr(c, strength_field) for c in configs], dtype=dtype)

    @classmethod
    def acts_on_data(cls) -> bool:
        """Whether the control's gradient goes through the batch or the temperature (a
        penalty on the usage, masked or normalised logits, a learned τ), beyond the unit
        rows and their penalty: a hand path that differentiates only the rows cannot take
        it.  A control that only reads the usage (revival) can: the hand path tracks it."""
        return (
            cls.penalty_reads_usage or cls.masks or cls.normalises_logits or cls.learns_temperature
        )

    @classmethod
    def refusal(cls, activation, task: str) -> str | None:
        """Why this control cannot act on ``activation`` (its class) in a layer learning
        the task named ``task``, or None when it can; a control reads what the two
        declare."""
        if cls.free_energy_refusal and TASKS[task].free_energy:
            return cls.free_energy_refusal.format(task=task)
        for flag, why in cls.activation_needs.items():
            if not getattr(activation, flag):
                return why.format(activation=activation.name)
        return None

    @classmethod
    def strength_refusal(cls, strength: float, temperature: float) -> str | None:
        """Why this control cannot run at strength ``strength`` on a layer at temperature
        ``temperature`` (beyond ``max_strength``), or None when it can."""
        return None

    def unit_weights(self, W: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
        """The units' weight rows ``[model, unit, input]`` used by the layer."""
        return W

    def penalty(
        self, W: torch.Tensor, gain: torch.Tensor, usage: torch.Tensor | None
    ) -> torch.Tensor | None:
        """``λ · term`` per model ``[model]`` added to the objective (differentiable), from
        the unit rows ``W`` (after :meth:`unit_weights`), the gains and the batch's mean
        responsibilities ``usage [model, unit]``; None for no term."""
        return None

    def temperature_factor(self, step: int, steps: int) -> torch.Tensor | None:
        """``[model]`` multiplier of the temperature at ``step`` of ``steps``; None: 1."""
        return None

    def mask_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Logits ``[model, unit, example]`` as used in training (not in evaluation)."""
        return z

    def after_step(self, layer) -> None:
        """Change the layer's parameters after an optimiser step (no gradient)."""

    def temperature_shift(self, shift: torch.Tensor) -> torch.Tensor | None:
        """``[model]`` added to log τ, from the layer's trained ``shift [model]``; None: 0."""
        return None

    def normalise_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Logits ``[model, unit, example]`` as the activation sees them, in training and
        evaluation alike."""
        return z

    def lam(self, t: torch.Tensor) -> torch.Tensor:
        """λ shaped to broadcast against ``t [model, ...]``."""
        return self.strength.to(t.dtype).view(-1, *([1] * (t.dim() - 1)))


class OnDirections(VolumeControl):
    """A control on the units' weight rows as directions (hyperplanes).  The units of a
    layer whose output is the free energy (its task declares ``free_energy``) are
    prototype points, whose geometry these controls would distort."""

    free_energy_refusal = "the {task} layer's units are prototype points, not directions"


class NoControl(VolumeControl):
    name = "none"
    description = "no volume control (λ must be 0)"
    max_strength = 0.0
    typical_strength = 0.0
