"""Phase of the extra (last) feature of a superposition model (paper, "Superposition as a
Phase Change"): not represented, given a dedicated dimension, or stored in superposition.

Classification uses the extra feature's norm ``‖W_i‖`` and interference
``Σ_{j≠i} (Ŵ_i·W_j)²`` (j = i excluded), the two quantities the paper's figure colours by.
"""

from __future__ import annotations

import numpy as np

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


def _selection_loss(loss: np.ndarray) -> np.ndarray:
    # A diverged model (NaN loss) is never the best and always the first discarded.
    return np.where(np.isfinite(loss), loss, np.inf)


def aggregate(loss: np.ndarray, norm: np.ndarray, interference: np.ndarray) -> dict:
    """Aggregate replicates (last axis) into one phase per cell.

    - ``paper``: drop the highest-loss model, average the rest's norm and interference,
      classify the average (the paper's rule);
    - ``best``: classify the lowest-loss model (best-of-N);
    - ``fraction``: share of replicates in each phase, ``[..., len(LABELS)]``.
    With a single replicate nothing is dropped.
    """
    sel = _selection_loss(np.asarray(loss, dtype=np.float64))
    norm, interference = np.asarray(norm, np.float64), np.asarray(interference, np.float64)
    n = sel.shape[-1]
    best_idx = np.argmin(sel, axis=-1)[..., None]
    best = classify(
        np.take_along_axis(norm, best_idx, -1)[..., 0],
        np.take_along_axis(interference, best_idx, -1)[..., 0],
    )
    keep = np.ones(sel.shape, dtype=bool)
    if n > 1:
        worst = np.argmax(np.where(np.isinf(sel), np.inf, sel), axis=-1)[..., None]
        np.put_along_axis(keep, worst, False, axis=-1)
    mean_norm = (norm * keep).sum(-1) / keep.sum(-1)
    mean_int = (interference * keep).sum(-1) / keep.sum(-1)
    paper = classify(mean_norm, mean_int)
    per_model = classify(norm, interference)
    fraction = np.stack([(per_model == c).mean(-1) for c in range(len(LABELS))], axis=-1)
    return {
        "paper": paper,
        "best": best,
        "fraction": fraction,
        "paper_norm": mean_norm,
        "paper_interference": mean_int,
    }
