"""Parallel paths (the seed's answer to softmax discarding magnitude): the first half of
the K units is a ReLU layer, the second half a softmax over ``z/τ`` within that half,
concatenated, ``a = [relu(z_A), softmax(z_B/τ)]`` (K even; ``z_A`` units ``0 … K/2 − 1``).
The ReLU half keeps magnitudes and never competes; the softmax half competes for one unit
of output.  The Jacobian is block-diagonal: ``δ_ij 1[z_i > 0]`` on the ReLU half and
``(1/τ) a_i (δ_ij − a_j)`` on the softmax half.

Responsibilities: each path shares out half of the example, the ReLU half by
``relu(z)/Σ relu(z)`` over its units (ReLU's rule), the softmax half by its output; an
example on which no ReLU unit fires gives its whole share to the softmax half, so every
example sums to 1 (the softmax half always has somewhere to put it)."""

from __future__ import annotations

import torch

from ._tempered import Tempered, softmax
from .relu import shares


def halves(z: torch.Tensor, owner: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``z [model, unit, example]`` as its two halves along the unit axis."""
    units = z.shape[1]
    if units % 2:
        raise ValueError(f"{owner}: the number of units must be even, got {units}")
    return z[:, : units // 2], z[:, units // 2 :]


class Parallel(Tempered):
    name = "parallel"
    description = "[relu(z_A), softmax(z_B/τ)]: half the units ReLU, half a softmax over their half"

    @classmethod
    def refusal(cls, config) -> str | None:
        if config.n_hidden % 2:
            return (
                f"n_hidden={config.n_hidden} is odd; parallel needs an even K "
                "(half ReLU, half softmax)"
            )
        return None

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        za, zb = halves(z, self.name)
        return torch.cat((torch.relu(za), softmax(zb / self.tau(z), dim=1)), dim=1)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        za, _ = halves(z, self.name)
        a = self(z).transpose(1, 2)  # [model, example, unit]
        half = za.shape[1]
        gate = (za > 0).to(z.dtype).transpose(1, 2)
        r = a[..., half:]
        soft = (torch.diag_embed(r) - r.unsqueeze(-1) * r.unsqueeze(-2)) / self.tau(z).unsqueeze(-1)
        return _blocks(torch.diag_embed(gate), soft)

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        za, _ = halves(z, self.name)
        ga, gb = halves(grad_a, self.name)
        r = a[:, za.shape[1] :]
        soft = r * (gb - (gb * r).sum(dim=1, keepdim=True)) / self.tau(z)
        return torch.cat((ga * (za > 0).to(ga.dtype), soft), dim=1)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        za, zb = halves(z, self.name)
        active = torch.relu(za)
        # 1/2 to each path; all of it to the softmax half where no ReLU unit fires
        share = 0.5 * (active.sum(dim=1, keepdim=True) > 0).to(z.dtype)
        r = softmax(zb / self.tau(z), dim=1)
        return torch.cat((share * shares(active), (1.0 - share) * r), dim=1)


def _blocks(top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
    """``[..., n + m, n + m]`` with ``top [..., n, n]`` and ``bottom [..., m, m]`` on the
    diagonal and zeros elsewhere."""
    n, m = top.shape[-1], bottom.shape[-1]
    out = top.new_zeros((*top.shape[:-2], n + m, n + m))
    out[..., :n, :n] = top
    out[..., n:, n:] = bottom
    return out
