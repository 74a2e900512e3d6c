"""The one training engine, for every family and estimator.

``train`` builds the batch of models (each initialised from its own seed), steps the
chosen estimator and optimiser, and measures what was learned.  Work is vectorised over
the model axis; with ``threads > 1`` the models are split into groups trained side by side
in threads (each group's arithmetic is single-threaded, so results do not depend on the
number of threads).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch

from .config import ModelConfig, TrainConfig
from .data import UniformBlocks
from .errors import ConfigError
from .estimators import ESTIMATORS
from .families import FAMILIES, ToyModel
from .seeds import STREAM_EVAL

# Rows per evaluation block: bounds memory of the final fresh-sample loss.
_EVAL_ROWS = 4096
# Bytes of one evaluation batch when a large group is measured a slice of models at a time.
_EVAL_SLICE_BYTES = 32 * 2**20
# How often (in steps) progress is reported.
_PROGRESS_EVERY = 100

Progress = Callable[[int], None]


@dataclass
class TrainResult:
    """Everything learned by a batch of models, as numpy arrays with a leading model axis."""

    params: dict[str, np.ndarray]
    loss: np.ndarray  # final loss on fresh samples, [model]
    loss_exact: np.ndarray | None  # exact expected loss where the family has it, [model]
    metrics: dict[str, np.ndarray] = field(default_factory=dict)  # [model, feature]
    seconds: float = 0.0


@contextmanager
def _torch_threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def build_model(
    configs: Sequence[ModelConfig],
    seeds: Sequence[np.random.SeedSequence],
    train: TrainConfig,
) -> ToyModel:
    """The batch of models ``train`` would start from (validated against the estimator)."""
    family = FAMILIES[configs[0].family]
    family.check_estimator(train.estimator, configs[0])
    dtype = ESTIMATORS[train.estimator].dtype
    return family(configs, seeds, init_scale=train.init_scale, dtype=dtype)


def train(
    configs: Sequence[ModelConfig],
    train_cfg: TrainConfig,
    seeds: Sequence[np.random.SeedSequence],
    *,
    threads: int = 1,
    progress: Progress | None = None,
) -> TrainResult:
    """Train one model per ``(config, seed)`` pair; all configs must share a structure."""
    if len(configs) != len(seeds):
        raise ValueError(f"{len(configs)} configs but {len(seeds)} seeds")
    if len({c.structure() for c in configs}) != 1:
        raise ConfigError("models trained together must share family, n_features and n_hidden")
    start = time.perf_counter()
    groups = _groups(len(configs), configs[0], train_cfg, threads)

    def run(group: np.ndarray) -> TrainResult:
        return _train_group(
            [configs[i] for i in group], [seeds[i] for i in group], train_cfg, progress
        )

    with _torch_threads(1):
        if threads == 1 or len(groups) == 1:
            parts = [run(g) for g in groups]
        else:
            with ThreadPoolExecutor(min(threads, len(groups))) as pool:
                parts = list(pool.map(run, groups))
    result = _concat(parts)
    result.seconds = time.perf_counter() - start
    return result


def _groups(count: int, config: ModelConfig, train_cfg: TrainConfig, threads: int):
    """Split models into groups trained one after another, ``threads`` at a time.

    Groups bound memory (a group's random-number blocks and buffers) and come in a multiple
    of ``threads`` equal parts so the threads finish together.  A model's numbers do not
    depend on its group: every model has its own streams and all arithmetic is per model.
    """
    most = ESTIMATORS[train_cfg.estimator].group_models(config, train_cfg)
    threads = max(1, threads)
    rounds = -(-count // (most * threads))  # ceil
    parts = min(count, rounds * threads)
    return [g for g in np.array_split(np.arange(count), parts) if len(g)]


def _train_group(configs, seeds, train_cfg: TrainConfig, progress: Progress | None) -> TrainResult:
    from .optim import make_optimizer

    model = build_model(configs, seeds, train_cfg)
    estimator = ESTIMATORS[train_cfg.estimator](model, train_cfg)
    opt, sched = make_optimizer(model.parameters(), train_cfg)
    done = 0
    for step in range(train_cfg.steps):
        estimator.step(need_loss=False)
        opt.step()
        sched.step()
        if progress is not None and (step + 1) % _PROGRESS_EVERY == 0:
            progress((step + 1 - done) * model.n_models)
            done = step + 1
    if progress is not None and done < train_cfg.steps:
        progress((train_cfg.steps - done) * model.n_models)
    del estimator, opt, sched
    result = _measure_in_slices(model, train_cfg)
    del model
    _return_free_memory()
    return result


def _measure_in_slices(model: ToyModel, train_cfg: TrainConfig) -> TrainResult:
    """:func:`measure`, a slice of models at a time so that the evaluation batch stays
    within ``_EVAL_SLICE_BYTES`` (exact-estimator groups hold thousands of models).  Every
    model has its own evaluation stream, so slicing changes no number."""
    n = model.configs[0].n_features
    itemsize = torch.finfo(model.dtype).bits // 8
    size = max(1, _EVAL_SLICE_BYTES // (n * min(train_cfg.eval_batch, _EVAL_ROWS) * itemsize))
    if model.n_models <= size:
        return measure(model, train_cfg.eval_batch)
    parts = []
    for start in range(0, model.n_models, size):
        rows = slice(start, start + size)
        part = build_model(model.configs[rows], model.seeds[rows], train_cfg)
        with torch.no_grad():
            for name, param in part.named_parameters():
                param.copy_(getattr(model, name)[rows])
        parts.append(measure(part, train_cfg.eval_batch))
    return _concat(parts)


@cache
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _return_free_memory() -> None:
    """Hand freed heap memory back to the system after a group.  glibc keeps a heap arena
    per thread, and without this their leftovers add up over many groups (measured: 64,000
    models on 2 threads peaked at 1.1 GiB instead of 0.76); a no-op without glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def measure(model: ToyModel, eval_batch: int) -> TrainResult:
    """Final loss on ``eval_batch`` fresh examples per model, exact loss when available,
    parameters and per-feature metrics."""
    with torch.no_grad():
        loss = evaluate(model, eval_batch)
        exact = None
        if "exact" in model.estimators:
            try:
                model.check_estimator("exact", model.configs[0])
            except ConfigError:
                pass
            else:
                exact = model.expected_loss().double().numpy()
        params = {k: v.detach().float().numpy().copy() for k, v in model.named_parameters()}
        metrics = {k: v.float().numpy() for k, v in model.metrics().items()}
    return TrainResult(params=params, loss=loss, loss_exact=exact, metrics=metrics)


def evaluate(model: ToyModel, eval_batch: int) -> np.ndarray:
    """Mean loss per model over ``eval_batch`` fresh examples from the evaluation stream."""
    rows = min(eval_batch, _EVAL_ROWS)
    blocks = UniformBlocks(model.seeds, STREAM_EVAL, model.sample_shape(rows))
    total = torch.zeros(model.n_models, dtype=torch.float64)
    remaining = eval_batch
    while remaining > 0:
        take = min(rows, remaining)
        batch = model.draw(blocks.next())[..., :take]
        total += model.batch_loss(batch, 1.0).double()
        remaining -= take
    return (total / eval_batch).numpy()


def _concat(parts: list[TrainResult]) -> TrainResult:
    if len(parts) == 1:
        return parts[0]

    def cat(key, dicts):
        return np.concatenate([d[key] for d in dicts])

    return TrainResult(
        params={k: cat(k, [p.params for p in parts]) for k in parts[0].params},
        loss=np.concatenate([p.loss for p in parts]),
        loss_exact=None
        if parts[0].loss_exact is None
        else np.concatenate([p.loss_exact for p in parts]),
        metrics={k: cat(k, [p.metrics for p in parts]) for k in parts[0].metrics},
    )
