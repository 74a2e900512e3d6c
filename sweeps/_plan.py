"""The chunk plan: which models are trained together, fixed by the spec alone.

Models are numbered ``cell * seeds + replicate`` (cells in C order over the axes).  Cells
whose structure and training settings agree form a group (one batched program); each
group's models, in order, are cut into near-equal chunks of at most ``chunk_size``.
The plan never depends on jobs or backend, so neither do the numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from toymodels.model_config import ModelConfig
from toymodels.seeds import model_seed
from toymodels.train_config import TrainConfig

from .spec import SweepSpec


@dataclass(frozen=True)
class Chunk:
    """Chunk ``index`` of the plan: flat model numbers ``models`` (ascending)."""

    index: int
    models: np.ndarray  # [model] int64

    @property
    def size(self) -> int:
        return len(self.models)


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to train one chunk (picklable; no global state)."""

    index: int
    configs: tuple[ModelConfig, ...]
    train: TrainConfig
    seeds: tuple[np.random.SeedSequence, ...]
    cells: np.ndarray  # [model] int64
    replicates: np.ndarray  # [model] int64


def plan_chunks(spec: SweepSpec) -> list[Chunk]:
    """The chunks of ``spec`` in a fixed order (groups by first cell, then position)."""
    shape = spec.shape
    cells = np.arange(spec.n_cells, dtype=np.int64)
    per_model = spec.per_model_fields
    group_dims = [i for i, a in enumerate(spec.axes) if a.name not in per_model]
    if group_dims:
        index = np.unravel_index(cells, shape)
        group = np.ravel_multi_index([index[i] for i in group_dims], [shape[i] for i in group_dims])
    else:
        group = np.zeros_like(cells)
    # A stable sort by group keeps cells ascending inside each group, and groups come in
    # order of their first cell (C order over the axes).
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    reps = np.arange(spec.seeds, dtype=np.int64)
    chunks: list[Chunk] = []
    for group_cells in np.split(cells[order], bounds):
        models = (group_cells[:, None] * spec.seeds + reps).ravel()
        pieces = -(-len(models) // spec.chunk_size)
        for part in np.array_split(models, pieces):
            chunks.append(Chunk(len(chunks), part))
    return chunks


def chunk_task(spec: SweepSpec, chunk: Chunk) -> ChunkTask:
    """The configs and seeds of a chunk's models, drawn before dispatch."""
    cells = chunk.models // spec.seeds
    replicates = chunk.models % spec.seeds
    configs: dict[int, ModelConfig] = {}
    for cell in np.unique(cells).tolist():
        configs[cell] = spec.model_config(spec.cell_point(cell))
    train = spec.train_config(spec.cell_point(int(cells[0])))
    return ChunkTask(
        index=chunk.index,
        configs=tuple(configs[c] for c in cells.tolist()),
        train=train,
        seeds=tuple(
            model_seed(spec.root_seed, c, r)
            for c, r in zip(cells.tolist(), replicates.tolist(), strict=True)
        ),
        cells=cells,
        replicates=replicates,
    )


def chunk_tasks(spec: SweepSpec, chunks: list[Chunk]) -> Iterator[ChunkTask]:
    """Tasks built lazily, so a huge plan never holds every model's config at once."""
    for chunk in chunks:
        yield chunk_task(spec, chunk)
