"""Helpers shared by the activations: per-model and batch-wide settings read from the
family configs, and the units' contiguous blocks (the split of the unit axis, and what
the blocked activations declare).

Settings are read with ``getattr`` and a default because a config need not declare them
(an activation built on its own, in a test or an analysis, has no family config)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch


def shared_setting(configs: Sequence, name: str, default):
    """One value for the whole batch: tensor shapes depend on it, so models trained
    together cannot differ in it."""
    values = {getattr(c, name, default) for c in configs}
    if len(values) > 1:
        raise ValueError(
            f"{name} must be the same for every model trained together, got {sorted(values)}"
        )
    return values.pop() if values else default


def setting_count(name: str, value) -> int:
    """A count an activation reads (a block size, units kept): an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def positive_per_model(name: str, values) -> torch.Tensor:
    """``[model]`` float64, every entry finite and > 0."""
    t = torch.as_tensor(values, dtype=torch.float64).detach().reshape(-1).clone()
    if not bool(torch.all(torch.isfinite(t) & (t > 0))):
        raise ValueError(f"{name} must be finite and > 0 for every model, got {t.tolist()}")
    return t


def blocks(z: torch.Tensor, size: int, owner: str) -> torch.Tensor:
    """``z [model, unit, example]`` as ``[model, block, size, example]``; unit ``k`` lies
    in block ``k // size``."""
    units = z.shape[1]
    if units % size:
        raise ValueError(
            f"{owner}: group_size = {size} must divide the number of units, got {units}"
        )
    return z.unflatten(1, (units // size, size))


DEFAULT_GROUP_SIZE = 2


class InBlocks:
    """Mixed into an activation whose units compete within contiguous blocks of
    ``group_size`` units: it reads ``group_size``, which must divide the layer."""

    settings: ClassVar[dict[str, int]] = {"group_size": DEFAULT_GROUP_SIZE}

    @classmethod
    def refusal(cls, config) -> str | None:
        if config.n_hidden % config.group_size:
            return (
                f"group_size={config.group_size} does not divide n_hidden={config.n_hidden}; "
                f"{cls.name} needs blocks of equal size"
            )
        return None
