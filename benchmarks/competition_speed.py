"""What competition costs: the time per training step of the competition family for
every activation and every volume control, relative to ReLU, and the engine beside the
straightforward batched loop, in one run.

The models: a hidden layer of K units ``z = W1 x + b1``, ``a = act(z)`` over units,
read-out ``W2 a + b2``, classifying the ``clusters`` task (C = ``--clusters`` Gaussian
clusters of spread 0.5, centres evenly on the unit circle in d = ``--features``
dimensions), τ spread log-uniformly over [0.1, 10] across the models, Adam at lr 0.01,
fresh samples every step.

The default run (the *survey*), for each K in ``--units`` (16 64): the engine
(:func:`engine`: ``toymodels.train``, on ``--threads`` threads) for every activation
without a volume control, for every volume control on softmax (at its typical strength;
every control applies to softmax) and for revival on the hard winner-take-all
activations; and the model-first straightforward loop (:func:`straightforward`: autograd,
``torch.optim.Adam``, as many intra-op threads as the engine has threads) for every
activation.  Each time is the
median over ``--repeats`` alternating runs; the table gives milliseconds per step of all
the models, each relative to ReLU's (the same implementation, the same K and models) and
the engine's speed-up over the loop.  Model counts (unless ``--models``) are
``SURVEY_MODELS · min(1, 16/K)``, so a survey runs in a few minutes.

``--layouts``: the engine against two straightforward layouts for one activation
(``--activation``, softmax or relu; K = 4 16 64 unless ``--units``): the notebook's loop
(batch first, ``einsum``, as the superposition benchmark and the published notebook write
it) and the fastest obvious layout we found (``[model, unit, example]`` with
``baddbmm``), the latter also on one thread (two intra-op threads slow down several-fold
when another process holds a core); the model count per K is 2048 · min(1, 16/K), so a
step takes tens of milliseconds in the engine.

Instance-steps per second = models x steps per second, steady state (setup excluded for
both).  Every timing runs in a fresh process unless ``--in-process``.

    python -m benchmarks.competition_speed --markdown competition.md --json competition.json
    python -m benchmarks.competition_speed --layouts
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
from benchmarks.alternation import alternate_runs, median_rate, summary
from benchmarks.steady_state import ENGINE_MIN_STEPS, Timing, step_times, time_engine, time_loop
from toymodels.activations import ACTIVATIONS
from toymodels.families import FAMILIES
from toymodels.model_config import ModelConfig
from toymodels.train_config import TrainConfig
from toymodels.volumes import VOLUMES

UNITS = (4, 16, 64)
# The survey's sizes and model counts (at K <= MODELS_UNITS; fewer above): a step of the
# engine takes a few milliseconds, so every activation and control fits in minutes.
SURVEY_UNITS = (16, 64)
SURVEY_MODELS = 256
# Alternating runs of every timing by default: the survey has 33 timings per K, so one
# run of each keeps it to minutes (alternate them with --repeats 2 or more on a busy
# machine); the layouts' comparison has 4 per K.
SURVEY_REPEATS, LAYOUT_REPEATS = 1, 3
# Engine steps of a layouts' run (the survey takes the fewest the engine can time).
LAYOUT_ENGINE_STEPS = 300
# Models at K <= 16; fewer above, so the work per step stays about the same.
MODELS, MODELS_UNITS = 2048, 16
# The models' fixed settings: cluster spread, learning rate (Adam) and the range of
# temperatures spread log-uniformly over the models.
COMPETITION_SPREAD = 0.5
COMPETITION_LR = 0.01
COMPETITION_TEMPERATURES = (0.1, 10.0)


def default_models(units: int, models: int = MODELS) -> int:
    return max(1, round(models * min(1.0, MODELS_UNITS / units)))


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
    units: int, models: int, activation: str = "softmax", features: int = 2, clusters: int = 4,
    volume: str = "none",
) -> list[ModelConfig]:  # fmt: skip
    """``models`` competition models of ``units`` units on ``clusters``, one temperature
    each (see :func:`competition_temperatures`), under the volume control ``volume`` at
    its typical strength."""
    centers = tuple(tuple(row) for row in cluster_centers(features, clusters))
    return [
        ModelConfig.build(
            "competition",
            "clusters",
            n_hidden=units,
            activation=activation,
            temperature=float(tau),
            volume=volume,
            volume_strength=VOLUMES[volume].typical_strength,
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
    volume: str = "none",
) -> Timing:  # fmt: skip
    """Time :func:`toymodels.train` on ``models`` competition models (K = ``units``) on
    the clusters task, Adam at ``COMPETITION_LR``, under the volume control ``volume``;
    ``steps`` at least 200 for a steady-state window."""
    configs = competition_configs(units, models, activation, features, clusters, volume)
    cfg = TrainConfig(steps=steps, batch_size=batch, lr=COMPETITION_LR, eval_batch=batch)
    return time_engine(
        configs, cfg, threads, repeats, features=features, hidden=units, batch=batch,
        family="competition", activation=activation,
    )  # fmt: skip


def _in_pairs(z: torch.Tensor) -> torch.Tensor:
    """``z [model, unit, example]`` as ``[model, block, 2, example]``: the default
    ``group_size`` 2 of grouped_softmax and lwta."""
    return z.unflatten(1, (z.shape[1] // 2, 2))


def _lwta(z: torch.Tensor) -> torch.Tensor:
    pairs = _in_pairs(z)
    return (pairs * (pairs == pairs.amax(2, keepdim=True))).flatten(1, 2)


def _kwta(z: torch.Tensor) -> torch.Tensor:
    # the default k_active 2: the units at or above the second largest
    return z * (z >= z.topk(2, dim=1).values[:, 1:])


def _parallel(z: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    half = z.shape[1] // 2
    return torch.cat((torch.relu(z[:, :half]), torch.softmax(z[:, half:] / tau, dim=1)), dim=1)


def _solu_ln(z: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    s = (z * torch.softmax(z / tau, dim=1)).transpose(1, 2)
    return F.layer_norm(s, (z.shape[1],)).transpose(1, 2)


# Every activation as the straightforward loop writes it (autograd differentiates it), on
# z [model, unit, example] with τ [model, 1, 1]; ties of lwta and kwta may differ from the
# engine's, which does not change the work.
STRAIGHTFORWARD_ACTIVATIONS = {
    "relu": lambda z, tau: torch.relu(z),
    "linear": lambda z, tau: z,
    "softmax": lambda z, tau: torch.softmax(z / tau, dim=1),
    "log_softmax": lambda z, tau: tau * torch.log_softmax(z / tau, dim=1),
    "solu": lambda z, tau: z * torch.softmax(z / tau, dim=1),
    "solu_ln": _solu_ln,
    "grouped_softmax": lambda z, tau: torch.softmax(_in_pairs(z / tau), dim=2).flatten(1, 2),
    "lwta": lambda z, tau: _lwta(z),
    "kwta": lambda z, tau: _kwta(z),
    "l2_norm": lambda z, tau: F.normalize(z, dim=1),
    "parallel": _parallel,
    "residual_softmax": lambda z, tau: z + torch.softmax(z / tau, dim=1),
}
# The activations the notebook's batch-first loop writes out (--layouts).
NOTEBOOK_ACTIVATIONS = ("softmax", "relu")


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
    written = NOTEBOOK_ACTIVATIONS if layout == "notebook" else STRAIGHTFORWARD_ACTIVATIONS
    if activation not in written:
        raise ValueError(
            f'activation "{activation}": the {layout} loop is written for {", ".join(written)}'
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


def measure_layouts(args) -> list[dict]:
    """The engine against the straightforward layouts for ``args.activation``."""
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


def markdown_layouts(rows: list[dict], args, load: tuple[float, float]) -> str:
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


def survey_workloads() -> list[tuple[str, str]]:
    """``(activation, volume control)`` pairs of the survey: every activation alone, every
    control on softmax (each applies to it), and revival on the hard winner-take-all
    activations (whose autograd revival was the slowest diagram)."""
    alone = [(a, "none") for a in ACTIVATIONS]
    controls = [("softmax", v) for v in VOLUMES if v != "none"]
    return alone + controls + [("lwta", "revival"), ("kwta", "revival")]


def measure_survey(args) -> list[dict]:
    """One row per K and workload: the engine's ms per step and, without a control, the
    straightforward loop's, each relative to ReLU's."""
    rows = []
    common = dict(features=args.features, clusters=args.clusters)
    for k in args.units:
        models = args.models or max(1, round(default_models(k, SURVEY_MODELS) * args.scale))
        runs = {}
        for activation, volume in survey_workloads():
            runs[f"engine {activation} {volume}"] = partial(
                engine, k, models, args.batch, args.engine_steps, args.threads, 1,
                activation=activation, volume=volume, **common,
            )  # fmt: skip
        for activation in ACTIVATIONS:
            runs[f"loop {activation}"] = partial(
                straightforward, k, models, args.batch, args.straightforward_steps,
                threads=args.threads, activation=activation, layout="model-first", **common,
            )  # fmt: skip
        timings = alternate_runs(runs, args.repeats, fresh=not args.in_process)
        ms = {name: 1e3 * models / median_rate(ts) for name, ts in timings.items()}
        relu, loop_relu = ms["engine relu none"], ms["loop relu"]
        for activation, volume in survey_workloads():
            config = competition_configs(k, 1, activation, volume=volume, **common)[0]
            engine_ms = ms[f"engine {activation} {volume}"]
            row = {"units": k, "models": models, "activation": activation, "volume": volume}
            row["volume_strength"] = VOLUMES[volume].typical_strength
            row["gradient"] = (
                "hand" if FAMILIES["competition"].uses_hand_gradient(config) else "autograd"
            )
            row |= {"engine_ms_per_step": engine_ms, "engine_vs_relu": engine_ms / relu}
            row["engine_runs"] = [
                t["instance_steps_per_s"] for t in timings[f"engine {activation} {volume}"]
            ]
            loop = ms.get(f"loop {activation}") if volume == "none" else None
            row["straightforward_ms_per_step"] = loop
            row["straightforward_vs_relu"] = None if loop is None else loop / loop_relu
            row["engine_speedup"] = None if loop is None else loop / engine_ms
            rows.append(row)
    return rows


def _cell(value, template: str) -> str:
    return "–" if value is None else template.format(value)


def markdown_survey(rows: list[dict], args, load: tuple[float, float]) -> str:
    lines = [
        "| K | models | activation | volume control (λ) | gradient | engine ms/step "
        "| engine ÷ ReLU | loop ms/step | loop ÷ ReLU | loop ÷ engine |",
        "|---:|---:|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        volume = (
            r["volume"] if r["volume"] == "none" else f"{r['volume']} ({r['volume_strength']:g})"
        )
        lines.append(
            f"| {r['units']} | {r['models']:,} | {r['activation']} | {volume} | {r['gradient']} "
            f"| {r['engine_ms_per_step']:.1f} | **{r['engine_vs_relu']:.2f}×** "
            f"| {_cell(r['straightforward_ms_per_step'], '{:.1f}')} "
            f"| {_cell(r['straightforward_vs_relu'], '{:.2f}×')} "
            f"| {_cell(r['engine_speedup'], '{:.1f}×')} |"
        )
    note = (
        f"Milliseconds per training step of all the models (medians of {args.repeats} "
        f"alternating runs: {args.engine_steps} steps of the engine on {args.threads} threads, "
        f"{args.straightforward_steps} timed steps of the model-first loop on {args.threads} "
        f"threads{'' if args.in_process else ', each in a fresh process'}); ÷ ReLU: relative "
        f"to the same implementation's ReLU layer at the same K; clusters (d = {args.features}, "
        f"C = {args.clusters}), batch {args.batch}, τ log-uniform over [0.1, 10]; "
        f"{table.machine()}; 1-minute load average {load[0]:.1f} before, {load[1]:.1f} after."
    )
    return "\n".join([*lines, "", note])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument(
        "--layouts",
        action="store_true",
        help="the engine against the straightforward layouts for --activation, instead of "
        "the survey of every activation and volume control",
    )
    p.add_argument(
        "--units",
        type=options.at_least(1),
        nargs="+",
        help="hidden units K to time (survey 16 64; --layouts 4 16 64)",
    )
    p.add_argument(
        "--models",
        type=options.at_least(1),
        help=f"models at every K (default {SURVEY_MODELS} · min(1, 16/K); --layouts "
        f"{MODELS} · min(1, 16/K))",
    )
    p.add_argument("--scale", type=float, default=1.0, help="multiply the default model counts (1)")
    options.add_timing_options(p, engine_threads=None)
    options.add_step_options(p, engine_steps=ENGINE_MIN_STEPS)
    p.add_argument("--batch", type=options.at_least(1), default=256, help="batch size (256)")
    p.add_argument("--features", type=options.at_least(1), default=2, help="input dimension d (2)")
    p.add_argument("--clusters", type=options.at_least(1), default=4, help="clusters C (4)")
    p.add_argument(
        "--activation",
        default="softmax",
        choices=NOTEBOOK_ACTIVATIONS,
        help="the layer's activation with --layouts (softmax)",
    )
    options.add_output_options(p)
    # the survey's defaults and the layouts' differ: resolved once the mode is known
    p.set_defaults(repeats=None, engine_steps=None)
    helps = {
        "--repeats": f"alternating runs (survey {SURVEY_REPEATS}, --layouts {LAYOUT_REPEATS})",
        "--engine-steps": f"engine steps per run, >= {ENGINE_MIN_STEPS} (survey "
        f"{ENGINE_MIN_STEPS}, --layouts {LAYOUT_ENGINE_STEPS})",
    }
    for option, text in helps.items():
        p._option_string_actions[option].help = text
    args = p.parse_args(argv)
    if args.units is None:
        args.units = list(UNITS if args.layouts else SURVEY_UNITS)
    if args.repeats is None:
        args.repeats = LAYOUT_REPEATS if args.layouts else SURVEY_REPEATS
    if args.engine_steps is None:
        args.engine_steps = LAYOUT_ENGINE_STEPS if args.layouts else ENGINE_MIN_STEPS
    before = table.load_average()
    rows = measure_layouts(args) if args.layouts else measure_survey(args)
    load = (before, table.load_average())
    text = (markdown_layouts if args.layouts else markdown_survey)(rows, args, load)
    table.publish(text, rows, args.markdown, args.json, argv, load_average=load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
