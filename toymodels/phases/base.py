"""The contract of a phase rule, and how a cell's replicates are aggregated.

A rule says which metrics it ``needs``, ``reduce``s them to per-model scalars (on the
unpadded arrays of models that share one structure), and ``classify``s such scalars into
integer codes indexing ``labels``; its thresholds are named in one place with the reason
beside each.  :func:`aggregate` turns the replicates of each grid cell into one phase by
best-of-N (the lowest-loss model) and, when the rule's scalars can be averaged, by the
superposition paper's rule (drop the highest-loss model, classify the mean of the rest).
Diverged models get a phase of their own and take no part in either.
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


#: The phase of a model whose loss or parameters are not finite: it is counted, but never
#: ranked, averaged or classified by the rule (its metrics mean nothing).
DIVERGED = "diverged"


def selection(loss: np.ndarray, diverged: np.ndarray | None = None) -> np.ndarray:
    """Loss for ranking replicates: a diverged model (non-finite loss, or marked in
    ``diverged``) is never the best and always the first discarded."""
    loss = np.asarray(loss, dtype=np.float64)
    bad = ~np.isfinite(loss) if diverged is None else ~np.isfinite(loss) | diverged
    return np.where(bad, np.inf, loss)


def aggregate(
    rule: PhaseRule,
    loss: np.ndarray,
    values: Mapping[str, np.ndarray],
    diverged: np.ndarray | None = None,
) -> dict:
    """Aggregate replicates (the last axis) into one phase per cell.

    Codes index ``labels``: the rule's labels, then :data:`DIVERGED`.  A model is diverged
    when its loss is not finite or ``diverged`` marks it (e.g. non-finite parameters); it
    is left out of everything below, and a cell all of whose models diverged is diverged.

    - ``best``: the lowest-loss model's phase (best-of-N);
    - ``paper`` (rules with ``averaged``): drop the highest-loss model, average the rest's
      scalars, classify the average; the averages are returned as ``paper_<name>``.  With a
      single (finite) replicate nothing is dropped;
    - ``fraction``: share of replicates in each phase, ``[..., len(labels)]``;
    - ``model``: each model's phase.
    """
    sel = selection(loss, diverged)
    bad = np.isinf(sel)
    code = len(rule.labels)
    labels = (*rule.labels, DIVERGED)
    values = {k: np.asarray(v, np.float64) for k, v in values.items()}
    best_idx = np.argmin(sel, axis=-1)[..., None]
    best = rule.classify(
        {k: np.take_along_axis(v, best_idx, -1)[..., 0] for k, v in values.items()}
    )
    all_bad = bad.all(-1)
    best = np.where(all_bad, code, best).astype(np.int8)
    per_model = np.where(bad, code, rule.classify(values)).astype(np.int8)
    fraction = np.stack([(per_model == c).mean(-1) for c in range(len(labels))], axis=-1)
    out = {"best": best, "fraction": fraction, "model": per_model, "labels": labels}
    if rule.averaged:
        keep = ~bad
        n_kept = keep.sum(-1, keepdims=True)
        worst = np.argmax(np.where(bad, -np.inf, sel), axis=-1)[..., None]
        drop = np.zeros_like(keep)
        np.put_along_axis(drop, worst, True, axis=-1)
        keep &= ~(drop & (n_kept > 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = {k: np.where(keep, v, 0.0).sum(-1) / keep.sum(-1) for k, v in values.items()}
        out["paper"] = np.where(all_bad, code, rule.classify(means)).astype(np.int8)
        out |= {f"paper_{k}": v for k, v in means.items()}
    return out
