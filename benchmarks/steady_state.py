"""Steady-state throughput, in *instance-steps per second* (models x steps / s), of the
engine and of a straightforward training loop, with the memory it took.

Setup costs are left out of both: the engine is timed between its first and last
progress reports, a straightforward loop by the median of its steps after a warm-up.
Every system's benchmark reports a :class:`Timing`.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from toymodels.engine import train
from toymodels.model_config import ModelConfig
from toymodels.seeds import model_seed
from toymodels.threads import torch_threads
from toymodels.train_config import TrainConfig

from .resident_memory import peak_memory, reset_peak_memory

# The engine reports progress every 100 steps; two reports bound the steady-state window.
ENGINE_MIN_STEPS = 200
# Steps of a straightforward loop run before timing starts (allocator and thread-pool
# warm-up); its medians are taken over the remaining steps.
STRAIGHTFORWARD_WARMUP = 3


@dataclass(frozen=True)
class Timing:
    """One benchmark: ``instance_steps_per_s`` is the median over the runs in ``runs``.
    The field order is the order of ``toymodels bench --json``."""

    method: str  # "engine" or "straightforward"
    features: int
    hidden: int
    models: int
    batch: int
    steps: int
    threads: int
    estimator: str
    instance_steps_per_s: float
    seconds_per_step: float  # models / instance_steps_per_s
    peak_rss_mib: float  # process high-water mark during the runs
    rss_before_mib: float  # resident memory when the runs started
    runs: tuple[float, ...]  # instance-steps/s of every run
    family: str = "relu"  # the model family timed
    activation: str = "relu"  # the hidden layer's activation

    def as_dict(self) -> dict:
        return asdict(self)


class _Clock:
    """Progress callback recording each thread's (time, model-steps done) reports."""

    def __init__(self):
        self.events = defaultdict(list)

    def __call__(self, done: int) -> None:
        log = self.events[threading.get_ident()]
        log.append((time.perf_counter(), (log[-1][1] if log else 0) + done))

    def rate(self) -> float:
        # Per thread, from its first report (setup and the first steps excluded) to its
        # last (the final evaluation excluded); threads run side by side, so rates add.
        total = 0.0
        for log in self.events.values():
            if len(log) >= 2 and log[-1][0] > log[0][0]:
                total += (log[-1][1] - log[0][1]) / (log[-1][0] - log[0][0])
        return total


def check_engine_steps(steps: int) -> None:
    if steps < ENGINE_MIN_STEPS:
        raise ValueError(
            f"steps={steps}: the engine needs at least {ENGINE_MIN_STEPS} steps to time"
        )


def time_engine(
    configs: Sequence[ModelConfig], cfg: TrainConfig, threads: int, repeats: int, **described
) -> Timing:
    """:func:`toymodels.train` on ``configs``, ``repeats`` times on ``threads`` threads.
    ``described`` names what was timed (``features``, ``hidden``, ``batch``, ``estimator``
    and, for another family, ``family`` and ``activation``)."""
    check_engine_steps(cfg.steps)
    seeds = [model_seed(0, i, 0) for i in range(len(configs))]
    rss = reset_peak_memory()
    rates = []
    for _ in range(repeats):
        clock = _Clock()
        train(configs, cfg, seeds, threads=threads, progress=clock)
        rates.append(clock.rate())
    return _timing("engine", len(configs), cfg.steps, threads, rates, rss, described)


def time_loop(
    run: Callable[[], list[float]],
    models: int,
    steps: int,
    threads: int | None,
    repeats: int,
    **described,
) -> Timing:
    """A straightforward loop over ``models`` models (``run()`` returns the time of each
    timed step): the median step, median over ``repeats`` runs, on ``threads`` threads or
    torch's default.  ``described`` as for :func:`time_engine`."""
    rss = reset_peak_memory()
    rates = []
    with torch_threads(threads or torch.get_num_threads()):
        used = torch.get_num_threads()
        for _ in range(repeats):
            rates.append(models / statistics.median(run()))
    return _timing("straightforward", models, steps, used, rates, rss, described)


def _timing(method, models, steps, threads, rates, rss, described) -> Timing:
    rate = statistics.median(rates)
    return Timing(
        method=method,
        models=models,
        steps=steps,
        threads=threads,
        instance_steps_per_s=rate,
        seconds_per_step=models / rate,
        peak_rss_mib=peak_memory(rss),
        rss_before_mib=rss,
        runs=tuple(rates),
        **{"estimator": "sampled", **described},
    )


def step_times(step: Callable[[], None], steps: int) -> list[float]:
    """Run ``step`` ``STRAIGHTFORWARD_WARMUP + steps`` times; the time of each of the last
    ``steps`` calls."""
    times = []
    for i in range(STRAIGHTFORWARD_WARMUP + steps):
        start = time.perf_counter()
        step()
        if i >= STRAIGHTFORWARD_WARMUP:
            times.append(time.perf_counter() - start)
    return times
