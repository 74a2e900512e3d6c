"""The common part of the hard winner-take-all activations: the winners pass their ``z``,
the others output 0, and gradient flows through the winners only (Jacobian 1 on their
diagonal).  A subclass says who wins (:meth:`winners`) and how many win per example."""

from __future__ import annotations

import torch

from .base import Activation


class WinnersTakeAll(Activation):
    def winners(self, z: torch.Tensor) -> torch.Tensor:
        """Boolean ``[model, unit, example]``: the units that pass."""
        raise NotImplementedError

    def winners_per_example(self, units: int) -> int:
        raise NotImplementedError

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        # where, not z * mask, so a loser's inf or nan does not leak into the output
        return torch.where(self.winners(z), z, torch.zeros_like(z))

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        return torch.diag_embed(self.winners(z).to(z.dtype).transpose(1, 2))

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        # from z, not a: a winner whose value is 0 still passes its gradient
        return grad_a * self.winners(z).to(grad_a.dtype)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        return self.winners(z).to(z.dtype) / self.winners_per_example(z.shape[1])
