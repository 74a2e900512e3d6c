"""The common part of the softmax-based activations: a per-model temperature ``τ``, read
from each config's ``temperature`` (default 1), and responsibilities ``softmax(z/τ)``;
and of those among them that depend on ``z/τ`` alone (``scale_free``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._common import positive_per_model
from .base import Activation

DEFAULT_TEMPERATURE = 1.0
# exp of an argument below about −87 underflows float32, and x86 CPUs take a slow path
# for it (a softmax at small τ measured 1.7x slower); arguments further than this below
# the largest of their softmax are raised to it, which changes responsibilities below
# e^-80 ≈ 2e-35 only.
EXP_FLOOR = 80.0


def softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``softmax(x)`` along ``dim``, with arguments more than :data:`EXP_FLOOR` below the
    largest raised to that floor."""
    top = x.amax(dim, keepdim=True)
    return torch.softmax(torch.maximum(x, top - EXP_FLOOR), dim)


class Tempered(Activation):
    uses_temperature = True
    soft = True

    def __init__(self, configs: Sequence = ()):
        super().__init__(configs)
        # float64 so an annealing schedule's small steps are not lost before the cast to
        # z's dtype at use; with no configs a single value broadcasts over any batch.
        temps = [getattr(c, "temperature", DEFAULT_TEMPERATURE) for c in self.configs]
        self.temperature = positive_per_model("temperature", temps or [DEFAULT_TEMPERATURE])

    def set_temperature(self, tau: torch.Tensor) -> None:
        tau = positive_per_model("temperature", tau)
        if self.configs and tau.shape != (len(self.configs),):
            raise ValueError(
                f"set_temperature needs one temperature per model ({len(self.configs)}), "
                f"got shape {tuple(tau.shape)}"
            )
        self.temperature = tau

    def tau(self, z: torch.Tensor) -> torch.Tensor:
        """``[model, 1, 1]`` in ``z``'s dtype, to broadcast against ``z``."""
        return self.temperature.to(device=z.device, dtype=z.dtype).view(-1, 1, 1)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        return softmax(z / self.tau(z), dim=1)


class ScaleFree(Tempered):
    """``a(z) = g(z/τ)``: a subclass gives ``g`` (:meth:`unit`) and its vector-Jacobian
    product (:meth:`unit_backward`), from which the activation and its backward follow."""

    scale_free = True

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.unit(z / self.tau(z))

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        return self.unit_backward(a, grad_a) / self.tau(z)
