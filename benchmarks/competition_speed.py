"""Throughput of the competition family in toymodels' engine beside the straightforward
batched loop, in one run.

The models: a hidden layer of K units ``z = W1 x + b1``, ``a = softmax(z/τ)`` over units
(``--activation``), read-out ``W2 a + b2``, classifying the ``clusters`` task (C =
``--clusters`` Gaussian clusters of spread 0.5, centres evenly on the unit circle in d =
``--features`` dimensions), τ spread log-uniformly over [0.1, 10] across the models,
Adam at lr 0.01, fresh samples every step.

For each K in ``--units``, two straightforward loops (``toymodels.bench.
competition_straightforward``: labels and points drawn with torch each step,
cross-entropy, autograd, ``torch.optim.Adam``, torch's default threads) and the engine
(``toymodels.bench.competition_engine``: ``toymodels.train``, whose competition family
steps a hand-derived gradient in cache-sized chunks of models, on ``--threads`` threads)
are timed in alternation, ``--repeats`` times each, each timing in a fresh process, and
the medians compared.  The two loops: the notebook's (batch first, ``einsum``, as the
superposition benchmark and REFERENCE.md write it) and the fastest obvious layout we
found (``[model, unit, example]`` with ``baddbmm``), the latter also on one thread (two
intra-op threads slow down several-fold when another process holds a core).  The table
gives the engine's ratio to the notebook loop and to the fastest straightforward
timing.  Instance-steps per second = models x steps per second,
steady state (setup excluded for both).  The model count per K (unless ``--models``) is
2048 · min(1, 16/K), so a step takes tens of milliseconds in the engine.

    python benchmarks/competition_speed.py --markdown competition.md --json competition.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import torch

from toymodels import bench

UNITS = (4, 16, 64)
# Models at K <= 16; fewer above, so the work per step stays about the same.
MODELS, MODELS_UNITS = 2048, 16


def default_models(units: int) -> int:
    return max(1, round(MODELS * min(1.0, MODELS_UNITS / units)))


def measure(args) -> list[dict]:
    rows = []
    model_args = dict(activation=args.activation, features=args.features, clusters=args.clusters)
    for k in args.units:
        models = args.models or max(1, round(default_models(k) * args.scale))
        note, base, single, fast = [], [], [], []
        fresh = not args.in_process
        loop = ("competition_straightforward", k, models, args.batch, args.straightforward_steps)
        for _ in range(args.repeats):  # alternate, so load changes hit all alike
            note.append(bench.timed(*loop, fresh=fresh, layout="notebook", **model_args))
            base.append(bench.timed(*loop, fresh=fresh, layout="model-first", **model_args))
            single.append(
                bench.timed(*loop, fresh=fresh, threads=1, layout="model-first", **model_args)
            )
            fast.append(
                bench.timed(
                    "competition_engine",
                    k,
                    models,
                    args.batch,
                    args.engine_steps,
                    args.threads,
                    repeats=1,
                    fresh=fresh,
                    **model_args,
                )
            )
        n = statistics.median(t.instance_steps_per_s for t in note)
        b = statistics.median(t.instance_steps_per_s for t in base)
        b1 = statistics.median(t.instance_steps_per_s for t in single)
        e = statistics.median(t.instance_steps_per_s for t in fast)
        rows.append(
            {
                "units": k,
                "models": models,
                "features": args.features,
                "clusters": args.clusters,
                "activation": args.activation,
                "batch": args.batch,
                "straightforward_threads": base[0].threads,
                "engine_threads": args.threads,
                "notebook_instance_steps_per_s": n,
                "straightforward_instance_steps_per_s": b,
                "engine_instance_steps_per_s": e,
                "ratio_vs_notebook": e / n,
                "ratio": e / b,
                "straightforward_1thread_instance_steps_per_s": b1,
                "ratio_vs_faster_straightforward": e / max(n, b, b1),
                "notebook_ms_per_step": 1e3 * models / n,
                "straightforward_ms_per_step": 1e3 * models / b,
                "engine_ms_per_step": 1e3 * models / e,
                "straightforward_peak_rss_mib": max(t.peak_rss_mib for t in base),
                "engine_peak_rss_mib": max(t.peak_rss_mib for t in fast),
                "notebook_runs": [t.instance_steps_per_s for t in note],
                "straightforward_runs": [t.instance_steps_per_s for t in base],
                "straightforward_1thread_runs": [t.instance_steps_per_s for t in single],
                "engine_runs": [t.instance_steps_per_s for t in fast],
            }
        )
    return rows


def markdown(rows: list[dict], args, load: tuple[float, float]) -> str:
    threads = torch.get_num_threads()
    lines = [
        f"| K | models | notebook loop, {threads} threads | model-first loop, {threads} "
        f"threads | model-first loop, 1 thread | engine, {args.threads} threads "
        "| engine ÷ notebook loop | engine ÷ fastest straightforward "
        "| ms per step: notebook → engine | peak RSS MiB: model-first loop / engine |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['units']} | {r['models']:,} "
            f"| {r['notebook_instance_steps_per_s']:,.0f} "
            f"| {r['straightforward_instance_steps_per_s']:,.0f} "
            f"| {r['straightforward_1thread_instance_steps_per_s']:,.0f} "
            f"| {r['engine_instance_steps_per_s']:,.0f} | **{r['ratio_vs_notebook']:.1f}×** "
            f"| **{r['ratio_vs_faster_straightforward']:.1f}×** "
            f"| {r['notebook_ms_per_step']:.0f} → {r['engine_ms_per_step']:.1f} "
            f"| {r['straightforward_peak_rss_mib']:.0f} / {r['engine_peak_rss_mib']:.0f} |"
        )
    lines.append("")
    lines.append(
        f"Instance-steps per second (models × steps / s) of {args.activation} competition "
        f"layers on clusters (d = {args.features}, C = {args.clusters}), batch {args.batch}; "
        f"medians of {args.repeats} alternating runs ({args.straightforward_steps} timed "
        f"steps of the straightforward loop, {args.engine_steps} steps of the engine); "
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; "
        f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after."
    )
    return "\n".join(lines)


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--units",
        type=int,
        nargs="+",
        default=list(UNITS),
        help="hidden units K to time (4 16 64)",
    )
    p.add_argument("--models", type=int, help="models at every K (default 2048 · min(1, 16/K))")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the default model counts (1)")
    p.add_argument("--repeats", type=int, default=3, help="alternating runs per K (3)")
    p.add_argument(
        "--straightforward-steps",
        type=int,
        default=15,
        help="timed steps of the straightforward loop per run (15)",
    )
    p.add_argument(
        "--engine-steps", type=int, default=300, help="engine steps per run, >= 200 (300)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="engine threads (default: all cores)",
    )
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--features", type=int, default=2, help="input dimension d (2)")
    p.add_argument("--clusters", type=int, default=4, help="clusters C (4)")
    p.add_argument(
        "--activation",
        default="softmax",
        choices=sorted(bench.STRAIGHTFORWARD_ACTIVATIONS),
        help="the layer's activation (softmax)",
    )
    p.add_argument(
        "--in-process",
        action="store_true",
        help="time everything in this process (quicker; memory figures then accumulate)",
    )
    p.add_argument("--markdown", type=Path, help="also write the table here")
    p.add_argument("--json", type=Path, help="also write the measurements here")
    args = p.parse_args(argv)
    for flag, value, least in (
        ("--units", min(args.units), 1),
        ("--models", 1 if args.models is None else args.models, 1),
        ("--engine-steps", args.engine_steps, 200),
        ("--straightforward-steps", args.straightforward_steps, 1),
        ("--repeats", args.repeats, 1),
    ):
        if value < least:
            p.error(f"{flag} {value}: must be at least {least}")
    before = _load()
    rows = measure(args)
    load = (before, _load())
    table = markdown(rows, args, load)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        report = {"command": sys.argv if argv is None else argv, "load_average": load, "rows": rows}
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
