"""Tasks by name (``task = "..."`` in a spec): the data a model learns and its loss.

- ``features``: sparse features to reconstruct (the superposition models' task);
- ``clusters``: a labelled Gaussian mixture to classify.
"""

from .base import Batch, Task
from .clusters import Clusters
from .features import Features

TASKS: dict[str, type[Task]] = {
    "features": Features,
    "clusters": Clusters,
}

__all__ = ["TASKS", "Batch", "Task"]
