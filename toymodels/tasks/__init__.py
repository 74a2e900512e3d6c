"""Tasks by name (``task = "..."`` in a spec): the data a model learns and its loss.

- ``features``: sparse features to reconstruct (the superposition models' task);
- ``clusters``: a labelled Gaussian mixture to classify;
- ``annealing``: prototypes (the ``prototypes`` family) on the same mixture, the free
  energy of soft k-means as the loss (the deterministic-annealing setting);
- ``contextual``: 8 objects in K contexts, context-independent and context-specific
  features to output (the multi-task data set of the mixed-selectivity experiments);
- ``conflict``: items seen in two views, two tasks, and the conflict κ between them (the
  pathway-conflict data set).
"""

from .annealing import Annealing
from .base import Batch, Task
from .clusters import Clusters
from .conflict import Conflict
from .contextual import Contextual
from .features import Features

TASKS: dict[str, type[Task]] = {
    "features": Features,
    "clusters": Clusters,
    "annealing": Annealing,
    "contextual": Contextual,
    "conflict": Conflict,
}

__all__ = ["TASKS", "Batch", "Task"]
