"""``toymodels sweep``: run a sweep spec or preset, show a sweep folder's status, list presets.

toymodels sweep run SPEC_OR_PRESET --out DIR [--set key=value ...] [--jobs J] [--yes]
                    [--backend loky|dask] [--scheduler tcp://HOST:PORT] [--quiet]
toymodels sweep status DIR
toymodels sweep presets
"""

from __future__ import annotations

import argparse
import sys
import time

from sweeps._execution import BACKENDS

from .arguments import add_sweep_options, headline


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run grids of toy models from TOML specs or presets (resumable, parallel)",
        description=headline(__doc__),
    )
    sub = parser.add_subparsers(dest="sweep_command", required=True, parser_class=type(parser))

    run = sub.add_parser(
        "run",
        help="train every model of a sweep (resumes an existing --out folder)",
        description="Train every model of a sweep spec or preset into --out; rerunning on "
        "the same folder resumes it (finished chunks are kept).",
    )
    run.add_argument(
        "spec",
        metavar="SPEC_OR_PRESET",
        help="a .toml spec file, a preset name, or a sweep folder to resume",
    )
    run.add_argument("--out", required=True, metavar="DIR", help="sweep folder")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a spec value, e.g. train.steps=200, seeds=3, "
        "axes.density.num=5 (values are TOML; repeatable)",
    )
    add_sweep_options(run)
    run.add_argument(
        "--backend",
        choices=BACKENDS,
        default="loky",
        help="loky: local processes (default); dask: a Dask cluster",
    )
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786, with --backend dask "
        "(default: none, a LocalCluster of --jobs workers is started)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)

    status = sub.add_parser(
        "status",
        help="how far a sweep folder got",
        description="Finished/total chunks of a sweep folder.",
    )
    status.add_argument("dir", metavar="DIR", help="the sweep folder")
    status.set_defaults(handler=_status)

    presets = sub.add_parser(
        "presets",
        help="list the preset sweeps",
        description="The preset sweeps (the paper's figures).",
    )
    presets.set_defaults(handler=_presets)


def _echo(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _run(args: argparse.Namespace) -> int:
    import sweeps
    from sweeps.spec import parse_overrides
    from toymodels.files import check_writable

    check_writable(args.out)
    overrides = parse_overrides(args.overrides)
    spec = sweeps.load_spec(args.spec)
    if overrides:
        spec = spec.with_overrides(overrides)
    start = time.perf_counter()
    results = sweeps.run(
        spec,
        args.out,
        jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=not args.quiet,
        yes=args.yes,
    )
    shape = " x ".join(f"{a.name} {len(a.values)}" for a in spec.axes) or "1 cell"
    _echo(
        f"{spec.name}: {shape} x {spec.seeds} seeds = {spec.n_models} models "
        f"in {time.perf_counter() - start:.1f} s"
    )
    _echo(f"results: {args.out}/results.nc ({len(results.data_vars)} variables)")
    return 0


def _status(args: argparse.Namespace) -> int:
    import sweeps

    st = sweeps.status(args.dir)
    _echo(f"sweep: {st.name}" + (f" ({st.description})" if st.description else ""))
    _echo(
        f"chunks: {st.finished_chunks}/{st.total_chunks} finished "
        f"({st.finished_models}/{st.total_models} models)"
    )
    if st.damaged_chunks:
        _echo(
            f"damaged: {st.damaged_chunks} chunk files failed their checks (corrupted, or "
            "written for another spec or toymodels version; recomputed on resume)"
        )
    if st.consolidated:
        _echo(f"consolidated: yes ({st.path / 'results.nc'})")
    elif st.damaged_results:
        _echo(
            f"consolidated: damaged ({st.damaged_results}), rebuilt by: "
            f"toymodels sweep run {st.path} --out {st.path}"
        )
    else:
        _echo(
            "consolidated: no (results.nc is written when every chunk is finished; "
            f"resume with: toymodels sweep run {st.path} --out {st.path})"
        )
    return 0


def _presets(args: argparse.Namespace) -> int:
    from sweeps._presets import presets

    table = presets()
    width = max(map(len, table), default=0)
    for name, description in table.items():
        _echo(f"{name:<{width}}  {description}")
    return 0
