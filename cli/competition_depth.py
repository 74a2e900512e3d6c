"""``toymodels competition depth``: each hidden layer's redundancy for every pair of a
first-layer and a second-layer design (does competition in the first layer change the
second layer's redundancy, and does a ReLU second layer undo it?).

Trains the ``competition_deep`` family (two competitive hidden layers, each with its own
activation and volume control) on the task of the preset ``competition-compare-clusters``
(read when the command runs: its task, width, temperature, seeds and training), for every
pair of a first-layer design and a second-layer design (by default ReLU, softmax, and
softmax with revival, the control that left the fewest one-layer softmax models
collapsed or redundant), ``--seeds`` models each, and writes one run per pair
(``DIR/runs/<first>__<second>``, resumable), the figure ``DIR/depth.png``/``.pdf`` and
``DIR/summary.json``: per pair and hidden layer the phase shares, distinct units,
largest |cos| and effective units, and the loss.
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
    positive_int,
)

PRESET = "competition-compare-clusters"
# The designs of a layer: an activation, or ``activation+control``.  Revival is softmax's
# control here: in the one-layer diagrams on the clusters (docs/competition.md, Measured)
# it left 1% of the low-τ softmax models collapsed and 95% specialised, and 72%
# specialised at τ 0.1-2.2, the best of the controls across both bands; it applies to
# every activation, in either layer.
DESIGNS = ("relu", "softmax", "softmax+revival")
# A control's default strength: half its typical one (the top of its phase diagram's λ
# axis), mid-way along the axis where the one-layer diagrams show it acting.
STRENGTH_SHARE = 0.5
# Runs of two seeds or more are cut into two chunks, so the two cores train them side by
# side (fixed by --seeds alone, so --jobs never changes the plan or the numbers).
CHUNKS = 2
OUT = "competition-depth"


def register(inner) -> None:
    """Add ``depth`` to the ``competition`` subcommands."""
    from toymodels.limits import N_LAYERS, VOLUME_STRENGTH

    p = inner.add_parser(
        "depth",
        help="two competitive hidden layers: each layer's redundancy for every design pair",
        description=headline(__doc__),
    )
    p.add_argument(
        "--layers",
        type=declared(N_LAYERS, "layers"),
        default=2,
        help=f"hidden layers, {N_LAYERS.allowed} (default 2; 1 trains the first-layer designs "
        "alone)",
    )
    p.add_argument(
        "--first",
        nargs="+",
        default=None,
        metavar="DESIGN",
        help=f"first-layer designs, each ACTIVATION or ACTIVATION+CONTROL (default "
        f"{' '.join(DESIGNS)})",
    )
    p.add_argument(
        "--second",
        nargs="+",
        default=None,
        metavar="DESIGN",
        help="second-layer designs, as --first (default the same), with --layers 2",
    )
    p.add_argument(
        "--strength",
        type=declared(VOLUME_STRENGTH, "volume_strength"),
        default=None,
        help=f"λ of every control in a design, {VOLUME_STRENGTH.allowed} (default: half "
        "the control's typical strength, 0.5 for revival)",
    )
    p.add_argument("--seeds", type=positive_int, default=None, help="models a pair (default 5)")
    p.add_argument(
        "--steps", type=positive_int, default=None, help="Adam steps (default: the preset's)"
    )
    add_learning_rate(p, None, "the preset's")
    p.add_argument(
        "--width", type=positive_int, default=None, help="units per layer (default: the preset's)"
    )
    add_root_seed(p)
    add_sweep_options(p)
    p.add_argument("--out", type=Path, default=Path(OUT), help=f"output folder (default {OUT})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def parse_design(text: str, layer: int, strength: float | None) -> dict:
    """``{"label", "activation", "volume", "volume_strength"}`` of one design; an unknown
    name is a one-line error naming the option."""
    from toymodels.activations import ACTIVATIONS
    from toymodels.errors import ConfigError, unknown_name
    from toymodels.volumes import VOLUMES

    option = ("--first", "--second")[layer]
    activation, _, volume = text.partition("+")
    volume = volume or "none"
    for kind, name, registry in (
        ("activation", activation, ACTIVATIONS),
        ("volume control", volume, VOLUMES),
    ):
        if name not in registry:
            raise ConfigError(f"{option} {text}: {unknown_name(kind, name, registry)}")
    control = VOLUMES[volume]
    if volume == "none":
        lam = 0.0
    else:
        lam = control.typical_strength * STRENGTH_SHARE if strength is None else strength
    return {"label": text, "activation": activation, "volume": volume, "volume_strength": lam}


def _layer_fields(design: dict, layer: int) -> dict:
    suffix = "" if layer == 0 else "_layer2"
    return {f"{k}{suffix}": design[k] for k in ("activation", "volume", "volume_strength")}


def build_specs(args: argparse.Namespace) -> dict[tuple[str, str | None], object]:
    """One validated sweep spec per (first, second) design pair, in order; a bad design,
    or a control that does not apply to its layer's activation, is refused here."""
    from sweeps import SweepSpec, load_preset
    from toymodels.errors import ConfigError

    if args.layers == 1 and args.second is not None:
        raise ConfigError("--second sets a second layer: it needs --layers 2")
    first = [parse_design(t, 0, args.strength) for t in (args.first or DESIGNS)]
    second = [None]
    if args.layers == 2:
        second = [parse_design(t, 1, args.strength) for t in (args.second or DESIGNS)]
    base = load_preset(PRESET).to_dict()
    base.pop("axes", None)
    given = {
        "seeds": args.seeds,
        "n_hidden": args.width,
        "root_seed": args.root_seed,
    }
    base.update({k: v for k, v in given.items() if v is not None})
    train = dict(base["train"])
    if args.steps is not None:
        train["steps"] = args.steps
    if args.lr is not None:
        train["lr"] = args.lr
    specs = {}
    for one in first:
        for two in second:
            model = {**base["model"], **_layer_fields(one, 0)}
            if two is not None:
                model |= _layer_fields(two, 1)
            label = one["label"] if two is None else f"{one['label']} -> {two['label']}"
            description = (
                f"competition depth: {label} on {base['task']}, K = {base['n_hidden']} per "
                f"layer, {base['seeds']} seeds, {train['steps']} Adam steps at lr "
                f"{train['lr']:g}"
            )
            try:
                spec = SweepSpec.from_dict(
                    {
                        **base,
                        "name": f"competition-depth-{run_name(one['label'], two and two['label'])}",
                        "description": description,
                        "family": "competition_deep",
                        "n_layers": args.layers,
                        "chunk_size": math.ceil(base["seeds"] / CHUNKS),
                        "model": model,
                        "train": train,
                    }
                )
            except ConfigError as exc:
                text = str(exc).removeprefix("the spec: ")
                where = f"--first {one['label']}" + (
                    "" if two is None else f" --second {two['label']}"
                )
                raise ConfigError(f"{where}: {text}") from None
            specs[(one["label"], None if two is None else two["label"])] = spec
    return specs


def run_name(first: str, second: str | None) -> str:
    """A pair's run folder: ``<first>__<second>`` (``+`` kept: a legal file name)."""
    return first if second is None else f"{first}__{second}"


def check_out(out: Path) -> None:
    """Refuse, before any work, an ``--out`` that cannot be written, or a non-empty one
    holding no earlier output of this command (``out/runs``); that is resumed."""
    from toymodels.errors import ConfigError
    from toymodels.files import check_writable

    check_writable(out)
    check_writable(out / "runs")
    if not out.is_dir() or (out / "runs").is_dir() or not any(out.iterdir()):
        return
    raise ConfigError(
        f"--out {out} is not empty and holds no earlier output of toymodels competition "
        f"depth ({out / 'runs'} missing); give a new or empty folder"
    )


def run(args: argparse.Namespace) -> int:
    from figures.competition_layer_panels import depth_figure
    from summaries.competition_layers import summarise_depth

    from .arguments import train_runs
    from .reports import save_figures, write_json

    check_out(args.out)
    specs = build_specs(args)
    results = train_runs(
        args, {pair: (spec, args.out / "runs" / run_name(*pair)) for pair, spec in specs.items()}
    )
    summary = summarise_depth(results)
    summary["figures"] = save_figures(args.out, {"depth": depth_figure(summary)})
    write_json(args.out / "summary.json", summary)
    print("\n".join(report_lines(summary)), file=sys.stdout)
    print(f"wrote {', '.join(summary['figures'])}, {args.out / 'summary.json'}")
    return 0


def report_lines(summary: dict) -> list[str]:
    """One line per pair: each layer's phase shares and distinct units, and the loss."""
    lines = []
    for pair in summary["pairs"]:
        layers = []
        for k, layer in enumerate(pair["layers"]):
            shares = "/".join(
                f"{100 * layer['phase_fraction'][p]:.0f}"
                for p in ("redundant", "specialised", "collapsed")
            )
            layers.append(
                f"L{k + 1} R/S/C {shares}%, distinct {layer['n_distinct_mean']:.1f}, "
                f"max|cos| {layer['max_abs_cos_mean']:.3f}"
            )
        name = pair["first"] if pair["second"] is None else f"{pair['first']} -> {pair['second']}"
        loss = pair["loss_mean"]
        lines.append(
            f"{name}: "
            + "; ".join(layers)
            + f"; loss {'diverged' if loss is None else f'{loss:.4f}'}"
        )
    return lines
