"""``toymodels bench``: instance-steps per second of the training engine, and peak memory."""

from __future__ import annotations

import argparse
import json

from toymodels.fields import DENSITY

from .arguments import at_most, between, declared, positive_int

# Bounds that keep one benchmark run within minutes: past them the timing says nothing
# a smaller run does not, and the run could take hours.
MAX_MODELS = 1_000_000
MAX_STEPS = 100_000
# Below this many steps a run is mostly start-up, and its rate says nothing of the engine.
MIN_STEPS = 200
MAX_REPEATS = 20
# Per model and example, the batch's input, hidden and output values and their gradients
# (float32); per parameter, the value, its gradient and Adam's two moments.
BATCH_COPIES = 4
PARAM_COPIES = 4


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="time the training engine (models x steps per second, peak memory)",
        description=(
            "Time toymodels' training engine on identical relu models (relative importance "
            "spread over [0.1, 10]).  The default estimator is the paper-faithful one: fresh "
            "samples every step, Adam.  Reports the steady state (median of --repeats runs)."
        ),
    )
    p.add_argument("--features", type=positive_int, default=2, help="n (default 2)")
    p.add_argument("--hidden", type=positive_int, default=1, help="m (default 1)")
    models = at_most(MAX_MODELS, "models ")
    p.add_argument(
        "--models", type=models, default=4000, help=f"models, {models.allowed} (default 4000)"
    )
    p.add_argument("--batch", type=positive_int, default=1024, help="batch size (default 1024)")
    steps = between(MIN_STEPS, MAX_STEPS, "steps ")
    p.add_argument(
        "--steps",
        type=steps,
        default=300,
        help=f"steps per run, {steps.allowed} (default 300)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="threads (default: the cores available; more are capped)",
    )
    p.add_argument(
        "--estimator",
        default="sampled",
        help="sampled (paper-faithful, default), patterns or exact",
    )
    p.add_argument(
        "--density",
        type=declared(DENSITY, "density"),
        default=0.1,
        help=f"feature density, {DENSITY.allowed} (default 0.1)",
    )
    repeats = at_most(MAX_REPEATS, "repeats ")
    p.add_argument(
        "--repeats", type=repeats, default=3, help=f"runs, {repeats.allowed} (default 3)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from benchmarks.compare_straightforward import engine
    from toymodels import ModelConfig, TrainConfig, build_model
    from toymodels.seeds import model_seed

    threads = _threads(args.threads)
    _check_memory(args)
    # Validate the structure and estimator before timing anything.
    config = ModelConfig.superposition("relu", args.features, args.hidden, args.density)
    build_model(
        [config],
        [model_seed(0, 0, 0)],
        TrainConfig(estimator=args.estimator, batch_size=args.batch),
    )
    t = engine(
        args.features, args.hidden, args.models, args.batch, args.steps, threads,
        args.estimator, args.repeats, args.density,
    )  # fmt: skip
    if args.json:
        print(json.dumps(t.as_dict()))
    else:
        print(
            f"n={t.features} m={t.hidden} models={t.models} batch={t.batch} "
            f"estimator={t.estimator} threads={t.threads}: "
            f"instance_steps_per_s {t.instance_steps_per_s:.0f} "
            f"({1e3 * t.seconds_per_step:.1f} ms per step), "
            f"peak memory {t.peak_rss_mib:.0f} MiB (resident before: {t.rss_before_mib:.0f} MiB)"
        )
    return 0


def _threads(asked: int | None) -> int:
    import warnings

    from sweeps._execution import available_cores
    from toymodels.errors import Notice

    cores = available_cores()
    if asked is not None and asked > cores:
        warnings.warn(
            f"--threads {asked} is more than the {cores} cores; using {cores}", Notice, stacklevel=2
        )
    return cores if asked is None else min(asked, cores)


def _check_memory(args) -> None:
    """Refuse a benchmark whose tensors cannot fit in memory, before building anything."""
    from sweeps._size_guard import MEMORY_SHARE, available_memory, bytes_text
    from toymodels.errors import ConfigError

    n, m = args.features, args.hidden
    need = 4 * args.models * (BATCH_COPIES * args.batch * (2 * n + m) + PARAM_COPIES * n * (m + 1))
    available = available_memory()
    if available is not None and need > MEMORY_SHARE * available:
        raise ConfigError(
            f"--models {args.models} x --batch {args.batch} x --features {n} needs about "
            f"{bytes_text(need)} of memory, more than the {bytes_text(available)} available"
        )
