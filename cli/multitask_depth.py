"""``toymodels multitask depth``: where a deeper ReLU network puts its mixed selectivity.

Trains ``--seeds`` ReLU networks with two hidden layers on the contextual task (the
published depth experiment: 11 → 420 → 420 → 60, initial weights N(0, 0.0006²), lr 1e-3,
30,001 epochs of full-batch gradient descent, the same structure in every context) and
their gated counterpart (``gdln_deep``: 7 modules a layer, the context modules on for
pairs of contexts, trained on the common modules' residual after the published delays),
and writes the runs (``DIR/run``, ``DIR/run_gdln``; resumable), the figures
``census_layers`` and ``loss`` and ``DIR/summary.json``: per hidden layer the census of
strong units and the share of them active in every context, and the final losses.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .arguments import (
    add_learning_rate,
    add_root_seed,
    add_sweep_options,
    declared,
    headline,
    positive_float,
    positive_int,
)

# The published depth experiment (``depth/relu.py``, ``depth/gdln_off.py``).
DEFAULTS = {
    "seeds": 5,
    "epochs": 30001,
    "hidden": 420,
    "lr": 1e-3,
    "init": 6e-4,
    "gdln_init": 5e-4,
    "record_every": 500,
    "layers": 2,
}
# The published GDLN's schedule in a 30,001-epoch run: no learning for 500 epochs, the
# common modules alone until 12,000; a run of other length keeps the same fractions.
PUBLISHED_EPOCHS, START_EPOCH, CONTEXT_EPOCH = 30001, 500, 12000
# Runs of two seeds or more are cut into two chunks, so the two cores train them side by
# side (fixed by --seeds alone, so --jobs never changes the plan or the numbers).
CHUNKS = 2


def register(inner) -> None:
    """Add ``depth`` to the ``multitask`` subcommands."""
    from toymodels.limits import N_CONTEXTS, N_LAYERS, STRUCTURES

    p = inner.add_parser(
        "depth",
        help="a ReLU network with two hidden layers and its gated counterpart: census per layer",
        description=headline(__doc__),
    )
    p.add_argument(
        "--contexts",
        type=declared(N_CONTEXTS, "contexts"),
        default=3,
        help=f"contexts K, {N_CONTEXTS.allowed} (default 3)",
    )
    p.add_argument("--structure", choices=STRUCTURES, default="same", help="default same")
    p.add_argument(
        "--layers",
        type=declared(N_LAYERS, "layers"),
        default=DEFAULTS["layers"],
        help=f"hidden layers of the ReLU network, {N_LAYERS.allowed} (default 2)",
    )
    p.add_argument(
        "--hidden",
        type=positive_int,
        default=DEFAULTS["hidden"],
        help="units per hidden layer (default 420; the GDLN's modules share them out)",
    )
    p.add_argument("--seeds", type=positive_int, default=DEFAULTS["seeds"], help="default 5")
    p.add_argument("--epochs", type=positive_int, default=DEFAULTS["epochs"], help="default 30001")
    add_learning_rate(p, DEFAULTS["lr"])
    p.add_argument(
        "--init",
        type=positive_float,
        default=DEFAULTS["init"],
        help="std of the ReLU network's initial weights (default 6e-4)",
    )
    p.add_argument(
        "--gdln-init",
        type=positive_float,
        default=DEFAULTS["gdln_init"],
        help="the GDLN's base initial scale (default 5e-4; layers scaled as published)",
    )
    p.add_argument(
        "--record-every",
        type=positive_int,
        default=DEFAULTS["record_every"],
        help="epochs between recorded states (default 500)",
    )
    add_root_seed(p)
    add_sweep_options(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("multitask-depth"),
        help="output folder (default multitask-depth)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _train(args: argparse.Namespace) -> dict:
    return {
        "steps": args.epochs,
        "lr": args.lr,
        "optimizer": "sgd",
        "estimator": "full",
        "record_every": args.record_every,
    }


def _scheduled(epoch: int, epochs: int) -> int:
    """A published GDLN epoch, at the same fraction of a run of ``epochs``."""
    return round(epoch * epochs / PUBLISHED_EPOCHS)


def build_specs(args: argparse.Namespace):
    """The ReLU network's and the GDLN's sweep specs (validated)."""
    from sweeps.spec import SweepSpec
    from toymodels.families.deep_gdln import DeepGDLNConfig, context_pairs

    common = {
        "task": "contextual",
        "n_contexts": args.contexts,
        "seeds": args.seeds,
        "root_seed": args.root_seed,
        "chunk_size": math.ceil(args.seeds / CHUNKS),
        "train": _train(args),
    }
    network = SweepSpec.from_dict(
        {
            **common,
            "name": "multitask-depth-relu",
            "family": "contextual_relu",
            "n_hidden": args.hidden,
            "n_layers": args.layers,
            "model": {"structure": args.structure, "init_std": args.init},
        }
    )
    # The GDLN's layers are as wide as the ReLU network's, cut into its modules.
    modules = DeepGDLNConfig().common_modules + len(context_pairs(args.contexts))
    gated = SweepSpec.from_dict(
        {
            **common,
            "name": "multitask-depth-gdln",
            "family": "gdln_deep",
            "n_hidden": max(1, round(args.hidden / modules)),
            "model": {
                "structure": args.structure,
                "init_std": args.gdln_init,
                "start_epoch": _scheduled(START_EPOCH, args.epochs),
                "context_epoch": _scheduled(CONTEXT_EPOCH, args.epochs),
            },
        }
    )
    return network, gated


def run(args: argparse.Namespace) -> int:
    from figures.depth_panels import depth_losses, layer_census_trajectories
    from summaries.depth_summary import summarise_depth

    from .arguments import check_output_folder, train_runs
    from .reports import save_figures, write_json

    check_output_folder(args.out, "multitask depth")
    specs = build_specs(args)
    relu_spec, gdln_spec = specs
    runs = train_runs(
        args, {"relu": (relu_spec, args.out / "run"), "gdln": (gdln_spec, args.out / "run_gdln")}
    )
    network, gated = runs["relu"], runs["gdln"]
    summary = summarise_depth(network, gated)
    label = "ReLU" if args.layers > 1 else "ReLU (one layer)"
    figures = {
        "census_layers": layer_census_trajectories({label: network, "GDLN": gated}),
        "loss": depth_losses({label: network, "GDLN": gated}),
    }
    summary["figures"] = save_figures(args.out, figures)
    write_json(args.out / "summary.json", summary)
    lines = []
    for name, part in (("ReLU network", summary), ("GDLN", summary["gdln"])):
        lines.append(f"{name}: final loss " + ", ".join(_short(v) for v in part["final_loss"]))
        for k, layer in enumerate(part["layers"]):
            c = layer["census"]
            lines.append(
                f"  layer {k + 1}: strong units all-context {c['all']}, subset {c['subset']}, "
                f"single-context {c['single']}; shared fraction "
                + ", ".join(_short(v, ".2f") for v in layer["shared_fraction"])
            )
    lines.append(f"wrote {', '.join(summary['figures'])}, {args.out / 'summary.json'}")
    print("\n".join(lines), file=sys.stdout)
    return 0


def _short(value: float | None, spec: str = ".4g") -> str:
    return "none (diverged)" if value is None else format(value, spec)
