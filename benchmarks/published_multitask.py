"""``toymodels multitask train`` against the published code doing the same work: each a
whole command (imports, compilation, training, output), measured in one run.

The published ``3_context_diff/relu.py`` (``CAandL-Lab/make-haste-slowly``, JAX) trains
one seed of the default contextual ReLU network (700 units, 8,001 epochs of full-batch
gradient descent), records its loss every epoch and its hidden activity every 10 epochs,
draws three output plots and writes text files; ``--seeds`` runs of it train as many
seeds, each in its own process as the published ``run.sh`` does.  ``toymodels multitask
train --seeds N`` trains the same N networks in one batch, records every 100 epochs, and
writes its summary, four figures (PNG and PDF) and the results; it also trains each
seed's ReLN and computes the closed forms, which the published script does not.  Both
run in alternation, ``--repeats`` times each, in fresh folders; the medians are compared.

    python -m benchmarks.published_multitask --published PATH --seeds 5 --repeats 2

``PATH`` is a checkout of the published repository (the folder holding
``3_context_diff/``); ``--python`` is an interpreter with what the published code imports
(JAX, matplotlib, scikit-learn; default: this one), e.g. a virtual environment made with
``--system-site-packages`` beside this one, so that nothing of ours is upgraded.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

# Absolute imports, so that `python benchmarks/<this file>.py` runs as well as `-m`.
from benchmarks import result_tables as table
from benchmarks import script_options as options
from benchmarks.alternation import alternate

# The folders the published script writes into (its run.sh makes them).
OUTPUT_FOLDERS = ("losses", "mds", "svs", "plots")
SCRIPT_FOLDER = "3_context_diff"


def published(source: Path, python: str, seeds: int) -> float:
    """Seconds for ``seeds`` runs of the published ``relu.py``, one process each, in a
    fresh copy of its folder."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / SCRIPT_FOLDER
        shutil.copytree(source / SCRIPT_FOLDER, work)
        for name in OUTPUT_FOLDERS:
            (work / name).mkdir(exist_ok=True)
        start = time.perf_counter()
        for _ in range(seeds):
            subprocess.run(
                [python, "relu.py"], cwd=work, check=True, capture_output=True, text=True
            )
        return time.perf_counter() - start


def ours(seeds: int) -> float:
    """Seconds for ``toymodels multitask train --seeds N`` as a whole process, into a
    fresh folder (the closed forms' derivations come from the analytics cache, as on any
    run after the first)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cli", "multitask", "train", "--seeds", str(seeds),
             "--quiet", "--out", str(Path(tmp) / "multitask")],
            check=True,
            capture_output=True,
            text=True,
        )  # fmt: skip
        return time.perf_counter() - start


def check(args) -> None:
    """One line and exit code 2 when the published code or JAX is not there."""
    script = args.published / SCRIPT_FOLDER / "relu.py"
    if not script.is_file():
        sys.exit(f"published_multitask: error: {script} not found; --published must be a "
                 "checkout of CAandL-Lab/make-haste-slowly")  # fmt: skip
    probe = subprocess.run(
        [args.python, "-c", "import jax, matplotlib, sklearn"], capture_output=True
    )
    if probe.returncode != 0:
        sys.exit(f"published_multitask: error: {args.python} cannot import jax, matplotlib "
                 "and sklearn, which the published code needs; give --python")  # fmt: skip


def measure(args) -> list[dict]:
    # Warm both once (the analytics cache, the JAX and torch file caches), untimed.
    ours(1)
    timings = alternate(
        {
            "published": partial(published, args.published, args.python, args.seeds),
            "toymodels": partial(ours, args.seeds),
        },
        args.repeats,
    )
    medians = {k: statistics.median(v) for k, v in timings.items()}
    return [
        {
            "seeds": args.seeds,
            "published_seconds": timings["published"],
            "toymodels_seconds": timings["toymodels"],
            "published_median": medians["published"],
            "toymodels_median": medians["toymodels"],
            "speedup": medians["published"] / medians["toymodels"],
        }
    ]


def markdown(rows: list[dict], args) -> str:
    columns = [
        table.Column("seeds", "{seeds}"),
        table.Column("published relu.py, s", "{published_median:.1f}"),
        table.Column("toymodels multitask train, s", "{toymodels_median:.1f}"),
        table.ratio("toymodels speed-up", "speedup", bold=True),
    ]
    note = (
        f"Whole commands training the default contextual ReLU network (700 units, 8,001 "
        f"epochs), medians of {args.repeats} alternating runs; {table.machine()}."
    )
    return table.markdown_table(columns, rows, note)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--published", type=Path, required=True, help="the published checkout")
    p.add_argument("--python", default=sys.executable, help="interpreter with JAX (this one)")
    p.add_argument("--seeds", type=options.at_least(1), default=5, help="networks trained (5)")
    p.add_argument("--repeats", type=options.at_least(1), default=2, help="alternating runs (2)")
    options.add_output_options(p, in_process=False)
    args = p.parse_args(argv)
    check(args)
    rows = measure(args)
    table.publish(markdown(rows, args), rows, args.markdown, args.json, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
