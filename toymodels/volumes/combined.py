"""More than one volume control at once: ``volume = ["anneal", "entropy"]``, stored as
the names joined by ``+`` (``"anneal+entropy"``, so a combination is one name wherever a
control's name is shown or stored).

Each control keeps its own per-model strength: the first reads ``volume_strength``, the
second ``volume_strength_2``, the third ``volume_strength_3`` (scalar per-model fields,
so any of them can be an axis of a sweep).  The combination composes the hooks in the
order given: the unit rows pass through each reparametrisation, the penalties add, the
temperature factors multiply, the log-τ shifts add, the logit changes and masks apply
in turn, and each control's step after the optimiser's runs in turn.  A list may not
repeat a control, hold ``none``, or hold two controls that both reparametrise the unit
rows (``weightnorm`` and ``gain_norm``: the second would undo the first).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import ClassVar

import torch

from ..errors import ConfigError, unknown_name
from .base import VolumeControl

#: how a combination is written as one name
SEPARATOR = "+"
#: the strength field of each control of a combination, in order (their number is the
#: most controls a combination may hold)
STRENGTH_FIELDS = ("volume_strength", "volume_strength_2", "volume_strength_3")


def reparametrises(control: type[VolumeControl]) -> bool:
    """Whether ``control`` changes the unit rows (overrides ``unit_weights``)."""
    return control.unit_weights is not VolumeControl.unit_weights


def parse_volume(name: str, value, registry: dict[str, type[VolumeControl]]) -> str:
    """The field ``name``'s value (a control's name, a list of names, or names joined by
    ``+``) as one name; a one-line ``ConfigError`` for a name not in ``registry``, an
    empty list, a repeat, ``none`` in a list, too many controls, or two that both
    reparametrise the unit rows."""
    if isinstance(value, str):
        names = value.split(SEPARATOR)
    elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        names = list(value)
    else:
        raise ConfigError(f"{name}={value!r} must be a volume control name or a list of them")
    if not names:
        raise ConfigError(f"{name}=[] must name at least one volume control")
    for n in names:
        if n not in registry:
            raise unknown_name("volume control", n, registry)
    if len(names) == 1:
        return names[0]
    shown = "[" + ", ".join(names) + "]"
    if "none" in names:
        raise ConfigError(f"{name}={shown}: none cannot be combined; leave it out")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{name}={shown} names {repeated[0]} twice; each control at most once")
    if len(names) > len(STRENGTH_FIELDS):
        raise ConfigError(
            f"{name}={shown} holds {len(names)} controls; at most {len(STRENGTH_FIELDS)}"
        )
    rows = [n for n in names if reparametrises(registry[n])]
    if len(rows) > 1:
        raise ConfigError(
            f"{name}={shown}: {rows[0]} and {rows[1]} both reparametrise the unit rows; "
            "use one of them"
        )
    return SEPARATOR.join(names)


class Combined(VolumeControl):
    """Controls applied together (see module docstring); made by :func:`combination`."""

    parts: ClassVar[tuple[type[VolumeControl], ...]] = ()

    def __init__(self, configs, seeds, dtype=torch.float32, strength_field=None):
        self.seeds = tuple(seeds)
        self.controls = [
            part(configs, seeds, dtype, field)
            for part, field in zip(self.parts, STRENGTH_FIELDS, strict=False)
        ]
        self.strength = self.controls[0].strength

    @classmethod
    def refusal(cls, activation, task):
        for part in cls.parts:
            reason = part.refusal(activation, task)
            if reason:
                return f"{part.name}: {reason}"
        return None

    def unit_weights(self, W, gain):
        for c in self.controls:
            W = c.unit_weights(W, gain)
        return W

    def penalty(self, W, gain, usage):
        terms = [c.penalty(W, gain, usage) for c in self.controls]
        terms = [t for t in terms if t is not None]
        return sum(terms[1:], terms[0]) if terms else None

    def temperature_factor(self, step, steps):
        factors = [c.temperature_factor(step, steps) for c in self.controls]
        factors = [f for f in factors if f is not None]
        return torch.stack(factors).prod(0) if factors else None

    def temperature_shift(self, shift):
        shifts = [c.temperature_shift(shift) for c in self.controls]
        shifts = [s for s in shifts if s is not None]
        return sum(shifts[1:], shifts[0]) if shifts else None

    def mask_logits(self, z):
        for c in self.controls:
            z = c.mask_logits(z)
        return z

    def normalise_logits(self, z):
        for c in self.controls:
            z = c.normalise_logits(z)
        return z

    def after_step(self, layer):
        for c in self.controls:
            c.after_step(layer)


@cache
def combination(parts: tuple[type[VolumeControl], ...]) -> type[VolumeControl]:
    """The control that applies ``parts`` together, named by their names joined by ``+``
    (the part itself when there is one)."""
    if len(parts) == 1:
        return parts[0]
    return type(
        "Combined",
        (Combined,),
        {
            "name": SEPARATOR.join(p.name for p in parts),
            "description": " and ".join(p.description for p in parts),
            "parts": parts,
            "typical_strength": parts[0].typical_strength,
            "needs_usage": any(p.needs_usage for p in parts),
            "penalty_reads_usage": any(p.penalty_reads_usage for p in parts),
            "masks": any(p.masks for p in parts),
            "learns_temperature": any(p.learns_temperature for p in parts),
            "normalises_logits": any(p.normalises_logits for p in parts),
        },
    )
