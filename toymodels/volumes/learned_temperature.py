"""A learned temperature: τ trained with the rest of the layer, one per model.

The layer holds ``tau_shift`` ``s`` (a parameter per model, starting at 0) and uses
``τ = τ₀ e^(λ s)`` (τ₀ the configured temperature, times an annealing factor when
``anneal`` runs beside it), so τ stays positive and starts where it is set.  λ is how
fast log τ moves: the optimiser steps ``s`` like any weight, so λ scales log τ's step
(under Adam about λ·lr per step); λ = 0 keeps τ fixed, the uncontrolled layer.  Where τ
went is stored as the ``final_temperature`` metric.

It does not apply to a free-energy task (``annealing``): there τ is the control
parameter whose splits the diagram locates, and the free energy ``−τ log Σ e^(z/τ)``
falls without bound as τ grows (∂F/∂τ = −H(r) ≤ 0).
"""

from __future__ import annotations

import torch

from .base import VolumeControl


class LearnedTemperature(VolumeControl):
    name = "learned_tau"
    description = "τ = τ₀·exp(λ s), s trained per model from 0: λ is the speed of log τ"
    learns_temperature = True
    activation_needs = {"uses_temperature": "{activation} has no temperature to learn"}

    free_energy_refusal = (
        "the {task} task's temperature is the control parameter of its diagram, and "
        "its free energy falls without bound as τ grows"
    )

    def temperature_shift(self, shift: torch.Tensor) -> torch.Tensor | None:
        return self.strength.to(shift.dtype) * shift
