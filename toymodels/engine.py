"""The one training engine, for every family, task and estimator.

``train`` builds the batch of models (each initialised from its own seed), steps the
chosen estimator, regulariser and optimiser, records a trajectory when asked, and measures
what was learned.  Work is vectorised over the model axis; with ``threads > 1`` the models
are split into groups trained side by side in threads (each group's arithmetic is
single-threaded, so results do not depend on the number of threads).  With
``step_threads > 1``, a family whose step is thread-exact
(:attr:`~toymodels.families.ToyModel.thread_exact_step`) runs its steps on that many
intra-op threads instead: one batch of models, its products split over the cores, and the
same numbers (what it measures along the way is measured on one thread).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch

from .errors import ConfigError
from .estimators import ESTIMATORS
from .families import FAMILIES, ToyModel
from .memory import models_per_group
from .model_config import ModelConfig
from .random_words import UniformBlocks
from .recording import (
    Recorder,
    metrics_need_probe,
    probe_batch,
    snapshot,
)
from .regularisers import REGULARISERS
from .seeds import STREAM_EVAL
from .threads import torch_threads
from .train_config import TrainConfig

# Rows per evaluation block: bounds memory of the final fresh-sample loss.
_EVAL_ROWS = 4096
# Bytes of one evaluation batch when a large group is measured a slice of models at a time.
_EVAL_SLICE_BYTES = 32 * 2**20
# How often (in steps) progress is reported.
_PROGRESS_EVERY = 100

# progress(model_steps): model-steps (models x steps) trained since the last call.
StepProgress = Callable[[int], None]


@dataclass
class TrainResult:
    """Everything learned by a batch of models, as numpy arrays with a leading model axis."""

    params: dict[str, np.ndarray]  # the family's declared parameters, [model, *dims]
    loss: np.ndarray  # final loss on fresh samples from the evaluation stream, [model]
    loss_exact: np.ndarray | None  # exact expected loss where the family has it, [model]
    metrics: dict[str, np.ndarray] = field(default_factory=dict)  # family and task, [model, *dims]
    train_loss: np.ndarray | None = None  # loss on the finite data set, when there is one
    penalty: np.ndarray | None = None  # the regulariser's penalty (without λ), when set
    trajectory: dict[str, np.ndarray] = field(default_factory=dict)  # [model, record, *dims]
    record_steps: tuple[int, ...] = ()
    seconds: float = 0.0


def build_model(
    configs: Sequence[ModelConfig],
    seeds: Sequence[np.random.SeedSequence],
    train: TrainConfig,
) -> ToyModel:
    """The batch of models ``train`` would start from (validated against the estimator)."""
    family = FAMILIES[configs[0].family]
    family.check_training(train, configs[0])
    dtype = ESTIMATORS[train.estimator].dtype
    return family(configs, seeds, init_scale=train.init_scale, dtype=dtype)


def train(
    configs: Sequence[ModelConfig],
    train_cfg: TrainConfig,
    seeds: Sequence[np.random.SeedSequence],
    *,
    threads: int = 1,
    step_threads: int = 1,
    progress: StepProgress | None = None,
) -> TrainResult:
    """Train one model per ``(config, seed)`` pair; all configs must share a batch key
    (everything but per-model fields).  ``step_threads``: intra-op threads for the steps
    where they change no number (:func:`step_thread_count`), else ignored."""
    if len(configs) != len(seeds):
        raise ValueError(f"{len(configs)} configs but {len(seeds)} seeds")
    if len({c.batch_key() for c in configs}) != 1:
        raise ConfigError("models trained together must agree on every non-per-model field")
    start = time.perf_counter()
    inner = step_thread_count(configs[0], train_cfg, step_threads)
    groups = _groups(len(configs), configs[0], train_cfg, 1 if inner > 1 else threads)

    def run(group: np.ndarray) -> TrainResult:
        return _train_group(
            [configs[i] for i in group], [seeds[i] for i in group], train_cfg, progress, inner
        )

    with torch_threads(1):
        if threads == 1 or len(groups) == 1:
            parts = [run(g) for g in groups]
        else:
            with ThreadPoolExecutor(min(threads, len(groups))) as pool:
                parts = list(pool.map(run, groups))
    result = _concat(parts)
    result.seconds = time.perf_counter() - start
    return result


def _family_step_alone(config: ModelConfig, train_cfg: TrainConfig) -> bool:
    """Whether a step is the family's own full-batch step and nothing else: the full-batch
    estimator (no sampling) and no weight penalty added to the gradient."""
    return train_cfg.estimator == "full" and config.penalty.regulariser == "none"


def step_thread_count(config: ModelConfig, train_cfg: TrainConfig, threads: int) -> int:
    """The intra-op threads the steps of ``config`` may run on: ``threads`` where the
    family declares its step thread-exact and nothing else joins the step
    (:func:`_family_step_alone`); else 1.  The optimisers' updates are element-wise, so
    they qualify."""
    exact = FAMILIES[config.family].thread_exact_step and _family_step_alone(config, train_cfg)
    return max(1, threads) if exact else 1


def fused_descent(config: ModelConfig, train_cfg: TrainConfig) -> bool:
    """Whether the steps of ``config`` are the family's fused descent
    (:meth:`~toymodels.families.ToyModel.uses_fused_descent`): plain gradient descent on
    the full data set with nothing added to the gradient."""
    return (
        FAMILIES[config.family].uses_fused_descent(config)
        and train_cfg.optimizer == "sgd"
        and _family_step_alone(config, train_cfg)
    )


def _groups(count: int, config: ModelConfig, train_cfg: TrainConfig, threads: int):
    """Split models into groups trained one after another, ``threads`` at a time.

    Groups bound memory (a group's random-number blocks, probe and buffers) and come in a
    multiple of ``threads`` equal parts so the threads finish together.  A model's numbers
    do not depend on its group: every model has its own streams and all arithmetic is per
    model.
    """
    most = models_per_group(config, train_cfg)
    threads = max(1, threads)
    rounds = -(-count // (most * threads))  # ceil
    parts = min(count, rounds * threads)
    return [g for g in np.array_split(np.arange(count), parts) if len(g)]


class _Penalty:
    """Adds ``λ_k ∂penalty/∂θ`` of the regulariser to each model's gradient."""

    def __init__(self, model: ToyModel):
        self.regulariser = REGULARISERS[model.configs[0].penalty.regulariser]()
        self.strength = torch.tensor([c.penalty.strength for c in model.configs], dtype=model.dtype)
        self.weights = [getattr(model, name) for name in model.weights]

    @torch.no_grad()
    def add_grad(self) -> None:
        for w in self.weights:
            scale = self.strength.view(-1, *([1] * (w.dim() - 1)))
            w.grad.add_(self.regulariser.gradient(w) * scale)

    @torch.no_grad()
    def value(self) -> np.ndarray:
        return self.regulariser.penalty(self.weights).double().numpy()


def _train_group(
    configs, seeds, train_cfg: TrainConfig, progress: StepProgress | None, step_threads: int = 1
) -> TrainResult:
    from .optim import make_optimizer

    model = build_model(configs, seeds, train_cfg)
    estimator = ESTIMATORS[train_cfg.estimator](model, train_cfg)
    opt, sched = make_optimizer(model.parameters(), train_cfg)
    penalty = _Penalty(model) if configs[0].penalty.regulariser != "none" else None
    recorder = None
    if train_cfg.record_every:
        recorder = Recorder(model, train_cfg, model.exact_loss_available(configs[0]))
    done = 0
    fused = fused_descent(configs[0], train_cfg)
    with torch_threads(step_threads):  # the recorder measures on one thread (Recorder)
        for step in range(train_cfg.steps):
            model.begin_step(step, train_cfg.steps)
            if recorder is not None:
                recorder(step)
            if fused:
                estimator.descend(opt.lr)
            else:
                estimator.step(need_loss=False)
                if penalty is not None:
                    penalty.add_grad()
                opt.step()
            sched.step()
            model.end_step()
            if progress is not None and (step + 1) % _PROGRESS_EVERY == 0:
                progress((step + 1 - done) * model.n_models)
                done = step + 1
    if recorder is not None:
        recorder(train_cfg.steps)
    if progress is not None and done < train_cfg.steps:
        progress((train_cfg.steps - done) * model.n_models)
    del estimator, opt, sched
    result = _measure_in_slices(model, train_cfg)
    if penalty is not None:
        result.penalty = penalty.value()
    if recorder is not None:
        result.trajectory, result.record_steps = recorder.arrays(), recorder.steps
    del model, recorder
    _return_free_memory()
    return result


def _measure_in_slices(model: ToyModel, train_cfg: TrainConfig) -> TrainResult:
    """:func:`measure`, a slice of models at a time so that the evaluation batch stays
    within ``_EVAL_SLICE_BYTES`` (exact-estimator groups hold thousands of models).  Every
    model has its own evaluation stream, so slicing changes no number."""
    config = model.configs[0]
    words = int(np.prod(model.task.sample_shape(config.data, 1)))
    itemsize = torch.finfo(model.dtype).bits // 8
    size = max(1, _EVAL_SLICE_BYTES // (words * min(train_cfg.eval_batch, _EVAL_ROWS) * itemsize))
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
    """Final loss on ``eval_batch`` fresh examples per model, the loss on the finite data
    set (if any), the exact loss when available, parameters and metrics."""
    config = model.configs[0]
    with torch.no_grad():
        loss = evaluate(model, eval_batch)
        exact = None
        if model.exact_loss_available(config):
            exact = model.expected_loss().double().numpy()
        train_loss = None
        if model.task.is_finite and not model.task.fixed:
            train_loss = data_set_loss(model)
        params = {k: v.detach().float().numpy().copy() for k, v in model.named_parameters()}
        probe = None
        if metrics_need_probe(type(model), type(model.task)):
            probe = probe_batch(model, eval_batch)
        found = snapshot(model, probe, False, False, loss=torch.from_numpy(loss))
        metrics = {k: v.float().numpy() for k, v in found.items()}
    return TrainResult(params, loss, exact, metrics, train_loss)


def data_set_loss(model: ToyModel) -> np.ndarray:
    """The loss per model on its finite data set."""
    task = model.task
    return model.batch_loss(task.data_set, task.row_weight(task.n_samples)).double().numpy()


def evaluate(model: ToyModel, eval_batch: int) -> np.ndarray:
    """Mean loss per model over ``eval_batch`` fresh examples from the evaluation stream;
    for a task that is its data set (``Task.fixed``), the loss on the data set."""
    task = model.task
    if task.fixed:
        return data_set_loss(model)
    rows = min(eval_batch, _EVAL_ROWS)
    blocks = UniformBlocks(model.seeds, STREAM_EVAL, task.sample_shape(task.configs[0], rows))
    total = torch.zeros(model.n_models, dtype=torch.float64)
    remaining = eval_batch
    while remaining > 0:
        take = min(rows, remaining)
        batch = task.draw(blocks.next()).first(take)
        total += model.batch_loss(batch, 1.0).double()
        remaining -= take
    return (total / eval_batch).numpy()


def _concat(parts: list[TrainResult]) -> TrainResult:
    if len(parts) == 1:
        return parts[0]

    def cat(get):
        first = get(parts[0])
        if first is None:
            return None
        if isinstance(first, dict):
            return {k: np.concatenate([get(p)[k] for p in parts]) for k in first}
        return np.concatenate([get(p) for p in parts])

    return TrainResult(
        params=cat(lambda p: p.params),
        loss=cat(lambda p: p.loss),
        loss_exact=cat(lambda p: p.loss_exact),
        metrics=cat(lambda p: p.metrics),
        train_loss=cat(lambda p: p.train_loss),
        penalty=cat(lambda p: p.penalty),
        trajectory=cat(lambda p: p.trajectory),
        record_steps=parts[0].record_steps,
    )
