"""Bounds and choices of model fields that come from the problem, each declared once with
its reason.

Families and tasks declare their fields with these checks, and the command line builds
its argument types from the same ones (``cli.arguments.declared``), so a bound is written
in one place.  This module imports no torch: parsing arguments and ``--help`` stay fast.
"""

from __future__ import annotations

import math

from .errors import ConfigError, check_real
from .fields import Check, integer_within, within

# Contexts of the contextual task: its data sets are laid out for 3 to 5 contexts (8
# objects each), as the published ones are.
N_CONTEXTS = integer_within(3, 5)
# The contextual task's context blocks: the same hierarchy in every context, or the
# published data set's different structures.
STRUCTURES = ("same", "different")
# Its object inputs: one-hot, or whitened so that the input correlation is the identity.
INPUTS = ("one_hot", "whitened")
# Hidden layers of a contextual network: one (the closed form's two-layer pathway) or two
# (the published depth experiment, whose gated counterpart has two); deeper networks have
# neither a published experiment nor a gated counterpart to compare with.
N_LAYERS = integer_within(1, 2)


def _unit_interval(name: str, value) -> float:
    value = check_real(name, value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={value:g} must be in [0, 1]")
    return value


# Conflict κ between two tasks: 0 one shared task, 1 two conflicting tasks.
CONFLICT = Check(float, _unit_interval, "a number in [0, 1]", (-0.1, 1.5, math.nan, "x"))
# View strength ratio ρ: beyond a thousand to one, the weaker view's share of the input
# (ρ² or 1/ρ²) is below float32's resolution (and ρ² overflows long before ρ does).
VIEW_RATIO = within(1e-3, 1e3, "the weaker view must stay visible in float32")
# Temperature τ of a competitive layer: the units' inputs are divided by τ in float32,
# where beyond 1e-6 .. 1e6 they saturate (a hard argmax) or vanish (every unit alike).
TEMPERATURE = within(1e-6, 1e6, "float32 inputs / τ")
# Volume-control strength λ: a penalty 1e6 times the task's loss leaves the task below
# float32's resolution (1e-7), and far beyond it overflows.
VOLUME_STRENGTH = within(0.0, 1e6, "the task must outweigh it in float32")
