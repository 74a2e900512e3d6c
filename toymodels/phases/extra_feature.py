"""Phase of the extra (last) feature of a superposition model (paper, "Superposition as a
Phase Change"): not represented, given a dedicated dimension, or stored in superposition.

Classification uses the extra feature's norm ``‖W_i‖`` and interference
``Σ_{j≠i} (Ŵ_i·W_j)²`` (j = i excluded), the two quantities the paper's figure colours by.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import PhaseRule, aggregate

LABELS = ("not_represented", "dedicated", "superposition")

# A represented feature has ‖W_i‖ ≈ 1 (it reproduces x_i ≈ ‖W_i‖² x_i) and an ignored
# one decays towards 0; 0.5 is the midpoint, and trained models sit far from it except
# in the thin band around a phase boundary.
NORM_REPRESENTED = 0.5
# A dedicated dimension gives interference 0 and an antipodal pair exactly 1; the
# smallest symmetric superposition of 3 features in 2 dimensions (a triangle) gives 0.5.
# 0.25 separates "no interference" from all of these with margin on both sides.
INTERFERENCE_SUPERPOSED = 0.25

THRESHOLDS = {
    "norm_represented": NORM_REPRESENTED,
    "interference_superposed": INTERFERENCE_SUPERPOSED,
}


def classify(norm: np.ndarray, interference: np.ndarray) -> np.ndarray:
    """Integer phase codes (indices into ``LABELS``) from the extra feature's metrics."""
    norm, interference = np.asarray(norm), np.asarray(interference)
    codes = np.where(interference >= INTERFERENCE_SUPERPOSED, 2, 1)
    return np.where(norm < NORM_REPRESENTED, 0, codes).astype(np.int8)


class ExtraFeature(PhaseRule):
    name = "extra_feature"
    labels = LABELS
    thresholds = THRESHOLDS
    needs = ("norm", "interference")

    def reduce(self, metrics: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        # The extra feature is each model's own last one.
        return {k: np.asarray(metrics[k])[:, -1] for k in self.needs}

    def classify(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        return classify(values["norm"], values["interference"])


EXTRA_FEATURE_RULE = ExtraFeature()


def aggregate_extra_feature(loss: np.ndarray, norm: np.ndarray, interference: np.ndarray) -> dict:
    """:func:`toymodels.phases.base.aggregate` for this rule, from the extra feature's norm
    and interference ``[..., seed]``."""
    return aggregate(EXTRA_FEATURE_RULE, loss, {"norm": norm, "interference": interference})
