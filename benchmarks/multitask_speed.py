"""Training seeds of the default contextual ReLU network: batched in the engine against
one after another in a straightforward autograd loop, measured in one run.

The straightforward loop is what a notebook does: per seed, ``W2 @ relu(W1 @ X)``,
½·Σ squared error, ``loss.backward()`` and ``torch.optim.SGD`` (torch's default
threads).  The engine trains all seeds in one batch with the family's hand-written
gradient (``toymodels.train`` on 2 threads, full-batch gradient descent, nothing
recorded).  Both train the same network on the same data set for the same epochs; the
timings alternate, ``--repeats`` times each, and the medians are compared.

    python benchmarks/multitask_speed.py --seeds 10 --epochs 8001 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from toymodels import ModelConfig, TrainConfig, model_seed, train
from toymodels.tasks.contextual import contextual_data

HIDDEN, STD, LR = 700, 0.005 / 700, 1e-3


def straightforward(seeds: int, epochs: int) -> float:
    """Seconds to train ``seeds`` networks one after another with autograd."""
    x, y, _ = (
        torch.tensor(a, dtype=torch.float32)
        for a in contextual_data(ModelConfig.build("contextual_relu", "contextual").data)
    )
    start = time.perf_counter()
    for seed in range(seeds):
        gen = torch.Generator().manual_seed(seed)
        w1 = (torch.randn(HIDDEN, x.shape[0], generator=gen) * STD).requires_grad_()
        w2 = (torch.randn(y.shape[0], HIDDEN, generator=gen) * STD).requires_grad_()
        opt = torch.optim.SGD([w1, w2], lr=LR)
        for _ in range(epochs):
            opt.zero_grad()
            loss = 0.5 * (w2 @ torch.relu(w1 @ x) - y).pow(2).sum()
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def engine(seeds: int, epochs: int, threads: int) -> float:
    config = ModelConfig.build("contextual_relu", "contextual")
    cfg = TrainConfig(steps=epochs, lr=LR, optimizer="sgd", estimator="full")
    start = time.perf_counter()
    train([config] * seeds, cfg, [model_seed(0, i, 0) for i in range(seeds)], threads=threads)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--epochs", type=int, default=8001)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="engine threads (default 2)")
    args = p.parse_args()
    base, fast = [], []
    for _ in range(args.repeats):
        base.append(straightforward(args.seeds, args.epochs))
        fast.append(engine(args.seeds, args.epochs, args.threads))
    b, f = statistics.median(base), statistics.median(fast)
    work = args.seeds * args.epochs
    report = {
        "seeds": args.seeds,
        "epochs": args.epochs,
        "torch_threads": torch.get_num_threads(),
        "straightforward_seconds": base,
        "engine_seconds": fast,
        "straightforward_seed_epochs_per_s": work / b,
        "engine_seed_epochs_per_s": work / f,
        "speedup": b / f,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
