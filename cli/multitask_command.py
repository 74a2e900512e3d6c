"""``toymodels multitask train``: a network on the contextual task, beside the closed form.

Trains ``--seeds`` models of ``--model`` (batched, full-batch gradient descent on ½·Σ
squared error) with their trajectories recorded, and writes the run (``DIR/run``,
resumable), the figures and ``DIR/summary.json``: the final loss, the census of strong
units (contextual networks), the ReLN of a ReLU network (its gating patterns as the
pathways of a GDLN, trained: ``DIR/reln.nc``; ``reln`` in the summary), each
pathway's top singular value (GDLN), the trained mode strengths in the order of the
closed form's modes, and the closed form itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from toymodels.limits import GATINGS

from . import multitask_depth
from .arguments import (
    OnlyWith,
    add_contextual_options,
    add_learning_rate,
    add_root_seed,
    add_sweep_options,
    headline,
    positive_float,
    positive_int,
)

MODELS = ("contextual_relu", "contextual_linear", "gdln")
RELU = "contextual_relu"  # its run also trains its ReLN (summaries.reln), in DIR/reln
RELN_LABEL = "ReLN (trained)"
DEFAULTS = {"seeds": 5, "epochs": 8001, "lr": 1e-3, "record_every": 100}


def register(sub) -> None:
    parser = sub.add_parser(
        "multitask",
        help="multi-task mixed selectivity: networks on the contextual task vs closed form",
        description=headline(__doc__),
    )
    inner = parser.add_subparsers(dest="multitask_command", required=True)
    p = inner.add_parser(
        "train",
        help="train seeds of a network on the contextual task; figures and summary.json",
        description=headline(__doc__),
    )
    p.add_argument(
        "--model", choices=MODELS, default="contextual_relu", help="default contextual_relu"
    )
    add_contextual_options(p)
    p.add_argument(
        "--hidden",
        type=positive_int,
        default=None,
        help="hidden units (default 700; per pathway for gdln: 100)",
    )
    p.add_argument("--seeds", type=positive_int, default=DEFAULTS["seeds"], help="default 5")
    p.add_argument("--epochs", type=positive_int, default=DEFAULTS["epochs"], help="default 8001")
    add_learning_rate(p, DEFAULTS["lr"])
    p.add_argument(
        "--init",
        type=positive_float,
        default=None,
        help="std of the initial weights (default 0.005/700)",
    )
    p.add_argument(
        "--record-every",
        type=positive_int,
        default=DEFAULTS["record_every"],
        help="epochs between recorded states (default 100)",
    )
    p.add_argument(
        "--gating",
        choices=GATINGS,
        default=None,
        help="--model gdln: the context sets its gated pathways serve (default subsets; "
        "masks: those of --masks)",
    )
    p.add_argument(
        "--masks",
        type=context_masks,
        default=None,
        help="--model gdln: the contexts (from 1) of each gated pathway, JSON, e.g. "
        "'[[1,2],[2,3]]' (sets --gating masks; default: none)",
    )
    add_root_seed(p)
    add_sweep_options(p)
    p.add_argument(
        "--out", type=Path, default=Path("multitask"), help="output folder (default multitask)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run, only_with=ONLY_WITH)
    _register_reln(inner)
    from .multitask_contexts import register as register_contexts

    register_contexts(inner)
    multitask_depth.register(inner)


# The gating says which contexts each gated pathway serves: only the GDLN has pathways.
ONLY_WITH = (
    OnlyWith(
        "--gating",
        holds=lambda args: args.model == "gdln",
        needs="with --model gdln (the one with gated pathways)",
        chosen=lambda args: f"--model {args.model}",
    ),
    OnlyWith(
        "--masks",
        holds=lambda args: args.model == "gdln",
        needs="with --model gdln (the one with gated pathways)",
        chosen=lambda args: f"--model {args.model}",
    ),
)


def _register_reln(inner) -> None:
    r = inner.add_parser(
        "reln",
        help="train the ReLN of a stored contextual_relu run; loss figure and summary.json",
        description="The ReLN of a stored contextual_relu run (multitask train's DIR or "
        "DIR/run): its gating patterns as the pathways of a GDLN, one per seed, trained with "
        "the run's settings; writes OUT/reln.nc, OUT/loss.png and OUT/summary.json "
        '({"reln": ...} as multitask train writes it).',
    )
    r.add_argument("--run", type=Path, required=True, help="a multitask train folder or its run")
    r.add_argument("--out", type=Path, default=Path("reln"), help="output folder (default reln)")
    r.set_defaults(handler=run_reln)


def run_reln(args: argparse.Namespace) -> int:
    """``multitask reln``: the run is read and checked before anything is written."""
    import sweeps
    from figures.multitask_panels import loss_curves
    from summaries.multitask_summary import prediction_for
    from summaries.reln import (
        RELN_FILE,
        check_relu_run,
        stored_or_trained,
        summarise_reln,
    )
    from sweeps._execution import available_cores
    from toymodels.errors import ConfigError
    from toymodels.files import check_writable

    from .reports import save_figures, shown, write_json

    folder = args.run / "run" if (args.run / "run" / "spec.json").is_file() else args.run
    if not (folder / "spec.json").is_file():
        raise ConfigError(f"--run {args.run} holds no run (no spec.json there or in its run)")
    check_writable(args.out)
    earlier = (args.out / RELN_FILE).is_file() and not (args.out / "run").exists()
    if args.out.is_dir() and any(args.out.iterdir()) and not earlier:
        raise ConfigError(
            f"--out {args.out} is not empty and holds no earlier output of toymodels "
            "multitask reln; give a new or empty folder"
        )
    results = sweeps.load(folder)
    check_relu_run(results, f"--run {args.run}")
    reln = stored_or_trained(results, args.out, available_cores())
    summary = {"reln": summarise_reln(results, reln)}
    figure = loss_curves(
        {RELU: results, RELN_LABEL: reln},
        prediction_for(results),
        summary["reln"]["closed_form"],
    )
    summary["figures"] = save_figures(args.out, {"loss": figure})
    write_json(args.out / "summary.json", summary)
    r = summary["reln"]
    print(
        f"ReLN of {folder}: pathways per seed {[len(p) for p in r['pathways']]}, gates settle "
        f"at epochs {r['gates_settle_epoch']}, largest relative loss gap after that "
        + ", ".join(shown(v, ".3g") for v in r["trained_loss_gap"])
        + f"; wrote {args.out / 'summary.json'}",
        file=sys.stdout,
    )
    return 0


def context_masks(text: str) -> list:
    """``--masks``: a JSON list of lists (what they may hold is the gdln config's check)."""
    import json

    try:
        value = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not JSON; give a list of lists of contexts, e.g. '[[1,2],[2,3]]'"
        ) from None
    if not isinstance(value, list):
        raise argparse.ArgumentTypeError(f"{text!r} must be a JSON list of lists of contexts")
    return value


def build_spec(args: argparse.Namespace):
    """The sweep spec of this run (validated: bad values fail before anything is written)."""
    import json

    from sweeps.spec import SweepSpec

    model = {"structure": args.structure}
    if args.init is not None:
        model["init_std"] = args.init
    if args.gating is not None:
        model["gating"] = args.gating
    if args.masks is not None:  # only with --model gdln (ONLY_WITH)
        model |= {"gating": model.get("gating", "masks"), "masks": args.masks}
    spec = {
        "name": f"multitask-{args.model}",
        "family": args.model,
        "task": "contextual",
        "n_contexts": args.contexts,
        "seeds": args.seeds,
        "root_seed": args.root_seed,
        "model": model,
        "train": {
            "steps": args.epochs,
            "lr": args.lr,
            "optimizer": "sgd",
            "estimator": "full",
            "record_every": args.record_every,
        },
    }
    if args.hidden is not None:
        spec["n_hidden"] = args.hidden
    built = SweepSpec.from_dict(spec)
    # The stored description says what is trained, defaults filled in.
    data = built.to_dict()
    gdln = args.model == "gdln"
    width = f"{data['n_hidden']} hidden units{' per pathway' if gdln else ''}"
    gating = f", gating {data['model']['gating']}" if gdln else ""
    if gdln and data["model"].get("masks"):
        gating += " " + json.dumps(data["model"]["masks"])
    description = (
        f"multitask train: {args.model} on {args.contexts} contexts ({args.structure} "
        f"structures), {width}, initial weights std {data['model']['init_std']:.3g}{gating}, "
        f"{args.seeds} seeds, {args.epochs} epochs of full-batch gradient descent at "
        f"lr {args.lr:g}"
    )
    return built.with_overrides({"description": description})


def check_theory(spec) -> None:
    """Refuse a run the closed form cannot describe (e.g. an initial strength above the
    modes' asymptotes) before it is trained: the report derives the closed form after."""
    from analytics.mode_dynamics import predict

    config = spec.model_config(spec.cell_point(0))
    predict(config.data, spec.train.lr, config.arch.init_std, config.arch.n_hidden)


def checked_spec(args: argparse.Namespace):
    """:func:`build_spec`, refused when the closed form cannot describe it."""
    spec = build_spec(args)
    check_theory(spec)
    return spec


def run(args: argparse.Namespace) -> int:
    from figures.multitask_panels import (
        census_bars,
        loss_curves,
        mds_snapshots,
        mode_trajectories,
        pathway_strengths,
    )
    from summaries.multitask_summary import prediction_for, summarise

    from .arguments import job_cores, train_into_out
    from .reports import save_figures, shown, write_json

    spec, results = train_into_out(args, "multitask train", checked_spec)
    prediction = prediction_for(results)
    runs = {spec.family: results}
    reln = None
    if spec.family == RELU:
        from summaries.reln import stored_or_trained

        reln = stored_or_trained(results, args.out, job_cores(args))
        runs[RELN_LABEL] = reln
    summary = summarise(results, prediction, reln)
    figures = {
        "loss": loss_curves(runs, prediction, (summary.get("reln") or {}).get("closed_form")),
        "modes": mode_trajectories(results, prediction),
    }
    if spec.family == "gdln":
        figures["pathways"] = pathway_strengths(results)
    else:
        figures["census"] = census_bars(results)
        figures["mds"] = mds_snapshots(results)
    summary["figures"] = save_figures(args.out, figures)
    write_json(args.out / "summary.json", summary)
    lines = [
        f"{spec.family} on {summary['settings']['contexts']} contexts "
        f"({summary['settings']['structure']}): final loss "
        + ", ".join(_per_seed(v, ".4g") for v in summary["final_loss"])
    ]
    if "census" in summary:
        c = summary["census"]
        lines.append(
            "strong units per seed: "
            + ", ".join(
                f"{kind} [{', '.join(_per_seed(v, 'd') for v in c[key])}]"
                for kind, key in (
                    ("all-context", "all"),
                    ("subset", "subset"),
                    ("single-context", "single"),
                )
            )
        )
    if "module_singular_values" in summary:
        means = {k: _mean(v) for k, v in summary["module_singular_values"].items()}
        lines.append(
            "top singular value per pathway (mean over seeds): "
            + (
                ", ".join(f"{k} {v:.3g}" for k, v in means.items())
                if any(v is not None for v in means.values())
                else "none (every seed diverged)"
            )
        )
    if "reln" in summary:
        r = summary["reln"]
        lines.append(
            "ReLN (the ReLU network's gating patterns as GDLN pathways, trained): pathways "
            f"per seed {[len(p) for p in r['pathways']]}, gates settle at epochs "
            f"{r['gates_settle_epoch']}, largest relative loss gap after that "
            + ", ".join(shown(v, ".3g") for v in r["trained_loss_gap"])
        )
    theory = summary["theory"]
    lines.append(
        "final mode strengths vs closed-form asymptotes: largest relative difference "
        f"{shown(theory['max_relative_difference'], '.3g', 'every seed diverged')}"
    )
    lines.append(f"wrote {', '.join(summary['figures'])}, {args.out / 'summary.json'}")
    print("\n".join(lines), file=sys.stdout)
    return 0


def _per_seed(value, spec: str) -> str:
    """One seed's number in the summary's printout; a diverged seed's (null) says so."""
    return "diverged" if value is None else format(value, spec)


def _mean(values: list) -> float | None:
    """Mean over the seeds that did not diverge (stored as null)."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
