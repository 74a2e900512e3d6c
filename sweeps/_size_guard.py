"""How big a sweep is, checked before anything is written or trained.

A sweep whose results cannot fit in memory is refused outright: consolidation holds every
model's arrays at once (twice, while the written file is read back).  So is one whose
training cannot: what a model holds while it trains (its data set, a step's activations,
its metrics' matrices, as its family, task and estimator declare them:
``toymodels.memory``), a group of models at a time in each worker.  A large one, more
than :data:`LARGE_MODELS` models or :data:`LARGE_MODEL_STEPS` model-steps, starts only
when confirmed (``yes``); the refusal says how many models, how much memory and how long,
the time measured by training its first cell's models for a few steps.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import numpy as np

from toymodels.errors import ConfigError
from toymodels.tasks import TASKS

from ._schema import INDEX_ARRAYS, chunk_arrays
from .spec import SweepSpec

# Above either, a sweep runs for hours on a laptop core (the fastest family trains about
# 1e6 model-steps/s per core, the competitive layer 5e4) or its results take gigabytes.
LARGE_MODELS = 1_000_000
LARGE_MODEL_STEPS = 1_000_000_000
# Consolidation holds the results once and reading them back a second time.
RESULT_COPIES = 2
# Bookkeeping beside the declared arrays, per model: the plan's model numbers, the
# diverged flag, the phase label (text of up to 16 characters); per cell: two phase
# labels, the phase fractions (up to 8 phases) and the cell index.
MODEL_OVERHEAD = 3 * 8 + 1 + 4 * 16
CELL_OVERHEAD = 2 * 4 * 16 + 8 * 8 + 8
# Share of the available memory a sweep may plan to use (the rest is torch, the OS, ...).
MEMORY_SHARE = 0.8
# The timing runs: long enough to measure, short enough to wait for.
TIMED_SECONDS = 0.2
MAX_TIMED_STEPS = 1024


@dataclasses.dataclass(frozen=True)
class SizeEstimate:
    models: int
    model_steps: int
    memory_bytes: int  # the results in memory while they are consolidated and read back
    largest: tuple[str, tuple[int, ...]]  # each model's largest array: name, shape
    per_model_bytes: int
    # The final loss on eval_batch fresh examples, in steps of batch_size examples (a
    # forward pass, cheaper than a step): a cost of its own when eval_batch is huge.
    eval_examples: int = 0
    eval_steps: int = 0

    @property
    def work(self) -> int:
        """Model-steps, the final evaluation's included."""
        return self.model_steps + self.models * self.eval_steps

    @property
    def large(self) -> bool:
        return self.models > LARGE_MODELS or self.work > LARGE_MODEL_STEPS


def estimate(spec: SweepSpec) -> SizeEstimate:
    """Models, model-steps and result memory of ``spec``, from its first and last cells
    (sizes and steps are largest at one end of an axis)."""
    per_model = steps = most = eval_examples = eval_steps = 0
    largest = ("loss", ())
    for cell in {0, spec.n_cells - 1}:
        point = spec.cell_point(cell)
        train = spec.train_config(point)
        arrays = chunk_arrays(spec.model_config(point), train)
        sizes = {k: dtype.itemsize * math.prod(shape) for k, (dtype, shape) in arrays.items()}
        per_model = max(per_model, sum(sizes.values()) + MODEL_OVERHEAD)
        name = max((k for k in sizes if k not in INDEX_ARRAYS), key=sizes.get)
        if sizes[name] > most:
            most, largest = sizes[name], (name, arrays[name][1])
        steps = max(steps, train.steps)
        if not TASKS[spec.task].fixed:
            eval_examples = max(eval_examples, train.eval_batch)
            eval_steps = max(eval_steps, -(-train.eval_batch // train.batch_size))
    axis = spec.axis("steps")
    if axis is not None:
        steps = max(int(v) for v in axis.values)
    return SizeEstimate(
        models=spec.n_models,
        model_steps=spec.n_models * steps,
        memory_bytes=RESULT_COPIES * (spec.n_models * per_model + spec.n_cells * CELL_OVERHEAD),
        largest=largest,
        per_model_bytes=per_model,
        eval_examples=eval_examples,
        eval_steps=eval_steps,
    )


@dataclasses.dataclass(frozen=True)
class TrainingEstimate:
    per_model: int  # bytes one model holds while it trains
    largest: list[tuple[str, int]]  # what holds most of them, and how much
    dims: dict[str, int]  # the model's sizes
    together: int  # models a worker trains at once
    workers: int  # workers training at once

    @property
    def memory_bytes(self) -> int:
        return self.workers * self.together * self.per_model


def training_estimate(spec: SweepSpec, jobs: int) -> TrainingEstimate:
    """What the workers hold while they train, from the first and last cells (sizes are
    largest at one end of an axis)."""
    from toymodels.memory import training_memory

    worst = None
    for cell in {0, spec.n_cells - 1}:
        point = spec.cell_point(cell)
        memory = training_memory(spec.model_config(point), spec.train_config(point))
        together = min(memory.group, spec.chunk_size, spec.n_models)
        if worst is None or together * memory.per_model > worst[0] * worst[1].per_model:
            worst = (together, memory)
    together, memory = worst
    chunks = -(-spec.n_models // spec.chunk_size)
    return TrainingEstimate(
        memory.per_model, memory.largest, memory.dims, together, min(jobs, chunks)
    )


def check_size(spec: SweepSpec, jobs: int, yes: bool) -> None:
    """Refuse what cannot fit in memory; refuse a large sweep unless ``yes``."""
    available = available_memory()
    if available is not None:
        check_training(spec, jobs, available)
    size = estimate(spec)
    if available is not None and size.memory_bytes > MEMORY_SHARE * available:
        name, shape = size.largest
        dims = " x ".join(f"{n:,}" for n in shape) or "1"
        raise ConfigError(
            f"this sweep needs about {bytes_text(size.memory_bytes)} of memory for its "
            f"results ({_count(spec.n_cells, 'cell')} x {_count(spec.seeds, 'seed')}, each "
            f"model trained {size.model_steps // size.models:,} steps and storing "
            f"{bytes_text(size.per_model_bytes)}, its largest array {name} {dims}), more than "
            f"the {bytes_text(available)} available; use fewer or smaller models"
        )
    if size.large and not yes:
        seconds = size.work * seconds_per_model_step(spec) / max(1, jobs)
        steps = size.model_steps // size.models
        evaluation = (
            f" and a final loss on {size.eval_examples:,} examples each"
            if size.eval_steps > steps
            else ""
        )
        raise ConfigError(
            f"this sweep is large: {_count(size.models, 'model')} x {steps:,} steps{evaluation}, "
            f"about {bytes_text(size.memory_bytes)} of memory and {_duration(seconds)} on "
            f"{_count(jobs, 'worker')}; rerun with --yes (yes=True) to start it"
        )


def check_training(spec: SweepSpec, jobs: int, available: int) -> None:
    """Refuse a sweep whose workers cannot hold what they train."""
    size = training_estimate(spec, jobs)
    if size.memory_bytes <= MEMORY_SHARE * available:
        return
    what = "; ".join(f"{name}: {bytes_text(held)}" for name, held in size.largest)
    dims = ", ".join(f"{name} {n:,}" for name, n in size.dims.items())
    one = f"one model ({dims}) needs about {bytes_text(size.per_model)} of memory while it trains"
    if size.together * size.workers == 1:
        where = ""
    else:
        where = (
            f", {_count(size.together, 'model')} at a time in each of "
            f"{_count(size.workers, 'worker')}: {bytes_text(size.memory_bytes)}"
        )
    fewer = "fewer jobs (--jobs) or " if size.workers > 1 else ""
    raise ConfigError(
        f"this sweep cannot be trained in memory: {one} ({what}){where}, "
        f"more than the {bytes_text(available)} available; use {fewer}smaller models"
    )


def seconds_per_model_step(spec: SweepSpec) -> float:
    """Training time per model-step of the first cell's models, trained together as a
    full chunk would be, in this process with one thread.  The extra steps grow until
    they take :data:`TIMED_SECONDS` (small models take microseconds a step), and the time
    of one step is subtracted to cancel set-up and the final evaluation."""
    from toymodels import train

    from ._plan import Chunk, chunk_task

    count = min(spec.chunk_size, spec.n_models)
    task = chunk_task(spec, Chunk(0, np.zeros(count, dtype=np.int64)))

    def timed(steps: int) -> float:
        # One evaluation example: the final evaluation is not what is being timed.
        config = dataclasses.replace(task.train, steps=steps, record_every=None, eval_batch=1)
        start = time.perf_counter()
        train(list(task.configs), config, list(task.seeds), threads=1)
        return time.perf_counter() - start

    base = timed(1)
    extra = 4
    while True:
        took = timed(1 + extra) - base
        if took >= TIMED_SECONDS or extra >= MAX_TIMED_STEPS:
            return max(took, 0.0) / extra / count
        extra *= 4


def available_memory() -> int | None:
    """Bytes the system can give a new process (MemAvailable), else physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def bytes_text(n: float) -> str:
    """``n`` bytes in the largest binary unit below it, e.g. ``1.5 GiB``."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    k = min(int(math.log(max(n, 1.0), 1024)), len(units) - 1)
    return f"{n / 1024**k:.1f} {units[k]}" if k else f"{n:.0f} bytes"


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
