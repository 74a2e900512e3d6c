"""``toymodels analytic``: closed-form losses, candidate boundaries and the true optimum.

- ``losses``: every candidate solution's exact loss (``--json`` / ``--latex`` / a table);
- ``boundaries``: densities where the winning candidate changes, with the slope jump;
- ``loss``: the exact loss of any W, b and importances (n <= 4), optionally evaluated;
- ``optimum``: the density where the true optimum's extra feature changes phase;
- ``modes``: the closed-form learning dynamics of the contextual task's modes;
- ``critical-temperature``: deterministic annealing's τ_c = 2 λ_max(Σ_x) for a mixture.
sympy and torch work happens inside the handlers, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json

from ._args import contexts, nonnegative_int, positive_float, positive_int

FEATURE_CHOICES = (2, 3)


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

    p = inner.add_parser("losses", help="exact loss of every candidate solution")
    p.add_argument("--features", type=_features, required=True, help="2 (m=1) or 3 (m=2)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--latex", action="store_true", help="LaTeX (align* environment)")
    p.set_defaults(handler=run_losses)

    p = inner.add_parser("boundaries", help="densities where the winning candidate changes")
    _candidate_grid_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run_boundaries)

    p = inner.add_parser("loss", help="exact loss of any W, b and importances (n <= 4)")
    p.add_argument("--features", type=int, required=True, metavar="N", help="columns of W")
    p.add_argument("--W", dest="W", required=True, help='rows of W, e.g. "[[1,-1]]"')
    p.add_argument("--b", dest="b", default=None, help='bias, e.g. "[0, p/2]" (default 0)')
    p.add_argument(
        "--importance", default=None, help='per-feature importances, e.g. "1,r" (default 1)'
    )
    p.add_argument("--family", default="relu", help="relu (default) or linear")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--latex", action="store_true", help="LaTeX of the loss")
    p.add_argument("--at", default=None, metavar="p=P,r=R", help="also evaluate, e.g. p=0.1,r=2")
    p.set_defaults(handler=run_loss)

    p = inner.add_parser("optimum", help="density where the exact optimum's extra feature switches")
    _candidate_grid_args(p)
    p.add_argument(
        "--starts",
        type=nonnegative_int,
        default=None,
        help="random starts per density on top of the candidates (default 8)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run_optimum)

    p = inner.add_parser(
        "modes", help="closed-form mode dynamics of a linear network on the contextual task"
    )
    p.add_argument("--contexts", type=contexts, default=3, help="contexts K, 3 to 5 (default 3)")
    p.add_argument(
        "--structure", choices=("same", "different"), default="different", help="default different"
    )
    p.add_argument(
        "--inputs", choices=("one_hot", "whitened"), default="one_hot", help="default one_hot"
    )
    p.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument(
        "--init",
        type=positive_float,
        default=None,
        help="std of the initial weights (default 0.005/700); a0 = init^2 * hidden / 2",
    )
    p.add_argument("--hidden", type=positive_int, default=700, help="hidden units (default 700)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run_modes)

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
    p.set_defaults(handler=run_critical_temperature)


# -- helpers ------------------------------------------------------------------------------
def _entry(value):
    from analytics.expressions import entry

    return entry(value)


def _matrix(W) -> list[list]:
    return [[_entry(v) for v in row] for row in W.tolist()]


def _latex_name(name: str) -> str:
    return name.replace("⊥", r"\perp ")


def _json_option(text: str, option: str, example: str):
    from toymodels.errors import ConfigError

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{option} {text!r} is not valid JSON ({exc.msg}); expected e.g. {example}"
        ) from None


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


# -- handlers -----------------------------------------------------------------------------
def run_losses(args) -> int:
    from analytics.candidate_solutions import candidates
    from analytics.expressions import latex

    cands = candidates(args.features)
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
                        "latex": latex(c.loss),
                        "phase": c.phase,
                    }
                    for c in cands
                ],
            }
        )
    elif args.latex:
        lines = [
            rf"L_{{{_latex_name(c.name)}}} &= {latex(c.loss)} "
            rf"&& \text{{{c.phase.replace('_', ' ')}}}"
            for c in cands
        ]
        print("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}")
    else:
        rows = [("candidate", "W", "b", "extra feature", "loss")]
        rows += [(c.name, str(_matrix(c.W)), str(list(c.b)), c.phase, str(c.loss)) for c in cands]
        _print_table(rows)
    return 0


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for j, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))


def run_boundaries(args) -> int:
    from analytics.candidate_theory import transitions

    out = []
    for r in args.importance:
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
                    for t in transitions(args.features, r)
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
    from analytics.loss_derivation import derive_loss
    from toymodels.errors import ConfigError

    W = inputs.matrix(args.W)
    if W.shape[1] != args.features:
        raise ConfigError(f"--features {args.features} but --W has {W.shape[1]} columns")
    at = inputs.point(args.at) if args.at is not None else None
    result = derive_loss(W, args.b, args.importance, args.family)
    expr = result.expr
    value = None
    if at is not None:
        missing = sorted(free_names(expr) - set(at))
        if missing:
            raise ConfigError(f"--at {args.at!r} needs a value for {', '.join(missing)}")
        value = value_at(expr, at)
    if args.json:
        obj = {
            "loss": str(expr),
            "latex": latex(expr),
            "derivation_seconds": result.seconds,
            "derived_in_seconds": result.derived_seconds,
            "cache": result.cache,
            "family": args.family,
            "W": _matrix(W),
        }
        if at is not None:
            obj["at"] = at
            obj["value"] = value
        _print_json(obj)
    elif args.latex:
        print(latex(expr))
    else:
        print(f"loss = {expr}")
        if value is not None:
            print(f"value at {args.at} = {value:.12g}")
        source = {"miss": "derived now", "memory": "memory cache", "disk": "disk cache"}
        print(
            f"{source[result.cache]} in {result.seconds:.3g} s "
            f"(derivation took {result.derived_seconds:.3g} s)"
        )
    return 0


def run_optimum(args) -> int:
    from analytics.candidate_theory import transitions
    from analytics.optimum import DEFAULT_STARTS, phase_switches

    starts = DEFAULT_STARTS if args.starts is None else args.starts
    out = []
    for r in args.importance:
        switches = phase_switches(args.features, r, starts=starts)
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
            {"density": t.density, "from": t.from_, "to": t.to}
            for t in transitions(args.features, r)
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
    from analytics.mode_dynamics import latex, predict
    from toymodels.families.contextual_networks import DEFAULT_INIT_STD
    from toymodels.tasks.contextual import ContextualConfig

    config = ContextualConfig(
        n_contexts=args.contexts, structure=args.structure, inputs=args.inputs
    )
    init = DEFAULT_INIT_STD if args.init is None else args.init
    found = predict(config, args.lr, init, args.hidden)
    modes = [
        {"s": float(s), "d": float(d), "asymptote": float(a), "half_time": float(h)}
        for s, d, a, h in zip(found.s, found.d, found.asymptote, found.half_time, strict=True)
    ]
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
                "latex": latex(),
            }
        )
        return 0
    print(
        f"tau = {found.tau:.4g} epochs, a0 = {found.a0:.4g}; tau da/dt = 2a(s - d a), a(inf) = s/d"
    )
    rows = [("mode", "s", "d", "s/d", "half-time")]
    rows += [
        (str(i), f"{m['s']:.4f}", f"{m['d']:.4f}", f"{m['asymptote']:.4f}", f"{m['half_time']:.1f}")
        for i, m in enumerate(modes)
    ]
    _print_table(rows)
    return 0


def run_critical_temperature(args) -> int:
    from analytics.annealing_theory import critical_temperature

    centers = _json_option(args.centers, "--centers", "[[1,0],[-1,0]]")
    weights = None
    if args.weights is not None:
        weights = _json_option(args.weights, "--weights", "[0.5,0.5]")
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
