"""``toymodels phase-diagram``: the paper's phase diagram, trained models beside theory.

Runs the ``paper-<n>to<n-1>`` preset sweep on the requested grid (resumable: rerunning
with the same arguments finishes what is missing), computes the candidate theory of
``analytics`` on the same grid, and writes the figure, the results dataset and a
``summary.json`` with the agreement between the empirical and theoretical phases.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from toymodels.fields import DENSITY

from .arguments import (
    OnlyWith,
    add_sweep_options,
    declared,
    grid_points,
    headline,
    positive_float,
    positive_int,
)

# Two training protocols.  "fast" minimises the same expected loss with its exact
# closed form (deterministic full-gradient Adam), which reaches the trained phases in a
# fraction of the steps; "paper" is the published protocol with fresh samples.  1,000
# fast steps gave the same agreement with theory as 1,500 (n=2 40x40: 0.978; n=3 16x16:
# 0.992) in two thirds of the time.
PROTOCOLS = {
    "fast": {"estimator": "exact", "steps": 1000, "lr": 0.02, "schedule": "cosine"},
    "paper": {"estimator": "sampled", "steps": 10_000, "lr": 1e-3, "schedule": "constant"},
}
DEFAULT_GRID = {2: 24, 3: 16}
DEFAULT_SEEDS = 10
BATCH = 1024  # the paper protocol's batch of fresh samples
# The axes' limits.  Checked ends: at density 1e-6 and importance 1e-6 and 1e6 the trained
# grid, the candidate theory and the exact optimum (BFGS with relative tolerances) agree
# as at the defaults for n=2 and n=3; at density 1e-30 the optimum's losses (~1e-30) are
# below its tolerances and its phases come out wrong, and beyond ~1e150 the figure's cell
# edges (half a grid step past the ends) leave the floating-point range.
DENSITY_MIN = 1e-6
IMPORTANCE_LIMITS = (1e-6, 1e6)


def register(sub) -> None:
    p = sub.add_parser(
        "phase-diagram",
        help="train a sparsity x importance grid and draw it beside the closed-form theory",
        description=headline(__doc__),
    )
    p.add_argument(
        "--features",
        type=int,
        choices=(2, 3),
        default=2,
        help="2 (into 1 dimension) or 3 (into 2 dimensions); default 2",
    )
    p.add_argument(
        "--grid",
        type=grid_points,
        default=None,
        help=f"grid points per axis, {grid_points.allowed} (default 24 for n=2, 16 for n=3)",
    )
    p.add_argument(
        "--seeds",
        type=positive_int,
        default=DEFAULT_SEEDS,
        help=f"models per grid point (default {DEFAULT_SEEDS})",
    )
    p.add_argument(
        "--protocol",
        choices=sorted(PROTOCOLS),
        default="fast",
        help="fast: exact expected loss (default); paper: fresh samples, 10,000 steps",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help=f"training steps (default: the protocol's, fast {PROTOCOLS['fast']['steps']:,}, "
        f"paper {PROTOCOLS['paper']['steps']:,})",
    )
    p.add_argument(
        "--batch",
        type=positive_int,
        default=None,
        help=f"batch size of the paper protocol's fresh samples (default {BATCH})",
    )
    p.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help=f"learning rate (default: the protocol's, fast {PROTOCOLS['fast']['lr']:g}, "
        f"paper {PROTOCOLS['paper']['lr']:g})",
    )
    p.add_argument(
        "--density-range",
        type=declared(DENSITY, "density"),
        nargs=2,
        default=(0.01, 1.0),
        metavar=("LO", "HI"),
        help=f"density axis, log-spaced, each {DENSITY.allowed}, LO >= {DENSITY_MIN:g} "
        "(default 0.01 1)",
    )
    p.add_argument(
        "--importance-range",
        type=positive_float,
        nargs=2,
        default=(0.1, 10.0),
        metavar=("LO", "HI"),
        help="relative importance axis, log-spaced, within "
        f"[{IMPORTANCE_LIMITS[0]:g}, {IMPORTANCE_LIMITS[1]:g}] (default 0.1 10)",
    )
    p.add_argument(
        "--root-seed", type=int, default=0, help="root of every model's seed (default 0)"
    )
    add_sweep_options(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("phase-diagram"),
        help="output folder (default phase-diagram)",
    )
    p.add_argument(
        "--no-optimum",
        action="store_true",
        help="skip the exact optimum's panel (free W and b minimised per cell)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run, only_with=ONLY_WITH)


# The fast protocol minimises the exact expected loss: it draws no samples, so it has no
# batch to size.
ONLY_WITH = (
    OnlyWith(
        "--batch",
        holds=lambda args: PROTOCOLS[args.protocol]["estimator"] == "sampled",
        needs="with --protocol paper (fresh samples)",
        chosen=lambda args: (
            f"--protocol {args.protocol}, whose exact expected loss draws no samples"
        ),
    ),
)


def build_spec(args: argparse.Namespace):
    """The sweep spec for these arguments: the paper preset with the grid and protocol."""
    from sweeps import load_preset
    from toymodels.errors import ConfigError

    lo, hi = args.density_range
    if lo >= hi:
        raise ConfigError(f"--density-range {lo:g} {hi:g}: LO must be below HI")
    if lo < DENSITY_MIN:
        raise ConfigError(
            f"--density-range {lo:g} {hi:g}: LO must be at least {DENSITY_MIN:g}, the "
            "lowest density checked to train, plot and agree with the exact optimum"
        )
    rlo, rhi = args.importance_range
    if rlo >= rhi:
        raise ConfigError(f"--importance-range {rlo:g} {rhi:g}: LO must be below HI")
    if rlo < IMPORTANCE_LIMITS[0] or rhi > IMPORTANCE_LIMITS[1]:
        raise ConfigError(
            f"--importance-range {rlo:g} {rhi:g} must lie within "
            f"[{IMPORTANCE_LIMITS[0]:g}, {IMPORTANCE_LIMITS[1]:g}], the range checked to "
            "train, plot and agree with the exact optimum"
        )
    grid = args.grid or DEFAULT_GRID[args.features]
    protocol = dict(PROTOCOLS[args.protocol])
    if args.steps is not None:
        protocol["steps"] = args.steps
    if args.lr is not None:
        protocol["lr"] = args.lr
    overrides = {f"train.{k}": v for k, v in protocol.items()}
    batch = BATCH if args.batch is None else args.batch
    overrides |= {
        "train.batch_size": batch,
        "seeds": args.seeds,
        "root_seed": args.root_seed,
        "axes.density": {"logspace": [lo, hi], "num": grid},
        "axes.importance": {"logspace": [rlo, rhi], "num": grid},
    }
    # The stored description says what was actually trained, not the preset's defaults.
    hidden = args.features - 1
    # The batch matters only where a step samples (the exact estimator has none).
    sampled = f", batch {batch}" if protocol["estimator"] == "sampled" else ""
    overrides["description"] = (
        f"phase-diagram: n={args.features} features into m={hidden} "
        f"dimension{'s' if hidden > 1 else ''}, {grid}x{grid} density {lo:g}-{hi:g} x "
        f"relative importance {rlo:g}-{rhi:g}, {args.seeds} seeds, protocol "
        f"{args.protocol} ({protocol['estimator']} estimator{sampled}, {protocol['steps']} "
        f"steps, lr {protocol['lr']:g}, {protocol['schedule']} schedule)"
    )
    preset = {2: "paper-2to1", 3: "paper-3to2"}[args.features]
    return load_preset(preset).with_overrides(overrides)


def check_phase_axes(spec, where: str) -> None:
    """What the report and the figure of a phase diagram need of a sweep (used for the
    sweeps of ``toymodels figures``, whose axes ``--set`` may change): a density and an
    importance axis of at least 2 values each, within the checked limits."""
    from toymodels.errors import ConfigError

    limits = {"density": (DENSITY_MIN, 1.0), "importance": IMPORTANCE_LIMITS}
    for name, (lo, hi) in limits.items():
        axis = spec.axis(name)
        if axis is None or len(axis.values) < 2:
            raise ConfigError(f"{where}: axes.{name} needs at least 2 values for a phase diagram")
        if min(axis.values) < lo or max(axis.values) > hi:
            raise ConfigError(
                f"{where}: axes.{name} spans {min(axis.values):g} to {max(axis.values):g}; "
                f"a phase diagram's must lie within [{lo:g}, {hi:g}]"
            )


def run(args: argparse.Namespace) -> int:
    from figures import phase_diagram
    from summaries.phase_maps import panel_rules
    from summaries.superposition_summary import grid_theory, summarise

    from .arguments import train_into_out
    from .reports import save_figures, shown, write_json

    spec, results = train_into_out(args, "phase-diagram", build_spec)
    theory = grid_theory(results, optimum=not args.no_optimum)
    summary = summarise(results, theory=theory)
    fig = phase_diagram(
        results,
        theory.theory,
        theory.optimum,
        theory.boundaries,
        rules=panel_rules(summary["features"]),
    )
    save_figures(args.out, {"phase_diagram": fig})
    write_json(args.out / "summary.json", summary, indent=1)
    lines = [
        f"n={summary['features']} into m={summary['hidden']}: "
        f"{len(summary['density'])}x{len(summary['importance'])} grid, "
        f"{summary['seeds']} seeds, protocol {args.protocol}",
        f"agreement with theory: best-of-N {shown(summary['agreement'])}, "
        f"paper rule {shown(summary['agreement_paper_rule'])}, "
        f"each seed alone {shown(summary['agreement_each_seed'])}",
    ]
    if "agreement_optimum" in summary:
        lines.append(
            f"agreement with the exact optimum: best-of-N {shown(summary['agreement_optimum'])}, "
            f"each seed alone {shown(summary['agreement_each_seed_optimum'])}; "
            f"candidate theory vs exact optimum {summary['theory_agrees_with_optimum']:.3f}"
        )
    lines.append(
        f"wrote {args.out / 'phase_diagram.png'}, {args.out / 'phase_diagram.pdf'}, "
        f"{args.out / 'summary.json'}, results in {args.out / 'run'}"
    )
    print("\n".join(lines), file=sys.stdout)
    return 0
