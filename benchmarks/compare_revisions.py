"""Engine throughput of this source tree beside another git revision, in one run.

The other revision is checked out into a temporary git worktree.  For each size, the
engine of each tree (its own engine benchmark, :func:`benchmarks.compare_straightforward.
engine` or, in a revision older than this package, ``toymodels.bench.engine``: fresh
samples every step, Adam; or the exact estimator of ``phase-diagram``'s fast protocol) is
timed in alternation, each timing in a fresh process whose ``PYTHONPATH`` is that tree,
``--repeats`` times (who goes first alternates too), and the medians compared.
Instance-steps per second = models x steps per second, steady state.

    python -m benchmarks.compare_revisions --base HEAD~1 --markdown table.md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

# Absolute imports, so that `python benchmarks/<this file>.py` runs as well as `-m`.
from benchmarks import result_tables as table
from benchmarks import script_options as options
from benchmarks.alternation import alternate, median_rate
from benchmarks.fresh_process import ROOT, run
from benchmarks.steady_state import ENGINE_MIN_STEPS

# (n_features, n_hidden, models, estimator): the sizes of compare_straightforward.py, and
# the phase diagram's exact-estimator protocol on a 40x40 x 10-seed grid.
SIZES = ((2, 1, 4000, "sampled"), (20, 5, 100, "sampled"), (200, 20, 20, "sampled"))
SIZES += ((2, 1, 16000, "exact"),)
# Where a tree keeps its engine benchmark, newest layout first.
ENGINE_REFERENCES = ("benchmarks.compare_straightforward:engine", "toymodels.bench:engine")


@contextmanager
def _worktree(rev: str) -> Iterator[Path]:
    """``rev`` checked out into a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "base"
        git = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*git, "add", "--detach", str(folder), rev], check=True, capture_output=True)
        try:
            yield folder
        finally:
            subprocess.run([*git, "remove", "--force", str(folder)], capture_output=True)


def measure(args) -> list[dict]:
    rows = []
    with _worktree(args.base) as base:
        for n, m, models, estimator in SIZES:
            job = (n, m, models, args.batch, args.steps, args.threads, estimator)
            timings = alternate(
                {
                    "base": partial(run, ENGINE_REFERENCES, *job, repeats=1, tree=base),
                    "this": partial(run, ENGINE_REFERENCES, *job, repeats=1, tree=ROOT),
                },
                args.repeats,
            )
            b, t = median_rate(timings["base"]), median_rate(timings["this"])
            rows.append(
                {
                    "features": n,
                    "hidden": m,
                    "models": models,
                    "estimator": estimator,
                    "base_instance_steps_per_s": b,
                    "this_instance_steps_per_s": t,
                    "ratio": t / b,
                    "runs": {
                        key: [x["instance_steps_per_s"] for x in ts] for key, ts in timings.items()
                    },
                }
            )
            print(
                f"{n} -> {m}, {models} models, {estimator}: base {b:,.0f}, this {t:,.0f} "
                f"instance-steps/s ({t / b:.3f}x)",
                file=sys.stderr,
            )
    return rows


COLUMNS = (
    table.Column("n → m", "{features} → {hidden}", numeric=False),
    table.Column("models", "{models:,}"),
    table.Column("estimator", "{estimator}", numeric=False),
    *table.rates({"base": "base", "this": "this tree"}),
    table.Column("this ÷ base", "{ratio:.3f}×"),
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--base", default="HEAD~1", help="git revision to compare against (HEAD~1)")
    options.add_timing_options(p, engine_threads=None)
    p.add_argument(
        "--steps",
        type=options.at_least(ENGINE_MIN_STEPS),
        default=300,
        help=f"engine steps per run, >= {ENGINE_MIN_STEPS} (300)",
    )
    p.add_argument("--batch", type=options.at_least(1), default=1024, help="batch size (1024)")
    options.add_output_options(p, in_process=False)
    args = p.parse_args(argv)
    rows = measure(args)
    note = (
        f"Instance-steps per second, medians of {args.repeats} alternating runs of "
        f"{args.steps} steps on {args.threads} threads, batch {args.batch}; base = "
        f"`{args.base}`."
    )
    table.publish(table.markdown_table(COLUMNS, rows, note), rows, args.markdown, args.json, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
