"""``toymodels figures``: regenerate the publication figures from stored sweeps.

Each named figure is drawn from the results of its preset sweep(s), stored under
``DIR/runs/<scale>/<preset>/``; a sweep that is missing or unfinished is run (resumably)
first.  Each figure is written as ``DIR/<name>.png`` and ``.pdf``, recorded in
``DIR/figures.json``, and ``DIR/index.html`` (the gallery) shows them all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

from .arguments import OnlyWith, add_sweep_options, headline
from .phase_diagram_command import PROTOCOLS

GALLERY = "gallery"
MANIFEST = "figures.json"
RUNS_DIR = "runs"

# Training settings at ``--scale default``, chosen so that ``toymodels figures all``
# finishes within 15 minutes on 2 cores; ``--scale paper`` trains the presets as written
# (the published protocol: fresh samples, Adam 1e-3, batch 1024, 10,000 steps).
# - phase diagrams: the exact expected loss (same objective, no sampling noise) with the
#   ``phase-diagram`` command's fast protocol, 10 seeds, 20x20 (n=2) and 16x16 (n=3);
#   anatomy-2to1 the same protocol on its 20 densities;
# - wtw-sparsity, intro-2d: 5,000 steps; the number of represented features and the loss
#   (to 3 digits) equal those after 10,000 steps at every density;
# - dimensionality: 3,000 steps of batch 256 at lr 3e-3 (a thirteenth of the samples):
#   m/‖W‖_F² within 0.05 of the 10,000-step run at every density but one (0.91 vs 0.83 at
#   1/p = 1.6) and the same D_i cluster at 1/2; the 3/4 and 2/3 clusters are blurrier.
_PHASE_FAST = {f"train.{k}": v for k, v in PROTOCOLS["fast"].items()}
DEFAULT_SCALE = {
    "paper-2to1": {**_PHASE_FAST, "axes.density.num": 20, "axes.importance.num": 20},
    "paper-3to2": {**_PHASE_FAST, "axes.density.num": 16, "axes.importance.num": 16},
    "anatomy-2to1": _PHASE_FAST,
    "wtw-sparsity": {"train.steps": 5000},
    "intro-2d": {"train.steps": 5000},
    "dimensionality": {"train.steps": 3000, "train.batch_size": 256, "train.lr": 0.003},
}


def register(sub) -> None:
    from figures.catalog import SCALES

    p = sub.add_parser(
        "figures",
        help="regenerate the paper's figures (training their sweeps when missing)",
        description=headline(__doc__),
    )
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="figures to make, or 'all' (the default); see --list",
    )
    p.add_argument(
        "--out", type=Path, default=Path("figures-out"), help="output folder (default figures-out)"
    )
    p.add_argument(
        "--scale",
        choices=SCALES,
        default="default",
        help="default: settings that finish in minutes (the default); paper: the published "
        "protocol",
    )
    add_sweep_options(p)
    p.add_argument("--list", action="store_true", help="name the figures and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    # Extra overrides for every sweep (e.g. train.steps=5), stored apart.
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value of every sweep the figures draw, e.g. train.steps=200 or "
        "seeds=2 (values are TOML; repeatable); its runs are stored apart, in "
        "DIR/runs/SCALE/PRESET+HASH; refused for a field the figure's sweep varies (set "
        "its axis) or does not have",
    )
    p.set_defaults(handler=run, only_with=ONLY_WITH)


# --list names the figures and exits: figures to make and overrides of their sweeps do
# nothing with it.
ONLY_WITH = tuple(
    OnlyWith(
        option,
        holds=lambda args: not args.list,
        needs="when making figures (without --list)",
        chosen=lambda args: "--list, which names every figure and exits",
        attribute=attribute,
    )
    for option, attribute in (("NAME", "names"), ("--set", "overrides"))
)


def _say(args, text: str) -> None:
    if not args.quiet:
        print(text, flush=True)


def resolve_names(names: list[str]) -> list[str]:
    """The figures to make, in catalog order (``all`` or nothing: every figure); the
    gallery always comes last."""
    from figures.catalog import FIGURES
    from toymodels.errors import unknown_name

    known = [*FIGURES, GALLERY]
    wanted = set()
    for name in names or ["all"]:
        if name == "all":
            wanted.update(known)
        elif name in known:
            wanted.add(name)
        else:
            raise unknown_name("figure", name, [*known, "all"])
    return [n for n in known if n in wanted]


def run_dir(out: Path, scale: str, preset: str, overrides: list[str]) -> Path:
    """Where a preset's sweep lives; ``--set`` overrides get their own folder."""
    name = preset
    if overrides:
        name += "+" + hashlib.sha256("\n".join(overrides).encode()).hexdigest()[:8]
    return out / RUNS_DIR / scale / name


def sweep_spec(preset: str, scale: str, overrides: list[str]):
    from sweeps import load_preset
    from sweeps.spec import parse_overrides

    changes = dict(DEFAULT_SCALE.get(preset, {})) if scale == "default" else {}
    changes.update(parse_overrides(overrides))
    spec = load_preset(preset)
    if not changes:
        return spec
    # The stored description must say what was trained, not only the preset's defaults.
    listed = ", ".join(f"{k}={v}" for k, v in changes.items())
    changes.setdefault("description", f"{spec.description} [changed: {listed}]")
    return spec.with_overrides(changes)


def command_line(name: str, args) -> str:
    parts = ["toymodels", "figures", name, "--out", str(args.out)]
    if args.scale != "default":
        parts += ["--scale", args.scale]
    for item in args.overrides:
        parts += ["--set", item]
    return " ".join(parts)


def _list() -> int:
    from figures.catalog import FIGURES

    width = max(len(n) for n in [*FIGURES, GALLERY])
    for name, entry in FIGURES.items():
        print(f"{name:<{width}}  {entry.caption}")
    print(f"{GALLERY:<{width}}  index.html in DIR showing every figure made there")
    return 0


def check_figure_spec(preset: str, spec, where: str) -> None:
    """What a figure drawn from ``preset`` needs of its sweep beyond the spec's checks
    (the ``--set`` testing aid can change its axes), so that it fails before training."""
    from . import conflict_command, multitask_command
    from .phase_diagram_command import check_phase_axes

    if preset.startswith("paper-"):
        check_phase_axes(spec, where)
    elif preset.startswith("conflict-"):
        conflict_command.check_spec(spec, where)
    elif preset.startswith("multitask-"):
        multitask_command.check_theory(spec)


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    from sweeps._execution import available_cores
    from sweeps._size_guard import check_size
    from sweeps.storage import check_folder
    from toymodels.errors import ConfigError
    from toymodels.files import check_writable

    check_writable(args.out)
    names = resolve_names(args.names)
    from sweeps.spec import parse_overrides

    parse_overrides(args.overrides)  # bad --set fails before anything is written
    from figures.catalog import FIGURES

    swept = [n for n in names if n != GALLERY and FIGURES[n].presets(args.scale)]
    if args.overrides and not swept:  # e.g. candidate-losses: closed forms, no sweep
        raise ConfigError(
            f"--set applies only to figures drawn from sweeps, not to {', '.join(names)}, "
            "which train none"
        )
    specs = {}
    for name in names:  # validate every spec up front: nothing half-done on bad input
        if name != GALLERY:
            for preset in FIGURES[name].presets(args.scale):
                try:
                    spec = specs[preset] = sweep_spec(preset, args.scale, args.overrides)
                except ConfigError as exc:  # the figure and sweep a --set is refused for
                    raise ConfigError(f"{name}: sweep {preset}: --set {exc}") from None
                check_figure_spec(preset, spec, f"{name}: sweep {preset}")
                # A stored sweep made under other settings is refused now, not after the
                # sweeps of the figures before it have trained.
                folder = run_dir(args.out, args.scale, preset, args.overrides)
                try:
                    check_folder(folder, spec)
                except ConfigError as exc:
                    raise ConfigError(f"{name}: {exc}; or delete {folder} to retrain it") from None
                check_size(spec, min(args.jobs, available_cores()), args.yes)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    for name in names:
        if name == GALLERY:
            continue
        _make(name, FIGURES[name], specs, results, args)
    path = write_index(args.out)
    _say(args, f"gallery: {path}")
    return 0


def _make(name: str, entry, specs: dict, results: dict, args) -> None:
    from figures import save
    from sweeps import run as run_sweep
    from toymodels.errors import ConfigError

    start = time.perf_counter()
    runs = {}
    for preset in entry.presets(args.scale):
        folder = run_dir(args.out, args.scale, preset, args.overrides)
        runs[preset] = str(folder)
        if preset not in results:
            _say(args, f"{name}: sweep {preset} ({args.scale} scale) in {folder}")
            try:
                results[preset] = run_sweep(
                    specs[preset],
                    folder,
                    jobs=args.jobs,
                    progress=None if args.quiet else True,
                    yes=args.yes,
                )
            except ConfigError as exc:  # e.g. stored under other settings
                raise ConfigError(f"{name}: {exc}; or delete {folder} to retrain it") from None
    fig = entry.build({p: results[p] for p in runs}, args.scale)
    paths = save(fig, args.out / name)
    seconds = time.perf_counter() - start
    _record(
        args.out,
        name,
        {
            "caption": entry.caption,
            "command": command_line(name, args),
            "files": [p.name for p in paths],
            "scale": args.scale,
            "runs": runs,
            "seconds": round(seconds, 1),
        },
    )
    _say(args, f"{name}: wrote {', '.join(str(p) for p in paths)} ({seconds:.1f} s)")


def _manifest(out: Path) -> dict:
    try:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _record(out: Path, name: str, entry: dict) -> None:
    from toymodels.files import atomic_write

    manifest = _manifest(out)
    manifest[name] = entry
    text = json.dumps(manifest, indent=1, ensure_ascii=False)
    atomic_write(out / MANIFEST, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_index(out: Path) -> Path:
    """``out/index.html`` showing every catalog figure whose PNG is in ``out``, in catalog
    order, with the command recorded in ``out/figures.json`` (or the plain one)."""
    from figures.catalog import FIGURES
    from figures.gallery import GalleryEntry, write_gallery

    manifest = _manifest(out)
    entries = []
    for name, entry in FIGURES.items():
        if not (out / f"{name}.png").is_file():
            continue
        rec = manifest.get(name, {})
        files = [f"{name}.{fmt}" for fmt in ("png", "pdf") if (out / f"{name}.{fmt}").is_file()]
        command = rec.get("command") or f"toymodels figures {name} --out {out}"
        entries.append(GalleryEntry(name, entry.caption, command, files))
    return write_gallery(out, entries, "Toy models: figures")
