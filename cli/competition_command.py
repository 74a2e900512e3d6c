"""``toymodels competition``: competition inside a hidden layer, redundant, specialised or
collapsed.

- ``phase-diagram``: train a temperature τ × volume-strength λ grid of one activation
  and volume control on one task, ``--seeds`` models a cell, batched; write the run
  (``DIR/run``, resumable), ``DIR/phase_diagram.png``/``.pdf`` and ``DIR/summary.json``
  (phases best-of-N and by seed, the layer metrics, and on the ``annealing`` task, whose
  ``prototypes`` family's output is a free energy, the derived critical temperature and
  the agreement with it);
- ``compare``: every activation (that the volume control applies to) at equal width,
  task and temperature: loss, redundancy and collapse side by side;
- ``list``: the activations and volume controls.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Iterator
from pathlib import Path

from toymodels import strict_json
from toymodels.limits import TEMPERATURE, VOLUME_STRENGTH

from . import competition_depth, competition_prune, competition_width
from .arguments import (
    OnlyWith,
    add_learning_rate,
    add_root_seed,
    add_sweep_options,
    as_typed,
    chose,
    declared,
    grid_points,
    headline,
    positive_int,
)

# The tasks with a preset of their own (``competition-<task>``, ``competition-compare-<task>``).
PRESET_TASKS = ("clusters", "two-clusters", "annealing", "features")
# Every default is the preset ``competition-<task>`` (the figures draw the same runs); an
# option given on the command line overrides it.  ``two-clusters`` is the preset of the
# earlier default (2 clusters on the axes, 8 units); its task is ``clusters``.
TEMPERATURE_RANGE = (0.01, 10.0)
# Where the theory gives a critical temperature (a task whose output is a free energy),
# the τ axis spans it by this factor either way (log-spaced), so the split sits
# mid-diagram.
CRITICAL_SPAN = 4.0
_TEMPERATURE = declared(TEMPERATURE, "temperature")
_STRENGTH = declared(VOLUME_STRENGTH, "volume_strength")


def _range(kind):
    """``LO HI`` of an axis whose values ``kind`` checks."""
    return {"type": kind, "nargs": 2, "default": None, "metavar": ("LO", "HI")}


def _common(p, out: str) -> None:
    p.add_argument(
        "--task",
        choices=PRESET_TASKS,
        default="clusters",
        help="the preset: clusters (6 on a ring, the default), two-clusters (the earlier "
        "2 on the axes), annealing, features",
    )
    p.add_argument("--seeds", type=positive_int, default=None, help="models a cell (default 5)")
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="Adam steps (default: the preset's, 2000; 3000 on two-clusters and features)",
    )
    add_learning_rate(p, None, "0.01")
    p.add_argument(
        "--width",
        type=positive_int,
        default=None,
        help="hidden units K (default: the preset's, 10 on clusters, 8 on two-clusters, 4 on "
        "features, 2 "
        "prototypes on annealing)",
    )
    p.add_argument(
        "--group-size",
        type=positive_int,
        default=None,
        help="U, the block size of grouped_softmax and lwta, dividing K (default 2)",
    )
    p.add_argument(
        "--k", type=positive_int, default=None, help="units kwta keeps, at most K (default 2)"
    )
    add_root_seed(p)
    add_sweep_options(p)
    p.add_argument("--out", type=Path, default=Path(out), help=f"output folder (default {out})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub) -> None:
    parser = sub.add_parser(
        "competition",
        help="competition in a hidden layer: redundant, specialised or collapsed",
        description=headline(__doc__),
    )
    inner = parser.add_subparsers(dest="competition_command", required=True)
    p = inner.add_parser(
        "phase-diagram",
        help="train a temperature x volume-strength grid of one activation and control",
        description="Train a temperature x volume-strength grid of one activation and "
        "volume control on one task; write the figure, summary.json and the run.",
    )
    _common(p, "competition")
    p.add_argument(
        "--activation",
        default=None,
        help="activation name, see competition list (default softmax)",
    )
    p.add_argument(
        "--volume",
        default=None,
        help="volume control name, see competition list, or several joined by commas "
        "(anneal,entropy), each with its own strength (default: the preset's, entropy; "
        "annealing anneal)",
    )
    p.add_argument(
        "--grid",
        type=grid_points,
        default=None,
        help=f"points per axis, {grid_points.allowed} (default: the preset's temperature axis, "
        "8 on clusters, 10 on the others)",
    )
    p.add_argument(
        "--temperature-range",
        **_range(_TEMPERATURE),
        help=f"τ axis, log-spaced, each {TEMPERATURE.allowed} (default 0.01 10; annealing: τ_c/4 "
        "to 4 τ_c)",
    )
    p.add_argument(
        "--strength-range",
        **_range(_STRENGTH),
        action="append",
        help=f"λ axis, linear, each {VOLUME_STRENGTH.allowed}, with a volume control other "
        "than none (default 0 to the control's typical strength); with several controls, "
        "once per control in order: the first is the axis, each further one a single value "
        "LO = HI held fixed (default its typical strength)",
    )
    p.set_defaults(handler=run_phase_diagram, only_with=PHASE_ONLY_WITH)

    p = inner.add_parser(
        "compare",
        help="every activation at equal width, task and temperature",
        description="Train every activation (that the volume control applies to) at equal "
        "width, task and temperature and compare loss, redundancy and collapse.",
    )
    _common(p, "competition-compare")
    p.add_argument(
        "--volume",
        default=None,
        help="volume control, see competition list, or several joined by commas (default none)",
    )
    p.add_argument(
        "--strength",
        type=_STRENGTH,
        default=None,
        action="append",
        help=f"its strength λ, {VOLUME_STRENGTH.allowed}, with a volume control other than "
        "none (default 0); with several controls, once per control in order",
    )
    p.add_argument(
        "--temperature",
        type=_TEMPERATURE,
        default=None,
        help=f"τ, {TEMPERATURE.allowed}, with an activation that has one (default: the "
        "preset's, 1; annealing τ_c/2)",
    )
    p.add_argument("--json", action="store_true", help='print {"rows": [...]}')
    p.set_defaults(handler=run_compare, only_with=COMPARE_ONLY_WITH)

    p = inner.add_parser(
        "shares",
        help="each phase's share per band of τ, with Wilson intervals, over diagrams run",
        description="Each phase's share of the models in three bands of τ (λ > 0 pooled) "
        "with 95%% Wilson intervals, for every phase-diagram folder under ROOT; and, for "
        "activations that ignore a shift common to the units' rows, the shares measured on "
        "the rows as they are and centred.",
    )
    p.add_argument("root", type=Path, help="a folder of competition phase-diagram folders")
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        help="also write the numbers to this file (default: print only)",
    )
    p.set_defaults(handler=run_shares)

    p = inner.add_parser(
        "list",
        help="the activations and volume controls",
        description="The activations and volume controls, with what each does.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run_list)
    competition_depth.register(inner)
    competition_prune.register(inner)
    competition_width.register(inner)


# -- options that apply only to some activations or volume controls -------------------------
@functools.cache
def _preset_model(name: str) -> tuple[dict, list[str]]:
    """A preset's ``[model]`` table and its activation axis (empty for none)."""
    from sweeps import load_preset

    spec = load_preset(name)
    axis = spec.axis("activation")
    return spec.to_dict()["model"], [] if axis is None else list(axis.values)


def _chosen(args: argparse.Namespace) -> tuple[list[str], str] | None:
    """The activations the command trains and the volume control (what the user gave,
    else the preset's), or None when a name is unknown (the command refuses it then)."""
    from toymodels.activations import ACTIVATIONS
    from toymodels.volumes import VOLUMES

    compare = args.competition_command == "compare"
    model, candidates = _preset_model(f"competition{'-compare' if compare else ''}-{args.task}")
    volume = "+".join(_volume_names(args.volume)) if args.volume else model["volume"]
    if any(n not in VOLUMES for n in volume.split("+")):
        return None
    if compare:
        return applicable_activations(volume, args.task, candidates), volume
    activation = args.activation or model["activation"]
    return ([activation], volume) if activation in ACTIVATIONS else None


def _reads(what: str):
    """Whether the activations trained read ``what`` (a setting such as ``group_size``, or
    ``temperature``), as each activation declares."""

    def holds(args: argparse.Namespace) -> bool:
        chosen = _chosen(args)
        return chosen is None or any(_activation_reads(a, what) for a in chosen[0])

    return holds


def _activation_reads(name: str, what: str) -> bool:
    from toymodels.activations import ACTIVATIONS

    cls = ACTIVATIONS[name]
    return cls.uses_temperature if what == "temperature" else what in cls.settings


def _readers(what: str, kind: str):
    """``needs`` text: the activations that read ``what``."""

    def needs() -> str:
        from toymodels.activations import ACTIVATIONS

        names = [n for n in ACTIVATIONS if _activation_reads(n, what)]
        return f"with an activation {kind} ({', '.join(names)})"

    return needs


def _activations_trained(args: argparse.Namespace) -> str:
    chosen = _chosen(args)
    names = ", ".join(chosen[0]) if chosen else "?"
    if args.competition_command == "compare":
        control = chose(args, "--volume", "no volume control")
        return f"the activations compared on {args.task} with {control} ({names})"
    return chose(args, "--activation", f"the default activation {names}")


def _has_control(args: argparse.Namespace) -> bool:
    chosen = _chosen(args)
    return chosen is None or chosen[1] != "none"


def _control(args: argparse.Namespace) -> str:
    return chose(args, "--volume", f"the default volume control {_chosen(args)[1]}")


_HAS_CONTROL = "with a volume control other than none (--volume NAME)"
_ONLY_ZERO = "its strength λ must be 0: none allows only 0"
_GROUP_SIZE = OnlyWith(
    "--group-size", _reads("group_size"), _readers("group_size", "in blocks"),
    _activations_trained,
)  # fmt: skip
_K = OnlyWith("--k", _reads("k_active"), _readers("k_active", "keeping k units"),
              _activations_trained)  # fmt: skip
# A volume control's strength λ: "none" has none to set.
PHASE_ONLY_WITH = (
    _GROUP_SIZE,
    _K,
    OnlyWith(
        "--temperature-range",
        _reads("temperature"),
        _readers("temperature", "with a temperature"),
        _activations_trained,
    ),
    OnlyWith("--strength-range", _has_control, _HAS_CONTROL, _control, _ONLY_ZERO),
)
COMPARE_ONLY_WITH = (
    _GROUP_SIZE,
    _K,
    OnlyWith(
        "--temperature",
        _reads("temperature"),
        _readers("temperature", "with a temperature"),
        _activations_trained,
    ),
    OnlyWith("--strength", _has_control, _HAS_CONTROL, _control, _ONLY_ZERO),
)


# -- specs ----------------------------------------------------------------------------------
def _volume_names(value: str | None) -> list[str] | None:
    """``--volume``'s names: one, or several joined by commas."""
    return None if value is None else [n.strip() for n in value.split(",")]


def _volumes(value: str | None, registry) -> list[str] | None:
    """``--volume``'s names, each checked against ``registry``."""
    names = _volume_names(value)
    for name in names or ():
        _name("volume control", name, registry)
    return names


def _name(kind: str, value: str | None, registry) -> str | None:
    from toymodels.errors import unknown_name

    if value is not None and value not in registry:
        raise unknown_name(kind, value, registry)
    return value


def _base_overrides(args: argparse.Namespace) -> dict:
    given = {
        "root_seed": args.root_seed,
        "seeds": args.seeds,
        "train.steps": args.steps,
        "train.lr": args.lr,
        "n_hidden": args.width,
        "model.group_size": args.group_size,
        "model.k_active": args.k,
    }
    return {k: v for k, v in given.items() if v is not None}


# The options that set the layer, in the words a refusal of the spec is prefixed with.
LAYER_OPTIONS = (
    "--activation", "--volume", "--width", "--group-size", "--k", "--temperature",
    "--strength", "--temperature-range", "--strength-range",
)  # fmt: skip


@contextlib.contextmanager
def _named_by_options(args: argparse.Namespace) -> Iterator[None]:
    """A refusal of the spec, which names its fields, prefixed with the options the user
    gave (``--volume dropout --strength 0.95: volume_strength=0.95 is above 0.9 ...``)."""
    from toymodels.errors import ConfigError

    try:
        yield
    except ConfigError as exc:
        given = []
        for option in LAYER_OPTIONS:
            value = getattr(args, option.lstrip("-").replace("-", "_"), None)
            if value is not None:
                given.append(f"{option} {as_typed(value)}")
        text = str(exc).removeprefix("the spec: ")
        raise ConfigError(f"{' '.join(given)}: {text}" if given else text) from None


def build_phase_spec(args: argparse.Namespace):
    """The preset ``competition-<task>`` with the options given (validated: a bad value or
    a control that does not apply fails before anything is written)."""
    import numpy as np

    from summaries.competition_summary import critical_temperature_of
    from sweeps import load_preset
    from toymodels.activations import ACTIVATIONS
    from toymodels.errors import ConfigError
    from toymodels.volumes import STRENGTH_FIELDS, VOLUMES, volume_names

    preset = load_preset(f"competition-{args.task}")
    overrides = _base_overrides(args)
    activation = _name("activation", args.activation, ACTIVATIONS)
    volume = _volumes(args.volume, VOLUMES)
    if activation is not None:
        overrides["model.activation"] = activation
    if volume is not None:
        overrides["model.volume"] = volume
    # Axes are set after the model fields, so they are validated together below.
    with _named_by_options(args):
        spec = preset.with_overrides(
            {**overrides, "axes.temperature": None, "axes.volume_strength": None}
        )
    grid = args.grid or len(preset.axis("temperature").values)
    names = volume_names(spec.to_dict()["model"].get("volume", "none"))
    control = VOLUMES[names[0]]
    tc = critical_temperature_of(spec)
    if args.temperature_range is not None:
        lo, hi = args.temperature_range
    elif tc is not None:
        lo, hi = tc / CRITICAL_SPAN, tc * CRITICAL_SPAN
    else:
        lo, hi = TEMPERATURE_RANGE
    if lo >= hi:
        raise ConfigError(f"--temperature-range {lo:g} {hi:g}: LO must be below HI")
    axes: dict = {"axes.temperature": {"logspace": [lo, hi], "num": grid}}
    top = control.typical_strength
    ranges = list(args.strength_range or [])
    if len(ranges) > len(names):
        raise ConfigError(
            f"--strength-range is given {len(ranges)} times for {len(names)} volume "
            f"control{'s' if len(names) > 1 else ''} ({', '.join(names)}): at most once each"
        )
    s_lo, s_hi = ranges[0] if ranges else (0.0, top)
    for i, name in enumerate(names[1:], start=1):
        lo_i, hi_i = ranges[i] if i < len(ranges) else (VOLUMES[name].typical_strength,) * 2
        if lo_i != hi_i:
            raise ConfigError(
                f"--strength-range {lo_i:g} {hi_i:g} of {name}: only the first control's "
                "strength is an axis; give a further control one value (LO = HI)"
            )
        axes[f"model.{STRENGTH_FIELDS[i]}"] = lo_i
    if s_lo > s_hi:
        raise ConfigError(f"--strength-range {s_lo:g} {s_hi:g}: LO must not exceed HI")
    if control.max_strength is not None and s_hi > control.max_strength:
        raise ConfigError(
            f"--strength-range {s_lo:g} {s_hi:g}: {control.name} allows strengths up to "
            f"{control.max_strength:g}"
        )
    if s_lo == s_hi:
        axes["axes.volume_strength"] = [s_lo]
    else:
        axes["axes.volume_strength"] = [float(v) for v in np.linspace(s_lo, s_hi, grid)]
    with _named_by_options(args):
        spec = spec.with_overrides(axes)
    model = spec.to_dict()["model"]
    shape = " x ".join(str(len(a.values)) for a in spec.axes)
    description = (
        f"competition phase-diagram: {model['activation']} units with volume control "
        f"{model['volume']} on {spec.task}, K = {spec.to_dict()['n_hidden']}, {shape} grid "
        f"of temperature {lo:g}-{hi:g} x strength {s_lo:g}-{s_hi:g}, {spec.seeds} seeds, "
        f"{spec.train.steps} Adam steps at lr {spec.train.lr:g}"
    )
    return spec.with_overrides({"description": description})


def applicable_activations(volume: str, task: str, candidates) -> list[str]:
    """The activations among ``candidates`` that volume control ``volume`` acts on in a
    layer learning ``task`` (as the control declares)."""
    from toymodels.activations import ACTIVATIONS
    from toymodels.volumes import volume_control

    control = volume_control(volume)
    return [name for name in candidates if control.refusal(ACTIVATIONS[name], task) is None]


def build_compare_spec(args: argparse.Namespace):
    """The preset ``competition-compare-<task>`` with the options given."""
    from sweeps import load_preset
    from toymodels.errors import ConfigError
    from toymodels.volumes import STRENGTH_FIELDS, VOLUMES

    preset = load_preset(f"competition-compare-{args.task}")
    volume = _volumes(args.volume, VOLUMES)
    overrides = _base_overrides(args)
    if volume is not None:
        overrides["model.volume"] = volume
    strengths = list(args.strength or [])
    count = len(volume or ["?"])
    if len(strengths) > count:
        raise ConfigError(
            f"--strength is given {len(strengths)} times for {count} volume control"
            f"{'s' if count > 1 else ''}: at most once each"
        )
    for field, strength in zip(STRENGTH_FIELDS, strengths, strict=False):
        overrides[f"model.{field}"] = strength
    if args.temperature is not None:
        overrides["model.temperature"] = args.temperature
    candidates = preset.axis("activation").values
    # The options checked with the preset's own activation first, so that an error names
    # what the user gave rather than an activation they never chose.
    with _named_by_options(args):
        base = preset.with_overrides({**overrides, "axes.activation": None})
    volume = base.to_dict()["model"]["volume"]
    kept = applicable_activations(volume, base.task, candidates)
    if not kept:
        raise ConfigError(f'volume control "{volume}" applies to no activation on {args.task}')
    overrides["axes.activation"] = kept
    with _named_by_options(args):
        spec = preset.with_overrides(overrides)
    # The stored description says what is trained, not the preset's defaults.
    model = spec.to_dict()["model"]
    description = (
        f"competition compare: {len(kept)} activations ({', '.join(kept)}) with volume "
        f"control {model['volume']} (strength {model['volume_strength']:g}) on {spec.task}, "
        f"K = {spec.to_dict()['n_hidden']}, temperature {model['temperature']:g}, "
        f"{spec.seeds} seeds, {spec.train.steps} Adam steps at lr {spec.train.lr:g}"
    )
    return spec.with_overrides({"description": description})


# -- handlers -------------------------------------------------------------------------------
def run_phase_diagram(args: argparse.Namespace) -> int:
    from figures.competition_panels import competition_diagram
    from summaries.competition_summary import critical_temperature_of, outside_band, summarise

    from .arguments import train_into_out
    from .reports import phase_counts, save_figures, shown, write_json

    spec, results = train_into_out(args, "competition phase-diagram", build_phase_spec)
    tc = critical_temperature_of(spec)
    summary = summarise(results, tc)
    s = summary["settings"]
    title = (
        f"{s['activation']} + {s['volume']} on {s['task']}, K = {s['n_hidden']}, "
        f"{s['seeds']} seeds, {s['steps']} steps"
    )
    fig = competition_diagram(results, title=title, critical_temperature=tc)
    summary["figures"] = save_figures(args.out, {"phase_diagram": fig})
    write_json(args.out / "summary.json", summary)
    settings = summary["settings"]
    lines = [
        f"{settings['activation']} + {settings['volume']} on {settings['task']}: "
        f"{len(summary['temperature'])} temperatures x {len(summary['strength'])} strengths, "
        f"{settings['seeds']} seeds",
        "phases (best of N): " + phase_counts(summary["phase"]),
    ]
    if summary["critical_temperature"] is not None:
        agree = summary["agreement_outside_band"]
        missing = (
            "every cell outside it diverged"
            if outside_band(summary["temperature"], summary["critical_temperature"]).any()
            else "no cell lies outside that band"
        )
        lines.append(
            f"critical temperature (theory) {summary['critical_temperature']:.4g}; trained "
            f"phases agree with it in {shown(agree, missing=missing)} of the cells outside "
            f"±{summary['band']:.0%} of it"
        )
    lines.append(f"wrote {', '.join(summary['figures'])}, {args.out / 'summary.json'}")
    print("\n".join(lines), file=sys.stdout)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from figures.competition_panels import comparison_figure
    from summaries.competition_summary import compare_summary

    from .arguments import train_into_out
    from .reports import save_figures, write_json

    spec, results = train_into_out(args, "competition compare", build_compare_spec)
    compared = compare_summary(results)
    rows = compared["rows"]
    config = spec.model_config(spec.cell_point(0))
    title = (
        f"{spec.task}, K = {config.arch.n_hidden}, τ = {config.arch.temperature:g}, "
        f"{spec.seeds} seeds, {spec.train.steps} steps"
    )
    figures = save_figures(args.out, {"compare": comparison_figure(rows, title=title)})
    write_json(args.out / "compare.json", {"rows": rows, "figures": figures, **compared})
    if args.json:
        print(strict_json.dumps({"rows": rows}, indent=2))
        return 0
    header = ("activation", "volume", "loss", "max|cos|", "eff.rank", "H(p̄)", "dead", "distinct")
    table = [header]
    for r in rows:
        table.append(
            (
                r["activation"],
                r["volume"],
                f"{r['loss']:.4f}",
                f"{r['max_abs_cos']:.3f}",
                f"{r['effective_rank']:.2f}",
                f"{r['usage_entropy']:.3f}",
                f"{r['dead_fraction']:.2f}",
                f"{r['n_distinct']:g}",
            )  # fmt: skip
        )
        table[-1] += (f"{r['phase']} ({r['phase_fraction'][r['phase']]:.0%} of seeds)",)
    table[0] += ("phase (best of N)",)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"wrote {args.out / 'compare.json'}, {args.out / 'compare.png'}")
    return 0


def run_shares(args: argparse.Namespace) -> int:
    from summaries.competition_questions import questions_report
    from toymodels.errors import ConfigError

    from .reports import write_json

    if not args.root.is_dir():
        raise ConfigError(f"{args.root} is not a folder of competition phase-diagram folders")
    if args.json is not None and (args.json.is_dir() or not args.json.parent.is_dir()):
        raise ConfigError(
            f"--json {args.json}: needs a file name in an existing folder (not a folder, not "
            "under a file)"
        )
    text, numbers = questions_report(args.root)
    print(text)
    if args.json is not None:
        write_json(args.json, numbers)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from toymodels.activations import ACTIVATIONS
    from toymodels.volumes import VOLUMES

    activations = [
        {
            "name": name,
            "description": cls.description,
            "uses_temperature": cls.uses_temperature,
            "soft": cls.soft,
            "normalised": cls.normalised,
            "shift_invariant": cls.shift_invariant,
        }
        for name, cls in ACTIVATIONS.items()
    ]
    volumes = [
        {
            "name": name,
            "description": cls.description,
            "max_strength": cls.max_strength,
            "typical_strength": cls.typical_strength,
        }
        for name, cls in VOLUMES.items()
    ]
    if args.json:
        print(strict_json.dumps({"activations": activations, "volumes": volumes}, indent=2))
        return 0
    print("activations:")
    for a in activations:
        print(f"  {a['name']:<16} {a['description']}")
    print("volume controls (strength λ):")
    for v in volumes:
        print(f"  {v['name']:<16} {v['description']}")
    print("  several at once: --volume anneal,entropy (strengths: one --strength-range each)")
    return 0
