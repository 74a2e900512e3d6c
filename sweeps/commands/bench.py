"""``toymodels bench``: instance-steps per second of the training engine, and peak memory."""

from __future__ import annotations

import argparse
import json
import os

from ._args import density, positive_int


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
    p.add_argument("--models", type=positive_int, default=4000, help="models (default 4000)")
    p.add_argument("--batch", type=positive_int, default=1024, help="batch size (default 1024)")
    p.add_argument(
        "--steps", type=positive_int, default=300, help="steps per run, at least 200 (default 300)"
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="threads (default: all cores)",
    )
    p.add_argument(
        "--estimator",
        default="sampled",
        help="sampled (paper-faithful, default), patterns or exact",
    )
    p.add_argument("--density", type=density, default=0.1, help="feature density (default 0.1)")
    p.add_argument("--repeats", type=positive_int, default=3, help="runs (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from toymodels import ModelConfig, TrainConfig, build_model
    from toymodels.bench import engine
    from toymodels.errors import ConfigError
    from toymodels.seeds import model_seed

    if args.steps < 200:
        raise ConfigError(f"--steps {args.steps}: at least 200 steps are needed to time")
    # Validate the structure and estimator before timing anything.
    config = ModelConfig.superposition("relu", args.features, args.hidden, args.density)
    build_model(
        [config],
        [model_seed(0, 0, 0)],
        TrainConfig(estimator=args.estimator, batch_size=args.batch),
    )
    t = engine(
        args.features, args.hidden, args.models, args.batch, args.steps, args.threads,
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
