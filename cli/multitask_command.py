"""``toymodels multitask train``: a network on the contextual task, beside the closed form.

Trains ``--seeds`` models of ``--model`` (batched, full-batch gradient descent on ½·Σ
squared error) with their trajectories recorded, and writes the run (``DIR/run``,
resumable), the figures and ``DIR/summary.json``: the final loss, the census of strong
units (contextual networks), each pathway's top singular value (GDLN), the trained mode
strengths in the order of the closed form's modes, and the closed form itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import multitask_depth
from .arguments import (
    add_contextual_options,
    add_sweep_options,
    headline,
    positive_float,
    positive_int,
)

MODELS = ("contextual_relu", "contextual_linear", "gdln")
DEFAULTS = {"seeds": 5, "epochs": 8001, "lr": 1e-3, "record_every": 100}


def register(sub) -> None:
    parser = sub.add_parser(
        "multitask",
        help="multi-task mixed selectivity: networks on the contextual task vs closed form",
        description=headline(__doc__),
    )
    inner = parser.add_subparsers(dest="multitask_command", required=True)
    p = inner.add_parser(
        "train",
        help="train seeds of a network on the contextual task; figures and summary.json",
        description=headline(__doc__),
    )
    p.add_argument(
        "--model", choices=MODELS, default="contextual_relu", help="default contextual_relu"
    )
    add_contextual_options(p)
    p.add_argument(
        "--hidden",
        type=positive_int,
        default=None,
        help="hidden units (default 700; per pathway for gdln: 100)",
    )
    p.add_argument("--seeds", type=positive_int, default=DEFAULTS["seeds"], help="default 5")
    p.add_argument("--epochs", type=positive_int, default=DEFAULTS["epochs"], help="default 8001")
    p.add_argument("--lr", type=positive_float, default=DEFAULTS["lr"], help="default 1e-3")
    p.add_argument(
        "--init", type=positive_float, default=None, help="std of the initial weights (0.005/700)"
    )
    p.add_argument(
        "--record-every",
        type=positive_int,
        default=DEFAULTS["record_every"],
        help="epochs between recorded states (default 100)",
    )
    p.add_argument("--gating", default=None, help="gdln: single, pairs, all_but_one, subsets")
    p.add_argument("--root-seed", type=int, default=0, help="root of every model's seed")
    add_sweep_options(p)
    p.add_argument("--out", type=Path, default=Path("multitask"), help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)
    multitask_depth.register(inner)


def build_spec(args: argparse.Namespace):
    """The sweep spec of this run (validated: bad values fail before anything is written)."""
    from sweeps.spec import SweepSpec
    from toymodels.errors import ConfigError

    model = {"structure": args.structure}
    if args.init is not None:
        model["init_std"] = args.init
    if args.gating is not None:
        if args.model != "gdln":
            raise ConfigError(f"--gating applies to --model gdln, not {args.model}")
        model["gating"] = args.gating
    spec = {
        "name": f"multitask-{args.model}",
        "family": args.model,
        "task": "contextual",
        "n_contexts": args.contexts,
        "seeds": args.seeds,
        "root_seed": args.root_seed,
        "model": model,
        "train": {
            "steps": args.epochs,
            "lr": args.lr,
            "optimizer": "sgd",
            "estimator": "full",
            "record_every": args.record_every,
        },
    }
    if args.hidden is not None:
        spec["n_hidden"] = args.hidden
    built = SweepSpec.from_dict(spec)
    # The stored description says what is trained, defaults filled in.
    data = built.to_dict()
    gdln = args.model == "gdln"
    width = f"{data['n_hidden']} hidden units{' per pathway' if gdln else ''}"
    gating = f", gating {data['model']['gating']}" if gdln else ""
    description = (
        f"multitask train: {args.model} on {args.contexts} contexts ({args.structure} "
        f"structures), {width}, initial weights std {data['model']['init_std']:.3g}{gating}, "
        f"{args.seeds} seeds, {args.epochs} epochs of full-batch gradient descent at "
        f"lr {args.lr:g}"
    )
    return built.with_overrides({"description": description})


def check_theory(spec) -> None:
    """Refuse a run the closed form cannot describe (e.g. an initial strength above the
    modes' asymptotes) before it is trained: the report derives the closed form after."""
    from analytics.mode_dynamics import predict

    config = spec.model_config(spec.cell_point(0))
    predict(config.data, spec.train.lr, config.arch.init_std, config.arch.n_hidden)


def checked_spec(args: argparse.Namespace):
    """:func:`build_spec`, refused when the closed form cannot describe it."""
    spec = build_spec(args)
    check_theory(spec)
    return spec


def run(args: argparse.Namespace) -> int:
    from figures.multitask_panels import (
        census_bars,
        loss_curves,
        mds_snapshots,
        mode_trajectories,
        pathway_strengths,
    )
    from summaries.multitask_summary import prediction_for, summarise

    from .arguments import train_into_out
    from .reports import save_figures, shown, write_json

    spec, results = train_into_out(args, "multitask train", checked_spec)
    prediction = prediction_for(results)
    summary = summarise(results, prediction)
    figures = {
        "loss": loss_curves({spec.family: results}, prediction),
        "modes": mode_trajectories(results, prediction),
    }
    if spec.family == "gdln":
        figures["pathways"] = pathway_strengths(results)
    else:
        figures["census"] = census_bars(results)
        figures["mds"] = mds_snapshots(results)
    summary["figures"] = save_figures(args.out, figures)
    write_json(args.out / "summary.json", summary)
    lines = [
        f"{spec.family} on {summary['settings']['contexts']} contexts "
        f"({summary['settings']['structure']}): final loss "
        + ", ".join(f"{v:.4g}" for v in summary["final_loss"])
    ]
    if "census" in summary:
        c = summary["census"]
        lines.append(
            "strong units per seed: all-context "
            f"{c['all']}, subset {c['subset']}, single-context {c['single']}"
        )
    if "module_singular_values" in summary:
        lines.append(
            "top singular value per pathway (mean over seeds): "
            + ", ".join(
                f"{k} {shown(_mean(v), '.3g')}"
                for k, v in summary["module_singular_values"].items()
            )
        )
    theory = summary["theory"]
    lines.append(
        "final mode strengths vs closed-form asymptotes: largest relative difference "
        f"{shown(theory['max_relative_difference'], '.3g')}"
    )
    lines.append(f"wrote {', '.join(summary['figures'])}, {args.out / 'summary.json'}")
    print("\n".join(lines), file=sys.stdout)
    return 0


def _mean(values: list) -> float | None:
    """Mean over the seeds that did not diverge (stored as null)."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
