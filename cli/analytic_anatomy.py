"""The anatomy of the superposition loss on the command line.

- ``toymodels analytic loss ... --by-sparsity``: the loss's terms ``L_k`` by number of
  active features (:func:`add_by_sparsity`, :func:`by_sparsity`, called from
  ``analytic loss``);
- ``toymodels analytic anatomy``: the 1-sparse loss at ``x_i = 1`` split into feature
  benefit and interference, per feature and in total (:func:`register`).

The model options (``--W``, ``--b``, ``--importance``, ``--family``, ``--at``) are those of
``analytic loss`` (:func:`add_model_options`), read by the same parser
(``analytics.inputs`` through ``LossQuery.build``).
"""

from __future__ import annotations

from .analytic_output import add_time_limit

FAMILIES = ("relu", "linear")


def add_model_options(p, W_required: bool = True) -> None:
    """``--W``, ``--b``, ``--importance``, ``--family`` and ``--at``, as ``analytic loss``
    and ``analytic anatomy`` take them."""
    p.add_argument("--W", dest="W", required=W_required, help='rows of W, e.g. "[[1,-1]]"')
    p.add_argument("--b", dest="b", default=None, help='bias, e.g. "[0, p/2]" (default 0)')
    p.add_argument(
        "--importance", default=None, help='per-feature importances, e.g. "1,r" (default 1)'
    )
    p.add_argument("--family", default="relu", help="relu (default) or linear")
    p.add_argument(
        "--at",
        default=None,
        metavar="p=P,r=R",
        help="also evaluate at a point, e.g. p=0.1,r=2 (default: the expressions alone)",
    )


def add_by_sparsity(p) -> None:
    p.add_argument(
        "--by-sparsity",
        action="store_true",
        help="also each L_k: the loss summed over the patterns with k active features, "
        "unweighted (L = sum_k p^k (1-p)^(n-k) L_k)",
    )


def register(inner) -> None:
    p = inner.add_parser(
        "anatomy",
        help="feature benefit and interference of any W, b (1-sparse inputs)",
        description="Split the loss on 1-sparse inputs x_i = 1 into feature benefit "
        "sum_i I_i (1 - act(|W_i|^2 + b_i))^2 and interference sum_{i!=j} I_j "
        "act(W_j.W_i + b_j)^2 (act = ReLU, or the identity for the linear family), per "
        "feature and in total. Interference is charged to the feature j whose output it "
        "disturbs. The 1-sparse loss L_1 integrates x_i over [0, 1] instead; with b = 0, "
        "L_1 = (benefit + interference) / 3.",
    )
    add_model_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_time_limit(p)
    p.set_defaults(handler=run_anatomy)


# -- analytic loss --by-sparsity ----------------------------------------------------------
def by_sparsity(W, args, at) -> tuple[list[dict], object]:
    """``[{"k", "loss", "value"}, ...]`` for ``analytic loss --by-sparsity`` (``value``
    only with ``--at``) and the derivation (for its timing and cache)."""
    from analytics.expressions import latex, value_at
    from analytics.loss_anatomy import loss_by_sparsity

    found = loss_by_sparsity(W, args.b, args.importance, args.family)
    rows = []
    for k, term in enumerate(found.terms):
        row = {"k": k, "loss": str(term)}
        if args.json or args.latex:
            row["latex"] = latex(term)
        if at is not None:
            row["value"] = value_at(term, at)
        rows.append(row)
    return rows, found


def print_by_sparsity(rows: list[dict], at_text: str | None, latex: bool = False) -> None:
    for row in rows:
        if latex:
            print(f"L_{{{row['k']}}} = {row['latex']}")
            continue
        value = f"   (at {at_text}: {row['value']:.12g})" if "value" in row else ""
        print(f"L_{row['k']} = {row['loss']}{value}")


# -- analytic anatomy ---------------------------------------------------------------------
def run_anatomy(args) -> int:
    from analytics import inputs
    from analytics.expressions import entry, free_names, value_at
    from analytics.loss_anatomy import one_sparse_anatomy
    from toymodels.errors import ConfigError

    from .analytic_output import budget, print_json, print_table

    at = inputs.point(args.at) if args.at is not None else None
    with budget(args, "splitting the 1-sparse loss"):
        found = one_sparse_anatomy(inputs.matrix(args.W), args.b, args.importance, args.family)
    exprs = {
        "benefit": list(found.benefit),
        "interference": list(found.interference),
        "benefit_total": found.benefit_total,
        "interference_total": found.interference_total,
    }
    needed = set().union(*(free_names(e) for e in exprs["benefit"] + exprs["interference"]))
    missing = sorted(needed - set(at or {}))
    if missing and at is not None:
        raise ConfigError(f"--at {args.at!r} needs a value for {', '.join(missing)}")

    def shown(e):
        # a number when it is one exactly (1/3 stays exact text), else the expression
        return entry(e) if not e.free_symbols else str(e)

    obj = {
        key: [shown(e) for e in v] if isinstance(v, list) else shown(v) for key, v in exprs.items()
    }
    if at is not None:
        obj["at"] = at
    if at is not None or not needed:
        # floats always when they exist, so a reader never has to parse "1/3"
        obj["values"] = {
            key: [value_at(e, at or {}) for e in v]
            if isinstance(v, list)
            else value_at(v, at or {})
            for key, v in exprs.items()
        }
    if args.json:
        print_json(
            {
                "family": args.family,
                "convention": "1-sparse input x_i = 1: benefit[i] = I_i (1 - act(|W_i|^2 + "
                "b_i))^2; interference[j] = sum over i != j of I_j act(W_j.W_i + b_j)^2, "
                "charged to the feature j whose output it disturbs",
                **obj,
            }
        )
        return 0
    values = obj.get("values")
    rows = [("feature", "benefit", "interference")]
    for i in range(len(exprs["benefit"])):
        cells = [
            str(obj[key][i]) if values is None else f"{values[key][i]:.6g}"
            for key in ("benefit", "interference")
        ]
        rows.append((str(i), *cells))
    rows.append(
        (
            "total",
            *(
                str(obj[key]) if values is None else f"{values[key]:.6g}"
                for key in ("benefit_total", "interference_total")
            ),
        )
    )
    print_table(rows)
    where = f" at {args.at}" if at is not None else ""
    print(f"(1-sparse inputs x_i = 1{where}; interference charged to the disturbed feature)")
    return 0
