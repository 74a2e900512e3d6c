"""``toymodels analytic reln``: the closed-form loss of a ReLN on the contextual task.

The gated linear network whose pathways are switched on by sets of contexts (the ReLU
network's own gating, ``analytics.reln_theory``): its loss trajectory and every pathway's
modes, for the paper's pathways or any given as context masks (numbered from 1).
"""

from __future__ import annotations

import argparse
import json

from .analytic_output import add_time_limit, budget, print_json, print_table
from .arguments import add_contextual_options, add_learning_rate, positive_float, positive_int

# Recorded epochs per answer: beyond this the JSON is megabytes and no figure needs it.
MAX_POINTS = 100_000
EXAMPLE = "'[[1,2,3],[1,2],[2,3],[1,3]]'"
# The choices of analytics.reln_theory.BASES, written here so --help loads no numpy.
BASES = ("drive", "fixed_point")


def register(inner) -> None:
    """Add ``reln`` to the ``analytic`` subcommands."""
    from toymodels.limits import CONTEXT_SCALE

    from .arguments import declared

    p = inner.add_parser(
        "reln",
        help="closed-form loss of a ReLN (gated linear pathways) on the contextual task",
        description="The closed-form loss of a rectified linear network on the contextual "
        "task: a common pathway learns the whole data set, pathways gated on by sets of "
        "contexts learn its residual, and the loss is that of the summed output. Prints "
        "the loss at the recorded epochs and every pathway's modes.",
    )
    add_contextual_options(p)
    p.add_argument(
        "--context-scale",
        type=declared(CONTEXT_SCALE, "context_scale"),
        default=1.0,
        help=f"value of the context inputs, {CONTEXT_SCALE.allowed} (default 1; the "
        "published 4- and 5-context data sets use 1.1 and 1.35)",
    )
    p.add_argument(
        "--pathways",
        default=None,
        metavar="JSON",
        help="context masks, one list of contexts (from 1) per pathway, e.g. "
        f"{EXAMPLE}; the one with every context is the common pathway (default: every "
        "context, and every set of K - 1 contexts)",
    )
    p.add_argument("--epochs", type=positive_int, default=8001, help="default 8001")
    add_learning_rate(p, 1e-3)
    p.add_argument(
        "--record-every", type=positive_int, default=100, metavar="R", help="default 100"
    )
    p.add_argument(
        "--a0-common",
        type=positive_float,
        default=None,
        help="initial strength of the common pathway's modes (default: the published one)",
    )
    p.add_argument(
        "--a0-pathway",
        type=positive_float,
        default=None,
        help="initial strength of the gated pathways' modes (default: the published one)",
    )
    p.add_argument(
        "--basis",
        choices=BASES,
        default="drive",
        help="a gated pathway's modes: its drive's, as published (default), or those of the "
        "pathways' joint fixed point (ends where gradient descent on them ends)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_time_limit(p)
    p.set_defaults(handler=run)


def recorded_epochs(epochs: int, every: int) -> list[int]:
    """0, R, 2R, … and the last epoch, as ``multitask train`` records them."""
    from toymodels.errors import ConfigError

    if epochs // every + 2 > MAX_POINTS:
        raise ConfigError(
            f"--epochs {epochs} with --record-every {every} is {epochs // every + 1:,} "
            f"points; at most {MAX_POINTS:,} (raise --record-every)"
        )
    steps = list(range(0, epochs, every))
    return [*steps, epochs]


def _pathways(text: str):
    """``--pathways`` read as JSON (what it holds is checked by ``check_pathways``)."""
    from toymodels.errors import ConfigError

    shown = repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # bad JSON, a huge integer, deep nesting
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not readable"
        raise ConfigError(
            f"--pathways {shown} is not valid JSON ({why}); expected e.g. {EXAMPLE}"
        ) from None


def run(args: argparse.Namespace) -> int:
    from analytics.reln_theory import predict_reln
    from toymodels.contextual_data import ContextualConfig

    pathways = None if args.pathways is None else _pathways(args.pathways)
    epochs = recorded_epochs(args.epochs, args.record_every)
    config = ContextualConfig(
        n_contexts=args.contexts, structure=args.structure, context_scale=args.context_scale
    )
    with budget(args, "solving the ReLN's pathways"):
        found = predict_reln(
            config, args.lr, pathways, args.a0_common, args.a0_pathway, basis=args.basis
        )
        loss = found.loss(epochs)
    described = [
        {
            "contexts": list(p.contexts),
            "a0": p.a0,
            "modes": [
                {"s": float(s), "d": float(d), "asymptote": float(s / d)}
                for s, d in zip(p.s, p.d, strict=True)
            ],
        }
        for p in found.pathways
    ]
    if args.json:
        result = {
            "contexts": args.contexts,
            "structure": args.structure,
            "context_scale": args.context_scale,
            "lr": args.lr,
            "basis": args.basis,
            "tau": found.tau,
            "convention": "tau da/dt = 2a(s - d a) per mode, tau = 1/(P lr) epochs; the "
            "pathway with every context sees object and context inputs and learns Y, the "
            "others see the objects and learn its residual, d = s / (the mode's share of "
            "their joint fixed point); loss = 1/2 sum of squared error of the summed output",
            "epoch": epochs,
            "loss": [float(v) for v in loss],
            "pathways": described,
        }
        print_json(result)
        return 0
    print(f"tau = {found.tau:.4g} epochs; loss = 1/2 sum of squared error")
    rows = [("pathway", "a0", "modes", "top s", "top s/d")]
    for p in described:
        top = p["modes"][0] if p["modes"] else {"s": 0.0, "asymptote": 0.0}
        rows.append(
            (
                "ctx" + "+".join(map(str, p["contexts"])),
                f"{p['a0']:.3g}",
                str(len(p["modes"])),
                f"{top['s']:.4f}",
                f"{top['asymptote']:.4f}",
            )
        )
    print_table(rows)
    shown = [i for i, e in enumerate(epochs) if e % 1000 == 0 or i == len(epochs) - 1]
    print()
    print_table([("epoch", "loss"), *((str(epochs[i]), f"{loss[i]:.4g}") for i in shown)])
    return 0
