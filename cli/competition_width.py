"""``toymodels competition width``: the task loss against the width K of a ReLU layer and
of a competitive one (does a small competitive layer match a large ReLU layer?).

Trains the preset ``competition-compare-clusters``'s layer at each width (``--widths``,
default 2 4 8 16 32; one batch per K), once with ReLU units and no volume control and
once with the competitive layer (default: softmax with the log-det volume bonus at
λ = 0.05, the control that specialised best in a trial on six classes on a ring, see
docs/competition.md), and writes the runs (``DIR/run`` ReLU, ``DIR/run_competitive``;
resumable), ``DIR/width.json`` and ``DIR/width.png``/``.pdf``.
"""

from __future__ import annotations

import argparse
import sys

from toymodels.limits import TEMPERATURE, VOLUME_STRENGTH

from .arguments import declared, headline, positive_int
from .competition_prune import PRESET, add_layer_options, layer_title, preset_with

#: The widths K trained (a doubling from 2, up to four times the preset's 8 units).
WIDTHS = (2, 4, 8, 16, 32)
#: The competitive layer: softmax with the log-det bonus (``-λ log det(W₁W₁ᵀ + εI)``).
#: In a trial (6 classes on a ring of radius 2, spread 0.3, τ = 1, 3 seeds, K = 16) it
#: was the one control whose layers were specialised (9-10 distinct units of 16 in each
#: seed), where no control collapsed and the entropy bonus and revival were redundant.
COMPETITIVE = {"activation": "softmax", "volume": "logdet", "strength": 0.05}
#: The reference layer: ReLU units, nothing added.
REFERENCE = {"activation": "relu", "volume": "none", "strength": 0.0}


def register(inner) -> None:
    """Add ``width`` to the ``competition`` subcommands."""
    p = inner.add_parser(
        "width",
        help="loss against the width K: a ReLU layer and a competitive one",
        description=headline(__doc__),
    )
    p.add_argument(
        "--widths",
        nargs="+",
        type=positive_int,
        default=None,
        metavar="K",
        help=f"units K of the layers (default {' '.join(map(str, WIDTHS))})",
    )
    p.add_argument(
        "--activation",
        default=COMPETITIVE["activation"],
        help=f"the competitive layer's activation (default {COMPETITIVE['activation']})",
    )
    p.add_argument(
        "--volume",
        default=COMPETITIVE["volume"],
        help=f"its volume control (default {COMPETITIVE['volume']})",
    )
    p.add_argument(
        "--strength",
        type=declared(VOLUME_STRENGTH, "volume_strength"),
        default=None,
        help=f"its strength λ, {VOLUME_STRENGTH.allowed} (default {COMPETITIVE['strength']:g}; "
        "0 with the volume control none)",
    )
    p.add_argument(
        "--temperature",
        type=declared(TEMPERATURE, "temperature"),
        default=None,
        help=f"its τ, {TEMPERATURE.allowed} (default: the preset's, 1)",
    )
    add_layer_options(p, "competition-width")
    p.set_defaults(handler=run)


def build_specs(args: argparse.Namespace):
    """The ReLU layer's and the competitive layer's specs, each over the widths
    (validated: a bad name or value fails before anything is written)."""
    from toymodels.activations import ACTIVATIONS
    from toymodels.errors import ConfigError, unknown_name
    from toymodels.volumes import VOLUMES

    if args.activation not in ACTIVATIONS:
        raise unknown_name("activation", args.activation, ACTIVATIONS)
    if args.volume not in VOLUMES:
        raise unknown_name("volume control", args.volume, VOLUMES)
    if args.temperature is not None and not ACTIVATIONS[args.activation].uses_temperature:
        readers = ", ".join(n for n, a in ACTIVATIONS.items() if a.uses_temperature)
        raise ConfigError(
            f"--temperature {args.temperature:g} applies only with an activation that has one "
            f"({readers}), not with --activation {args.activation}"
        )
    strength = args.strength
    if strength is None:
        strength = COMPETITIVE["strength"] if args.volume == COMPETITIVE["volume"] else 0.0
    widths = sorted(set(args.widths or WIDTHS))
    owned = {"n_hidden": "--widths", "axes.n_hidden": "--widths", "axes.activation": "--activation"}
    for key, option in (("activation", "--activation"), ("volume", "--volume"),
                        ("volume_strength", "--strength")):  # fmt: skip
        owned[f"model.{key}"] = owned[f"axes.{key}"] = option
    if args.temperature is not None:
        owned["model.temperature"] = owned["axes.temperature"] = "--temperature"
    preset = preset_with(args, owned)
    specs = []
    for name, layer in (
        ("relu", REFERENCE),
        ("competitive", {"activation": args.activation, "volume": args.volume,
                         "strength": strength}),
    ):  # fmt: skip
        overrides = {
            "axes.activation": None,
            "model.activation": layer["activation"],
            "model.volume": layer["volume"],
            "model.volume_strength": layer["strength"],
            "axes.n_hidden": widths,
        }
        if name == "competitive" and args.temperature is not None:
            overrides["model.temperature"] = args.temperature
        try:
            spec = preset.with_overrides(overrides)
        except ConfigError as exc:
            given = f"--activation {args.activation} --volume {args.volume}"
            raise ConfigError(f"{given}: {str(exc).removeprefix('the spec: ')}") from None
        model = spec.to_dict()["model"]
        description = (
            f"competition width: {model['activation']} + {model['volume']} (strength "
            f"{model['volume_strength']:g}) on {spec.task}, K = {', '.join(map(str, widths))}, "
            f"temperature {model['temperature']:g}, {spec.seeds} seeds, {spec.train.steps} "
            "Adam steps"
        )
        specs.append(spec.with_overrides({"description": description}))
    return specs


def _label(spec) -> str:
    model = spec.to_dict()["model"]
    if model["volume"] == "none":
        return model["activation"]
    return f"{model['activation']} + {model['volume']} (λ = {model['volume_strength']:g})"


def run(args: argparse.Namespace) -> int:
    from figures.prune_panels import width_figure
    from summaries.width_summary import width_summary
    from toymodels import strict_json

    from .arguments import check_output_folder, train_runs
    from .reports import save_figures, write_json

    check_output_folder(args.out, "competition width")
    specs = build_specs(args)
    folders = (args.out / "run", args.out / "run_competitive")
    runs = train_runs(
        args, {_label(spec): (spec, f) for spec, f in zip(specs, folders, strict=True)}
    )
    reference = _label(specs[0])
    summary = width_summary(runs, reference)
    summary["settings"] = {"preset": PRESET, "runs": [str(f) for f in folders]}
    title = layer_title(specs[1], width=False, volume=False)
    summary["figures"] = save_figures(args.out, {"width": width_figure(summary, title=title)})
    write_json(args.out / "width.json", summary)
    if args.json:
        print(strict_json.dumps(summary, indent=2))
        return 0
    lines = [f"loss (mean over seeds) against K; held against {reference} at "
             f"K = {summary['reference_width']}"]  # fmt: skip
    for layer in summary["layers"]:
        losses = ", ".join(
            f"K={k}: {'diverged' if v is None else f'{v:.4f}'}"
            for k, v in zip(layer["width"], layer["loss_mean"], strict=True)
        )
        match = layer["smallest_width_matching"]
        lines.append(f"{layer['label']}: {losses}; matches from K = {match or 'none'}")
    lines.append(f"wrote {', '.join(summary['figures'])}, {args.out / 'width.json'}")
    print("\n".join(lines), file=sys.stdout)
    return 0
