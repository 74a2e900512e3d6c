"""k-winners-take-all: per example, the ``k = k_active`` units of the layer with the
largest ``z`` pass their values and the rest output 0 (as in Numenta's ``nupic.torch``,
without its boosting).  Gradient flows only through the winners.

Ties are broken toward the lower unit index: the winners are the first ``k`` of a
*stable* descending sort, which keeps equal values in index order (``torch.topk`` makes no
such promise)."""

from __future__ import annotations

import torch

from ._winners import WinnersTakeAll

DEFAULT_K_ACTIVE = 2


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
        order = torch.sort(z, dim=1, descending=True, stable=True).indices
        won = torch.zeros_like(z, dtype=torch.bool)
        return won.scatter_(1, order[:, : self.k_active], True)

    def winners_per_example(self, units: int) -> int:
        return self.k_active
