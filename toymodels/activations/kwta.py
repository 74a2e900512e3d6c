"""k-winners-take-all: per example, the ``k = k_active`` units of the layer with the
largest ``z`` pass their values and the rest output 0 (as in Numenta's ``nupic.torch``,
without its boosting).  Gradient flows only through the winners.

Ties are broken toward the lower unit index: the winners are the first ``k`` of a
*stable* descending sort, which keeps equal values in index order (``torch.topk`` makes no
such promise); for a small k, passes of a maximum find the same winners faster when the
leaders do not tie."""

from __future__ import annotations

import torch

from ._winners import WinnersTakeAll

DEFAULT_K_ACTIVE = 2
# Up to this k the winners come from k passes of a maximum over the units (each about a
# ReLU of the layer) rather than a sort along the strided unit axis, which took 20-40
# ReLUs at K = 16 (measured on 2 cores); a tie among the leaders falls back to the sort.
FEW_PASSES = 8


class KWTA(WinnersTakeAll):
    name = "kwta"
    description = "z_k if z_k is among the k_active largest of the layer, else 0"
    settings = {"k_active": DEFAULT_K_ACTIVE}

    @classmethod
    def refusal(cls, config) -> str | None:
        if config.k_active > config.n_hidden:
            return (
                f"k_active={config.k_active} > n_hidden={config.n_hidden}; kwta keeps k <= K units"
            )
        return None

    def winners(self, z: torch.Tensor) -> torch.Tensor:
        """Boolean ``[model, unit, example]``: ``k`` winners per example."""
        if self.k_active > z.shape[1]:
            raise ValueError(
                f"kwta: k_active = {self.k_active} exceeds the number of units, {z.shape[1]}"
            )
        k = self.k_active
        if k <= FEW_PASSES:
            # k − 1 passes each strike out the current maximum (all its copies); the k-th
            # largest distinct value is then the threshold, and where exactly k units
            # reach it in every example (no ties among the leaders, no NaN) they are the
            # winners the sort would give
            rest = z
            for _ in range(k - 1):
                rest = rest.masked_fill(rest == rest.amax(dim=1, keepdim=True), float("-inf"))
            won = z >= rest.amax(dim=1, keepdim=True)
            if bool((won.sum(dim=1) == k).all()):
                return won
        order = torch.sort(z, dim=1, descending=True, stable=True).indices
        won = torch.zeros_like(z, dtype=torch.bool)
        return won.scatter_(1, order[:, :k], True)

    def winners_per_example(self, units: int) -> int:
        return self.k_active
