"""Two views of the items, two tasks, and a knob κ from one shared task to two conflicting
ones: the task of the pathway-conflict phase diagram.

Every sample shows one item in view 1 and one in view 2: the data set holds each of the
``P²`` pairs ``(a, b)`` of ``P = n_items`` items once (sample ``p = P·a + b``).  A view
codes its item by an orthonormal code of the centred items (``c_a = √P·Q[:, a]`` with
``Q`` the ``(P−1) × P`` Helmert basis of the vectors summing to zero), so each view's
input has identity covariance and the two views are uncorrelated: ``Σ_xx = I`` and the
closed-form mode dynamics of a linear network are exact.  The input is ``x = [c_a; c_b]``.

The output has two heads of ``P − 1`` units, task A and task B.  With view strengths
``g₁ = √(2/(1+ρ²))`` and ``g₂ = ρ·g₁`` (``ρ = view_ratio``, normalised so ``g₁² + g₂² = 2``)
and ``k = (1−κ)/√2``, ``n = 1/√((k+κ)² + k²)``, the targets are::

    y_A = n·[(k+κ)·g₁·c_a + k·g₂·c_b]
    y_B = n·[k·g₁·c_a + (k+κ)·g₂·c_b]

- κ = 0: both heads ask for the same single task ``(g₁c_a + g₂c_b)/√2``, which both views
  serve;
- κ = 1: task A is view 1's item (``g₁c_a``), task B view 2's item (``g₂c_b``), and the
  two targets are independent: two conflicting tasks, each served by one view;
- in between the targets are interpolated; ``n`` keeps the targets' total power at
  ``2(P−1)`` per sample for every κ, so κ changes only how the views' signals are routed
  to the heads, not how much there is to learn.

``Σ_yx`` is then ``M(κ, ρ) ⊗ I_{P−1}`` with the 2 × 2 matrix ``M`` above (heads × views):
every mode comes in ``P−1`` copies, and a shared layer narrower than ``2(P−1)`` must
choose.  The loss is ½·Σ squared error (as for the contextual task).

Measured from a model's outputs on the data set (so for every family):

- ``task_loss`` — each head's ½·Σ squared error;
- ``explained`` — each task's explained fraction ``1 − L_head / L_head(ŷ = 0)``;
- ``dominance`` — view 1's share of the output the network drives through the views: the
  two-way decomposition ``ŷ(a, b) = μ + f₁(a) + f₂(b) + f₁₂(a, b)`` over the factorial data
  gives ``V_v = Σ ‖f_v‖²`` and dominance ``V₁ / (V₁ + V₂)`` (for a linear network
  ``Σ_α a_α²‖v_α^{(1)}‖²`` over its learned modes, in units of the input).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

import numpy as np
import torch

from ..correlation_modes import Modes, modes
from ..fields import Config, integer, param
from ..limits import CONFLICT, VIEW_RATIO
from ..outputs import Output
from .base import Batch
from .fixed_data import FixedDataSet

TASK_NAMES = ("A", "B")


@dataclass(frozen=True)
class ConflictConfig(Config):
    owner = "task conflict"

    n_items: int = param(6, integer(2), top=True, help="items P in each view (P-1 modes a task)")
    conflict: float = param(
        1.0, CONFLICT, per_model=True, help="kappa: 0 one shared task, 1 two conflicting"
    )
    view_ratio: float = param(
        1.0,
        VIEW_RATIO,
        per_model=True,
        help="rho: view 2's strength relative to view 1's",
    )


def item_codes(n_items: int) -> np.ndarray:
    """``[P−1, P]``: column ``a`` is item ``a``'s code ``√P·Q[:, a]`` (Helmert basis ``Q``
    of the centred vectors), so ``(1/P)·Σ_a c_a c_aᵀ = I``."""
    p = n_items
    q = np.zeros((p - 1, p))
    for i in range(1, p):
        q[i - 1, :i] = 1.0
        q[i - 1, i] = -i
        q[i - 1] /= math.sqrt(i * (i + 1))
    return math.sqrt(p) * q


def view_gains(strength: float) -> tuple[float, float]:
    """``(g₁, g₂)`` with ``g₂/g₁ = ρ`` and ``g₁² + g₂² = 2``."""
    g1 = math.sqrt(2.0 / (1.0 + strength**2))
    return g1, strength * g1


def routing(conflict: float, strength: float) -> np.ndarray:
    """``M`` (heads × views): the weight of each view's code in each head's target."""
    g1, g2 = view_gains(strength)
    k = (1.0 - conflict) / math.sqrt(2.0)
    n = 1.0 / math.sqrt((k + conflict) ** 2 + k**2)
    return n * np.array([[(k + conflict) * g1, k * g2], [k * g1, (k + conflict) * g2]])


# Data sets kept for reuse (a chunk's models share κ, ρ values, and so do the chunks a
# worker trains one after another); bounded, since each takes 32·(P−1)·P² bytes.
KEPT_DATA_SETS = 16
# Float64 entries of 2(P−1)·P² that building one data set holds at its peak: the two
# views, X and Y, and a head's temporary.
BUILD_COPIES = 4


@lru_cache(maxsize=KEPT_DATA_SETS)
def _data(n_items: int, conflict: float, strength: float):
    codes = item_codes(n_items)
    a = np.repeat(np.arange(n_items), n_items)  # view 1's item of each sample
    b = np.tile(np.arange(n_items), n_items)  # view 2's item
    views = np.stack([codes[:, a], codes[:, b]])  # [view, P−1, sample]
    x = np.concatenate(list(views))
    m = routing(conflict, strength)
    y = np.concatenate([m[h, 0] * views[0] + m[h, 1] * views[1] for h in range(2)])
    for arr in (x, y):
        arr.flags.writeable = False
    return x, y


def conflict_data(config: ConflictConfig) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X [2(P−1), P²]`` and targets ``Y [2(P−1), P²]`` (heads A then B)."""
    return _data(config.n_items, config.conflict, config.view_ratio)


@cache
def _config_modes(n_items: int, conflict: float, strength: float) -> Modes:
    return modes(*_data(n_items, conflict, strength))


class Conflict(FixedDataSet):
    """Two views of P items and two tasks on them, from one shared task (conflict κ = 0)
    to two conflicting ones (κ = 1), view 2 at ρ times view 1's strength: a fixed data
    set of the P² pairs, fitted by squared error."""

    name = "conflict"
    Config = ConflictConfig
    outputs = {
        "task_loss": Output(("task",), "float32", "each task's (head's) 1/2 sum squared error"),
        "explained": Output(
            ("task",), "float32", "each task's explained fraction 1 - loss / loss(output 0)"
        ),
        "dominance": Output(
            (),
            "float32",
            "view 1's share V1/(V1+V2) of the output's main effects V_v = sum ||f_v||^2",
        ),
    }

    @classmethod
    def dims(cls, config: ConflictConfig) -> dict[str, int]:
        width = 2 * (config.n_items - 1)
        return {"input": width, "output": width, "sample": config.n_items**2, "task": 2}

    @classmethod
    def examples(cls, config: ConflictConfig) -> int:
        return config.n_items**2

    @classmethod
    def data_bytes(cls, config: ConflictConfig) -> int:
        # Built in float64 (BUILD_COPIES arrays of 2(P−1)·P² at once), a model's targets
        # stacked in float64 and held in float32 (the inputs are shared by every model).
        entries = 2 * (config.n_items - 1) * config.n_items**2
        return entries * (8 * BUILD_COPIES + 8 + 4)

    @classmethod
    def correlation_modes(cls, config: ConflictConfig) -> Modes:
        return _config_modes(config.n_items, config.conflict, config.view_ratio)

    @cached_property
    def data_set(self) -> Batch:
        pairs = [conflict_data(c) for c in self.configs]
        x = torch.tensor(pairs[0][0], dtype=self.dtype).expand(len(pairs), -1, -1)
        y = torch.tensor(np.stack([p[1] for p in pairs]), dtype=self.dtype)
        return Batch(x, y)

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        m, width, _ = output.shape
        heads = (output - batch.y).square().unflatten(1, (2, width // 2)).sum((2, 3)) / 2
        target = batch.y.square().unflatten(1, (2, width // 2)).sum((2, 3)) / 2
        p = self.configs[0].n_items
        grid = output.unflatten(2, (p, p))  # [model, output, a, b]
        mean = grid.mean((2, 3), keepdim=True)
        v1 = (grid.mean(3, keepdim=True) - mean).square().sum((1, 2, 3)) * p
        v2 = (grid.mean(2, keepdim=True) - mean).square().sum((1, 2, 3)) * p
        return {
            "task_loss": heads,
            "explained": 1 - heads / target,
            "dominance": v1 / (v1 + v2).clamp(min=torch.finfo(output.dtype).tiny),
        }
