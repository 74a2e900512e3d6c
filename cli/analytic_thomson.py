"""``toymodels analytic thomson``, the Thomson problem of superposition: the minimum, over
many random starts, of the fixed-norm Thomson energy
``Σ_{i≠j} ReLU(cos θ_ij)²`` of N unit vectors in M dimensions (``--norms fixed``), or of
the 1-sparse loss with free norms ``Σ_i (1 − ReLU(‖W_i‖² + b_i))² + Σ_{i≠j}
ReLU(W_j·W_i + b_j)²`` (``--norms free``, b = 0, or free biases with ``--bias``); which
features are kept (norm above 0.5) and each kept feature's angle to its nearest kept
neighbour.  The minimiser is ``analytics.thomson``.
"""

from __future__ import annotations

from toymodels.limits import (
    THOMSON_DEFAULT_STARTS,
    THOMSON_DIMS,
    THOMSON_FEATURES,
    THOMSON_STARTS,
)

from .analytic_output import add_time_limit, budget, print_json, print_table
from .arguments import declared, headline, nonnegative_int

NORM_CHOICES = ("fixed", "free")  # analytics.thomson.NORMS, without importing torch here


def register(inner) -> None:
    """Add ``thomson`` to the ``toymodels analytic`` subcommands ``inner``."""
    p = inner.add_parser(
        "thomson",
        help="minimum of the Thomson energy or the 1-sparse loss: polygons and polytopes",
        description=headline(__doc__),
    )
    p.add_argument(
        "--features",
        type=declared(THOMSON_FEATURES, "features"),
        required=True,
        metavar="N",
        help=f"features N ({THOMSON_FEATURES.allowed})",
    )
    p.add_argument(
        "--dims",
        type=declared(THOMSON_DIMS, "dims"),
        required=True,
        metavar="M",
        help=f"dimensions M ({THOMSON_DIMS.allowed})",
    )
    p.add_argument(
        "--norms",
        choices=NORM_CHOICES,
        default="free",
        help="fixed: unit vectors, the Thomson energy; free: the 1-sparse loss (default)",
    )
    p.add_argument(
        "--bias", action="store_true", help="free biases in the 1-sparse loss (free norms)"
    )
    p.add_argument(
        "--starts",
        type=declared(THOMSON_STARTS, "starts"),
        default=THOMSON_DEFAULT_STARTS,
        metavar="S",
        help=f"random starts (default {THOMSON_DEFAULT_STARTS}; {THOMSON_STARTS.allowed})",
    )
    p.add_argument(
        "--seed",
        type=lambda text: nonnegative_int(text, label="seed "),
        default=0,
        help="seed of the random starts (default 0)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_time_limit(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    import numpy as np

    from analytics.thomson import KEPT_NORM, minimise, nearest_each
    from toymodels.errors import ConfigError

    if args.bias and args.norms == "fixed":
        raise ConfigError("--bias needs --norms free: the fixed-norm energy has no bias")
    what = f"minimising over {args.starts} starts ({args.features} features, {args.dims} dims)"
    with budget(args, what):
        found = minimise(args.features, args.dims, args.norms, args.bias, args.starts, args.seed)
    norms, kept, angles = found.feature_norms, found.kept, found.nearest_angles
    out = {
        "features": args.features,
        "dims": args.dims,
        "norms_mode": args.norms,
        "bias": args.bias,
        "energy": found.energy,
        "W": found.W.tolist(),
        "b": found.b.tolist(),
        "norms": norms.tolist(),
        "kept": int(kept.sum()),
        "nearest_angles": angles.tolist(),
        "starts": args.starts,
        "seed": args.seed,
        "hits": found.hits,
        "convention": _convention(args, found.norms),
    }
    if args.json:
        print_json(out)
        return 0
    what = "Thomson energy" if args.norms == "fixed" else "1-sparse loss"
    print(
        f"{args.features} features in {args.dims} dimensions, {_setting(args)}: "
        f"{what} {found.energy:.6f} (best of {args.starts} starts, {found.hits} reached it)"
    )
    print(f"kept {out['kept']} of {args.features} (norm > {KEPT_NORM:g})")
    nearest = nearest_each(found.W, kept)
    rows = [("feature", "norm", "W_i", "nearest kept (deg)")]
    for i in range(args.features):
        column = "[" + ", ".join(f"{v:+.4f}" for v in found.W[:, i]) + "]"
        angle = "-" if np.isnan(nearest[i]) else f"{nearest[i]:.2f}"
        rows.append((str(i), f"{norms[i]:.4f}", column, angle))
    print_table(rows)
    return 0


def _setting(args) -> str:
    if args.norms == "fixed":
        return "unit norms"
    return "free norms, free biases" if args.bias else "free norms, b = 0"


def _convention(args, norms: str) -> str:
    if norms == "fixed":
        return "energy = sum over ordered pairs i != j of ReLU(cos theta_ij)^2; W: unit columns"
    text = (
        "energy = sum_i (1 - ReLU(|W_i|^2 + b_i))^2 + sum over ordered pairs i != j of "
        "ReLU(W_j . W_i + b_j)^2 (uniform importance, x_i = 1)"
    )
    if not args.bias:
        text += "; b = 0, and features on one direction merged into one (same loss)"
    return text + "; kept: norm > 0.5; nearest_angles: degrees, sorted"
