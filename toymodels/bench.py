"""Throughput of the training engine, and of the straightforward loop it replaces.

``engine`` times :func:`toymodels.train` itself (paper-faithful by default: fresh samples
every step, Adam).  ``straightforward`` times the loop written the obvious way, as in the
published notebook (REFERENCE.md, last section): all models in one ``[model, feature,
hidden]`` tensor, ``einsum`` forward, two ``torch.rand`` draws per step (values and mask),
autograd, ``torch.optim.Adam``, torch's default threads.  Both report *instance-steps per
second* (models x steps / s) in the steady state, so setup costs are left out of both.
Nothing here prints.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .config import TrainConfig
from .engine import train
from .model_config import ModelConfig
from .seeds import model_seed
from .threads import torch_threads

# Steps of the straightforward loop run before timing starts (allocator and thread-pool
# warm-up); its medians are taken over the remaining steps.
STRAIGHTFORWARD_WARMUP = 3


@dataclass
class Timing:
    """One benchmark: ``instance_steps_per_s`` is the median over ``repeats`` runs."""

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
    runs: list[float]  # instance-steps/s of every run

    def as_dict(self) -> dict:
        return asdict(self)


# -- memory ---------------------------------------------------------------------------------
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_mib(key: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def reset_peak_memory() -> float:
    """Reset the process's resident high-water mark (Linux); return current RSS in MiB."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        pass
    return _status_mib("VmRSS") or 0.0


def peak_memory(floor: float = 0.0) -> float:
    """Resident high-water mark in MiB since :func:`reset_peak_memory` (or process start),
    at least ``floor`` (the kernel updates the mark lazily, so it can lag a recent read of
    the resident size)."""
    peak = _status_mib("VmHWM")
    if peak is None:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return max(peak, _status_mib("VmRSS") or 0.0, floor)


# -- the engine -----------------------------------------------------------------------------
def bench_configs(features: int, hidden: int, models: int, density: float = 0.1):
    """``models`` relu models with the paper's parametrisation, relative importance spread
    over [0.1, 10] (as in a phase diagram row)."""
    ratios = np.logspace(-1, 1, models) if models > 1 else [1.0]
    return [
        ModelConfig.superposition("relu", features, hidden, density=density, importance=float(r))
        for r in ratios
    ]


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


def engine(
    features: int,
    hidden: int,
    models: int,
    batch: int = 1024,
    steps: int = 300,
    threads: int = 1,
    estimator: str = "sampled",
    repeats: int = 3,
    density: float = 0.1,
) -> Timing:
    """Time :func:`toymodels.train` (progress is reported every 100 steps, so ``steps``
    must be at least 200 for a steady-state window)."""
    if steps < 200:
        raise ValueError(f"steps={steps}: the engine needs at least 200 steps to time")
    configs = bench_configs(features, hidden, models, density)
    seeds = [model_seed(0, i, 0) for i in range(models)]
    cfg = TrainConfig(steps=steps, batch_size=batch, estimator=estimator, eval_batch=batch)
    rss = reset_peak_memory()
    rates = []
    for _ in range(repeats):
        clock = _Clock()
        train(configs, cfg, seeds, threads=threads, progress=clock)
        rates.append(clock.rate())
    rate = statistics.median(rates)
    return Timing(
        "engine", features, hidden, models, batch, steps, threads, estimator, rate,
        models / rate, peak_memory(rss), rss, rates,
    )  # fmt: skip


# -- the straightforward loop ---------------------------------------------------------------
def straightforward(
    features: int,
    hidden: int,
    models: int,
    batch: int = 1024,
    steps: int = 20,
    repeats: int = 1,
    density: float = 0.1,
    seed: int = 0,
    threads: int | None = None,
) -> Timing:
    """Time the straightforward batched loop: the median step over ``steps`` timed steps
    (after a short warm-up), median over ``repeats`` runs, on torch's default threads
    unless ``threads`` is given."""
    rss = reset_peak_memory()
    rates = []
    with torch_threads(threads or torch.get_num_threads()):
        used = torch.get_num_threads()
        for _ in range(repeats):
            times = _straightforward_steps(features, hidden, models, batch, steps, density, seed)
            rates.append(models / statistics.median(times))
    rate = statistics.median(rates)
    return Timing(
        "straightforward", features, hidden, models, batch, steps, used,
        "sampled", rate, models / rate, peak_memory(rss), rss, rates,
    )  # fmt: skip


def _straightforward_steps(n, m, models, batch, steps, density, seed) -> list[float]:
    """The published notebook's loop (with Adam), returning the time of each timed step."""
    gen = torch.Generator().manual_seed(seed)
    W = torch.nn.Parameter(torch.empty(models, n, m))
    torch.nn.init.xavier_normal_(W, generator=gen)  # whole-tensor init, as in the notebook
    b = torch.nn.Parameter(torch.zeros(models, n))
    p = torch.full((models, n), density)
    configs = bench_configs(n, m, models, density)
    importance = torch.tensor([c.data.feature_importance for c in configs], dtype=torch.float32)
    opt = torch.optim.Adam([W, b], lr=1e-3)
    times = []
    for step in range(STRAIGHTFORWARD_WARMUP + steps):
        start = time.perf_counter()
        values = torch.rand((batch, models, n), generator=gen)
        x = torch.where(torch.rand((batch, models, n), generator=gen) <= p, values, 0.0)
        h = torch.einsum("bif,ifh->bih", x, W)
        out = torch.relu(torch.einsum("bih,ifh->bif", h, W) + b)
        loss = (importance * (x - out) ** 2).mean(0).sum()  # batch mean, summed over models
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= STRAIGHTFORWARD_WARMUP:
            times.append(time.perf_counter() - start)
    return times
