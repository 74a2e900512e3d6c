"""Engine throughput of this source tree beside another git revision, in one run.

The other revision is checked out into a temporary git worktree.  For each size, the
engine of each tree (``toymodels.bench.engine``: fresh samples every step, Adam; or the
exact estimator of ``phase-diagram``'s fast protocol) is timed in alternation, each timing
in a fresh process whose ``PYTHONPATH`` puts that tree first, ``--repeats`` times (who goes
first alternates too), and the medians compared.  Instance-steps per second = models x
steps per second, steady state.

    python benchmarks/compare_revisions.py --base HEAD~1 --markdown table.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (n_features, n_hidden, models, estimator): the sizes of compare_straightforward.py, and
# the phase diagram's exact-estimator protocol on a 40x40 x 10-seed grid.
SIZES = ((2, 1, 4000, "sampled"), (20, 5, 100, "sampled"), (200, 20, 20, "sampled"))
SIZES += ((2, 1, 16000, "exact"),)
_TIME = """
import json, sys
from toymodels.bench import engine
n, m, models, batch, steps, threads, estimator = json.loads(sys.argv[1])
t = engine(n, m, models, batch, steps, threads, estimator, repeats=1)
print(json.dumps(t.as_dict()))
"""


def _timed(tree: Path, args: list) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # Run outside both trees, so the working directory does not shadow PYTHONPATH.
    out = subprocess.run(
        [sys.executable, "-c", _TIME, json.dumps(args)],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["instance_steps_per_s"]


def _worktree(rev: str, folder: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), rev],
        check=True,
        capture_output=True,
    )
    return folder


def measure(args) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = _worktree(args.base, Path(tmp) / "base")
        try:
            for n, m, models, estimator in SIZES:
                job = [n, m, models, args.batch, args.steps, args.threads, estimator]
                rates = {"base": [], "this": []}
                for repeat in range(args.repeats):
                    # alternate, and swap who goes first, so drifts in load hit both alike
                    order = (("base", base), ("this", ROOT))
                    for key, tree in order if repeat % 2 == 0 else order[::-1]:
                        rates[key].append(_timed(tree, job))
                b, t = (statistics.median(rates[k]) for k in ("base", "this"))
                rows.append(
                    {
                        "features": n,
                        "hidden": m,
                        "models": models,
                        "estimator": estimator,
                        "base_instance_steps_per_s": b,
                        "this_instance_steps_per_s": t,
                        "ratio": t / b,
                        "runs": rates,
                    }
                )
                print(
                    f"{n} -> {m}, {models} models, {estimator}: base {b:,.0f}, this {t:,.0f} "
                    f"instance-steps/s ({t / b:.3f}x)",
                    file=sys.stderr,
                )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                capture_output=True,
            )
    return rows


def markdown(rows: list[dict], args) -> str:
    lines = [
        "| n → m | models | estimator | base | this tree | this ÷ base |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['features']} → {r['hidden']} | {r['models']:,} | {r['estimator']} | "
            f"{r['base_instance_steps_per_s']:,.0f} | {r['this_instance_steps_per_s']:,.0f} | "
            f"{r['ratio']:.3f}× |"
        )
    lines.append(
        f"\nInstance-steps per second, medians of {args.repeats} alternating runs of "
        f"{args.steps} steps on {args.threads} threads, batch {args.batch}; base = "
        f"`{args.base}`."
    )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="git revision to compare against")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--markdown", type=Path, help="write the table here too")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args(argv)
    rows = measure(args)
    table = markdown(rows, args)
    print(table)
    for path, text in ((args.markdown, table), (args.json, json.dumps(rows, indent=1))):
        if path is not None:
            path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
