"""Training seeds of the contextual ReLU networks: batched in the engine against one
after another in a straightforward autograd loop, measured in one run, for the network
with one hidden layer (the published default: 700 units, initial std 0.005/700) and the
one with two (the published depth experiment: 420 units a layer, initial std 6e-4).

The straightforward loop is what a notebook does: per seed, ``W2 @ relu(W1 @ X)`` (or
``W2 @ relu(Wh @ relu(W1 @ X))``), ½·Σ squared error, ``loss.backward()`` and
``torch.optim.SGD`` (torch's default threads).  The engine trains all seeds in one batch
with the family's hand-written gradient (``toymodels.train``, its steps on 2 threads, full-batch
gradient descent, nothing recorded).  Both train the same network on the same data set
for the same epochs, and both are timed whole (setup included); the timings alternate,
``--repeats`` times each, each in a fresh process, and the medians are compared.

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

LR = 1e-3
# Hidden layers -> (units a layer, initial std, the data set's structure): the published
# one-layer experiment and the published depth experiment.
NETWORKS = {1: (700, 0.005 / 700, "different"), 2: (420, 6e-4, "same")}


def _config(layers: int) -> ModelConfig:
    hidden, std, structure = NETWORKS[layers]
    return ModelConfig.build(
        "contextual_relu",
        "contextual",
        n_layers=layers,
        n_hidden=hidden,
        init_std=std,
        structure=structure,
    )


def straightforward(seeds: int, epochs: int, layers: int = 1) -> float:
    """Seconds to train ``seeds`` networks one after another with autograd."""
    x, y, _ = (torch.tensor(a, dtype=torch.float32) for a in contextual_data(_config(layers).data))
    hidden, std, _ = NETWORKS[layers]
    start = time.perf_counter()
    for seed in range(seeds):
        gen = torch.Generator().manual_seed(seed)
        shapes = [(hidden, x.shape[0])] + [(hidden, hidden)] * (layers - 1) + [(y.shape[0], hidden)]
        weights = [(torch.randn(s, generator=gen) * std).requires_grad_() for s in shapes]
        opt = torch.optim.SGD(weights, lr=LR)
        for _ in range(epochs):
            opt.zero_grad()
            h = x
            for w in weights[:-1]:
                h = torch.relu(w @ h)
            loss = 0.5 * (weights[-1] @ h - y).pow(2).sum()
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def engine(seeds: int, epochs: int, threads: int, layers: int = 1) -> float:
    """Seconds to train ``seeds`` networks batched in :func:`toymodels.train`."""
    config = _config(layers)
    cfg = TrainConfig(steps=epochs, lr=LR, optimizer="sgd", estimator="full")
    start = time.perf_counter()
    streams = [model_seed(0, i, 0) for i in range(seeds)]
    # as the commands train it: one batch, its thread-exact steps on ``threads`` cores
    train([config] * seeds, cfg, streams, step_threads=threads)
    return time.perf_counter() - start


def measure(args) -> list[dict]:
    return [_measure(args, layers) for layers in args.layers]


def _measure(args, layers: int) -> dict:
    seconds = alternate_runs(
        {
            "straightforward": partial(straightforward, args.seeds, args.epochs, layers),
            "engine": partial(engine, args.seeds, args.epochs, args.threads, layers),
        },
        args.repeats,
        fresh=not args.in_process,
    )
    b, f = statistics.median(seconds["straightforward"]), statistics.median(seconds["engine"])
    work = args.seeds * args.epochs
    return {
        "hidden_layers": layers,
        "hidden": NETWORKS[layers][0],
        "seeds": args.seeds,
        "epochs": args.epochs,
        "torch_threads": torch.get_num_threads(),
        "straightforward_seconds": seconds["straightforward"],
        "engine_seconds": seconds["engine"],
        "straightforward_seed_epochs_per_s": work / b,
        "engine_seed_epochs_per_s": work / f,
        "speedup": b / f,
    }


def markdown(rows: list[dict], args) -> str:
    # The medians the speed-up compares are shown as seconds; the report keeps every run.
    shown = [
        row
        | {
            f"{k}_median": statistics.median(row[f"{k}_seconds"])
            for k in ("straightforward", "engine")
        }
        for row in rows
    ]
    columns = [
        table.Column("hidden layers × units", "{hidden_layers} × {hidden}", numeric=False),
        table.Column("seeds", "{seeds}"),
        table.Column("epochs", "{epochs:,}"),
        table.Column(
            f"straightforward s, {rows[0]['torch_threads']} threads", "{straightforward_median:.1f}"
        ),
        table.Column(f"engine s, {args.threads} threads", "{engine_median:.1f}"),
        table.Column(
            "seed-epochs per s: straightforward → engine",
            "{straightforward_seed_epochs_per_s:,.0f} → {engine_seed_epochs_per_s:,.0f}",
        ),
        table.ratio("engine speed-up", "speedup", bold=True),
    ]
    note = (
        f"Seconds to train every seed of the contextual ReLU networks (one hidden layer: the "
        f"published default; two: the published depth experiment), medians of "
        f"{args.repeats} alternating runs; {table.machine()}."
    )
    return table.markdown_table(columns, shown, note)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--seeds", type=options.at_least(1), default=10, help="networks trained (10)")
    p.add_argument("--epochs", type=options.at_least(1), default=8001, help="epochs each (8001)")
    p.add_argument(
        "--layers",
        type=int,
        choices=sorted(NETWORKS),
        nargs="+",
        default=sorted(NETWORKS),
        help="the networks timed, by hidden layers (default: 1 2)",
    )
    options.add_timing_options(p, engine_threads=2)
    options.add_output_options(p)
    args = p.parse_args(argv)
    rows = measure(args)
    table.publish(markdown(rows, args), rows, args.markdown, args.json, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
