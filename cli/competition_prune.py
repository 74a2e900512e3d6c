"""``toymodels competition prune``: remove the units of trained layers, least used first
or smallest read-out first, retrain nothing, and record the task loss and accuracy on
fresh examples against the fraction of units removed.

Trains one layer per activation (the preset ``competition-compare-clusters``, as
``competition compare`` does: ``--seeds`` models each), then for every model removes
0, 1, …, K units in each order (``toymodels.pruning``: a removed unit's logit is −∞
before the activation, so a softmax renormalises over the units left) and writes the run
(``DIR/run``, resumable), ``DIR/prune.json`` and ``DIR/prune.png``/``.pdf``.  The premise
(``competition-within-layers``): a ReLU layer loses little when most of its units go; a
competitive layer has nothing redundant to remove.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .arguments import add_root_seed, add_sweep_options, headline, positive_int

#: The preset the layers come from (read at run time: its task, width and activations).
PRESET = "competition-compare-clusters"


def fraction_removed(text: str) -> float:
    """A fraction of units removed: a finite number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(
            f"fraction removed {text!r} must be a number in [0, 1] (0: none, 1: every unit)"
        )
    return value


fraction_removed.allowed = "in [0, 1]"


def add_layer_options(p, out: str) -> None:
    """The options ``prune`` and ``width`` share: seeds, steps, ``--set`` on the preset,
    the root seed, the sweep options, ``--out``, ``--quiet`` and ``--json``."""
    p.add_argument("--seeds", type=positive_int, default=None, help="models a layer (default 5)")
    p.add_argument(
        "--steps", type=positive_int, default=None, help="Adam steps (default: the preset's, 3000)"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a value of the preset {PRESET}, e.g. n_clusters=6 (values are TOML; "
        "repeatable)",
    )
    add_root_seed(p)
    add_sweep_options(p)
    p.add_argument("--out", type=Path, default=Path(out), help=f"output folder (default {out})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def register(inner) -> None:
    """Add ``prune`` to the ``competition`` subcommands."""
    p = inner.add_parser(
        "prune",
        help="remove units of trained layers (least used, smallest read-out first): loss "
        "against the fraction kept",
        description=headline(__doc__),
    )
    p.add_argument(
        "--activations",
        nargs="+",
        default=None,
        metavar="NAME",
        help=f"the activations to train and prune (default: every one of {PRESET} that its "
        "volume control applies to)",
    )
    p.add_argument(
        "--fractions",
        nargs="+",
        type=fraction_removed,
        default=None,
        metavar="F",
        help="fractions of units removed, each in [0, 1] (default 0, 1/K, ..., 1)",
    )
    add_layer_options(p, "competition-prune")
    p.set_defaults(handler=run)


def preset_with(args: argparse.Namespace, owned: dict[str, str]):
    """The preset with ``--set``, ``--seeds``, ``--steps`` and ``--root-seed`` applied;
    ``owned`` maps the keys the command sets itself to the option that sets them (a
    ``--set`` of one would be overwritten, so it is refused rather than ignored)."""
    from sweeps import load_preset
    from sweeps.spec import parse_overrides
    from toymodels.errors import ConfigError

    given = parse_overrides(args.overrides)
    for key in given:
        for own, option in owned.items():
            if key == own or key.startswith(f"{own}."):
                raise ConfigError(f"--set {key}=...: this command sets it with {option}")
    given |= {
        k: v
        for k, v in (
            ("seeds", args.seeds),
            ("train.steps", args.steps),
            ("root_seed", args.root_seed),
        )
        if v is not None
    }
    return load_preset(PRESET).with_overrides(given) if given else load_preset(PRESET)


def build_spec(args: argparse.Namespace):
    """The layers to train: the preset (with the options) over the activations chosen
    (validated: an unknown or inapplicable activation fails before anything is written)."""
    from toymodels.activations import ACTIVATIONS
    from toymodels.errors import ConfigError, unknown_name
    from toymodels.volumes import VOLUMES

    owned = {"axes.activation": "--activations", "model.activation": "--activations"}
    preset = preset_with(args, owned)
    volume = preset.to_dict()["model"]["volume"]
    # as ``competition compare`` keeps them: those the volume control declares it acts on
    refuses = VOLUMES[volume].refusal
    if args.activations is None:
        axis = preset.axis("activation")
        names = [preset.to_dict()["model"]["activation"]] if axis is None else axis.values
        kept = [a for a in names if refuses(ACTIVATIONS[a], preset.task) is None]
    else:
        kept = list(dict.fromkeys(args.activations))
        for name in kept:
            if name not in ACTIVATIONS:
                raise unknown_name("activation", name, ACTIVATIONS)
        refused = [a for a in kept if refuses(ACTIVATIONS[a], preset.task) is not None]
        if refused:
            raise ConfigError(
                f'--activations {" ".join(refused)}: volume control "{volume}" of {PRESET} '
                f"does not apply to {', '.join(refused)}"
            )
    if not kept:
        raise ConfigError(f'volume control "{volume}" applies to no activation on {preset.task}')
    spec = preset.with_overrides({"axes.activation": kept})
    model = spec.to_dict()["model"]
    description = (
        f"competition prune: {len(kept)} activations ({', '.join(kept)}) with volume control "
        f"{model['volume']} on {spec.task}, K = {spec.to_dict()['n_hidden']}, temperature "
        f"{model['temperature']:g}, {spec.seeds} seeds, {spec.train.steps} Adam steps"
    )
    return spec.with_overrides({"description": description})


def default_fractions(units: int) -> list[float]:
    """0, 1/K, …, 1: one more unit removed at each step."""
    return [n / units for n in range(units + 1)]


def layer_title(spec, width: bool = True, volume: bool = True) -> str:
    """What the layers are, for a figure's title: their width K unless ``width`` is false
    (a run over widths), their volume control unless ``volume`` is false (layers that
    differ in it, each labelled by the figure)."""
    config = spec.model_config(spec.cell_point(0))
    classes = getattr(config.data, "n_clusters", None)
    parts = [f"{spec.task} ({classes} classes)" if classes else spec.task]
    if width:
        parts.append(f"K = {config.arch.n_hidden}")
    parts.append(f"τ = {config.arch.temperature:g}")
    if volume and config.arch.volume != "none":
        parts.append(f"{config.arch.volume} λ = {config.arch.volume_strength:g}")
    parts += [f"{spec.seeds} seeds", f"{spec.train.steps} steps"]
    return ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    from figures.prune_panels import pruning_figure
    from summaries.prune_summary import prune_summary
    from toymodels import strict_json

    from .arguments import check_output_folder, train_into_out
    from .reports import save_figures, write_json

    if args.fractions is not None:
        fractions = sorted(set(args.fractions))
    check_output_folder(args.out, "competition prune")
    spec = build_spec(args)  # every refusal before the run starts
    spec, results = train_into_out(args, "competition prune", lambda _: spec)
    units = results.sizes["unit"]
    if args.fractions is None:
        fractions = default_fractions(units)
    summary = prune_summary(results, fractions)
    summary["settings"] = {
        "task": spec.task,
        "n_hidden": units,
        "volume": spec.to_dict()["model"]["volume"],
        "temperature": spec.to_dict()["model"]["temperature"],
        "seeds": spec.seeds,
        "steps": spec.train.steps,
        "eval_batch": spec.train.eval_batch,
        "preset": PRESET,
        "model": spec.to_dict()["model"],
    }
    fig = pruning_figure(summary, title=layer_title(spec))
    summary["figures"] = save_figures(args.out, {"prune": fig})
    write_json(args.out / "prune.json", summary)
    if args.json:
        print(strict_json.dumps(summary, indent=2))
        return 0
    half = min(range(len(fractions)), key=lambda i: abs(fractions[i] - 0.5))
    lines = [
        f"loss (mean over {spec.seeds} seeds) intact, at {summary['fraction_kept'][half]:.0%} "
        "of the units kept, and the largest fraction removed with the loss at most "
        f"{summary['same_loss_factor']:g} x the intact layer's",
        f"{'activation':<16} {'intact':>8}  {'usage order':>22}  {'‖W2‖ order':>22}",
    ]
    for name, entry in summary["activations"].items():
        parts = [f"{name:<16} {_num(entry['stored_loss_mean']):>8}"]
        for order in ("usage", "outgoing_norm"):
            curve = entry[order]
            removable = curve["removable_fraction"]
            parts.append(
                f"{_num(curve['loss_mean'][half]):>8} removable "
                f"{'none' if removable is None else f'{removable:.0%}':>4}"
            )
        lines.append("  ".join(parts))
    lines.append(f"wrote {', '.join(summary['figures'])}, {args.out / 'prune.json'}")
    print("\n".join(lines), file=sys.stdout)
    return 0


def _num(value: float | None) -> str:
    return "diverged" if value is None else f"{value:.4f}"
