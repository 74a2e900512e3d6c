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

from toymodels.limits import CONFLICT, VIEW_RATIO

from .arguments import (
    OnlyWith,
    add_sweep_options,
    at_least,
    declared,
    grid_points,
    headline,
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
_RATIO = declared(VIEW_RATIO, "view_ratio")


def register(sub) -> None:
    parser = sub.add_parser(
        "conflict",
        help="task conflict: two views, two tasks, learn everything vs winner-take-all",
        description=headline(__doc__),
    )
    inner = parser.add_subparsers(dest="conflict_command", required=True)
    p = inner.add_parser(
        "phase-diagram",
        help="train a conflict x width (or strength) grid beside the linear theory",
        description=headline(__doc__),
    )
    p.add_argument("--model", choices=sorted(MODELS), default="linear", help="default linear")
    p.add_argument(
        "--axis",
        choices=sorted(AXES),
        default="width",
        help="second axis: shared-layer width or view strength ratio (default width)",
    )
    p.add_argument(
        "--grid",
        type=grid_points,
        default=None,
        help=f"points per axis, {grid_points.allowed} (default {GRID})",
    )
    p.add_argument("--seeds", type=positive_int, default=None, help="models a cell (default 10)")
    items = at_least(2, "items ")
    p.add_argument(
        "--items", type=items, default=None, help=f"items per view, {items.allowed} (default 6)"
    )
    p.add_argument(
        "--conflict-range",
        type=declared(CONFLICT, "conflict"),
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help=f"conflict axis, linear, each {CONFLICT.allowed}, LO below HI (default 0 1)",
    )
    p.add_argument(
        "--width-range",
        type=positive_int,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="width axis (--axis width), LO below HI (default 1 to 2(items-1)+2)",
    )
    p.add_argument(
        "--width",
        type=positive_int,
        default=None,
        help="shared-layer width on the strength axis (--axis strength; default items-1: "
        "room for one task)",
    )
    p.add_argument(
        "--ratio",
        type=_RATIO,
        default=None,
        help=f"view 2's strength relative to view 1's on the width axis (--axis width), "
        f"{VIEW_RATIO.allowed} (default 0.7)",
    )
    p.add_argument(
        "--ratio-range",
        type=_RATIO,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help=f"strength axis (--axis strength), log-spaced, each {VIEW_RATIO.allowed} "
        f"(default {RATIO_RANGE[0]:g} {RATIO_RANGE[1]:g})",
    )
    p.add_argument("--epochs", type=positive_int, default=None, help="default 6000")
    p.add_argument("--lr", type=positive_float, default=None, help="default 0.002")
    p.add_argument(
        "--init",
        type=positive_float,
        default=None,
        help="std of the initial weights (default 0.01)",
    )
    p.add_argument(
        "--root-seed", type=int, default=0, help="root of every model's seed (default 0)"
    )
    add_sweep_options(p)
    p.add_argument(
        "--out", type=Path, default=Path("conflict"), help="output folder (default conflict)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run, only_with=ONLY_WITH)


def _on_axis(option: str, axis: str, hint: str) -> OnlyWith:
    """``option`` belongs to one second axis (``--axis axis``)."""
    return OnlyWith(
        option,
        holds=lambda args: args.axis == axis,
        needs=f"with --axis {axis}",
        chosen=lambda args: f"the {args.axis} axis (--axis {args.axis})",
        hint=hint,
    )


# Each second axis has its own options: the width axis spans --width-range at view ratio
# --ratio, the strength axis spans --ratio-range at width --width.
ONLY_WITH = (
    _on_axis("--width-range", "width", "the strength axis's width is --width"),
    _on_axis("--ratio", "width", "the strength axis's ratios are --ratio-range"),
    _on_axis("--width", "strength", "the width axis's widths are --width-range"),
    _on_axis("--ratio-range", "strength", "the width axis's ratio is --ratio"),
)


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
    it is trained: a conflict axis and a second axis of at least 2 values each, and the
    theory's small start (the view ratios' bounds are the task field's own)."""
    from analytics.conflict_theory import check_small_start
    from toymodels.errors import ConfigError

    where = f"{where}: " if where else ""
    second = next((AXES[k] for k in AXES if spec.axis(AXES[k]) is not None), None)
    for name in ("conflict", second or "n_hidden or view_ratio"):
        axis = spec.axis(name)
        if axis is None or len(set(axis.values)) < 2:
            raise ConfigError(f"{where}axes.{name} needs at least 2 values for a phase diagram")
    data = spec.to_dict()
    widths = spec.axis("n_hidden").values if second == "n_hidden" else (data["n_hidden"],)
    try:
        check_small_start(
            data["model"]["init_std"], max(widths), data["n_items"],
            "--init, --width/--width-range, --items",
        )  # fmt: skip
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None


def run(args: argparse.Namespace) -> int:
    from figures.conflict_panels import conflict_diagram
    from summaries.conflict_summary import summarise, theory_for

    from .arguments import train_into_out
    from .reports import phase_counts, save_figures, shown, write_json

    spec, results = train_into_out(args, "conflict phase-diagram", build_spec)
    theory = theory_for(results)
    summary = summarise(results, theory)
    settings = summary["settings"]
    model = "linear" if spec.family == "two_view_linear" else "ReLU"
    fixed = (
        f"view ratio {settings['view_ratio']:g}"
        if settings["axis"] == "width"
        else f"width {settings['width']}"
    )
    title = f"{model} shared layer, {fixed}, {spec.seeds} seeds, {spec.train.steps} epochs"
    fig = conflict_diagram(results, theory, title=title)
    summary["figures"] = save_figures(args.out, {"phase_diagram": fig})
    write_json(args.out / "summary.json", summary)
    axis = summary["settings"]["axis"]
    lines = [
        f"{spec.family}: {len(summary['conflict'])} conflicts x {len(summary['axis'])} "
        f"{axis} values, {spec.seeds} seeds",
        "trained phases (best of N): " + phase_counts(summary["phase"]),
        f"agreement with the linear theory: {shown(summary['agreement'])} of cells "
        f"(per seed {shown(summary['agreement_per_seed'])})",
        "dominance spread over seeds at conflict 0: at most "
        f"{shown(summary['spread_at_no_conflict'], '.2g')}",
        f"wrote {', '.join(summary['figures'])}, {args.out / 'summary.json'}",
    ]
    print("\n".join(lines), file=sys.stdout)
    return 0
