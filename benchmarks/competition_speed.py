"""Throughput of the competition family in toymodels' engine beside the straightforward
batched loop, in one run.

The models: a hidden layer of K units ``z = W1 x + b1``, ``a = softmax(z/τ)`` over units
(``--activation``), read-out ``W2 a + b2``, classifying the ``clusters`` task (C =
``--clusters`` Gaussian clusters of spread 0.5, centres evenly on the unit circle in d =
``--features`` dimensions), τ spread log-uniformly over [0.1, 10] across the models,
Adam at lr 0.01, fresh samples every step.

For each K in ``--units``, two straightforward loops (:func:`straightforward`: labels and
points drawn with torch each step, cross-entropy, autograd, ``torch.optim.Adam``, torch's
default threads) and the engine (:func:`engine`: ``toymodels.train``, whose competition
family steps a hand-derived gradient in cache-sized chunks of models, on ``--threads``
threads) are timed in alternation, ``--repeats`` times each, each timing in a fresh
process, and the medians compared.  The two loops: the notebook's (batch first,
``einsum``, as the superposition benchmark and the published notebook write it) and the
fastest obvious layout we found (``[model, unit, example]`` with ``baddbmm``), the latter
also on one thread (two intra-op threads slow down several-fold when another process holds a
core).  The table gives the engine's ratio to the notebook loop and to the fastest
straightforward timing.  Instance-steps per second = models x steps per second, steady
state (setup excluded for both).  The model count per K (unless ``--models``) is
2048 · min(1, 16/K), so a step takes tens of milliseconds in the engine.

    python -m benchmarks.competition_speed --markdown competition.md --json competition.json
"""

from __future__ import annotations

import argparse
import math
import sys
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

# Absolute imports, so that `python benchmarks/<this file>.py` runs as well as `-m`.
from benchmarks import result_tables as table
from benchmarks import script_options as options
from benchmarks.alternation import alternate_runs, summary
from benchmarks.steady_state import Timing, step_times, time_engine, time_loop
from toymodels.model_config import ModelConfig
from toymodels.train_config import TrainConfig

UNITS = (4, 16, 64)
# Models at K <= 16; fewer above, so the work per step stays about the same.
MODELS, MODELS_UNITS = 2048, 16
# The models' fixed settings: cluster spread, learning rate (Adam) and the range of
# temperatures spread log-uniformly over the models.
COMPETITION_SPREAD = 0.5
COMPETITION_LR = 0.01
COMPETITION_TEMPERATURES = (0.1, 10.0)


def default_models(units: int) -> int:
    return max(1, round(MODELS * min(1.0, MODELS_UNITS / units)))


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


def engine(
    units: int, models: int, batch: int = 256, steps: int = 300, threads: int = 1,
    repeats: int = 3, activation: str = "softmax", features: int = 2, clusters: int = 4,
) -> Timing:  # fmt: skip
    """Time :func:`toymodels.train` on ``models`` competition models (K = ``units``) on
    the clusters task, Adam at ``COMPETITION_LR``; ``steps`` at least 200 for a
    steady-state window."""
    configs = competition_configs(units, models, activation, features, clusters)
    cfg = TrainConfig(steps=steps, batch_size=batch, lr=COMPETITION_LR, eval_batch=batch)
    return time_engine(
        configs, cfg, threads, repeats, features=features, hidden=units, batch=batch,
        family="competition", activation=activation,
    )  # fmt: skip


# The activations the model-first loop writes out, on z [model, unit, example] with
# τ [model, 1, 1].
STRAIGHTFORWARD_ACTIVATIONS = {
    "softmax": lambda z, tau: torch.softmax(z / tau, dim=1),
    "relu": lambda z, tau: torch.relu(z),
}


def straightforward(
    units: int, models: int, batch: int = 256, steps: int = 20, repeats: int = 1,
    activation: str = "softmax", features: int = 2, clusters: int = 4, seed: int = 0,
    threads: int | None = None, layout: str = "notebook",
) -> Timing:  # fmt: skip
    """Time a straightforward batched loop for the competition models: the median step
    over ``steps`` timed steps (after a short warm-up), median over ``repeats`` runs, on
    torch's default threads unless ``threads`` is given.  ``layout`` is ``"notebook"``
    (batch first, ``einsum``: the superposition notebook's loop) or
    ``"model-first"`` (``baddbmm`` on ``[model, unit, example]``, the fastest obvious
    layout we found)."""
    if layout not in LAYOUTS:
        raise ValueError(f'layout "{layout}": one of {", ".join(LAYOUTS)}')
    if activation not in STRAIGHTFORWARD_ACTIVATIONS:
        raise ValueError(
            f'activation "{activation}": the straightforward loop is written for '
            f"{', '.join(STRAIGHTFORWARD_ACTIVATIONS)}"
        )
    loop = LAYOUTS[layout]
    return time_loop(
        lambda: loop(units, models, batch, steps, activation, features, clusters, seed),
        models, steps, threads, repeats, features=features, hidden=units, batch=batch,
        family="competition", activation=activation,
    )  # fmt: skip


def _parameters(k: int, models: int, d: int, c: int, gen: torch.Generator):
    """W1 ``[model, unit, input]``, b1, W2 ``[model, cluster, unit]``, b2 with the engine's
    initialisation (normal rows, std sqrt(2 / (fan_in + fan_out)), zero biases), and
    Adam over them."""
    W1 = torch.nn.Parameter(torch.randn(models, k, d, generator=gen) * math.sqrt(2 / (d + k)))
    b1 = torch.nn.Parameter(torch.zeros(models, k))
    W2 = torch.nn.Parameter(torch.randn(models, c, k, generator=gen) * math.sqrt(2 / (k + c)))
    b2 = torch.nn.Parameter(torch.zeros(models, c))
    return W1, b1, W2, b2, torch.optim.Adam([W1, b1, W2, b2], lr=COMPETITION_LR)


def _notebook_steps(k, models, batch, steps, activation, d, c, seed) -> list[float]:
    """The loop as the superposition notebook writes it: batch first (``[example, model,
    ...]``), ``einsum`` forward, labels and points drawn with torch every step,
    cross-entropy (mean over the batch, summed over models), autograd, Adam.  Returns the
    time of each timed step."""
    gen = torch.Generator().manual_seed(seed)
    W1, b1, W2, b2, opt = _parameters(k, models, d, c, gen)
    centers = torch.tensor(cluster_centers(d, c))  # [cluster, input]
    tau = torch.tensor(competition_temperatures(models), dtype=torch.float32).view(-1, 1)

    def step() -> None:
        labels = torch.randint(c, (batch, models), generator=gen)
        x = centers[labels] + COMPETITION_SPREAD * torch.randn(batch, models, d, generator=gen)
        z = torch.einsum("bmd,mkd->bmk", x, W1) + b1
        a = torch.softmax(z / tau, dim=-1) if activation == "softmax" else torch.relu(z)
        out = torch.einsum("bmk,mck->bmc", a, W2) + b2
        loss = F.cross_entropy(out.reshape(-1, c), labels.reshape(-1), reduction="none")
        loss = loss.view(batch, models).mean(0).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step_times(step, steps)


def _model_first_steps(k, models, batch, steps, activation, d, c, seed) -> list[float]:
    """The loop in the fastest obvious layout we found: ``[model, unit, input]`` W1 and
    friends in one tensor each, labels and points drawn with torch every step,
    ``baddbmm`` forward, cross-entropy (mean over the batch, summed over models),
    autograd, Adam.  Returns the time of each timed step."""
    gen = torch.Generator().manual_seed(seed)
    W1, b1, W2, b2, opt = _parameters(k, models, d, c, gen)
    centers = torch.tensor(cluster_centers(d, c))  # [cluster, input]
    tau = torch.tensor(competition_temperatures(models), dtype=torch.float32).view(-1, 1, 1)
    act = STRAIGHTFORWARD_ACTIVATIONS[activation]

    def step() -> None:
        labels = torch.randint(c, (models, batch), generator=gen)
        noise = torch.randn(models, d, batch, generator=gen)
        x = centers[labels].transpose(1, 2) + COMPETITION_SPREAD * noise  # [model, input, example]
        z = torch.baddbmm(b1.unsqueeze(-1), W1, x)  # [model, unit, example]
        out = torch.baddbmm(b2.unsqueeze(-1), W2, act(z, tau))  # [model, cluster, example]
        loss = F.cross_entropy(out, labels, reduction="none").mean(-1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step_times(step, steps)


# The straightforward loops by layout (see :func:`straightforward`).
LAYOUTS = {"notebook": _notebook_steps, "model-first": _model_first_steps}


def measure(args) -> list[dict]:
    rows = []
    model_args = dict(activation=args.activation, features=args.features, clusters=args.clusters)
    for k in args.units:
        models = args.models or max(1, round(default_models(k) * args.scale))
        loop = partial(
            straightforward, k, models, args.batch, args.straightforward_steps, **model_args
        )
        timings = alternate_runs(
            {
                "notebook": partial(loop, layout="notebook"),
                "straightforward": partial(loop, layout="model-first"),
                "straightforward_1thread": partial(loop, threads=1, layout="model-first"),
                "engine": partial(
                    engine, k, models, args.batch, args.engine_steps, args.threads, 1, **model_args
                ),
            },
            args.repeats,
            fresh=not args.in_process,
        )
        row = {"units": k, "models": models, "features": args.features}
        row |= {"clusters": args.clusters, "activation": args.activation, "batch": args.batch}
        row["straightforward_threads"] = timings["straightforward"][0]["threads"]
        row["engine_threads"] = args.threads
        row |= summary(
            models,
            timings,
            per_step=("notebook", "straightforward", "engine"),
            peak=("straightforward", "engine"),
        )
        e = row["engine_instance_steps_per_s"]
        n = row["notebook_instance_steps_per_s"]
        b = row["straightforward_instance_steps_per_s"]
        b1 = row["straightforward_1thread_instance_steps_per_s"]
        row |= {"ratio_vs_notebook": e / n, "ratio": e / b}
        row["ratio_vs_faster_straightforward"] = e / max(n, b, b1)
        rows.append(row)
    return rows


def markdown(rows: list[dict], args, load: tuple[float, float]) -> str:
    threads = torch.get_num_threads()
    columns = [
        table.Column("K", "{units}"),
        table.Column("models", "{models:,}"),
        *table.rates(
            {
                "notebook": f"notebook loop, {threads} threads",
                "straightforward": f"model-first loop, {threads} threads",
                "straightforward_1thread": "model-first loop, 1 thread",
                "engine": f"engine, {args.threads} threads",
            }
        ),
        table.ratio("engine ÷ notebook loop", "ratio_vs_notebook", bold=True),
        table.ratio(
            "engine ÷ fastest straightforward", "ratio_vs_faster_straightforward", bold=True
        ),
        table.per_step("ms per step: notebook → engine", "notebook", "engine"),
        table.peak("peak RSS MiB: model-first loop / engine", "straightforward", "engine"),
    ]
    note = (
        f"{table.RATE_NOTE} of {args.activation} competition layers on clusters "
        f"(d = {args.features}, C = {args.clusters}), batch {args.batch}; "
        f"{options.alternation_note(args, engine_threads=False)}; {table.machine()}; "
        f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after."
    )
    return table.markdown_table(columns, rows, note)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument(
        "--units",
        type=options.at_least(1),
        nargs="+",
        default=list(UNITS),
        help="hidden units K to time (4 16 64)",
    )
    p.add_argument(
        "--models", type=options.at_least(1), help="models at every K (default 2048 · min(1, 16/K))"
    )
    p.add_argument("--scale", type=float, default=1.0, help="multiply the default model counts (1)")
    options.add_timing_options(p, engine_threads=None)
    options.add_step_options(p, engine_steps=300)
    p.add_argument("--batch", type=options.at_least(1), default=256, help="batch size (256)")
    p.add_argument("--features", type=options.at_least(1), default=2, help="input dimension d (2)")
    p.add_argument("--clusters", type=options.at_least(1), default=4, help="clusters C (4)")
    p.add_argument(
        "--activation",
        default="softmax",
        choices=sorted(STRAIGHTFORWARD_ACTIVATIONS),
        help="the layer's activation (softmax)",
    )
    options.add_output_options(p)
    args = p.parse_args(argv)
    before = table.load_average()
    rows = measure(args)
    load = (before, table.load_average())
    text = markdown(rows, args, load)
    table.publish(text, rows, args.markdown, args.json, argv, load_average=load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
