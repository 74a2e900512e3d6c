"""Temperature annealing: start soft, sharpen.

The temperature falls geometrically from ``τ e^λ`` to the model's ``τ`` over the first
``ANNEAL_SHARE`` of the steps and stays at ``τ`` after (deterministic annealing lowers
the temperature slowly and lets the units follow each split; the last stretch at ``τ``
lets them settle where the result is measured).  λ = 0 is a fixed temperature.
"""

from __future__ import annotations

import math

import torch

from .base import VolumeControl

# Share of training spent cooling; the rest runs at the final temperature.
ANNEAL_SHARE = 0.8
# The temperature is held in float32: the first one, τ·e^λ, must stay below its largest
# value.
LOG_FLOAT32_MAX = math.log(3.4028234663852886e38)


class TemperatureAnnealing(VolumeControl):
    name = "anneal"
    description = "τ(t) falls geometrically from τ·e^λ to τ over the first 80% of steps"
    typical_strength = 4.0
    activation_needs = {"uses_temperature": "{activation} has no temperature to anneal"}

    @classmethod
    def strength_refusal(cls, strength, temperature):
        if math.log(temperature) + strength <= LOG_FLOAT32_MAX:
            return None
        most = LOG_FLOAT32_MAX - math.log(temperature)
        return (
            f"the anneal starts at τ·e^λ, beyond float32's range above λ = {most:.4g} at "
            f"temperature {temperature:g}"
        )

    def temperature_factor(self, step, steps):
        left = max(0.0, 1.0 - step / (ANNEAL_SHARE * steps))
        return torch.exp(self.strength * left)
