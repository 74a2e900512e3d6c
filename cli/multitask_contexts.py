"""``toymodels multitask contexts``: the paper's scaling claim, K = 3, 4, 5 contexts.

Trains, for each K, the ReLU network and the GDLN of the published experiment
(``summaries.context_scaling``: published data sets, widths, initial scales, lr 1e-3,
8,001 epochs), one sweep per K and model (``DIR/relu-K``, ``DIR/gdln-K``, resumable),
derives the closed-form ReLN, and writes ``DIR/summary.json`` (per K: the census, the
winning pathways, the trained GDLN's and the closed form's singular values of each
pathway; the K − 1-context pathways' singular values against K = 3's) and
``DIR/contexts.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .arguments import add_root_seed, add_sweep_options, headline, positive_int

# 5 seeds: the whole command took 46 s of CPU on the shared 2-core machine
# (docs/multitask.md), leaving room under its 3-minute budget when the machine is loaded;
# the census and the singular values vary little across seeds.
DEFAULTS = {"seeds": 5, "epochs": 8001}
RUNS = ("relu", "gdln")
WRITTEN = ("summary.json", "contexts.png", "contexts.pdf")  # besides the sweeps' folders


def register(inner) -> None:
    p = inner.add_parser(
        "contexts",
        help="K = 3, 4, 5 contexts: ReLU network, GDLN and closed form; figure, summary.json",
        description=headline(__doc__),
    )
    p.add_argument("--seeds", type=positive_int, default=DEFAULTS["seeds"], help="default 5")
    p.add_argument("--epochs", type=positive_int, default=DEFAULTS["epochs"], help="default 8001")
    add_root_seed(p)
    add_sweep_options(p)
    p.add_argument(
        "--out", type=Path, default=Path("contexts"), help="output folder (default contexts)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def folders(out: Path) -> dict[tuple[int, str], Path]:
    from summaries.context_scaling import CONTEXTS

    return {(k, kind): out / f"{kind}-{k}" for k in CONTEXTS for kind in RUNS}


def check_out(out: Path) -> None:
    """Refuse, before any work, an ``--out`` that cannot be written or that is neither
    empty nor an earlier output of this command (whose sweeps are resumed)."""
    from toymodels.errors import ConfigError
    from toymodels.files import check_writable

    check_writable(out)
    if not out.is_dir():
        return
    ours = {p.name for p in folders(out).values()} | set(WRITTEN)
    stray = sorted(p.name for p in out.iterdir() if p.name not in ours)
    if stray:
        raise ConfigError(
            f"--out {out} is not empty and holds no earlier output of toymodels multitask "
            f"contexts ({stray[0]}); give a new or empty folder"
        )


def run(args: argparse.Namespace) -> int:
    import sweeps
    from figures.context_panels import contexts_figure
    from summaries.context_scaling import CONTEXTS, run_specs, summarise_contexts
    from sweeps.spec import SweepSpec

    from .reports import save_figures, write_json

    check_out(args.out)
    # Every spec is built (validated) before anything is trained or written.
    specs = {
        (k, kind): SweepSpec.from_dict(spec)
        for k in CONTEXTS
        for kind, spec in run_specs(k, args.seeds, args.epochs, args.root_seed).items()
    }
    results = {
        key: sweeps.run(spec, path, jobs=args.jobs, progress=not args.quiet, yes=args.yes)
        for (key, spec), path in zip(specs.items(), folders(args.out).values(), strict=True)
    }
    runs = {k: (results[(k, "relu")], results[(k, "gdln")]) for k in CONTEXTS}
    summary = summarise_contexts(runs)
    summary["figures"] = save_figures(args.out, {"contexts": contexts_figure(runs, summary)})
    write_json(args.out / "summary.json", summary)
    lines = []
    for entry in summary["per_contexts"]:
        k, c = entry["contexts"], entry["census"]
        top = entry["all_but_one_top_singular_value"]
        lines.append(
            f"K={k}: strong units all {_mean(c['all']):.0f}, K-1 {_mean(c['all_but_one']):.0f}, "
            f"other subsets {_mean(c['other_subsets']):.0f}, single {_mean(c['single']):.0f} "
            f"(mean of {len(c['all'])} seeds); winning pathways {entry['winning_pathways']}; "
            f"K-1 pathways' top singular value: GDLN {_shown(top['gdln'])}, "
            f"closed form {_shown(top['closed_form'])}"
        )
    for k, r in summary["scaling"]["gdln"].items():
        closed = summary["scaling"]["closed_form"][k]
        lines.append(
            f"K={k} over K=3: GDLN {_shown(r['ratio'])}, closed form {_shown(closed['ratio'])}"
            f" (sqrt(3(K-1)/(2K)) = {r['predicted']:.3f}; (K-1)/2 = {r['k_minus_1_factor']:.3g})"
        )
    lines.append(f"wrote {', '.join(summary['figures'])}, {args.out / 'summary.json'}")
    print("\n".join(lines), file=sys.stdout)
    return 0


def _mean(values: list) -> float:
    return sum(values) / len(values) if values else 0.0


def _shown(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"
