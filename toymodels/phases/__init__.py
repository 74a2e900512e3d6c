"""Phase rules by model family: how a trained model is put into a phase.

A rule module offers ``LABELS``, ``THRESHOLDS`` (named, with reasons in the module),
``classify(...)`` and ``aggregate(loss, ...)`` over a trailing replicate axis.  A family
with different phases (e.g. redundant / specialised / collapsed hidden units) adds a
module here and a line below.
"""

from types import ModuleType

from . import extra_feature

PHASE_RULES: dict[str, ModuleType] = {
    "relu": extra_feature,
    "linear": extra_feature,
}

__all__ = ["PHASE_RULES", "extra_feature"]
