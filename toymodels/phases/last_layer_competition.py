"""Phase of the last of several competing layers (the ``competition_deep`` family):
redundant, specialised or collapsed, by the one-layer rule
(``toymodels.phases.layer_competition``, every threshold named there) applied to the
metrics of the hidden layer the read-out reads.

The family stores its layer metrics with a ``layer`` dim; the stored phase is one per
model, so it is the last layer's (the one the depth question asks about).  Every
layer's phase is the same rule on that layer's slice (:func:`layer_phases`), which the
depth summary reports.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import layer_competition as one_layer


def layer_slice(metrics: Mapping[str, np.ndarray], layer: int) -> dict[str, np.ndarray]:
    """The metrics ``[model, layer, *dims]`` of hidden layer ``layer`` (0-based; −1: the
    last), as ``[model, *dims]``."""
    return {k: np.asarray(v)[:, layer] for k, v in metrics.items()}


def layer_phases(metrics: Mapping[str, np.ndarray]) -> np.ndarray:
    """Integer phase codes ``[model, layer]`` (indices into ``LABELS``) of every hidden
    layer, from metrics ``[model, layer, *dims]``."""
    rule = one_layer.LAYER_COMPETITION_RULE
    needed = {k: metrics[k] for k in rule.needs}
    layers = np.asarray(metrics["dead_fraction"]).shape[1]
    codes = [rule.classify(rule.reduce(layer_slice(needed, k))) for k in range(layers)]
    return np.stack(codes, axis=1)


class LastLayerCompetitionRule(one_layer.LayerCompetitionRule):
    name = "last_layer_competition"

    def reduce(self, metrics: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return super().reduce(layer_slice({k: metrics[k] for k in self.needs}, -1))


LAST_LAYER_COMPETITION_RULE = LastLayerCompetitionRule()
