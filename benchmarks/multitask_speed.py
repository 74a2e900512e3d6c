"""Training seeds of the default contextual ReLU network: batched in the engine against
one after another in a straightforward autograd loop, measured in one run.

The straightforward loop is what a notebook does: per seed, ``W2 @ relu(W1 @ X)``,
½·Σ squared error, ``loss.backward()`` and ``torch.optim.SGD`` (torch's default
threads).  The engine trains all seeds in one batch with the family's hand-written
gradient (``toymodels.train`` on 2 threads, full-batch gradient descent, nothing
recorded).  Both train the same network on the same data set for the same epochs, and
both are timed whole (setup included); the timings alternate, ``--repeats`` times each,
each in a fresh process, and the medians are compared.

    python -m benchmarks.multitask_speed --seeds 10 --epochs 8001 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial

import torch

# Absolute imports, so that `python benchmarks/<this file>.py` runs as well as `-m`.
from benchmarks import result_tables as table
from benchmarks import script_options as options
from benchmarks.alternation import alternate_runs
from toymodels import ModelConfig, TrainConfig, model_seed, train
from toymodels.contextual_data import contextual_data

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
    """Seconds to train ``seeds`` networks batched in :func:`toymodels.train`."""
    config = ModelConfig.build("contextual_relu", "contextual")
    cfg = TrainConfig(steps=epochs, lr=LR, optimizer="sgd", estimator="full")
    start = time.perf_counter()
    train([config] * seeds, cfg, [model_seed(0, i, 0) for i in range(seeds)], threads=threads)
    return time.perf_counter() - start


def measure(args) -> dict:
    seconds = alternate_runs(
        {
            "straightforward": partial(straightforward, args.seeds, args.epochs),
            "engine": partial(engine, args.seeds, args.epochs, args.threads),
        },
        args.repeats,
        fresh=not args.in_process,
    )
    b, f = statistics.median(seconds["straightforward"]), statistics.median(seconds["engine"])
    work = args.seeds * args.epochs
    return {
        "seeds": args.seeds,
        "epochs": args.epochs,
        "torch_threads": torch.get_num_threads(),
        "straightforward_seconds": seconds["straightforward"],
        "engine_seconds": seconds["engine"],
        "straightforward_seed_epochs_per_s": work / b,
        "engine_seed_epochs_per_s": work / f,
        "speedup": b / f,
    }


def markdown(row: dict, args) -> str:
    # The medians the speed-up compares are shown as seconds; the report keeps every run.
    medians = {
        f"{k}_median": statistics.median(row[f"{k}_seconds"]) for k in ("straightforward", "engine")
    }
    columns = [
        table.Column("seeds", "{seeds}"),
        table.Column("epochs", "{epochs:,}"),
        table.Column(
            f"straightforward s, {row['torch_threads']} threads", "{straightforward_median:.1f}"
        ),
        table.Column(f"engine s, {args.threads} threads", "{engine_median:.1f}"),
        table.Column(
            "seed-epochs per s: straightforward → engine",
            "{straightforward_seed_epochs_per_s:,.0f} → {engine_seed_epochs_per_s:,.0f}",
        ),
        table.ratio("engine speed-up", "speedup", bold=True),
    ]
    note = (
        f"Seconds to train every seed of the default contextual ReLU network, medians of "
        f"{args.repeats} alternating runs; {table.machine()}."
    )
    return table.markdown_table(columns, [row | medians], note)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--seeds", type=options.at_least(1), default=10, help="networks trained (10)")
    p.add_argument("--epochs", type=options.at_least(1), default=8001, help="epochs each (8001)")
    options.add_timing_options(p, engine_threads=2)
    options.add_output_options(p)
    args = p.parse_args(argv)
    row = measure(args)
    table.publish(markdown(row, args), [row], args.markdown, args.json, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
