"""Throughput of the training engine, and of the straightforward loop it replaces.

``engine`` times :func:`toymodels.train` itself (paper-faithful by default: fresh samples
every step, Adam).  ``straightforward`` times the loop written the obvious way, as in the
published notebook (REFERENCE.md, last section): all models in one ``[model, feature,
hidden]`` tensor, ``einsum`` forward, two ``torch.rand`` draws per step (values and mask),
autograd, ``torch.optim.Adam``, torch's default threads.  Both report *instance-steps per
second* (models x steps / s) in the steady state, so setup costs are left out of both.
``competition_engine`` and ``competition_straightforward`` do the same for the
competition family (a hidden layer of K competing units, read out linearly, classifying
the ``clusters`` Gaussian mixture).  Nothing here prints.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .engine import train
from .model_config import ModelConfig
from .seeds import model_seed
from .threads import torch_threads
from .train_config import TrainConfig

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
    family: str = "relu"  # the model family timed
    activation: str = "relu"  # the hidden layer's activation

    def as_dict(self) -> dict:
        return asdict(self)


def timed(kind: str, *args, fresh: bool = True, **kwargs) -> Timing:
    """One timing by the function ``kind`` of this module, in a fresh process unless
    ``fresh`` is false: a clean memory high-water mark and allocator state, and neither
    method warms caches for the other (the benchmark scripts alternate them)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    function = globals()[kind]
    if not fresh:
        return function(*args, **kwargs)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args, **kwargs).result()


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
    configs = bench_configs(features, hidden, models, density)
    cfg = TrainConfig(steps=steps, batch_size=batch, estimator=estimator, eval_batch=batch)
    rate, rates, peak, rss = _time_train(configs, cfg, threads, repeats)
    return Timing(
        "engine", features, hidden, models, batch, steps, threads, estimator, rate,
        models / rate, peak, rss, rates,
    )  # fmt: skip


def _time_train(configs, cfg: TrainConfig, threads: int, repeats: int):
    """Steady-state instance-steps per second of :func:`toymodels.train` (median over
    ``repeats`` runs), every run, the resident high-water mark and the memory before."""
    if cfg.steps < 200:
        raise ValueError(f"steps={cfg.steps}: the engine needs at least 200 steps to time")
    seeds = [model_seed(0, i, 0) for i in range(len(configs))]
    rss = reset_peak_memory()
    rates = []
    for _ in range(repeats):
        clock = _Clock()
        train(configs, cfg, seeds, threads=threads, progress=clock)
        rates.append(clock.rate())
    return statistics.median(rates), rates, peak_memory(rss), rss


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
    rate, rates, used, peak, rss = _time_loop(
        lambda: _straightforward_steps(features, hidden, models, batch, steps, density, seed),
        models, threads, repeats,
    )  # fmt: skip
    return Timing(
        "straightforward", features, hidden, models, batch, steps, used,
        "sampled", rate, models / rate, peak, rss, rates,
    )  # fmt: skip


def _time_loop(run, models: int, threads: int | None, repeats: int):
    """Instance-steps per second of a straightforward loop (``run()`` returns the time of
    each timed step): the median step, median over ``repeats`` runs, on ``threads`` or
    torch's default threads; also every run, the threads used, the resident high-water
    mark and the memory before."""
    rss = reset_peak_memory()
    rates = []
    with torch_threads(threads or torch.get_num_threads()):
        used = torch.get_num_threads()
        for _ in range(repeats):
            rates.append(models / statistics.median(run()))
    return statistics.median(rates), rates, used, peak_memory(rss), rss


def _step_times(step: Callable[[], None], steps: int) -> list[float]:
    """The time of each of ``steps`` calls of ``step``, after ``STRAIGHTFORWARD_WARMUP``
    calls that are not timed."""
    times = []
    for i in range(STRAIGHTFORWARD_WARMUP + steps):
        start = time.perf_counter()
        step()
        if i >= STRAIGHTFORWARD_WARMUP:
            times.append(time.perf_counter() - start)
    return times


def _descend(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimiser step on ``loss``, gradients computed by autograd."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


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

    def step() -> None:
        values = torch.rand((batch, models, n), generator=gen)
        x = torch.where(torch.rand((batch, models, n), generator=gen) <= p, values, 0.0)
        h = torch.einsum("bif,ifh->bih", x, W)
        out = torch.relu(torch.einsum("bih,ifh->bif", h, W) + b)
        _descend(opt, (importance * (x - out) ** 2).mean(0).sum())  # batch mean, model sum

    return _step_times(step, steps)


# -- the competition family -----------------------------------------------------------------
# The competition models' fixed settings: cluster spread, learning rate (Adam) and the range
# of temperatures spread log-uniformly over the models (as ``bench_configs`` spreads the
# relative importance).
COMPETITION_SPREAD = 0.5
COMPETITION_LR = 0.01
COMPETITION_TEMPERATURES = (0.1, 10.0)


def cluster_centers(features: int, clusters: int) -> list[list[float]]:
    """``[cluster][feature]``: C centres evenly on the unit circle in the first two
    coordinates (any C, so C > d works), or evenly on [-1, 1] when d = 1."""
    if features == 1:
        return [[-1.0 + 2.0 * c / (clusters - 1)] for c in range(clusters)]
    return [
        [math.cos(2 * math.pi * c / clusters), math.sin(2 * math.pi * c / clusters)]
        + [0.0] * (features - 2)
        for c in range(clusters)
    ]


def competition_temperatures(models: int) -> np.ndarray:
    """``[model]``: τ log-uniform over ``COMPETITION_TEMPERATURES`` (1 for one model)."""
    low, high = COMPETITION_TEMPERATURES
    return np.geomspace(low, high, models) if models > 1 else np.ones(1)


def competition_configs(
    units: int, models: int, activation: str = "softmax", features: int = 2, clusters: int = 4
) -> list[ModelConfig]:
    """``models`` competition models of ``units`` units on ``clusters``, one temperature
    each (see :func:`competition_temperatures`)."""
    centers = tuple(tuple(row) for row in cluster_centers(features, clusters))
    return [
        ModelConfig.build(
            "competition",
            "clusters",
            n_hidden=units,
            activation=activation,
            temperature=float(tau),
            n_features=features,
            n_clusters=clusters,
            centers=centers,
            spread=COMPETITION_SPREAD,
        )
        for tau in competition_temperatures(models)
    ]


def competition_engine(
    units: int,
    models: int,
    batch: int = 256,
    steps: int = 300,
    threads: int = 1,
    repeats: int = 3,
    activation: str = "softmax",
    features: int = 2,
    clusters: int = 4,
) -> Timing:
    """Time :func:`toymodels.train` on ``models`` competition models (K = ``units``) on
    the clusters task, Adam at ``COMPETITION_LR``.  As :func:`engine`, ``steps`` must be
    at least 200 for a steady-state window."""
    configs = competition_configs(units, models, activation, features, clusters)
    cfg = TrainConfig(steps=steps, batch_size=batch, lr=COMPETITION_LR, eval_batch=batch)
    rate, rates, peak, rss = _time_train(configs, cfg, threads, repeats)
    return Timing(
        "engine", features, units, models, batch, steps, threads, "sampled", rate,
        models / rate, peak, rss, rates, "competition", activation,
    )  # fmt: skip


# The activations the straightforward loop writes out, on z [model, unit, example] with
# τ [model, 1, 1].
STRAIGHTFORWARD_ACTIVATIONS = {
    "softmax": lambda z, tau: torch.softmax(z / tau, dim=1),
    "relu": lambda z, tau: torch.relu(z),
}


def competition_straightforward(
    units: int,
    models: int,
    batch: int = 256,
    steps: int = 20,
    repeats: int = 1,
    activation: str = "softmax",
    features: int = 2,
    clusters: int = 4,
    seed: int = 0,
    threads: int | None = None,
    layout: str = "notebook",
) -> Timing:
    """Time the straightforward batched loop for the competition models (see
    :func:`_competition_steps`): the median step over ``steps`` timed steps (after a short
    warm-up), median over ``repeats`` runs, on torch's default threads unless ``threads``
    is given.  ``layout`` is ``"notebook"`` (batch first, ``einsum``: the superposition
    notebook's loop, REFERENCE.md) or ``"model-first"`` (``baddbmm`` on
    ``[model, unit, example]``, the fastest obvious layout we found)."""
    if layout not in LAYOUTS:
        raise ValueError(f'layout "{layout}": one of {", ".join(LAYOUTS)}')
    if activation not in STRAIGHTFORWARD_ACTIVATIONS:
        raise ValueError(
            f'activation "{activation}": the straightforward loop is written for '
            f"{', '.join(STRAIGHTFORWARD_ACTIVATIONS)}"
        )
    steps_of = LAYOUTS[layout]
    rate, rates, used, peak, rss = _time_loop(
        lambda: steps_of(units, models, batch, steps, activation, features, clusters, seed),
        models, threads, repeats,
    )  # fmt: skip
    return Timing(
        "straightforward", features, units, models, batch, steps, used, "sampled", rate,
        models / rate, peak, rss, rates, "competition", activation,
    )  # fmt: skip


def _competition_start(k, models, d, c, gen):
    """The straightforward loops' parameters ``W1, b1, W2, b2`` (the engine's
    initialisation: normal rows, std sqrt(2 / (fan_in + fan_out)), biases 0), their Adam,
    the cluster centres ``[cluster, input]`` and the temperatures ``[model]``."""
    W1 = torch.nn.Parameter(torch.randn(models, k, d, generator=gen) * math.sqrt(2 / (d + k)))
    b1 = torch.nn.Parameter(torch.zeros(models, k))
    W2 = torch.nn.Parameter(torch.randn(models, c, k, generator=gen) * math.sqrt(2 / (k + c)))
    b2 = torch.nn.Parameter(torch.zeros(models, c))
    opt = torch.optim.Adam([W1, b1, W2, b2], lr=COMPETITION_LR)
    centers = torch.tensor(cluster_centers(d, c))
    tau = torch.tensor(competition_temperatures(models), dtype=torch.float32)
    return (W1, b1, W2, b2), opt, centers, tau


def _notebook_steps(k, models, batch, steps, activation, d, c, seed) -> list[float]:
    """The loop as the superposition notebook writes it: batch first (``[example, model,
    ...]``), ``einsum`` forward, labels and points drawn with torch every step,
    cross-entropy (mean over the batch, summed over models), autograd, Adam.  Returns the
    time of each timed step."""
    gen = torch.Generator().manual_seed(seed)
    (W1, b1, W2, b2), opt, centers, tau = _competition_start(k, models, d, c, gen)
    tau = tau.view(-1, 1)

    def step() -> None:
        labels = torch.randint(c, (batch, models), generator=gen)
        x = centers[labels] + COMPETITION_SPREAD * torch.randn(batch, models, d, generator=gen)
        z = torch.einsum("bmd,mkd->bmk", x, W1) + b1
        a = torch.softmax(z / tau, dim=-1) if activation == "softmax" else torch.relu(z)
        out = torch.einsum("bmk,mck->bmc", a, W2) + b2
        loss = F.cross_entropy(out.reshape(-1, c), labels.reshape(-1), reduction="none")
        _descend(opt, loss.view(batch, models).mean(0).sum())

    return _step_times(step, steps)


def _competition_steps(k, models, batch, steps, activation, d, c, seed) -> list[float]:
    """The loop in the fastest obvious layout we found: ``[model, unit, input]`` W1 and
    friends in one tensor each, labels and points drawn with torch every step,
    ``baddbmm`` forward, cross-entropy (mean over the batch, summed over models),
    autograd, Adam.  Returns the time of each timed step."""
    gen = torch.Generator().manual_seed(seed)
    (W1, b1, W2, b2), opt, centers, tau = _competition_start(k, models, d, c, gen)
    tau = tau.view(-1, 1, 1)
    act = STRAIGHTFORWARD_ACTIVATIONS[activation]

    def step() -> None:
        labels = torch.randint(c, (models, batch), generator=gen)
        noise = torch.randn(models, d, batch, generator=gen)
        x = centers[labels].transpose(1, 2) + COMPETITION_SPREAD * noise  # [model, input, example]
        z = torch.baddbmm(b1.unsqueeze(-1), W1, x)  # [model, unit, example]
        out = torch.baddbmm(b2.unsqueeze(-1), W2, act(z, tau))  # [model, cluster, example]
        _descend(opt, F.cross_entropy(out, labels, reduction="none").mean(-1).sum())

    return _step_times(step, steps)


# The straightforward loops by layout (see :func:`competition_straightforward`).
LAYOUTS = {"notebook": _notebook_steps, "model-first": _competition_steps}
