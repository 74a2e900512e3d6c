"""Estimators of the expected loss, by name (``TrainConfig.estimator``).

- ``sampled``: fresh batches (the paper's protocol);
- ``patterns``: sparsity patterns enumerated with their probabilities, values sampled;
- ``exact``: closed-form expectation (families that have one);
- ``full``: the whole of a finite data set every step (full-batch gradient descent).
"""

from .base import Estimator
from .exact import Exact
from .full import Full
from .patterns import Patterns
from .sampled import Sampled

ESTIMATORS: dict[str, type[Estimator]] = {
    "sampled": Sampled,
    "patterns": Patterns,
    "exact": Exact,
    "full": Full,
}

__all__ = ["ESTIMATORS", "Estimator"]
