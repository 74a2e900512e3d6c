"""The worker: trains one chunk and returns plain arrays (no torch objects, no files).

A module-level function of a picklable :class:`ChunkTask`, so loky processes and Dask
workers on other machines run it alike; the main process writes what it returns.  The
arrays are exactly those the schema declares for the chunk's models (``_schema``).
"""

from __future__ import annotations

import numpy as np

from ._plan import ChunkTask
from ._schema import TRAJECTORY, chunk_arrays


def train_chunk(task: ChunkTask, progress=None, threads: int = 1) -> dict[str, np.ndarray]:
    """Train the chunk's models together (one batched program, single-threaded unless
    ``threads`` cores are free for it and its steps give the same numbers on them:
    ``toymodels.engine.step_thread_count``)."""
    from toymodels import train

    result = train(
        list(task.configs),
        task.train,
        list(task.seeds),
        threads=1,
        step_threads=threads,
        progress=progress,
    )
    found = {
        "cell": task.cells,
        "replicate": task.replicates,
        **result.params,
        **result.metrics,
        "loss": result.loss,
        "loss_exact": result.loss_exact,
        "train_loss": result.train_loss,
        "penalty": result.penalty,
        **{k + TRAJECTORY: v for k, v in result.trajectory.items()},
    }
    out = {}
    for name, (dtype, shape) in chunk_arrays(task.configs[0], task.train).items():
        value = found.get(name)
        if value is None:  # declared but not measurable here (an exact loss out of reach)
            value = np.full((len(task.configs), *shape), np.nan)
        out[name] = np.ascontiguousarray(value, dtype=dtype)
        if out[name].shape[1:] != shape:
            raise RuntimeError(
                f"{task.configs[0].family}: {name} has shape {out[name].shape[1:]}, "
                f"declared {shape}"
            )
    return out
