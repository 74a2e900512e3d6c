"""Phase of a network learning two tasks through one shared layer (the ``conflict`` task):
both tasks learned alike, or one task taking the shared capacity.

The rule reads each task's explained fraction ``e`` (``1 − loss / loss of output 0``) and
compares the two: the *balance* ``min(e) / max(e)`` is 1 when both tasks are learned
alike and 0 when one task is learned and the other not at all.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import PhaseRule

LABELS = ("learn_everything", "winner_take_all", "not_learned")

# The closed form's balance falls continuously from 1 (κ = 0: one shared task) to 0 (κ = 1
# in a layer with room for one task); a cell is "learn everything" while the weaker task
# has at least half the stronger one's explained fraction, the midpoint of that range.
BALANCED = 0.5
# Below this explained fraction for the better task nothing has been learned (the start
# explains ~1e-4); the balance of two near-zero fractions is noise, not a phase.
NOT_LEARNED = 0.05

THRESHOLDS = {"balanced": BALANCED, "not_learned": NOT_LEARNED}


def classify(balance: np.ndarray, learned: np.ndarray) -> np.ndarray:
    """Integer phase codes (indices into ``LABELS``); a non-finite model is not learned."""
    balance, learned = np.asarray(balance), np.asarray(learned)
    codes = np.where(balance >= BALANCED, 0, 1)
    return np.where(learned >= NOT_LEARNED, codes, 2).astype(np.int8)


def balance_and_learned(explained: np.ndarray) -> dict[str, np.ndarray]:
    """``balance = min/max`` and ``learned = max`` of the explained fractions ``[..., task]``
    (a task made worse than output 0 counts as explained 0)."""
    e = np.clip(np.asarray(explained, dtype=np.float64), 0.0, None)
    best = e.max(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        balance = np.where(best > 0, e.min(-1) / best, 1.0)
    return {"balance": balance, "learned": best}


class TaskConflictRule(PhaseRule):
    name = "task_conflict"
    labels = LABELS
    thresholds = THRESHOLDS
    needs = ("explained",)

    def reduce(self, metrics: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return balance_and_learned(metrics["explained"])

    def classify(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        return classify(values["balance"], values["learned"])


TASK_CONFLICT_RULE = TaskConflictRule()
