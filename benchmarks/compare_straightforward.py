"""Throughput of toymodels' engine beside the straightforward batched loop, in one run.

``engine`` times :func:`toymodels.train` itself (paper-faithful by default: fresh samples
every step, Adam); ``toymodels bench`` reports it alone.  ``straightforward`` times the
loop written the obvious way, as in the paper's published notebook and its replications:
all models in one ``[model, feature, hidden]`` tensor, ``einsum`` forward, two
``torch.rand`` draws per step (values and mask), autograd, ``torch.optim.Adam``, torch's
default threads.

For each size, the straightforward loop (on torch's default threads and on one) and the
engine (``sampled`` estimator on ``--threads`` threads) are timed in alternation,
``--repeats`` times each, each timing in a fresh process, and the medians compared.
Instance-steps per second = models x steps per second, steady state (setup excluded for
both); peak RSS is the timing process's high-water mark (about 300 MiB of it is torch).

    python -m benchmarks.compare_straightforward --markdown table.md --json table.json
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

import numpy as np
import torch

# Absolute imports, so that `python benchmarks/<this file>.py` runs as well as `-m`.
from benchmarks import result_tables as table
from benchmarks import script_options as options
from benchmarks.alternation import alternate_runs, summary
from benchmarks.steady_state import Timing, step_times, time_engine, time_loop
from toymodels.model_config import ModelConfig
from toymodels.train_config import TrainConfig

# (n_features, n_hidden, models): one row each, batch 1024.
SIZES = ((2, 1, 4000), (20, 5, 100), (200, 20, 20))


def bench_configs(features: int, hidden: int, models: int, density: float = 0.1):
    """``models`` relu models with the paper's parametrisation, relative importance spread
    over [0.1, 10] (as in a phase diagram row)."""
    ratios = np.logspace(-1, 1, models) if models > 1 else [1.0]
    return [
        ModelConfig.superposition("relu", features, hidden, density=density, importance=float(r))
        for r in ratios
    ]


def engine(
    features: int, hidden: int, models: int, batch: int = 1024, steps: int = 300,
    threads: int = 1, estimator: str = "sampled", repeats: int = 3, density: float = 0.1,
) -> Timing:  # fmt: skip
    """Time :func:`toymodels.train` (progress is reported every 100 steps, so ``steps``
    must be at least 200 for a steady-state window)."""
    configs = bench_configs(features, hidden, models, density)
    cfg = TrainConfig(steps=steps, batch_size=batch, estimator=estimator, eval_batch=batch)
    return time_engine(
        configs, cfg, threads, repeats,
        features=features, hidden=hidden, batch=batch, estimator=estimator,
    )  # fmt: skip


def straightforward(
    features: int, hidden: int, models: int, batch: int = 1024, steps: int = 20,
    repeats: int = 1, density: float = 0.1, seed: int = 0, threads: int | None = None,
) -> Timing:  # fmt: skip
    """Time the straightforward batched loop: the median step over ``steps`` timed steps
    (after a short warm-up), median over ``repeats`` runs, on torch's default threads
    unless ``threads`` is given."""
    return time_loop(
        lambda: _notebook_loop(features, hidden, models, batch, steps, density, seed),
        models, steps, threads, repeats, features=features, hidden=hidden, batch=batch,
    )  # fmt: skip


def _notebook_loop(n, m, models, batch, steps, density, seed) -> list[float]:
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
        loss = (importance * (x - out) ** 2).mean(0).sum()  # batch mean, summed over models
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step_times(step, steps)


def measure(args) -> list[dict]:
    rows = []
    for n, m, models in SIZES:
        models = max(1, round(models * args.scale))
        loop = partial(straightforward, n, m, models, args.batch, args.straightforward_steps)
        timings = alternate_runs(
            {
                "straightforward": loop,
                "straightforward_1thread": partial(loop, threads=1),
                "engine": partial(
                    engine, n, m, models, args.batch, args.engine_steps, args.threads, repeats=1
                ),
            },
            args.repeats,
            fresh=not args.in_process,
        )
        row = {"features": n, "hidden": m, "models": models, "batch": args.batch}
        both = ("straightforward", "engine")
        row |= summary(models, timings, per_step=both, peak=both)
        e = row["engine_instance_steps_per_s"]
        b = row["straightforward_instance_steps_per_s"]
        b1 = row["straightforward_1thread_instance_steps_per_s"]
        row |= {"ratio": e / b, "ratio_vs_faster_straightforward": e / max(b, b1)}
        rows.append(row)
    return rows


def markdown(rows: list[dict], args) -> str:
    columns = [
        table.Column("n → m", "{features} → {hidden}", numeric=False),
        table.Column("models", "{models:,}"),
        *table.rates(
            {
                "straightforward": f"straightforward, {torch.get_num_threads()} threads (default)",
                "straightforward_1thread": "straightforward, 1 thread",
                "engine": "engine",
            }
        ),
        table.ratio("engine ÷ straightforward (default threads)", "ratio", bold=True),
        table.ratio("engine ÷ faster straightforward", "ratio_vs_faster_straightforward"),
        table.per_step("ms per step: straightforward → engine", "straightforward", "engine"),
        table.peak("peak RSS MiB: straightforward / engine", "straightforward", "engine"),
    ]
    runs = options.alternation_note(args, engine_threads=True)
    note = f"{table.RATE_NOTE}, batch {args.batch}, density 0.1; {runs}; {table.machine()}."
    return table.markdown_table(columns, rows, note)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    options.add_timing_options(p, engine_threads=None)
    options.add_step_options(p, engine_steps=400)
    p.add_argument("--batch", type=options.at_least(1), default=1024, help="batch size (1024)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply the model counts (a quick check: 0.05)"
    )
    options.add_output_options(p)
    args = p.parse_args(argv)
    rows = measure(args)
    table.publish(markdown(rows, args), rows, args.markdown, args.json, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
