"""Throughput of toymodels' engine beside the straightforward batched loop, in one run.

For each size, the straightforward loop (all models in one tensor, ``einsum`` forward,
``torch.rand`` data for mask and values, autograd, ``torch.optim.Adam``, torch's default
threads; ``toymodels.bench.straightforward``) and the engine (``toymodels.engine`` with the
paper-faithful ``sampled`` estimator on ``--threads`` threads) are timed in alternation,
``--repeats`` times each, each timing in a fresh process, and the medians compared.
Instance-steps per second = models x steps per second, steady state (setup excluded for
both); peak RSS is the timing process's high-water mark (about 300 MiB of it is torch).

    python benchmarks/compare_straightforward.py --markdown table.md --json table.json
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

# (n_features, n_hidden, models): the sizes issue 5 asks for, batch 1024.
SIZES = ((2, 1, 4000), (20, 5, 100), (200, 20, 20))


def measure(args) -> list[dict]:
    rows = []
    for n, m, models in SIZES:
        models = max(1, round(models * args.scale))
        base, single, fast = [], [], []
        steps = args.straightforward_steps
        for _ in range(args.repeats):  # alternate, so load changes hit all alike
            fresh = not args.in_process
            base.append(
                bench.timed("straightforward", n, m, models, args.batch, steps, fresh=fresh)
            )
            single.append(
                bench.timed(
                    "straightforward", n, m, models, args.batch, steps, threads=1, fresh=fresh
                )
            )
            fast.append(
                bench.timed(
                    "engine",
                    n,
                    m,
                    models,
                    args.batch,
                    args.engine_steps,
                    args.threads,
                    repeats=1,
                    fresh=fresh,
                )  # fmt: skip
            )
        b = statistics.median(t.instance_steps_per_s for t in base)
        b1 = statistics.median(t.instance_steps_per_s for t in single)
        e = statistics.median(t.instance_steps_per_s for t in fast)
        rows.append(
            {
                "features": n,
                "hidden": m,
                "models": models,
                "batch": args.batch,
                "straightforward_instance_steps_per_s": b,
                "engine_instance_steps_per_s": e,
                "ratio": e / b,
                "straightforward_1thread_instance_steps_per_s": b1,
                "ratio_vs_faster_straightforward": e / max(b, b1),
                "straightforward_ms_per_step": 1e3 * models / b,
                "engine_ms_per_step": 1e3 * models / e,
                "straightforward_peak_rss_mib": max(t.peak_rss_mib for t in base),
                "engine_peak_rss_mib": max(t.peak_rss_mib for t in fast),
                "straightforward_runs": [t.instance_steps_per_s for t in base],
                "straightforward_1thread_runs": [t.instance_steps_per_s for t in single],
                "engine_runs": [t.instance_steps_per_s for t in fast],
            }
        )
    return rows


def markdown(rows: list[dict], args) -> str:
    lines = [
        f"| n → m | models | straightforward, {torch.get_num_threads()} threads (default) "
        "| straightforward, 1 thread | engine | engine ÷ straightforward (default threads) "
        "| engine ÷ faster straightforward | ms per step: straightforward → engine "
        "| peak RSS MiB: straightforward / engine |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['features']} → {r['hidden']} | {r['models']:,} "
            f"| {r['straightforward_instance_steps_per_s']:,.0f} "
            f"| {r['straightforward_1thread_instance_steps_per_s']:,.0f} "
            f"| {r['engine_instance_steps_per_s']:,.0f} | **{r['ratio']:.1f}×** "
            f"| {r['ratio_vs_faster_straightforward']:.1f}× "
            f"| {r['straightforward_ms_per_step']:.0f} → {r['engine_ms_per_step']:.1f} "
            f"| {r['straightforward_peak_rss_mib']:.0f} / {r['engine_peak_rss_mib']:.0f} |"
        )
    lines.append("")
    lines.append(
        f"Instance-steps per second (models × steps / s), batch {args.batch}, density 0.1; "
        f"medians of {args.repeats} alternating runs ({args.straightforward_steps} timed "
        f"steps of the straightforward loop, {args.engine_steps} steps of the engine on "
        f"{args.threads} threads); {platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="alternating runs per size (3)")
    p.add_argument(
        "--straightforward-steps",
        type=int,
        default=15,
        help="timed steps of the straightforward loop per run (15)",
    )
    p.add_argument(
        "--engine-steps", type=int, default=400, help="engine steps per run, >= 200 (400)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="engine threads (default: all cores)",
    )
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply the model counts (a quick check: 0.05)"
    )
    p.add_argument(
        "--in-process",
        action="store_true",
        help="time everything in this process (quicker; memory figures then accumulate)",
    )
    p.add_argument("--markdown", type=Path, help="also write the table here")
    p.add_argument("--json", type=Path, help="also write the measurements here")
    args = p.parse_args(argv)
    rows = measure(args)
    table = markdown(rows, args)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.write_text(json.dumps({"command": sys.argv, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
