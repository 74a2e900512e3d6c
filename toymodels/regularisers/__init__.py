"""Regularisers by name (``[model] regulariser = "..."``, strength ``strength``)."""

from .base import NoPenalty, Regulariser
from .weight_penalties import L1, L2

REGULARISERS: dict[str, type[Regulariser]] = {
    "none": NoPenalty,
    "l2": L2,
    "l1": L1,
}

__all__ = ["REGULARISERS", "Regulariser"]
