"""``toymodels analytic``: closed-form losses, candidate boundaries and the true optimum.

- ``losses``: every candidate solution's exact loss (``--json`` / ``--latex`` / a table);
- ``boundaries``: densities where the winning candidate changes, with the slope jump;
- ``loss``: the exact loss of any W, b and importances (n <= 4), optionally evaluated, and
  with ``--by-sparsity`` its terms by number of active features;
- ``anatomy``: the 1-sparse loss split into feature benefit and interference
  (``cli.analytic_anatomy``);
- ``optimum``: the density where the true optimum's extra feature changes phase;
- ``modes``: the closed-form learning dynamics of the contextual task's modes;
- ``reln``: the closed-form loss of a ReLN on the contextual task (``cli.analytic_reln``);
- ``critical-temperature``: deterministic annealing's τ_c = 2 λ_max(Σ_x) for a mixture;
- ``thomson``: the Thomson problem of superposition (``cli.analytic_thomson``).
sympy and torch work happens inside the handlers, so ``--help`` stays fast.  Each heavy
step (a derivation, one optimum, the mode or annealing solution) runs under
``--time-limit`` (``analytics.time_budget``) and ends in one error line when it runs over.
"""

from __future__ import annotations

import argparse
import json

from toymodels.limits import INPUTS

from . import analytic_anatomy as anatomy
from . import analytic_reln, analytic_thomson
from .analytic_output import add_time_limit
from .analytic_output import budget as _budget
from .analytic_output import print_json as _print_json
from .analytic_output import print_table as _print_table
from .arguments import (
    OnlyWith,
    add_contextual_options,
    add_learning_rate,
    allowing,
    nonnegative_int,
    positive_float,
    positive_int,
)

FEATURE_CHOICES = (2, 3)
# Random starts per density: 8 is the default, 64 was the most any check needed; each
# start is a model of every BFGS batch, so 10^8 would allocate gigabytes up front.
MAX_STARTS = 1000
# Importances per command: each is a full optimum (or transition search) of its own.
MAX_IMPORTANCES = 100


def _importance(text: str) -> float:
    return positive_float(text, label="importance ")


def _features(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"features {text!r} is not an integer") from None
    if value not in FEATURE_CHOICES:
        raise argparse.ArgumentTypeError(
            f"features {value}: candidate solutions exist for 2 (m=1) and 3 (m=2) features"
        )
    return value


def _spread(text: str) -> float:
    return positive_float(text, label="spread ")


@allowing(f"0 to {MAX_STARTS}")
def _starts(text: str) -> int:
    value = nonnegative_int(text, label="starts ")
    if value > MAX_STARTS:
        raise argparse.ArgumentTypeError(f"starts {value} is above the maximum {MAX_STARTS}")
    return value


def _check_importances(values: list[float]) -> None:
    from toymodels.errors import ConfigError

    if len(values) > MAX_IMPORTANCES:
        raise ConfigError(
            f"--importance has {len(values)} values; at most {MAX_IMPORTANCES} per command"
        )


def _candidate_grid_args(p) -> None:
    """``--features`` and ``--importance R [R ...]``, shared by boundaries and optimum."""
    p.add_argument("--features", type=_features, required=True, help="2 (m=1) or 3 (m=2)")
    p.add_argument(
        "--importance",
        type=_importance,
        nargs="+",
        required=True,
        metavar="R",
        help="relative importance(s) r of the extra feature",
    )


def register(sub) -> None:
    parser = sub.add_parser(
        "analytic",
        help="closed-form losses, candidate boundaries and the exact optimum",
        description="Closed-form losses, candidate boundaries and the true optimum.",
    )
    inner = parser.add_subparsers(
        dest="analytic_command", required=True, parser_class=type(parser), metavar="COMMAND"
    )

    p = inner.add_parser(
        "losses",
        help="exact loss of every candidate solution",
        description="Print the exact expected loss of every candidate solution for 2 or 3 "
        "features, derived in closed form in the density p and the importance r.",
    )
    p.add_argument("--features", type=_features, required=True, help="2 (m=1) or 3 (m=2)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--latex", action="store_true", help="LaTeX (align* environment)")
    add_time_limit(p)
    p.set_defaults(handler=run_losses)

    p = inner.add_parser(
        "boundaries",
        help="densities where the winning candidate changes",
        description="List the densities where the lowest-loss candidate solution changes, "
        "with the jump of the optimal loss's slope there, at each given importance.",
    )
    _candidate_grid_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_time_limit(p)
    p.set_defaults(handler=run_boundaries)

    p = inner.add_parser(
        "loss",
        help="exact loss of any W, b and importances (n <= 4)",
        description="Derive the exact expected loss of any model with up to 4 features from "
        "its W, bias b (numbers or expressions in p) and importances (numbers or "
        "expressions in r), optionally evaluated at a point.",
    )
    p.add_argument("--features", type=int, required=True, metavar="N", help="columns of W")
    anatomy.add_model_options(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--latex", action="store_true", help="LaTeX of the loss")
    anatomy.add_by_sparsity(p)
    add_time_limit(p)
    p.set_defaults(handler=run_loss, only_with=LOSS_ONLY_WITH)

    anatomy.register(inner)

    p = inner.add_parser(
        "optimum",
        help="density where the exact optimum's extra feature switches",
        description="Minimise the exact loss over free W and b at each importance and "
        "report the density where the optimal extra feature changes phase.",
    )
    _candidate_grid_args(p)
    p.add_argument(
        "--starts",
        type=_starts,
        default=None,
        help=f"random starts per density on top of the candidates, {_starts.allowed} (default 8)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_time_limit(p)
    p.set_defaults(handler=run_optimum)

    p = inner.add_parser(
        "modes",
        help="closed-form mode dynamics of a linear network on the contextual task",
        description="Solve the learning dynamics of each mode of a two-layer linear network "
        "on the contextual task in closed form and print their strengths and half-times.",
    )
    add_contextual_options(p)
    p.add_argument("--inputs", choices=INPUTS, default="one_hot", help="default one_hot")
    add_learning_rate(p, 1e-3)
    p.add_argument(
        "--init",
        type=positive_float,
        default=None,
        help="std of the initial weights (default 0.005/700); a0 = init^2 * hidden / 2",
    )
    p.add_argument("--hidden", type=positive_int, default=700, help="hidden units (default 700)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_time_limit(p)
    p.set_defaults(handler=run_modes)

    analytic_reln.register(inner)

    p = inner.add_parser(
        "critical-temperature",
        help="deterministic annealing: temperature where redundant prototypes split",
        description="The critical temperature tau_c = 2 lambda_max(Sigma_x) below which "
        "soft k-means prototypes, r_k ~ exp(-|x - w_k|^2 / tau), leave the data mean, for "
        "data from a Gaussian mixture with the given centres, one isotropic standard "
        "deviation and weights. Exact (sympy) for dimension <= 3, numeric above.",
    )
    p.add_argument(
        "--centers", required=True, metavar="JSON", help='centres as rows, e.g. "[[1,0],[-1,0]]"'
    )
    p.add_argument(
        "--spread",
        type=_spread,
        required=True,
        metavar="S",
        help="standard deviation of every component (> 0)",
    )
    p.add_argument(
        "--weights",
        default=None,
        metavar="JSON",
        help='component weights, e.g. "[0.5,0.5]" (default equal; normalised)',
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_time_limit(p)
    p.set_defaults(handler=run_critical_temperature)

    analytic_thomson.register(inner)


# --latex prints the loss's LaTeX alone: a value at a point would be computed and dropped.
LOSS_ONLY_WITH = (
    OnlyWith(
        "--at",
        holds=lambda args: not args.latex,
        needs="with the table or --json",
        chosen=lambda args: "--latex, which prints the loss alone",
    ),
)


# -- helpers ------------------------------------------------------------------------------
def _entry(value):
    from analytics.expressions import entry

    return entry(value)


def _matrix(W) -> list[list]:
    return [[_entry(v) for v in row] for row in W.tolist()]


def _latex_name(name: str) -> str:
    return name.replace("⊥", r"\perp ")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57]) + "..."


def _json_option(text: str, option: str, example: str):
    from toymodels.errors import ConfigError

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{option} {_shown(text)} is not valid JSON ({exc.msg}); expected e.g. {example}"
        ) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ConfigError(f"{option} {_shown(text)}: {exc}; expected e.g. {example}") from None
    except RecursionError:
        raise ConfigError(
            f"{option} {_shown(text)} is nested too deeply; expected e.g. {example}"
        ) from None


# -- handlers -----------------------------------------------------------------------------
def run_losses(args) -> int:
    from analytics.candidate_solutions import candidates
    from analytics.expressions import latex

    with _budget(args, f"deriving the candidate losses for {args.features} features"):
        cands = candidates(args.features)
        latexes = [latex(c.loss) for c in cands]
    if args.json:
        _print_json(
            {
                "features": args.features,
                "hidden": args.features - 1,
                "importance": "(1, ..., 1, r)",
                "candidates": [
                    {
                        "name": c.name,
                        "W": _matrix(c.W),
                        "b": [_entry(v) for v in c.b],
                        "loss": str(c.loss),
                        "latex": tex,
                        "phase": c.phase,
                    }
                    for c, tex in zip(cands, latexes, strict=True)
                ],
            }
        )
    elif args.latex:
        lines = [
            rf"L_{{{_latex_name(c.name)}}} &= {tex} "
            rf"&& \text{{{c.phase.replace('_', ' ')}}}"
            for c, tex in zip(cands, latexes, strict=True)
        ]
        print("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}")
    else:
        rows = [("candidate", "W", "b", "extra feature", "loss")]
        rows += [(c.name, str(_matrix(c.W)), str(list(c.b)), c.phase, str(c.loss)) for c in cands]
        _print_table(rows)
    return 0


def run_boundaries(args) -> int:
    from analytics.candidate_theory import transitions

    _check_importances(args.importance)
    out = []
    for r in args.importance:
        with _budget(args, f"finding the candidate transitions at importance {r:g}"):
            found = transitions(args.features, r)
        out.append(
            {
                "importance": r,
                "transitions": [
                    {
                        "density": t.density,
                        "density_exact": str(t.density_exact),
                        "from": t.from_,
                        "to": t.to,
                        "slope_jump": t.slope_jump,
                        "slope_jump_exact": str(t.slope_jump_exact),
                        "slope_jump_expr": str(t.slope_jump_expr),
                    }
                    for t in found
                ],
            }
        )
    if args.json:
        _print_json(
            {
                "features": args.features,
                "convention": "from = winner just below the density, to = just above; "
                "slope_jump = d(optimal loss)/dp above minus below",
                "boundaries": out,
            }
        )
        return 0
    for entry in out:
        print(f"r = {entry['importance']:g}")
        if not entry["transitions"]:
            print("  no transition in 0 < p < 1")
        for t in entry["transitions"]:
            print(
                f"  p = {t['density']:.6g} ({t['density_exact']}): {t['from']} below -> "
                f"{t['to']} above; slope jump {t['slope_jump']:.6g} ({t['slope_jump_exact']})"
            )
    return 0


def run_loss(args) -> int:
    from analytics import inputs
    from analytics.expressions import free_names, latex, value_at
    from analytics.loss_derivation import LossQuery, derive_loss
    from toymodels.errors import ConfigError

    W = inputs.matrix(args.W)
    if W.shape[1] != args.features:
        raise ConfigError(f"--features {args.features} but --W has {W.shape[1]} columns")
    at = inputs.point(args.at) if args.at is not None else None
    if at is not None:
        # what the loss will need, known before deriving it (so a bad --at writes nothing)
        query = LossQuery.build(W, args.b, args.importance, args.family)
        needed = set().union(*(free_names(v) for v in query.importance))
        if any(v != 0 for v in query.importance):
            needed.add("p")
        missing = sorted(needed - set(at))
        if missing:
            raise ConfigError(f"--at {args.at!r} needs a value for {', '.join(missing)}")
    with _budget(args, f"deriving the exact loss of W={_shown(args.W)}"):
        result = derive_loss(W, args.b, args.importance, args.family)
    expr = result.expr
    value = None
    if at is not None:
        missing = sorted(free_names(expr) - set(at))
        if missing:
            raise ConfigError(f"--at {args.at!r} needs a value for {', '.join(missing)}")
        with _budget(args, f"evaluating the loss at {args.at}"):
            value = value_at(expr, at)
    with _budget(args, "writing the loss as LaTeX"):
        tex = latex(expr) if args.json or args.latex else None
    if args.by_sparsity:
        with _budget(args, f"deriving the loss by active features of W={_shown(args.W)}"):
            terms, by_k = anatomy.by_sparsity(W, args, at)
    if args.json:
        obj = {
            "loss": str(expr),
            "latex": tex,
            "derivation_seconds": result.seconds,
            "derived_in_seconds": result.derived_seconds,
            "cache": result.cache,
            "family": args.family,
            "W": _matrix(W),
        }
        if at is not None:
            obj["at"] = at
            obj["value"] = value
        if args.by_sparsity:
            obj |= {"by_sparsity": terms, "by_sparsity_seconds": by_k.seconds}
            obj["by_sparsity_cache"] = by_k.cache
        _print_json(obj)
    elif args.latex:
        print(tex)
        if args.by_sparsity:
            anatomy.print_by_sparsity(terms, None, latex=True)
    else:
        print(f"loss = {expr}")
        if value is not None:
            print(f"value at {args.at} = {value:.12g}")
        if args.by_sparsity:
            anatomy.print_by_sparsity(terms, args.at)
        source = {"miss": "derived now", "memory": "memory cache", "disk": "disk cache"}
        print(
            f"{source[result.cache]} in {result.seconds:.3g} s "
            f"(derivation took {result.derived_seconds:.3g} s)"
        )
    return 0


def run_optimum(args) -> int:
    from analytics.candidate_theory import transitions
    from analytics.optimum import DEFAULT_STARTS, phase_switches

    _check_importances(args.importance)
    starts = DEFAULT_STARTS if args.starts is None else args.starts
    out = []
    for r in args.importance:
        with _budget(args, f"optimising the exact loss at importance {r:g}"):
            switches = phase_switches(args.features, r, starts=starts)
            candidate = transitions(args.features, r)
        entry = {"importance": r, "density": None}
        if switches:
            s = switches[-1]
            entry.update(
                density=round(s.density, 3),
                density_bracket=[s.density_below, s.density_above],
                side="above",
                W=s.W_above.tolist(),
                b=s.b_above.tolist(),
                W_below=s.W_below.tolist(),
                b_below=s.b_below.tolist(),
            )
            entry["from"], entry["to"] = s.below, s.above
        entry["switches"] = [
            {"density": round(s.density, 3), "from": s.below, "to": s.above} for s in switches
        ]
        entry["candidate_transitions"] = [
            {"density": t.density, "from": t.from_, "to": t.to} for t in candidate
        ]
        out.append(entry)
    if args.json:
        _print_json(
            {
                "features": args.features,
                "convention": "density: where the optimal extra feature changes phase (3 "
                "decimals); W, b: the optimum just above it (W_below, b_below: just below)",
                "optimum": out,
            }
        )
        return 0
    for entry in out:
        cand = ", ".join(f"{t['density']:.4f}" for t in entry["candidate_transitions"]) or "none"
        if entry["density"] is None:
            print(f"r = {entry['importance']:g}: no phase switch; candidates switch at {cand}")
            continue
        print(
            f"r = {entry['importance']:g}: p_c = {entry['density']:.3f} ({entry['from']} below, "
            f"{entry['to']} above); candidates switch at {cand}"
        )
    return 0


def run_modes(args) -> int:
    from analytics.mode_dynamics import predict, solution_latex
    from toymodels.contextual_data import DEFAULT_INIT_STD, ContextualConfig

    config = ContextualConfig(
        n_contexts=args.contexts, structure=args.structure, inputs=args.inputs
    )
    init = DEFAULT_INIT_STD if args.init is None else args.init
    with _budget(args, "solving the mode dynamics"):
        found = predict(config, args.lr, init, args.hidden)
        modes = [
            {"s": float(s), "d": float(d), "asymptote": float(a), "half_time": float(h)}
            for s, d, a, h in zip(found.s, found.d, found.asymptote, found.half_time, strict=True)
        ]
        tex = solution_latex() if args.json else None
    if args.json:
        _print_json(
            {
                "contexts": args.contexts,
                "structure": args.structure,
                "inputs": args.inputs,
                "lr": args.lr,
                "tau": found.tau,
                "a0": found.a0,
                "convention": "tau da/dt = 2a(s - d a), tau = 1/(P lr) in epochs; a0 = "
                "init^2 * hidden / 2 (the start of a network with that init and width); "
                "half_time: epochs until a reaches half its asymptote s/d",
                "modes": modes,
                "latex": tex,
            }
        )
        return 0
    print(
        f"tau = {found.tau:.4g} epochs, a0 = {found.a0:.4g}; tau da/dt = 2a(s - d a), a(inf) = s/d"
    )
    rows = [("mode", "s", "d", "s/d", "half-time")]
    rows += [
        (str(i), f"{m['s']:.4f}", f"{m['d']:.4f}", f"{m['asymptote']:.4f}", _epochs(m["half_time"]))
        for i, m in enumerate(modes)
    ]
    _print_table(rows)
    return 0


def _epochs(value: float) -> str:
    """A half-time in epochs: one decimal, or 4 significant digits where one decimal would
    print 40 digits or none (learning rates near the ends of their range)."""
    return f"{value:.1f}" if 0.1 <= value < 1e9 else f"{value:.4g}"


def run_critical_temperature(args) -> int:
    from analytics.annealing_theory import critical_temperature

    centers = _json_option(args.centers, "--centers", "[[1,0],[-1,0]]")
    weights = None
    if args.weights is not None:
        weights = _json_option(args.weights, "--weights", "[0.5,0.5]")
    with _budget(args, "computing the critical temperature"):
        found = critical_temperature(centers, args.spread, weights)
    if args.json:
        _print_json(
            {
                "critical_temperature": found.value,
                "latex": found.latex,
                "exact": found.exact,
                "covariance": found.covariance.tolist(),
                "direction": found.direction.tolist(),
                "multiplicity": found.multiplicity,
                "convention": "r_k ~ exp(-|x - w_k|^2 / tau); tau_c = 2 lambda_max(Sigma_x) "
                "(lambda_max with the /(2 tau) convention); direction: unit top eigenvector "
                "of Sigma_x, along which the prototypes first split",
            }
        )
        return 0
    exact = f" (exact: {found.exact})" if found.exact is not None else ""
    direction = ", ".join(f"{v:.4g}" for v in found.direction)
    tied = f", one of {found.multiplicity} tied axes" if found.multiplicity > 1 else ""
    print(f"tau_c = {found.value:.10g}{exact} = 2 lambda_max(Sigma_x)")
    print(f"prototypes first split along [{direction}]{tied}")
    return 0
