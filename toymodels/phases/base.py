"""The contract of a phase rule, and how a cell's replicates are aggregated.

A rule says which metrics it ``needs``, ``reduce``s them to per-model scalars (on the
unpadded arrays of models that share one structure), and ``classify``s such scalars into
integer codes indexing ``labels``; its thresholds are named in one place with the reason
beside each.  :func:`aggregate` turns the replicates of each grid cell into one phase by
best-of-N (the lowest-loss model) and, when the rule's scalars can be averaged, by the
superposition paper's rule (drop the highest-loss model, classify the mean of the rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np


class PhaseRule:
    name: ClassVar[str]
    labels: ClassVar[tuple[str, ...]]
    thresholds: ClassVar[dict[str, float]]
    #: the metrics (declared by the family) the rule reads
    needs: ClassVar[tuple[str, ...]]
    #: whether classifying the mean of several models' scalars is meaningful
    averaged: ClassVar[bool] = True

    def reduce(self, metrics: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-model scalars ``[model]`` from metrics ``[model, *dims]`` of one structure."""
        raise NotImplementedError

    def classify(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Integer codes (``int8``, indices into ``labels``), shaped like the values."""
        raise NotImplementedError


def selection(loss: np.ndarray) -> np.ndarray:
    """Loss for ranking replicates: a diverged model (NaN loss) is never the best and always
    the first discarded."""
    loss = np.asarray(loss, dtype=np.float64)
    return np.where(np.isfinite(loss), loss, np.inf)


def aggregate(rule: PhaseRule, loss: np.ndarray, values: Mapping[str, np.ndarray]) -> dict:
    """Aggregate replicates (the last axis) into one phase per cell.

    - ``best``: the lowest-loss model's phase (best-of-N);
    - ``paper`` (rules with ``averaged``): drop the highest-loss model, average the rest's
      scalars, classify the average; the averages are returned as ``paper_<name>``.  With a
      single replicate nothing is dropped;
    - ``fraction``: share of replicates in each phase, ``[..., len(labels)]``.
    """
    sel = selection(loss)
    values = {k: np.asarray(v, np.float64) for k, v in values.items()}
    n = sel.shape[-1]
    best_idx = np.argmin(sel, axis=-1)[..., None]
    best = rule.classify(
        {k: np.take_along_axis(v, best_idx, -1)[..., 0] for k, v in values.items()}
    )
    per_model = rule.classify(values)
    fraction = np.stack([(per_model == c).mean(-1) for c in range(len(rule.labels))], axis=-1)
    out = {"best": best, "fraction": fraction, "model": per_model}
    if rule.averaged:
        keep = np.ones(sel.shape, dtype=bool)
        if n > 1:
            worst = np.argmax(np.where(np.isinf(sel), np.inf, sel), axis=-1)[..., None]
            np.put_along_axis(keep, worst, False, axis=-1)
        means = {k: (v * keep).sum(-1) / keep.sum(-1) for k, v in values.items()}
        out["paper"] = rule.classify(means)
        out |= {f"paper_{k}": v for k, v in means.items()}
    return out
