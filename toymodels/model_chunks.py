"""Cache-sized chunks of a batch's models, for steps that make many passes over them.

A step that runs a forward pass, a loss gradient and a backward pass over tensors
``[model, ..., example]`` makes a dozen passes over each; over a batch of all models they
live in main memory, over a chunk of a few models they stay in cache.  The step runs chunk
by chunk, each chunk's rows of every tensor in turn.  What a chunk needs for its rows is
made once and reused every step: per-model constants sliced to the rows, and scratch
buffers, shared by chunks of equal size since chunks take turns (a fresh large
allocation costs page faults every time).  How many models make a chunk is the caller's
budget in bytes over one model's bytes; the chunking never changes a number, only where
the arithmetic happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class ModelChunk:
    """Models ``rows`` of a batch: ``parts`` are what the step needs sliced to those rows,
    ``buffers`` its scratch tensors (shared with every other chunk of the same size)."""

    rows: slice
    parts: tuple
    buffers: tuple = ()


def models_per_chunk(budget_bytes: int, model_bytes: int) -> int:
    """How many models of ``model_bytes`` each fit ``budget_bytes`` (at least one)."""
    return max(1, budget_bytes // model_bytes)


def model_chunks(
    n_models: int,
    size: int,
    parts: Callable[[slice], tuple],
    buffers: Callable[[int], tuple] | None = None,
) -> list[ModelChunk]:
    """Chunks of ``size`` models (the last one smaller) covering ``n_models``; ``parts``
    gives a chunk's parts from its rows, ``buffers`` a chunk's buffers from its size."""
    chunks, made = [], {}
    for start in range(0, n_models, size):
        rows = slice(start, min(start + size, n_models))
        count = rows.stop - rows.start
        if buffers is not None and count not in made:
            made[count] = buffers(count)
        chunks.append(ModelChunk(rows, parts(rows), made.get(count, ())))
    return chunks


def prepare_grads(model: torch.nn.Module) -> None:
    """Gradient tensors, written chunk by chunk into their rows (allocated once)."""
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
