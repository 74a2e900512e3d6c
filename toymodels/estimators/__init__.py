"""Estimators of the expected loss, by name (``TrainConfig.estimator``).

- ``sampled``: fresh batches (the paper's protocol);
- ``patterns``: sparsity patterns enumerated with their probabilities, values sampled;
- ``exact``: closed-form expectation (families that have one).
"""

from .base import Estimator
from .exact import Exact
from .patterns import Patterns
from .sampled import Sampled

ESTIMATORS: dict[str, type[Estimator]] = {
    "sampled": Sampled,
    "patterns": Patterns,
    "exact": Exact,
}

__all__ = ["ESTIMATORS", "Estimator"]
