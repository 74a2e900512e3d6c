"""Phase of a layer whose units compete (the ``competition`` and ``prototypes``
families): its units duplicate one another (redundant), share the work (specialised), or
one of them took the layer (collapsed).

Signatures: collapse has the usage ``p̄`` concentrated on one
unit or most units dead; redundancy has units alive but alike; specialisation has every
alive unit doing something of its own.  Every threshold the unit metrics
(``toymodels.unit_metrics``) and this rule use is named here, with the reason beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import PhaseRule

LABELS = ("redundant", "specialised", "collapsed")

# A unit is dead when its usage p̄_k (mean responsibility) is below 1% of an equal share
# 1/K: it wins (or, for ReLU, fires) almost never and receives almost no gradient.
DEAD_SHARE = 0.01
# Two hyperplane units are the same when their weight rows have |cos| > 0.95 (within
# ~18°): the threshold the redundancy literature uses for "the same cut".
SAME_DIRECTION = 0.95
# Two prototypes (the ``prototypes`` family's units) are at the same place when closer than 10%
# of the data's RMS radius about its mean: after a split they are a cluster gap apart.
SAME_PLACE = 0.1
# Collapsed: fewer than 1.5 effective units (exp H(p̄)): one unit carries most of the
# examples, whatever the rest do ...
COLLAPSED_UNITS = 1.5
# ... or more than half the layer is dead.
COLLAPSED_DEAD = 0.5
# Redundant: at most half of the alive units are distinct (every distinct unit has a
# copy on average); a layer of two identical units is redundant, two different ones not.
REDUNDANT_SHARE = 0.5

# The phases in words, stored with the results of a family that uses this rule.
DEFINITIONS = {
    "collapsed": f"exp H(p̄) < {COLLAPSED_UNITS} or dead fraction > {COLLAPSED_DEAD}",
    "redundant": f"distinct / alive units <= {REDUNDANT_SHARE}",
    "specialised": "neither",
}

THRESHOLDS = {
    "dead_share": DEAD_SHARE,
    "same_direction": SAME_DIRECTION,
    "same_place": SAME_PLACE,
    "collapsed_units": COLLAPSED_UNITS,
    "collapsed_dead": COLLAPSED_DEAD,
    "redundant_share": REDUNDANT_SHARE,
}


def classify(effective_units, dead_fraction, distinct_share) -> np.ndarray:
    """Integer phase codes (indices into ``LABELS``)."""
    units, dead = np.asarray(effective_units), np.asarray(dead_fraction)
    share = np.asarray(distinct_share)
    collapsed = (units < COLLAPSED_UNITS) | (dead > COLLAPSED_DEAD)
    return np.where(collapsed, 2, np.where(share <= REDUNDANT_SHARE, 0, 1)).astype(np.int8)


def distinct_share(n_distinct, dead_fraction, units: int):
    """Distinct / alive units, the alive count rounded from the dead fraction (at least 1);
    numpy or xarray in, the same out."""
    alive = np.maximum(np.rint(units * (1.0 - dead_fraction)), 1.0)
    return n_distinct / alive


class LayerCompetitionRule(PhaseRule):
    name = "layer_competition"
    labels = LABELS
    thresholds = THRESHOLDS
    needs = ("effective_units", "dead_fraction", "n_distinct", "usage")

    def reduce(self, metrics: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        units = np.asarray(metrics["usage"]).shape[-1]
        dead = np.asarray(metrics["dead_fraction"], np.float64)
        distinct = np.asarray(metrics["n_distinct"], np.float64)
        return {
            "effective_units": np.asarray(metrics["effective_units"], np.float64),
            "dead_fraction": dead,
            "distinct_share": distinct_share(distinct, dead, units),
        }

    def classify(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        return classify(
            values["effective_units"], values["dead_fraction"], values["distinct_share"]
        )


LAYER_COMPETITION_RULE = LayerCompetitionRule()
