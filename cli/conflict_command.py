"""``toymodels conflict phase-diagram``: from "learn everything" to "winner-take-all".

Trains the two-view network on the ``conflict`` task over a grid of conflict κ × the
shared layer's width (``--axis width``) or view 2's strength relative to view 1's
(``--axis strength``), ``--seeds`` models a cell, batched, by full-batch gradient descent
with the trajectories recorded; then writes the run (``DIR/run``, resumable), the figure
``DIR/phase_diagram.png``/``.pdf`` and ``DIR/summary.json``: the trained phase beside the
phase the linear theory predicts, view 1's dominance and its spread over seeds, each
task's explained fraction and learning time, and their agreement.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .arguments import (
    add_sweep_options,
    at_least,
    bounded_float,
    conflict,
    grid_points,
    positive_float,
    positive_int,
)

MODELS = {"linear": "two_view_linear", "relu": "two_view_relu"}
AXES = {"width": "n_hidden", "strength": "view_ratio"}
# Every default is the preset's ``conflict-<model>-<axis>`` (the figures draw the same
# runs); an option given on the command line overrides it.  The axes' defaults:
GRID = 12
RATIO_RANGE = (0.25, 4.0)
RECORDED_STATES = 400
# View strength ratios ρ allowed, the task's VIEW_RATIO_LIMITS (written out: the task
# module imports torch, which --help must not wait for): the weaker view's share of the
# input power is ρ² (or 1/ρ²), and beyond 1e-3 .. 1e3 it is below float32's resolution
# (1e-7), so the views' competition the diagram is about cannot happen.
VIEW_RATIO_LIMITS = (1e-3, 1e3)
_RATIO = bounded_float(*VIEW_RATIO_LIMITS, "view ratio ", "the weaker view must stay visible")
# The linear theory describes learning from a small start: its initial strength
# a₀ = init_std²·max(width, items − 1)/2 must be below 1, which no cell's strongest mode
# falls below (its singular value is in [1, √2]: the targets' power is fixed).
MAX_INITIAL_STRENGTH = 1.0


def register(sub) -> None:
    parser = sub.add_parser(
        "conflict",
        help="task conflict: two views, two tasks, learn everything vs winner-take-all",
        description=__doc__.splitlines()[0],
    )
    inner = parser.add_subparsers(dest="conflict_command", required=True)
    p = inner.add_parser(
        "phase-diagram",
        help="train a conflict x width (or strength) grid beside the linear theory",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--model", choices=sorted(MODELS), default="linear", help="default linear")
    p.add_argument(
        "--axis",
        choices=sorted(AXES),
        default="width",
        help="second axis: shared-layer width or view strength ratio (default width)",
    )
    p.add_argument(
        "--grid", type=grid_points, default=None, help="points per axis, at least 2 (12)"
    )
    p.add_argument("--seeds", type=positive_int, default=None, help="models a cell (10)")
    p.add_argument("--items", type=at_least(2, "items "), default=None, help="items per view (6)")
    p.add_argument(
        "--conflict-range",
        type=conflict,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="conflict axis, linear (default 0 1)",
    )
    p.add_argument(
        "--width-range",
        type=positive_int,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="width axis, LO below HI (default 1 to 2(items-1)+2)",
    )
    p.add_argument(
        "--width",
        type=positive_int,
        default=None,
        help="shared-layer width on the strength axis (default items-1: room for one task)",
    )
    p.add_argument(
        "--ratio",
        type=_RATIO,
        default=None,
        help="view 2's strength relative to view 1's on the width axis, 0.001 to 1000 "
        "(default 0.7)",
    )
    p.add_argument(
        "--ratio-range",
        type=_RATIO,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="strength axis, log-spaced, within 0.001 to 1000 (default 0.25 4)",
    )
    p.add_argument("--epochs", type=positive_int, default=None, help="default 6000")
    p.add_argument("--lr", type=positive_float, default=None, help="default 0.002")
    p.add_argument(
        "--init", type=positive_float, default=None, help="std of the initial weights (0.01)"
    )
    p.add_argument("--root-seed", type=int, default=0, help="root of every model's seed")
    add_sweep_options(p)
    p.add_argument("--out", type=Path, default=Path("conflict"), help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def grid_overrides(args: argparse.Namespace, items: int) -> dict:
    """Overrides of the grid axes the options ask for (none: the preset's)."""
    import numpy as np

    from toymodels.errors import ConfigError

    out: dict = {}
    grid = args.grid or GRID
    if args.conflict_range is not None or args.grid is not None:
        lo, hi = args.conflict_range or (0.0, 1.0)
        if lo >= hi:
            raise ConfigError(f"--conflict-range {lo:g} {hi:g}: LO must be below HI")
        out["axes.conflict"] = {"linspace": [lo, hi], "num": grid}
    if args.axis == "width":
        if args.width_range is not None or args.grid is not None or args.items is not None:
            lo, hi = args.width_range or (1, 2 * (items - 1) + 2)
            if lo >= hi:  # one width leaves the diagram a single column, which cannot be drawn
                raise ConfigError(f"--width-range {lo} {hi}: LO must be below HI")
            # Widths are integers: a grid finer than the range gives fewer, distinct values.
            out["axes.n_hidden"] = sorted({int(round(v)) for v in np.linspace(lo, hi, grid)})
    elif args.ratio_range is not None or args.grid is not None:
        lo, hi = args.ratio_range or RATIO_RANGE
        if lo >= hi:
            raise ConfigError(f"--ratio-range {lo:g} {hi:g}: LO must be below HI")
        out["axes.view_ratio"] = {"logspace": [lo, hi], "num": grid}
    return out


def build_spec(args: argparse.Namespace):
    """The preset ``conflict-<model>-<axis>`` with the options given (validated: bad values
    fail before anything is written)."""
    from sweeps import load_preset
    from toymodels.errors import ConfigError

    if args.width is not None and args.axis == "width":
        raise ConfigError("--width sets the width on the strength axis; use --width-range")
    if args.ratio is not None and args.axis == "strength":
        raise ConfigError("--ratio sets the view ratio on the width axis; use --ratio-range")
    preset = load_preset(f"conflict-{args.model}-{args.axis}")
    items = args.items if args.items is not None else preset.to_dict()["n_items"]
    if items < 2:
        raise ConfigError(f"--items {items} must be an integer >= 2")
    overrides: dict = {"root_seed": args.root_seed, "n_items": items}
    given = {
        "seeds": args.seeds,
        "train.steps": args.epochs,
        "train.lr": args.lr,
        "model.init_std": args.init,
        "model.view_ratio": args.ratio,
    }
    overrides |= {k: v for k, v in given.items() if v is not None}
    if args.width is not None:
        overrides["n_hidden"] = args.width
    elif args.axis == "strength" and args.items is not None:
        overrides["n_hidden"] = items - 1  # room for one task, as in the preset
    if args.epochs is not None:
        overrides["train.record_every"] = max(1, args.epochs // RECORDED_STATES)
    overrides |= grid_overrides(args, items)
    spec = preset.with_overrides(overrides)
    # The stored description says what is trained, not the preset's defaults.
    data = spec.to_dict()
    ratio = data["model"]["view_ratio"]
    fixed = f"view ratio {ratio:g}" if args.axis == "width" else f"width {data['n_hidden']}"
    shape = " x ".join(str(len(a.values)) for a in spec.axes)
    spans = " x ".join(f"{a.name} {min(a.values):g}-{max(a.values):g}" for a in spec.axes)
    description = (
        f"conflict phase-diagram: {spec.family}, {items} items a view, {shape} grid of "
        f"conflict x {args.axis} ({spans}; {fixed}, initial weights std "
        f"{data['model']['init_std']:g}), {spec.seeds} seeds, {spec.train.steps} epochs "
        f"of full-batch gradient descent at lr {spec.train.lr:g}"
    )
    spec = spec.with_overrides({"description": description})
    check_spec(spec)
    return spec


def check_spec(spec, where: str = "") -> None:
    """What the report, the figure and the linear theory need of a conflict sweep (also
    the sweeps of ``toymodels figures``, whose axes ``--set`` may change), checked before
    it is trained: a conflict axis and a second axis of at least 2 values each, view
    ratios within ``VIEW_RATIO_LIMITS`` and the theory's small start."""
    import math

    from toymodels.errors import ConfigError

    where = f"{where}: " if where else ""
    second = next((AXES[k] for k in AXES if spec.axis(AXES[k]) is not None), None)
    for name in ("conflict", second or "n_hidden or view_ratio"):
        axis = spec.axis(name)
        if axis is None or len(set(axis.values)) < 2:
            raise ConfigError(f"{where}axes.{name} needs at least 2 values for a phase diagram")
    data = spec.to_dict()
    ratios = spec.axis("view_ratio").values if second == "view_ratio" else ()
    for ratio in (*ratios, data["model"]["view_ratio"]):
        if not VIEW_RATIO_LIMITS[0] <= ratio <= VIEW_RATIO_LIMITS[1]:
            raise ConfigError(
                f"{where}view ratio {ratio:g} is outside [{VIEW_RATIO_LIMITS[0]:g}, "
                f"{VIEW_RATIO_LIMITS[1]:g}] (the weaker view must stay visible in float32)"
            )
    widths = spec.axis("n_hidden").values if second == "n_hidden" else (data["n_hidden"],)
    init = data["model"]["init_std"]
    with_width = max(max(widths), data["n_items"] - 1)
    a0 = init * init * with_width / 2  # a float product overflows to inf, never raises
    if not a0 < MAX_INITIAL_STRENGTH:
        raise ConfigError(
            f"{where}init {init:g} with width up to {max(widths)} and {data['n_items']} items "
            f"(--init, --width/--width-range, --items) gives the linear theory the initial "
            f"strength init^2 * max(width, items-1) / 2 = {a0:.3g}; the theory needs a small "
            f"start, below {MAX_INITIAL_STRENGTH:g}: use init < "
            f"{math.sqrt(2 * MAX_INITIAL_STRENGTH / with_width):.3g}, or fewer items or units"
        )


def run(args: argparse.Namespace) -> int:
    from .arguments import check_output_folder, run_into_out
    from .conflict_report import write_report
    from .phase_report import shown

    check_output_folder(args.out, "conflict phase-diagram")
    spec = build_spec(args)
    results = run_into_out(args, spec)
    summary = write_report(results, spec, args.out)
    counts = {}
    for row in summary["phase"]:
        for label in row:
            counts[label] = counts.get(label, 0) + 1
    axis = summary["settings"]["axis"]
    lines = [
        f"{spec.family}: {len(summary['conflict'])} conflicts x {len(summary['axis'])} "
        f"{axis} values, {spec.seeds} seeds",
        "trained phases (best of N): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
        f"agreement with the linear theory: {shown(summary['agreement'])} of cells "
        f"(per seed {shown(summary['agreement_per_seed'])})",
        "dominance spread over seeds at conflict 0: at most "
        f"{shown(summary['spread_at_no_conflict'], '.2g')}",
        f"wrote {', '.join(summary['figures'])}, {args.out / 'summary.json'}",
    ]
    print("\n".join(lines), file=sys.stdout)
    return 0
