"""The worker: trains one chunk and returns plain arrays (no torch objects, no files).

A module-level function of a picklable :class:`ChunkTask`, so loky processes and Dask
workers on other machines run it alike; the main process writes what it returns.
"""

from __future__ import annotations

import numpy as np

from ._plan import ChunkTask

# Per-model arrays of a chunk and their dtypes (the results dataset's, see common schema).
ARRAYS = {
    "cell": np.int64,
    "replicate": np.int64,
    "W": np.float32,
    "b": np.float32,
    "loss": np.float64,
    "loss_exact": np.float64,
    "norm": np.float32,
    "interference": np.float32,
    "dimensionality": np.float32,
}


def train_chunk(task: ChunkTask, progress=None) -> dict[str, np.ndarray]:
    """Train the chunk's models together (one single-threaded batched program)."""
    from toymodels import train

    result = train(list(task.configs), task.train, list(task.seeds), threads=1, progress=progress)
    loss_exact = result.loss_exact
    if loss_exact is None:
        loss_exact = np.full(len(task.configs), np.nan)
    out = {
        "cell": task.cells,
        "replicate": task.replicates,
        "W": result.params["W"],
        "b": result.params["b"],
        "loss": result.loss,
        "loss_exact": loss_exact,
        **{k: result.metrics[k] for k in ("norm", "interference", "dimensionality")},
    }
    return {k: np.ascontiguousarray(v, dtype=ARRAYS[k]) for k, v in out.items()}
