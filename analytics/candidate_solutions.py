"""The paper's candidate solutions ("toy model of the toy model") and their exact losses.

Paper, "Superposition as a Phase Change": for n=2 features in m=1 dimension the natural
solutions are ``W = [1, 0]``, ``[0, 1]`` and the antipodal ``[1, -1]``; for n=3 in m=2 they
are named by the direction ``v`` that W ignores (``W ⊥ v``: ``v`` spans W's null space).
Convention of the published closed forms: represented features have unit norm and zero
bias; a dropped feature is answered by a constant bias equal to its mean ``p/2``.
Importances are ``(1, ..., 1, r)``: the last feature is the extra one.  Every loss is
produced by the general engine (:func:`analytics.engine.exact_loss`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy

from toymodels.errors import ConfigError

from .loss_derivation import exact_loss
from .symbols import p, r

HALF_P = p / 2  # the mean of a feature, the best constant answer for a dropped one

# name, W rows, b, phase of the extra (last) feature, ignored direction v (W v = 0)
_SPECS = {
    2: (
        ("[1,0]", [[1, 0]], [0, HALF_P], "not_represented", (0, 1)),
        ("[0,1]", [[0, 1]], [HALF_P, 0], "dedicated", (1, 0)),
        ("[1,-1]", [[1, -1]], [0, 0], "superposition", (1, 1)),
    ),
    3: (
        ("W⊥[0,0,1]", [[1, 0, 0], [0, 1, 0]], [0, 0, HALF_P], "not_represented", (0, 0, 1)),
        ("W⊥[1,0,0]", [[0, 1, 0], [0, 0, 1]], [HALF_P, 0, 0], "dedicated", (1, 0, 0)),
        # feature 1 keeps a dimension, features 2 and 3 (the extra) form an antipodal pair
        ("W⊥[0,1,1]", [[1, 0, 0], [0, 1, -1]], [0, 0, 0], "superposition", (0, 1, 1)),
        # features 1 and 2 form an antipodal pair, the extra keeps a dimension
        ("W⊥[1,1,0]", [[1, -1, 0], [0, 0, 1]], [0, 0, 0], "dedicated", (1, 1, 0)),
    ),
}
N_FEATURES = tuple(_SPECS)


@dataclass(frozen=True)
class Candidate:
    name: str
    W: sympy.ImmutableMatrix  # [hidden, feature]
    b: tuple[sympy.Expr, ...]
    phase: str  # of the extra (last) feature: not_represented | dedicated | superposition
    loss: sympy.Expr  # exact expected loss, in p and r
    ignores: tuple[int, ...]  # v with W v = 0 (the null direction that names n=3 solutions)


def check_n_features(n_features) -> int:
    if n_features not in _SPECS:
        raise ConfigError(
            f"features={n_features!r}: candidate solutions exist for "
            f"{' and '.join(map(str, N_FEATURES))} features"
        )
    return n_features


def importances(n_features: int) -> tuple[sympy.Expr, ...]:
    """``(1, ..., 1, r)``: the extra (last) feature has relative importance ``r``."""
    return (sympy.Integer(1),) * (n_features - 1) + (r,)


@cache
def _candidates(n_features: int) -> tuple[Candidate, ...]:
    out = []
    for name, rows, b, phase, ignores in _SPECS[n_features]:
        W = sympy.ImmutableMatrix(rows)
        if any(W * sympy.Matrix(ignores)):
            raise AssertionError(f"candidate {name}: W·{list(ignores)} != 0")
        loss = exact_loss(W, b, importances(n_features))
        out.append(Candidate(name, W, tuple(sympy.sympify(v) for v in b), phase, loss, ignores))
    return tuple(out)


def candidates(n_features: int) -> list[Candidate]:
    """The candidate solutions for ``n_features`` (2: m=1, 3: m=2), in the paper's order."""
    return list(_candidates(check_n_features(n_features)))
