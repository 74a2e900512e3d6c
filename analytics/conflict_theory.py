"""The linear-network theory of the pathway-conflict task: which modes the shared layer
learns, in which order and how fast, turned into each task's explained fraction, view 1's
dominance and a predicted phase.

``Σ_yx`` of the ``conflict`` task is ``M(κ, ρ) ⊗ I_{P−1}`` with ``Σ_xx = I``
(``toymodels.tasks.conflict``), so its modes are the two singular triplets ``(s_i, u_i,
v_i)`` of the 2 × 2 routing matrix ``M``, each in ``r = P − 1`` copies, and the closed form
of ``analytics.mode_dynamics`` is exact for them (``d = 1``).  From a small start a linear
network of width ``H`` learns the ``H`` strongest modes (gradient descent from a small
random start reaches the best rank-``H`` map): ``k₁ = min(H, r)`` copies of the first and
``k₂ = min(max(H − r, 0), r)`` of the second, each along ``a(t)`` with ``τ = 1/(P²·lr)``
from ``a₀ = init_std²·max(H, r)/2``: early on, a random start grows in each r-fold block
as ``G·e^{2st/τ}`` with ``G`` an ``r × r`` Wishart matrix of ``H`` degrees of freedom and
scale ``init_std²/2``, whose non-zero eigenvalues are ``init_std²·max(H, r)/2`` on average
(a width-1 layer picks the best of the r copies).  The learning times inherit the spread
of those eigenvalues (measured: trained within 0.75–1.25 of these).  Then, per task
(head) ``h`` and view ``v``::

    e_h(t) = Σ_i (k_i / r)·(2 s_i a_i − a_i²)·u_i[h]² / ‖M[h]‖²
    V_v(t) ∝ Σ_i k_i a_i² v_i[v]²,   dominance = V₁ / (V₁ + V₂)

and the phase is the trained models' rule (``toymodels.phases.task_conflict``) applied to
the predicted fractions.  When the two singular values tie (κ = 1, ρ = 1) the best
rank-``H`` map is not unique: the start decides which copies are learned; the prediction
is then the average over uniformly random choices, marked ``tie``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from toymodels.correlation_modes import initial_strength
from toymodels.errors import ConfigError
from toymodels.phases import task_conflict
from toymodels.tasks.conflict import routing

from .mode_dynamics import ModePrediction

# Singular values closer than this (relative to the larger) tie.
SINGULAR_VALUE_TIE = 1e-6
# Time points per run for the learning times (half the final explained fraction).
TIME_POINTS = 2001
# The theory describes learning from a small start: its initial strength a₀ must be below
# this, which no cell's strongest mode falls below (its singular value is in [1, √2]:
# the targets' power is fixed).
MAX_INITIAL_STRENGTH = 1.0


def check_small_start(init_std: float, width: int, n_items: int, options: str = "") -> None:
    """Refuse (one line) a start the theory cannot describe: ``a₀ = init_std²·max(width,
    items − 1)/2`` at or above :data:`MAX_INITIAL_STRENGTH`; ``options`` names the
    settings a user changes (e.g. command-line options), for the message."""
    with_width = max(width, n_items - 1)
    a0 = init_std * init_std * with_width / 2  # a float product overflows to inf, never raises
    if not a0 < MAX_INITIAL_STRENGTH:
        given = f" ({options})" if options else ""
        raise ConfigError(
            f"init {init_std:g} with width up to {width} and {n_items} items{given} gives the "
            f"linear theory the initial strength init^2 * max(width, items-1) / 2 = {a0:.3g}; "
            f"the theory needs a small start, below {MAX_INITIAL_STRENGTH:g}: use init < "
            f"{math.sqrt(2 * MAX_INITIAL_STRENGTH / with_width):.3g}, or fewer items or units"
        )


@dataclass(frozen=True)
class ConflictPrediction:
    """The theory for one cell at the end of training (``epochs``)."""

    explained: np.ndarray  # [task]
    dominance: float
    balance: float  # min / max of the explained fractions (the phase rule's)
    phase: str
    learn_time: np.ndarray  # [task] epochs to half the final explained fraction (NaN: none)
    s: np.ndarray  # [2] singular values of M
    copies: np.ndarray  # [2] modes learned of each (averaged when tied)
    tie: bool


def learned_copies(s: np.ndarray, width: int, rank: int) -> tuple[np.ndarray, bool]:
    """How many copies of each singular value a width-``width`` layer learns."""
    tie = s[0] - s[1] <= SINGULAR_VALUE_TIE * s[0]
    if tie:
        each = min(width, 2 * rank) / 2
        return np.array([each, each]), True
    first = min(width, rank)
    second = min(max(width - rank, 0), rank) if s[1] > SINGULAR_VALUE_TIE * s[0] else 0
    return np.array([first, second], dtype=float), False


def predict_cell(
    n_items: int,
    conflict: float,
    view_ratio: float,
    width: int,
    lr: float,
    init_std: float,
    epochs: int,
) -> ConflictPrediction:
    """The closed-form prediction for one cell (see module docstring)."""
    m = routing(conflict, view_ratio)
    u, s, vt = np.linalg.svd(m)
    rank = n_items - 1
    copies, tie = learned_copies(s, width, rank)
    samples = n_items**2
    # A mode of zero singular value (the second at κ = 0) is never learned (its solution
    # is 0/0 in the closed form, so it is evaluated at s = 1 and zeroed).
    live = s > SINGULAR_VALUE_TIE * s[0]
    dynamics = ModePrediction(
        np.where(live, s, 1.0),
        np.ones(2),
        1.0 / (samples * lr),
        initial_strength(init_std, max(width, rank)),
        samples,
        0.0,
    )
    times = np.linspace(0.0, epochs, TIME_POINTS)
    a = np.where(live, dynamics.strength(times), 0.0)  # [time, mode]
    gain = (copies / rank) * (2 * s * a - a**2)  # [time, mode]
    explained = gain @ (u.T**2) / (m**2).sum(1)  # [time, task]
    views = (copies * a**2) @ (vt**2)  # [time, view]
    final = explained[-1]
    learn_time = np.full(2, np.nan)
    for h in range(2):
        if final[h] > 0:
            learn_time[h] = np.interp(final[h] / 2, explained[:, h], times)
    values = task_conflict.balance_and_learned(final)
    code = int(task_conflict.classify(values["balance"], values["learned"]))
    return ConflictPrediction(
        explained=final,
        dominance=float(views[-1, 0] / views[-1].sum()),
        balance=float(values["balance"]),
        phase=task_conflict.LABELS[code],
        learn_time=learn_time,
        s=s,
        copies=copies,
        tie=bool(tie),
    )


def predict_grid(
    n_items: int,
    conflicts,
    view_ratios,
    widths,
    lr: float,
    init_std: float,
    epochs: int,
) -> dict[str, np.ndarray]:
    """The prediction on a grid: every argument of :func:`predict_cell` a scalar or a 1-D
    sequence; arrays ``[conflict, view_ratio, width, ...]``."""
    conflicts, ratios, widths = (np.atleast_1d(v) for v in (conflicts, view_ratios, widths))
    shape = (len(conflicts), len(ratios), len(widths))
    out = {
        "explained": np.zeros((*shape, 2)),
        "dominance": np.zeros(shape),
        "learn_time": np.zeros((*shape, 2)),
        "balance": np.zeros(shape),
        "phase": np.empty(shape, dtype=object),
        "tie": np.zeros(shape, dtype=bool),
    }
    for i, k in enumerate(conflicts):
        for j, rho in enumerate(ratios):
            for w, width in enumerate(widths):
                p = predict_cell(n_items, float(k), float(rho), int(width), lr, init_std, epochs)
                out["explained"][i, j, w] = p.explained
                out["dominance"][i, j, w] = p.dominance
                out["learn_time"][i, j, w] = p.learn_time
                out["balance"][i, j, w] = task_conflict.balance_and_learned(p.explained)["balance"]
                out["phase"][i, j, w] = p.phase
                out["tie"][i, j, w] = p.tie
    out["phase"] = out["phase"].astype(str)
    return out
